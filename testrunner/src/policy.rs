//! Built-in policies, configured by the `[policy]` table of `nxe.toml`:
//!
//! - **secrets**: no file under a secrets folder (globs relative to the repository's root)
//!   ever enters the store, neither copied alone nor inside a directory copied whole (files a
//!   path filter excluded do not count); and no secret's contents appear in a derivation's
//!   environment or arguments, or in a text file of the store. A secret is what a host's
//!   configuration declares at `secrets-declared` (agenix's `age.secrets.<name>`, whose
//!   `file` is the encrypted file relative to the root, never a path value): its contents
//!   are the secret string, whatever the encryption.
//! - **backups**: every stateful service of a host (an enabled systemd unit writing below a
//!   state directory such as `/var/lib` or `/var/spool`, or with a `StateDirectory=`) has a
//!   backup covering its state, or one opted out with a stated reason; an opt-out without a
//!   reason is a violation too.
//!
//! Everything is checked per host ([`Policies::check_host`]) on the store objects and
//! derivations of the closure of the host's system, so a violation names its host, whatever
//! evaluated it first; [`Policies::check_store`] looks at every store object the evaluation
//! added, for the ones no host carries. Each [`Violation`] names the secret file or service
//! and what carries it: a store path and the derivations referring to it, or an option path.
//!
//! ```toml
//! [policy]
//! secrets = ["secrets/**"]              # [] turns the secrets policy off
//! secrets-declared = "age.secrets"      # in a host's configuration: name -> { file; ... }
//! secrets-file = "file"                 # a declared secret's file, relative to the root
//! backups = true
//! backups-services = "systemd.services"
//! backups-state-paths = ["hardening.readWritePaths"]
//! backups-state-directory = "serviceConfig.StateDirectory"
//! backups-state-prefixes = ["/var/lib", "/var/spool"]
//! backups-declared = "backup.services"  # name -> { paths; enable; optOutReason; }
//! backups-paths = "paths"
//! backups-enable = "enable"
//! backups-opt-out-reason = "optOutReason"
//! ```

use crate::options::{select, HostLayout};
use nxe_evaluator::eval::{AddedPath, StoreWrites};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::{diagnostics, EvalError, EvalResult, Evaluation, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A `[policy]` table that cannot be used: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nxe.toml: [policy] {key}: {problem}")]
pub struct PolicyConfigError {
    /// The key, as written.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// The policies' settings; [`Default`] is what an empty `[policy]` table gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Globs of secret files relative to the repository root (`*` within a name, `**` across
    /// directories); empty turns the secrets policy off.
    pub secrets: Vec<String>,
    /// Attribute path, in a host's configuration, of the declared secrets by name.
    pub secrets_declared: Vec<String>,
    /// Attribute of a declared secret holding its file, relative to the repository root.
    pub secrets_file: String,
    /// Whether the backups policy runs.
    pub backups: bool,
    /// Attribute path, in a host's configuration, of its services (systemd units) by name.
    pub backups_services: Vec<String>,
    /// Attribute paths, inside a service, of lists of directories it writes.
    pub backups_state_paths: Vec<Vec<String>>,
    /// Attribute path, inside a service, of its `StateDirectory=` (names below `/var/lib`).
    pub backups_state_directory: Vec<String>,
    /// Directories whose contents are state: a written path below one is stateful.
    pub backups_state_prefixes: Vec<String>,
    /// Attribute path, in a host's configuration, of the declared backups by name.
    pub backups_declared: Vec<String>,
    /// Attribute of a declared backup listing the paths it archives.
    pub backups_paths: String,
    /// Attribute of a declared backup saying whether it runs.
    pub backups_enable: String,
    /// Attribute of a declared backup giving the reason it does not run.
    pub backups_opt_out_reason: String,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        let path = |text: &str| text.split('.').map(str::to_string).collect::<Vec<_>>();
        PolicyConfig {
            secrets: vec!["secrets/**".into()],
            secrets_declared: path("age.secrets"),
            secrets_file: "file".into(),
            backups: true,
            backups_services: path("systemd.services"),
            backups_state_paths: vec![path("hardening.readWritePaths")],
            backups_state_directory: path("serviceConfig.StateDirectory"),
            backups_state_prefixes: vec!["/var/lib".into(), "/var/spool".into()],
            backups_declared: path("backup.services"),
            backups_paths: "paths".into(),
            backups_enable: "enable".into(),
            backups_opt_out_reason: "optOutReason".into(),
        }
    }
}

