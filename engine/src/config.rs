//! Finding a repository and reading its description: `nxe.toml` (every key optional), the
//! entry file, the search path, and the attribute paths of hosts, checks and unit tests,
//! with command-line overrides applied last.

use crate::EngineError;
use nxe_evaluator::AutoArg;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The name of the configuration file at a repository's root.
pub const CONFIG_FILE: &str = "nxe.toml";

/// `nxe.toml` as written; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    repo: RepoSection,
    #[serde(default)]
    hosts: HostsSection,
    #[serde(default)]
    tests: TestsSection,
    /// Read by the incremental engine; accepted here so that one file describes the repo.
    #[serde(default)]
    impact: Option<toml::Table>,
    /// Read by the test runner's policies.
    #[serde(default)]
    policy: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RepoSection {
    entry: Option<String>,
    #[serde(default)]
    nix_path: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostsSection {
    attr: Option<String>,
    toplevel: Option<String>,
    config: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestsSection {
    unit: Option<String>,
    checks: Option<String>,
}

/// How the repository's outputs are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoKind {
    /// A plain Nix file whose value (called with `--arg`s if it is a function) holds the hosts.
    Plain,
    /// A flake: `nixosConfigurations`, `checks.<system>`, `tests`.
    Flake,
}

/// Command-line settings that override `nxe.toml`.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--repo DIR`: the repository (otherwise found from the current directory upwards).
    pub repo: Option<PathBuf>,
    /// `-I` entries, searched before the configured ones.
    pub include: Vec<String>,
    /// `--arg` / `--argstr`, in command-line order.
    pub auto_args: Vec<(String, AutoArg)>,
    /// The system for flake outputs (`checks.<system>`); defaults to `x86_64-linux`.
    pub system: Option<String>,
    /// `--override-input NAME PATH` for flake inputs.
    pub input_overrides: Vec<(String, PathBuf)>,
    /// Set for a checkout of a commit (not a git work tree itself): the commit it holds.
    pub source_revision: Option<SourceRevision>,
}

/// The commit a checkout holds, for what a flake's source attributes say of it (`rev`,
/// `revCount`, `lastModified`), as they would in a git work tree at that commit.
#[derive(Clone, Debug)]
pub struct SourceRevision {
    /// The checkout's top directory (the whole repository's files at the commit).
    pub checkout: PathBuf,
    /// The top level of the git work tree the commit belongs to.
    pub git_top: PathBuf,
    /// The commit.
    pub commit: String,
}

/// A repository as nxe evaluates it.
#[derive(Clone, Debug)]
pub struct Repo {
    /// The root directory (canonical).
    pub root: PathBuf,
    /// The file to evaluate (absolute).
    pub entry: PathBuf,
    /// Plain or flake.
    pub kind: RepoKind,
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Search path entries (prefix, path), `-I` first, then `nxe.toml`'s, then `NIX_PATH`'s.
    pub nix_path: Vec<(String, String)>,
    /// `--arg` / `--argstr`.
    pub auto_args: Vec<(String, AutoArg)>,
    /// Attribute path of the set of hosts.
    pub hosts_attr: Vec<String>,
    /// Attribute path, inside a host, of its top-level derivation.
    pub toplevel_attr: Vec<String>,
    /// Attribute path, inside a host, of its evaluated options.
    pub config_attr: Vec<String>,
    /// Attribute path of the unit tests.
    pub unit_attr: Vec<String>,
    /// Attribute path of the set of checks.
    pub checks_attr: Vec<String>,
    /// Whether the hosts' attribute path was given explicitly (then a missing one is an error).
    pub hosts_explicit: bool,
    /// Whether the checks' attribute path was given explicitly.
    pub checks_explicit: bool,
    /// Whether the unit tests' attribute path was given explicitly.
    pub unit_explicit: bool,
    /// Flake input overrides.
    pub input_overrides: Vec<(String, PathBuf)>,
    /// The system of flake outputs.
    pub system: String,
    /// The logical store directory: `NIX_STORE_DIR`, as for Nix, else `/nix/store`.
    pub store_dir: String,
    /// The `[impact]` table of `nxe.toml`, for the incremental engine.
    pub impact: toml::Table,
    /// The `[policy]` table of `nxe.toml`, for the test runner.
    pub policy: toml::Table,
    /// The command-line overrides this description was made with.
    pub overrides: Overrides,
}

