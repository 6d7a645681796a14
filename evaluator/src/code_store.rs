//! Compiled files kept between runs.
//!
//! A [`CodeStore`] writes each compiled file's tree to a directory that the caller names
//! (the engine uses its cache's), so that a later process importing the same text decodes
//! the tree instead of parsing and compiling the file again.
//!
//! An entry is named after the file's path and mode, so a directory holds at most one entry
//! per source file. It records the key of what it was compiled from and a checksum of its
//! payload. The key covers the nxe executable, the options that change compilation, the
//! path and the text.
//! An entry whose key differs, whose checksum fails or that does not decode is not used:
//! the file is compiled again and its entry replaced.
//! Entries are written to a temporary file and renamed into place, so a reader sees a whole
//! entry or none, and two processes may write the same entry at once.

use crate::compile::CompileOptions;
use crate::ir::{
    AttrKey, AttrValue, AttrsDef, BinOp, DynamicAttr, Expr, LambdaDef, Literal, OperatorStarts, Param, StaticAttr,
    StrPart,
};
use crate::source::{FileId, Pos, Span};
use crate::symbol::Symbol;
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The first bytes of an entry: what it is and its format's version.
const MAGIC: &[u8; 8] = b"nxecode4";
/// Bytes before the payload: the magic, the key and the payload's checksum.
const HEADER_LEN: usize = 8 + 32 + 32;

/// A directory of compiled files, for the source files below some directories.
#[derive(Debug)]
pub struct CodeStore {
    dir: PathBuf,
    roots: Vec<String>,
}

impl CodeStore {
    /// A store in `dir` for the files below `roots` (absolute directories): a repository
    /// and the libraries it names, not temporary checkouts or store paths, whose paths
    /// change from run to run and would only fill the directory.
    pub fn new(dir: PathBuf, roots: &[PathBuf]) -> CodeStore {
        let roots = roots
            .iter()
            .map(|root| {
                let mut root = root.to_string_lossy().into_owned();
                if !root.ends_with('/') {
                    root.push('/');
                }
                root
            })
            .collect();
        CodeStore { dir, roots }
    }

    /// Whether the store keeps the file at `path`.
    pub fn covers(&self, path: &str) -> bool {
        self.roots.iter().any(|root| path.starts_with(root.as_str()))
    }

    /// The key of compiling `text`, read from `path`, with `options`.
    pub fn key(path: &str, text: &str, options: &CompileOptions) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new();
        hasher.update(MAGIC);
        hasher.update(executable_identity());
        let options = format!("{options:?}");
        for part in [options.as_bytes(), path.as_bytes(), text.as_bytes()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        *hasher.finalize().as_bytes()
    }

    fn entry(&self, path: &str, scoped: bool) -> PathBuf {
        let mut hasher = blake3::Hasher::new();
        hasher.update(path.as_bytes());
        hasher.update(&[u8::from(scoped)]);
        let name = hasher.finalize().to_hex();
        self.dir.join(format!("{}.nxc", &name[..32]))
    }

