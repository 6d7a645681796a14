//! JSON and TOML: `toJSON` (also behind `nxe eval --json`), `fromJSON` and `fromTOML`.
//!
//! `toJSON` writes what the reference's JSON library writes: no whitespace, object keys in
//! byte order, control characters escaped (`\n`, `\t`, … or `\u00XX`) but neither `/` nor
//! non-ASCII text, floats with the shortest digits of the Grisu2 algorithm laid out as
//! `1.0`, `0.001`, `1e-05` or `1.2345678901234568e+17` (see [`format_json_float`]), and
//! non-finite floats as `null`. Sets with `__toString` become that string, sets with
//! `outPath` that value; paths are copied to the store. The result keeps the context of
//! every string inside.
//!
//! `fromJSON` follows the reference's parser closely enough to reproduce its error
//! messages (line, column and the text last read) as well as its number rules: integers
//! that fit 64 bits are integers, larger ones become floats unless they fit an unsigned
//! 64-bit integer (an error), and duplicate keys keep the last value.
//!
//! `fromTOML` parses with the `toml` crate and rewords its errors with the headlines of
//! the reference's TOML library where the kind of error can be told. Dates and times are
//! rejected unless the `parse-toml-timestamps` experimental feature is on, in which case
//! they become `{ _type = "timestamp"; value = "1979-05-27T07:32:00Z"; }` as in the
//! reference.

use super::versions::force_string_no_ctx;
use crate::error::{EvalError, EvalResult};
use crate::eval::Evaluator;
use crate::ops::{coerce_to_string, Coerce};
use crate::source::{Pos, Span};
use crate::symbol::Symbol;
use crate::value::{Attr, Attrs, ContextElem, Forces, PrimOp, Value};
use std::collections::BTreeSet;
use std::fmt::Write;

pub(super) static PRIMOPS: &[PrimOp] = &[
    PrimOp { name: "toJSON", arity: 1, func: builtin_to_json, forces: Forces::Nothing },
    PrimOp { name: "fromJSON", arity: 1, func: builtin_from_json, forces: Forces::Nothing },
    PrimOp { name: "fromTOML", arity: 1, func: builtin_from_toml, forces: Forces::Nothing },
];

// ---------------------------------------------------------------------------------------
// toJSON

fn builtin_to_json(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let mut writer = JsonWriter { out: String::new(), context: BTreeSet::new(), depth: 0 };
    writer.value(ev, &args[0])?;
    Ok(Value::String(crate::value::NixString::with_context(&writer.out, writer.context)))
}

/// Renders a value as `builtins.toJSON` does.
pub(crate) fn value_to_json(evaluator: &mut Evaluator, value: &Value) -> EvalResult<String> {
    let mut writer = JsonWriter { out: String::new(), context: BTreeSet::new(), depth: 0 };
    writer.value(evaluator, value)?;
    Ok(writer.out)
}

/// The text being written and the context gathered from the strings written.
struct JsonWriter {
    out: String,
    context: BTreeSet<ContextElem>,
    /// Nesting depth, counted against `max-call-depth`.
    depth: usize,
}

impl JsonWriter {
    fn value(&mut self, ev: &mut Evaluator, value: &Value) -> EvalResult<()> {
        ev.check_nesting(self.depth)?;
        self.depth += 1;
        let result = self.value_inner(ev, value);
        self.depth -= 1;
        result
    }

    fn value_inner(&mut self, ev: &mut Evaluator, value: &Value) -> EvalResult<()> {
        let value = ev.force(value)?;
        match &value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(self.out, "{n}");
            }
            Value::Float(f) => self.out.push_str(&format_json_float(*f)),
            Value::String(s) => {
                self.context.extend(s.context().iter().cloned());
                escape_json_into(&mut self.out, s.as_str());
            }
            Value::Path(path) => {
                let stored = super::copy_path_to_store(ev, path)?;
                self.context.extend(stored.context().iter().cloned());
                escape_json_into(&mut self.out, stored.as_str());
            }
            Value::Attrs(attrs) => self.attrs(ev, &value, attrs)?,
            Value::List(items) => self.list(ev, items)?,
            Value::Lambda(closure) => {
                let error = EvalError::msg("cannot convert a function to JSON");
                return Err(error.at(closure.def.span));
            }
            Value::PrimOp(_) | Value::PrimOpApp(_) => {
                return Err(EvalError::msg(format!("cannot convert {} to JSON", value.type_with_article())));
            }
            Value::Thunk(_) => return Err(EvalError::msg("cannot convert a thunk to JSON")),
        }
        Ok(())
    }

    fn list(&mut self, ev: &mut Evaluator, items: &[Value]) -> EvalResult<()> {
        self.out.push('[');
        for (idx, item) in items.iter().enumerate() {
            if idx > 0 {
                self.out.push(',');
            }
            self.value(ev, item).map_err(|e| e.note(None, format!("while evaluating list element at index {idx}")))?;
        }
        self.out.push(']');
        Ok(())
    }

    /// A set: its `__toString` result, its `outPath`, or an object.
    fn attrs(&mut self, ev: &mut Evaluator, value: &Value, attrs: &Attrs) -> EvalResult<()> {
        if let Some(to_string) = attrs.get(ev.sym.to_string).cloned() {
            let result = ev.call(to_string, std::slice::from_ref(value), None)?;
            let text = coerce_to_string(ev, &result, Coerce::PathPart)
                .map_err(|e| e.note(None, "while evaluating the result of the `__toString` attribute"))?;
            self.context.extend(text.context().iter().cloned());
            escape_json_into(&mut self.out, text.as_str());
            return Ok(());
        }
        if let Some(out_path) = attrs.get(ev.sym.out_path).cloned() {
            return self.value(ev, &out_path);
        }
        self.out.push('{');
        for (idx, attr) in attrs.iter().enumerate() {
            if idx > 0 {
                self.out.push(',');
            }
            escape_json_into(&mut self.out, attr.name.as_str());
            self.out.push(':');
            self.value(ev, &attr.value).map_err(|e| {
                e.note(
                    attr.pos.span(),
                    format!("while evaluating attribute '{}'", crate::print::shown_attr_name(attr.name.as_str())),
                )
            })?;
        }
        self.out.push('}');
        Ok(())
    }
}