impl Repo {
    /// Finds and reads the repository: `--repo DIR` or the nearest directory, from the
    /// current one upwards, holding `nxe.toml` or `flake.nix` (else the current directory).
    pub fn discover(overrides: &Overrides) -> Result<Repo, EngineError> {
        let start = match &overrides.repo {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().map_err(|e| EngineError::Io("the current directory".into(), e))?,
        };
        let start = std::fs::canonicalize(&start)
            .map_err(|e| EngineError::Config(format!("repository '{}': {e}", start.display())))?;
        if !start.is_dir() {
            return Err(EngineError::Config(format!("repository '{}' is not a directory", start.display())));
        }
        let root = match &overrides.repo {
            Some(_) => start,
            None => start
                .ancestors()
                .find(|dir| dir.join(CONFIG_FILE).is_file() || dir.join("flake.nix").is_file())
                .map_or(start.clone(), Path::to_path_buf),
        };
        Repo::open(&root, overrides)
    }

    /// Reads the repository rooted at `root` (which must exist).
    pub fn open(root: &Path, overrides: &Overrides) -> Result<Repo, EngineError> {
        let config_path = root.join(CONFIG_FILE);
        let (file, config_file) = if config_path.is_file() {
            let text = std::fs::read_to_string(&config_path)
                .map_err(|e| EngineError::Io(config_path.display().to_string(), e))?;
            let file: FileConfig = toml::from_str(&text).map_err(|e| config_error(&config_path, &text, &e))?;
            (file, Some(config_path))
        } else {
            (FileConfig::default(), None)
        };
        let entry_name = match &file.repo.entry {
            Some(entry) => entry.clone(),
            None if root.join("flake.nix").is_file() => "flake.nix".to_string(),
            None => "default.nix".to_string(),
        };
        let entry = root.join(&entry_name);
        if !entry.exists() {
            return Err(EngineError::Config(format!(
                "the repository '{}' has no {entry_name}{}",
                root.display(),
                if file.repo.entry.is_some() { " (named by nxe.toml's repo.entry)" } else { "" }
            )));
        }
        let kind =
            if entry.file_name().is_some_and(|name| name == "flake.nix") { RepoKind::Flake } else { RepoKind::Plain };

        let mut nix_path = Vec::new();
        let cwd = std::env::current_dir().ok();
        for include in &overrides.include {
            nix_path.push(split_search_entry(include, cwd.as_deref()));
        }
        for entry in &file.repo.nix_path {
            nix_path.push(split_search_entry(entry, Some(root)));
        }
        if let Ok(env) = std::env::var("NIX_PATH") {
            nix_path.extend(env.split(':').filter(|e| !e.is_empty()).map(|e| split_search_entry(e, None)));
        }

        let system = overrides.system.clone().unwrap_or_else(|| "x86_64-linux".to_string());
        let flake_checks = format!("checks.\"{system}\"");
        let defaults = match kind {
            RepoKind::Plain => ("hosts", "toplevel", "config", "tests", "checks"),
            RepoKind::Flake => {
                ("nixosConfigurations", "config.system.build.toplevel", "config", "tests", flake_checks.as_str())
            }
        };
        let attr = |given: &Option<String>, default: &str, what: &str| -> Result<Vec<String>, EngineError> {
            let text = given.as_deref().unwrap_or(default);
            nxe_evaluator::split_attr_path(text)
                .map_err(|e| EngineError::Config(format!("nxe.toml: {what} '{text}' is not an attribute path: {e}")))
        };
        Ok(Repo {
            root: root.to_path_buf(),
            entry,
            kind,
            config_file,
            nix_path,
            auto_args: overrides.auto_args.clone(),
            hosts_attr: attr(&file.hosts.attr, defaults.0, "hosts.attr")?,
            toplevel_attr: attr(&file.hosts.toplevel, defaults.1, "hosts.toplevel")?,
            config_attr: attr(&file.hosts.config, defaults.2, "hosts.config")?,
            unit_attr: attr(&file.tests.unit, defaults.3, "tests.unit")?,
            checks_attr: attr(&file.tests.checks, defaults.4, "tests.checks")?,
            hosts_explicit: file.hosts.attr.is_some(),
            checks_explicit: file.tests.checks.is_some(),
            unit_explicit: file.tests.unit.is_some(),
            input_overrides: overrides.input_overrides.clone(),
            system,
            store_dir: std::env::var("NIX_STORE_DIR")
                .ok()
                .filter(|dir| dir.starts_with('/'))
                .map(|dir| dir.trim_end_matches('/').to_string())
                .unwrap_or_else(|| "/nix/store".to_string()),
            impact: file.impact.unwrap_or_default(),
            policy: file.policy.unwrap_or_default(),
            overrides: overrides.clone(),
        })
    }

