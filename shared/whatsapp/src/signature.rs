//! `X-Hub-Signature-256`: the HMAC-SHA256 of the raw body with the app secret.
//!
//! Checked on the exact bytes received, before anything parses them; a body that
//! does not carry a valid signature must not be stored.

use hmac::digest::Key;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The header WhatsApp signs its webhooks with.
pub const HEADER: &str = "X-Hub-Signature-256";

/// What precedes the hex digest in the header value.
pub const PREFIX: &str = "sha256=";

/// Hex characters in a SHA-256 digest.
const DIGEST_HEX_LEN: usize = 64;

/// Why a webhook's signature was refused (the handler answers 401 for all of them;
/// the variants tell the log what happened).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the signature does not start with \"sha256=\"")]
    WrongPrefix,
    #[error("the signature is not hexadecimal")]
    BadHex,
    #[error("the signature has {found} hex characters, expected 64")]
    WrongLength { found: usize },
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature-256` value, `sha256=<hex>`) against the
/// body. The comparison runs in constant time (`Mac::verify_slice`).
///
/// # Errors
///
/// A [`SignatureError`] saying whether the header is missing, malformed or wrong.
pub fn verify(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_digest = header
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::WrongPrefix)?;
    if !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::BadHex);
    }
    if hex_digest.len() != DIGEST_HEX_LEN {
        return Err(SignatureError::WrongLength {
            found: hex_digest.len(),
        });
    }
    let mut expected = [0u8; DIGEST_HEX_LEN / 2];
    hex::decode_to_slice(hex_digest, &mut expected).map_err(|_| SignatureError::BadHex)?;

    let mut mac = keyed(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The full header value (`sha256=<lowercase hex>`) WhatsApp would send with this
/// body; the local runner and tests sign with it.
#[must_use]
pub fn sign(app_secret: &[u8], raw_body: &[u8]) -> String {
    let mut mac = keyed(app_secret);
    mac.update(raw_body);
    format!("{PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// An HMAC keyed with the secret, built without a fallible call.
///
/// HMAC takes keys of any length (RFC 2104): a key longer than the hash's block is
/// hashed first, and the key is zero-padded to a block. Doing that here lets us use
/// the infallible `new` instead of `new_from_slice(..).unwrap()`; the tests check it
/// against `new_from_slice` and the RFC 4231 vectors.
fn keyed(app_secret: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    if app_secret.len() > block.len() {
        let digest = Sha256::digest(app_secret);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..app_secret.len()].copy_from_slice(app_secret);
    }
    <HmacSha256 as hmac::digest::KeyInit>::new(&block)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    /// RFC 4231 test cases 1, 2 and 6 (short, short text, longer than a block).
    #[test]
    fn matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, digest) in cases {
            assert_eq!(sign(key, data), format!("sha256={digest}"));
        }
    }

    proptest! {
        /// The infallible constructor is the library's `new_from_slice`.
        #[test]
        fn keyed_equals_new_from_slice(
            secret in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut ours = keyed(&secret);
            ours.update(&body);
            let mut theirs = HmacSha256::new_from_slice(&secret).unwrap();
            theirs.update(&body);
            prop_assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes());
        }
    }
}
