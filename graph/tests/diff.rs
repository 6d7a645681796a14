//! `diff` between two versions of a small fleet whose derivations have real
//! output paths and drvPaths, so that a change anywhere moves every store
//! path above it, as in a Nix evaluation.

mod common;

use common::Fleet;
use nxe_graph::{diff, Change, DrvGraph, FleetDiff, RootKind, RootStatus, Side};
use nxe_store::Output;

/// What differs between the fleet versions built by [`fleet`].
#[derive(Clone)]
struct Version {
    glibc_version: &'static str,
    nginx_name: &'static str,
    nginx_conf: &'static str,
    nginx_builder: &'static str,
    with_curl: bool,
    with_check: bool,
    fetch_hash: &'static str,
}

const BASE: Version = Version {
    glibc_version: "2.39",
    nginx_name: "nginx",
    nginx_conf: "listen 80;",
    nginx_builder: "make install",
    with_curl: false,
    with_check: false,
    fetch_hash: "0000000000000000000000000000000000000000000000000000000000000000",
};

/// Two hosts: web-01 (nginx, its configuration in /etc) and db-01
/// (postgresql); both build on glibc. Returns the fleet and its graph.
fn fleet(version: &Version) -> (Fleet, DrvGraph) {
    let mut fleet = Fleet::default();
    let glibc = fleet.drv("glibc", &[], &[("version", version.glibc_version)]);
    let glibc_lib = format!("{}/lib", fleet.out(&glibc));
    let tarball = fleet.drv_with("nginx-1.26.tar.gz", &[], &[], |drv| {
        drv.outputs.insert(
            "out".into(),
            Output { path: String::new(), hash_algo: "sha256".into(), hash: version.fetch_hash.into() },
        );
    });
    let script = fleet.source("builder.sh", version.nginx_builder);
    let nginx = fleet.drv_with(
        version.nginx_name,
        &[&glibc, &tarball],
        &[("NIX_LDFLAGS", &format!("-L{glibc_lib}")), ("src", &fleet.out(&tarball))],
        |drv| {
            drv.input_srcs.insert(script.clone());
            drv.args = vec!["-e".into(), script.clone()];
        },
    );
    let postgres = fleet.drv("postgresql", &[&glibc], &[("NIX_LDFLAGS", &format!("-L{glibc_lib}"))]);
    let conf = fleet.drv("nginx-conf", &[], &[("text", version.nginx_conf)]);
    let etc = fleet.drv("etc", &[&conf], &[("files", &format!("nginx.conf={}", fleet.out(&conf)))]);
    let mut web_inputs = vec![etc.clone(), nginx.clone()];
    if version.with_curl {
        web_inputs.push(fleet.drv("curl", &[&glibc], &[]));
    }
    let web_inputs: Vec<&str> = web_inputs.iter().map(String::as_str).collect();
    let web_env = format!("{} {}", fleet.out(&etc), fleet.out(&nginx));
    let web = fleet.drv("system-web-01", &web_inputs, &[("paths", &web_env)]);
    let db_env = fleet.out(&postgres);
    let db = fleet.drv("system-db-01", &[&postgres], &[("paths", &db_env)]);
    let mut roots = vec![(RootKind::Host, "web-01", web.as_str()), (RootKind::Host, "db-01", db.as_str())];
    let test = version.with_check.then(|| fleet.drv("vm-test", &[&web], &[]));
    if let Some(test) = &test {
        roots.push((RootKind::Check, "web-01.vm-test", test));
    }
    let graph = fleet.graph(&roots);
    (fleet, graph)
}

fn diff_versions(old: &Version, new: &Version) -> FleetDiff {
    diff(&fleet(old).1, &fleet(new).1)
}

/// The causes of root `name` as `(via path joined by " -> ", changes)`.
fn causes_of(diff: &FleetDiff, name: &str) -> Vec<(String, Vec<Change>)> {
    let root = diff.roots.iter().find(|root| root.name == name).expect("root");
    root.causes.iter().map(|cause| (cause.path.join(" -> "), cause.changes.clone())).collect()
}

fn status_of(diff: &FleetDiff, name: &str) -> RootStatus {
    diff.roots.iter().find(|root| root.name == name).expect("root").status
}

