//! Derivations built from scratch the way `builtins.derivation` does,
//! checked against the reference Nix 2.34: the drvPaths and outPaths it
//! printed for the same attribute sets, and the `.drv` files it wrote.

use std::collections::{BTreeMap, HashMap};

use nxe_store::{
    hash_derivation_modulo, ContentAddressMethod, Derivation, Hash, HashAlgo, Output, StoreDir, StoreError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SYSTEM: &str = "x86_64-linux";

/// A reference case: name, expected drvPath, expected (output, path), .drv text.
struct Expected {
    name: &'static str,
    drv_path: &'static str,
    outputs: &'static [(&'static str, &'static str)],
    aterm: &'static str,
}

const TRIVIAL: Expected = Expected {
    name: "a",
    drv_path: "/nix/store/7g5giqf764p3y3zv7a8rqsy9sqqq5kw4-a.drv",
    outputs: &[("out", "/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a")],
    aterm: r#"Derive([("out","/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a","","")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","a"),("out","/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a"),("system","x86_64-linux")])"#,
};

const MULTI: Expected = Expected {
    name: "multi",
    drv_path: "/nix/store/w2jbkppry61878nkr9rpayah7ck2d4qr-multi.drv",
    outputs: &[
        ("dev", "/nix/store/py357rqim3sfbm9a438405qbq2ihaiq7-multi-dev"),
        ("out", "/nix/store/0m9ii5yw6dsvikjv8brxjfcq4fi7n6ch-multi"),
    ],
    aterm: r#"Derive([("dev","/nix/store/py357rqim3sfbm9a438405qbq2ihaiq7-multi-dev","",""),("out","/nix/store/0m9ii5yw6dsvikjv8brxjfcq4fi7n6ch-multi","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo \"hi\" \\ $out\n\ttab"],[("builder","/bin/sh"),("dev","/nix/store/py357rqim3sfbm9a438405qbq2ihaiq7-multi-dev"),("name","multi"),("out","/nix/store/0m9ii5yw6dsvikjv8brxjfcq4fi7n6ch-multi"),("outputs","out dev"),("system","x86_64-linux"),("weird","quote\" back\\ nl\n cr\r tab\t dollar$ unicode é")])"#,
};

const DEP: Expected = Expected {
    name: "dep",
    drv_path: "/nix/store/z5v95ja91sf7i36dwrcwb1pcxrfhjfag-dep.drv",
    outputs: &[("out", "/nix/store/ni84ffd4gdqqarfhsgf846y08v3jxm6w-dep")],
    aterm: r#"Derive([("out","/nix/store/ni84ffd4gdqqarfhsgf846y08v3jxm6w-dep","","")],[("/nix/store/7g5giqf764p3y3zv7a8rqsy9sqqq5kw4-a.drv",["out"]),("/nix/store/w2jbkppry61878nkr9rpayah7ck2d4qr-multi.drv",["dev","out"])],[],"x86_64-linux","/bin/sh",[],[("a","/nix/store/f37kxm5wf98b2s839zaiybv38zil0s40-a"),("builder","/bin/sh"),("d","/nix/store/py357rqim3sfbm9a438405qbq2ihaiq7-multi-dev"),("m","/nix/store/0m9ii5yw6dsvikjv8brxjfcq4fi7n6ch-multi"),("name","dep"),("out","/nix/store/ni84ffd4gdqqarfhsgf846y08v3jxm6w-dep"),("system","x86_64-linux")])"#,
};

const FOD_FLAT: Expected = Expected {
    name: "fod-flat",
    drv_path: "/nix/store/6qmxaxd766xwfzkyl3z5lcwzfqq3mjl1-fod-flat.drv",
    outputs: &[("out", "/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat")],
    aterm: r#"Derive([("out","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat","sha256","2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","fod-flat"),("out","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat"),("outputHash","2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),("outputHashAlgo","sha256"),("outputHashMode","flat"),("system","x86_64-linux")])"#,
};

/// Same output as [`FOD_FLAT`], different builder.
const FOD_FLAT_BASH: Expected = Expected {
    name: "fod-flat",
    drv_path: "/nix/store/pymwz7mx37nc2ih0sqhgkg17gsagxvzp-fod-flat.drv",
    outputs: &[("out", "/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat")],
    aterm: r#"Derive([("out","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat","sha256","2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")],[],[],"x86_64-linux","/bin/bash",[],[("builder","/bin/bash"),("name","fod-flat"),("out","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat"),("outputHash","2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),("outputHashAlgo","sha256"),("outputHashMode","flat"),("system","x86_64-linux")])"#,
};

const FOD_REC: Expected = Expected {
    name: "fod-rec",
    drv_path: "/nix/store/bq6040qz1dxhpj887ly7z5yivgk46q59-fod-rec.drv",
    outputs: &[("out", "/nix/store/pd3wi10p5c09wipzh9d6jlsqv6frn0i9-fod-rec")],
    aterm: r#"Derive([("out","/nix/store/pd3wi10p5c09wipzh9d6jlsqv6frn0i9-fod-rec","r:sha256","2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","fod-rec"),("out","/nix/store/pd3wi10p5c09wipzh9d6jlsqv6frn0i9-fod-rec"),("outputHash","sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="),("outputHashAlgo","sha256"),("outputHashMode","recursive"),("system","x86_64-linux")])"#,
};

const FOD_SHA1: Expected = Expected {
    name: "fod-sha1",
    drv_path: "/nix/store/da2zfwcr89c3542yzzl5wkbqw386z9qa-fod-sha1.drv",
    outputs: &[("out", "/nix/store/0wdkj79yj2s0cvzvnqvwzsdxc5hdxn0b-fod-sha1")],
    aterm: r#"Derive([("out","/nix/store/0wdkj79yj2s0cvzvnqvwzsdxc5hdxn0b-fod-sha1","sha1","aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","fod-sha1"),("out","/nix/store/0wdkj79yj2s0cvzvnqvwzsdxc5hdxn0b-fod-sha1"),("outputHash","sha1-qvTGHdzF6KLavt4PO0gs2a6pQ00="),("system","x86_64-linux")])"#,
};

const FOD_REC512: Expected = Expected {
    name: "fod-rec512",
    drv_path: "/nix/store/1hpvxyqvrijalx087y4sljgmm80fn4yd-fod-rec512.drv",
    outputs: &[("out", "/nix/store/7m4lsqgzak898hmygvrhcvwcl1i0dn6b-fod-rec512")],
    aterm: r#"Derive([("out","/nix/store/7m4lsqgzak898hmygvrhcvwcl1i0dn6b-fod-rec512","r:sha512","9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043")],[],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","fod-rec512"),("out","/nix/store/7m4lsqgzak898hmygvrhcvwcl1i0dn6b-fod-rec512"),("outputHash","sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw=="),("outputHashMode","recursive"),("system","x86_64-linux")])"#,
};

const WITH_SRC: Expected = Expected {
    name: "with-src",
    drv_path: "/nix/store/3dkqdm1fw86z666gw9bn0xhm94l3n35s-with-src.drv",
    outputs: &[("out", "/nix/store/502ayl32g5lfr5smc8nin00a0kml42h9-with-src")],
    aterm: r#"Derive([("out","/nix/store/502ayl32g5lfr5smc8nin00a0kml42h9-with-src","","")],[],["/nix/store/f6f5zji45487f2v9yli5lk1dmpxjsvnl-script.sh"],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("name","with-src"),("out","/nix/store/502ayl32g5lfr5smc8nin00a0kml42h9-with-src"),("src","/nix/store/f6f5zji45487f2v9yli5lk1dmpxjsvnl-script.sh"),("system","x86_64-linux")])"#,
};

const ON_FOD: Expected = Expected {
    name: "on-fod",
    drv_path: "/nix/store/gmxvndz2bjanzmk7c9w49gqxjvylj4kd-on-fod.drv",
    outputs: &[("out", "/nix/store/k4ikifr7d87lffninnbakrs95v2f7x1g-on-fod")],
    aterm: r#"Derive([("out","/nix/store/k4ikifr7d87lffninnbakrs95v2f7x1g-on-fod","","")],[("/nix/store/6qmxaxd766xwfzkyl3z5lcwzfqq3mjl1-fod-flat.drv",["out"]),("/nix/store/bq6040qz1dxhpj887ly7z5yivgk46q59-fod-rec.drv",["out"])],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("f","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat"),("name","on-fod"),("out","/nix/store/k4ikifr7d87lffninnbakrs95v2f7x1g-on-fod"),("r","/nix/store/pd3wi10p5c09wipzh9d6jlsqv6frn0i9-fod-rec"),("system","x86_64-linux")])"#,
};

/// Depends on two different derivations with the same hash modulo.
const ON_TWO_FODS: Expected = Expected {
    name: "on-two-fods",
    drv_path: "/nix/store/2k6avzw9zakn0cdzajhz6lj3f259b43q-on-two-fods.drv",
    outputs: &[("out", "/nix/store/j5ycnr6izh5g3mrq5x047vyaw3dmj0yk-on-two-fods")],
    aterm: r#"Derive([("out","/nix/store/j5ycnr6izh5g3mrq5x047vyaw3dmj0yk-on-two-fods","","")],[("/nix/store/6qmxaxd766xwfzkyl3z5lcwzfqq3mjl1-fod-flat.drv",["out"]),("/nix/store/pymwz7mx37nc2ih0sqhgkg17gsagxvzp-fod-flat.drv",["out"])],[],"x86_64-linux","/bin/sh",[],[("builder","/bin/sh"),("f","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat"),("g","/nix/store/6dlq85ipg078m6vw6pc6w1pfylqpyp4s-fod-flat"),("name","on-two-fods"),("out","/nix/store/j5ycnr6izh5g3mrq5x047vyaw3dmj0yk-on-two-fods"),("system","x86_64-linux")])"#,
};

const ALL: [&Expected; 11] = [
    &TRIVIAL,
    &MULTI,
    &DEP,
    &FOD_FLAT,
    &FOD_FLAT_BASH,
    &FOD_REC,
    &FOD_SHA1,
    &FOD_REC512,
    &WITH_SRC,
    &ON_FOD,
    &ON_TWO_FODS,
];

/// What the evaluator keeps: the hash modulo of every derivation it made.
#[derive(Default)]
struct Evaluator {
    store: StoreDir,
    hashes: HashMap<String, [u8; 32]>,
}

impl Evaluator {
    /// `derivation { name; system; builder; <env> }` with the given outputs.
    fn drv(&self, name: &str, builder: &str, outputs: &[&str], env: &[(&str, &str)]) -> Derivation {
        let mut d = Derivation { platform: SYSTEM.to_owned(), builder: builder.to_owned(), ..Derivation::default() };
        for (k, v) in [("name", name), ("system", SYSTEM), ("builder", builder)].iter().chain(env) {
            d.env.insert((*k).to_owned(), (*v).to_owned());
        }
        for o in outputs {
            d.outputs.insert((*o).to_owned(), Output::default());
        }
        d
    }

    fn fixed(
        &self,
        name: &str,
        builder: &str,
        method: ContentAddressMethod,
        algo: HashAlgo,
        env: &[(&str, &str)],
    ) -> Derivation {
        let mut d = self.drv(name, builder, &[], env);
        let out = Output::fixed(method, &Hash::compute(algo, b"hello"));
        d.outputs.insert("out".to_owned(), out);
        d
    }

    /// Fills outputs, checks everything against `want`, remembers the hash.
    fn instantiate(&mut self, mut drv: Derivation, want: &Expected) -> TestResult {
        let hashes = &self.hashes;
        let mut lookup = |p: &str| {
            hashes
                .get(p)
                .copied()
                .ok_or_else(|| StoreError::InvalidDerivation { name: p.to_owned(), reason: "unknown input".to_owned() })
        };
        drv.fill_output_paths(want.name, &self.store, &mut lookup)?;
        assert_eq!(drv.to_aterm(), want.aterm, "{}", want.name);
        let outs: Vec<(&str, &str)> = drv.outputs.iter().map(|(n, o)| (n.as_str(), o.path.as_str())).collect();
        assert_eq!(outs, want.outputs, "{}", want.name);
        let drv_path = self.store.display_path(&drv.drv_path(want.name, &self.store)?);
        assert_eq!(drv_path, want.drv_path);
        let h = hash_derivation_modulo(&drv, &mut lookup)?;
        self.hashes.insert(drv_path, h);
        Ok(())
    }
}

#[test]
fn derivations_match_the_reference() -> TestResult {
    use ContentAddressMethod::{Flat, Recursive};
    let mut ev = Evaluator::default();
    ev.instantiate(ev.drv("a", "/bin/sh", &["out"], &[]), &TRIVIAL)?;

    let mut multi = ev.drv(
        "multi",
        "/bin/sh",
        &["out", "dev"],
        &[("outputs", "out dev"), ("weird", "quote\" back\\ nl\n cr\r tab\t dollar$ unicode é")],
    );
    multi.args = vec!["-c".to_owned(), "echo \"hi\" \\ $out\n\ttab".to_owned()];
    ev.instantiate(multi, &MULTI)?;

    let mut dep = ev.drv(
        "dep",
        "/bin/sh",
        &["out"],
        &[("a", TRIVIAL.outputs[0].1), ("d", MULTI.outputs[0].1), ("m", MULTI.outputs[1].1)],
    );
    dep.input_drvs.insert(TRIVIAL.drv_path.to_owned(), ["out".to_owned()].into());
    dep.input_drvs.insert(MULTI.drv_path.to_owned(), ["out".to_owned(), "dev".to_owned()].into());
    ev.instantiate(dep, &DEP)?;

    let hex = Hash::compute(HashAlgo::Sha256, b"hello").to_base16();
    let flat_env = [("outputHash", hex.as_str()), ("outputHashAlgo", "sha256"), ("outputHashMode", "flat")];
    ev.instantiate(ev.fixed("fod-flat", "/bin/sh", Flat, HashAlgo::Sha256, &flat_env), &FOD_FLAT)?;
    ev.instantiate(ev.fixed("fod-flat", "/bin/bash", Flat, HashAlgo::Sha256, &flat_env), &FOD_FLAT_BASH)?;
    let rec_env = [
        ("outputHash", "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="),
        ("outputHashAlgo", "sha256"),
        ("outputHashMode", "recursive"),
    ];
    ev.instantiate(ev.fixed("fod-rec", "/bin/sh", Recursive, HashAlgo::Sha256, &rec_env), &FOD_REC)?;
    let sha1_env = [("outputHash", "sha1-qvTGHdzF6KLavt4PO0gs2a6pQ00=")];
    ev.instantiate(ev.fixed("fod-sha1", "/bin/sh", Flat, HashAlgo::Sha1, &sha1_env), &FOD_SHA1)?;
    let sri512 = Hash::compute(HashAlgo::Sha512, b"hello").to_sri();
    let rec512_env = [("outputHash", sri512.as_str()), ("outputHashMode", "recursive")];
    ev.instantiate(ev.fixed("fod-rec512", "/bin/sh", Recursive, HashAlgo::Sha512, &rec512_env), &FOD_REC512)?;

    let script = "/nix/store/f6f5zji45487f2v9yli5lk1dmpxjsvnl-script.sh";
    let mut with_src = ev.drv("with-src", "/bin/sh", &["out"], &[("src", script)]);
    with_src.input_srcs.insert(script.to_owned());
    ev.instantiate(with_src, &WITH_SRC)?;

    let mut on_fod =
        ev.drv("on-fod", "/bin/sh", &["out"], &[("f", FOD_FLAT.outputs[0].1), ("r", FOD_REC.outputs[0].1)]);
    on_fod.input_drvs.insert(FOD_FLAT.drv_path.to_owned(), ["out".to_owned()].into());
    on_fod.input_drvs.insert(FOD_REC.drv_path.to_owned(), ["out".to_owned()].into());
    ev.instantiate(on_fod, &ON_FOD)?;

    let fod_out = FOD_FLAT.outputs[0].1;
    let mut two = ev.drv("on-two-fods", "/bin/sh", &["out"], &[("f", fod_out), ("g", fod_out)]);
    two.input_drvs.insert(FOD_FLAT.drv_path.to_owned(), ["out".to_owned()].into());
    two.input_drvs.insert(FOD_FLAT_BASH.drv_path.to_owned(), ["out".to_owned()].into());
    ev.instantiate(two, &ON_TWO_FODS)?;
    assert_eq!(ev.hashes[FOD_FLAT.drv_path], ev.hashes[FOD_FLAT_BASH.drv_path]);
    Ok(())
}

#[test]
fn reference_drv_files_round_trip() -> TestResult {
    for want in ALL {
        let drv = Derivation::parse(want.aterm)?;
        assert_eq!(drv.to_aterm(), want.aterm);
        let store = StoreDir::default();
        assert_eq!(store.display_path(&drv.drv_path(want.name, &store)?), want.drv_path);
    }
    Ok(())
}

/// Hashes modulo computed only from `.drv` texts, as when reading the store.
#[test]
fn hash_modulo_from_parsed_files() -> TestResult {
    let texts: BTreeMap<&str, &str> = ALL.iter().map(|e| (e.drv_path, e.aterm)).collect();
    fn modulo(path: &str, texts: &BTreeMap<&str, &str>) -> Result<[u8; 32], StoreError> {
        let text = texts
            .get(path)
            .ok_or_else(|| StoreError::InvalidDerivation { name: path.to_owned(), reason: "not found".to_owned() })?;
        hash_derivation_modulo(&Derivation::parse(text)?, &mut |p| modulo(p, texts))
    }
    // Re-derive DEP's output path from the masked form of its parsed file.
    let mut dep = Derivation::parse(DEP.aterm)?;
    for out in dep.outputs.values_mut() {
        out.path.clear();
    }
    dep.fill_output_paths("dep", &StoreDir::default(), &mut |p| modulo(p, &texts))?;
    assert_eq!(dep.to_aterm(), DEP.aterm);
    // A fixed-output derivation's hash ignores how it is built.
    assert_eq!(modulo(FOD_FLAT.drv_path, &texts)?, modulo(FOD_FLAT_BASH.drv_path, &texts)?);
    assert_ne!(modulo(FOD_FLAT.drv_path, &texts)?, modulo(FOD_REC.drv_path, &texts)?);
    Ok(())
}
