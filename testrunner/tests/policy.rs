//! The built-in policies on the example fleet: the unchanged fleet breaks none; each edit of
//! a copy (a secret file imported into the store, a secret's contents in a derivation, a
//! stateful service without a backup, an opt-out without a reason) is reported once, on the
//! right host, with where it came from. Also the `[policy]` table's parsing.

use nxe_engine::fleet::settings_for;
use nxe_engine::{Overrides, Repo};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::{run_with_big_stack, Evaluation, Source, Value};
use nxe_testrunner::options::{self, Finding, HostLayout};
use nxe_testrunner::policy::{HostPolicies, Outcome, Policies, PolicyConfig, PolicyKind, Violation};
use nxe_testrunner::report::{Status, TestKind, TestRecord};
use std::path::PathBuf;

mod common;
use common::{copy_fleet, edit, fleet_dir};

/// What the policies gave on a fleet: every host's outcomes, then what the store holds
/// beyond the hosts' systems; and the option validation of every host, run first on the same
/// evaluation (as a test run does).
struct FleetPolicies {
    hosts: Vec<HostPolicies>,
    store: Vec<Violation>,
    findings: Vec<(String, Vec<Finding>)>,
}

impl FleetPolicies {
    /// Every violation of every host, then of the store.
    fn violations(&self) -> Vec<&Violation> {
        self.hosts
            .iter()
            .flat_map(|host| host.secrets.violations().iter().chain(host.backups.violations()))
            .chain(&self.store)
            .collect()
    }

    /// The option validation's and the policies' records that fail: (kind, host, name).
    fn failing_records(&self) -> Vec<(TestKind, String, String)> {
        let options = self.findings.iter().map(|(host, findings)| TestRecord::options(host, findings, 0.0));
        let policies = self.hosts.iter().flat_map(|h| {
            [
                TestRecord::policy(&h.host, PolicyKind::Secrets, &h.secrets, 0.0),
                TestRecord::policy(&h.host, PolicyKind::Backups, &h.backups, 0.0),
            ]
        });
        options
            .chain(policies)
            .filter(|record| record.status == Status::Fail)
            .map(|record| (record.kind, record.host.unwrap_or_default(), record.name))
            .collect()
    }
}

/// One failing record.
fn failing(kind: TestKind, host: &str, name: &str) -> Vec<(TestKind, String, String)> {
    vec![(kind, host.to_string(), name.to_string())]
}

/// Checks every host of the fleet at `root` with `[policy]` settings given as TOML.
fn check_fleet(root: PathBuf, policy: &str) -> FleetPolicies {
    let table: toml::Table = toml::from_str(policy).expect("a TOML table");
    run_with_big_stack(move || {
        let repo = Repo::open(&root, &Overrides::default()).expect("repository");
        let config = PolicyConfig::from_table(&table).expect("valid [policy]");
        let mut policies = Policies::new(config, &repo.root).expect("policies");
        let mut evaluation = Evaluation::new(settings_for(&repo, None));
        let value = evaluation.load(&Source::File(repo.entry.display().to_string())).expect("root value");
        let hosts = options::select(&mut evaluation, &value, &repo.hosts_attr).expect("hosts");
        let Value::Attrs(hosts) = hosts else { panic!("the hosts are a set") };
        let layout = HostLayout::of(&repo);
        let mut outcomes = Vec::new();
        let mut findings = Vec::new();
        for name in hosts.iter().map(|attr| attr.name.as_str().to_string()).collect::<Vec<_>>() {
            let host = hosts.get(Symbol::intern(&name)).cloned().unwrap_or(Value::Null);
            findings.push((name.clone(), options::check_host(&mut evaluation, &name, &host, &layout)));
            outcomes.push(policies.check_host(&mut evaluation, &name, &host, &layout));
        }
        let reported: Vec<Violation> = outcomes
            .iter()
            .flat_map(|o| o.secrets.violations().iter().chain(o.backups.violations()))
            .cloned()
            .collect();
        let store = policies.check_store(&mut evaluation, &reported);
        FleetPolicies { hosts: outcomes, store, findings }
    })
}

/// Both default secrets globs and the one for secrets folders anywhere.
const EVERY_SECRETS_FOLDER: &str = "secrets = [\"secrets/**\", \"**/secrets/**\"]";

