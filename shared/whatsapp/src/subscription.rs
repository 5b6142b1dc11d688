//! The `GET` handshake WhatsApp makes when a webhook URL is registered:
//! `hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`, answered with the
//! challenge as the plain body when the token is ours.

/// The only `hub.mode` WhatsApp sends.
pub const MODE_SUBSCRIBE: &str = "subscribe";

/// Longest challenge echoed back. WhatsApp sends a short number; anything much
/// longer is not WhatsApp, and echoing it would make us a reflector.
pub const MAX_CHALLENGE_CHARS: usize = 512;

/// Why a verification request was refused (the handler answers 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("hub.mode is missing or not \"subscribe\"")]
    WrongMode,
    #[error("hub.verify_token is missing or does not match")]
    WrongToken,
    #[error("hub.challenge is missing or empty")]
    MissingChallenge,
    #[error("hub.challenge is longer than {MAX_CHALLENGE_CHARS} characters")]
    ChallengeTooLong,
    #[error("hub.challenge contains control characters")]
    BadChallenge,
}

/// Checks a verification request and returns the challenge to answer with.
///
/// The token is compared in constant time, and an empty token never matches (so an
/// unset `expected_token` cannot open the door).
///
/// # Errors
///
/// A [`SubscriptionError`] naming the first parameter that is wrong.
pub fn verify(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Result<String, SubscriptionError> {
    if mode != Some(MODE_SUBSCRIBE) {
        return Err(SubscriptionError::WrongMode);
    }
    let token = token.unwrap_or_default();
    if token.is_empty() || !constant_time_eq(token.as_bytes(), expected_token.as_bytes()) {
        return Err(SubscriptionError::WrongToken);
    }
    let challenge = challenge
        .filter(|c| !c.is_empty())
        .ok_or(SubscriptionError::MissingChallenge)?;
    if challenge.chars().count() > MAX_CHALLENGE_CHARS {
        return Err(SubscriptionError::ChallengeTooLong);
    }
    if challenge.chars().any(char::is_control) {
        return Err(SubscriptionError::BadChallenge);
    }
    Ok(challenge.to_owned())
}

/// Equality whose time depends on the length only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"\x01", b"\x00"));
    }
}
