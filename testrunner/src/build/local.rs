//! The built-in builder, for machines without Nix.
//!
//! It realises a derivation as Nix does: input derivations first (in dependency order, each
//! under a lock so that concurrent requests build a shared input once), then the input
//! sources (`builtins.toFile` texts, copied and filtered sources, `.drv` files) written into
//! the store with NAR-identical contents, then the builder, run in a private build
//! directory with exactly the derivation's environment plus what Nix adds, its standard
//! output and error going to the derivation's log file. Outputs are checked (fixed-output
//! hashes), scanned for references, made read-only and recorded as valid; an output that is
//! already valid is never built again.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nxe_evaluator::AddedPath;
use nxe_store::{ContentAddressMethod, Derivation, Hash, HashAlgo, HashingSink};

use super::closure::{self, Object};
use super::error::{io_error, BuildError};
use super::namespace::{self, Skeleton, View};
use super::process::{self, Exit};
use super::request::{note_nothing_built, BuildOutcome, BuildRequest, Builder};
use super::scan;
use super::store::{canonicalise, remove_tree, LocalStore, PathInfo};

/// How the local builder makes builders see store paths at the logical store directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Each builder runs in new user and mount namespaces with a private root in which the
    /// logical store directory shows its inputs (bind-mounted read-only from the physical
    /// store) and nothing else, `/build` is its build directory, and the network is off
    /// unless the derivation is a fixed-output one. Outputs are written into that view and
    /// renamed into the store once complete. Works for any physical directory.
    Namespace,
    /// Builders run directly, in a temporary build directory, and write their outputs in
    /// place: only possible when the physical directory is the logical one. The whole store
    /// is visible to them; an output counts once its record is written, and anything
    /// unrecorded at its place is deleted before it is built again.
    Direct,
}

/// The built-in builder: builds into a [`LocalStore`].
#[derive(Debug)]
pub struct LocalBuilder {
    store: LocalStore,
    isolation: Isolation,
    system: String,
    /// The private root builds run in, with namespaces.
    skeleton: Option<Skeleton>,
}

impl LocalBuilder {
    /// A builder for the logical store directory `logical` (what derivations name, usually
    /// `/nix/store`) keeping objects in `physical`: in namespaces when this system allows
    /// them, else directly, which needs `physical` to be `logical`.
    pub fn new(logical: &str, physical: impl Into<PathBuf>) -> Result<LocalBuilder, BuildError> {
        let isolation = if namespace::available() { Isolation::Namespace } else { Isolation::Direct };
        LocalBuilder::with_isolation(logical, physical, isolation)
    }

    /// A builder with the given isolation (see [`Isolation`] for what each needs).
    pub fn with_isolation(
        logical: &str,
        physical: impl Into<PathBuf>,
        isolation: Isolation,
    ) -> Result<LocalBuilder, BuildError> {
        let store = LocalStore::open(logical, physical)?;
        let view_error = |reason: String| BuildError::StoreView { logical: logical.to_string(), reason };
        match isolation {
            Isolation::Namespace if !namespace::available() => {
                return Err(view_error("this system does not let this user create user and mount namespaces".into()))
            }
            Isolation::Direct if fs::canonicalize(logical).ok().as_deref() != Some(store.physical()) => {
                return Err(view_error(format!(
                    "the store is kept in '{}', where builders can only see it through a namespace",
                    store.physical().display()
                )))
            }
            _ => {}
        }
        let skeleton = match isolation {
            Isolation::Namespace => Some(Skeleton::create(&store.scratch("roots", "root"), logical, store.physical())?),
            Isolation::Direct => None,
        };
        let system = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
        Ok(LocalBuilder { store, isolation, system, skeleton })
    }

    /// The usual builder for this user, for the logical directory `NIX_STORE_DIR` or
    /// `/nix/store`: in namespaces with the store kept in `nxe/store` under the user's cache
    /// directory (`XDG_CACHE_HOME`, or `~/.cache`); without namespaces, directly in the
    /// logical directory if this user may write it (better not one a Nix installation
    /// manages: its garbage collector would delete what nxe built).
    pub fn for_user() -> Result<LocalBuilder, BuildError> {
        let logical = std::env::var("NIX_STORE_DIR")
            .ok()
            .filter(|dir| dir.starts_with('/'))
            .map_or_else(|| "/nix/store".to_string(), |dir| dir.trim_end_matches('/').to_string());
        let view_error = |reason: &str| BuildError::StoreView { logical: logical.clone(), reason: reason.to_string() };
        if namespace::available() {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
                .ok_or_else(|| {
                    view_error("neither XDG_CACHE_HOME nor HOME is set, so there is no place for the store")
                })?;
            return LocalBuilder::with_isolation(&logical, cache.join("nxe/store"), Isolation::Namespace);
        }
        let writable = std::ffi::CString::new(logical.as_str()).is_ok_and(|c_path| {
            // SAFETY: `access` only reads the NUL-terminated path.
            unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
        });
        if !writable {
            return Err(view_error("this user can neither create namespaces nor write the directory"));
        }
        LocalBuilder::with_isolation(&logical, &logical, Isolation::Direct)
    }

