//! The builder interface: what a build is asked to do and what it reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nxe_evaluator::AddedPath;
use nxe_store::Derivation;

use super::error::BuildError;

/// What to build, with everything the evaluation knows about it.
#[derive(Clone, Copy, Debug)]
pub struct BuildRequest<'a> {
    /// The `.drv` path to build.
    pub drv_path: &'a str,
    /// Every derivation the evaluation made, by `.drv` path (its inputs must be among them).
    pub derivations: &'a BTreeMap<String, Derivation>,
    /// The store objects the evaluation added that are not derivations (`builtins.toFile`
    /// texts, copied sources, downloads known by hash), by store path.
    pub added_paths: &'a BTreeMap<String, AddedPath>,
    /// How long the whole request may take, inputs included; `None` waits forever.
    pub timeout: Option<Duration>,
    /// The directory log files are written into (created if needed).
    pub log_dir: &'a Path,
}

impl<'a> BuildRequest<'a> {
    /// The derivation at `drv_path`, or [`BuildError::UnknownDerivation`].
    pub fn derivation(&self, drv_path: &str) -> Result<&'a Derivation, BuildError> {
        self.derivations.get(drv_path).ok_or_else(|| BuildError::UnknownDerivation(drv_path.to_string()))
    }

    /// The log file of a derivation: its `.drv` base name with `.log` for `.drv`.
    pub fn log_path(&self, drv_path: &str) -> PathBuf {
        let base = drv_path.rsplit('/').next().unwrap_or(drv_path);
        let stem = base.strip_suffix(".drv").unwrap_or(base);
        self.log_dir.join(format!("{stem}.log"))
    }
}

/// A successful build.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildOutcome {
    /// The requested derivation's outputs: output name to store path.
    pub outputs: BTreeMap<String, String>,
    /// The log of the requested derivation's build (a short note when nothing was built).
    pub log: PathBuf,
    /// Wall-clock seconds the request took.
    pub seconds: f64,
    /// The derivations built by this request, inputs first.
    pub built: Vec<String>,
    /// The derivations whose outputs were already present, so not built again.
    pub present: Vec<String>,
}

/// Something that builds derivations. Implementations may be shared by threads building
/// different derivations at the same time.
pub trait Builder: Send + Sync {
    /// Builds `request.drv_path` and whatever of its inputs is missing.
    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutcome, BuildError>;
}

/// Writes the note that stands for a log when nothing was built, unless a log exists.
pub(crate) fn note_nothing_built(log: &Path, drv_path: &str) -> Result<(), BuildError> {
    if log.exists() {
        return Ok(());
    }
    let note = format!("nxe: the outputs of '{drv_path}' were already present; nothing was built\n");
    std::fs::write(log, note).map_err(super::error::io_error(format!("writing '{}'", log.display())))
}