    /// The compiled tree of `path` stored under `key`, its spans in `file`; `None` when there
    /// is no such entry or it is not sound.
    pub fn load(&self, path: &str, scoped: bool, key: &[u8; 32], file: FileId) -> Option<&'static Expr> {
        let bytes = std::fs::read(self.entry(path, scoped)).ok()?;
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC || &bytes[8..40] != key {
            return None;
        }
        if blake3::hash(&bytes[HEADER_LEN..]).as_bytes() != &bytes[40..HEADER_LEN] {
            return None;
        }
        // The payload's strings are slices of it: it lives as long as the tree, like the
        // trees compiled from source (see `crate::ir`).
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let (expr, names) = decode(&bytes[HEADER_LEN..], file)?;
        let expr: &'static Expr = Box::leak(Box::new(expr));
        crate::intern_order::register(expr, names);
        Some(expr)
    }

    /// Stores `expr`, compiled from `path` under `key` with its spans in `file`. Failing to
    /// write is no loss: the file is compiled again next time.
    pub fn save(&self, path: &str, scoped: bool, key: &[u8; 32], expr: &Expr, names: &[Symbol], file: FileId) {
        let Some(payload) = encode(expr, names, file) else { return };
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(blake3::hash(&payload).as_bytes());
        bytes.extend_from_slice(&payload);
        let target = self.entry(path, scoped);
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let temporary =
            target.with_extension(format!("tmp-{}-{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&temporary, &bytes))
            .and_then(|()| std::fs::rename(&temporary, &target));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

/// What tells this build of nxe from others: its executable's path, size and time of
/// change (a rebuilt nxe may compile the same text differently), with the names of the
/// base environment, which compiled code refers to by number.
fn executable_identity() -> &'static [u8] {
    static IDENTITY: OnceLock<Vec<u8>> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let mut identity = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
        if let Ok(exe) = std::env::current_exe() {
            identity.extend_from_slice(exe.to_string_lossy().as_bytes());
            if let Ok(meta) = std::fs::metadata(&exe) {
                identity.extend_from_slice(&meta.len().to_le_bytes());
                let changed = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                identity.extend_from_slice(&changed.map_or(0, |d| d.as_nanos()).to_le_bytes());
            }
        }
        for name in crate::builtins::global_names() {
            identity.extend_from_slice(name.as_bytes());
            identity.push(0);
        }
        identity
    })
}

/// The payload of `expr` and the file's naming order (`Compiled::names`), whose spans are
/// all in `file`; `None` if one is not.
pub fn encode(expr: &Expr, names: &[Symbol], file: FileId) -> Option<Vec<u8>> {
    let mut encoder = Encoder { out: Vec::new(), file, symbols: FxHashMap::default(), sound: true };
    encoder.expr(expr);
    encoder.uint(names.len() as u64);
    for name in names {
        encoder.symbol(*name);
    }
    encoder.sound.then_some(encoder.out)
}

/// The tree of a payload and the file's naming order, its spans in `file`; `None` when the
/// payload is not one.
pub fn decode(payload: &'static [u8], file: FileId) -> Option<(Expr, Vec<Symbol>)> {
    let mut decoder = Decoder { bytes: payload, at: 0, file, symbols: Vec::new() };
    let expr = decoder.expr()?;
    let count = decoder.count()?;
    let names = (0..count).map(|_| decoder.symbol()).collect::<Option<Vec<Symbol>>>()?;
    (decoder.at == payload.len()).then_some((expr, names))
}

const BIN_OPS: [BinOp; 15] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Eq,
    BinOp::NotEq,
    BinOp::Less,
    BinOp::LessEq,
    BinOp::Greater,
    BinOp::GreaterEq,
    BinOp::And,
    BinOp::Or,
    BinOp::Impl,
    BinOp::Update,
    BinOp::Concat,
];

/// An operator's number: its place in [`BIN_OPS`].
fn bin_op_code(op: BinOp) -> u8 {
    match op {
        BinOp::Add => 0,
        BinOp::Sub => 1,
        BinOp::Mul => 2,
        BinOp::Div => 3,
        BinOp::Eq => 4,
        BinOp::NotEq => 5,
        BinOp::Less => 6,
        BinOp::LessEq => 7,
        BinOp::Greater => 8,
        BinOp::GreaterEq => 9,
        BinOp::And => 10,
        BinOp::Or => 11,
        BinOp::Impl => 12,
        BinOp::Update => 13,
        BinOp::Concat => 14,
    }
}

struct Encoder {
    out: Vec<u8>,
    file: FileId,
    /// Names written so far, by their number in the payload.
    symbols: FxHashMap<Symbol, u64>,
    /// Whether every span was in the file.
    sound: bool,
}