/// Writes a JSON string literal with the reference's escapes.
pub(crate) fn escape_json_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------
// Floats: Grisu2 digits, then the reference's layout.

/// Formats a float as the reference's JSON writer does.
pub(crate) fn format_json_float(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_string();
    }
    let mut out = String::new();
    if value.is_sign_negative() {
        out.push('-');
    }
    let value = value.abs();
    if value == 0.0 {
        out.push_str("0.0");
        return out;
    }
    let (digits, exponent) = grisu::shortest(value);
    layout_float(&mut out, &digits, exponent);
    out
}

/// Lays out `digits × 10^exponent` as `123.0`, `1.5`, `0.001` or `1.5e+20`.
fn layout_float(out: &mut String, digits: &str, exponent: i32) {
    const MIN_EXP: i32 = -4;
    const MAX_EXP: i32 = 15;
    let k = digits.len() as i32;
    let n = k + exponent;
    if k <= n && n <= MAX_EXP {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
        out.push_str(".0");
    } else if 0 < n && n <= MAX_EXP {
        let (int_part, frac_part) = digits.split_at(n as usize);
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac_part);
    } else if MIN_EXP < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

/// The Grisu2 shortest-digits algorithm (Loitsch, 2010) as the reference's JSON library
/// implements it: digits that read back to the same double, nearly always the shortest.
mod grisu {
    /// A floating-point number `f × 2^e` with a 64-bit significand.
    #[derive(Clone, Copy)]
    struct DiyFp {
        f: u64,
        e: i32,
    }

    impl DiyFp {
        fn sub(self, other: DiyFp) -> DiyFp {
            DiyFp { f: self.f.wrapping_sub(other.f), e: self.e }
        }

        /// The product, rounded to the upper 64 bits.
        fn mul(self, other: DiyFp) -> DiyFp {
            let product = u128::from(self.f) * u128::from(other.f);
            let high = (product >> 64) as u64;
            let round = ((product as u64) >> 63) & 1;
            DiyFp { f: high.wrapping_add(round), e: self.e + other.e + 64 }
        }

        fn normalize(self) -> DiyFp {
            let shift = self.f.leading_zeros();
            DiyFp { f: self.f << shift, e: self.e - shift as i32 }
        }

        fn normalize_to(self, e: i32) -> DiyFp {
            DiyFp { f: self.f << (self.e - e), e }
        }
    }

    /// Normalized 64-bit approximations of `10^k` for k = -300, -292, …, 324.
    const CACHED_POWERS: [(u64, i32, i32); 79] = [
        (0xAB70FE17C79AC6CA, -1060, -300),
        (0xFF77B1FCBEBCDC4F, -1034, -292),
        (0xBE5691EF416BD60C, -1007, -284),
        (0x8DD01FAD907FFC3C, -980, -276),
        (0xD3515C2831559A83, -954, -268),
        (0x9D71AC8FADA6C9B5, -927, -260),
        (0xEA9C227723EE8BCB, -901, -252),
        (0xAECC49914078536D, -874, -244),
        (0x823C12795DB6CE57, -847, -236),
        (0xC21094364DFB5637, -821, -228),
        (0x9096EA6F3848984F, -794, -220),
        (0xD77485CB25823AC7, -768, -212),
        (0xA086CFCD97BF97F4, -741, -204),
        (0xEF340A98172AACE5, -715, -196),
        (0xB23867FB2A35B28E, -688, -188),
        (0x84C8D4DFD2C63F3B, -661, -180),
        (0xC5DD44271AD3CDBA, -635, -172),
        (0x936B9FCEBB25C996, -608, -164),
        (0xDBAC6C247D62A584, -582, -156),
        (0xA3AB66580D5FDAF6, -555, -148),
        (0xF3E2F893DEC3F126, -529, -140),
        (0xB5B5ADA8AAFF80B8, -502, -132),
        (0x87625F056C7C4A8B, -475, -124),
        (0xC9BCFF6034C13053, -449, -116),
        (0x964E858C91BA2655, -422, -108),
        (0xDFF9772470297EBD, -396, -100),
        (0xA6DFBD9FB8E5B88F, -369, -92),
        (0xF8A95FCF88747D94, -343, -84),
        (0xB94470938FA89BCF, -316, -76),
        (0x8A08F0F8BF0F156B, -289, -68),
        (0xCDB02555653131B6, -263, -60),
        (0x993FE2C6D07B7FAC, -236, -52),
        (0xE45C10C42A2B3B06, -210, -44),
        (0xAA242499697392D3, -183, -36),
        (0xFD87B5F28300CA0E, -157, -28),
        (0xBCE5086492111AEB, -130, -20),
        (0x8CBCCC096F5088CC, -103, -12),
        (0xD1B71758E219652C, -77, -4),
        (0x9C40000000000000, -50, 4),
        (0xE8D4A51000000000, -24, 12),
        (0xAD78EBC5AC620000, 3, 20),
        (0x813F3978F8940984, 30, 28),
        (0xC097CE7BC90715B3, 56, 36),
        (0x8F7E32CE7BEA5C70, 83, 44),
        (0xD5D238A4ABE98068, 109, 52),
        (0x9F4F2726179A2245, 136, 60),
        (0xED63A231D4C4FB27, 162, 68),
        (0xB0DE65388CC8ADA8, 189, 76),
        (0x83C7088E1AAB65DB, 216, 84),
        (0xC45D1DF942711D9A, 242, 92),
        (0x924D692CA61BE758, 269, 100),
        (0xDA01EE641A708DEA, 295, 108),
        (0xA26DA3999AEF774A, 322, 116),
        (0xF209787BB47D6B85, 348, 124),
        (0xB454E4A179DD1877, 375, 132),
        (0x865B86925B9BC5C2, 402, 140),
        (0xC83553C5C8965D3D, 428, 148),
        (0x952AB45CFA97A0B3, 455, 156),
        (0xDE469FBD99A05FE3, 481, 164),
        (0xA59BC234DB398C25, 508, 172),
        (0xF6C69A72A3989F5C, 534, 180),
        (0xB7DCBF5354E9BECE, 561, 188),
        (0x88FCF317F22241E2, 588, 196),
        (0xCC20CE9BD35C78A5, 614, 204),
        (0x98165AF37B2153DF, 641, 212),
        (0xE2A0B5DC971F303A, 667, 220),
        (0xA8D9D1535CE3B396, 694, 228),
        (0xFB9B7CD9A4A7443C, 720, 236),
        (0xBB764C4CA7A44410, 747, 244),
        (0x8BAB8EEFB6409C1A, 774, 252),
        (0xD01FEF10A657842C, 800, 260),
        (0x9B10A4E5E9913129, 827, 268),
        (0xE7109BFBA19C0C9D, 853, 276),
        (0xAC2820D9623BF429, 880, 284),
        (0x80444B5E7AA7CF85, 907, 292),
        (0xBF21E44003ACDD2D, 933, 300),
        (0x8E679C2F5E44FF8F, 960, 308),
        (0xD433179D9C8CB841, 986, 316),
        (0x9E19DB92B4E31BA9, 1013, 324),
    ];

