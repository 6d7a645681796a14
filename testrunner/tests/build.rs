//! The builders of checks, on small hand-written derivations and on the example fleet's
//! checks. Derivations come from nxe's evaluator, as they do in a real run.
//!
//! The differential tests build the same derivations with the installed Nix and compare
//! output paths and NAR hashes. They find `nix-store` through `NXE_BUILD_NIX` (the path of
//! the program) or `PATH`, and are skipped with a message when there is none. By default Nix
//! builds into a throwaway store in a temporary directory (its sandbox then gets `/bin/sh`
//! and the system's libraries); `NXE_BUILD_NIX_STORE` names another store (e.g. `daemon`).
//!
//! The local builder runs builders in namespaces when the machine allows it;
//! `NXE_BUILD_ISOLATION=direct` runs the hand-written cases without them, with the store
//! at its own directory, as on a machine that does not.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nxe_evaluator::{AddedPath, EvalRequest, EvalSettings, Evaluation, OutputMode, Source};
use nxe_store::{
    make_fixed_output_path, make_text_path, nar_hash_path, ContentAddressMethod, Derivation, Hash, HashAlgo,
    HashFormat, StoreDir,
};
use nxe_testrunner::build::{BuildError, BuildOutcome, BuildRequest, Builder, Isolation, LocalBuilder, NixBuilder};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The system this machine builds for, as Nix names it.
fn this_system() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// A temporary directory that may hold stores, whose objects are read-only: made writable
/// again before it is deleted, so that it can be deleted by a user other than root.
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        tempfile::tempdir().map(TempDir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        fn make_writable(dir: &Path) {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    make_writable(&entry.path());
                }
            }
        }
        make_writable(self.0.path());
    }
}

/// What an evaluation made: the drvPaths asked for, every derivation and added path.
struct Evaluated {
    drv_paths: Vec<String>,
    derivations: BTreeMap<String, Derivation>,
    added: BTreeMap<String, AddedPath>,
}

impl Evaluated {
    fn request<'a>(&'a self, drv_path: &'a str, log_dir: &'a Path) -> BuildRequest<'a> {
        BuildRequest { drv_path, derivations: &self.derivations, added_paths: &self.added, timeout: None, log_dir }
    }

    fn output(&self, drv_path: &str) -> String {
        self.derivations
            .get(drv_path)
            .and_then(|drv| drv.outputs.get("out"))
            .map_or_else(String::new, |o| o.path.clone())
    }
}

/// Evaluates `<attr>.drvPath` for each of `attrs` in `file`.
fn evaluate(file: &Path, attrs: &[&str], settings: EvalSettings) -> Result<Evaluated, String> {
    let file = file.display().to_string();
    let attr_paths: Vec<String> = attrs.iter().map(|attr| format!("{attr}.drvPath")).collect();
    nxe_evaluator::run_with_big_stack(move || {
        let mut evaluation = Evaluation::new(settings);
        let request =
            EvalRequest { source: Source::File(file), attr_paths, auto_args: Vec::new(), mode: OutputMode::Raw };
        let printed = evaluation.evaluate(&request).map_err(|e| e.to_string())?;
        let writes = evaluation.evaluator().store_writes();
        Ok(Evaluated {
            drv_paths: printed.lines().map(str::to_string).collect(),
            derivations: writes.derivations.clone(),
            added: writes.paths.clone(),
        })
    })
}

/// A scratch repository of hand-written derivations, and a local builder with its store.
struct Scratch {
    dir: TempDir,
    builder: LocalBuilder,
    store_dir: String,
}