impl Encoder {
    fn uint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.out.push(value as u8);
    }

    fn flag(&mut self, value: bool) {
        self.out.push(u8::from(value));
    }

    fn str(&mut self, text: &str) {
        self.uint(text.len() as u64);
        self.out.extend_from_slice(text.as_bytes());
    }

    /// A name: its number when written before, else 0 and its text.
    fn symbol(&mut self, symbol: Symbol) {
        match self.symbols.get(&symbol) {
            Some(&number) => self.uint(number + 1),
            None => {
                self.uint(0);
                self.str(symbol.as_str());
                let number = self.symbols.len() as u64;
                self.symbols.insert(symbol, number);
            }
        }
    }

    fn span(&mut self, span: Span) {
        self.sound &= span.file == self.file;
        self.uint(u64::from(span.start));
    }

    fn pos(&mut self, pos: Pos) {
        match pos.span() {
            None => self.uint(0),
            Some(span) => {
                self.sound &= span.file == self.file;
                self.uint(u64::from(span.start) + 1);
            }
        }
    }

    fn exprs(&mut self, exprs: &[Expr]) {
        self.uint(exprs.len() as u64);
        for expr in exprs {
            self.expr(expr);
        }
    }

    fn parts(&mut self, parts: &[StrPart]) {
        self.uint(parts.len() as u64);
        for part in parts {
            match part {
                StrPart::Literal(text) => {
                    self.flag(false);
                    self.str(text);
                }
                StrPart::Interp(expr, start) => {
                    self.flag(true);
                    self.expr(expr);
                    self.uint(u64::from(*start));
                }
            }
        }
    }

    fn keys(&mut self, keys: &[AttrKey]) {
        self.uint(keys.len() as u64);
        for key in keys {
            match key {
                AttrKey::Static(name) => {
                    self.flag(false);
                    self.symbol(*name);
                }
                AttrKey::Dynamic(expr) => {
                    self.flag(true);
                    self.expr(expr);
                }
            }
        }
    }

    fn attrs(&mut self, def: &AttrsDef) {
        self.flag(def.rec);
        self.exprs(&def.inherit_from);
        self.uint(def.statics.len() as u64);
        for attr in &def.statics {
            self.symbol(attr.name);
            match &attr.value {
                AttrValue::Expr(expr) => {
                    self.flag(false);
                    self.expr(expr);
                }
                AttrValue::InheritFrom(source) => {
                    self.flag(true);
                    self.uint(*source as u64);
                }
            }
            self.span(attr.span);
            self.pos(attr.pos);
        }
        self.uint(def.dynamics.len() as u64);
        for attr in &def.dynamics {
            self.expr(&attr.name);
            self.expr(&attr.value);
            self.span(attr.span);
            self.pos(attr.pos);
        }
        self.uint(def.aliases.len() as u64);
        for (slot, named) in &def.aliases {
            self.uint(u64::from(*slot));
            self.uint(u64::from(*named));
        }
    }

    fn lambda(&mut self, def: &LambdaDef) {
        self.optional_symbol(def.name);
        match &def.param {
            Param::Ident(name) => {
                self.flag(false);
                self.symbol(*name);
            }
            Param::Pattern { formals, ellipsis, bind } => {
                self.flag(true);
                self.uint(formals.len() as u64);
                for (name, default) in formals {
                    self.symbol(*name);
                    self.optional_expr(default.as_ref());
                }
                self.flag(*ellipsis);
                self.optional_symbol(*bind);
            }
        }
        self.expr(&def.body);
        self.uint(def.n_slots as u64);
        self.span(def.span);
        self.uint(def.formal_positions.len() as u64);
        for pos in &def.formal_positions {
            self.pos(*pos);
        }
    }

    fn optional_symbol(&mut self, symbol: Option<Symbol>) {
        self.flag(symbol.is_some());
        if let Some(symbol) = symbol {
            self.symbol(symbol);
        }
    }

    fn optional_expr(&mut self, expr: Option<&Expr>) {
        self.flag(expr.is_some());
        if let Some(expr) = expr {
            self.expr(expr);
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Int(value) => {
                self.out.push(0);
                self.uint(((value << 1) ^ (value >> 63)) as u64);
            }
            Expr::Float(value) => {
                self.out.push(1);
                self.out.extend_from_slice(&value.to_bits().to_le_bytes());
            }
            Expr::Str(literal) => {
                self.out.push(2);
                self.str(literal.text);
            }
            Expr::Path(path) => {
                self.out.push(3);
                self.str(path);
            }
            Expr::Global(index) => {
                self.out.push(4);
                self.uint(u64::from(*index));
            }
            Expr::Var { depth, slot, span } => {
                self.out.push(5);
                self.uint(u64::from(*depth));
                self.uint(u64::from(*slot));
                self.span(*span);
            }
            Expr::WithVar { name, withs, span, global } => {
                self.out.push(6);
                self.symbol(*name);
                self.uint(withs.len() as u64);
                for (depth, with) in withs.iter() {
                    self.uint(u64::from(*depth));
                    self.span(*with);
                }
                self.span(*span);
                self.flag(global.is_some());
                if let Some(global) = global {
                    self.uint(u64::from(*global));
                }
            }
            Expr::Interp(parts, span) => {
                self.out.push(7);
                self.parts(parts);
                self.span(*span);
            }
            Expr::PathInterp(parts, span) => {
                self.out.push(8);
                self.parts(parts);
                self.span(*span);
            }
            Expr::List(items) => {
                self.out.push(9);
                self.exprs(items);
            }
            Expr::Attrs(def) => {
                self.out.push(10);
                self.attrs(def);
            }
            Expr::Let(def, body) => {
                self.out.push(11);
                self.attrs(def);
                self.expr(body);
            }
            Expr::Lambda(def) => {
                self.out.push(12);
                self.lambda(def);
            }
            Expr::Apply(function, args, span) => {
                self.out.push(13);
                self.expr(function);
                self.exprs(args);
                self.span(*span);
            }
            Expr::Select(target, keys, default, span) => {
                self.out.push(14);
                self.expr(target);
                self.keys(keys);
                self.optional_expr(default.as_deref());
                self.span(*span);
            }
            Expr::HasAttr(target, keys, span) => {
                self.out.push(15);
                self.expr(target);
                self.keys(keys);
                self.span(*span);
            }
            Expr::If(condition, then, otherwise, span) => {
                self.out.push(16);
                self.expr(condition);
                self.expr(then);
                self.expr(otherwise);
                self.span(*span);
            }
            Expr::Assert(condition, body, text, span) => {
                self.out.push(17);
                self.expr(condition);
                self.expr(body);
                self.str(text);
                self.span(*span);
            }
            Expr::With(scope, body, span) => {
                self.out.push(18);
                self.expr(scope);
                self.expr(body);
                self.span(*span);
            }
            Expr::Not(operand, span) => {
                self.out.push(19);
                self.expr(operand);
                self.span(*span);
            }
            Expr::Negate(operand, span) => {
                self.out.push(20);
                self.expr(operand);
                self.span(*span);
            }
            Expr::BinOp(op, left, right, span, starts) => {
                self.out.push(21);
                self.out.push(bin_op_code(*op));
                self.expr(left);
                self.expr(right);
                self.span(*span);
                self.uint(u64::from(starts.op));
                self.uint(u64::from(starts.rhs));
            }
            Expr::CurPos(span) => {
                self.out.push(22);
                self.span(*span);
            }
        }
    }
}

