//! Parsing the ATerm text of a derivation (see [`crate::derivation`]).

use std::collections::{BTreeMap, BTreeSet};

use crate::derivation::{Derivation, Output};
use crate::error::{Result, StoreError};

impl Derivation {
    /// Parses the contents of a `.drv` file.
    ///
    /// Entries may come in any order but must not repeat; for text that Nix
    /// wrote, `Derivation::parse(t)?.to_aterm() == t`. Errors carry the byte
    /// offset of the problem.
    pub fn parse(text: &str) -> Result<Derivation> {
        let mut p = Parser { s: text.as_bytes(), pos: 0 };
        let drv = p.derivation()?;
        if p.pos != p.s.len() {
            return Err(p.err("trailing data after the derivation"));
        }
        Ok(drv)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> StoreError {
        StoreError::DerivationParse { offset: self.pos, message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn consume(&mut self, lit: &str) -> Result<()> {
        if self.s.get(self.pos..).is_some_and(|rest| rest.starts_with(lit.as_bytes())) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.err(format!("expected '{lit}'")))
        }
    }

    fn string(&mut self) -> Result<String> {
        self.consume("\"")?;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                }
                other => out.push(other),
            }
        }
        // Escapes only replace ASCII bytes, so the input's UTF-8 survives.
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }

    /// `[item,item,...]`, calling `item` for each element.
    fn list(&mut self, mut item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.consume("[")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn string_list(&mut self) -> Result<Vec<String>> {
        let mut v = Vec::new();
        self.list(|p| {
            v.push(p.string()?);
            Ok(())
        })?;
        Ok(v)
    }

    fn string_set(&mut self) -> Result<BTreeSet<String>> {
        let mut set = BTreeSet::new();
        self.list(|p| {
            let at = p.pos;
            let s = p.string()?;
            if !set.insert(s) {
                p.pos = at;
                return Err(p.err("duplicate element in a set"));
            }
            Ok(())
        })?;
        Ok(set)
    }

    fn insert_unique<V>(&mut self, map: &mut BTreeMap<String, V>, at: usize, k: String, v: V) -> Result<()> {
        if map.insert(k, v).is_some() {
            self.pos = at;
            return Err(self.err("duplicate key"));
        }
        Ok(())
    }

    fn derivation(&mut self) -> Result<Derivation> {
        self.consume("Derive(")?;
        let mut outputs = BTreeMap::new();
        self.list(|p| {
            let at = p.pos;
            p.consume("(")?;
            let name = p.string()?;
            p.consume(",")?;
            let path = p.string()?;
            p.consume(",")?;
            let hash_algo = p.string()?;
            p.consume(",")?;
            let hash = p.string()?;
            p.consume(")")?;
            let out = Output { path, hash_algo, hash };
            p.insert_unique(&mut outputs, at, name, out)
        })?;
        self.consume(",")?;
        let mut input_drvs = BTreeMap::new();
        self.list(|p| {
            let at = p.pos;
            p.consume("(")?;
            let path = p.string()?;
            p.consume(",")?;
            if p.peek() == Some(b'(') {
                return Err(p.err("dynamic-derivation input outputs are not supported"));
            }
            let outs = p.string_set()?;
            p.consume(")")?;
            p.insert_unique(&mut input_drvs, at, path, outs)
        })?;
        self.consume(",")?;
        let input_srcs = self.string_set()?;
        self.consume(",")?;
        let platform = self.string()?;
        self.consume(",")?;
        let builder = self.string()?;
        self.consume(",")?;
        let args = self.string_list()?;
        self.consume(",")?;
        let mut env = BTreeMap::new();
        self.list(|p| {
            let at = p.pos;
            p.consume("(")?;
            let k = p.string()?;
            p.consume(",")?;
            let v = p.string()?;
            p.consume(")")?;
            p.insert_unique(&mut env, at, k, v)
        })?;
        self.consume(")")?;
        Ok(Derivation { outputs, input_drvs, input_srcs, platform, builder, args, env })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset_of(text: &str) -> Option<usize> {
        match Derivation::parse(text) {
            Err(StoreError::DerivationParse { offset, .. }) => Some(offset),
            _ => None,
        }
    }

    #[test]
    fn round_trips_escapes() -> Result<()> {
        let t = r#"Derive([("out","","","")],[],[],"s","b",["a\"b","\\\n\r\t"],[("k","v\\")])"#;
        let d = Derivation::parse(t)?;
        assert_eq!(d.args[0], "a\"b");
        assert_eq!(d.args[1], "\\\n\r\t");
        assert_eq!(d.to_aterm(), t);
        Ok(())
    }

    #[test]
    fn unknown_escape_keeps_the_character() -> Result<()> {
        let d = Derivation::parse(r#"Derive([],[],[],"\x\$","",[],[])"#)?;
        assert_eq!(d.platform, "x$");
        Ok(())
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(offset_of(""), Some(0));
        assert_eq!(offset_of("Derive("), Some(7));
        assert_eq!(offset_of(r#"Derive([],[],[],"s","b",[],[])x"#), Some(30));
        assert_eq!(offset_of(r#"Derive([],[],[],"s,"b",[],[])"#), Some(20));
        assert_eq!(offset_of(r#"Derive([],[],[],"s","b",[],[)"#), Some(28));
        assert_eq!(offset_of(r#"Derive([],[],[],"s","b",["a" "b"],[])"#), Some(28));
        // Unterminated string.
        assert_eq!(offset_of(r#"Derive([],[],[],"s"#), Some(18));
        // Duplicate env key: offset of the second pair.
        assert_eq!(offset_of(r#"Derive([],[],[],"s","b",[],[("k","1"),("k","2")])"#), Some(38));
        assert_eq!(offset_of(r#"Derive([],[],["/a","/a"],"s","b",[],[])"#), Some(19));
    }
}