impl PolicyConfig {
    /// Reads a `[policy]` table: missing keys keep their defaults, an unknown key or a value
    /// of the wrong type is an error naming the key.
    pub fn from_table(table: &toml::Table) -> Result<PolicyConfig, PolicyConfigError> {
        let mut config = PolicyConfig::default();
        for (key, value) in table {
            let error = |problem: &str| PolicyConfigError { key: key.clone(), problem: problem.to_string() };
            let string = || value.as_str().map(str::to_string).ok_or_else(|| error("expected a string"));
            let attr_path = || {
                let text = string()?;
                nxe_evaluator::split_attr_path(&text).map_err(|e| error(&format!("not an attribute path: {e}")))
            };
            let strings = || -> Result<Vec<String>, PolicyConfigError> {
                let items = value.as_array().ok_or_else(|| error("expected an array of strings"))?;
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_string).ok_or_else(|| error("expected an array of strings")))
                    .collect()
            };
            match key.as_str() {
                "secrets" => {
                    config.secrets = strings()?;
                    for pattern in &config.secrets {
                        glob::Pattern::new(pattern).map_err(|e| error(&format!("bad glob '{pattern}': {e}")))?;
                    }
                }
                "secrets-declared" => config.secrets_declared = attr_path()?,
                "secrets-file" => config.secrets_file = string()?,
                "backups" => config.backups = value.as_bool().ok_or_else(|| error("expected true or false"))?,
                "backups-services" => config.backups_services = attr_path()?,
                "backups-state-paths" => {
                    config.backups_state_paths = strings()?
                        .iter()
                        .map(|text| {
                            nxe_evaluator::split_attr_path(text)
                                .map_err(|e| error(&format!("not an attribute path: {e}")))
                        })
                        .collect::<Result<_, _>>()?
                }
                "backups-state-directory" => config.backups_state_directory = attr_path()?,
                "backups-state-prefixes" => {
                    config.backups_state_prefixes =
                        strings()?.into_iter().map(|p| p.trim_end_matches('/').to_string()).collect()
                }
                "backups-declared" => config.backups_declared = attr_path()?,
                "backups-paths" => config.backups_paths = string()?,
                "backups-enable" => config.backups_enable = string()?,
                "backups-opt-out-reason" => config.backups_opt_out_reason = string()?,
                _ => return Err(error("unknown key")),
            }
        }
        Ok(config)
    }
}

/// Which policy a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    /// Secrets stay out of the store.
    Secrets,
    /// Stateful services are backed up.
    Backups,
}

impl PolicyKind {
    /// `secrets` or `backups`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Secrets => "secrets",
            PolicyKind::Backups => "backups",
        }
    }
}

/// One breach of a policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The policy.
    pub policy: PolicyKind,
    /// The host, `None` for a store object no host's system carries.
    pub host: Option<String>,
    /// What leaked or lacks a backup: the secret file (relative to the repository root) or
    /// the service's name.
    pub subject: String,
    /// Where it came from: the store path of the copied secret and the derivations or text
    /// files referring to it, the derivation (and variable) or text file holding a secret
    /// string, or the option path of the service's state or backup.
    pub origin: String,
    /// The store path holding the secret, when there is one.
    pub store_path: Option<String>,
    /// One line for humans, naming all of the above.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a policy gave for one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The policy is turned off.
    Disabled,
    /// It ran: no violation means a pass.
    Checked(Vec<Violation>),
    /// The host could not be checked (its system or configuration does not evaluate): the
    /// error in short. That failure is the option validation's to report.
    Error(String),
}

impl Outcome {
    /// The violations found, none when the policy did not run.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Outcome::Checked(violations) => violations,
            _ => &[],
        }
    }
}

/// Both policies' outcomes for one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPolicies {
    /// The host.
    pub host: String,
    /// The secrets policy.
    pub secrets: Outcome,
    /// The backups policy.
    pub backups: Outcome,
}

