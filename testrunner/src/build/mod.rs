//! Builders of checks: a check passes when its derivation builds.
//!
//! A [`Builder`] takes a [`BuildRequest`] (the `.drv` path to build, every derivation the
//! evaluation made, the other store objects it added, a timeout and a directory for logs)
//! and realises the derivation with its inputs, returning a [`BuildOutcome`] or a
//! [`BuildError`] that keeps the failed build's log. Two builders exist:
//!
//! * [`LocalBuilder`], built in, for machines without Nix: it writes sources and
//!   `builtins.toFile` texts into its own [`LocalStore`] as Nix would, builds input
//!   derivations first and runs each builder with exactly the environment Nix gives it. The
//!   store may live in another directory than the one derivations name (a user cannot write
//!   `/nix/store`): builders then run in a user and mount namespace that shows the store at
//!   its logical place (see [`Isolation`]).
//! * [`NixBuilder`], through an installed Nix (`nix-store --realise`), so that Nix's remote
//!   builders and substituters work: it first makes the sources, texts and `.drv` files
//!   known to that Nix under the same paths.
//!
//! ```no_run
//! use nxe_testrunner::build::{BuildRequest, Builder, LocalBuilder};
//! # fn demo(derivations: &std::collections::BTreeMap<String, nxe_store::Derivation>,
//! #         added: &std::collections::BTreeMap<String, nxe_evaluator::AddedPath>,
//! #         drv_path: &str) -> Result<(), nxe_testrunner::build::BuildError> {
//! let builder = LocalBuilder::new("/nix/store", "/var/cache/nxe/store")?;
//! let outcome = builder.build(&BuildRequest {
//!     drv_path,
//!     derivations,
//!     added_paths: added,
//!     timeout: Some(std::time::Duration::from_secs(600)),
//!     log_dir: std::path::Path::new("logs"),
//! })?;
//! println!("{} built in {:.1} s: {:?}", drv_path, outcome.seconds, outcome.outputs);
//! # Ok(())
//! # }
//! ```

mod closure;
mod error;
mod local;
mod namespace;
mod nix;
mod process;
mod request;
mod scan;
mod store;

pub use error::BuildError;
pub use local::{Isolation, LocalBuilder};
pub use nix::NixBuilder;
pub use request::{BuildOutcome, BuildRequest, Builder};
pub use store::{LocalStore, PathInfo};
