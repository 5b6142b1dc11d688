//! `X-Hub-Signature-256` verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wadesk_whatsapp::signature::{self, sign, verify};
use wadesk_whatsapp::SignatureError;

const SECRET: &[u8] = b"3f1c2a9b7d6e5f40a1b2c3d4e5f60718";
const BODY: &[u8] = include_bytes!("fixtures/text.json");

#[test]
fn valid_signature_passes() {
    let header = sign(SECRET, BODY);
    assert!(header.starts_with("sha256="));
    assert_eq!(header.len(), "sha256=".len() + 64);
    assert_eq!(verify(SECRET, BODY, Some(&header)), Ok(()));
}

#[test]
fn uppercase_hex_and_surrounding_whitespace_pass() {
    let header = sign(SECRET, BODY);
    let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
    assert_eq!(verify(SECRET, BODY, Some(&upper)), Ok(()));
    assert_eq!(verify(SECRET, BODY, Some(&format!(" {header}\t"))), Ok(()));
}

#[test]
fn known_value() {
    // Computed independently: printf '%s' "$BODY" | openssl dgst -sha256 -hmac app-secret
    let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    assert_eq!(
        sign(b"app-secret", body),
        "sha256=d3e4f9da0ce6c71ab3dba55929b8eeeee2455349e534924ead19f98d143e904f"
    );
}

#[test]
fn missing_header() {
    assert_eq!(verify(SECRET, BODY, None), Err(SignatureError::Missing));
}

#[test]
fn wrong_prefix() {
    let hex = &sign(SECRET, BODY)["sha256=".len()..];
    for header in [
        hex.to_owned(),
        format!("sha1={hex}"),
        format!("SHA256={hex}"),
        format!("sha256:{hex}"),
        String::new(),
    ] {
        assert_eq!(
            verify(SECRET, BODY, Some(&header)),
            Err(SignatureError::WrongPrefix),
            "{header}"
        );
    }
}

#[test]
fn bad_hex() {
    let hex = &sign(SECRET, BODY)["sha256=".len()..];
    let not_hex = format!("sha256=zz{}", &hex[2..]);
    assert_eq!(
        verify(SECRET, BODY, Some(&not_hex)),
        Err(SignatureError::BadHex)
    );
    assert_eq!(
        verify(SECRET, BODY, Some("sha256=héllo")),
        Err(SignatureError::BadHex)
    );
    let with_dash = format!("sha256={}-{}", &hex[..31], &hex[32..]);
    assert_eq!(
        verify(SECRET, BODY, Some(&with_dash)),
        Err(SignatureError::BadHex)
    );
}

#[test]
fn wrong_length() {
    let hex = &sign(SECRET, BODY)["sha256=".len()..];
    for (header, found) in [
        (format!("sha256={}", &hex[..63]), 63),
        (format!("sha256={}", &hex[..40]), 40),
        (format!("sha256={hex}00"), 66),
        ("sha256=".to_owned(), 0),
    ] {
        assert_eq!(
            verify(SECRET, BODY, Some(&header)),
            Err(SignatureError::WrongLength { found }),
            "{header}"
        );
    }
}

#[test]
fn mismatched_signature() {
    let other_secret = sign(b"another secret", BODY);
    assert_eq!(
        verify(SECRET, BODY, Some(&other_secret)),
        Err(SignatureError::Mismatch)
    );
    let zeros = format!("sha256={}", "0".repeat(64));
    assert_eq!(
        verify(SECRET, BODY, Some(&zeros)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn body_changed_by_one_byte() {
    let header = sign(SECRET, BODY);
    for i in [0, BODY.len() / 2, BODY.len() - 1] {
        let mut tampered = BODY.to_vec();
        tampered[i] ^= 0x01;
        assert_eq!(
            verify(SECRET, &tampered, Some(&header)),
            Err(SignatureError::Mismatch),
            "byte {i}"
        );
    }
    let mut longer = BODY.to_vec();
    longer.push(b' ');
    assert_eq!(
        verify(SECRET, &longer, Some(&header)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn header_name_is_the_one_whatsapp_uses() {
    assert_eq!(signature::HEADER, "X-Hub-Signature-256");
}