/// The policies of one repository, ready to check hosts. Files found secret and the
/// contents of secret files are remembered between hosts.
pub struct Policies {
    config: PolicyConfig,
    globs: Vec<glob::Pattern>,
    /// The repository's root on disk.
    repo_root: PathBuf,
    /// The root as the evaluation names it (the same directory for a plain repository).
    source_root: String,
    /// Secret files (relative paths) inside each copied source, by source path and what its
    /// filter excluded.
    sources: BTreeMap<(String, BTreeSet<String>), Vec<String>>,
    /// Trimmed contents of secret files, by relative path (`None`: unreadable or too short).
    contents: BTreeMap<String, Option<String>>,
}

/// Contents shorter than this are not searched for: they would match by chance.
const MIN_SECRET_LEN: usize = 8;

impl Policies {
    /// The policies of the repository at `repo_root`.
    pub fn new(config: PolicyConfig, repo_root: &Path) -> Result<Policies, PolicyConfigError> {
        let globs = config
            .secrets
            .iter()
            .map(|pattern| {
                glob::Pattern::new(pattern).map_err(|e| PolicyConfigError {
                    key: "secrets".into(),
                    problem: format!("bad glob '{pattern}': {e}"),
                })
            })
            .collect::<Result<_, _>>()?;
        let source_root = repo_root.display().to_string().trim_end_matches('/').to_string();
        Ok(Policies {
            config,
            globs,
            repo_root: repo_root.to_path_buf(),
            source_root,
            sources: BTreeMap::new(),
            contents: BTreeMap::new(),
        })
    }

    /// Sets the root as the evaluation names its files, when that is not the directory on
    /// disk (a flake evaluated at its store path).
    pub fn with_source_root(mut self, source_root: &str) -> Policies {
        self.source_root = source_root.trim_end_matches('/').to_string();
        self
    }

    /// The settings.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Checks one host (its value, as `hosts.<name>`): the secrets policy on the closure of
    /// its system, the backups policy on its configuration.
    pub fn check_host(
        &mut self,
        evaluation: &mut Evaluation,
        host: &str,
        host_value: &Value,
        layout: &HostLayout,
    ) -> HostPolicies {
        let secrets = if self.globs.is_empty() {
            Outcome::Disabled
        } else {
            match self.secrets(evaluation, host, host_value, layout) {
                Ok(violations) => Outcome::Checked(violations),
                Err(error) => Outcome::Error(diagnostics::summary(&error)),
            }
        };
        let backups = if !self.config.backups {
            Outcome::Disabled
        } else {
            match select(evaluation, host_value, &layout.config)
                .and_then(|config| self.backups(evaluation, host, &config))
            {
                Ok(violations) => Outcome::Checked(violations),
                Err(error) => Outcome::Error(diagnostics::summary(&error)),
            }
        };
        HostPolicies { host: host.to_string(), secrets, backups }
    }

    /// Every store object the evaluation added so far that holds a secret file, with the
    /// derivations referring to it, for objects outside every host's system (`host` is
    /// `None`); objects already in `reported` (by store path and file) are left out.
    pub fn check_store(&mut self, evaluation: &mut Evaluation, reported: &[Violation]) -> Vec<Violation> {
        let writes = evaluation.evaluator().store_writes();
        let added: Vec<(String, AddedPath)> =
            writes.paths.iter().map(|(path, added)| (path.clone(), added.clone())).collect();
        let drvs: Vec<(String, BTreeSet<String>)> =
            writes.derivations.iter().map(|(path, drv)| (path.clone(), drv.input_srcs.clone())).collect();
        let mut out = Vec::new();
        for (store_path, added) in &added {
            for file in self.secret_files_in(added) {
                let known = reported.iter().any(|v| v.store_path.as_deref() == Some(store_path) && v.subject == file);
                if known {
                    continue;
                }
                let carriers: Vec<String> =
                    drvs.iter().filter(|(_, srcs)| srcs.contains(store_path)).map(|(path, _)| path.clone()).collect();
                out.push(secret_in_store(None, &file, store_path, &carriers));
            }
        }
        out
    }