struct Decoder {
    bytes: &'static [u8],
    at: usize,
    file: FileId,
    /// Names read so far, by their number in the payload.
    symbols: Vec<Symbol>,
}

impl Decoder {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn uint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    /// A count of items that take at least a byte each: no more than the bytes left.
    fn count(&mut self) -> Option<usize> {
        let count = usize::try_from(self.uint()?).ok()?;
        (count <= self.bytes.len() - self.at).then_some(count)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn str(&mut self) -> Option<&'static str> {
        let len = self.count()?;
        let bytes = self.bytes.get(self.at..self.at + len)?;
        self.at += len;
        std::str::from_utf8(bytes).ok()
    }

    fn symbol(&mut self) -> Option<Symbol> {
        match self.uint()? {
            0 => {
                let symbol = Symbol::intern(self.str()?);
                self.symbols.push(symbol);
                Some(symbol)
            }
            number => self.symbols.get(usize::try_from(number - 1).ok()?).copied(),
        }
    }

    fn span(&mut self) -> Option<Span> {
        Some(Span { file: self.file, start: self.u32()? })
    }

    fn pos(&mut self) -> Option<Pos> {
        match self.u32()? {
            0 => Some(Pos::NONE),
            start => Some(Pos::of(Span { file: self.file, start: start - 1 })),
        }
    }