#[test]
fn identical_fleets_are_unchanged() {
    let diff = diff_versions(&BASE, &BASE);
    assert!(diff.roots.iter().all(|root| root.status == RootStatus::Unchanged && root.causes.is_empty()));
    assert_eq!(diff.to_string(), "host db-01: unchanged\nhost web-01: unchanged\n");
}

#[test]
fn env_change_deep_in_the_graph_is_reported_once_with_its_path() {
    let new = Version { nginx_conf: "listen 8080;", ..BASE };
    let diff = diff_versions(&BASE, &new);
    assert_eq!(status_of(&diff, "db-01"), RootStatus::Unchanged);
    assert_eq!(status_of(&diff, "web-01"), RootStatus::Changed);
    // etc and the system embed the changed output paths in their environment,
    // but that follows from the change below them: they are not causes.
    assert_eq!(
        causes_of(&diff, "web-01"),
        vec![(
            "system-web-01 -> etc -> nginx-conf".to_owned(),
            vec![Change::EnvChanged { key: "text".into(), old: "listen 80;".into(), new: "listen 8080;".into() }]
        )]
    );
    let web = diff.roots.iter().find(|root| root.name == "web-01").expect("web");
    assert_eq!(web.n_changed, 3);
    assert_eq!(
        diff.to_string(),
        "host db-01: unchanged\n\
         host web-01: changed (3 derivations differ)\n  \
         nginx-conf (via system-web-01 -> etc): env.text changed: \"listen 80;\" -> \"listen 8080;\"\n"
    );
}

#[test]
fn change_seen_only_through_store_paths_is_blamed_on_the_input() {
    // glibc's output path is embedded in NIX_LDFLAGS of nginx and postgresql,
    // and the systems embed their outputs: only glibc itself is a cause.
    let new = Version { glibc_version: "2.40", ..BASE };
    let diff = diff_versions(&BASE, &new);
    let glibc_change = vec![Change::EnvChanged { key: "version".into(), old: "2.39".into(), new: "2.40".into() }];
    assert_eq!(
        causes_of(&diff, "db-01"),
        vec![("system-db-01 -> postgresql -> glibc".to_owned(), glibc_change.clone())]
    );
    assert_eq!(causes_of(&diff, "web-01"), vec![("system-web-01 -> nginx -> glibc".to_owned(), glibc_change)]);
    assert_eq!(diff.roots.iter().map(|root| root.n_changed).collect::<Vec<_>>(), [3, 3]);
}

#[test]
fn added_and_removed_input_derivations_are_causes() {
    let new = Version { with_curl: true, ..BASE };
    let (new_fleet, _) = fleet(&new);
    let curl = new_fleet.drvs.keys().find(|path| path.ends_with("-curl.drv")).expect("curl").clone();
    let added = diff_versions(&BASE, &new);
    assert_eq!(
        causes_of(&added, "web-01"),
        vec![("system-web-01".to_owned(), vec![Change::InputDrvAdded { name: "curl".into(), path: curl.clone() }])]
    );
    let removed = diff_versions(&new, &BASE);
    assert_eq!(
        causes_of(&removed, "web-01"),
        vec![("system-web-01".to_owned(), vec![Change::InputDrvRemoved { name: "curl".into(), path: curl }])]
    );
    assert_eq!(
        removed.to_string(),
        "host db-01: unchanged\nhost web-01: changed (1 derivation differs)\n  system-web-01: input curl removed\n"
    );
}

#[test]
fn changed_input_source_is_a_cause_and_its_path_in_args_is_not() {
    let new = Version { nginx_builder: "make install PREFIX=$out", ..BASE };
    let (old_fleet, old_graph) = fleet(&BASE);
    let (new_fleet, new_graph) = fleet(&new);
    let diff = diff(&old_graph, &new_graph);
    assert_eq!(
        causes_of(&diff, "web-01"),
        vec![(
            "system-web-01 -> nginx".to_owned(),
            vec![Change::InputSrcChanged {
                name: "builder.sh".into(),
                old: old_fleet.source("builder.sh", BASE.nginx_builder),
                new: new_fleet.source("builder.sh", new.nginx_builder),
            }]
        )]
    );
    assert!(diff.to_string().contains("  nginx (via system-web-01): source builder.sh changed\n"));
}

