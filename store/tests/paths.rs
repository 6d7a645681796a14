//! Store path names, parsing and computation. Expected paths come from the
//! reference Nix 2.34 (`builtins.toFile`, `builtins.path`, fixed-output
//! `derivation`s, `--store 'dummy://?store=/foo/bar'`).

use std::collections::BTreeSet;

use nxe_store::{
    make_fixed_output_path, make_output_path, make_source_path, make_store_path, make_text_path, validate_name,
    ContentAddressMethod, Hash, HashAlgo, StoreDir, StoreError, StorePath,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text_path(name: &str, text: &str, refs: &BTreeSet<StorePath>, dir: &StoreDir) -> Result<String, StoreError> {
    let h = Hash::compute(HashAlgo::Sha256, text.as_bytes());
    Ok(dir.display_path(&make_text_path(name, &h, refs, dir)?))
}

#[test]
fn to_file_paths() -> TestResult {
    let store = StoreDir::default();
    let none = BTreeSet::new();
    let x = text_path("x", "hello", &none, &store)?;
    assert_eq!(x, "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x");
    let z = text_path("z", "zz", &none, &store)?;
    assert_eq!(z, "/nix/store/qnj03ag1149n7k8yikbal4l3ngyymlpz-z");
    // builtins.toFile "y" "ref ${x} and ${z}" refers to both.
    let refs = [store.parse_path(&x)?, store.parse_path(&z)?].into();
    let y = text_path("y", &format!("ref {x} and {z}"), &refs, &store)?;
    assert_eq!(y, "/nix/store/s0jypf8wadvmjz26q7647rfax1hi0pxa-y");
    let src = text_path("script.sh", "echo hello\n", &none, &store)?;
    assert_eq!(src, "/nix/store/f6f5zji45487f2v9yli5lk1dmpxjsvnl-script.sh");
    Ok(())
}

#[test]
fn other_store_dir() -> TestResult {
    let store = StoreDir::new("/foo/bar")?;
    let x = text_path("x", "hello", &BTreeSet::new(), &store)?;
    assert_eq!(x, "/foo/bar/gfl8b65y6afilqmbss8vhm5v8v9z70gv-x");
    Ok(())
}

#[test]
fn names_as_the_reference_judges_them() {
    let long_ok = "a".repeat(211);
    let long_bad = "a".repeat(212);
    for ok in [".a", "..a", "...", "-a", "a.", "a?b=c+d_e", "A-Z.0-9", long_ok.as_str()] {
        assert!(validate_name(ok).is_ok(), "{ok:?} should be valid");
    }
    for bad in [".", "..", ".-a", "..-a", ".-", "", "a b", "é", "a/b", long_bad.as_str()] {
        assert!(validate_name(bad).is_err(), "{bad:?} should be invalid");
    }
    let msg = |n: &str| validate_name(n).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg(""), "name must not be empty");
    assert_eq!(msg("."), "name '.' is not valid");
    assert_eq!(msg("..-a"), "name '..-a' is not valid: first dash-separated component must not be '..'");
    assert_eq!(msg("a b"), "name 'a b' contains illegal character ' '");
    assert!(msg(&long_bad).ends_with("must be no longer than 211 characters"));
}

#[test]
fn parse_and_print() -> TestResult {
    let store = StoreDir::default();
    let s = "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x";
    let p = store.parse_path(s)?;
    assert_eq!(p.name(), "x");
    assert_eq!(p.hash_part(), "4g4g9i669dl63abpww0djbl2jxl6bwiz");
    assert_eq!(p.to_string(), "4g4g9i669dl63abpww0djbl2jxl6bwiz-x");
    assert_eq!(store.display_path(&p), s);
    assert_eq!(StorePath::new(*p.digest(), "x")?, p);

    let (q, rest) = store.split_path("/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x/bin/sh")?;
    assert_eq!((q, rest), (p, "/bin/sh"));
    assert!(store.is_in_store(s));
    assert!(!store.is_in_store("/nix/store"));
    assert!(!store.is_in_store("/nix/storefoo"));

    for bad in [
        "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x/bin",
        "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz",
        "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-",
        "/nix/store/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-foo",
        "/nix/store/eaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo",
        "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-a b",
        "/nix/storex/4g4g9i669dl63abpww0djbl2jxl6bwiz-x",
        "/other/4g4g9i669dl63abpww0djbl2jxl6bwiz-x",
        "4g4g9i669dl63abpww0djbl2jxl6bwiz-x",
    ] {
        assert!(store.parse_path(bad).is_err(), "{bad} should be rejected");
    }
    Ok(())
}

#[test]
fn fixed_output_paths_of_reference_derivations() -> TestResult {
    let store = StoreDir::default();
    let none = BTreeSet::new();
    let hello = |a| Hash::compute(a, b"hello");
    let cases = [
        (
            ContentAddressMethod::Flat,
            HashAlgo::Sha256,
            "fod-flat",
            "/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat",
        ),
        (
            ContentAddressMethod::Recursive,
            HashAlgo::Sha256,
            "fod-rec",
            "/nix/store/pd3wi10p5c09wipzh9d6jlsqv6frn0i9-fod-rec",
        ),
        (
            ContentAddressMethod::Flat,
            HashAlgo::Sha1,
            "fod-sha1",
            "/nix/store/0wdkj79yj2s0cvzvnqvwzsdxc5hdxn0b-fod-sha1",
        ),
        (
            ContentAddressMethod::Recursive,
            HashAlgo::Sha512,
            "fod-rec512",
            "/nix/store/7m4lsqgzak898hmygvrhcvwcl1i0dn6b-fod-rec512",
        ),
    ];
    for (method, algo, name, want) in cases {
        let p = make_fixed_output_path(method, &hello(algo), name, &none, &store)?;
        assert_eq!(store.display_path(&p), want);
    }
    // Text ingestion is a text path.
    let p = make_fixed_output_path(ContentAddressMethod::Text, &hello(HashAlgo::Sha256), "x", &none, &store)?;
    assert_eq!(store.display_path(&p), "/nix/store/4g4g9i669dl63abpww0djbl2jxl6bwiz-x");
    // Only source paths may have references.
    let refs = [p].into();
    assert!(make_fixed_output_path(ContentAddressMethod::Flat, &hello(HashAlgo::Sha256), "y", &refs, &store).is_err());
    assert!(
        make_fixed_output_path(ContentAddressMethod::Recursive, &hello(HashAlgo::Sha256), "y", &refs, &store).is_ok()
    );
    assert!(make_text_path("y", &hello(HashAlgo::Sha1), &none, &store).is_err());
    assert!(make_source_path("y", &hello(HashAlgo::Sha512), &none, false, &store).is_err());
    Ok(())
}

#[test]
fn output_paths_of_the_trivial_derivation() -> TestResult {
    // The store path function ties the pieces together: an output path of
    // `derivation { name = "a"; ... }` from the hash of its masked ATerm.
    let store = StoreDir::default();
    let masked = r#"Derive([("out","","","")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","a"),("out",""),("system","x86_64-linux")])"#;
    let h = nxe_store::sha256(masked.as_bytes());
    let p = make_output_path(&h, "out", "a", &store)?;
    assert_eq!(store.display_path(&p), "/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a");
    let q = make_store_path("output:out", &Hash::sha256_from(h), "a", &store)?;
    assert_eq!(p, q);
    Ok(())
}