/// Derivations with /bin/sh as their builder, written with shell builtins only. `mk NAME
/// SCRIPT ATTRS` runs SCRIPT.
const PRELUDE: &str = r#"
let
  mk = name: script: attrs: derivation ({
    inherit name;
    builder = "/bin/sh";
    system = builtins.currentSystem;
    args = [ "-c" script ];
  } // attrs);
in
"#;

impl Scratch {
    /// A repository whose `default.nix` is the prelude and `body`. Builds see the store at
    /// /nix/store through a namespace when this machine allows it, else directly at the
    /// store's own directory.
    fn new(body: &str) -> Result<Scratch, Box<dyn std::error::Error>> {
        let dir = TempDir::new()?;
        std::fs::write(dir.path().join("default.nix"), format!("{PRELUDE}{body}"))?;
        let physical = dir.path().join("store");
        let direct = std::env::var("NXE_BUILD_ISOLATION").is_ok_and(|v| v == "direct");
        let (builder, store_dir) = match LocalBuilder::namespaces_available() && !direct {
            true => (LocalBuilder::with_isolation("/nix/store", &physical, Isolation::Namespace)?, "/nix/store".into()),
            false => {
                eprintln!("note: building without namespaces, with the store at its own directory");
                std::fs::create_dir_all(&physical)?;
                let logical = std::fs::canonicalize(&physical)?.display().to_string();
                (LocalBuilder::with_isolation(&logical, &physical, Isolation::Direct)?, logical)
            }
        };
        Ok(Scratch { dir, builder, store_dir })
    }

    fn settings(&self) -> EvalSettings {
        EvalSettings {
            store_dir: self.store_dir.clone(),
            system: this_system(),
            cwd: self.dir.path().display().to_string(),
            ..EvalSettings::default()
        }
    }

    fn evaluate(&self, attrs: &[&str]) -> Result<Evaluated, String> {
        evaluate(&self.dir.path().join("default.nix"), attrs, self.settings())
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn physical(&self, store_path: &str) -> Result<PathBuf, BuildError> {
        self.builder.store().physical_path(store_path)
    }

    fn read(&self, store_path: &str) -> Result<String, Box<dyn std::error::Error>> {
        Ok(std::fs::read_to_string(self.physical(store_path)?)?)
    }
}

fn mode(path: &Path) -> std::io::Result<u32> {
    Ok(path.symlink_metadata()?.permissions().mode() & 0o7777)
}

#[test]
fn input_derivation_is_built_first_and_its_output_referenced() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          a = mk "a" "printf 'from a\n' > $out" { };
          b = mk "b" ''read -r line < "$a"; printf '%s: %s, then b\n' "$a" "$line" > $out'' { inherit a; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["a", "b"])?;
    let (a, b) = (&evaluated.drv_paths[0], &evaluated.drv_paths[1]);
    let outcome = scratch.builder.build(&evaluated.request(b, &scratch.logs()))?;
    assert_eq!(outcome.built, vec![a.clone(), b.clone()]);
    assert!(outcome.present.is_empty(), "{:?}", outcome.present);
    assert_eq!(outcome.outputs, BTreeMap::from([("out".to_string(), evaluated.output(b))]));
    let b_base = b.rsplit('/').next().unwrap_or_default();
    assert_eq!(outcome.log, scratch.logs().join(b_base.replace(".drv", ".log")));
    let (a_out, b_out) = (evaluated.output(a), evaluated.output(b));
    assert_eq!(scratch.read(&b_out)?, format!("{a_out}: from a, then b\n"));
    let info = scratch.builder.store().path_info(&b_out).ok_or("b's output is not valid")?;
    assert_eq!(info.references, BTreeSet::from([a_out.clone()]));
    assert_eq!(info.deriver.as_deref(), Some(b.as_str()));
    assert_eq!(info.nar_hash, nar_hash_path(&scratch.physical(&b_out)?)?.0.to_string_as(HashFormat::Nix32, true));
    assert!(scratch.builder.store().is_valid(&a_out));
    assert_eq!(mode(&scratch.physical(&b_out)?)?, 0o444);
    assert_eq!(scratch.physical(&b_out)?.symlink_metadata()?.mtime(), 1);
    Ok(())
}

#[test]
fn to_file_texts_are_written_as_nix_writes_them() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          greeting = builtins.toFile "greeting" "hello\n";
          script = builtins.toFile "script.sh" "read -r g < ${greeting}; printf '%s world\\n' \"$g\" > $out\n";
          t = mk "t" ". $script" { inherit script; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["t"])?;
    let t = &evaluated.drv_paths[0];
    scratch.builder.build(&evaluated.request(t, &scratch.logs()))?;
    assert_eq!(scratch.read(&evaluated.output(t))?, "hello world\n");

    let store_dir = StoreDir::new(&scratch.store_dir)?;
    let texts: Vec<(&String, &String)> = evaluated
        .added
        .iter()
        .filter_map(|(path, added)| match added {
            AddedPath::Text { contents, .. } => Some((path, contents)),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 2);
    for (path, contents) in texts {
        let physical = scratch.physical(path)?;
        assert_eq!(&std::fs::read_to_string(&physical)?, contents);
        assert_eq!(mode(&physical)?, 0o444);
        let info = scratch.builder.store().path_info(path).ok_or("the text is not valid")?;
        let references = info.references.iter().map(|r| store_dir.parse_path(r)).collect::<Result<_, _>>()?;
        let name = path.rsplit_once('-').map_or("", |(_, name)| name);
        let name = if path.ends_with("script.sh") { "script.sh" } else { name };
        let computed =
            make_text_path(name, &Hash::compute(HashAlgo::Sha256, contents.as_bytes()), &references, &store_dir)?;
        assert_eq!(&store_dir.display_path(&computed), path);
        if path.ends_with("script.sh") {
            assert_eq!(info.references.len(), 1, "{info:?}");
        }
    }
    Ok(())
}

#[test]
fn copied_source_keeps_executables_and_follows_the_filter() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          src = builtins.path {
            name = "tool-src";
            path = ./src;
            filter = path: type: baseNameOf path != "secret";
          };
          s = mk "s" ''
            if [ -x "$src/bin/tool" ] && [ ! -x "$src/data.txt" ] && [ ! -e "$src/secret" ]; then
              read -r d < "$src/link"; printf 'ok %s\n' "$d" > $out
            else
              exit 1
            fi
          '' { inherit src; };
        }"#,
    )?;
    let src = scratch.dir.path().join("src");
    std::fs::create_dir_all(src.join("bin"))?;
    std::fs::create_dir_all(src.join("secret"))?;
    std::fs::write(src.join("bin/tool"), "#!/bin/sh\necho tool\n")?;
    std::fs::set_permissions(src.join("bin/tool"), std::fs::Permissions::from_mode(0o750))?;
    std::fs::write(src.join("data.txt"), "data\n")?;
    std::fs::write(src.join("secret/key"), "do not copy\n")?;
    std::os::unix::fs::symlink("data.txt", src.join("link"))?;

    let evaluated = scratch.evaluate(&["s"])?;
    let s = &evaluated.drv_paths[0];
    scratch.builder.build(&evaluated.request(s, &scratch.logs()))?;
    assert_eq!(scratch.read(&evaluated.output(s))?, "ok data\n");

    let (src_path, _) = evaluated.added.iter().find(|(p, _)| p.ends_with("-tool-src")).ok_or("no source")?;
    let copy = scratch.physical(src_path)?;
    assert_eq!(mode(&copy)?, 0o555);
    assert_eq!(mode(&copy.join("bin/tool"))?, 0o555);
    assert_eq!(mode(&copy.join("data.txt"))?, 0o444);
    assert_eq!(std::fs::read_link(copy.join("link"))?, Path::new("data.txt"));
    assert!(!copy.join("secret").exists());
    assert_eq!(copy.join("bin/tool").symlink_metadata()?.mtime(), 1);
    let store_dir = StoreDir::new(&scratch.store_dir)?;
    let (hash, _) = nar_hash_path(&copy)?;
    let computed =
        make_fixed_output_path(ContentAddressMethod::Recursive, &hash, "tool-src", &BTreeSet::new(), &store_dir)?;
    assert_eq!(&store_dir.display_path(&computed), src_path);
    Ok(())
}

