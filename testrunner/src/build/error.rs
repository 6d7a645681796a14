//! The errors of a build. A failure of the build itself names the derivation that failed and
//! keeps its log file, so that a report can show it.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The builder ran and exited with a non-zero status.
    #[error("builder for '{drv_path}' exited with status {status} (log: {})", log.display())]
    BuilderFailed {
        /// The derivation whose builder failed (the one asked for, or one of its inputs).
        drv_path: String,
        /// The exit status.
        status: i32,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// The builder was killed by a signal it did not get from nxe.
    #[error("builder for '{drv_path}' was killed by signal {signal} (log: {})", log.display())]
    BuilderKilled {
        /// The derivation whose builder was killed.
        drv_path: String,
        /// The signal.
        signal: i32,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// The build did not finish in time; every process of the builder was killed.
    #[error("building '{drv_path}' timed out after {} s (log: {})", timeout.as_secs_f64(), log.display())]
    TimedOut {
        /// The derivation that was being built when time ran out.
        drv_path: String,
        /// The timeout of the request.
        timeout: Duration,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// An input is neither in the store nor something the builder can produce (a download
    /// without network, a path the evaluation did not make).
    #[error("'{path}', needed by '{needed_by}', cannot be produced: {reason}")]
    MissingInput {
        /// The store path that is missing.
        path: String,
        /// The derivation that needs it.
        needed_by: String,
        /// Why it cannot be produced.
        reason: String,
    },
    /// A `.drv` path that is not among the request's derivations.
    #[error("unknown derivation '{0}': the evaluation did not make it")]
    UnknownDerivation(String),
    /// A fixed-output derivation produced other contents than its hash says.
    #[error("hash mismatch in fixed-output derivation '{drv_path}': output '{output}' should have hash {expected} but has {actual} (log: {})", log.display())]
    HashMismatch {
        /// The fixed-output derivation.
        drv_path: String,
        /// The output's name.
        output: String,
        /// The declared hash (SRI).
        expected: String,
        /// The hash of what was built (SRI).
        actual: String,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// The builder succeeded without producing one of its outputs.
    #[error("builder for '{drv_path}' did not produce its output '{output}' (log: {})", log.display())]
    OutputMissing {
        /// The derivation.
        drv_path: String,
        /// The output's name.
        output: String,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// An output cannot be a store object as it is.
    #[error("output '{output}' of '{drv_path}' is not valid: {reason} (log: {})", log.display())]
    InvalidOutput {
        /// The derivation.
        drv_path: String,
        /// The output's name.
        output: String,
        /// What is wrong with it.
        reason: String,
        /// Its log file, kept.
        log: PathBuf,
    },
    /// A source changed on disk since the evaluation computed its store path.
    #[error("'{from}' changed since it was evaluated: it is now {actual}, not {path}")]
    SourceChanged {
        /// The store path the evaluation computed.
        path: String,
        /// The file system path it is copied from.
        from: String,
        /// The store path of what is there now.
        actual: String,
    },
    /// The derivation needs something this builder does not do.
    #[error("cannot build '{drv_path}': {reason}")]
    Unsupported {
        /// The derivation.
        drv_path: String,
        /// What is not supported.
        reason: String,
    },
    /// The builder cannot show the store at the directory derivations name.
    #[error("cannot show the store to builders at '{logical}': {reason}")]
    StoreView {
        /// The logical store directory.
        logical: String,
        /// Why.
        reason: String,
    },
    /// The installed Nix failed, for a reason other than a failed builder.
    #[error("nix failed while building '{drv_path}': {message} (log: {})", log.display())]
    Nix {
        /// The derivation asked for.
        drv_path: String,
        /// Nix's error message.
        message: String,
        /// The log of the Nix command, kept.
        log: PathBuf,
    },
    /// A file system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A store path or hash could not be computed.
    #[error(transparent)]
    Store(#[from] nxe_store::StoreError),
}

impl BuildError {
    /// The log file of a failed build, when the failure happened while building.
    pub fn log(&self) -> Option<&Path> {
        match self {
            BuildError::BuilderFailed { log, .. }
            | BuildError::BuilderKilled { log, .. }
            | BuildError::TimedOut { log, .. }
            | BuildError::HashMismatch { log, .. }
            | BuildError::OutputMissing { log, .. }
            | BuildError::InvalidOutput { log, .. }
            | BuildError::Nix { log, .. } => Some(log),
            _ => None,
        }
    }

    /// The derivation whose build failed, when one did.
    pub fn failed_derivation(&self) -> Option<&str> {
        match self {
            BuildError::BuilderFailed { drv_path, .. }
            | BuildError::BuilderKilled { drv_path, .. }
            | BuildError::TimedOut { drv_path, .. }
            | BuildError::HashMismatch { drv_path, .. }
            | BuildError::OutputMissing { drv_path, .. }
            | BuildError::InvalidOutput { drv_path, .. }
            | BuildError::Unsupported { drv_path, .. }
            | BuildError::Nix { drv_path, .. } => Some(drv_path),
            BuildError::UnknownDerivation(drv_path) => Some(drv_path),
            _ => None,
        }
    }
}

/// An I/O error with what was being done, for `map_err`.
pub(crate) fn io_error(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.to_string();
    move |source| BuildError::Io { context, source }
}
