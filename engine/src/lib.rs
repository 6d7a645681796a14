//! nxe's engine: finds a repository and its description (`nxe.toml`, flakes), evaluates
//! every host and check of a fleet in parallel with one evaluator per worker, and gathers
//! the derivations they make into one graph.

pub mod cache;
pub mod config;
pub mod flake;
pub mod fleet;
pub mod git;
pub mod impact;
pub mod memory;
pub mod reads;
pub mod snapshots;
pub mod units;

pub use config::{Overrides, Repo, RepoKind};
pub use fleet::{evaluate_fleet, CheckResult, Event, FleetEval, FleetOptions, HostResult};

/// What can go wrong around an evaluation (errors inside the user's Nix code are results).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The repository or its configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// The repository's root value failed to evaluate (rendered with its position).
    #[error("{0}")]
    Eval(String),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The cache could not be used.
    #[error("cache: {0}")]
    Cache(String),
    /// git failed.
    #[error("git: {0}")]
    Git(String),
    /// A broken invariant of nxe itself.
    #[error("internal error: {0}")]
    Internal(String),
}