    /// The same repository description, rooted at another checkout (of another revision):
    /// its own `nxe.toml`, the same command-line overrides.
    pub fn at_root(&self, root: &Path) -> Result<Repo, EngineError> {
        Repo::open(root, &Overrides { repo: Some(root.to_path_buf()), ..self.overrides.clone() })
    }

    /// This repository in a checkout of a commit, rooted at `root` inside it.
    pub fn at_revision(&self, root: &Path, revision: SourceRevision) -> Result<Repo, EngineError> {
        let overrides =
            Overrides { repo: Some(root.to_path_buf()), source_revision: Some(revision), ..self.overrides.clone() };
        Repo::open(root, &overrides)
    }

    /// A short name for messages: the root directory.
    pub fn display_name(&self) -> String {
        self.root.display().to_string()
    }
}

/// Splits a search path entry, `prefix=path` or a bare path; relative paths are resolved
/// against `base` when given.
pub fn split_search_entry(entry: &str, base: Option<&Path>) -> (String, String) {
    let (prefix, path) = match entry.split_once('=') {
        Some((prefix, path)) => (prefix.to_string(), path.to_string()),
        None => (String::new(), entry.to_string()),
    };
    let path = match base {
        Some(base) if !path.starts_with('/') && !path.contains("://") => {
            let joined = base.join(&path);
            std::fs::canonicalize(&joined).unwrap_or(joined).display().to_string()
        }
        _ => path,
    };
    (prefix, path)
}

/// Joins attribute names into a path, quoting names that need it.
pub fn join_attr_path(parts: &[String]) -> String {
    parts
        .iter()
        .map(|part| {
            let plain = !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''))
                && !part.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '\'');
            if plain {
                part.clone()
            } else {
                format!("\"{part}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A TOML error with the file, line and column of its cause.
fn config_error(path: &Path, text: &str, error: &toml::de::Error) -> EngineError {
    let location = error.span().map(|span| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(":{line}:{column}")
    });
    EngineError::Config(format!("{}{}: {}", path.display(), location.unwrap_or_default(), error.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_paths_join_with_quotes() {
        let parts = vec!["hosts".to_string(), "web-01".to_string(), "a.b".to_string(), "1x".to_string()];
        assert_eq!(join_attr_path(&parts), "hosts.web-01.\"a.b\".\"1x\"");
    }

    #[test]
    fn config_errors_name_the_line_and_column() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("default.nix"), "{ }").expect("write");
        std::fs::write(dir.path().join(CONFIG_FILE), "[hosts]\nattr = \"x\"\ntoplevl = \"y\"\n").expect("write");
        let error = Repo::open(dir.path(), &Overrides::default()).expect_err("unknown key");
        let message = error.to_string();
        assert!(message.contains("nxe.toml:3:1"), "{message}");
        assert!(message.contains("toplevl"), "{message}");
    }

    #[test]
    fn defaults_and_relative_search_path() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("main.nix"), "{ }").expect("write");
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[repo]\nentry = \"main.nix\"\nnix-path = [\"mylib=lib\"]\n[tests]\nchecks = \"ci.checks\"\n",
        )
        .expect("write");
        let repo = Repo::open(dir.path(), &Overrides::default()).expect("valid config");
        assert_eq!(repo.kind, RepoKind::Plain);
        assert!(repo.entry.ends_with("main.nix"));
        assert_eq!(repo.hosts_attr, vec!["hosts"]);
        assert_eq!(repo.toplevel_attr, vec!["toplevel"]);
        assert_eq!(repo.checks_attr, vec!["ci", "checks"]);
        assert!(repo.checks_explicit && !repo.hosts_explicit);
        let lib = repo.nix_path.iter().find(|(prefix, _)| prefix == "mylib").expect("configured entry");
        assert!(Path::new(&lib.1).is_absolute() && lib.1.ends_with("/lib"), "{lib:?}");
    }

    #[test]
    fn a_missing_entry_file_is_reported() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let error = Repo::open(dir.path(), &Overrides::default()).expect_err("no default.nix");
        assert!(error.to_string().contains("has no default.nix"), "{error}");
    }
}
