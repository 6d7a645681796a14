//! Hash encodings and parsing. Every expected value was produced by the
//! reference Nix 2.34 (`builtins.hashString`, `builtins.convertHash`).

use nxe_store::{nix32, Hash, HashAlgo, HashFormat, StoreError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// (algo, base16, nix32, SRI) of the string "hello".
const HELLO: [(HashAlgo, &str, &str, &str); 4] = [
    (
        HashAlgo::Md5,
        "5d41402abc4b2a76b9719d911017c592",
        "4jqlbi14cxf6wpcajbphm40hax",
        "md5-XUFAKrxLKna5cZ2REBfFkg==",
    ),
    (
        HashAlgo::Sha1,
        "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
        "9m1skbnr5i43n3yypvda5s65vhfwdx5a",
        "sha1-qvTGHdzF6KLavt4PO0gs2a6pQ00=",
    ),
    (
        HashAlgo::Sha256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
    ),
    (
        HashAlgo::Sha512,
        "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        "11w1pmwfdpz9pisbhp5qiv38q6dmidq2ipcqykw3p0sb6yrqcij79rwcwcjbxyzwbdal349qbxrncbk7pmd6snljrfpiwv2pljd4wcv",
        "sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==",
    ),
];

#[test]
fn hello_in_every_format() {
    for (algo, b16, n32, sri) in HELLO {
        let h = Hash::compute(algo, b"hello");
        assert_eq!(h.to_base16(), b16);
        assert_eq!(h.to_nix32(), n32);
        assert_eq!(h.to_sri(), sri);
        assert_eq!(h.to_string(), sri);
        let b64 = sri.split_once('-').map(|(_, b)| b).unwrap_or_default();
        assert_eq!(h.to_string_as(HashFormat::Base64, false), b64);
        assert_eq!(h.to_string_as(HashFormat::Nix32, true), format!("{}:{n32}", algo.name()));
        assert_eq!(h.to_string_as(HashFormat::Sri, false), sri);
    }
}

#[test]
fn empty_string_nix32() {
    let expected = [
        (HashAlgo::Md5, "3y8bwfr609h3lh9ch0izcqq7fl"),
        (HashAlgo::Sha1, "143xibwh31h9bvxzalr0sjvbbvpa6ffs"),
        (HashAlgo::Sha256, "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"),
        (
            HashAlgo::Sha512,
            "0zdl9zrg8r3i9c1g90lgg9ip5ijzv3yhz91i0zzn3r8ap9ws784gkp9dk9j3aglhgf1amqb0pj21mh7h1nxcl18akqvvf7ggqsy30yg",
        ),
    ];
    for (algo, n32) in expected {
        assert_eq!(nix32::encode(Hash::compute(algo, b"").bytes()), n32);
    }
}

#[test]
fn parses_every_format_back() -> TestResult {
    for (algo, b16, n32, sri) in HELLO {
        let want = Hash::compute(algo, b"hello");
        let b64 = sri.split_once('-').map(|(_, b)| b).unwrap_or_default();
        for body in [b16, &b16.to_uppercase(), n32, b64] {
            assert_eq!(Hash::parse_any(&format!("{algo}:{body}"), None)?, want);
            assert_eq!(Hash::parse_any(&format!("{algo}:{body}"), Some(algo))?, want);
            assert_eq!(Hash::parse_any(body, Some(algo))?, want);
            assert_eq!(Hash::parse_unprefixed(body, algo)?, want);
        }
        assert_eq!(Hash::parse_any(sri, None)?, want);
        assert_eq!(Hash::parse_sri(sri)?, want);
        assert_eq!(sri.parse::<Hash>()?, want);
    }
    Ok(())
}

const SHA256_HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// Inputs the reference accepts, all meaning sha256("hello").
#[test]
fn lenient_forms_accepted_by_the_reference() -> TestResult {
    for s in [
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ==",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ===",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=A",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=AB",
        "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCR=",
        "sha256:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCR=",
    ] {
        assert_eq!(Hash::parse_any(s, None)?.to_base16(), SHA256_HELLO, "{s}");
    }
    // Spare bits of the leading nix32 digit are kept, not rejected.
    let h = Hash::parse_any("sha256:194qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic", None)?;
    assert_eq!(h.to_base16(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98a4");
    // Bits set in the lowest digit.
    let h = Hash::parse_any("sha256:094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwiz", None)?;
    assert_eq!(h.to_base16(), "3ff24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    Ok(())
}

/// Inputs the reference rejects.
#[test]
fn rejected_by_the_reference() {
    let cases: [(&str, Option<HashAlgo>); 17] = [
        (SHA256_HELLO, None),
        ("sha1:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", None),
        ("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", Some(HashAlgo::Sha1)),
        ("sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", Some(HashAlgo::Sha512)),
        ("sha256:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ", None),
        ("sha256:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLm==", None),
        ("sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmC=", None),
        ("sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQA", None),
        ("sha256-LPJNul+wow4m6Dsqxbni nhsWHlwfp0JecwQzYpOLmCQ=", None),
        ("sha256-LPJN=ul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ", None),
        ("sha256-LPJNul_wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ", None),
        ("sha256:zz4qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic", None),
        ("sha256:e94qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic", None),
        ("sha256:094QIF9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic", None),
        ("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982g", None),
        ("SHA256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", None),
        ("md5:", None),
    ];
    for (s, algo) in cases {
        assert!(Hash::parse_any(s, algo).is_err(), "{s} should be rejected");
    }
}

#[test]
fn error_messages_match_the_reference_wording() {
    let msg = |s: &str, a| match Hash::parse_any(s, a) {
        Err(e) => e.to_string(),
        Ok(h) => format!("unexpectedly parsed as {h}"),
    };
    assert_eq!(
        msg(SHA256_HELLO, None),
        format!("hash '{SHA256_HELLO}' does not include a type, nor is the type otherwise known from context")
    );
    assert_eq!(
        msg(&format!("sha256:{SHA256_HELLO}"), Some(HashAlgo::Sha1)),
        format!("hash 'sha256:{SHA256_HELLO}' should have type 'sha1'")
    );
    assert_eq!(
        msg(&format!("sha1:{SHA256_HELLO}"), None),
        format!("hash '{SHA256_HELLO}' has wrong length for hash algorithm 'sha1'")
    );
    assert_eq!(
        msg("sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmC=", None),
        "invalid SRI hash 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmC=', length 31 != expected length 32"
    );
    assert!(matches!(
        Hash::parse_any("foo-abc", None),
        Err(StoreError::UnknownHashAlgo(a)) if a == "foo"
    ));
}

#[test]
fn algo_names() -> TestResult {
    for a in HashAlgo::ALL {
        assert_eq!(HashAlgo::parse(a.name())?, a);
        assert_eq!(a.digest(b"").bytes().len(), a.size());
    }
    assert!(HashAlgo::parse("blake3").is_err());
    assert!(Hash::from_bytes(HashAlgo::Sha1, &[0; 32]).is_err());
    Ok(())
}
