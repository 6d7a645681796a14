//! Option validation on the example fleet: the unchanged fleet has one warning and nothing
//! else; each edit of a copy (a failing assertion, a definition of the wrong type, a host
//! that does not evaluate) is reported once, on the right host, at the right place.

use nxe_engine::fleet::settings_for;
use nxe_engine::{Overrides, Repo};
use nxe_evaluator::symbol::Symbol;
use nxe_evaluator::{run_with_big_stack, Evaluation, Source, Value};
use nxe_testrunner::options::{self, Finding, FindingKind, HostLayout};
use std::path::PathBuf;

mod common;
use common::{copy_fleet, edit, fleet_dir};

/// Validates every host of the fleet at `root`, in name order.
fn check_fleet(root: PathBuf) -> Vec<Finding> {
    run_with_big_stack(move || {
        let repo = Repo::open(&root, &Overrides::default()).expect("repository");
        let mut evaluation = Evaluation::new(settings_for(&repo, None));
        let value = evaluation.load(&Source::File(repo.entry.display().to_string())).expect("root value");
        let hosts = options::select(&mut evaluation, &value, &repo.hosts_attr).expect("hosts");
        let Value::Attrs(hosts) = hosts else { panic!("the hosts are a set") };
        let layout = HostLayout::of(&repo);
        let mut findings = Vec::new();
        for name in hosts.iter().map(|attr| attr.name.as_str().to_string()).collect::<Vec<_>>() {
            let host = hosts.get(Symbol::intern(&name)).cloned().unwrap_or(Value::Null);
            findings.extend(options::check_host(&mut evaluation, &name, &host, &layout));
        }
        findings
    })
}

/// The findings other than the fleet's one warning.
fn news(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| !(f.host == "bastion-02" && f.kind == FindingKind::Warning)).collect()
}

#[test]
fn the_unchanged_fleet_has_only_bastion_02s_warning() {
    let findings = check_fleet(fleet_dir());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let warning = &findings[0];
    assert_eq!((warning.host.as_str(), warning.kind), ("bastion-02", FindingKind::Warning));
    assert_eq!(warning.message, "bastion-02: services.ssh.passwordAuthentication is on; keys are safer");
    assert!(!warning.kind.is_failure());
}

#[test]
fn a_failing_assertion_is_reported_once_at_its_declaration() {
    let dir = copy_fleet();
    // web-03 asks for a secret that is not encrypted to the web role.
    edit(
        dir.path(),
        "hosts/web-03.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  age.secrets.db-replication-password = { };",
    );
    let findings = check_fleet(dir.path().to_path_buf());
    let news = news(&findings);
    assert_eq!(news.len(), 1, "{news:#?}");
    let finding = news[0];
    assert_eq!((finding.host.as_str(), finding.kind), ("web-03", FindingKind::Assertion));
    assert_eq!(
        finding.message,
        "secret `db-replication-password': secrets/db-replication-password.age is not encrypted to the web role (secrets/recipients.nix)"
    );
    let position = finding.position.as_ref().map(ToString::to_string).unwrap_or_default();
    assert_eq!(position, format!("{}/modules/secrets.nix:100:9", dir.path().display()));
}

#[test]
fn a_definition_of_the_wrong_type_is_reported_once_at_the_definition() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/web-01.nix",
        "imports = [ ../roles/web.nix ];",
        "imports = [ ../roles/web.nix ];\n  services.web.port = \"80\";",
    );
    let findings = check_fleet(dir.path().to_path_buf());
    let news = news(&findings);
    assert_eq!(news.len(), 1, "{news:#?}");
    let finding = news[0];
    assert_eq!((finding.host.as_str(), finding.kind), ("web-01", FindingKind::OptionDefinition));
    assert_eq!(finding.option.as_deref(), Some("services.web.port"));
    assert!(
        finding
            .message
            .starts_with("A definition for option `services.web.port' is not of type `16 bit unsigned integer"),
        "{}",
        finding.message
    );
    let position = finding.position.as_ref().map(ToString::to_string).unwrap_or_default();
    assert_eq!(position, format!("{}/hosts/web-01.nix:5:3", dir.path().display()));
}