#[test]
fn the_unchanged_fleet_breaks_no_policy() {
    for policy in ["", EVERY_SECRETS_FOLDER] {
        let result = check_fleet(fleet_dir(), policy);
        assert_eq!(result.hosts.len(), 25);
        for host in &result.hosts {
            assert_eq!(host.secrets, Outcome::Checked(Vec::new()), "{}", host.host);
            assert_eq!(host.backups, Outcome::Checked(Vec::new()), "{}", host.host);
        }
        assert_eq!(result.store, Vec::new(), "with [policy] {policy}");
        assert_eq!(result.failing_records(), Vec::new());
    }
}

#[test]
fn a_secret_file_imported_into_the_store_is_reported_once() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/web-05.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  environment.etc.\"tls-debug.age\".source = ../secrets/tls-shop-staging.age;",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    let violations = result.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let violation = violations[0];
    assert_eq!(violation.policy, PolicyKind::Secrets);
    assert_eq!(violation.host.as_deref(), Some("web-05"));
    assert_eq!(violation.subject, "secrets/tls-shop-staging.age");
    let store_path = violation.store_path.as_deref().unwrap_or("");
    // The store path the reference Nix gives the file.
    assert_eq!(store_path, "/nix/store/1447aq69w9xhqgh8r2axmabdm9j6i51m-tls-shop-staging.age");
    assert!(violation.origin.contains("-etc-web-05.drv"), "the derivation carrying it: {}", violation.origin);
    assert!(violation
        .message
        .starts_with("web-05: the secret file secrets/tls-shop-staging.age is in the store as /nix/store/"));
    assert_eq!(result.failing_records(), failing(TestKind::Policy, "web-05", "secrets"));
}

#[test]
fn the_debug_switch_puts_every_secret_of_its_host_in_the_store() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/db-03.nix",
        "imports = [ ../roles/database.nix ];",
        "imports = [ ../roles/database.nix ];\n  age.debugCopyToStore = true;",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    let violations = result.violations();
    assert!(
        violations.iter().all(|v| v.host.as_deref() == Some("db-03") && v.policy == PolicyKind::Secrets),
        "{violations:#?}"
    );
    let files: Vec<&str> = violations.iter().map(|v| v.subject.as_str()).collect();
    assert_eq!(
        files,
        ["secrets/backup-repo-key.age", "secrets/db-replication-password.age", "secrets/db-storefront-password.age"]
    );
    assert_eq!(result.failing_records(), failing(TestKind::Policy, "db-03", "secrets"));
}

#[test]
fn a_directory_copied_whole_with_a_secrets_folder_is_reported_for_every_host() {
    let dir = copy_fleet();
    // The backup tools' source without the filter that keeps its secrets/ folder out.
    edit(
        dir.path(),
        "pkgs/backup-tools/default.nix",
        "filter = path: type: !(type == \"directory\" && baseNameOf path == \"secrets\");",
        "",
    );
    // With the default glob (the root's secrets/ folder only), that folder is not secret.
    assert_eq!(check_fleet(dir.path().to_path_buf(), "").violations().len(), 0);
    let result = check_fleet(dir.path().to_path_buf(), EVERY_SECRETS_FOLDER);
    let violations = result.violations();
    // Every host has the backup tools, so every host's system carries the key, once.
    assert_eq!(violations.len(), 25, "{violations:#?}");
    let mut hosts: Vec<&str> = violations.iter().filter_map(|v| v.host.as_deref()).collect();
    hosts.dedup();
    assert_eq!(hosts.len(), 25);
    for violation in violations {
        assert_eq!(violation.subject, "pkgs/backup-tools/src/secrets/backup.key");
        assert!(violation.store_path.as_deref().unwrap_or("").ends_with("-backup-tools-src"), "{violation:?}");
        assert!(violation.origin.contains("-backup-tools-1.4.0.drv"), "{violation:?}");
    }
}