/// A source that the evaluation saw inside another store object (a file of a flake's source,
/// whose files the evaluator reads at the source's store path) is copied from that object's
/// copy in the store, which is made first: the logical store path is nowhere on this machine.
#[test]
fn source_inside_another_store_object_is_copied_from_that_object() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          tree = builtins.path { name = "tree"; path = ./src; };
          file = builtins.path { name = "data.txt"; path = ./src/data.txt; };
          # The tree is made by the evaluation, but is no input of s.
          s = builtins.seq tree (mk "s" ''read -r line < "$file"; printf 'got %s\n' "$line" > $out'' { inherit file; });
        }"#,
    )?;
    let src = scratch.dir.path().join("src");
    std::fs::create_dir_all(&src)?;
    std::fs::write(src.join("data.txt"), "from the tree\n")?;
    let mut evaluated = scratch.evaluate(&["s"])?;
    let s = evaluated.drv_paths[0].clone();
    let find = |suffix: &str| evaluated.added.keys().find(|p| p.ends_with(suffix)).cloned().ok_or("no such object");
    let (tree, file) = (find("-tree")?, find("-data.txt")?);
    // As a flake's evaluation records it: copied from inside the tree's store path, which
    // is not on this machine until the tree is made.
    let Some(AddedPath::Source { source, .. }) = evaluated.added.get_mut(&file) else {
        return Err("not a source".into());
    };
    *source = format!("{tree}/data.txt");
    scratch.builder.build(&evaluated.request(&s, &scratch.logs()))?;
    assert_eq!(scratch.read(&evaluated.output(&s))?, "got from the tree\n");
    assert!(scratch.builder.store().is_valid(&tree), "the tree was not made");
    assert_eq!(std::fs::read_to_string(scratch.physical(&file)?)?, "from the tree\n");
    Ok(())
}

#[test]
fn failing_builder_keeps_its_log_and_says_so() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          fail = mk "fail" ''echo "something broke" >&2; printf partial > $out; exit 3'' { };
          user = mk "user" "printf x > $out" { inherit fail; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["fail", "user"])?;
    let (fail, user) = (&evaluated.drv_paths[0], &evaluated.drv_paths[1]);
    for asked in [fail, user] {
        let error =
            scratch.builder.build(&evaluated.request(asked, &scratch.logs())).err().ok_or("the build passed")?;
        let BuildError::BuilderFailed { drv_path, status, log } = &error else { panic!("wrong error: {error}") };
        assert_eq!((drv_path, *status), (fail, 3));
        assert_eq!(error.log(), Some(log.as_path()));
        assert!(std::fs::read_to_string(log)?.contains("something broke"));
        let message = error.to_string();
        assert!(message.contains(&format!("builder for '{fail}' exited with status 3")), "{message}");
        assert!(message.contains(&log.display().to_string()), "{message}");
    }
    let fail_out = evaluated.output(fail);
    assert!(!scratch.builder.store().is_valid(&fail_out));
    assert!(!scratch.physical(&fail_out)?.exists(), "a failed build left its output");
    assert_eq!(std::fs::read_dir(scratch.builder.store().physical().join(".nxe/builds"))?.count(), 0);
    Ok(())
}