    /// The boundaries of a positive finite double: the value and the midpoints to its
    /// neighbours, all with the exponent of the upper one.
    fn boundaries(value: f64) -> (DiyFp, DiyFp, DiyFp) {
        const HIDDEN: u64 = 1 << 52;
        let bits = value.to_bits();
        let biased = (bits >> 52) as i32;
        let fraction = bits & (HIDDEN - 1);
        let v = if biased == 0 {
            DiyFp { f: fraction, e: -1074 }
        } else {
            DiyFp { f: fraction + HIDDEN, e: biased - 1075 }
        };
        let lower_closer = fraction == 0 && biased > 1;
        let plus = DiyFp { f: 2 * v.f + 1, e: v.e - 1 };
        let minus =
            if lower_closer { DiyFp { f: 4 * v.f - 1, e: v.e - 2 } } else { DiyFp { f: 2 * v.f - 1, e: v.e - 1 } };
        let plus = plus.normalize();
        (v.normalize(), minus.normalize_to(plus.e), plus)
    }

    /// The cached power that brings a number with binary exponent `e` into range.
    fn cached_power(e: i32) -> (DiyFp, i32) {
        const ALPHA: i32 = -60;
        let f = ALPHA - e - 1;
        let k = (f * 78913) / (1 << 18) + i32::from(f > 0);
        let index = ((300 + k + 7) / 8).clamp(0, CACHED_POWERS.len() as i32 - 1) as usize;
        let (f, e, k) = CACHED_POWERS[index];
        (DiyFp { f, e }, k)
    }

    fn largest_pow10(n: u32) -> (u32, i32) {
        let mut pow10 = 1_000_000_000u32;
        let mut digits = 10;
        while digits > 1 && n < pow10 {
            pow10 /= 10;
            digits -= 1;
        }
        (pow10, digits)
    }

    /// Moves the last digit towards `w` while that stays inside the interval.
    fn round_weed(digits: &mut [u8], dist: u64, delta: u64, mut rest: u64, ten_k: u64) {
        let Some(last) = digits.last_mut() else { return };
        while rest < dist
            && delta - rest >= ten_k
            && (rest.wrapping_add(ten_k) < dist || dist - rest > rest.wrapping_add(ten_k).wrapping_sub(dist))
        {
            *last -= 1;
            rest += ten_k;
        }
    }

    /// Generates the digits of `w` inside `(minus, plus)`; returns them and the decimal
    /// exponent adjustment.
    fn digit_gen(minus: DiyFp, w: DiyFp, plus: DiyFp) -> (Vec<u8>, i32) {
        let mut delta = plus.sub(minus).f;
        let mut dist = plus.sub(w).f;
        let shift = (-plus.e) as u32;
        let one = 1u64 << shift;
        let mut p1 = (plus.f >> shift) as u32;
        let mut p2 = plus.f & (one - 1);
        let (mut pow10, mut n) = largest_pow10(p1);
        let mut digits = Vec::with_capacity(20);
        while n > 0 {
            digits.push(b'0' + (p1 / pow10) as u8);
            p1 %= pow10;
            n -= 1;
            let rest = (u64::from(p1) << shift) + p2;
            if rest <= delta {
                round_weed(&mut digits, dist, delta, rest, u64::from(pow10) << shift);
                return (digits, n);
            }
            pow10 /= 10;
        }
        let mut m = 0;
        loop {
            p2 = p2.wrapping_mul(10);
            digits.push(b'0' + (p2 >> shift) as u8);
            p2 &= one - 1;
            m += 1;
            delta = delta.wrapping_mul(10);
            dist = dist.wrapping_mul(10);
            if p2 <= delta {
                break;
            }
        }
        round_weed(&mut digits, dist, delta, p2, one);
        (digits, -m)
    }

    /// The digits and decimal exponent of a positive finite double.
    pub(super) fn shortest(value: f64) -> (String, i32) {
        let (v, minus, plus) = boundaries(value);
        let (cached, k) = cached_power(plus.e);
        let w = v.mul(cached);
        let w_minus = minus.mul(cached);
        let w_plus = plus.mul(cached);
        let lower = DiyFp { f: w_minus.f.wrapping_add(1), e: w_minus.e };
        let upper = DiyFp { f: w_plus.f.wrapping_sub(1), e: w_plus.e };
        let (digits, adjust) = digit_gen(lower, w, upper);
        (String::from_utf8_lossy(&digits).into_owned(), -k + adjust)
    }
}