#[test]
fn a_secret_string_in_a_derivation_is_reported_once() {
    let dir = copy_fleet();
    // An ASCII-armoured secret, encrypted to the web role and declared by web-02, whose
    // contents (not its runtime path) end up in the storefront's unit.
    let armoured = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhcGktdG9rZW4K\n-----END AGE ENCRYPTED FILE-----\n";
    std::fs::write(dir.path().join("secrets/api-token.age"), armoured).expect("write secret");
    edit(dir.path(), "secrets/recipients.nix", "{\n", "{\n  \"secrets/api-token.age\" = [ \"web\" ];\n");
    edit(
        dir.path(),
        "hosts/web-02.nix",
        "services.storefront.workers = 12;",
        "services.storefront.workers = 12;\n  age.secrets.api-token = { };\n  systemd.services.storefront.environment.API_TOKEN = builtins.readFile ../secrets/api-token.age;",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    let violations = result.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let violation = violations[0];
    assert_eq!((violation.policy, violation.host.as_deref()), (PolicyKind::Secrets, Some("web-02")));
    assert_eq!(violation.subject, "secrets/api-token.age");
    assert!(violation.origin.ends_with("-storefront.service.drv (variable text)"), "{}", violation.origin);
    assert!(violation
        .message
        .starts_with("web-02: the contents of secret 'api-token' (secrets/api-token.age) are in /nix/store/"));
    assert_eq!(result.failing_records(), failing(TestKind::Policy, "web-02", "secrets"));
}

#[test]
fn a_stateful_service_without_backup_is_reported_once() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/bastion-01.nix",
        "imports = [ ../roles/bastion.nix ];",
        "imports = [ ../roles/bastion.nix ];\n  systemd.services.audit-log = {\n    hardening.readWritePaths = [ \"/var/lib/audit\" \"/var/log/audit\" ];\n    serviceConfig.ExecStart = \"/run/current-system/sw/bin/auditd\";\n  };",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    let violations = result.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let violation = violations[0];
    assert_eq!((violation.policy, violation.host.as_deref()), (PolicyKind::Backups, Some("bastion-01")));
    assert_eq!(violation.subject, "audit-log");
    assert_eq!(violation.origin, "systemd.services.audit-log.hardening.readWritePaths");
    assert_eq!(
        violation.message,
        "bastion-01: service 'audit-log' keeps state in /var/lib/audit (systemd.services.audit-log.hardening.readWritePaths) but no backup covers it: declare one in backup.services, or opt it out there with a reason"
    );
    assert_eq!(result.failing_records(), failing(TestKind::Policy, "bastion-01", "backups"));
}

#[test]
fn a_backup_turned_off_without_a_reason_is_reported_once() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/cache-02.nix",
        "optOutReason = \"pure LRU cache without persistence: it refills from the database\";",
        "",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    let violations = result.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let violation = violations[0];
    assert_eq!((violation.policy, violation.host.as_deref()), (PolicyKind::Backups, Some("cache-02")));
    assert_eq!(
        (violation.subject.as_str(), violation.origin.as_str()),
        ("cache", "backup.services.cache.optOutReason")
    );
    // The fleet's own assertion fails too, so the host's system does not evaluate: the
    // secrets policy cannot judge it (option validation reports the assertion).
    let cache_02 = result.hosts.iter().find(|h| h.host == "cache-02").map(|h| h.secrets.clone());
    assert!(
        matches!(cache_02, Some(Outcome::Error(message)) if message.contains("backup of `cache' is disabled without a reason"))
    );
}

#[test]
fn a_failing_assertion_is_the_option_validations_alone() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/web-03.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  age.secrets.db-replication-password = { };",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    assert_eq!(result.violations(), Vec::<&Violation>::new());
    assert_eq!(result.failing_records(), failing(TestKind::Option, "web-03", "options"));
    let web_03 = result.hosts.iter().find(|h| h.host == "web-03");
    assert!(matches!(web_03.map(|h| &h.secrets), Some(Outcome::Error(_))), "{web_03:?}");
    assert!(matches!(web_03.map(|h| &h.backups), Some(Outcome::Checked(v)) if v.is_empty()), "{web_03:?}");
}

#[test]
fn a_definition_of_the_wrong_type_is_the_option_validations_alone() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/web-01.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  services.web.port = \"80\";",
    );
    let result = check_fleet(dir.path().to_path_buf(), "");
    assert_eq!(result.violations(), Vec::<&Violation>::new());
    assert_eq!(result.failing_records(), failing(TestKind::Option, "web-01", "options"));
}

