//! The `GET /webhook` verification handshake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wadesk_whatsapp::subscription::{verify, MAX_CHALLENGE_CHARS};
use wadesk_whatsapp::SubscriptionError;

const TOKEN: &str = "local-verify-token";

#[test]
fn answers_with_the_challenge() {
    assert_eq!(
        verify(Some("subscribe"), Some(TOKEN), Some("1158201444"), TOKEN),
        Ok("1158201444".to_owned())
    );
}

#[test]
fn mode_must_be_subscribe() {
    for mode in [None, Some(""), Some("unsubscribe"), Some("Subscribe")] {
        assert_eq!(
            verify(mode, Some(TOKEN), Some("1"), TOKEN),
            Err(SubscriptionError::WrongMode),
            "{mode:?}"
        );
    }
}

#[test]
fn token_must_match() {
    for token in [
        None,
        Some(""),
        Some("local-verify-toke"),
        Some("local-verify-tokenX"),
        Some("LOCAL-VERIFY-TOKEN"),
    ] {
        assert_eq!(
            verify(Some("subscribe"), token, Some("1"), TOKEN),
            Err(SubscriptionError::WrongToken),
            "{token:?}"
        );
    }
}

#[test]
fn an_empty_expected_token_matches_nothing() {
    assert_eq!(
        verify(Some("subscribe"), Some(""), Some("1"), ""),
        Err(SubscriptionError::WrongToken)
    );
    assert_eq!(
        verify(Some("subscribe"), None, Some("1"), ""),
        Err(SubscriptionError::WrongToken)
    );
}

#[test]
fn challenge_must_be_present() {
    for challenge in [None, Some("")] {
        assert_eq!(
            verify(Some("subscribe"), Some(TOKEN), challenge, TOKEN),
            Err(SubscriptionError::MissingChallenge)
        );
    }
}

#[test]
fn challenge_length_is_capped_in_characters() {
    let longest = "é".repeat(MAX_CHALLENGE_CHARS);
    assert_eq!(
        verify(Some("subscribe"), Some(TOKEN), Some(&longest), TOKEN),
        Ok(longest.clone())
    );
    let too_long = "1".repeat(MAX_CHALLENGE_CHARS + 1);
    assert_eq!(
        verify(Some("subscribe"), Some(TOKEN), Some(&too_long), TOKEN),
        Err(SubscriptionError::ChallengeTooLong)
    );
}

#[test]
fn challenge_with_control_characters_is_refused() {
    for challenge in ["12\r\n34", "\u{0}", "abc\u{7f}"] {
        assert_eq!(
            verify(Some("subscribe"), Some(TOKEN), Some(challenge), TOKEN),
            Err(SubscriptionError::BadChallenge),
            "{challenge:?}"
        );
    }
}

#[test]
fn mode_is_checked_before_token() {
    // Both wrong: the first problem is reported; either way the handler says 403.
    assert_eq!(
        verify(Some("x"), Some("y"), None, TOKEN),
        Err(SubscriptionError::WrongMode)
    );
}