// ---------------------------------------------------------------------------------------
// fromJSON

fn builtin_from_json(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let what = "while evaluating the first argument passed to builtins.fromJSON";
    let text = force_string_no_ctx(ev, &args[0], what)?;
    parse_json(text.as_str())
}

/// Parses JSON text into a value, with the reference's results and error messages.
pub(crate) fn parse_json(text: &str) -> EvalResult<Value> {
    let mut parser = JsonParser { lexer: Lexer::new(text.as_bytes()), token: Token::Uninitialized };
    parser.parse().map_err(|error| match error {
        JsonError::Syntax(message) => EvalError::msg(message).note(None, "while decoding a JSON string"),
        JsonError::Eval(error) => error,
    })
}

/// A failure: a parse error (traced as decoding JSON) or any other error.
enum JsonError {
    Syntax(String),
    Eval(EvalError),
}

/// The tokens of the JSON lexer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Uninitialized,
    True,
    False,
    Null,
    Str,
    Unsigned,
    Integer,
    Float,
    BeginArray,
    BeginObject,
    EndArray,
    EndObject,
    NameSeparator,
    ValueSeparator,
    ParseError,
    EndOfInput,
    LiteralOrValue,
}

impl Token {
    fn name(self) -> &'static str {
        match self {
            Token::Uninitialized => "<uninitialized>",
            Token::True => "true literal",
            Token::False => "false literal",
            Token::Null => "null literal",
            Token::Str => "string literal",
            Token::Unsigned | Token::Integer | Token::Float => "number literal",
            Token::BeginArray => "'['",
            Token::BeginObject => "'{'",
            Token::EndArray => "']'",
            Token::EndObject => "'}'",
            Token::NameSeparator => "':'",
            Token::ValueSeparator => "','",
            Token::ParseError => "<parse error>",
            Token::EndOfInput => "end of input",
            Token::LiteralOrValue => "'[', '{', or a literal",
        }
    }
}

