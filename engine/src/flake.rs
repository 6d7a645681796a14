//! Flake repositories: the outputs of `flake.nix`, called with its inputs as `flake.lock`
//! pins them, resolved without network.
//!
//! Nix copies a flake's source into the store and evaluates it there, so `./.` in a flake is
//! `/nix/store/<hash>-source`. nxe computes that store path (the NAR hash of the files git
//! tracks, with their contents in the work tree, or of the whole directory outside git)
//! without copying anything: [`MountedIo`] shows each source's directory at its store path.
//! Inputs are resolved, in this order, from `--override-input NAME PATH`, from `path:`
//! locks, or from the local store when the locked `narHash` names a path that is there
//! (its contents are hashed again and must match); anything else fails, naming the input.
//! Flakes are then called by a small generated Nix expression, lazily, one node of the lock
//! file at a time, as Nix does.

use crate::{EngineError, Repo};
use nxe_evaluator::io::{format_date, FileKind, MountedIo, RealIo, SourceMount as Mount};
use nxe_evaluator::{EvalResult, Evaluation, Source, Value};
use nxe_store::{ContentAddressMethod, Hash, HashAlgo, StoreDir, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// One node of the lock file, resolved.
#[derive(Clone, Debug)]
struct Node {
    /// Whether it is a flake (else its source only).
    flake: bool,
    /// Its source: `outPath` and the other `sourceInfo` attributes as Nix literals.
    source_info: BTreeMap<String, String>,
    /// Its directory below the source's store path, as a Nix expression (a string with the
    /// source as context).
    flake_dir: String,
    /// Its directory as a plain store path string.
    dir: String,
    /// Its `flake.nix` at its store path (flakes only).
    flake_file: String,
    /// Input name -> node key.
    inputs: BTreeMap<String, String>,
}

/// Everything needed to evaluate a flake, computed once and shared by the workers.
#[derive(Clone, Debug)]
pub struct FlakeSetup {
    mounts: Vec<Mount>,
    nodes: BTreeMap<String, Node>,
    root: String,
    /// The mounts as store objects, listed once.
    objects: std::sync::OnceLock<Vec<(String, nxe_evaluator::AddedPath)>>,
}

impl FlakeSetup {
    /// Every source the flake is evaluated with, as a store object a builder can make: the
    /// directory, without what the source leaves out (files git does not track). Nix copies
    /// these sources into the store when it evaluates a flake; derivations that name one
    /// need it built.
    pub(crate) fn source_objects(&self) -> &[(String, nxe_evaluator::AddedPath)] {
        self.objects.get_or_init(|| {
            self.mounts
                .iter()
                .map(|mount| {
                    let added = nxe_evaluator::AddedPath::Source {
                        source: mount.dir.display().to_string(),
                        recursive: true,
                        excluded: mount.excluded(&RealIo),
                    };
                    (mount.store_path.clone(), added)
                })
                .collect()
        })
    }

    /// Reads the repository's flake and lock file and resolves every input.
    pub fn new(repo: &Repo) -> Result<FlakeSetup, EngineError> {
        let store_dir = StoreDir::new(&repo.store_dir)
            .map_err(|e| EngineError::Config(format!("store directory '{}': {e}", repo.store_dir)))?;
        let mut setup = FlakeSetup {
            mounts: Vec::new(),
            nodes: BTreeMap::new(),
            root: "root".into(),
            objects: std::sync::OnceLock::new(),
        };
        let revision = repo.overrides.source_revision.as_ref();
        let (root_mount, mut root_info, subdir) = local_source(&repo.root, &store_dir, revision)?;
        let root_dir = join_store(&root_mount.store_path, &subdir);
        root_info.insert("outPath".into(), with_context(&root_mount.store_path, &root_mount.store_path));
        setup.mounts.push(root_mount);

        let lock_path = repo.root.join("flake.lock");
        let lock: serde_json::Value = if lock_path.is_file() {
            let text =
                std::fs::read_to_string(&lock_path).map_err(|e| EngineError::Io(lock_path.display().to_string(), e))?;
            serde_json::from_str(&text)
                .map_err(|e| EngineError::Config(format!("{}:{}:{}: {e}", lock_path.display(), e.line(), e.column())))?
        } else {
            serde_json::json!({ "nodes": { "root": {} }, "root": "root", "version": 7 })
        };
        let root_key = lock["root"].as_str().unwrap_or("root").to_string();
        let nodes = lock["nodes"].as_object().cloned().unwrap_or_default();
        setup.root = root_key.clone();
        let mut pending = vec![(root_key.clone(), None::<String>)];
        let mut seen = BTreeSet::new();
        while let Some((key, input_name)) = pending.pop() {
            if !seen.insert(key.clone()) {
                continue;
            }
            let node = nodes.get(&key).cloned().unwrap_or_default();
            let inputs = resolve_inputs(&node, &nodes, &root_key, &lock_path)?;
            let flake = node.get("flake").and_then(serde_json::Value::as_bool).unwrap_or(true);
            let name = input_name.clone().unwrap_or_else(|| key.clone());
            let relative_parent = relative_path_parent(&node, &nodes, &root_key, &lock_path)?
                .filter(|_| !repo.input_overrides.iter().any(|(n, _)| *n == name));
            let (source_info, dir) = if key == root_key {
                (root_info.clone(), root_dir.clone())
            } else if let Some((parent_key, relative)) = relative_parent {
                // `path:./sub` inside its parent flake: part of the parent's source.
                let Some(parent) = setup.nodes.get(&parent_key) else {
                    return Err(EngineError::Config(format!(
                        "{}: input '{name}': its parent is not locked",
                        lock_path.display()
                    )));
                };
                // Nix joins the parts as they are (`.../source/./dep`).
                let dir = format!("{}/{relative}", parent.dir);
                (parent.source_info.clone(), dir)
            } else {
                let (mount, info, flake_path) = input_source(repo, &name, &node, &store_dir)?;
                if !setup.mounts.iter().any(|m| m.store_path == mount.store_path) {
                    setup.mounts.push(mount);
                }
                (info, flake_path)
            };
            // The directory as a string whose context is its source's store path.
            let store_root = match dir.strip_prefix(&format!("{}/", store_dir.as_str())) {
                Some(rest) => format!("{}/{}", store_dir.as_str(), rest.split('/').next().unwrap_or(rest)),
                None => dir.clone(),
            };
            let flake_dir = with_context(&dir, &store_root);
            for (name, target) in &inputs {
                pending.push((target.clone(), Some(name.clone())));
            }
            setup.nodes.insert(
                key,
                Node { flake, source_info, flake_file: format!("{dir}/flake.nix"), flake_dir, dir, inputs },
            );
        }
        Ok(setup)
    }

    /// `text` with every source's store path replaced by its real directory.
    pub fn real_path(&self, text: &str) -> String {
        let mut text = text.to_string();
        for mount in &self.mounts {
            text = text.replace(&mount.store_path, &mount.dir.display().to_string());
        }
        text
    }

    /// The I/O layer that shows every source at its store path, over `local`.
    pub fn io(&self, local: crate::git::LocalIo) -> MountedIo {
        MountedIo::new(std::rc::Rc::new(local), self.mounts.clone())
    }

    /// The generated expression that calls every flake of the lock file.
    fn expression(&self) -> String {
        let mut text = String::from(
            "let\n  mkFlake = flakeFile: flakeDir: sourceInfo: inputs:\n    let\n      flake = import flakeFile;\n      \
             outputs = flake.outputs (inputs // { self = result; });\n      \
             result = outputs // sourceInfo // { _type = \"flake\"; inherit inputs outputs sourceInfo; outPath = flakeDir; };\n    \
             in result;\n  mkSource = flakeDir: sourceInfo: sourceInfo // { inherit sourceInfo; outPath = flakeDir; };\n  nodes = {\n",
        );
        for (key, node) in &self.nodes {
            let mut info = String::from("{ ");
            for (name, literal) in &node.source_info {
                let _ = write!(info, "{} = {literal}; ", nix_string(name));
            }
            info.push('}');
            let _ = write!(text, "    {} = ", nix_string(key));
            if node.flake {
                let mut inputs = String::from("{ ");
                for (name, target) in &node.inputs {
                    let _ = write!(inputs, "{} = nodes.{}; ", nix_string(name), nix_string(target));
                }
                inputs.push('}');
                let _ =
                    writeln!(text, "mkFlake {} ({}) {info} {inputs};", nix_string(&node.flake_file), node.flake_dir);
            } else {
                let _ = writeln!(text, "mkSource ({}) {info};", node.flake_dir);
            }
        }
        let _ = write!(text, "  }};\nin nodes.{}\n", nix_string(&self.root));
        text
    }

    /// The root flake's value (outputs and source attributes), as `self` sees it.
    pub fn outputs(&self, evaluation: &mut Evaluation) -> EvalResult<Value> {
        evaluation.load(&Source::Expression { text: self.expression(), base_dir: "/".into() })
    }
}

/// For a `path:` input relative to its parent flake (`"parent": [...]` in the lock file):
/// the parent's node key and the relative path.
fn relative_path_parent(
    node: &serde_json::Value,
    nodes: &serde_json::Map<String, serde_json::Value>,
    root: &str,
    lock_path: &Path,
) -> Result<Option<(String, String)>, EngineError> {
    let locked = &node["locked"];
    let (Some("path"), Some(path), Some(parent)) =
        (locked["type"].as_str(), locked["path"].as_str(), node.get("parent").and_then(serde_json::Value::as_array))
    else {
        return Ok(None);
    };
    if path.starts_with('/') {
        return Ok(None);
    }
    let mut key = root.to_string();
    for step in parent {
        let step = step.as_str().unwrap_or_default();
        key = match nodes.get(&key).and_then(|n| n.get("inputs")).and_then(|i| i.get(step)) {
            Some(serde_json::Value::String(k)) => k.clone(),
            _ => {
                return Err(EngineError::Config(format!("{}: a parent path that does not exist", lock_path.display())))
            }
        };
    }
    Ok(Some((key, path.to_string())))
}

/// The node keys a lock node's inputs name, with `follows` paths resolved from the root.
fn resolve_inputs(
    node: &serde_json::Value,
    nodes: &serde_json::Map<String, serde_json::Value>,
    root: &str,
    lock_path: &Path,
) -> Result<BTreeMap<String, String>, EngineError> {
    let mut out = BTreeMap::new();
    let Some(inputs) = node.get("inputs").and_then(serde_json::Value::as_object) else { return Ok(out) };
    for (name, target) in inputs {
        let key = match target {
            serde_json::Value::String(key) => key.clone(),
            serde_json::Value::Array(path) => {
                let mut key = root.to_string();
                for step in path {
                    let step = step.as_str().unwrap_or_default();
                    let next = nodes.get(&key).and_then(|n| n.get("inputs")).and_then(|i| i.get(step));
                    key = match next {
                        Some(serde_json::Value::String(k)) => k.clone(),
                        _ => {
                            return Err(EngineError::Config(format!(
                                "{}: input '{name}' follows a path that does not exist",
                                lock_path.display()
                            )))
                        }
                    };
                }
                key
            }
            _ => return Err(EngineError::Config(format!("{}: malformed input '{name}'", lock_path.display()))),
        };
        if !nodes.contains_key(&key) {
            return Err(EngineError::Config(format!("{}: input '{name}' names no node", lock_path.display())));
        }
        out.insert(name.clone(), key);
    }
    Ok(out)
}

/// The source of a lock node: an override, a `path:` lock, or a path in the local store.
fn input_source(
    repo: &Repo,
    name: &str,
    node: &serde_json::Value,
    store_dir: &StoreDir,
) -> Result<(Mount, BTreeMap<String, String>, String), EngineError> {
    let locked = node.get("locked").cloned().unwrap_or_default();
    let field = |key: &str| locked.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
    if let Some((_, dir)) = repo.input_overrides.iter().find(|(n, _)| n == name) {
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| EngineError::Config(format!("--override-input {name} {}: {e}", dir.display())))?;
        let (mount, mut info, subdir) = local_source(&dir, store_dir, None)?;
        let flake_path = join_store(&mount.store_path, &subdir);
        info.insert("outPath".into(), with_context(&flake_path, &mount.store_path));
        return Ok((mount, info, flake_path));
    }
    let nar_hash = field("narHash");
    let kind = field("type").unwrap_or_default();
    let dir = if kind == "path" {
        let path = field("path").unwrap_or_default();
        let path = if path.starts_with('/') { PathBuf::from(path) } else { repo.root.join(path) };
        std::fs::canonicalize(&path).map_err(|e| {
            EngineError::Config(format!(
                "flake input '{name}': the locked path '{}' is not readable: {e}",
                path.display()
            ))
        })?
    } else {
        let Some(hash) = nar_hash.as_deref().and_then(|h| Hash::parse_any(h, Some(HashAlgo::Sha256)).ok()) else {
            return Err(unavailable(name, &locked));
        };
        let path = nxe_store::make_fixed_output_path(
            ContentAddressMethod::Recursive,
            &hash,
            "source",
            &BTreeSet::new(),
            store_dir,
        )
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        let path = PathBuf::from(store_dir.display_path(&path));
        if !path.is_dir() {
            return Err(unavailable(name, &locked));
        }
        path
    };
    let (hash, _) = nxe_store::nar_hash_path(&dir)
        .map_err(|e| EngineError::Config(format!("flake input '{name}': cannot read {}: {e}", dir.display())))?;
    if let Some(expected) = &nar_hash {
        if hash.to_sri() != *expected {
            return Err(EngineError::Config(format!(
                "flake input '{name}' at {} has NAR hash {} but flake.lock expects {expected}; update the lock file or pass --override-input {name} PATH",
                dir.display(),
                hash.to_sri()
            )));
        }
    }
    let store_path = store_path_of(&hash, store_dir)?;
    let mut info = BTreeMap::new();
    info.insert("outPath".into(), with_context(&store_path, &store_path));
    info.insert("narHash".into(), nix_string(&hash.to_sri()));
    let last_modified = locked.get("lastModified").and_then(serde_json::Value::as_i64).unwrap_or(0);
    info.insert("lastModified".into(), last_modified.to_string());
    info.insert("lastModifiedDate".into(), nix_string(&format_date(last_modified)));
    if let Some(rev) = field("rev") {
        info.insert("shortRev".into(), nix_string(&rev[..rev.len().min(7)]));
        info.insert("rev".into(), nix_string(&rev));
    }
    if let Some(count) = locked.get("revCount").and_then(serde_json::Value::as_i64) {
        info.insert("revCount".into(), count.to_string());
    }
    let mount = Mount { store_path: store_path.clone(), dir, tracked: None };
    Ok((mount, info, store_path))
}

