//! Nix's own base-32 encoding.
//!
//! The alphabet is `0123456789abcdfghijklmnpqrsvwxyz` (no `e`, `o`, `u`, `t`).
//! Unlike RFC 4648, the input is read as one little-endian number and the
//! output is printed most significant digit first: the *last* output
//! character holds the low five bits of the *first* input byte.
//!
//! ```
//! use nxe_store::nix32;
//! let s = nix32::encode(&[0x2c, 0x01]);
//! assert_eq!(s.len(), nix32::encoded_len(2));
//! assert_eq!(nix32::decode(&s).unwrap(), vec![0x2c, 0x01]);
//! ```

use crate::error::{Result, StoreError};

/// The 32 digits, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Value of an ASCII byte as a digit, or `None` if it is not a digit.
fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'd' => Some(c - b'a' + 10),
        b'f'..=b'n' => Some(c - b'f' + 14),
        b'p'..=b's' => Some(c - b'p' + 23),
        b'v'..=b'z' => Some(c - b'v' + 27),
        _ => None,
    }
}

/// Whether `c` is one of the 32 digits.
pub fn is_digit(c: u8) -> bool {
    digit_value(c).is_some()
}

/// Number of characters needed to encode `n` bytes.
pub fn encoded_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n * 8 - 1) / 5 + 1
    }
}

/// Number of bytes a string of `len` characters decodes to.
pub fn decoded_len(len: usize) -> usize {
    len * 5 / 8
}

/// Encodes bytes to Nix base-32.
pub fn encode(bytes: &[u8]) -> String {
    let len = encoded_len(bytes.len());
    let mut out = String::with_capacity(len);
    for n in (0..len).rev() {
        let bit = n * 5;
        let i = bit / 8;
        let j = bit % 8;
        let low = bytes.get(i).map_or(0, |&b| u16::from(b) >> j);
        let high = bytes.get(i + 1).map_or(0, |&b| u16::from(b) << (8 - j));
        let idx = usize::from((low | high) & 0x1f);
        out.push(char::from(ALPHABET[idx]));
    }
    out
}

/// Decodes Nix base-32 into exactly `out.len()` bytes.
///
/// The string must have exactly [`encoded_len`]`(out.len())` characters, all
/// from the alphabet, and must not set bits beyond the output size.
pub fn decode_into(input: &str, out: &mut [u8]) -> Result<()> {
    let bad = |reason| StoreError::InvalidNix32 { input: input.to_owned(), reason };
    let s = input.as_bytes();
    if s.len() != encoded_len(out.len()) {
        return Err(bad("wrong length"));
    }
    out.fill(0);
    for (n, &c) in s.iter().rev().enumerate() {
        let digit = u16::from(digit_value(c).ok_or_else(|| bad("invalid character"))?);
        let bit = n * 5;
        let i = bit / 8;
        let j = bit % 8;
        let shifted = digit << j;
        // `i < out.len()` always holds for a string of the matching length.
        if let Some(b) = out.get_mut(i) {
            *b |= (shifted & 0xff) as u8;
        }
        let carry = (shifted >> 8) as u8;
        if carry != 0 {
            match out.get_mut(i + 1) {
                Some(b) => *b |= carry,
                None => return Err(bad("excess bits set")),
            }
        }
    }
    Ok(())
}

/// Decodes a Nix base-32 string of canonical length into bytes.
///
/// The byte count is [`decoded_len`] of the string length; strings whose
/// length no byte count encodes to are rejected, as are bits set beyond the
/// last byte.
pub fn decode(input: &str) -> Result<Vec<u8>> {
    let n = decoded_len(input.len());
    if encoded_len(n) != input.len() {
        return Err(StoreError::InvalidNix32 { input: input.to_owned(), reason: "wrong length" });
    }
    let mut out = vec![0u8; n];
    decode_into(input, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_round_trips_through_digit_value() {
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(digit_value(c), Some(i as u8));
        }
        for c in [b'e', b'o', b'u', b't', b'A', b'-', b' '] {
            assert_eq!(digit_value(c), None);
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(encoded_len(0), 0);
        assert_eq!(encoded_len(16), 26);
        assert_eq!(encoded_len(20), 32);
        assert_eq!(encoded_len(32), 52);
        assert_eq!(encoded_len(64), 103);
        for n in 0..100 {
            assert_eq!(decoded_len(encoded_len(n)), n);
        }
    }

    #[test]
    fn round_trip_all_lengths() -> Result<()> {
        for n in 0..70usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let s = encode(&bytes);
            assert_eq!(s.len(), encoded_len(n));
            assert_eq!(decode(&s)?, bytes);
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_input() {
        // Bad character.
        assert!(decode("e94qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic").is_err());
        // Upper case is not accepted.
        assert!(decode("094QIF9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic").is_err());
        // Overflow past 32 bytes through the leading digit.
        assert!(decode("294qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic").is_err());
        // A length no byte count encodes to.
        assert!(decode("0").is_err());
        let mut buf = [0u8; 20];
        assert!(decode_into("abc", &mut buf).is_err());
    }

    #[test]
    fn leading_digit_may_use_spare_bit() -> Result<()> {
        // 52 digits carry 260 bits; the leading digit has one usable bit.
        let v = decode("194qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic")?;
        assert_eq!(v.len(), 32);
        assert_eq!(v[31], 0xa4);
        Ok(())
    }
}