/// The lexer: one byte at a time, keeping the position and the text of the current token
/// as the reference's messages show them.
struct Lexer<'a> {
    input: &'a [u8],
    next: usize,
    current: Option<u8>,
    unget_pending: bool,
    chars_total: usize,
    chars_line: usize,
    lines: usize,
    token_text: Vec<u8>,
    buffer: Vec<u8>,
    error: &'static str,
    int_value: i64,
    float_value: f64,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8]) -> Lexer<'a> {
        Lexer {
            input,
            next: 0,
            current: None,
            unget_pending: false,
            chars_total: 0,
            chars_line: 0,
            lines: 0,
            token_text: Vec::new(),
            buffer: Vec::new(),
            error: "",
            int_value: 0,
            float_value: 0.0,
        }
    }

    fn get(&mut self) -> Option<u8> {
        self.chars_total += 1;
        self.chars_line += 1;
        if self.unget_pending {
            self.unget_pending = false;
        } else {
            self.current = self.input.get(self.next).copied();
            if self.current.is_some() {
                self.next += 1;
            }
        }
        if let Some(c) = self.current {
            self.token_text.push(c);
            if c == b'\n' {
                self.lines += 1;
                self.chars_line = 0;
            }
        }
        self.current
    }

    fn unget(&mut self) {
        self.unget_pending = true;
        self.chars_total -= 1;
        if self.chars_line == 0 {
            self.lines = self.lines.saturating_sub(1);
        } else {
            self.chars_line -= 1;
        }
        if self.current.is_some() {
            self.token_text.pop();
        }
    }

    fn reset(&mut self) {
        self.buffer.clear();
        self.token_text.clear();
        self.token_text.extend(self.current);
    }

    fn fail(&mut self, message: &'static str) -> Token {
        self.error = message;
        Token::ParseError
    }

    /// The text read for the current token, control characters shown as `<U+XXXX>`.
    fn token_string(&self) -> String {
        let mut out = String::new();
        for chunk in self.token_text.utf8_chunks() {
            for c in chunk.valid().chars() {
                if (c as u32) <= 0x1f {
                    let _ = write!(out, "<U+{:04X}>", c as u32);
                } else {
                    out.push(c);
                }
            }
            out.push_str(&String::from_utf8_lossy(chunk.invalid()));
        }
        out
    }

    fn position(&self) -> String {
        format!("line {}, column {}", self.lines + 1, self.chars_line)
    }

    fn scan(&mut self) -> Token {
        if self.chars_total == 0 && !self.skip_bom() {
            return self.fail("invalid BOM; must be 0xEF 0xBB 0xBF if given");
        }
        while matches!(self.get(), Some(b' ' | b'\t' | b'\n' | b'\r')) {}
        match self.current {
            Some(b'[') => Token::BeginArray,
            Some(b']') => Token::EndArray,
            Some(b'{') => Token::BeginObject,
            Some(b'}') => Token::EndObject,
            Some(b':') => Token::NameSeparator,
            Some(b',') => Token::ValueSeparator,
            Some(b't') => self.scan_literal(b"true", Token::True),
            Some(b'f') => self.scan_literal(b"false", Token::False),
            Some(b'n') => self.scan_literal(b"null", Token::Null),
            Some(b'"') => self.scan_string(),
            Some(b'-' | b'0'..=b'9') => self.scan_number(),
            None | Some(0) => Token::EndOfInput,
            Some(_) => self.fail("invalid literal"),
        }
    }

    fn skip_bom(&mut self) -> bool {
        if self.get() == Some(0xEF) {
            return self.get() == Some(0xBB) && self.get() == Some(0xBF);
        }
        self.unget();
        true
    }

    fn scan_literal(&mut self, literal: &[u8], token: Token) -> Token {
        for &expected in &literal[1..] {
            if self.get() != Some(expected) {
                return self.fail("invalid literal");
            }
        }
        token
    }

    fn scan_string(&mut self) -> Token {
        self.reset();
        loop {
            match self.get() {
                None => return self.fail("invalid string: missing closing quote"),
                Some(b'"') => return Token::Str,
                Some(b'\\') => {
                    if let Some(error) = self.scan_escape() {
                        return self.fail(error);
                    }
                }
                Some(c) if c <= 0x1f => return self.fail(control_char_message(c)),
                Some(c) => self.buffer.push(c),
            }
        }
    }

    /// One escape after a backslash; an error message on failure.
    fn scan_escape(&mut self) -> Option<&'static str> {
        let byte = match self.get() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => return self.scan_unicode_escape(),
            _ => return Some("invalid string: forbidden character after backslash"),
        };
        self.buffer.push(byte);
        None
    }

    fn scan_unicode_escape(&mut self) -> Option<&'static str> {
        const NEED_HEX: &str = "invalid string: '\\u' must be followed by 4 hex digits";
        const NEED_LOW: &str = "invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF";
        let Some(first) = self.hex4() else { return Some(NEED_HEX) };
        let code = match first {
            0xD800..=0xDBFF => {
                if !(self.get() == Some(b'\\') && self.get() == Some(b'u')) {
                    return Some(NEED_LOW);
                }
                match self.hex4() {
                    None => return Some(NEED_HEX),
                    Some(second @ 0xDC00..=0xDFFF) => 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00),
                    Some(_) => return Some(NEED_LOW),
                }
            }
            0xDC00..=0xDFFF => return Some("invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF"),
            other => other,
        };
        let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut utf8 = [0u8; 4];
        self.buffer.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        None
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = (self.get()? as char).to_digit(16)?;
            code = code * 16 + digit;
        }
        Some(code)
    }

    fn scan_number(&mut self) -> Token {
        self.reset();
        let mut kind = Token::Unsigned;
        let mut c = self.current;
        if c == Some(b'-') {
            self.buffer.push(b'-');
            kind = Token::Integer;
            c = self.get();
            if !c.is_some_and(|c| c.is_ascii_digit()) {
                return self.fail("invalid number; expected digit after '-'");
            }
        }
        self.buffer.extend(c);
        if c != Some(b'0') {
            self.digits();
        }
        match self.get() {
            Some(b'.') => {
                kind = Token::Float;
                self.buffer.push(b'.');
                if !self.get().is_some_and(|c| c.is_ascii_digit()) {
                    return self.fail("invalid number; expected digit after '.'");
                }
                self.buffer.extend(self.current);
                self.digits();
                if matches!(self.get(), Some(b'e' | b'E')) {
                    return self.scan_exponent();
                }
            }
            Some(b'e' | b'E') => return self.scan_exponent(),
            _ => {}
        }
        self.finish_number(kind)
    }

    /// Reads further digits into the buffer, leaving the first non-digit unread.
    fn digits(&mut self) {
        while let Some(c) = self.get() {
            if !c.is_ascii_digit() {
                self.unget();
                return;
            }
            self.buffer.push(c);
        }
        self.unget();
    }

    fn scan_exponent(&mut self) -> Token {
        self.buffer.extend(self.current);
        match self.get() {
            Some(sign @ (b'+' | b'-')) => {
                self.buffer.push(sign);
                if !self.get().is_some_and(|c| c.is_ascii_digit()) {
                    return self.fail("invalid number; expected digit after exponent sign");
                }
            }
            Some(c) if c.is_ascii_digit() => {}
            _ => return self.fail("invalid number; expected '+', '-', or digit after exponent"),
        }
        self.buffer.extend(self.current);
        self.digits();
        self.get();
        self.finish_number(Token::Float)
    }

    /// Ends a number (the byte after it was read) and converts it.
    fn finish_number(&mut self, kind: Token) -> Token {
        self.unget();
        let text = String::from_utf8_lossy(&self.buffer).into_owned();
        match kind {
            Token::Unsigned => {
                if let Ok(n) = text.parse::<u64>() {
                    self.int_value = n as i64;
                    self.float_value = n as f64;
                    return if n > i64::MAX as u64 { Token::Unsigned } else { Token::Integer };
                }
            }
            Token::Integer => {
                if let Ok(n) = text.parse::<i64>() {
                    self.int_value = n;
                    return Token::Integer;
                }
            }
            _ => {}
        }
        self.float_value = text.parse::<f64>().unwrap_or(f64::INFINITY);
        Token::Float
    }
}

/// The reference's message for an unescaped control character in a string.
fn control_char_message(c: u8) -> &'static str {
    const MESSAGES: [&str; 32] = [
        "invalid string: control character U+0000 (NUL) must be escaped to \\u0000",
        "invalid string: control character U+0001 (SOH) must be escaped to \\u0001",
        "invalid string: control character U+0002 (STX) must be escaped to \\u0002",
        "invalid string: control character U+0003 (ETX) must be escaped to \\u0003",
        "invalid string: control character U+0004 (EOT) must be escaped to \\u0004",
        "invalid string: control character U+0005 (ENQ) must be escaped to \\u0005",
        "invalid string: control character U+0006 (ACK) must be escaped to \\u0006",
        "invalid string: control character U+0007 (BEL) must be escaped to \\u0007",
        "invalid string: control character U+0008 (BS) must be escaped to \\u0008 or \\b",
        "invalid string: control character U+0009 (HT) must be escaped to \\u0009 or \\t",
        "invalid string: control character U+000A (LF) must be escaped to \\u000A or \\n",
        "invalid string: control character U+000B (VT) must be escaped to \\u000B",
        "invalid string: control character U+000C (FF) must be escaped to \\u000C or \\f",
        "invalid string: control character U+000D (CR) must be escaped to \\u000D or \\r",
        "invalid string: control character U+000E (SO) must be escaped to \\u000E",
        "invalid string: control character U+000F (SI) must be escaped to \\u000F",
        "invalid string: control character U+0010 (DLE) must be escaped to \\u0010",
        "invalid string: control character U+0011 (DC1) must be escaped to \\u0011",
        "invalid string: control character U+0012 (DC2) must be escaped to \\u0012",
        "invalid string: control character U+0013 (DC3) must be escaped to \\u0013",
        "invalid string: control character U+0014 (DC4) must be escaped to \\u0014",
        "invalid string: control character U+0015 (NAK) must be escaped to \\u0015",
        "invalid string: control character U+0016 (SYN) must be escaped to \\u0016",
        "invalid string: control character U+0017 (ETB) must be escaped to \\u0017",
        "invalid string: control character U+0018 (CAN) must be escaped to \\u0018",
        "invalid string: control character U+0019 (EM) must be escaped to \\u0019",
        "invalid string: control character U+001A (SUB) must be escaped to \\u001A",
        "invalid string: control character U+001B (ESC) must be escaped to \\u001B",
        "invalid string: control character U+001C (FS) must be escaped to \\u001C",
        "invalid string: control character U+001D (GS) must be escaped to \\u001D",
        "invalid string: control character U+001E (RS) must be escaped to \\u001E",
        "invalid string: control character U+001F (US) must be escaped to \\u001F",
    ];
    MESSAGES.get(usize::from(c)).copied().unwrap_or("invalid string: ill-formed UTF-8 byte")
}