    /// The secrets policy for one host.
    fn secrets(
        &mut self,
        evaluation: &mut Evaluation,
        host: &str,
        host_value: &Value,
        layout: &HostLayout,
    ) -> EvalResult<Vec<Violation>> {
        let toplevel = select(evaluation, host_value, &layout.toplevel)?;
        let drv_path = drv_path_of(evaluation, &toplevel)?;
        let config = select(evaluation, host_value, &layout.config)?;
        let secrets: Vec<(String, String, String)> = self
            .declared_secrets(evaluation, &config)?
            .into_iter()
            .filter_map(|(name, file)| self.secret_contents(&file).map(|contents| (name, file, contents)))
            .collect();
        let Some(closure) = Closure::of(evaluation.evaluator().store_writes(), &drv_path) else {
            return Err(EvalError::msg(format!(
                "the derivation {drv_path} is not among the evaluation's derivations (were they taken away?)"
            )));
        };
        let mut violations = Vec::new();
        // Secret files copied into the store, alone or in a directory.
        for (store_path, added) in &closure.sources {
            for file in self.secret_files_in(added) {
                violations.push(secret_in_store(Some(host), &file, store_path, &closure.referrers(store_path)));
            }
        }
        // Secret strings in derivations and text files.
        for (name, file, secret) in &secrets {
            for (drv_path, drv) in &closure.derivations {
                let mut places: Vec<String> = drv
                    .env
                    .iter()
                    .filter(|(_, value)| value.contains(secret.as_str()))
                    .map(|(var, _)| format!("variable {var}"))
                    .collect();
                if drv.args.iter().any(|arg| arg.contains(secret.as_str())) {
                    places.push("builder arguments".into());
                }
                if !places.is_empty() {
                    violations.push(secret_string(host, name, file, drv_path, &places.join(", ")));
                }
            }
            for (store_path, added) in &closure.sources {
                if let AddedPath::Text { contents, .. } = added {
                    if contents.contains(secret.as_str()) {
                        violations.push(secret_string(host, name, file, store_path, "text file"));
                    }
                }
            }
        }
        violations.sort();
        violations.dedup();
        Ok(violations)
    }

    /// The secrets a configuration declares: (name, file relative to the root).
    fn declared_secrets(&mut self, evaluation: &mut Evaluation, config: &Value) -> EvalResult<Vec<(String, String)>> {
        let Some(declared) = optional(evaluation, config, &self.config.secrets_declared)? else {
            return Ok(Vec::new());
        };
        let Value::Attrs(declared) = declared else { return Ok(Vec::new()) };
        let file_attr = vec![self.config.secrets_file.clone()];
        let mut out = Vec::new();
        for attr in declared.iter() {
            let secret = evaluation.evaluator().force(&attr.value)?;
            let Some(file) = optional(evaluation, &secret, &file_attr)? else { continue };
            let text = nxe_evaluator::ops::coerce_to_string(
                evaluation.evaluator(),
                &file,
                nxe_evaluator::ops::Coerce::Interpolation,
            )?;
            out.push((
                attr.name.as_str().to_string(),
                self.relative(text.as_str()).unwrap_or_else(|| text.as_str().to_string()),
            ));
        }
        Ok(out)
    }