    fn exprs(&mut self) -> Option<Vec<Expr>> {
        let count = self.count()?;
        (0..count).map(|_| self.expr()).collect()
    }

    fn boxed(&mut self) -> Option<Box<Expr>> {
        self.expr().map(Box::new)
    }

    fn parts(&mut self) -> Option<Box<[StrPart]>> {
        let count = self.count()?;
        (0..count)
            .map(|_| match self.flag()? {
                false => self.str().map(StrPart::Literal),
                true => {
                    let expr = self.expr()?;
                    Some(StrPart::Interp(expr, self.u32()?))
                }
            })
            .collect()
    }

    fn keys(&mut self) -> Option<Box<[AttrKey]>> {
        let count = self.count()?;
        (0..count)
            .map(|_| match self.flag()? {
                false => self.symbol().map(AttrKey::Static),
                true => self.expr().map(AttrKey::Dynamic),
            })
            .collect()
    }

    fn attrs(&mut self) -> Option<Box<AttrsDef>> {
        let rec = self.flag()?;
        let inherit_from = self.exprs()?;
        let count = self.count()?;
        let mut statics = Vec::with_capacity(count);
        for _ in 0..count {
            let name = self.symbol()?;
            let value = match self.flag()? {
                false => AttrValue::Expr(self.expr()?),
                true => AttrValue::InheritFrom(usize::try_from(self.uint()?).ok()?),
            };
            statics.push(StaticAttr { name, value, span: self.span()?, pos: self.pos()? });
        }
        let count = self.count()?;
        let mut dynamics = Vec::with_capacity(count);
        for _ in 0..count {
            let name = self.expr()?;
            let value = self.expr()?;
            dynamics.push(DynamicAttr { name, value, span: self.span()?, pos: self.pos()? });
        }
        let count = self.count()?;
        let mut aliases = Vec::with_capacity(count);
        for _ in 0..count {
            let slot = u32::try_from(self.uint()?).ok()?;
            let named = u32::try_from(self.uint()?).ok()?;
            aliases.push((slot, named));
        }
        Some(Box::new(AttrsDef { rec, inherit_from, statics, dynamics, aliases }))
    }

    fn optional_symbol(&mut self) -> Option<Option<Symbol>> {
        match self.flag()? {
            false => Some(None),
            true => self.symbol().map(Some),
        }
    }

    fn optional_expr(&mut self) -> Option<Option<Expr>> {
        match self.flag()? {
            false => Some(None),
            true => self.expr().map(Some),
        }
    }

    fn lambda(&mut self) -> Option<Box<LambdaDef>> {
        let name = self.optional_symbol()?;
        let param = match self.flag()? {
            false => Param::Ident(self.symbol()?),
            true => {
                let count = self.count()?;
                let mut formals = Vec::with_capacity(count);
                for _ in 0..count {
                    formals.push((self.symbol()?, self.optional_expr()?));
                }
                Param::Pattern { formals, ellipsis: self.flag()?, bind: self.optional_symbol()? }
            }
        };
        let body = self.expr()?;
        let n_slots = usize::try_from(self.uint()?).ok()?;
        let span = self.span()?;
        let count = self.count()?;
        let formal_positions = (0..count).map(|_| self.pos()).collect::<Option<Vec<Pos>>>()?;
        Some(Box::new(LambdaDef { name, param, body, n_slots, span, formal_positions }))
    }