/// A container being filled: a list, or a set with the key of the value being parsed.
enum Frame {
    List(Vec<Value>),
    Object(Vec<Attr>, Symbol),
}

/// What follows a member of a container: another member, or the container's end.
enum Member {
    More(Frame),
    Done(Value),
}

/// The parser: the reference's state machine over the lexer's tokens.
struct JsonParser<'a> {
    lexer: Lexer<'a>,
    token: Token,
}

impl JsonParser<'_> {
    fn next_token(&mut self) -> Token {
        self.token = self.lexer.scan();
        self.token
    }

    /// The reference's syntax error for the current token.
    fn syntax_error(&self, expected: Token, context: &str) -> JsonError {
        let mut message = format!("syntax error while parsing {context} - ");
        if self.token == Token::ParseError {
            let _ = write!(message, "{}; last read: '{}'", self.lexer.error, self.lexer.token_string());
        } else {
            let _ = write!(message, "unexpected {}", self.token.name());
        }
        if expected != Token::Uninitialized {
            let _ = write!(message, "; expected {}", expected.name());
        }
        JsonError::Syntax(format!(
            "[json.exception.parse_error.101] parse error at {}: {message}",
            self.lexer.position()
        ))
    }

    fn parse(&mut self) -> Result<Value, JsonError> {
        self.next_token();
        let value = self.parse_value()?;
        if self.next_token() != Token::EndOfInput {
            return Err(self.syntax_error(Token::EndOfInput, "value"));
        }
        Ok(value)
    }

    /// Parses one value starting at the current token; containers are kept on an explicit
    /// stack so that nesting depth costs no native stack.
    fn parse_value(&mut self) -> Result<Value, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut value = match self.token {
                Token::BeginObject => match self.open_object()? {
                    Some(key) => {
                        stack.push(Frame::Object(Vec::new(), key));
                        self.next_token();
                        continue;
                    }
                    None => Value::attrs(Attrs::new()),
                },
                Token::BeginArray => {
                    if self.next_token() != Token::EndArray {
                        stack.push(Frame::List(Vec::new()));
                        continue;
                    }
                    Value::list(Vec::new())
                }
                _ => self.scalar()?,
            };
            loop {
                let Some(frame) = stack.pop() else { return Ok(value) };
                match self.add_to_frame(frame, value)? {
                    Member::More(frame) => {
                        stack.push(frame);
                        break;
                    }
                    Member::Done(done) => value = done,
                }
            }
        }
    }

    /// Adds a finished value to its container and reads what follows it.
    fn add_to_frame(&mut self, frame: Frame, value: Value) -> Result<Member, JsonError> {
        match frame {
            Frame::List(mut items) => {
                items.push(value);
                match self.next_token() {
                    Token::ValueSeparator => {
                        self.next_token();
                        Ok(Member::More(Frame::List(items)))
                    }
                    Token::EndArray => Ok(Member::Done(Value::list(items))),
                    _ => Err(self.syntax_error(Token::EndArray, "array")),
                }
            }
            Frame::Object(mut attrs, key) => {
                attrs.push(Attr { name: key, value, pos: Pos::NONE });
                match self.next_token() {
                    Token::ValueSeparator => {
                        let key = self.object_key(true)?;
                        self.next_token();
                        Ok(Member::More(Frame::Object(attrs, key)))
                    }
                    Token::EndObject => Ok(Member::Done(object_value(attrs))),
                    _ => Err(self.syntax_error(Token::EndObject, "object")),
                }
            }
        }
    }

    /// After `{`: `None` for `{}`, or the first key (with its `:` read).
    fn open_object(&mut self) -> Result<Option<Symbol>, JsonError> {
        if self.next_token() == Token::EndObject {
            return Ok(None);
        }
        self.object_key(false).map(Some)
    }

    /// A key and its `:`; with `read` the key token is read first.
    fn object_key(&mut self, read: bool) -> Result<Symbol, JsonError> {
        if read {
            self.next_token();
        }
        if self.token != Token::Str {
            return Err(self.syntax_error(Token::Str, "object key"));
        }
        let key = self.string_buffer()?;
        if self.next_token() != Token::NameSeparator {
            return Err(self.syntax_error(Token::NameSeparator, "object separator"));
        }
        Ok(Symbol::intern(&key))
    }

    /// The string just scanned, refused if it holds a NUL byte as the reference does.
    fn string_buffer(&self) -> Result<String, JsonError> {
        let text = String::from_utf8_lossy(&self.lexer.buffer).into_owned();
        if text.contains('\0') {
            let shown = text.replace('\0', "\u{2400}");
            let message =
                format!("input string '{shown}' cannot be represented as Nix string because it contains null bytes");
            return Err(JsonError::Eval(EvalError::msg(message)));
        }
        Ok(text)
    }

    fn scalar(&mut self) -> Result<Value, JsonError> {
        Ok(match self.token {
            Token::Null => Value::Null,
            Token::True => Value::Bool(true),
            Token::False => Value::Bool(false),
            Token::Str => Value::string(self.string_buffer()?),
            Token::Integer => Value::Int(self.lexer.int_value),
            Token::Unsigned => {
                let message =
                    format!("unsigned json number {} outside of Nix integer range", self.lexer.int_value as u64);
                return Err(JsonError::Eval(EvalError::msg(message)));
            }
            Token::Float => {
                if !self.lexer.float_value.is_finite() {
                    let text = self.lexer.token_string();
                    let message = format!("[json.exception.out_of_range.406] number overflow parsing '{text}'");
                    return Err(JsonError::Syntax(message));
                }
                Value::Float(self.lexer.float_value)
            }
            Token::ParseError => return Err(self.syntax_error(Token::Uninitialized, "value")),
            Token::EndOfInput if self.lexer.chars_total == 1 => {
                let message = "[json.exception.parse_error.101] parse error at line 1, column 1: attempting to parse an empty input; check that your input string or stream contains the expected JSON";
                return Err(JsonError::Syntax(message.to_string()));
            }
            _ => return Err(self.syntax_error(Token::LiteralOrValue, "value")),
        })
    }
}

