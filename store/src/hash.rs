//! Hash algorithms, digests and their textual encodings.
//!
//! A [`Hash`](struct@Hash) is an algorithm plus digest bytes. It prints in the four
//! encodings Nix knows ([`HashFormat`]) and parses from any of them, with
//! the same rules as Nix for telling the encodings apart (see
//! [`Hash::parse_any`]).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use md5::Digest as _;

use crate::error::{Result, StoreError};
use crate::nix32;

/// A hash algorithm supported by Nix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl HashAlgo {
    /// All algorithms, in the order Nix lists them.
    pub const ALL: [HashAlgo; 4] = [HashAlgo::Md5, HashAlgo::Sha1, HashAlgo::Sha256, HashAlgo::Sha512];

    /// The lower-case name Nix uses (`md5`, `sha1`, `sha256`, `sha512`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// Digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }

    /// Parses an algorithm name; names are case-sensitive, as in Nix.
    pub fn parse(name: &str) -> Result<Self> {
        HashAlgo::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| StoreError::UnknownHashAlgo(name.to_owned()))
    }

    /// Hashes `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Hash {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgo {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        HashAlgo::parse(s)
    }
}

/// An incremental hasher for any [`HashAlgo`]; also an [`std::io::Write`]
/// sink, so serialisers can stream straight into it.
#[derive(Clone)]
pub struct Hasher(HasherInner);

#[derive(Clone)]
enum HasherInner {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher for `algo`.
    pub fn new(algo: HashAlgo) -> Self {
        Hasher(match algo {
            HashAlgo::Md5 => HasherInner::Md5(md5::Md5::new()),
            HashAlgo::Sha1 => HasherInner::Sha1(sha1::Sha1::new()),
            HashAlgo::Sha256 => HasherInner::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha512 => HasherInner::Sha512(sha2::Sha512::new()),
        })
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherInner::Md5(h) => h.update(data),
            HasherInner::Sha1(h) => h.update(data),
            HasherInner::Sha256(h) => h.update(data),
            HasherInner::Sha512(h) => h.update(data),
        }
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Hash {
        match self.0 {
            HasherInner::Md5(h) => Hash::from_vec(HashAlgo::Md5, h.finalize().to_vec()),
            HasherInner::Sha1(h) => Hash::from_vec(HashAlgo::Sha1, h.finalize().to_vec()),
            HasherInner::Sha256(h) => Hash::from_vec(HashAlgo::Sha256, h.finalize().to_vec()),
            HasherInner::Sha512(h) => Hash::from_vec(HashAlgo::Sha512, h.finalize().to_vec()),
        }
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of `data` as a plain array.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// The textual encodings of a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFormat {
    /// Lower-case hexadecimal.
    Base16,
    /// Nix's base-32 (see [`crate::nix32`]).
    Nix32,
    /// Standard base64 with padding.
    Base64,
    /// Subresource-integrity style `algo-base64`; always carries the algorithm.
    Sri,
}

/// A digest together with the algorithm that produced it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    algo: HashAlgo,
    bytes: Vec<u8>,
}

impl Hash {
    /// Hashes `data` with `algo`.
    pub fn compute(algo: HashAlgo, data: &[u8]) -> Hash {
        algo.digest(data)
    }

    /// Wraps existing digest bytes; fails if their length is not the
    /// algorithm's digest size.
    pub fn from_bytes(algo: HashAlgo, bytes: &[u8]) -> Result<Hash> {
        if bytes.len() != algo.size() {
            return Err(StoreError::HashDecode {
                encoding: "raw",
                hash: base16_encode(bytes),
                actual: bytes.len(),
                expected: algo.size(),
            });
        }
        Ok(Hash::from_vec(algo, bytes.to_vec()))
    }

    /// A SHA-256 hash from its 32 bytes.
    pub fn sha256_from(bytes: [u8; 32]) -> Hash {
        Hash::from_vec(HashAlgo::Sha256, bytes.to_vec())
    }

    fn from_vec(algo: HashAlgo, bytes: Vec<u8>) -> Hash {
        Hash { algo, bytes }
    }

    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The digest bytes (always `algo().size()` long).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Prints the digest in `format`, prefixed by `algo:` if `with_algo`.
    ///
    /// [`HashFormat::Sri`] always prints as `algo-base64`, whatever `with_algo`.
    pub fn to_string_as(&self, format: HashFormat, with_algo: bool) -> String {
        let body = match format {
            HashFormat::Base16 => base16_encode(&self.bytes),
            HashFormat::Nix32 => nix32::encode(&self.bytes),
            HashFormat::Base64 => base64::engine::general_purpose::STANDARD.encode(&self.bytes),
            HashFormat::Sri => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
                return format!("{}-{}", self.algo, b64);
            }
        };
        if with_algo {
            format!("{}:{}", self.algo, body)
        } else {
            body
        }
    }

    /// Lower-case hex without prefix.
    pub fn to_base16(&self) -> String {
        self.to_string_as(HashFormat::Base16, false)
    }

    /// Nix base-32 without prefix.
    pub fn to_nix32(&self) -> String {
        self.to_string_as(HashFormat::Nix32, false)
    }

    /// `algo-base64`.
    pub fn to_sri(&self) -> String {
        self.to_string_as(HashFormat::Sri, true)
    }
}

/// Prints as SRI (`sha256-...`).
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sri())
    }
}

/// Lower-case hex encoding of arbitrary bytes.
pub fn base16_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

/// Decodes hex (either case); `None` on an odd length or a non-hex digit.
pub fn base16_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks_exact(2).map(|p| Some((val(p[0])? << 4) | val(p[1])?)).collect()
}