/// Whether process `pid` is gone (or a zombie), waiting a little for it to die.
fn process_is_gone(pid: u32) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')) => return true,
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    false
}

#[test]
fn timeout_kills_every_process_of_the_builder() -> TestResult {
    let scratch = Scratch::new(
        r#"{
          slow = mk "slow" ''(while :; do :; done) & echo "background $!" >&2; while :; do :; done'' { };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["slow"])?;
    let slow = &evaluated.drv_paths[0];
    let logs = scratch.logs();
    let mut request = evaluated.request(slow, &logs);
    request.timeout = Some(Duration::from_secs(1));
    let error = scratch.builder.build(&request).err().ok_or("the build passed")?;
    let BuildError::TimedOut { drv_path, timeout, log } = &error else { panic!("wrong error: {error}") };
    assert_eq!((drv_path, *timeout), (slow, Duration::from_secs(1)));
    assert!(error.to_string().contains("timed out after 1 s"), "{error}");
    let text = std::fs::read_to_string(log)?;
    let pid: u32 = text.lines().find_map(|l| l.strip_prefix("background ")).ok_or("no pid in the log")?.parse()?;
    assert!(process_is_gone(pid), "the builder's background process {pid} survived");
    assert!(!scratch.builder.store().is_valid(&evaluated.output(slow)));
    Ok(())
}

#[test]
fn valid_output_is_not_built_again() -> TestResult {
    let scratch = Scratch::new(r#"{ a = mk "a" "printf 'once\n' > $out" { }; }"#)?;
    let evaluated = scratch.evaluate(&["a"])?;
    let a = &evaluated.drv_paths[0];
    let first = scratch.builder.build(&evaluated.request(a, &scratch.logs()))?;
    assert_eq!(first.built, vec![a.clone()]);
    let record = scratch.builder.store().path_info(&evaluated.output(a));

    // Another builder on the same store, as another process would have.
    let again = LocalBuilder::with_isolation(
        &scratch.store_dir,
        scratch.builder.store().physical(),
        scratch.builder.isolation(),
    )
    .or_else(|_| LocalBuilder::new(&scratch.store_dir, scratch.builder.store().physical()))?;
    let logs = scratch.dir.path().join("logs-again");
    let second = again.build(&evaluated.request(a, &logs))?;
    assert!(second.built.is_empty(), "{:?}", second.built);
    assert_eq!(second.present, vec![a.clone()]);
    assert_eq!(second.outputs, first.outputs);
    assert!(std::fs::read_to_string(&second.log)?.contains("already present; nothing was built"));
    assert_eq!(scratch.builder.store().path_info(&evaluated.output(a)), record);
    Ok(())
}

#[test]
fn leftover_without_a_record_is_built_again() -> TestResult {
    let scratch = Scratch::new(r#"{ a = mk "a" "printf 'complete\n' > $out" { }; }"#)?;
    let evaluated = scratch.evaluate(&["a"])?;
    let a = &evaluated.drv_paths[0];
    let out = evaluated.output(a);
    // What a build killed before it was recorded leaves behind.
    std::fs::write(scratch.physical(&out)?, "half")?;
    assert!(!scratch.builder.store().is_valid(&out));
    let outcome = scratch.builder.build(&evaluated.request(a, &scratch.logs()))?;
    assert_eq!(outcome.built, vec![a.clone()]);
    assert_eq!(scratch.read(&out)?, "complete\n");
    Ok(())
}

#[test]
fn environment_is_the_derivations_and_what_nix_adds() -> TestResult {
    let scratch = Scratch::new(
        r#"{
          env = mk "env" ''export -p > $out; read -r big < "$bigPath"; echo "read $big" >> $out''
            { foo = "bar"; passAsFile = [ "big" ]; big = "large value"; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["env"])?;
    let env_drv = &evaluated.drv_paths[0];
    scratch.builder.build(&evaluated.request(env_drv, &scratch.logs()))?;
    let text = scratch.read(&evaluated.output(env_drv))?;
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            vars.insert(name.to_string(), value.trim_matches('\'').to_string());
        }
    }
    let names: Vec<&str> = vars.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "HOME",
            "NIX_BUILD_CORES",
            "NIX_BUILD_TOP",
            "NIX_LOG_FD",
            "NIX_STORE",
            "PATH",
            "PWD",
            "TEMP",
            "TEMPDIR",
            "TERM",
            "TMP",
            "TMPDIR",
            "bigPath",
            "builder",
            "foo",
            "name",
            "out",
            "passAsFile",
            "system"
        ]
    );
    let var = |name: &str| vars.get(name).map_or("", String::as_str);
    assert_eq!((var("PATH"), var("HOME")), ("/path-not-set", "/homeless-shelter"));
    assert_eq!((var("NIX_STORE"), var("NIX_LOG_FD"), var("TERM")), (scratch.store_dir.as_str(), "2", "xterm-256color"));
    assert_eq!((var("foo"), var("out")), ("bar", evaluated.output(env_drv).as_str()));
    let top = var("NIX_BUILD_TOP");
    for name in ["TMPDIR", "TEMPDIR", "TMP", "TEMP", "PWD"] {
        assert_eq!(var(name), top, "{name}");
    }
    if scratch.builder.isolation() == Isolation::Namespace {
        assert_eq!(top, "/build");
    }
    // The file name is the nix32 SHA-256 of the attribute's name, as Nix names it.
    assert_eq!(var("bigPath"), format!("{top}/.attr-1lak0mvllw8rv9i9ygkglvhqsq19qi9ynl4bi7gbf69ab5nzw89a"));
    assert!(text.ends_with("read large value\n"), "{text}");
    Ok(())
}