    /// Whether this system lets this user run builders in namespaces.
    pub fn namespaces_available() -> bool {
        namespace::available()
    }

    /// How builders see the store.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// The store outputs go into.
    pub fn store(&self) -> &LocalStore {
        &self.store
    }
}

impl Builder for LocalBuilder {
    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutcome, BuildError> {
        let start = Instant::now();
        fs::create_dir_all(request.log_dir)
            .map_err(io_error(format!("creating the log directory '{}'", request.log_dir.display())))?;
        let mut session = Session {
            builder: self,
            request,
            deadline: request.timeout.map(|timeout| start + timeout),
            built: Vec::new(),
            present: Vec::new(),
            done: HashSet::new(),
        };
        session.realise(request.drv_path, request.drv_path)?;
        let log = request.log_path(request.drv_path);
        if !session.built.iter().any(|drv| drv == request.drv_path) {
            note_nothing_built(&log, request.drv_path)?;
        }
        let drv = request.derivation(request.drv_path)?;
        Ok(BuildOutcome {
            outputs: drv.outputs.iter().map(|(name, output)| (name.clone(), output.path.clone())).collect(),
            log,
            seconds: start.elapsed().as_secs_f64(),
            built: session.built,
            present: session.present,
        })
    }
}

/// One request being built.
struct Session<'s, 'a> {
    builder: &'s LocalBuilder,
    request: &'s BuildRequest<'a>,
    deadline: Option<Instant>,
    built: Vec<String>,
    present: Vec<String>,
    done: HashSet<String>,
}

impl Session<'_, '_> {
    fn store(&self) -> &LocalStore {
        &self.builder.store
    }

    fn outputs_valid(&self, drv: &Derivation) -> bool {
        drv.outputs.values().all(|output| !output.path.is_empty() && self.store().is_valid(&output.path))
    }

    /// Makes the outputs of `drv_path` valid, building its missing inputs first.
    fn realise(&mut self, drv_path: &str, needed_by: &str) -> Result<(), BuildError> {
        if self.done.contains(drv_path) {
            return Ok(());
        }
        let drv = self.request.derivation(drv_path)?;
        if !self.outputs_valid(drv) {
            for input in drv.input_drvs.keys() {
                self.realise(input, drv_path)?;
            }
            for src in &drv.input_srcs {
                self.ensure(src, drv_path)?;
            }
            let _lock = self.store().lock(drv_path)?;
            // Another build may have made them while this one waited for the lock.
            if !self.outputs_valid(drv) {
                self.run(drv_path, drv, needed_by)?;
                self.built.push(drv_path.to_string());
                self.done.insert(drv_path.to_string());
                return Ok(());
            }
        }
        self.present.push(drv_path.to_string());
        self.done.insert(drv_path.to_string());
        Ok(())
    }

    /// Makes the store object `path` valid: writes a text, source or `.drv` file the
    /// evaluation made, or builds the derivation that outputs it.
    fn ensure(&mut self, path: &str, needed_by: &str) -> Result<(), BuildError> {
        if self.store().is_valid(path) {
            return Ok(());
        }
        let object = closure::object(self.request, path);
        match object {
            Object::Added(AddedPath::Text { contents, references }) => {
                for reference in references {
                    self.ensure(reference, needed_by)?;
                }
                self.store().add_text(path, contents, references)
            }
            Object::Added(AddedPath::Source { source, recursive, excluded }) => {
                let source = self.source_location(source, needed_by)?;
                self.store().add_source(path, &source, *recursive, excluded)
            }
            Object::Added(AddedPath::Fetched { url }) => Err(BuildError::MissingInput {
                path: path.to_string(),
                needed_by: needed_by.to_string(),
                reason: format!("it is downloaded from '{url}', and the local builder does not download"),
            }),
            Object::DrvFile(drv) => {
                let references = closure::object_references(object);
                for reference in &references {
                    self.ensure(reference, needed_by)?;
                }
                self.store().add_text(path, &drv.to_aterm(), &references)
            }
            Object::Unknown => {
                let owner =
                    self.request.derivations.iter().find(|(_, drv)| drv.outputs.values().any(|o| o.path == path));
                match owner {
                    Some((owner, _)) => self.realise(owner, needed_by),
                    None => Err(BuildError::MissingInput {
                        path: path.to_string(),
                        needed_by: needed_by.to_string(),
                        reason: "it is not in the store, and the evaluation did not make it".into(),
                    }),
                }
            }
        }
    }