/// A set from parsed members; for a repeated key the last value wins.
fn object_value(mut attrs: Vec<Attr>) -> Value {
    attrs.reverse();
    Value::attrs(Attrs::from_unsorted(attrs))
}

// ---------------------------------------------------------------------------------------
// fromTOML

fn builtin_from_toml(ev: &mut Evaluator, args: &[Value], _: Span) -> EvalResult<Value> {
    let what = "while evaluating the argument passed to builtins.fromTOML";
    let text = force_string_no_ctx(ev, &args[0], what)?;
    let table: toml::Table =
        text.as_str().parse().map_err(|e: toml::de::Error| toml_error(&toml_message(&e, text.as_str())))?;
    let timestamps = ev.settings.experimental_features.iter().any(|f| f == "parse-toml-timestamps");
    toml_table(&table, timestamps)
}

fn toml_error(message: &str) -> EvalError {
    EvalError::msg(format!("while parsing TOML: {message}"))
}

/// Refuses text with NUL bytes, which Nix strings cannot hold.
fn toml_no_null(text: &str) -> EvalResult<()> {
    if !text.contains('\0') {
        return Ok(());
    }
    let shown = text.replace('\0', "\u{2400}");
    Err(toml_error(&format!(
        "error: input string '{shown}' cannot be represented as Nix string because it contains null bytes"
    )))
}

fn toml_table(table: &toml::Table, timestamps: bool) -> EvalResult<Value> {
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table {
        toml_no_null(key)?;
        entries.push(Attr { name: Symbol::intern(key), value: toml_value(value, timestamps)?, pos: Pos::NONE });
    }
    Ok(Value::attrs(Attrs::from_unsorted(entries)))
}

fn toml_value(value: &toml::Value, timestamps: bool) -> EvalResult<Value> {
    Ok(match value {
        toml::Value::String(s) => {
            toml_no_null(s)?;
            Value::string(s.as_str())
        }
        toml::Value::Integer(n) => Value::Int(*n),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(datetime) if timestamps => super::make_attrs(vec![
            ("_type", Value::string("timestamp")),
            ("value", Value::string(toml_datetime_text(datetime))),
        ]),
        toml::Value::Datetime(_) => return Err(toml_error("Dates and times are not supported")),
        toml::Value::Array(items) => {
            Value::list(items.iter().map(|item| toml_value(item, timestamps)).collect::<EvalResult<Vec<_>>>()?)
        }
        toml::Value::Table(table) => toml_table(table, timestamps)?,
    })
}

/// A date/time as the reference prints it: `T` between date and time, seconds always,
/// fractions with 3, 6 or 9 digits as needed, and `Z` for a zero offset.
fn toml_datetime_text(datetime: &toml::value::Datetime) -> String {
    let mut out = String::new();
    if let Some(date) = &datetime.date {
        let _ = write!(out, "{:04}-{:02}-{:02}", date.year, date.month, date.day);
    }
    if let Some(time) = &datetime.time {
        if datetime.date.is_some() {
            out.push('T');
        }
        let _ = write!(out, "{:02}:{:02}:{:02}", time.hour, time.minute, time.second);
        let nanos = time.nanosecond;
        if nanos % 1000 != 0 {
            let _ = write!(out, ".{nanos:09}");
        } else if nanos % 1_000_000 != 0 {
            let _ = write!(out, ".{:06}", nanos / 1000);
        } else if nanos != 0 {
            let _ = write!(out, ".{:03}", nanos / 1_000_000);
        }
    }
    match datetime.offset {
        Some(toml::value::Offset::Z) | Some(toml::value::Offset::Custom { minutes: 0 }) => out.push('Z'),
        Some(toml::value::Offset::Custom { minutes }) => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let minutes = minutes.unsigned_abs();
            let _ = write!(out, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
        }
        None => {}
    }
    out
}

/// A TOML syntax error in the reference's words: its TOML library's headline for the kind
/// of error, as far as it can be told from the `toml` crate's. (The reference adds lines
/// pointing into the text, which nxe's error display has no room for.)
fn toml_message(error: &toml::de::Error, text: &str) -> String {
    let offset = error.span().map_or(text.len(), |span| span.start);
    let at = text.get(offset..).unwrap_or("");
    format!("[error] {}", toml_headline(error.message(), text, offset, at))
}