    /// A secret file's contents, trimmed, when readable as text and long enough to search.
    fn secret_contents(&mut self, file: &str) -> Option<String> {
        if let Some(known) = self.contents.get(file) {
            return known.clone();
        }
        let text = std::fs::read(self.repo_root.join(file))
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|text| text.trim().to_string())
            .filter(|text| text.len() >= MIN_SECRET_LEN);
        self.contents.insert(file.to_string(), text.clone());
        text
    }

    /// The secret files (relative paths, sorted) a store object holds.
    fn secret_files_in(&mut self, added: &AddedPath) -> Vec<String> {
        let AddedPath::Source { source, recursive, excluded } = added else { return Vec::new() };
        let key = (source.clone(), excluded.clone());
        if let Some(known) = self.sources.get(&key) {
            return known.clone();
        }
        let mut found = Vec::new();
        if let Some(relative) = self.relative(source) {
            let disk = if relative.is_empty() { self.repo_root.clone() } else { self.repo_root.join(&relative) };
            if *recursive && disk.is_dir() {
                self.walk_source(&disk, source, &relative, excluded, &mut found, 0);
            } else if self.is_secret(&relative) {
                found.push(relative);
            }
        }
        found.sort();
        self.sources.insert(key, found.clone());
        found
    }

    /// Walks a copied directory (`disk` on disk, `source` as the evaluation names it),
    /// skipping what the filter excluded, collecting the secret files.
    fn walk_source(
        &self,
        disk: &Path,
        source: &str,
        relative: &str,
        excluded: &BTreeSet<String>,
        found: &mut Vec<String>,
        depth: usize,
    ) {
        let Ok(entries) = std::fs::read_dir(disk) else { return };
        if depth > 256 {
            return;
        }
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_source = format!("{source}/{name}");
            if excluded.contains(&child_source) {
                continue;
            }
            let child_relative = if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                self.walk_source(&entry.path(), &child_source, &child_relative, excluded, found, depth + 1);
            } else if self.is_secret(&child_relative) {
                found.push(child_relative);
            }
        }
    }

    /// Whether a path relative to the root matches a secrets glob.
    fn is_secret(&self, relative: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.globs.iter().any(|pattern| pattern.matches_with(relative, options))
    }

    /// A path of the evaluation relative to the repository root (`""` for the root itself),
    /// or `None` outside it; a relative path is taken as relative to the root already.
    fn relative(&self, path: &str) -> Option<String> {
        if !path.starts_with('/') {
            return Some(path.trim_start_matches("./").to_string());
        }
        if path == self.source_root {
            return Some(String::new());
        }
        path.strip_prefix(&self.source_root)?.strip_prefix('/').map(str::to_string)
    }

    /// The backups policy for one host's configuration.
    fn backups(&mut self, evaluation: &mut Evaluation, host: &str, config: &Value) -> EvalResult<Vec<Violation>> {
        let backups = self.declared_backups(evaluation, config)?;
        let mut violations = Vec::new();
        for backup in &backups {
            if !backup.enabled && backup.reason.trim().is_empty() {
                let option = format!(
                    "{}.{}",
                    join(&[self.config.backups_declared.as_slice(), std::slice::from_ref(&backup.name)].concat()),
                    self.config.backups_opt_out_reason
                );
                violations.push(Violation {
                    policy: PolicyKind::Backups,
                    host: Some(host.to_string()),
                    subject: backup.name.clone(),
                    message: format!(
                        "{host}: the backup of '{}' is turned off without a reason ({option} is empty)",
                        backup.name
                    ),
                    origin: option,
                    store_path: None,
                });
            }
        }
        for service in self.stateful_services(evaluation, config)? {
            let uncovered: Vec<&(String, String)> = service
                .state
                .iter()
                .filter(|(path, _)| !backups.iter().any(|backup| backup.paths.iter().any(|b| overlaps(b, path))))
                .collect();
            if uncovered.is_empty() {
                continue;
            }
            let paths: Vec<&str> = uncovered.iter().map(|(path, _)| path.as_str()).collect();
            let options: BTreeSet<&str> = uncovered.iter().map(|(_, option)| option.as_str()).collect();
            let options: Vec<&str> = options.into_iter().collect();
            violations.push(Violation {
                policy: PolicyKind::Backups,
                host: Some(host.to_string()),
                subject: service.name.clone(),
                message: format!(
                    "{host}: service '{}' keeps state in {} ({}) but no backup covers it: declare one in {}, or opt it out there with a reason",
                    service.name,
                    paths.join(", "),
                    options.join(", "),
                    join(&self.config.backups_declared)
                ),
                origin: options.join(", "),
                store_path: None,
            });
        }
        Ok(violations)
    }

    /// The declared backups of a configuration.
    fn declared_backups(&mut self, evaluation: &mut Evaluation, config: &Value) -> EvalResult<Vec<Backup>> {
        let Some(Value::Attrs(declared)) = optional(evaluation, config, &self.config.backups_declared)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for attr in declared.iter() {
            let backup = evaluation.evaluator().force(&attr.value)?;
            let paths = strings_at(evaluation, &backup, std::slice::from_ref(&self.config.backups_paths))?;
            let enabled = match optional(evaluation, &backup, std::slice::from_ref(&self.config.backups_enable))? {
                Some(Value::Bool(enabled)) => enabled,
                _ => true,
            };
            let reason =
                strings_at(evaluation, &backup, std::slice::from_ref(&self.config.backups_opt_out_reason))?.join(" ");
            out.push(Backup { name: attr.name.as_str().to_string(), paths, enabled, reason });
        }
        Ok(out)
    }

    /// The enabled services of a configuration that keep state, with their state paths.
    fn stateful_services(&mut self, evaluation: &mut Evaluation, config: &Value) -> EvalResult<Vec<Service>> {
        let Some(Value::Attrs(services)) = optional(evaluation, config, &self.config.backups_services)? else {
            return Ok(Vec::new());
        };
        let enable = Symbol::intern("enable");
        let mut out = Vec::new();
        for attr in services.iter() {
            let service = evaluation.evaluator().force(&attr.value)?;
            if let Value::Attrs(fields) = &service {
                if let Some(flag) = fields.get(enable).cloned() {
                    if let Value::Bool(false) = evaluation.evaluator().force(&flag)? {
                        continue;
                    }
                }
            }
            let name = attr.name.as_str().to_string();
            let unit_path = [self.config.backups_services.as_slice(), std::slice::from_ref(&name)].concat();
            let mut state = Vec::new();
            for list_path in self.config.backups_state_paths.clone() {
                let option = join(&[unit_path.as_slice(), &list_path].concat());
                for path in strings_at(evaluation, &service, &list_path)? {
                    if self.is_state(&path) {
                        state.push((path.trim_end_matches('/').to_string(), option.clone()));
                    }
                }
            }
            let directory_path = self.config.backups_state_directory.clone();
            if !directory_path.is_empty() {
                let option = join(&[unit_path.as_slice(), &directory_path].concat());
                for names in strings_at(evaluation, &service, &directory_path)? {
                    for directory in names.split_whitespace() {
                        state.push((format!("/var/lib/{}", directory.trim_matches('/')), option.clone()));
                    }
                }
            }
            if !state.is_empty() {
                out.push(Service { name, state });
            }
        }
        Ok(out)
    }

    /// Whether a written path is state: below (or at) a state prefix.
    fn is_state(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        self.config.backups_state_prefixes.iter().any(|prefix| path == prefix || is_below(path, prefix))
    }
}

