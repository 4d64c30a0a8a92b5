//! HMAC-SHA256 webhook signatures (API-NOTES §8): `HMAC-SHA256(key = the signing key's UTF-8
//! bytes, message = the raw body bytes exactly as received)`, compared in constant time.
//!
//! The header value may be 64 hex digits or base64 of the 32 digest bytes (see
//! [`DigestEncoding`]); an optional `sha256=` prefix is tolerated (a common convention, harmless).
//! Nothing here logs or returns the signature or the key.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::DigestEncoding;

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 digest in bytes.
const DIGEST_LEN: usize = 32;

/// Why a signature was refused (all are answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The header value is neither form the configured encoding allows.
    Malformed,
    /// A well-formed digest that does not match the body.
    Mismatch,
}

/// The digest of `body` under `key`, as 64 lowercase hex digits (what a sender puts in the header
/// with `hex` encoding).
pub fn sign_hex(key: &[u8], body: &[u8]) -> String {
    hex::encode(digest(key, body))
}

/// The digest of `body` under `key`, as standard base64 with padding.
pub fn sign_base64(key: &[u8], body: &[u8]) -> String {
    STANDARD.encode(digest(key, body))
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; the error case does not exist for it.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn digest(key: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    let mut m = mac(key);
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The digest bytes a header value can stand for under `encoding` (at most one per form).
fn candidates(value: &str, encoding: DigestEncoding) -> Vec<Vec<u8>> {
    let value = value.trim();
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &value[7..],
        _ => value,
    };
    let mut out = Vec::new();
    if matches!(encoding, DigestEncoding::Hex | DigestEncoding::Either) && value.len() == 64 {
        if let Ok(bytes) = hex::decode(value) {
            out.push(bytes);
        }
    }
    if matches!(encoding, DigestEncoding::Base64 | DigestEncoding::Either) && value.len() <= 44 {
        if let Some(bytes) = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(value).ok())
            .filter(|b| b.len() == DIGEST_LEN)
        {
            out.push(bytes);
        }
    }
    out
}

/// Check `header_value` against the HMAC-SHA256 of `body` under `key`. The comparison is
/// constant-time (`hmac`'s `verify_slice`); decoding the header is not, which only depends on
/// what the sender wrote.
///
/// Errors: [`SignatureProblem::Malformed`] when the value is not a digest in an accepted encoding,
/// [`SignatureProblem::Mismatch`] when no accepted reading matches.
pub fn verify(
    key: &[u8],
    body: &[u8],
    header_value: &str,
    encoding: DigestEncoding,
) -> Result<(), SignatureProblem> {
    let candidates = candidates(header_value, encoding);
    if candidates.is_empty() {
        return Err(SignatureProblem::Malformed);
    }
    let mut m = mac(key);
    m.update(body);
    let matched = candidates.iter().any(|c| m.clone().verify_slice(c).is_ok());
    if matched {
        Ok(())
    } else {
        Err(SignatureProblem::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"stsync-test-signing-key-0123456789abcdef";

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn encodings_table() {
        use DigestEncoding::*;
        let body = br#"{"id":"e1"}"#;
        let hex = sign_hex(KEY, body);
        let b64 = sign_base64(KEY, body);
        let cases: Vec<(String, DigestEncoding, Result<(), SignatureProblem>)> = vec![
            (hex.clone(), Hex, Ok(())),
            (hex.clone(), Either, Ok(())),
            (hex.to_uppercase(), Either, Ok(())),
            (format!("sha256={hex}"), Either, Ok(())),
            (format!("  {hex}\t"), Hex, Ok(())),
            (hex.clone(), Base64, Err(SignatureProblem::Malformed)),
            (b64.clone(), Base64, Ok(())),
            (b64.clone(), Either, Ok(())),
            (b64.trim_end_matches('=').to_owned(), Either, Ok(())),
            (b64.replace('+', "-").replace('/', "_"), Either, Ok(())),
            (b64.clone(), Hex, Err(SignatureProblem::Malformed)),
            (
                sign_hex(b"another key", body),
                Either,
                Err(SignatureProblem::Mismatch),
            ),
            (
                sign_base64(KEY, b"other body"),
                Either,
                Err(SignatureProblem::Mismatch),
            ),
            ("".into(), Either, Err(SignatureProblem::Malformed)),
            (
                "not a digest".into(),
                Either,
                Err(SignatureProblem::Malformed),
            ),
            ("ab".repeat(31), Either, Err(SignatureProblem::Malformed)),
        ];
        for (value, encoding, expected) in cases {
            assert_eq!(
                verify(KEY, body, &value, encoding),
                expected,
                "{value:?} {encoding:?}"
            );
        }
    }

    #[test]
    fn verification_is_over_raw_bytes() {
        let body = br#"{"a":1,"b":2}"#;
        let sig = sign_hex(KEY, body);
        assert!(verify(KEY, body, &sig, DigestEncoding::Either).is_ok());
        for equal_json in [
            &br#"{"b":2,"a":1}"#[..],
            br#"{"a": 1, "b": 2}"#,
            b"{\"a\":1,\"b\":2}\n",
        ] {
            assert_eq!(
                verify(KEY, equal_json, &sig, DigestEncoding::Either),
                Err(SignatureProblem::Mismatch)
            );
        }
    }
}