/// The reference's headline for a `toml` crate error `detail` found at byte `offset`,
/// where the remaining text is `at`.
fn toml_headline(detail: &str, text: &str, offset: usize, at: &str) -> &'static str {
    const TABLE: &[(&str, &str)] = &[
        ("invalid table header\nduplicate key", "toml::insert_value: failed to insert a table, table already defined"),
        ("duplicate key", "toml::insert_value: failed to insert a value, value already exists"),
        ("(inline table)", "toml::insert_value: failed to insert a value: inline table is immutable"),
        ("attempted to extend", "toml::insert_value: failed to insert a value, value already exists"),
        ("invalid multiline basic string", "toml::parse_ml_basic_string: invalid string format"),
        ("invalid multiline literal string", "toml::parse_ml_literal_string: invalid string format"),
        ("invalid basic string", "toml::parse_basic_string: invalid string format"),
        ("invalid escape sequence", "toml::parse_basic_string: invalid string format"),
        ("invalid unicode", "toml::parse_basic_string: invalid string format"),
        ("invalid literal string", "toml::parse_literal_string: invalid string format"),
        ("expected `.`, `=`", "toml::parse_key_value_pair: invalid key value separator `=`"),
        ("invalid key", "toml::parse_simple_key: invalid key: key must be \"quoted\", 'quoted-literal', or bare key."),
        ("expected `.`, `]]`", "toml::parse_file: invalid array-table key"),
        ("invalid table header", "toml::parse_file: invalid table key"),
        ("number too large", "toml::parse_dec_integer: too large integer: current max digits = 2^63"),
        (
            "invalid hexadecimal",
            "toml::parse_hex_integer: invalid integer: hex_int must be like: 0xC0FFEE, 0xdead_beef",
        ),
        ("invalid octal", "toml::parse_oct_integer: invalid integer: oct_int must be like: 0o775, 0o04_44"),
        ("invalid binary", "toml::parse_bin_integer: invalid integer: bin_int must be like: 0b0101, 0b1111_0000"),
        ("invalid integer\nexpected digit", "bad integer: `_` must be surrounded by digits"),
        ("expected leading digit", "bad float: integer part is required before decimal point"),
        ("invalid date-time", "toml::parse_local_date: invalid date."),
    ];
    let previous = text.get(..offset).and_then(|before| before.bytes().last());
    if detail.starts_with("expected newline") {
        return match (previous, at.bytes().next()) {
            (Some(b'0'), Some(b'0'..=b'9')) => "bad integer: invalid digit after an integer",
            _ if text.get(..offset).and_then(|b| b.rsplit('\n').next()).is_some_and(|l| l.starts_with('[')) => {
                "toml::parse_file: newline (or EOF) expected"
            }
            _ => "toml::parse_table: newline (LF / CRLF) or EOF is expected",
        };
    }
    if detail.starts_with("invalid array") {
        return if at.is_empty() {
            "toml::parse_array: missing closing bracket `]`"
        } else {
            "toml::parse_array: expected value-separator `,` or closing `]`"
        };
    }
    if detail.starts_with("invalid inline table") {
        return if at.starts_with(',') {
            "toml::parse_inline_table: trailing comma is not allowed in TOML-v1.0.0)"
        } else {
            "toml::parse_inline_table: expected value-separator `,` or closing `}`"
        };
    }
    if detail.starts_with("invalid floating-point number") && !detail.contains("leading digit") {
        return if detail.contains('\n') || at.is_empty() {
            "bad float: invalid format"
        } else {
            "toml::parse_floating: failed to read floating point value from stream"
        };
    }
    if detail.starts_with("invalid string\nexpected") {
        return unknown_value_headline(at);
    }
    TABLE.iter().find(|(needle, _)| detail.contains(needle)).map_or("bad format: unknown value appeared", |(_, h)| h)
}

/// The headline for a value that is no value: the reference guesses from its first letter.
fn unknown_value_headline(at: &str) -> &'static str {
    match at.bytes().next() {
        Some(b't' | b'f') => "toml::parse_boolean: invalid boolean: boolean must be `true` or `false`, in lowercase. string must be surrounded by `\"`",
        Some(b'T') => "toml::parse_value: `true` must be in lowercase. A string must be surrounded by quotes.",
        Some(b'F') => "toml::parse_value: `false` must be in lowercase. A string must be surrounded by quotes.",
        Some(b'n' | b'N') => "toml::parse_value: `nan` must be in lowercase. A string must be surrounded by quotes.",
        Some(b'i' | b'I') => "toml::parse_value: `inf` must be in lowercase. A string must be surrounded by quotes.",
        _ => "bad format: unknown value appeared",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_laid_out_like_the_reference() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e20, "1e+20"),
            (-0.0, "-0.0"),
            (1e-7, "1e-07"),
            (123456789.0, "123456789.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345.0"),
            (0.001, "0.001"),
            (1e-5, "1e-05"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "null"),
        ];
        for (value, want) in cases {
            assert_eq!(format_json_float(value), want);
        }
    }

    #[test]
    fn grisu_digits_read_back_to_the_same_double() {
        let mut state = 0x2545F4914F6CDD1Du64;
        for _ in 0..20000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state >> 1);
            if !value.is_finite() || value == 0.0 {
                continue;
            }
            let (digits, exponent) = grisu::shortest(value);
            let back: f64 = format!("{digits}e{exponent}").parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), value.to_bits(), "{value:e}");
        }
    }

    fn parse_error(text: &str) -> String {
        parse_json(text).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn json_errors_read_like_the_reference() {
        assert_eq!(
            parse_error("{ not json }"),
            "[json.exception.parse_error.101] parse error at line 1, column 4: syntax error while parsing object key - invalid literal; last read: '{ no'; expected string literal"
        );
        assert_eq!(
            parse_error("[1] x"),
            "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while parsing value - invalid literal; last read: '1] x'; expected end of input"
        );
        assert_eq!(parse_error("1E400"), "[json.exception.out_of_range.406] number overflow parsing '1E400'");
    }
}