    /// Where to copy `source` from: itself, or, when it lies in a store object (a file of
    /// a flake's source, which the evaluation saw at the source's store path), that place
    /// in the object's physical copy, made first.
    fn source_location(&mut self, source: &str, needed_by: &str) -> Result<String, BuildError> {
        let logical = self.store().logical().clone();
        if !logical.is_in_store(source) {
            return Ok(source.to_string());
        }
        let (object, rest) = logical.split_path(source)?;
        let object = logical.display_path(&object);
        self.ensure(&object, needed_by)?;
        Ok(format!("{}{rest}", self.store().physical_path(&object)?.display()))
    }

    /// The store paths the builder of `drv` may see: its inputs and what they refer to.
    fn input_closure(&self, drv_path: &str, drv: &Derivation) -> Result<BTreeSet<String>, BuildError> {
        let mut closure = BTreeSet::new();
        let mut stack: Vec<String> = closure::input_paths(self.request, drv)?.into_iter().collect();
        while let Some(path) = stack.pop() {
            if closure.contains(&path) {
                continue;
            }
            let info = self.store().path_info(&path).ok_or_else(|| BuildError::MissingInput {
                path: path.clone(),
                needed_by: drv_path.to_string(),
                reason: "it is not valid in the store".into(),
            })?;
            stack.extend(info.references.into_iter().filter(|r| !closure.contains(r)));
            closure.insert(path);
        }
        Ok(closure)
    }

    /// Runs the builder of `drv` in a scratch directory and registers its outputs.
    fn run(&mut self, drv_path: &str, drv: &Derivation, needed_by: &str) -> Result<(), BuildError> {
        self.check_supported(drv_path, drv, needed_by)?;
        let inputs = self.input_closure(drv_path, drv)?;
        let scratch = self.store().scratch("builds", "build");
        let result = self.run_in(&scratch, drv_path, drv, &inputs);
        if result.is_err() && self.builder.isolation == Isolation::Direct {
            // What a failed builder wrote in place is no output.
            for output in drv.outputs.values() {
                let _ = self.store().remove_invalid(&output.path);
            }
        }
        let cleaned = remove_tree(&scratch);
        result.and(cleaned)
    }

    fn check_supported(&self, drv_path: &str, drv: &Derivation, needed_by: &str) -> Result<(), BuildError> {
        let unsupported = |reason: String| BuildError::Unsupported { drv_path: drv_path.to_string(), reason };
        if drv.builder == "builtin:fetchurl" {
            let url = drv.env.get("url").map_or("", String::as_str);
            return Err(BuildError::MissingInput {
                path: drv.outputs.values().next().map_or_else(|| drv_path.to_string(), |o| o.path.clone()),
                needed_by: needed_by.to_string(),
                reason: format!("it is downloaded from '{url}', and the local builder does not download"),
            });
        }
        if let Some(builtin) = drv.builder.strip_prefix("builtin:") {
            return Err(unsupported(format!("the local builder has no built-in builder '{builtin}'")));
        }
        let system = &self.builder.system;
        let compatible = drv.platform == *system || (system == "x86_64-linux" && drv.platform == "i686-linux");
        if !compatible {
            return Err(unsupported(format!("it is for '{}', and this machine builds for '{system}'", drv.platform)));
        }
        if drv.env.contains_key("__json") {
            return Err(unsupported("the local builder does not pass structured attributes".into()));
        }
        if let Some((name, _)) = drv.outputs.iter().find(|(_, output)| output.path.is_empty()) {
            return Err(unsupported(format!("output '{name}' is content-addressed, with no path known in advance")));
        }
        Ok(())
    }