fn unavailable(name: &str, locked: &serde_json::Value) -> EngineError {
    let what = match locked.get("type").and_then(serde_json::Value::as_str) {
        Some("github" | "gitlab" | "sourcehut") => format!(
            "{}:{}/{}",
            locked["type"].as_str().unwrap_or_default(),
            locked["owner"].as_str().unwrap_or_default(),
            locked["repo"].as_str().unwrap_or_default()
        ),
        Some(kind) => format!("{kind}:{}", locked["url"].as_str().or(locked["path"].as_str()).unwrap_or_default()),
        None => "an unlocked input".to_string(),
    };
    EngineError::Config(format!(
        "flake input '{name}' ({what}) is not available without network: it is neither a path nor in the local store; pass --override-input {name} PATH"
    ))
}

/// A local directory as Nix would copy it: inside a git work tree, the files git tracks
/// (with their work-tree contents) of the whole work tree; otherwise the directory. Returns
/// the mount, the source attributes and the flake's directory below the source.
/// In a checkout of a commit (`revision`), the checkout's files, with the commit's source
/// attributes.
fn local_source(
    dir: &Path,
    store_dir: &StoreDir,
    revision: Option<&crate::config::SourceRevision>,
) -> Result<(Mount, BTreeMap<String, String>, String), EngineError> {
    let mut info = BTreeMap::new();
    let top = crate::git::toplevel(dir).ok();
    let (source_dir, tracked) = match (&top, revision) {
        (Some(top), _) => (top.clone(), Some(Arc::new(git_tracked_files(top)?))),
        (None, Some(revision)) => (revision.checkout.clone(), None),
        (None, None) => (dir.to_path_buf(), None),
    };
    let subdir = dir.strip_prefix(&source_dir).map(|p| p.display().to_string()).unwrap_or_default();
    let mut filter = |path: &Path, _: FileKind| -> Result<bool, StoreError> {
        let relative = path.strip_prefix(&source_dir).unwrap_or(path);
        Ok(tracked.as_deref().is_none_or(|files| nxe_evaluator::io::tracks(files, relative)))
    };
    let (hash, _) = nxe_store::nar_hash_path_filtered(&source_dir, &mut filter)
        .map_err(|e| EngineError::Config(format!("cannot read the flake's source {}: {e}", source_dir.display())))?;
    let store_path = store_path_of(&hash, store_dir)?;
    info.insert("narHash".into(), nix_string(&hash.to_sri()));
    let last_modified;
    if let Some(top) = &top {
        let head = crate::git::git(top, &["rev-parse", "--verify", "--quiet", "HEAD"]).ok();
        let dirty = !crate::git::git(top, &["status", "--porcelain", "--untracked-files=no"])?.is_empty();
        last_modified = match &head {
            Some(_) => crate::git::git(top, &["log", "-1", "--format=%ct", "HEAD"])?.parse().unwrap_or(0),
            None => 0,
        };
        match (&head, dirty) {
            (Some(rev), false) => {
                info.insert("rev".into(), nix_string(rev));
                info.insert("shortRev".into(), nix_string(&rev[..rev.len().min(7)]));
                let count = crate::git::git(top, &["rev-list", "--count", "HEAD"])?;
                info.insert("revCount".into(), count.parse::<i64>().unwrap_or(0).to_string());
            }
            (Some(rev), true) => {
                info.insert("dirtyRev".into(), nix_string(&format!("{rev}-dirty")));
                info.insert("dirtyShortRev".into(), nix_string(&format!("{}-dirty", &rev[..rev.len().min(7)])));
            }
            (None, _) => {
                info.insert("dirtyRev".into(), nix_string("0000000000000000000000000000000000000000-dirty"));
                info.insert("dirtyShortRev".into(), nix_string("0000000-dirty"));
            }
        }
        info.insert("submodules".into(), "false".into());
    } else if let Some(revision) = revision {
        let git = |args: &[&str]| crate::git::git(&revision.git_top, args);
        let rev = &revision.commit;
        last_modified = git(&["log", "-1", "--format=%ct", rev])?.parse().unwrap_or(0);
        info.insert("rev".into(), nix_string(rev));
        info.insert("shortRev".into(), nix_string(&rev[..rev.len().min(7)]));
        let count = git(&["rev-list", "--count", rev])?;
        info.insert("revCount".into(), count.parse::<i64>().unwrap_or(0).to_string());
        info.insert("submodules".into(), "false".into());
    } else {
        last_modified = newest_mtime(&source_dir);
    }
    info.insert("lastModified".into(), last_modified.to_string());
    info.insert("lastModifiedDate".into(), nix_string(&format_date(last_modified)));
    Ok((Mount { store_path, dir: source_dir, tracked }, info, subdir))
}

