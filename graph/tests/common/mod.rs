//! Test helpers: a small fleet builder that computes real output paths and
//! drvPaths with `nxe_store`, so store paths embedded in environment values
//! change exactly as they would in a Nix evaluation.

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

use std::collections::{BTreeMap, BTreeSet};

use nxe_graph::{DrvGraph, RootKind};
use nxe_store::{hash_derivation_modulo, make_text_path, Derivation, Hash, HashAlgo, Output, StoreDir, StoreError};

/// Derivations created so far, by drvPath, with their hashes modulo.
#[derive(Default)]
pub struct Fleet {
    store: StoreDir,
    hashes: BTreeMap<String, [u8; 32]>,
    /// Every derivation created, by drvPath.
    pub drvs: BTreeMap<String, Derivation>,
    /// Their drvPaths in creation order: inputs before the derivations using them.
    pub order: Vec<String>,
}

impl Fleet {
    /// A derivation `name` with output `out`, using the `out` output of each
    /// of `inputs`, with `env` added to the usual variables; returns its drvPath.
    pub fn drv(&mut self, name: &str, inputs: &[&str], env: &[(&str, &str)]) -> String {
        self.drv_with(name, inputs, env, |_| {})
    }

    /// Like [`Fleet::drv`], letting `edit` change the derivation before its
    /// output paths are computed.
    pub fn drv_with(
        &mut self,
        name: &str,
        inputs: &[&str],
        env: &[(&str, &str)],
        edit: impl FnOnce(&mut Derivation),
    ) -> String {
        let mut drv = Derivation::default();
        drv.outputs.insert("out".into(), Output::default());
        for input in inputs {
            drv.input_drvs.insert((*input).to_owned(), BTreeSet::from(["out".to_owned()]));
        }
        drv.platform = "x86_64-linux".into();
        drv.builder = "/bin/sh".into();
        drv.args = vec!["-c".into(), "echo hi > $out".into()];
        for (key, value) in
            [("builder", "/bin/sh"), ("name", name), ("system", "x86_64-linux")].into_iter().chain(env.iter().copied())
        {
            drv.env.insert(key.into(), value.into());
        }
        edit(&mut drv);
        let hashes = &self.hashes;
        let mut lookup = |path: &str| -> Result<[u8; 32], StoreError> {
            hashes
                .get(path)
                .copied()
                .ok_or_else(|| StoreError::NotInStore { path: path.into(), store_dir: "test".into() })
        };
        drv.fill_output_paths(name, &self.store, &mut lookup).expect("output paths");
        let hash = hash_derivation_modulo(&drv, &mut lookup).expect("hash modulo");
        let path = self.store.display_path(&drv.drv_path(name, &self.store).expect("drv path"));
        self.hashes.insert(path.clone(), hash);
        self.drvs.insert(path.clone(), drv);
        self.order.push(path.clone());
        path
    }

    /// The `out` path of the derivation at `drv_path`.
    pub fn out(&self, drv_path: &str) -> String {
        self.drvs[drv_path].outputs["out"].path.clone()
    }

    /// The store path of a source file `name` with `contents`, as `builtins.toFile` makes it.
    pub fn source(&self, name: &str, contents: &str) -> String {
        let hash = Hash::compute(HashAlgo::Sha256, contents.as_bytes());
        self.store.display_path(&make_text_path(name, &hash, &BTreeSet::new(), &self.store).expect("text path"))
    }

    /// A graph of every derivation created, with `roots` as `(kind, name, drvPath)`.
    pub fn graph(&self, roots: &[(RootKind, &str, &str)]) -> DrvGraph {
        let mut graph = DrvGraph::new();
        graph.add_derivations(self.drvs.clone());
        for (kind, name, path) in roots {
            graph.add_root(*kind, name, path);
        }
        graph
    }
}

/// A derivation with made-up paths: outputs `(name, path)`, input drvs and sources.
pub fn fake_drv(outputs: &[(&str, &str)], inputs: &[&str], sources: &[&str]) -> Derivation {
    let mut drv = Derivation::default();
    for (name, path) in outputs {
        drv.outputs.insert((*name).to_owned(), Output::input_addressed(*path));
    }
    for input in inputs {
        drv.input_drvs.insert((*input).to_owned(), BTreeSet::from(["out".to_owned()]));
    }
    drv.input_srcs = sources.iter().map(|s| (*s).to_owned()).collect();
    drv.platform = "x86_64-linux".into();
    drv.builder = "/bin/sh".into();
    drv
}