#[test]
fn changed_fixed_output_hash_is_reported_as_an_output_change() {
    let new = Version { fetch_hash: "1111111111111111111111111111111111111111111111111111111111111111", ..BASE };
    let diff = diff_versions(&BASE, &new);
    // nginx's env.src holds the tarball's path, which follows from the hash.
    assert_eq!(
        causes_of(&diff, "web-01"),
        vec![(
            "system-web-01 -> nginx -> nginx-1.26.tar.gz".to_owned(),
            vec![Change::OutputHashChanged {
                output: "out".into(),
                old: format!("sha256:{}", BASE.fetch_hash),
                new: format!("sha256:{}", new.fetch_hash),
            }]
        )]
    );
}

#[test]
fn added_and_removed_roots() {
    let new = Version { with_check: true, ..BASE };
    let added = diff_versions(&BASE, &new);
    assert_eq!(status_of(&added, "web-01.vm-test"), RootStatus::Added);
    assert_eq!(added.to_string(), "host db-01: unchanged\nhost web-01: unchanged\ncheck web-01.vm-test: added\n");
    let removed = diff_versions(&new, &BASE);
    let check = removed.roots.iter().find(|root| root.kind == RootKind::Check).expect("check");
    assert_eq!(check.status, RootStatus::Removed);
    assert!(check.old.is_some() && check.new.is_none());
}

#[test]
fn inputs_with_the_same_name_pair_unchanged_ones_first() {
    let build = |second: &str| {
        let mut fleet = Fleet::default();
        let first = fleet.drv("patch", &[], &[("text", "one")]);
        let second = fleet.drv("patch", &[], &[("text", second)]);
        let app = fleet.drv("app", &[&first, &second], &[]);
        fleet.graph(&[(RootKind::Host, "h", &app)])
    };
    let diff = diff(&build("two"), &build("TWO"));
    assert_eq!(
        causes_of(&diff, "h"),
        vec![(
            "app -> patch".to_owned(),
            vec![Change::EnvChanged { key: "text".into(), old: "two".into(), new: "TWO".into() }]
        )]
    );
}

#[test]
fn derivation_missing_from_a_graph_cannot_be_compared() {
    let new = Version { nginx_conf: "listen 8080;", ..BASE };
    let (new_fleet, _) = fleet(&new);
    let mut partial = DrvGraph::new();
    partial.add_derivations(new_fleet.drvs.clone().into_iter().filter(|(path, _)| !path.ends_with("-nginx-conf.drv")));
    for ((kind, name), path) in fleet(&new).1.roots() {
        partial.add_root(*kind, name, path);
    }
    let diff = diff(&fleet(&BASE).1, &partial);
    assert_eq!(
        causes_of(&diff, "web-01"),
        vec![("system-web-01 -> etc -> nginx-conf".to_owned(), vec![Change::NotEvaluated { side: Side::New }])]
    );
}

#[test]
fn serialised_diff_keeps_full_values_and_human_form_cuts_them() {
    let long_old: &'static str = "a".repeat(300).leak();
    let long_new: &'static str = format!("{}b", "a".repeat(300)).leak();
    let old = Version { nginx_conf: long_old, ..BASE };
    let new = Version { nginx_conf: long_new, ..BASE };
    let diff = diff_versions(&old, &new);
    let json = serde_json::to_value(&diff).expect("json");
    let web = &json["roots"][1];
    assert_eq!(web["status"], "changed");
    assert_eq!(web["causes"][0]["path"], serde_json::json!(["system-web-01", "etc", "nginx-conf"]));
    assert_eq!(
        web["causes"][0]["changes"][0],
        serde_json::json!({"change": "envChanged", "key": "text", "old": long_old, "new": long_new})
    );
    let text = diff.to_string();
    let context = "a".repeat(40);
    assert!(text.contains(&format!(": env.text changed: …\"{context}\" -> …\"{context}b\"\n")), "{text}");
    assert!(text.len() < 400);
}

#[test]
fn version_bump_of_an_input_is_explained_inside_it() {
    let new = Version { nginx_name: "nginx-1.27", ..BASE };
    let diff = diff_versions(&BASE, &new);

    assert_eq!(
        causes_of(&diff, "web-01"),
        vec![(
            "system-web-01 -> nginx-1.27".to_owned(),
            vec![Change::EnvChanged { key: "name".into(), old: "nginx".into(), new: "nginx-1.27".into() }]
        )]
    );
}