#[test]
fn fixed_output_is_checked_against_its_hash() -> TestResult {
    let scratch = Scratch::new(
        r#"let fixed = name: hash: mk name "printf 'x\n' > $out"
             { outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = hash; };
        in {
          good = fixed "good" "sha256-c8s4WKaHqElMozIwUwFigvPa051Cz2LKTnndoqrH2aw=";
          bad = fixed "bad" "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["good", "bad"])?;
    let (good, bad) = (&evaluated.drv_paths[0], &evaluated.drv_paths[1]);
    scratch.builder.build(&evaluated.request(good, &scratch.logs()))?;
    assert_eq!(scratch.read(&evaluated.output(good))?, "x\n");

    let error = scratch.builder.build(&evaluated.request(bad, &scratch.logs())).err().ok_or("the build passed")?;
    let BuildError::HashMismatch { drv_path, output, expected, actual, .. } = &error else { panic!("{error}") };
    assert_eq!((drv_path, output.as_str()), (bad, "out"));
    assert_eq!(expected, "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(actual, "sha256-c8s4WKaHqElMozIwUwFigvPa051Cz2LKTnndoqrH2aw=");
    assert!(!scratch.builder.store().is_valid(&evaluated.output(bad)));
    Ok(())
}

#[test]
fn downloads_are_missing_inputs() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          file = builtins.fetchurl {
            url = "https://downloads.example.org/file.txt";
            sha256 = "0000000000000000000000000000000000000000000000000000";
          };
          uses-file = mk "uses-file" ''read -r l < "$file"; printf '%s' "$l" > $out'' { inherit file; };
          fetched = import <nix/fetchurl.nix> {
            url = "https://downloads.example.org/tool.tar.gz";
            sha256 = "0000000000000000000000000000000000000000000000000000";
          };
          uses-fetched = mk "uses-fetched" ''printf '%s' "$f" > $out'' { f = fetched; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["uses-file", "uses-fetched"])?;
    for (asked, url) in [(&evaluated.drv_paths[0], "file.txt"), (&evaluated.drv_paths[1], "tool.tar.gz")] {
        let error =
            scratch.builder.build(&evaluated.request(asked, &scratch.logs())).err().ok_or("the build passed")?;
        let BuildError::MissingInput { path, needed_by, reason } = &error else { panic!("wrong error: {error}") };
        assert_eq!(needed_by, asked);
        assert!(path.starts_with(&scratch.store_dir), "{path}");
        assert!(reason.contains(&format!("https://downloads.example.org/{url}")), "{reason}");
        assert!(error.to_string().contains("cannot be produced"), "{error}");
    }
    Ok(())
}

#[test]
fn builder_sees_only_its_inputs_in_the_store() -> TestResult {
    let scratch = Scratch::new("{ }")?;
    if scratch.builder.isolation() != Isolation::Namespace {
        eprintln!("skipping builder_sees_only_its_inputs_in_the_store: no user namespaces here");
        return Ok(());
    }
    let physical = scratch.builder.store().physical().display().to_string();
    let body = format!(
        r#"rec {{
          other = mk "other" "printf other > $out" {{ }};
          a = mk "a" "printf a > $out" {{ }};
          probe = mk "probe" ''
            for p in "$NIX_STORE"/* {physical}/*; do echo "$p"; done > $out
            if (printf x > "$a") 2>/dev/null; then echo "wrote into an input" >> $out; fi
          '' {{ inherit a; }};
        }}"#
    );
    std::fs::write(scratch.dir.path().join("default.nix"), format!("{PRELUDE}{body}"))?;
    let evaluated = scratch.evaluate(&["other", "probe", "a"])?;
    let (other, probe, a) = (&evaluated.drv_paths[0], &evaluated.drv_paths[1], &evaluated.drv_paths[2]);
    scratch.builder.build(&evaluated.request(other, &scratch.logs()))?;
    scratch.builder.build(&evaluated.request(probe, &scratch.logs()))?;
    // The probe's own output exists as soon as the shell opens it; `other` is not there, and
    // the physical store shows nothing (the unmatched pattern stays as it is).
    let mut visible = [evaluated.output(a), evaluated.output(probe)];
    visible.sort();
    let expected = format!("{}\n{physical}/*\n", visible.join("\n"));
    assert_eq!(scratch.read(&evaluated.output(probe))?, expected);
    Ok(())
}

#[test]
fn direct_builds_write_the_logical_directory() -> TestResult {
    let dir = TempDir::new()?;
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store)?;
    let logical = std::fs::canonicalize(&store)?.display().to_string();
    let elsewhere = LocalBuilder::with_isolation(&logical, dir.path().join("elsewhere"), Isolation::Direct);
    assert!(matches!(elsewhere, Err(BuildError::StoreView { .. })), "{elsewhere:?}");

    let builder = LocalBuilder::with_isolation(&logical, &store, Isolation::Direct)?;
    std::fs::write(
        dir.path().join("default.nix"),
        format!("{PRELUDE} rec {{ a = mk \"a\" \"printf a > $out\" {{ }}; b = mk \"b\" ''read -r x < $a; printf '%s %s' \"$x\" \"$TMPDIR\" > $out'' {{ inherit a; }}; }}"),
    )?;
    let settings = EvalSettings { store_dir: logical.clone(), system: this_system(), ..EvalSettings::default() };
    let evaluated = evaluate(&dir.path().join("default.nix"), &["b"], settings)?;
    let b = &evaluated.drv_paths[0];
    let outcome = builder.build(&evaluated.request(b, &dir.path().join("logs")))?;
    assert_eq!(outcome.built.len(), 2);
    let out = evaluated.output(b);
    assert!(out.starts_with(&logical));
    let text = std::fs::read_to_string(&out)?;
    let tmpdir = text.strip_prefix("a ").ok_or(text.clone())?;
    assert!(tmpdir.starts_with(&logical) && tmpdir != "/build", "{tmpdir}");
    assert!(!Path::new(tmpdir).exists(), "the build directory was kept");
    Ok(())
}

#[test]
fn concurrent_builds_build_a_shared_input_once() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          shared = mk "shared" "printf shared > $out" { };
          one = mk "one" "printf one > $out" { inherit shared; };
          two = mk "two" "printf two > $out" { inherit shared; };
        }"#,
    )?;
    let evaluated = scratch.evaluate(&["shared", "one", "two"])?;
    let shared = &evaluated.drv_paths[0];
    let logs = scratch.logs();
    let outcomes: Vec<Result<BuildOutcome, BuildError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = evaluated.drv_paths[1..]
            .iter()
            .map(|drv| scope.spawn(|| scratch.builder.build(&evaluated.request(drv, &logs))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| panic!("a build panicked"))).collect()
    });
    let outcomes = outcomes.into_iter().collect::<Result<Vec<_>, _>>()?;
    let builds_of_shared = outcomes.iter().filter(|o| o.built.contains(shared)).count();
    let present = outcomes.iter().filter(|o| o.present.contains(shared)).count();
    assert_eq!((builds_of_shared, present), (1, 1), "{outcomes:?}");
    Ok(())
}

#[test]
fn unknown_derivation_is_an_error() -> TestResult {
    let scratch = Scratch::new("{ }")?;
    let (derivations, added) = (BTreeMap::new(), BTreeMap::new());
    let missing = "/nix/store/00000000000000000000000000000000-missing.drv";
    let logs = scratch.logs();
    let request = BuildRequest {
        drv_path: missing,
        derivations: &derivations,
        added_paths: &added,
        timeout: None,
        log_dir: &logs,
    };
    let error = scratch.builder.build(&request).err().ok_or("the build passed")?;
    assert!(matches!(&error, BuildError::UnknownDerivation(d) if d == missing), "{error}");
    Ok(())
}

// Differential tests against the installed Nix.

/// The installed Nix, building into a throwaway store under `dir` unless
/// `NXE_BUILD_NIX_STORE` names one; `None` (with a message) when there is no Nix.
fn installed_nix(test: &str, dir: &Path) -> Option<NixBuilder> {
    let builder = match std::env::var_os("NXE_BUILD_NIX") {
        Some(program) => Some(NixBuilder::new(program)),
        None => NixBuilder::from_path(),
    };
    let Some(builder) = builder else {
        eprintln!("skipping {test}: no Nix (set NXE_BUILD_NIX to a nix-store program or put nix-store on PATH)");
        return None;
    };
    if let Ok(store) = std::env::var("NXE_BUILD_NIX_STORE") {
        return Some(builder.with_store(store));
    }
    // A store of its own has a sandbox with nothing in it: give builders /bin/sh.
    let sandbox_paths: Vec<&str> =
        ["/bin/sh", "/lib", "/lib64", "/usr/lib", "/usr/lib64"].into_iter().filter(|p| Path::new(p).exists()).collect();
    Some(
        builder
            .with_store(dir.join("nix-root").display().to_string())
            .with_option("substituters", "")
            .with_option("sandbox-paths", sandbox_paths.join(" ")),
    )
}

/// Builds `drv_paths` with the local builder and with Nix, and checks that every output of
/// every derivation they needed has the same path and NAR hash in both stores.
fn compare_with_nix(
    test: &str,
    scratch_dir: &Path,
    local: &LocalBuilder,
    evaluated: &Evaluated,
    drv_paths: &[String],
) -> TestResult {
    let mut local_outputs = BTreeMap::new();
    for drv in drv_paths {
        let outcome = local.build(&evaluated.request(drv, &scratch_dir.join("logs-local")))?;
        assert!(outcome.built.iter().chain(&outcome.present).any(|d| d == drv), "{outcome:?}");
        for needed in outcome.built.iter().chain(&outcome.present) {
            for output in evaluated.derivations.get(needed).into_iter().flat_map(|d| d.outputs.values()) {
                let info = local.store().path_info(&output.path).ok_or("a local output is not valid")?;
                let physical = local.store().physical_path(&output.path)?;
                assert_eq!(info.nar_hash, nar_hash_path(&physical)?.0.to_string_as(HashFormat::Nix32, true));
                local_outputs.insert(output.path.clone(), info.nar_hash);
            }
        }
    }
    // Inputs are compared too, not only what was asked for.
    assert!(local_outputs.len() > drv_paths.len(), "{local_outputs:?}");
    let Some(nix) = installed_nix(test, scratch_dir) else { return Ok(()) };
    for drv in drv_paths {
        let outcome = nix.build(&evaluated.request(drv, &scratch_dir.join("logs-nix")))?;
        assert_eq!(
            outcome.outputs,
            evaluated
                .derivations
                .get(drv)
                .map(|d| d.outputs.iter().map(|(n, o)| (n.clone(), o.path.clone())).collect())
                .unwrap_or_default()
        );
    }
    let paths: Vec<String> = local_outputs.keys().cloned().collect();
    let nix_outputs = nix.nar_hashes(&paths)?;
    assert_eq!(local_outputs, nix_outputs);
    Ok(())
}

#[test]
fn hand_written_derivations_build_as_nix_builds_them() -> TestResult {
    let scratch = Scratch::new(
        r#"rec {
          a = mk "a" "printf 'from a\n' > $out" { };
          b = mk "b" ''read -r line < "$a"; printf '%s: %s\n' "$a" "$line" > $out'' { inherit a; };
          greeting = builtins.toFile "greeting" "hello\n";
          t = mk "t" ''read -r g < "$greeting"; printf '%s from %s\n' "$g" "$greeting" > $out'' { inherit greeting; };
          src = builtins.path { name = "src"; path = ./src; };
          s = mk "s" ''printf '%s\n' "$src" > $out; [ -x "$src/run" ] && printf 'executable\n' >> $out'' { inherit src; };
          fixed = mk "fixed" "printf 'x\n' > $out"
            { outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "sha256-c8s4WKaHqElMozIwUwFigvPa051Cz2LKTnndoqrH2aw="; };
        }"#,
    )?;
    if scratch.store_dir != "/nix/store" {
        eprintln!("skipping hand_written_derivations_build_as_nix_builds_them: no user namespaces for /nix/store");
        return Ok(());
    }
    std::fs::create_dir_all(scratch.dir.path().join("src"))?;
    std::fs::write(scratch.dir.path().join("src/run"), "#!/bin/sh\n")?;
    std::fs::set_permissions(scratch.dir.path().join("src/run"), std::fs::Permissions::from_mode(0o755))?;
    let evaluated = scratch.evaluate(&["b", "t", "s", "fixed"])?;
    compare_with_nix(
        "hand_written_derivations_build_as_nix_builds_them",
        scratch.dir.path(),
        &scratch.builder,
        &evaluated,
        &evaluated.drv_paths,
    )
}

#[test]
fn nix_builder_reports_failures_with_their_logs() -> TestResult {
    let test = "nix_builder_reports_failures_with_their_logs";
    let scratch = Scratch::new(
        r#"rec {
          fail = mk "fail" ''echo "nix saw this" >&2; exit 4'' { };
          user = mk "user" "printf x > $out" { inherit fail; };
          slow = mk "slow" "while :; do :; done" { };
        }"#,
    )?;
    if scratch.store_dir != "/nix/store" {
        eprintln!("skipping {test}: no /nix/store derivations");
        return Ok(());
    }
    let Some(nix) = installed_nix(test, scratch.dir.path()) else { return Ok(()) };
    let evaluated = scratch.evaluate(&["fail", "user", "slow"])?;
    let (fail, user, slow) = (&evaluated.drv_paths[0], &evaluated.drv_paths[1], &evaluated.drv_paths[2]);
    let error = nix.build(&evaluated.request(user, &scratch.logs())).err().ok_or("the build passed")?;
    let BuildError::BuilderFailed { drv_path, status, log } = &error else { panic!("wrong error: {error}") };
    assert_eq!((drv_path, *status), (fail, 4));
    assert!(std::fs::read_to_string(log)?.contains("nix saw this"));

    let logs = scratch.logs();
    let mut request = evaluated.request(slow, &logs);
    request.timeout = Some(Duration::from_secs(1));
    let error = nix.build(&request).err().ok_or("the build passed")?;
    assert!(matches!(&error, BuildError::TimedOut { drv_path, .. } if drv_path == slow), "{error}");
    Ok(())
}

/// The example fleet's checks (`checks.<host>.<check>`) with their expected drvPaths.
fn fleet_checks(fleet: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(fleet.join("expected-drvpaths.txt"))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(attr, _)| attr.starts_with("checks.") && attr.matches('.').count() == 2)
        .map(|(attr, drv)| (attr.to_string(), drv.to_string()))
        .collect())
}

#[test]
fn fleet_checks_build_locally_as_nix_builds_them() -> TestResult {
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fleet");
    let repo = nxe_engine::config::Repo::open(&std::fs::canonicalize(&fleet)?, &Default::default())?;
    let checks = fleet_checks(&fleet)?;
    assert!(checks.len() >= 30, "{} checks", checks.len());
    assert!(checks.iter().any(|(attr, _)| attr.ends_with(".backup-restore")));
    if repo.store_dir != "/nix/store" || !LocalBuilder::namespaces_available() {
        eprintln!("skipping fleet_checks_build_locally_as_nix_builds_them: /nix/store needs user namespaces here");
        return Ok(());
    }
    let attrs: Vec<&str> = checks.iter().map(|(attr, _)| attr.as_str()).collect();
    let settings = nxe_engine::fleet::settings_for(&repo, None);
    let evaluated = evaluate(&repo.entry, &attrs, settings)?;
    let expected: Vec<String> = checks.iter().map(|(_, drv)| drv.clone()).collect();
    assert_eq!(evaluated.drv_paths, expected, "the evaluator's drvPaths are not the reference's");

    let dir = TempDir::new()?;
    let local = LocalBuilder::with_isolation("/nix/store", dir.path().join("store"), Isolation::Namespace)?;
    // Every vm-test boots its guest with the vendored busybox, a fixed output.
    let busybox = evaluated.derivations.values().find(|d| d.env.get("name").is_some_and(|n| n.starts_with("busybox")));
    assert!(busybox.is_some_and(|d| d.outputs.values().all(|o| o.is_fixed())));
    compare_with_nix("fleet_checks_build_locally_as_nix_builds_them", dir.path(), &local, &evaluated, &expected)?;
    let vm_test = evaluated.output(&expected[0]);
    let text = std::fs::read_to_string(local.store().physical_path(&vm_test)?)?;
    assert!(text.starts_with("boot /nix/store/") && text.contains("-busybox-static-1.36.1\n"), "{text}");
    Ok(())
}

#[test]
fn logical_store_directory_missing_on_the_host_is_made_for_the_builder() -> TestResult {
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fleet");
    let logical = "/opt/fleet/store";
    if !LocalBuilder::namespaces_available() || Path::new(logical).exists() {
        eprintln!("skipping logical_store_directory_missing_on_the_host_is_made_for_the_builder: no namespaces here");
        return Ok(());
    }
    let text = std::fs::read_to_string(fleet.join("expected-drvpaths-store-dir.txt"))?;
    let (attr, expected) =
        text.lines().filter_map(|l| l.split_once(' ')).find(|(a, _)| a.starts_with("checks.")).ok_or("no check")?;
    let repo = nxe_engine::config::Repo::open(&std::fs::canonicalize(&fleet)?, &Default::default())?;
    let settings = EvalSettings { store_dir: logical.to_string(), ..nxe_engine::fleet::settings_for(&repo, None) };
    let evaluated = evaluate(&repo.entry, &[attr], settings)?;
    assert_eq!(evaluated.drv_paths, [expected]);

    let dir = TempDir::new()?;
    let builder = LocalBuilder::with_isolation(logical, dir.path().join("store"), Isolation::Namespace)?;
    let outcome = builder.build(&evaluated.request(expected, &dir.path().join("logs")))?;
    let out = &outcome.outputs["out"];
    let text = std::fs::read_to_string(builder.store().physical_path(out)?)?;
    assert!(text.contains(&format!(" of {logical}/")), "{text}");
    assert!(!Path::new(logical).exists(), "the build wrote into the host's {logical}");
    Ok(())
}

#[test]
fn leftovers_of_dead_processes_are_swept() -> TestResult {
    let dir = TempDir::new()?;
    let physical = dir.path().join("store");
    // No process has this id (it is above Linux's largest).
    let dead = physical.join(".nxe/builds/build-999999999-0");
    let alive = physical.join(format!(".nxe/tmp/source-{}-0", std::process::id()));
    for leftover in [&dead, &alive] {
        std::fs::create_dir_all(leftover.join("half"))?;
    }
    let store = nxe_testrunner::build::LocalStore::open("/nix/store", &physical)?;
    assert!(!dead.exists(), "a dead build's directory was kept");
    assert!(alive.exists(), "a live process's directory was removed");
    assert_eq!(store.physical(), std::fs::canonicalize(&physical)?);
    Ok(())
}