/// The files git tracks in a work tree that exist there (relative paths).
fn git_tracked_files(top: &Path) -> Result<BTreeSet<PathBuf>, EngineError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["ls-files", "-z", "--cached"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EngineError::Git(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(EngineError::Git(format!("git ls-files failed in {}", top.display())));
    }
    Ok(output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .filter(|name| top.join(name).symlink_metadata().is_ok())
        .collect())
}

fn newest_mtime(dir: &Path) -> i64 {
    let mut newest = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = path.symlink_metadata() else { continue };
        if let Ok(modified) = meta.modified() {
            if let Ok(since) = modified.duration_since(std::time::UNIX_EPOCH) {
                newest = newest.max(since.as_secs() as i64);
            }
        }
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    newest
}

fn store_path_of(hash: &Hash, store_dir: &StoreDir) -> Result<String, EngineError> {
    let path =
        nxe_store::make_fixed_output_path(ContentAddressMethod::Recursive, hash, "source", &BTreeSet::new(), store_dir)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(store_dir.display_path(&path))
}

fn join_store(store_path: &str, subdir: &str) -> String {
    if subdir.is_empty() {
        store_path.to_string()
    } else {
        format!("{store_path}/{subdir}")
    }
}

/// A Nix string literal.
fn nix_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A string literal for a store path that carries the store path as context.
fn with_context(text: &str, store_path: &str) -> String {
    format!("builtins.appendContext {} {{ {} = {{ path = true; }}; }}", nix_string(text), nix_string(store_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_strings_escape_interpolation() {
        assert_eq!(nix_string("a\"b${c}\\"), "\"a\\\"b\\${c}\\\\\"");
    }
}