#[test]
fn a_nested_definition_is_found_through_interpolated_names() {
    let dir = copy_fleet();
    // The shop's virtual host of the web role (whose name is interpolated) proxies to a number.
    edit(dir.path(), "roles/web.nix", "\"/\".proxyPass = \"http://storefront\";", "\"/\".proxyPass = 8080;");
    let findings = check_fleet(dir.path().to_path_buf());
    let news = news(&findings);
    // Every web host has the role, and reports it once.
    let hosts: Vec<&str> = news.iter().map(|f| f.host.as_str()).collect();
    assert_eq!(hosts, ["web-01", "web-02", "web-03", "web-04", "web-05", "web-06", "web-07", "web-08"], "{news:#?}");
    for finding in news {
        assert_eq!(finding.kind, FindingKind::OptionDefinition, "{finding:#?}");
        let option = finding.option.as_deref().unwrap_or("");
        assert!(
            option.starts_with("services.web.virtualHosts.\"shop.") && option.ends_with(".locations.\"/\".proxyPass"),
            "{option}"
        );
        let position = finding.position.as_ref().map(ToString::to_string).unwrap_or_default();
        assert_eq!(position, format!("{}/roles/web.nix:19:11", dir.path().display()), "{}", finding.message);
    }
}

#[test]
fn a_host_that_does_not_evaluate_is_one_finding() {
    let dir = copy_fleet();
    edit(
        dir.path(),
        "hosts/worker-02.nix",
        "imports = [ ../roles/worker.nix ];",
        "imports = [ ../roles/worker.nix ];\n  services.queue-worker.concurrency = undefinedThing;",
    );
    let findings = check_fleet(dir.path().to_path_buf());
    let news = news(&findings);
    assert_eq!(news.len(), 1, "{news:#?}");
    let finding = news[0];
    assert_eq!((finding.host.as_str(), finding.kind), ("worker-02", FindingKind::Evaluation));
    assert_eq!(finding.message, "undefined variable 'undefinedThing'");
    let position = finding.position.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(position.starts_with(&format!("{}/hosts/worker-02.nix:", dir.path().display())), "{position}");
}

#[test]
fn warnings_and_failed_assertions_of_a_plain_configuration() {
    let findings = run_with_big_stack(|| {
        let mut evaluation = Evaluation::new(Default::default());
        let config = evaluation
            .load(&Source::Expression {
                text: r#"{
                  assertions = [
                    { assertion = true; message = "fine"; }
                    { assertion = 1 == 2; message = "one is not two"; }
                    { assertion = throw "broken assertion"; message = "never shown"; }
                  ];
                  warnings = [ "careful" ];
                }"#
                .into(),
                base_dir: "/".into(),
            })
            .expect("evaluates");
        options::assertions_and_warnings(&mut evaluation, "h", &config).expect("lists evaluate")
    });
    let summary: Vec<(FindingKind, &str, Option<String>)> = findings
        .iter()
        .map(|f| {
            (f.kind, f.message.as_str(), f.position.as_ref().and_then(|p| p.line_col).map(|(l, c)| format!("{l}:{c}")))
        })
        .collect();
    assert_eq!(
        summary,
        [
            (FindingKind::Assertion, "one is not two", Some("4:23".to_string())),
            (FindingKind::Evaluation, "broken assertion", Some("5:35".to_string())),
            (FindingKind::Warning, "careful", None),
        ]
    );
}

#[test]
fn locating_a_definition_follows_functions_conditions_and_config() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("module.nix");
    std::fs::write(
        &file,
        "{ config, lib, ... }:\nlet x = 1; in {\n  config = lib.mkIf true {\n    services.a = {\n      \"b.c\".port = 1;\n    };\n  };\n}\n",
    )
    .expect("write");
    let file = file.display().to_string();
    let found = |option: &str| options::locate_definition(&file, option).map(|p| p.to_string());
    assert_eq!(found("services.a.\"b.c\".port"), Some(format!("{file}:5:7")));
    // Deeper than any binding: the deepest binding on the way.
    assert_eq!(found("services.a.\"b.c\".port.extra"), Some(format!("{file}:5:7")));
    assert_eq!(found("services.a"), Some(format!("{file}:4:5")));
    assert_eq!(found("elsewhere.entirely"), None);
    assert_eq!(options::locate_definition("/nonexistent/module.nix", "a"), None);
}

#[test]
fn the_type_check_leaves_package_sets_alone() {
    let (default, everything) = run_with_big_stack(|| {
        let mut evaluation = Evaluation::new(Default::default());
        let config = evaluation
            .load(&Source::Expression {
                text: "{ nixpkgs.pkgs = { removed = throw \"an alias that was removed\"; }; ok = [ 1 ]; }".into(),
                base_dir: "/".into(),
            })
            .expect("evaluates");
        let default = options::type_check(&mut evaluation, "h", &config, &HostLayout::default().unchecked);
        let everything = options::type_check(&mut evaluation, "h", &config, &[]);
        (default.len(), everything.into_iter().map(|f| (f.option, f.message)).collect::<Vec<_>>())
    });
    assert_eq!(default, 0);
    assert_eq!(everything, [(Some("nixpkgs.pkgs.removed".to_string()), "an alias that was removed".to_string())]);
}