    fn run_in(
        &self,
        scratch: &Path,
        drv_path: &str,
        drv: &Derivation,
        inputs: &BTreeSet<String>,
    ) -> Result<(), BuildError> {
        let store = self.store();
        let log = self.request.log_path(drv_path);
        let fixed = drv.outputs.values().any(|output| output.is_fixed());
        let (view, build_dir, build_dir_inside) = match &self.builder.skeleton {
            Some(skeleton) => {
                let physical: Vec<PathBuf> =
                    inputs.iter().map(|path| store.physical_path(path)).collect::<Result<_, _>>()?;
                let view = View::prepare(skeleton, scratch, &physical)?;
                let build_dir = view.build_dir().to_path_buf();
                (Some(view), build_dir, namespace::BUILD_DIR.to_string())
            }
            None => {
                self.clear_outputs_in_place(drv_path, drv)?;
                let build_dir = scratch.join("build");
                fs::create_dir_all(&build_dir).map_err(io_error(format!("creating '{}'", build_dir.display())))?;
                let inside = build_dir.to_string_lossy().into_owned();
                (None, build_dir, inside)
            }
        };
        let environment = environment(store, drv, &build_dir, &build_dir_inside)?;
        let log_file = File::create(&log).map_err(io_error(format!("creating the log '{}'", log.display())))?;
        let log_copy = log_file.try_clone().map_err(io_error(format!("opening the log '{}'", log.display())))?;
        let mut command = Command::new(&drv.builder);
        command.args(&drv.args).env_clear().envs(&environment).stdin(Stdio::null()).stdout(log_file).stderr(log_copy);
        let outputs_dir = match view {
            Some(view) => {
                let dir = view.store_view().to_path_buf();
                view.install(&mut command, fixed)?;
                dir
            }
            None => {
                command.current_dir(&build_dir);
                store.physical().to_path_buf()
            }
        };
        let exit = process::run(&mut command, self.deadline).map_err(|error| {
            let _ = fs::write(&log, format!("nxe: cannot start the builder '{}': {error}\n", drv.builder));
            BuildError::Io {
                context: format!("starting the builder of '{drv_path}' (log: {})", log.display()),
                source: error,
            }
        })?;
        let drv_path_owned = drv_path.to_string();
        match exit {
            Exit::Status(0) => self.register_outputs(drv_path, drv, &outputs_dir, inputs, &log),
            Exit::Status(status) => Err(BuildError::BuilderFailed { drv_path: drv_path_owned, status, log }),
            Exit::Signal(signal) => Err(BuildError::BuilderKilled { drv_path: drv_path_owned, signal, log }),
            Exit::TimedOut => Err(BuildError::TimedOut {
                drv_path: drv_path_owned,
                timeout: self.request.timeout.unwrap_or_default(),
                log,
            }),
        }
    }

    /// Without a namespace, outputs are written in place: leftovers are deleted first, and a
    /// derivation with some outputs valid and others not cannot be built again.
    fn clear_outputs_in_place(&self, drv_path: &str, drv: &Derivation) -> Result<(), BuildError> {
        if let Some((name, _)) = drv.outputs.iter().find(|(_, output)| self.store().is_valid(&output.path)) {
            return Err(BuildError::Unsupported {
                drv_path: drv_path.to_string(),
                reason: format!("its output '{name}' is valid but others are not, and building without a namespace would overwrite it"),
            });
        }
        drv.outputs.values().try_for_each(|output| self.store().remove_invalid(&output.path))
    }

    /// Checks, scans and records each output the builder wrote into `outputs_dir`.
    fn register_outputs(
        &self,
        drv_path: &str,
        drv: &Derivation,
        outputs_dir: &Path,
        inputs: &BTreeSet<String>,
        log: &Path,
    ) -> Result<(), BuildError> {
        let store = self.store();
        let mut candidates = inputs.clone();
        candidates.extend(drv.outputs.values().map(|output| output.path.clone()));
        let invalid = |output: &str, reason: String| BuildError::InvalidOutput {
            drv_path: drv_path.to_string(),
            output: output.to_string(),
            reason,
            log: log.to_path_buf(),
        };
        for (name, output) in &drv.outputs {
            let location = outputs_dir.join(store.parse(&output.path)?.base_name());
            if location.symlink_metadata().is_err() {
                return Err(BuildError::OutputMissing {
                    drv_path: drv_path.to_string(),
                    output: name.clone(),
                    log: log.to_path_buf(),
                });
            }
            canonicalise(&location, false)?;
            let scanned = scan::scan(&location, store.logical().as_str(), &candidates)
                .map_err(|error| invalid(name, error.to_string()))?;
            if output.is_fixed() {
                if !scanned.references.is_empty() {
                    let references: Vec<&str> = scanned.references.iter().map(String::as_str).collect();
                    return Err(invalid(name, format!("a fixed output may not refer to {}", references.join(", "))));
                }
                check_fixed_output(drv_path, name, output, &location, &scanned.nar_hash, log)?;
            }
            let info = PathInfo {
                path: output.path.clone(),
                nar_hash: scanned.nar_hash.to_string_as(nxe_store::HashFormat::Nix32, true),
                nar_size: scanned.nar_size,
                references: scanned.references,
                deriver: Some(drv_path.to_string()),
            };
            match self.builder.isolation {
                Isolation::Namespace => store.register(&location, &info)?,
                Isolation::Direct => store.register_in_place(&info)?,
            }
        }
        Ok(())
    }
}

