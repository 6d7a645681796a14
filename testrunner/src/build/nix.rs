//! Building through an installed Nix (`nix-store --realise`), so that its remote builders,
//! substituters and sandbox are used.
//!
//! nxe evaluates without writing anything, so that Nix does not know the derivation yet.
//! Before realising it, the builder asks Nix which of the objects it needs are missing and
//! adds them under the same store paths:
//!
//! * sources with `nix-store --add-fixed [--recursive] sha256` on a copy named as the store
//!   path (filtered as the evaluation filtered it), checking that Nix computes the path the
//!   evaluation did;
//! * `builtins.toFile` texts and `.drv` files, which are text files with references, in one
//!   `nix-store --import` of an export stream, each after what it refers to. Nix accepts
//!   unsigned imports from root and from users it trusts, not from other users of a daemon.
//!
//! The build's standard output and error (Nix's messages and the builders' logs) go to the
//! requested derivation's log file; failures are read back from Nix's messages.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nxe_evaluator::AddedPath;
use nxe_store::NarNode;

use super::closure::{self, Object};
use super::error::{io_error, BuildError};
use super::process::{self, Exit};
use super::request::{note_nothing_built, BuildOutcome, BuildRequest, Builder};
use super::store::copy_tree;

/// The magic number that follows each object's NAR in an export stream ("NIXE").
const EXPORT_MAGIC: u64 = 0x4558_494e;
/// How many paths one `--check-validity` call is given.
const PATHS_PER_CALL: usize = 500;

/// A builder that hands derivations to an installed Nix.
#[derive(Clone, Debug)]
pub struct NixBuilder {
    nix_store: PathBuf,
    store: Option<String>,
    options: Vec<(String, String)>,
}

impl NixBuilder {
    /// A builder running the `nix-store` program at `nix_store`.
    pub fn new(nix_store: impl Into<PathBuf>) -> NixBuilder {
        NixBuilder { nix_store: nix_store.into(), store: None, options: Vec::new() }
    }

