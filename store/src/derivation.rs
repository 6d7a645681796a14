//! Derivations and their ATerm text (the contents of `.drv` files).
//!
//! The text is
//! `Derive([outputs],[input drvs],[input srcs],"platform","builder",[args],[env])`
//! with outputs as `("name","path","hashAlgo","hash")`, input derivations as
//! `("drv path",["output",...])` and environment pairs as `("key","value")`,
//! all sorted, no whitespace. Strings are double-quoted with `"`, `\`,
//! newline, carriage return and tab escaped by a backslash.

use std::collections::{BTreeMap, BTreeSet};

/// One output of a derivation, as stored in the ATerm.
///
/// For an input-addressed output `hash_algo` and `hash` are empty; for a
/// fixed output `hash_algo` is the method prefix plus the algorithm
/// (`sha256`, `r:sha256`, `text:sha256`) and `hash` the digest in hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Output {
    /// The absolute output path (empty while it is being computed).
    pub path: String,
    /// `[r:|text:]<algo>` for fixed outputs, empty otherwise.
    pub hash_algo: String,
    /// The expected digest in base16 for fixed outputs, empty otherwise.
    pub hash: String,
}

impl Output {
    /// An input-addressed output with the given path.
    pub fn input_addressed(path: impl Into<String>) -> Output {
        Output { path: path.into(), ..Output::default() }
    }

    /// A fixed output of `hash` ingested with `method`, path not yet known.
    pub fn fixed(method: crate::ContentAddressMethod, hash: &crate::Hash) -> Output {
        Output { path: String::new(), hash_algo: format!("{}{}", method.prefix(), hash.algo()), hash: hash.to_base16() }
    }

    /// Whether this output carries an expected hash.
    pub fn is_fixed(&self) -> bool {
        !self.hash.is_empty()
    }
}

/// A store derivation: everything needed to build its outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Derivation {
    /// Outputs by name (`out`, `dev`, ...).
    pub outputs: BTreeMap<String, Output>,
    /// Input derivations (absolute `.drv` paths) and the outputs used from each.
    pub input_drvs: BTreeMap<String, BTreeSet<String>>,
    /// Input sources (absolute store paths).
    pub input_srcs: BTreeSet<String>,
    /// The system type, e.g. `x86_64-linux`.
    pub platform: String,
    /// The program to run.
    pub builder: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment.
    pub env: BTreeMap<String, String>,
}

impl Derivation {
    /// The ATerm text, exactly as Nix writes it into the `.drv` file.
    pub fn to_aterm(&self) -> String {
        let mut s = String::with_capacity(self.aterm_capacity(&self.input_drvs));
        self.write_aterm(&mut s, &self.input_drvs);
        s
    }

    /// About the length of the ATerm with `input_drvs` (exactly, when nothing needs an
    /// escape): the text is then written without growing its buffer.
    pub(crate) fn aterm_capacity(&self, input_drvs: &BTreeMap<String, BTreeSet<String>>) -> usize {
        // Every string is quoted and followed by a comma or a bracket.
        let text = |v: &str| v.len() + 3;
        let outputs: usize = self
            .outputs
            .iter()
            .map(|(name, o)| text(name) + text(&o.path) + text(&o.hash_algo) + text(&o.hash) + 2)
            .sum();
        let inputs: usize =
            input_drvs.iter().map(|(path, outs)| text(path) + outs.iter().map(|o| text(o)).sum::<usize>() + 4).sum();
        let sources: usize = self.input_srcs.iter().map(|p| text(p)).sum();
        let args: usize = self.args.iter().map(|a| text(a)).sum();
        let env: usize = self.env.iter().map(|(k, v)| text(k) + text(v) + 2).sum();
        32 + outputs + inputs + sources + text(&self.platform) + text(&self.builder) + args + env
    }

    /// Writes the ATerm with `input_drvs` in place of the real input
    /// derivations (hash-modulo computation substitutes digests for paths).
    pub(crate) fn write_aterm(&self, s: &mut String, input_drvs: &BTreeMap<String, BTreeSet<String>>) {
        s.push_str("Derive([");
        for (i, (name, out)) in self.outputs.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            write_str(s, name);
            s.push(',');
            write_str(s, &out.path);
            s.push(',');
            write_str(s, &out.hash_algo);
            s.push(',');
            write_str(s, &out.hash);
            s.push(')');
        }
        s.push_str("],[");
        for (i, (path, outputs)) in input_drvs.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            write_str(s, path);
            s.push(',');
            write_list(s, outputs);
            s.push(')');
        }
        s.push_str("],");
        write_list(s, &self.input_srcs);
        s.push(',');
        write_str(s, &self.platform);
        s.push(',');
        write_str(s, &self.builder);
        s.push(',');
        write_list(s, &self.args);
        s.push_str(",[");
        for (i, (k, v)) in self.env.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            write_str(s, k);
            s.push(',');
            write_str(s, v);
            s.push(')');
        }
        s.push_str("])");
    }
}

/// Appends `v` as a quoted, escaped ATerm string: runs of bytes that need no escape are
/// copied whole (every byte escaped is ASCII, so a run never splits a character).
fn write_str(s: &mut String, v: &str) {
    s.reserve(v.len() + 2);
    s.push('"');
    let mut start = 0;
    for (i, byte) in v.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => continue,
        };
        s.push_str(&v[start..i]);
        s.push_str(escaped);
        start = i + 1;
    }
    s.push_str(&v[start..]);
    s.push('"');
}

fn write_list<'a>(s: &mut String, items: impl IntoIterator<Item = &'a String>) {
    s.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write_str(s, item);
    }
    s.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\nd\re\tf$g\u{1}é");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\re\\tf$g\u{1}é\"");
    }

    #[test]
    fn empty_derivation() {
        assert_eq!(Derivation::default().to_aterm(), "Derive([],[],[],\"\",\"\",[],[])");
    }

    /// The ATerm is written into a buffer of the size it needs, never grown.
    #[test]
    fn the_aterm_fits_the_buffer_made_for_it() {
        let mut drv = Derivation {
            platform: "x86_64-linux".into(),
            builder: "/bin/sh".into(),
            args: vec!["-c".into(), "echo \"$text\" > $out".into()],
            ..Derivation::default()
        };
        drv.outputs.insert("out".into(), Output::input_addressed("/nix/store/x-a"));
        drv.outputs.insert("dev".into(), Output::input_addressed("/nix/store/x-a-dev"));
        drv.input_drvs.insert("/nix/store/y-b.drv".into(), ["out".to_string(), "lib".to_string()].into());
        drv.input_srcs.insert("/nix/store/z-c".into());
        for (k, v) in [("name", "a"), ("text", "line one\nline \"two\"\n"), ("out", "/nix/store/x-a")] {
            drv.env.insert(k.into(), v.into());
        }
        let capacity = drv.aterm_capacity(&drv.input_drvs);
        let aterm = drv.to_aterm();
        assert_eq!(aterm.capacity(), capacity, "the buffer grew: {} bytes for {capacity}", aterm.len());
        assert!(capacity - aterm.len() < 64, "{capacity} bytes for {}", aterm.len());
    }
}
