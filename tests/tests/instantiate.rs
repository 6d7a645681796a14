//! End-to-end runs of `nxe instantiate` on the example fleet, compared with drvPaths and
//! JSON made by the reference Nix (`fixtures/fleet/regen.sh`).

use nxe_e2e::{fixture, nxe};
use nxe_store::{
    make_fixed_output_path, make_text_path, nar_hash_path, ContentAddressMethod, Derivation, Hash, HashAlgo, StoreDir,
    StorePath,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

/// Runs `nxe instantiate ARGS...` in the workspace root.
fn instantiate(args: &[&str]) -> Output {
    match nxe().arg("instantiate").args(args).output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run nxe (build it with `cargo build -p nxe`): {error}"),
    }
}

fn stdout_of(output: &Output) -> String {
    assert!(output.status.success(), "nxe failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `ATTRPATH DRVPATH` lines, grouped by attribute path in file order.
fn expected(file: &str) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for line in fixture(file).lines() {
        let Some((attr, drv)) = line.split_once(' ') else { continue };
        match groups.last_mut() {
            Some((last, drvs)) if last == attr => drvs.push(drv.to_string()),
            _ => groups.push((attr.to_string(), vec![drv.to_string()])),
        }
    }
    assert!(!groups.is_empty(), "no expected drvPaths in fixtures/{file}");
    groups
}

/// The drvPath the reference gives for an attribute path of the fleet.
fn reference_drv(attr: &str) -> String {
    let groups = expected("fleet/expected-drvpaths.txt");
    match groups.iter().find(|(a, _)| a == attr) {
        Some((_, drvs)) => drvs.concat(),
        None => panic!("{attr} is not in fixtures/fleet/expected-drvpaths.txt"),
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[test]
fn drv_paths_match_the_reference() {
    for (attr, drvs) in expected("fleet/expected-drvpaths.txt") {
        let output = instantiate(&["fixtures/fleet", "-A", &attr]);
        let printed: Vec<String> = stdout_of(&output).lines().map(str::to_string).collect();
        assert_eq!(printed, drvs, "nxe instantiate fixtures/fleet -A {attr}");
    }
}

#[test]
fn several_attribute_paths_print_in_order() {
    let groups = expected("fleet/expected-drvpaths.txt");
    let mut args = vec!["fixtures/fleet".to_string()];
    for (attr, _) in &groups {
        args.extend(["-A".to_string(), attr.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let printed = stdout_of(&instantiate(&args));
    let wanted: Vec<String> = groups.into_iter().flat_map(|(_, drvs)| drvs).collect();
    assert_eq!(printed.lines().collect::<Vec<_>>(), wanted);
}

#[test]
fn whole_fleet_instantiates_every_check_and_toplevel() {
    // The top-level set descends into `checks` and `toplevels` (both have
    // `recurseForDerivations`), in attribute order.
    let printed = stdout_of(&instantiate(&["fixtures/fleet"]));
    let groups = expected("fleet/expected-drvpaths.txt");
    let group = |name: &str| groups.iter().filter(|(a, _)| a == name).flat_map(|(_, d)| d.clone()).collect::<Vec<_>>();
    let wanted: Vec<String> = group("checks").into_iter().chain(group("toplevels")).collect();
    assert_eq!(printed.lines().collect::<Vec<_>>(), wanted);
}

#[test]
fn store_dir_changes_the_paths_as_the_reference_does() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    let never_written = dir.path().join("store");
    for (attr, drvs) in expected("fleet/expected-drvpaths-store-dir.txt") {
        let output = instantiate(&["--store-dir", "/opt/fleet/store", "fixtures/fleet", "-A", &attr]);
        assert_eq!(stdout_of(&output).lines().collect::<Vec<_>>(), drvs, "-A {attr}");
    }
    // Without --store nothing is written, not even into the logical store directory.
    let logical = never_written.to_string_lossy().into_owned();
    let output = instantiate(&["--store-dir", &logical, "fixtures/fleet", "-A", "pkgs.busybox"]);
    assert!(stdout_of(&output).starts_with(&format!("{logical}/")));
    assert!(!never_written.exists(), "nxe wrote into {logical} without --store");
}

#[test]
fn json_is_what_nix_derivation_show_prints() {
    let output = instantiate(&["--json", "fixtures/fleet", "-A", "hosts.web-01.toplevel"]);
    let text = stdout_of(&output);
    assert_eq!(text, fixture("fleet/expected-web-01-toplevel.json"));

    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(json["version"], 4);
    let toplevel = reference_drv("hosts.web-01.toplevel");
    let Some(derivations) = json["derivations"].as_object() else { panic!("no derivations: {text}") };
    assert_eq!(derivations.keys().collect::<Vec<_>>(), vec![base_name(&toplevel)]);
    let drv = &derivations[base_name(&toplevel)];
    let Some(fields) = drv.as_object() else { panic!("not an object: {drv}") };
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(keys, ["args", "builder", "env", "inputs", "name", "outputs", "system", "version"]);
    assert_eq!(drv["name"], "fleet-system-web-01");
    assert_eq!(drv["builder"], "/bin/sh");
    assert_eq!(drv["system"], "x86_64-linux");
    assert_eq!(drv["env"]["hostName"], "web-01");
    let out_path = drv["outputs"]["out"]["path"].as_str().unwrap_or_default();
    assert!(out_path.ends_with("-fleet-system-web-01") && !out_path.contains('/'), "{out_path}");
    assert_eq!(drv["env"]["out"], format!("/nix/store/{out_path}"));

    // The shared packages are inputs, with the outputs used from each.
    let inputs = &drv["inputs"]["drvs"];
    for (attr, outputs) in [
        ("pkgs.backup-tools", vec!["man", "out"]),
        ("pkgs.monitoring-agent", vec!["out"]),
        ("pkgs.webserver", vec!["out"]),
    ] {
        let input = &inputs[base_name(&reference_drv(attr))];
        assert_eq!(input["outputs"], serde_json::json!(outputs), "{attr} in {inputs}");
        assert_eq!(input["dynamicOutputs"], serde_json::json!({}), "{attr}");
    }
    let Some(inputs) = inputs.as_object() else { panic!("no input derivations: {drv}") };
    let names: BTreeSet<&str> = inputs.keys().map(|k| k.split_once('-').map_or(k.as_str(), |(_, n)| n)).collect();
    let wanted = [
        "backup-tools-1.4.0.drv",
        "etc-web-01.drv",
        "fleet-httpd-1.25.3.drv",
        "htop-3.3.0.drv",
        "monitoring-agent-0.9.2.drv",
        "nftables-1.0.9.drv",
        "openssh-9.6p1.drv",
        "system-units-web-01.drv",
        "tmux-3.4.drv",
    ];
    assert_eq!(names, BTreeSet::from(wanted));
    // Secrets reach the system as a manifest of references (builtins.toFile), never as files.
    let srcs: Vec<&str> = drv["inputs"]["srcs"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
    let has = |suffix: &str| srcs.iter().any(|s| s.ends_with(suffix));
    assert!(has("-setup.sh") && has("-secrets-manifest") && has("-backup-manifest"), "{srcs:?}");
    assert!(!srcs.iter().any(|s| s.ends_with(".age")), "an encrypted secret is in the system: {srcs:?}");
}

#[test]
fn json_shows_fixed_outputs_by_hash() {
    let text = stdout_of(&instantiate(&["--json", "fixtures/fleet", "-A", "pkgs.busybox"]));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let drv = &json["derivations"][base_name(&reference_drv("pkgs.busybox"))];
    assert_eq!(
        drv["outputs"]["out"],
        serde_json::json!({ "hash": "sha256-VZwAKvSYdi1k5s7l9muY+ev7J3O7dLPfwUAHQ6ral9s=", "method": "nar" })
    );
}

/// Every entry of a directory: name, size and modification time, to see that a second run
/// changes nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, Option<std::time::SystemTime>)> {
    let mut entries = BTreeMap::new();
    let Ok(read) = std::fs::read_dir(dir) else { return entries };
    for entry in read.flatten() {
        let meta = entry.path().symlink_metadata().ok();
        let key = entry.file_name().to_string_lossy().into_owned();
        entries.insert(key, (meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok())));
    }
    entries
}

fn store_path(base: &str) -> StorePath {
    StorePath::from_base_name(base).unwrap_or_else(|e| panic!("'{base}' is not a store path: {e}"))
}

#[test]
fn store_receives_drv_files_and_added_objects() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
    let store_arg = dir.path().join("store");
    let store_arg = store_arg.to_string_lossy().into_owned();
    let args = ["fixtures/fleet", "-A", "hosts.web-01.toplevel", "-A", "checks", "--store", &store_arg];
    let printed = stdout_of(&instantiate(&args));
    let store = Path::new(&store_arg);
    let store_dir = StoreDir::default();

    // Every .drv file: named by its drvPath, the ATerm text Nix writes, and complete.
    let mut drv_files = 0;
    let mut todo: Vec<String> = printed.lines().map(str::to_string).collect();
    let mut seen = BTreeSet::new();
    while let Some(drv_path) = todo.pop() {
        if !seen.insert(drv_path.clone()) {
            continue;
        }
        let base = base_name(&drv_path);
        let text = std::fs::read_to_string(store.join(base)).unwrap_or_else(|e| panic!("{base} not written: {e}"));
        let drv = Derivation::parse(&text).unwrap_or_else(|e| panic!("{base} is not a derivation: {e}"));
        assert_eq!(drv.to_aterm(), text, "{base}");
        let references: BTreeSet<StorePath> =
            drv.input_drvs.keys().chain(drv.input_srcs.iter()).map(|p| store_path(base_name(p))).collect();
        let name = store_path(base).name().to_string();
        let computed =
            make_text_path(&name, &Hash::compute(HashAlgo::Sha256, text.as_bytes()), &references, &store_dir)
                .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert_eq!(computed.base_name(), base, "the contents of {base} do not hash to its name");
        for src in &drv.input_srcs {
            assert!(store.join(base_name(src)).symlink_metadata().is_ok(), "{src} (input of {base}) not written");
        }
        todo.extend(drv.input_drvs.keys().cloned());
        drv_files += 1;
    }
    assert!(drv_files >= 300, "only {drv_files} .drv files");

    let entries = snapshot(store);
    let find = |suffix: &str| -> Vec<String> {
        entries.keys().filter(|name| name.ends_with(suffix)).cloned().collect::<Vec<_>>()
    };
    assert!(entries.keys().all(|name| !name.starts_with('.')), "temporary files left: {entries:?}");

    // builtins.toFile texts: one motd per host.
    let motd = find("-motd");
    assert_eq!(motd.len(), 25, "{motd:?}");
    let web_motd = motd
        .iter()
        .map(|base| (base, std::fs::read_to_string(store.join(base)).unwrap_or_default()))
        .find(|(_, text)| text.starts_with("web-01 (web, production): "));
    let Some((base, text)) = web_motd else { panic!("no motd of web-01 in {motd:?}") };
    let computed =
        make_text_path("motd", &Hash::compute(HashAlgo::Sha256, text.as_bytes()), &BTreeSet::new(), &store_dir);
    assert_eq!(computed.map(|p| p.base_name()).ok().as_deref(), Some(base.as_str()));

    // Sources: filtered directories (one with an executable and a symlink), a directory
    // copied by interpolation, single files; never an encrypted secret.
    assert!(find(".age").is_empty(), "an encrypted secret was written: {:?}", find(".age"));
    let [app] = &find("-storefront-src")[..] else { panic!("storefront-src not written: {entries:?}") };
    let app_dir = store.join(app);
    assert!(app_dir.join("server.sh").is_file() && app_dir.join("static/index.html").is_file());
    for dropped in ["README.md", "tests", "server.sh~"] {
        assert!(!app_dir.join(dropped).exists(), "the filter should drop {dropped}");
    }
    let [src] = &find("-backup-tools-src")[..] else { panic!("backup-tools-src not written: {entries:?}") };
    let src_dir = store.join(src);
    assert!(!src_dir.join("secrets").exists(), "the filter should drop secrets/");
    assert_eq!(std::fs::read_link(src_dir.join("bin/backup")).ok(), Some("fleet-backup".into()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(src_dir.join("bin/fleet-backup")).map(|m| m.permissions().mode()).unwrap_or(0);
        assert_eq!(mode & 0o111, 0o111, "fleet-backup should be executable");
    }
    for (base, method) in [
        (src.clone(), ContentAddressMethod::Recursive),
        (app.clone(), ContentAddressMethod::Recursive),
        (find("-error-pages").concat(), ContentAddressMethod::Recursive),
        (find("-setup.sh").concat(), ContentAddressMethod::Recursive),
    ] {
        let path = store_path(&base);
        let (hash, _) = nar_hash_path(&store.join(&base)).unwrap_or_else(|e| panic!("{base}: {e}"));
        let computed = make_fixed_output_path(method, &hash, path.name(), &BTreeSet::new(), &store_dir)
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert_eq!(computed, path, "the contents of {base} do not hash to its name");
    }
    assert!(store.join(find("-error-pages").concat()).join("50x.html").is_file());

    // A second run changes nothing.
    let again = stdout_of(&instantiate(&args));
    assert_eq!(again, printed);
    assert_eq!(snapshot(store), entries, "the second run changed the store");
}

#[test]
fn bad_attribute_path_exits_1() {
    let output = instantiate(&["fixtures/fleet", "-A", "hosts.nope.toplevel"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: attribute 'nope' in selection path 'hosts.nope.toplevel' not found"), "{stderr}");
}

#[test]
fn value_that_is_no_derivation_exits_1() {
    let output = instantiate(&["fixtures/fleet", "-A", "hosts.web-01.config.networking.hostName"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: expression does not evaluate to a derivation (or a set or list of those)"));
    // A set selects the derivations at its top level, and looks no deeper without
    // `recurseForDerivations`.
    let toplevel = reference_drv("hosts.web-01.toplevel");
    assert_eq!(stdout_of(&instantiate(&["fixtures/fleet", "-A", "hosts.web-01"])), format!("{toplevel}\n"));
    assert_eq!(stdout_of(&instantiate(&["fixtures/fleet", "-A", "hosts"])), "");
}

#[test]
fn bad_command_line_exits_2() {
    assert_eq!(instantiate(&["--no-such-flag"]).status.code(), Some(2));
    assert_eq!(instantiate(&["--store-dir", "relative/store", "-E", "1"]).status.code(), Some(2));
}