    /// A builder running the first `nix-store` on `PATH`, if there is one.
    pub fn from_path() -> Option<NixBuilder> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|dir| dir.join("nix-store")).find(|p| is_executable(p)).map(NixBuilder::new)
    }

    /// Uses the Nix store at `url` (`--store URL`, e.g. `daemon` or a local directory)
    /// instead of Nix's default.
    pub fn with_store(mut self, url: impl Into<String>) -> NixBuilder {
        self.store = Some(url.into());
        self
    }

    /// Passes `--option NAME VALUE` to every Nix command.
    pub fn with_option(mut self, name: impl Into<String>, value: impl Into<String>) -> NixBuilder {
        self.options.push((name.into(), value.into()));
        self
    }

    /// The `nix-store` program.
    pub fn program(&self) -> &Path {
        &self.nix_store
    }

    /// The NAR hashes Nix records for valid paths, as `sha256:<nix32>`, by path.
    pub fn nar_hashes(&self, store_paths: &[String]) -> Result<BTreeMap<String, String>, BuildError> {
        let mut hashes = BTreeMap::new();
        for chunk in store_paths.chunks(PATHS_PER_CALL) {
            let mut args: Vec<&str> = vec!["--query", "--hash"];
            args.extend(chunk.iter().map(String::as_str));
            let output = self.query(&args)?;
            hashes.extend(chunk.iter().cloned().zip(output.lines().map(str::to_string)));
        }
        Ok(hashes)
    }

    /// `nix-store` with the store and options of this builder.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.nix_store);
        if let Some(store) = &self.store {
            command.arg("--store").arg(store);
        }
        for (name, value) in &self.options {
            command.arg("--option").arg(name).arg(value);
        }
        command
    }

    /// Runs a short `nix-store` command and returns its standard output.
    fn query<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<String, BuildError> {
        let mut command = self.command();
        command.args(args).stdin(Stdio::null());
        self.output_of(command, None)
    }

    fn output_of(&self, mut command: Command, stdin: Option<&[u8]>) -> Result<String, BuildError> {
        let shown = format!("running '{}'", self.nix_store.display());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().map_err(io_error(&shown))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // Nix reads the whole stream before answering, so writing first cannot block
            // on its output.
            pipe.write_all(data).map_err(io_error(&shown))?;
        }
        let output = child.wait_with_output().map_err(io_error(&shown))?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
            return Err(BuildError::Io { context: shown, source: std::io::Error::other(message) });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The paths among `paths` that Nix does not have.
    fn invalid(&self, paths: &[String]) -> Result<BTreeSet<String>, BuildError> {
        let mut invalid = BTreeSet::new();
        for chunk in paths.chunks(PATHS_PER_CALL) {
            let mut args: Vec<&str> = vec!["--check-validity", "--print-invalid"];
            args.extend(chunk.iter().map(String::as_str));
            invalid.extend(self.query(&args)?.lines().map(str::to_string));
        }
        Ok(invalid)
    }

    /// Adds the missing objects `drv_paths` need (sources, texts, `.drv` files) to Nix.
    fn add_inputs(&self, request: &BuildRequest<'_>, drv_paths: &[&str]) -> Result<Vec<String>, BuildError> {
        let objects = closure::objects_in_order(request, drv_paths);
        let mut all: Vec<String> = objects.clone();
        all.extend(drv_paths.iter().map(|d| d.to_string()));
        let missing = self.invalid(&all)?;
        let mut export = Vec::new();
        let mut owners = Vec::new();
        let mut exported = BTreeSet::new();
        // A source that lies in another store object (a file of a flake's source, which the
        // evaluation saw at the source's store path) is copied from that object: after it.
        let in_store = |path: &String| match closure::object(request, path) {
            Object::Added(AddedPath::Source { source, .. }) => {
                Path::new(path).parent().is_some_and(|store_dir| Path::new(source).starts_with(store_dir))
            }
            _ => false,
        };
        let (later, first): (Vec<&String>, Vec<&String>) =
            objects.iter().filter(|path| missing.contains(*path)).partition(|path| in_store(path));
        for path in first.into_iter().chain(later) {
            let object = closure::object(request, path);
            match object {
                Object::Added(AddedPath::Text { contents, references }) => {
                    export_text(&mut export, path, contents.as_bytes(), references)?
                }
                Object::Added(AddedPath::Source { source, recursive, excluded }) => {
                    self.add_source(path, source, *recursive, excluded)?
                }
                Object::Added(AddedPath::Fetched { url }) => self.substitute(request, path, url)?,
                Object::DrvFile(drv) => {
                    export_text(&mut export, path, drv.to_aterm().as_bytes(), &closure::object_references(object))?;
                    exported.insert(path.as_str());
                }
                Object::Unknown => owners.push(self.owner(request, path)?),
            }
        }
        // The derivations themselves, inputs first.
        for drv_path in drv_paths.iter().filter(|d| missing.contains(**d) && !exported.contains(**d)) {
            let drv = request.derivation(drv_path)?;
            let references = closure::object_references(Object::DrvFile(drv));
            export_text(&mut export, drv_path, drv.to_aterm().as_bytes(), &references)?;
        }
        if !export.is_empty() {
            write_u64(&mut export, 0);
            let mut command = self.command();
            command.arg("--import");
            self.output_of(command, Some(&export))?;
        }
        Ok(owners)
    }

    fn add_source(
        &self,
        store_path: &str,
        source: &str,
        recursive: bool,
        excluded: &BTreeSet<String>,
    ) -> Result<(), BuildError> {
        let name = store_path.rsplit('/').next().and_then(|base| base.split_once('-')).map_or("", |(_, name)| name);
        let staging = tempfile::tempdir().map_err(io_error("creating a temporary directory"))?;
        let staged = staging.path().join(name);
        match recursive {
            true => copy_tree(Path::new(source), source, &staged, excluded)?,
            false => std::fs::copy(source, &staged).map(drop).map_err(io_error(format!("copying '{source}'")))?,
        }
        let mut args: Vec<OsString> = vec!["--add-fixed".into()];
        if recursive {
            args.push("--recursive".into());
        }
        args.push("sha256".into());
        args.push(staged.into_os_string());
        let added = self.query(&args)?;
        let added = added.trim();
        if added != store_path {
            return Err(BuildError::SourceChanged {
                path: store_path.to_string(),
                from: source.to_string(),
                actual: added.to_string(),
            });
        }
        Ok(())
    }

    /// Asks Nix to substitute a download it does not have; it cannot download it otherwise.
    fn substitute(&self, request: &BuildRequest<'_>, store_path: &str, url: &str) -> Result<(), BuildError> {
        self.query(&["--realise", store_path]).map(drop).map_err(|error| BuildError::MissingInput {
            path: store_path.to_string(),
            needed_by: request.drv_path.to_string(),
            reason: format!("it is downloaded from '{url}', and Nix could not substitute it: {error}"),
        })
    }

    /// The derivation that outputs `store_path`, for an input source that is an output.
    fn owner(&self, request: &BuildRequest<'_>, store_path: &str) -> Result<String, BuildError> {
        let owner = request.derivations.iter().find(|(_, drv)| drv.outputs.values().any(|o| o.path == store_path));
        owner.map(|(drv_path, _)| drv_path.clone()).ok_or_else(|| BuildError::MissingInput {
            path: store_path.to_string(),
            needed_by: request.drv_path.to_string(),
            reason: "Nix does not have it, and the evaluation did not make it".into(),
        })
    }
}

