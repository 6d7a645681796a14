//! Parsing hashes from text, following Nix's rules.
//!
//! * `algo:DIGEST` — the digest is base16, nix32 or base64, told apart by
//!   its length alone (hex length, nix32 length, padded base64 length).
//! * `algo-BASE64` — SRI; any base64 length, as long as it decodes to the
//!   digest size.
//! * `DIGEST` — only when the caller knows the algorithm; same length rules
//!   as the `algo:` form.
//!
//! Base64 is decoded leniently, as Nix does: decoding stops at the first
//! `=`, unused trailing bits are ignored, and a bad character makes the
//! decoded value empty (so the size check reports it).

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::error::{Result, StoreError};
use crate::hash::{base16_decode, Hash, HashAlgo};
use crate::nix32;

/// Standard alphabet, padding ignored, trailing bits ignored.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Decodes base64 the way Nix does (see the module docs); never fails, an
/// invalid string decodes to an empty vector.
fn lenient_base64_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut body = bytes.split(|&b| b == b'=').next().unwrap_or_default();
    // A lone final character carries only 6 bits: no whole byte.
    if body.len() % 4 == 1 {
        body = body.get(..body.len() - 1).unwrap_or_default();
    }
    LENIENT_BASE64.decode(body).unwrap_or_default()
}

/// Length of the padded base64 encoding of `n` bytes.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

impl Hash {
    /// Parses a hash in any of the forms Nix accepts (see the module docs).
    ///
    /// If `expected` is given, a prefixed hash must use that algorithm and an
    /// unprefixed one is parsed for it; without it, an unprefixed hash is an
    /// error.
    pub fn parse_any(s: &str, expected: Option<HashAlgo>) -> Result<Hash> {
        match split_prefix(s) {
            Some((algo_name, rest, is_sri)) => {
                let algo = HashAlgo::parse(algo_name)?;
                if let Some(e) = expected {
                    if e != algo {
                        return Err(StoreError::HashAlgoMismatch { hash: s.to_owned(), expected: e });
                    }
                }
                Hash::parse_body(rest, algo, is_sri)
            }
            None => match expected {
                Some(algo) => Hash::parse_body(s, algo, false),
                None => Err(StoreError::HashWithoutAlgo(s.to_owned())),
            },
        }
    }

    /// Parses a hash that must carry its algorithm, as `algo:DIGEST` or SRI.
    pub fn parse_prefixed(s: &str) -> Result<Hash> {
        Hash::parse_any(s, None)
    }

    /// Parses an SRI hash (`algo-base64`) only.
    pub fn parse_sri(s: &str) -> Result<Hash> {
        let (algo_name, rest) = s.split_once('-').ok_or_else(|| StoreError::HashWithoutAlgo(s.to_owned()))?;
        Hash::parse_body(rest, HashAlgo::parse(algo_name)?, true)
    }

    /// Parses an unprefixed digest for `algo` (base16, nix32 or base64 by length).
    pub fn parse_unprefixed(s: &str, algo: HashAlgo) -> Result<Hash> {
        Hash::parse_body(s, algo, false)
    }

    fn parse_body(s: &str, algo: HashAlgo, is_sri: bool) -> Result<Hash> {
        let size = algo.size();
        let decode_err =
            |encoding, actual| StoreError::HashDecode { encoding, hash: s.to_owned(), actual, expected: size };
        let (bytes, encoding) = if is_sri {
            (lenient_base64_decode(s), "SRI")
        } else if s.len() == size * 2 {
            (base16_decode(s).unwrap_or_default(), "base16")
        } else if s.len() == nix32::encoded_len(size) {
            let mut buf = vec![0u8; size];
            match nix32::decode_into(s, &mut buf) {
                Ok(()) => (buf, "nix32"),
                Err(_) => return Err(decode_err("nix32", 0)),
            }
        } else if s.len() == base64_len(size) {
            (lenient_base64_decode(s), "base64")
        } else {
            return Err(StoreError::HashWrongLength { hash: s.to_owned(), algo });
        };
        if bytes.len() != size {
            return Err(decode_err(encoding, bytes.len()));
        }
        Hash::from_bytes(algo, &bytes)
    }
}

/// Splits `algo:rest` (not SRI) or `algo-rest` (SRI); `:` wins if present.
fn split_prefix(s: &str) -> Option<(&str, &str, bool)> {
    if let Some((a, r)) = s.split_once(':') {
        return Some((a, r, false));
    }
    s.split_once('-').map(|(a, r)| (a, r, true))
}

impl std::str::FromStr for Hash {
    type Err = StoreError;
    /// Same as [`Hash::parse_prefixed`].
    fn from_str(s: &str) -> Result<Hash> {
        Hash::parse_prefixed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64() {
        let full = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
        assert_eq!(lenient_base64_decode(full).len(), 32);
        assert_eq!(lenient_base64_decode("LPJN=ul").len(), 3);
        assert_eq!(lenient_base64_decode("LPJNA").len(), 3);
        assert!(lenient_base64_decode("LP N").is_empty());
        assert!(lenient_base64_decode("LP-N").is_empty());
        assert!(lenient_base64_decode("").is_empty());
        // Multi-byte characters are invalid, never sliced through.
        assert!(lenient_base64_decode("abcé").is_empty());
        assert!(lenient_base64_decode("abcdé").is_empty());
    }

    #[test]
    fn base64_lengths() {
        assert_eq!(base64_len(16), 24);
        assert_eq!(base64_len(20), 28);
        assert_eq!(base64_len(32), 44);
        assert_eq!(base64_len(64), 88);
    }
}
