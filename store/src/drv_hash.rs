//! Derivation hashes "modulo fixed outputs", output paths and `.drv` paths.
//!
//! The hash modulo of a derivation identifies what it builds while ignoring
//! how fixed-output inputs are fetched:
//!
//! * a fixed-output derivation hashes to
//!   `sha256("fixed:out:<r:?><algo>:<hex>:<out path>")`;
//! * any other derivation hashes to the SHA-256 of its ATerm in which each
//!   input derivation path is replaced by the hex of *its* hash modulo
//!   (inputs landing on the same digest are merged, their outputs united).
//!
//! The output paths of an input-addressed derivation come from the hash
//! modulo of the derivation with every output path, and every environment
//! variable named after an output, blanked.

use std::collections::{BTreeMap, BTreeSet};

use crate::derivation::{Derivation, Output};
use crate::error::{Result, StoreError};
use crate::hash::{base16_encode, sha256, Hash};
use crate::make_path::{make_fixed_output_path, make_output_path, make_text_path, ContentAddressMethod};
use crate::path::{StoreDir, StorePath};

impl Derivation {
    fn invalid(&self, reason: impl Into<String>) -> StoreError {
        StoreError::InvalidDerivation { name: self.env.get("name").cloned().unwrap_or_default(), reason: reason.into() }
    }

    /// The single fixed output `out`, if this is a fixed-output derivation;
    /// an error if fixed and other outputs are mixed.
    pub fn fixed_output(&self) -> Result<Option<&Output>> {
        if !self.outputs.values().any(Output::is_fixed) {
            return Ok(None);
        }
        match self.outputs.get("out") {
            Some(out) if self.outputs.len() == 1 => Ok(Some(out)),
            _ => Err(self.invalid("a fixed-output derivation must have exactly one output, 'out'")),
        }
    }

    /// Computes and fills in the output paths (in `outputs` and in `env`)
    /// of a derivation named `name` whose outputs have no paths yet, as
    /// `builtins.derivation` does.
    ///
    /// `lookup` gives the hash modulo (see [`hash_derivation_modulo`]) of
    /// an input derivation by its path; it is not called for fixed outputs.
    pub fn fill_output_paths<E: From<StoreError>>(
        &mut self,
        name: &str,
        store_dir: &StoreDir,
        lookup: &mut dyn FnMut(&str) -> Result<[u8; 32], E>,
    ) -> Result<(), E> {
        if let Some(out) = self.fixed_output()? {
            let (method, algo) = ContentAddressMethod::parse_with_algo(&out.hash_algo)?;
            let hash = Hash::parse_unprefixed(&out.hash, algo)?;
            let path = make_fixed_output_path(method, &hash, name, &BTreeSet::new(), store_dir)?;
            let path = store_dir.display_path(&path);
            self.env.insert("out".to_owned(), path.clone());
            if let Some(o) = self.outputs.get_mut("out") {
                o.path = path;
            }
            return Ok(());
        }
        if self.outputs.values().any(|o| !o.hash_algo.is_empty()) {
            return Err(self.invalid("floating content-addressed outputs are not supported").into());
        }
        let names: Vec<String> = self.outputs.keys().cloned().collect();
        for o in &names {
            self.env.insert(o.clone(), String::new());
            if let Some(out) = self.outputs.get_mut(o) {
                out.path.clear();
            }
        }
        let h = hash_derivation_modulo(self, lookup)?;
        for o in &names {
            let path = store_dir.display_path(&make_output_path(&h, o, name, store_dir)?);
            self.env.insert(o.clone(), path.clone());
            if let Some(out) = self.outputs.get_mut(o) {
                out.path = path;
            }
        }
        Ok(())
    }

    /// The path of the `.drv` file for this derivation named `name`: a text
    /// path `<name>.drv` over the ATerm, referring to the input sources and
    /// input derivations.
    pub fn drv_path(&self, name: &str, store_dir: &StoreDir) -> Result<StorePath> {
        let mut refs = BTreeSet::new();
        for p in self.input_srcs.iter().chain(self.input_drvs.keys()) {
            refs.insert(store_dir.parse_path(p)?);
        }
        let text_hash = Hash::sha256_from(sha256(self.to_aterm().as_bytes()));
        make_text_path(&format!("{name}.drv"), &text_hash, &refs, store_dir)
    }
}

/// The hash of `drv` modulo fixed-output derivations (see the module docs).
///
/// `lookup` returns the hash modulo of an input derivation given its path;
/// callers typically cache the value of this function for every
/// derivation they create (computed on the final derivation, with output
/// paths filled in) and read `.drv` files for the others.
pub fn hash_derivation_modulo<E: From<StoreError>>(
    drv: &Derivation,
    lookup: &mut dyn FnMut(&str) -> Result<[u8; 32], E>,
) -> Result<[u8; 32], E> {
    if let Some(out) = drv.fixed_output()? {
        let fingerprint = format!("fixed:out:{}:{}:{}", out.hash_algo, out.hash, out.path);
        return Ok(sha256(fingerprint.as_bytes()));
    }
    let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, outputs) in &drv.input_drvs {
        let h = lookup(path)?;
        inputs.entry(base16_encode(&h)).or_default().extend(outputs.iter().cloned());
    }
    let mut text = String::with_capacity(drv.aterm_capacity(&inputs));
    drv.write_aterm(&mut text, &inputs);
    Ok(sha256(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_inputs(_: &str) -> Result<[u8; 32]> {
        Err(StoreError::InvalidDerivation { name: String::new(), reason: "unexpected lookup".to_owned() })
    }

    #[test]
    fn inputs_with_equal_hashes_merge() -> Result<()> {
        let mut drv = Derivation::default();
        drv.outputs.insert("out".into(), Output::default());
        drv.input_drvs.insert("/nix/store/a.drv".into(), ["out".to_owned()].into());
        drv.input_drvs.insert("/nix/store/b.drv".into(), ["dev".to_owned()].into());
        let h = hash_derivation_modulo(&drv, &mut |_| Ok::<_, StoreError>([7u8; 32]))?;
        let key = base16_encode(&[7u8; 32]);
        let text = format!("Derive([(\"out\",\"\",\"\",\"\")],[(\"{key}\",[\"dev\",\"out\"])],[],\"\",\"\",[],[])");
        assert_eq!(h, sha256(text.as_bytes()));
        Ok(())
    }

    #[test]
    fn mixed_fixed_outputs_are_rejected() {
        let mut drv = Derivation::default();
        drv.outputs.insert("out".into(), Output { path: String::new(), hash_algo: "sha256".into(), hash: "00".into() });
        drv.outputs.insert("dev".into(), Output::default());
        assert!(hash_derivation_modulo(&drv, &mut no_inputs).is_err());
        let mut d2 = drv.clone();
        assert!(d2.fill_output_paths("x", &StoreDir::default(), &mut no_inputs).is_err());
    }
}