impl Builder for NixBuilder {
    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutcome, BuildError> {
        let start = Instant::now();
        let deadline = request.timeout.map(|timeout| start + timeout);
        std::fs::create_dir_all(request.log_dir)
            .map_err(io_error(format!("creating the log directory '{}'", request.log_dir.display())))?;
        let drv_paths = closure::derivations_in_order(request)?;
        let owners = self.add_inputs(request, &drv_paths)?;

        let mut outputs_of: BTreeMap<String, &str> = BTreeMap::new();
        for drv_path in &drv_paths {
            for output in request.derivation(drv_path)?.outputs.values() {
                outputs_of.insert(output.path.clone(), drv_path);
            }
        }
        let output_paths: Vec<String> = outputs_of.keys().cloned().collect();
        let invalid_before = self.invalid(&output_paths)?;

        let log = request.log_path(request.drv_path);
        let log_file = File::create(&log).map_err(io_error(format!("creating the log '{}'", log.display())))?;
        let log_copy = log_file.try_clone().map_err(io_error(format!("opening the log '{}'", log.display())))?;
        let mut command = self.command();
        command.arg("--realise").args(&owners).arg(request.drv_path);
        if let Some(timeout) = request.timeout {
            command.arg("--timeout").arg(timeout.as_secs().max(1).to_string());
        }
        command.stdin(Stdio::null()).stdout(log_file).stderr(log_copy);
        let exit = process::run(&mut command, deadline)
            .map_err(io_error(format!("running '{}'", self.nix_store.display())))?;
        if exit != Exit::Status(0) {
            return Err(failure(request, exit, &log));
        }

        let invalid_after = self.invalid(&output_paths)?;
        let drv = request.derivation(request.drv_path)?;
        if let Some(output) = drv.outputs.values().find(|output| invalid_after.contains(&output.path)) {
            return Err(BuildError::Nix {
                drv_path: request.drv_path.to_string(),
                message: format!("'{}' is not valid after the build", output.path),
                log,
            });
        }
        let mut built = Vec::new();
        let mut present = Vec::new();
        for drv_path in &drv_paths {
            let outputs = request.derivation(drv_path)?.outputs.values();
            match outputs.clone().any(|output| invalid_before.contains(&output.path)) {
                true => built.push(drv_path.to_string()),
                false => present.push(drv_path.to_string()),
            }
        }
        if built.is_empty() {
            // Nix printed nothing worth keeping; say so instead.
            std::fs::remove_file(&log).map_err(io_error(format!("replacing the log '{}'", log.display())))?;
            note_nothing_built(&log, request.drv_path)?;
        }
        Ok(BuildOutcome {
            outputs: drv.outputs.iter().map(|(name, output)| (name.clone(), output.path.clone())).collect(),
            log,
            seconds: start.elapsed().as_secs_f64(),
            built,
            present,
        })
    }
}

/// The error for a failed `nix-store --realise`, read from Nix's messages in the log.
fn failure(request: &BuildRequest<'_>, exit: Exit, log: &Path) -> BuildError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let log = log.to_path_buf();
    let top = request.drv_path.to_string();
    if exit == Exit::TimedOut {
        return BuildError::TimedOut { drv_path: top, timeout: request.timeout.unwrap_or_default(), log };
    }
    if let Some(line) = text.lines().find(|line| line.contains("timed out after")) {
        let drv_path = quoted(line).map(|d| d.trim_end_matches("!*").to_string()).unwrap_or(top);
        return BuildError::TimedOut { drv_path, timeout: request.timeout.unwrap_or_default(), log };
    }
    if let Some(line) = text.lines().find(|line| line.contains("builder for '") && line.contains("exit code")) {
        let status = line.rsplit("exit code ").next().map(|rest| rest.trim_end_matches(|c: char| !c.is_ascii_digit()));
        if let (Some(drv_path), Some(Ok(status))) = (quoted(line), status.map(str::parse)) {
            return BuildError::BuilderFailed { drv_path: drv_path.to_string(), status, log };
        }
    }
    let mut lines = text.lines();
    if let Some(line) = lines.find(|line| line.contains("hash mismatch in fixed-output derivation")) {
        let value = |line: Option<&str>| line.and_then(|l| l.split_whitespace().last()).unwrap_or("").to_string();
        let (expected, actual) = (value(lines.next()), value(lines.next()));
        let drv_path = quoted(line).map_or(top, str::to_string);
        let output = request.derivations.get(&drv_path).and_then(|drv| drv.outputs.keys().next().cloned());
        return BuildError::HashMismatch { drv_path, output: output.unwrap_or_default(), expected, actual, log };
    }
    let message = text.lines().rfind(|line| line.starts_with("error:")).map_or_else(
        || format!("nix-store exited with {exit:?}"),
        |line| line.trim_start_matches("error:").trim().to_string(),
    );
    BuildError::Nix { drv_path: top, message, log }
}

/// The first single-quoted text of a line.
fn quoted(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once('\'')?;
    rest.split_once('\'').map(|(inside, _)| inside)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

/// A length-prefixed, zero-padded string of the export format (as in NARs).
fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    write_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out.resize(out.len() + (8 - bytes.len() % 8) % 8, 0);
}

/// Appends one text object to an export stream: a marker, its NAR, the magic, its path, its
/// references, an empty deriver and no signature.
fn export_text(
    out: &mut Vec<u8>,
    path: &str,
    contents: &[u8],
    references: &BTreeSet<String>,
) -> Result<(), BuildError> {
    write_u64(out, 1);
    NarNode::File { executable: false, contents: contents.to_vec() }.write_nar(out)?;
    write_u64(out, EXPORT_MAGIC);
    write_string(out, path.as_bytes());
    write_u64(out, references.len() as u64);
    for reference in references {
        write_string(out, reference.as_bytes());
    }
    write_string(out, b"");
    write_u64(out, 0);
    Ok(())
}