/// A declared backup.
struct Backup {
    name: String,
    paths: Vec<String>,
    enabled: bool,
    reason: String,
}

/// A stateful service: its name and its state paths, each with the option declaring it.
struct Service {
    name: String,
    state: Vec<(String, String)>,
}

/// Whether `path` is strictly below `dir`.
fn is_below(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a backed-up path and a state path overlap: one contains the other (a backup of
/// `/var/lib/db/16` covers the state directory `/var/lib/db`, whose rest is not data).
fn overlaps(backup: &str, state: &str) -> bool {
    let backup = backup.trim_end_matches('/');
    backup == state || is_below(state, backup) || is_below(backup, state)
}

fn join(path: &[String]) -> String {
    nxe_engine::config::join_attr_path(path)
}

/// The value at `path` below `value`, `None` when an attribute on the way is missing or not
/// a set (an option the repository does not have).
fn optional(evaluation: &mut Evaluation, value: &Value, path: &[String]) -> EvalResult<Option<Value>> {
    let ev = evaluation.evaluator();
    let mut current = ev.force(value)?;
    for name in path {
        let Value::Attrs(attrs) = &current else { return Ok(None) };
        let Some(found) = attrs.get(Symbol::intern(name)).cloned() else { return Ok(None) };
        current = ev.force(&found)?;
    }
    Ok(Some(current))
}

/// The strings at `path`: a list of strings, one string, or nothing (missing, `null`).
fn strings_at(evaluation: &mut Evaluation, value: &Value, path: &[String]) -> EvalResult<Vec<String>> {
    let Some(found) = optional(evaluation, value, path)? else { return Ok(Vec::new()) };
    let ev = evaluation.evaluator();
    let coerce = |ev: &mut nxe_evaluator::Evaluator, item: &Value| -> EvalResult<String> {
        let text = nxe_evaluator::ops::coerce_to_string(ev, item, nxe_evaluator::ops::Coerce::Interpolation)?;
        Ok(text.as_str().to_string())
    };
    match &found {
        Value::Null => Ok(Vec::new()),
        Value::List(items) => items.iter().map(|item| coerce(ev, item)).collect(),
        other => Ok(vec![coerce(ev, other)?]),
    }
}

/// The `.drv` path of a derivation value.
fn drv_path_of(evaluation: &mut Evaluation, value: &Value) -> EvalResult<String> {
    let ev = evaluation.evaluator();
    let forced = ev.force(value)?;
    let Value::Attrs(attrs) = &forced else {
        return Err(EvalError::msg(format!(
            "the system is {} while a derivation was expected",
            forced.type_with_article()
        )));
    };
    let Some(drv_path) = attrs.get(Symbol::intern("drvPath")).cloned() else {
        return Err(EvalError::msg("the system is not a derivation (it has no drvPath)"));
    };
    Ok(nxe_evaluator::builtins::force_string(ev, &drv_path)?.as_str().to_string())
}

/// The derivations and other store objects a derivation needs, transitively: what a host
/// deploys.
struct Closure<'a> {
    derivations: BTreeMap<&'a str, &'a nxe_store::Derivation>,
    /// Store objects the evaluation added (sources, text files) among the inputs.
    sources: BTreeMap<&'a str, &'a AddedPath>,
}

impl<'a> Closure<'a> {
    /// The closure of `root`, `None` when the evaluation has no such derivation.
    fn of(writes: &'a StoreWrites, root: &str) -> Option<Closure<'a>> {
        let mut derivations = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let (root, _) = writes.derivations.get_key_value(root)?;
        let mut todo: Vec<&str> = vec![root.as_str()];
        while let Some(drv_path) = todo.pop() {
            let Some((drv_path, drv)) = writes.derivations.get_key_value(drv_path) else { continue };
            if derivations.insert(drv_path.as_str(), drv).is_some() {
                continue;
            }
            todo.extend(drv.input_drvs.keys().map(String::as_str).filter(|input| !derivations.contains_key(input)));
            let mut source_todo: Vec<&str> = drv.input_srcs.iter().map(String::as_str).collect();
            while let Some(source) = source_todo.pop() {
                if sources.contains_key(source) {
                    continue;
                }
                if let Some((path, added)) = writes.paths.get_key_value(source) {
                    // A text file's references are in the closure too.
                    if let AddedPath::Text { references, .. } = added {
                        source_todo.extend(references.iter().map(String::as_str));
                    }
                    sources.insert(path.as_str(), added);
                } else if writes.derivations.contains_key(source) {
                    todo.push(source);
                }
            }
        }
        Some(Closure { derivations, sources })
    }

    /// The derivations and text files of the closure that refer to a store path, sorted.
    fn referrers(&self, store_path: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .derivations
            .iter()
            .filter(|(_, drv)| drv.input_srcs.contains(store_path))
            .map(|(path, _)| path.to_string())
            .collect();
        out.extend(self.sources.iter().filter_map(|(path, added)| match added {
            AddedPath::Text { references, .. } if references.contains(store_path) => Some(path.to_string()),
            _ => None,
        }));
        out.sort();
        out
    }
}

fn secret_in_store(host: Option<&str>, file: &str, store_path: &str, carriers: &[String]) -> Violation {
    let carried = if carriers.is_empty() { String::new() } else { format!(", referred to by {}", carriers.join(", ")) };
    let whose = host.map_or(String::new(), |host| format!("{host}: "));
    Violation {
        policy: PolicyKind::Secrets,
        host: host.map(str::to_string),
        subject: file.to_string(),
        origin: format!("{store_path}{carried}"),
        store_path: Some(store_path.to_string()),
        message: format!("{whose}the secret file {file} is in the store as {store_path}{carried}"),
    }
}

fn secret_string(host: &str, name: &str, file: &str, carrier: &str, place: &str) -> Violation {
    Violation {
        policy: PolicyKind::Secrets,
        host: Some(host.to_string()),
        subject: file.to_string(),
        origin: format!("{carrier} ({place})"),
        store_path: None,
        message: format!("{host}: the contents of secret '{name}' ({file}) are in {carrier} ({place})"),
    }
}