#[test]
fn policies_can_be_turned_off() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/db-03.nix",
        "imports = [ ../roles/database.nix ];",
        "imports = [ ../roles/database.nix ];\n  age.debugCopyToStore = true;",
    );
    edit(
        dir.path(),
        "hosts/bastion-01.nix",
        "imports = [ ../roles/bastion.nix ];",
        "imports = [ ../roles/bastion.nix ];\n  systemd.services.audit-log.serviceConfig.StateDirectory = \"audit\";",
    );
    let before = check_fleet(dir.path().to_path_buf(), "");
    let kinds: Vec<(PolicyKind, &str)> =
        before.violations().iter().map(|v| (v.policy, v.host.as_deref().unwrap_or(""))).collect();
    assert_eq!(
        kinds,
        [
            (PolicyKind::Backups, "bastion-01"),
            (PolicyKind::Secrets, "db-03"),
            (PolicyKind::Secrets, "db-03"),
            (PolicyKind::Secrets, "db-03")
        ]
    );
    let after = check_fleet(dir.path().to_path_buf(), "secrets = []\nbackups = false");
    assert!(after.hosts.iter().all(|h| h.secrets == Outcome::Disabled && h.backups == Outcome::Disabled));
    assert_eq!(after.store, Vec::new());
}

#[test]
fn the_policy_table_has_defaults_and_names_bad_keys() {
    let parse = |text: &str| PolicyConfig::from_table(&toml::from_str::<toml::Table>(text).expect("TOML"));
    assert_eq!(parse(""), Ok(PolicyConfig::default()));
    let config = parse(
        "secrets = [\"private/*.key\"]\nsecrets-declared = \"sops.secrets\"\nsecrets-file = \"sopsFile\"\nbackups-state-prefixes = [\"/srv/\"]\nbackups-state-paths = [\"stateDirs\", \"a.b\"]\nbackups = false",
    )
    .expect("valid");
    assert_eq!(config.secrets, ["private/*.key"]);
    assert_eq!(config.secrets_declared, ["sops", "secrets"]);
    assert_eq!(config.secrets_file, "sopsFile");
    assert_eq!(config.backups_state_prefixes, ["/srv"]);
    assert_eq!(config.backups_state_paths, [vec!["stateDirs".to_string()], vec!["a".to_string(), "b".to_string()]]);
    assert!(!config.backups);
    let error = |text: &str| parse(text).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(error("secret = []"), Err("nxe.toml: [policy] secret: unknown key".to_string()));
    assert_eq!(error("backups = \"yes\""), Err("nxe.toml: [policy] backups: expected true or false".to_string()));
    assert_eq!(
        error("secrets = \"secrets/**\""),
        Err("nxe.toml: [policy] secrets: expected an array of strings".to_string())
    );
    let bad_glob = error("secrets = [\"a/***\"]");
    assert!(
        matches!(&bad_glob, Err(message) if message.starts_with("nxe.toml: [policy] secrets: bad glob 'a/***'")),
        "{bad_glob:?}"
    );
}

#[test]
fn a_secret_only_a_check_copies_is_found_in_the_store() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "checks/default.nix",
        "guest = pkgs.busybox;",
        "guest = pkgs.busybox;\n    key = ../secrets/backup-repo-key.age;",
    );
    let root = dir.path().to_path_buf();
    let (host_violations, store) = run_with_big_stack(move || {
        let repo = Repo::open(&root, &Overrides::default()).expect("repository");
        let mut policies = Policies::new(PolicyConfig::default(), &repo.root).expect("policies");
        let mut evaluation = Evaluation::new(settings_for(&repo, None));
        let value = evaluation.load(&Source::File(repo.entry.display().to_string())).expect("root value");
        let hosts = options::select(&mut evaluation, &value, &repo.hosts_attr).expect("hosts");
        let host = options::select(&mut evaluation, &hosts, &["db-01".to_string()]).expect("db-01");
        let outcome = policies.check_host(&mut evaluation, "db-01", &host, &HostLayout::of(&repo));
        let check: Vec<String> = ["checks", "db-01", "vm-test", "drvPath"].iter().map(|s| s.to_string()).collect();
        options::select(&mut evaluation, &value, &check).expect("the check evaluates");
        let reported = outcome.secrets.violations().to_vec();
        let store = policies.check_store(&mut evaluation, &reported);
        (reported, store)
    });
    assert_eq!(host_violations, Vec::new(), "the host's system does not carry the check");
    assert_eq!(store.len(), 1, "{store:#?}");
    let violation = &store[0];
    assert_eq!((violation.host.as_deref(), violation.subject.as_str()), (None, "secrets/backup-repo-key.age"));
    assert!(violation.origin.ends_with("-vm-test-db-01.drv"), "{}", violation.origin);
    assert!(violation
        .message
        .starts_with("the secret file secrets/backup-repo-key.age is in the store as /nix/store/"));
}