    fn expr(&mut self) -> Option<Expr> {
        Some(match self.byte()? {
            0 => {
                let zigzag = self.uint()?;
                Expr::Int(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64))
            }
            1 => {
                let bytes = self.bytes.get(self.at..self.at + 8)?;
                self.at += 8;
                Expr::Float(f64::from_bits(u64::from_le_bytes(bytes.try_into().ok()?)))
            }
            2 => Expr::Str(Literal::new(self.str()?)),
            3 => Expr::Path(self.str()?),
            4 => Expr::Global(self.u32()?),
            5 => Expr::Var { depth: self.u32()?, slot: self.u32()?, span: self.span()? },
            6 => {
                let name = self.symbol()?;
                let count = self.count()?;
                let withs = (0..count).map(|_| Some((self.u32()?, self.span()?))).collect::<Option<Box<[_]>>>()?;
                let span = self.span()?;
                let global = match self.flag()? {
                    false => None,
                    true => Some(self.u32()?),
                };
                Expr::WithVar { name, withs, span, global }
            }
            7 => Expr::Interp(self.parts()?, self.span()?),
            8 => Expr::PathInterp(self.parts()?, self.span()?),
            9 => Expr::List(self.exprs()?.into_boxed_slice()),
            10 => Expr::Attrs(self.attrs()?),
            11 => Expr::Let(self.attrs()?, self.boxed()?),
            12 => Expr::Lambda(self.lambda()?),
            13 => Expr::Apply(self.boxed()?, self.exprs()?.into_boxed_slice(), self.span()?),
            14 => Expr::Select(self.boxed()?, self.keys()?, self.optional_expr()?.map(Box::new), self.span()?),
            15 => Expr::HasAttr(self.boxed()?, self.keys()?, self.span()?),
            16 => Expr::If(self.boxed()?, self.boxed()?, self.boxed()?, self.span()?),
            17 => Expr::Assert(self.boxed()?, self.boxed()?, self.str()?, self.span()?),
            18 => Expr::With(self.boxed()?, self.boxed()?, self.span()?),
            19 => Expr::Not(self.boxed()?, self.span()?),
            20 => Expr::Negate(self.boxed()?, self.span()?),
            21 => {
                let op = *BIN_OPS.get(usize::from(self.byte()?))?;
                let (left, right, span) = (self.boxed()?, self.boxed()?, self.span()?);
                Expr::BinOp(op, left, right, span, OperatorStarts { op: self.u32()?, rhs: self.u32()? })
            }
            22 => Expr::CurPos(self.span()?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::source::SourceMap;
    use std::path::Path;

    /// The tree's debug form without literals' numbers, which every compilation or decoding
    /// takes anew.
    fn shown(expr: &Expr) -> String {
        let text = format!("{expr:#?}");
        text.lines().filter(|line| !line.trim_start().starts_with("id: ")).collect::<Vec<_>>().join("\n")
    }

    /// Compiles `text`, encodes and decodes its tree; whether it compiled.
    fn round_trip(name: &str, text: &str) -> bool {
        let file = SourceMap::global().add(name.to_string(), text.to_string());
        let options = CompileOptions { base_dir: "/base".into(), home: Some("/home/u".into()), ..Default::default() };
        let Ok(compiled) = compile(file, text, &options) else { return false };
        let payload = encode(compiled.expr, &compiled.names, file).expect("every span is in the file");
        let payload: &'static [u8] = Box::leak(payload.into_boxed_slice());
        let (decoded, names) = decode(payload, file).expect("a payload decodes");
        assert_eq!(shown(&decoded), shown(compiled.expr), "{name}");
        assert_eq!(names, compiled.names, "{name}");
        // A cut payload is refused, not misread.
        for cut in [0, payload.len() / 3, payload.len() - 1] {
            assert!(decode(&payload[..cut], file).is_none(), "{name} cut at {cut}");
        }
        true
    }

    #[test]
    fn operators_numbers_are_their_places_in_the_table() {
        for (place, op) in BIN_OPS.iter().enumerate() {
            assert_eq!(usize::from(bin_op_code(*op)), place, "{op:?}");
        }
    }

    #[test]
    fn every_construct_decodes_to_the_tree_it_was_encoded_from() {
        let compiled = round_trip(
            "constructs.nix",
            r#"
            { a ? 1, b, ... } @ args:
            let
              x = -3; y = 1.5e3; s = "text ${toString x} more"; p = ./rel/${s}.nix; q = /abs; h = ~/h;
              inherit (args) b; inherit a;
              f = z: z // { ${s} = 1; "k${s}" = 2; };
              r = rec { m = n; n = 9223372036854775807; o = -9223372036854775807 - 1; };
              w = with args; [ c d (c.e or d) ];
            in
            assert b != null && !(a < 2) || a -> x >= y;
            if args ? c.${s} then f { } else [ (x * 2 / 1 - y) (r.m ++ [ ]) __curPos
              builtins.map builtins.head <nixpkgs> ''
                indented ${s}
              '' ]
            "#,
        );
        assert!(compiled);
    }

    #[test]
    fn the_fixture_and_corpus_files_decode_to_their_trees() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("fixtures"), root.join("evaluator/tests/lang"), root.join("benches/workloads")];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "nix") {
                    files.push(path);
                }
            }
        }
        let mut n_compiled = 0;
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            n_compiled += usize::from(round_trip(&path.to_string_lossy(), &text));
        }
        assert!(n_compiled > 100, "only {n_compiled} of {} files compiled", files.len());
    }

    #[test]
    fn a_store_gives_back_only_what_it_stored_under_the_same_key() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = CodeStore::new(dir.path().join("code"), &[PathBuf::from("/repo"), PathBuf::from("/lib/")]);
        assert!(store.covers("/repo/a.nix"));
        assert!(store.covers("/lib/b/c.nix"));
        assert!(!store.covers("/repository/a.nix"));
        assert!(!store.covers("/tmp/checkout/a.nix"));
        let text = "{ a = 1; b = [ 2 ]; }";
        let file = SourceMap::global().add("/repo/a.nix".into(), text.into());
        let options = CompileOptions::default();
        let compiled = compile(file, text, &options).expect("compiles");
        let key = CodeStore::key("/repo/a.nix", text, &options);
        assert!(store.load("/repo/a.nix", false, &key, file).is_none());
        store.save("/repo/a.nix", false, &key, compiled.expr, &compiled.names, file);
        let loaded = store.load("/repo/a.nix", false, &key, file).expect("stored");
        assert_eq!(shown(loaded), shown(compiled.expr));
        // The naming order comes back with the tree ("a" and "b" are not the reference's own).
        let names: Vec<&str> = crate::intern_order::names_of(loaded).iter().map(|name| name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        // Another text, mode or path misses.
        let other = CodeStore::key("/repo/a.nix", "{ a = 2; }", &options);
        assert!(store.load("/repo/a.nix", false, &other, file).is_none());
        assert!(store.load("/repo/a.nix", true, &key, file).is_none());
        assert!(store.load("/repo/b.nix", false, &key, file).is_none());
        // A damaged entry is refused.
        let entry = std::fs::read_dir(dir.path().join("code")).expect("dir").flatten().next().expect("entry").path();
        let mut bytes = std::fs::read(&entry).expect("entry");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&entry, &bytes).expect("write");
        assert!(store.load("/repo/a.nix", false, &key, file).is_none());
    }
}
