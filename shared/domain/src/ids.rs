//! Identifiers, parsed once at the edge so the rest of the code can trust them.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} has characters that are not allowed")]
    BadCharacters { what: &'static str },
}

fn check(
    value: &str,
    what: &'static str,
    max: usize,
    allowed: fn(char) -> bool,
) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { what });
    }
    if value.chars().count() > max {
        return Err(IdError::TooLong { what, max });
    }
    if !value.chars().all(allowed) {
        return Err(IdError::BadCharacters { what });
    }
    Ok(())
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '=' | '+' | '/')
}

/// Printable and without white space: anything an identity provider puts in a
/// subject, nothing that could hide in a log line or a header.
fn is_printable(c: char) -> bool {
    !c.is_control() && !c.is_whitespace()
}

/// Characters escaped when an id becomes part of a composite key: the key
/// separator `#` and the escape character itself.
const KEY_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'#').add(b'%');

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check(&value, $what, $max, $allowed)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The WhatsApp Business phone number id (Cloud API `phone_number_id`).
    PhoneNumberId, "phone_number_id", 64, |c| c.is_ascii_digit()
);
string_id!(
    /// A customer's WhatsApp id: the phone-number based `wa_id`, or a
    /// business-scoped user id where Meta sends one instead.
    WaId, "wa_id", 128, is_token_char
);
string_id!(
    /// A WhatsApp message id (`wamid.…`).
    Wamid, "wamid", 256, is_token_char
);
string_id!(
    /// An agent: the JWT `sub` as the identity provider issues it (Cognito
    /// UUIDs, `auth0|…`, `google-oauth2|…`, Entra object ids, e-mail-like
    /// subjects). Encoded with [`AgentId::key_part`] wherever it becomes part
    /// of a composite key.
    AgentId, "agent id", 128, is_printable
);
string_id!(
    /// A queue configured by an admin.
    QueueId, "queue id", 128, is_token_char
);

impl AgentId {
    /// The id as one part of a `#`-separated key: `#` and `%` percent-encoded,
    /// so `a#b` can never read as two parts. Ids of token characters are
    /// unchanged, so keys written before subjects could hold them still match.
    pub fn key_part(&self) -> std::borrow::Cow<'_, str> {
        percent_encoding::utf8_percent_encode(&self.0, KEY_UNSAFE).into()
    }
}

impl QueueId {
    /// The queue that takes conversations of channels no admin has configured.
    pub fn default_queue() -> Self {
        Self("default".to_owned())
    }
}

/// A customer as one channel sees them: WhatsApp's window is per business number
/// and user, so this pair is the customer's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerKey {
    pub phone_number_id: PhoneNumberId,
    pub wa_id: WaId,
}

impl CustomerKey {
    pub fn new(phone_number_id: PhoneNumberId, wa_id: WaId) -> Self {
        Self {
            phone_number_id,
            wa_id,
        }
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// An id derived from a natural key, so that a retried command
            /// produces the same id.
            pub fn derived_from(natural_key: &str) -> Self {
                Self(Uuid::new_v5(&Uuid::NAMESPACE_OID, natural_key.as_bytes()))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A conversation (one session of one customer).
    ConversationId
);
uuid_id!(
    /// A message within a conversation.
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_bad_input() {
        assert!(PhoneNumberId::parse("106540352242922").is_ok());
        assert_eq!(
            PhoneNumberId::parse(""),
            Err(IdError::Empty {
                what: "phone_number_id"
            })
        );
        assert!(PhoneNumberId::parse("12a").is_err());
        assert!(WaId::parse("34600111222").is_ok());
        assert!(WaId::parse("US.13491208655302741918").is_ok());
        assert!(WaId::parse("a b").is_err());
        assert!(
            Wamid::parse("wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=").is_ok()
        );
        assert!(Wamid::parse("x".repeat(257)).is_err());
    }

    #[test]
    fn ids_round_trip_through_json() {
        let key = CustomerKey::new(
            PhoneNumberId::parse("1065").unwrap(),
            WaId::parse("3460").unwrap(),
        );
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, r#"{"phone_number_id":"1065","wa_id":"3460"}"#);
        let back: CustomerKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, key);
        assert!(serde_json::from_str::<WaId>(r#""""#).is_err());
    }

    #[test]
    fn default_queue_is_a_valid_queue_id() {
        assert_eq!(QueueId::parse("default").unwrap(), QueueId::default_queue());
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(
            MessageId::derived_from("wamid.1"),
            MessageId::derived_from("wamid.1")
        );
        assert_ne!(
            MessageId::derived_from("wamid.1"),
            MessageId::derived_from("wamid.2")
        );
    }
}