/// The builder's environment, as Nix makes it: a few defaults the derivation may override,
/// the derivation's variables (those named in `passAsFile` written to files in the build
/// directory instead), then the build directory variables and what Nix always sets.
fn environment(
    store: &LocalStore,
    drv: &Derivation,
    build_dir: &Path,
    build_dir_inside: &str,
) -> Result<BTreeMap<String, String>, BuildError> {
    let mut env = BTreeMap::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    env.insert("PATH".to_string(), "/path-not-set".to_string());
    env.insert("HOME".to_string(), "/homeless-shelter".to_string());
    env.insert("NIX_STORE".to_string(), store.logical().as_str().to_string());
    env.insert("NIX_BUILD_CORES".to_string(), cores.to_string());
    let pass_as_file: HashSet<&str> =
        drv.env.get("passAsFile").map_or_else(HashSet::new, |names| names.split_whitespace().collect());
    for (name, value) in &drv.env {
        if !pass_as_file.contains(name.as_str()) {
            env.insert(name.clone(), value.clone());
            continue;
        }
        let file_name = format!(".attr-{}", Hash::compute(HashAlgo::Sha256, name.as_bytes()).to_nix32());
        let file = build_dir.join(&file_name);
        fs::write(&file, value).map_err(io_error(format!("writing '{}'", file.display())))?;
        env.insert(format!("{name}Path"), format!("{build_dir_inside}/{file_name}"));
    }
    for name in ["NIX_BUILD_TOP", "TMPDIR", "TEMPDIR", "TMP", "TEMP", "PWD"] {
        env.insert(name.to_string(), build_dir_inside.to_string());
    }
    if drv.outputs.values().any(|output| output.is_fixed()) {
        // Fixed-output builders are told their output is checked, and get the variables
        // they declare impure (proxies, for downloads) from nxe's environment.
        env.insert("NIX_OUTPUT_CHECKED".to_string(), "1".to_string());
        let impure = drv.env.get("impureEnvVars").map_or("", String::as_str);
        for name in impure.split_whitespace() {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.to_string(), value);
            }
        }
    }
    env.insert("NIX_LOG_FD".to_string(), "2".to_string());
    env.insert("TERM".to_string(), "xterm-256color".to_string());
    Ok(env)
}

/// Checks that a fixed output has the contents its hash says.
fn check_fixed_output(
    drv_path: &str,
    name: &str,
    output: &nxe_store::Output,
    location: &Path,
    nar_sha256: &Hash,
    log: &Path,
) -> Result<(), BuildError> {
    let (method, algo) = ContentAddressMethod::parse_with_algo(&output.hash_algo)?;
    let expected = nxe_store::base16_decode(&output.hash)
        .ok_or_else(|| BuildError::Unsupported {
            drv_path: drv_path.to_string(),
            reason: format!("the hash of output '{name}' is not in base16: '{}'", output.hash),
        })
        .and_then(|bytes| Ok(Hash::from_bytes(algo, &bytes)?))?;
    let invalid = |reason: String| BuildError::InvalidOutput {
        drv_path: drv_path.to_string(),
        output: name.to_string(),
        reason,
        log: log.to_path_buf(),
    };
    let actual = match method {
        ContentAddressMethod::Recursive if algo == HashAlgo::Sha256 => nar_sha256.clone(),
        ContentAddressMethod::Recursive => {
            let mut sink = HashingSink::new(algo);
            nxe_store::dump_path(location, &mut sink)?;
            sink.finish().0
        }
        ContentAddressMethod::Flat | ContentAddressMethod::Text => {
            let meta = location.symlink_metadata().map_err(io_error(format!("reading '{}'", location.display())))?;
            let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o100 != 0;
            if !meta.is_file() || (executable && method == ContentAddressMethod::Flat) {
                return Err(invalid(format!(
                    "it should be a non-executable regular file, since it is hashed {method}"
                )));
            }
            let bytes = fs::read(location).map_err(io_error(format!("reading '{}'", location.display())))?;
            Hash::compute(algo, &bytes)
        }
    };
    if actual != expected {
        return Err(BuildError::HashMismatch {
            drv_path: drv_path.to_string(),
            output: name.to_string(),
            expected: expected.to_sri(),
            actual: actual.to_sri(),
            log: log.to_path_buf(),
        });
    }
    Ok(())
}
