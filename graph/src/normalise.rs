//! Masking the store paths two paired derivations are expected to differ
//! in, so that [`crate::diff()`] compares what is left.
//!
//! When an input derivation changes, its output paths change, and so does
//! every value that embeds them; so do the derivation's own output paths and
//! the paths of changed sources. Each of these paths is replaced by the same
//! placeholder on both sides before values are compared. Placeholders
//! contain NUL, which no Nix string can, so they never match real text. An
//! input missing from its graph has unknown output paths: any path in the
//! store with the expected output name stands in for them.

use nxe_store::Derivation;

use crate::graph::DrvGraph;
use crate::names::drv_name;

/// The characters of a nix32 hash, as in store paths.
const NIX32_CHARS: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
/// Length of the hash part of a store path.
const HASH_LEN: usize = 32;

/// Masks for the old and the new side of one pair of derivations.
pub(crate) struct Normaliser {
    old: Vec<Mask>,
    new: Vec<Mask>,
}

/// One path to replace by a placeholder.
enum Mask {
    /// An exact path.
    Path { path: String, placeholder: String },
    /// Any `<store_dir>/<hash>-<name>` not followed by another name character.
    Named { store_dir: String, name: String, placeholder: String },
}

impl Normaliser {
    /// Masks for `old` and `new`: their own outputs, the outputs and drvPaths
    /// of the `changed_inputs` pairs and the `changed_sources` pairs.
    pub(crate) fn new(
        (old_graph, new_graph): (&DrvGraph, &DrvGraph),
        (old, new): (&Derivation, &Derivation),
        changed_inputs: &[(&str, &str)],
        changed_sources: &[(&str, &str)],
    ) -> Normaliser {
        let mut normaliser = Normaliser { old: own_outputs(old), new: own_outputs(new) };
        for (i, &(old_input, new_input)) in changed_inputs.iter().enumerate() {
            let what = format!("input{i}");
            normaliser.old.extend(input_masks(&what, old_graph, old, old_input));
            normaliser.new.extend(input_masks(&what, new_graph, new, new_input));
        }
        for (i, &(old_source, new_source)) in changed_sources.iter().enumerate() {
            let placeholder = format!("\0source{i}\0");
            normaliser.old.push(Mask::Path { path: old_source.to_owned(), placeholder: placeholder.clone() });
            normaliser.new.push(Mask::Path { path: new_source.to_owned(), placeholder });
        }
        // Exact paths first, longest first, so that a path is never replaced
        // inside a longer one; name patterns last.
        for masks in [&mut normaliser.old, &mut normaliser.new] {
            masks.sort_by_key(|mask| match mask {
                Mask::Path { path, .. } => (0, std::cmp::Reverse(path.len())),
                Mask::Named { .. } => (1, std::cmp::Reverse(0)),
            });
        }
        normaliser
    }

    /// Whether `old` and `new` are equal once the expected path changes are masked.
    pub(crate) fn same(&self, old: &str, new: &str) -> bool {
        old == new || normalise(old, &self.old) == normalise(new, &self.new)
    }
}

fn own_outputs(drv: &Derivation) -> Vec<Mask> {
    drv.outputs
        .iter()
        .filter(|(_, out)| !out.path.is_empty())
        .map(|(name, out)| Mask::Path { path: out.path.clone(), placeholder: format!("\0self:{name}\0") })
        .collect()
}

/// Masks for the input `input` of `dependent`: its drvPath and its output
/// paths, or when the graph lacks it, patterns for the outputs used.
fn input_masks(what: &str, graph: &DrvGraph, dependent: &Derivation, input: &str) -> Vec<Mask> {
    let mut masks = vec![Mask::Path { path: input.to_owned(), placeholder: format!("\0{what}:drv\0") }];
    match graph.derivation(input) {
        Some(drv) => masks.extend(
            drv.outputs
                .iter()
                .filter(|(_, out)| !out.path.is_empty())
                .map(|(name, out)| Mask::Path { path: out.path.clone(), placeholder: format!("\0{what}:{name}\0") }),
        ),
        None => {
            let store_dir = input.rsplit_once('/').map_or("", |(dir, _)| dir);
            let outputs = dependent.input_drvs.get(input).into_iter().flatten();
            masks.extend(outputs.map(|output| {
                let name = match output.as_str() {
                    "out" => drv_name(input).to_owned(),
                    other => format!("{}-{other}", drv_name(input)),
                };
                Mask::Named { store_dir: store_dir.to_owned(), name, placeholder: format!("\0{what}:{output}\0") }
            }));
        }
    }
    masks
}

fn normalise(value: &str, masks: &[Mask]) -> String {
    let mut value = value.to_owned();
    for mask in masks {
        match mask {
            Mask::Path { path, placeholder } => {
                if value.contains(path.as_str()) {
                    value = value.replace(path.as_str(), placeholder);
                }
            }
            Mask::Named { store_dir, name, placeholder } => value = mask_named(&value, store_dir, name, placeholder),
        }
    }
    value
}

/// Replaces each `<store_dir>/<hash>-<name>` in `value`, where `name` is
/// not followed by another character a store path name may contain.
fn mask_named(value: &str, store_dir: &str, name: &str, placeholder: &str) -> String {
    let prefix = format!("{store_dir}/");
    let mut masked = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find(&prefix) {
        let after = &rest[at + prefix.len()..];
        let bytes = after.as_bytes();
        let has_hash = bytes.len() > HASH_LEN
            && bytes[..HASH_LEN].iter().all(|b| NIX32_CHARS.contains(b))
            && bytes[HASH_LEN] == b'-';
        // The hash and the dash are ASCII, so `HASH_LEN + 1` is a character boundary.
        let name_end = HASH_LEN + 1 + name.len();
        let matches = has_hash
            && after[HASH_LEN + 1..].starts_with(name)
            && !after[name_end..].chars().next().is_some_and(is_name_char);
        if matches {
            masked.push_str(&rest[..at]);
            masked.push_str(placeholder);
            rest = &after[name_end..];
        } else {
            masked.push_str(&rest[..at + prefix.len()]);
            rest = after;
        }
    }
    masked.push_str(rest);
    masked
}

/// Whether `c` may appear in the name of a store path.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+-._?=".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_mask_replaces_only_whole_names_after_a_hash() {
        let hash = "0123456789abcdfghijklmnpqrsvwxyz";
        let value = format!(
            "/nix/store/{hash}-conf/x /nix/store/{hash}-conf-2 /nix/store/short-conf /other/{hash}-conf /nix/store/{hash}-conf"
        );
        let masked = mask_named(&value, "/nix/store", "conf", "@");
        assert_eq!(masked, format!("@/x /nix/store/{hash}-conf-2 /nix/store/short-conf /other/{hash}-conf @"));
    }
}
