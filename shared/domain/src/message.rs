//! Messages and their delivery status.

use serde::{Deserialize, Serialize};

use crate::{ConversationId, MessageId, Timestamp, Wamid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
    System,
    /// Internal notes: never sent to the customer.
    Note,
}

/// A file sent or received. An agent's file is kept at `key` (its upload) and
/// went to WhatsApp as `media_id`; a customer's arrives as WhatsApp's
/// `media_id` and is kept where `media::inbound_key` says once fetched.
/// `url` is only read from messages stored before uploads existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Where the file is kept (the media store's key), for an agent's upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// Degrees of latitude or longitude: always a finite number, so a stored
/// location always reads back (JSON has no NaN or infinity).
///
/// Compared bit for bit, which makes it `Eq` like the rest of a message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(into = "f64", try_from = "f64")]
pub struct Degrees(f64);

impl Degrees {
    /// A latitude: finite and within -90..=90.
    pub fn latitude(value: f64) -> Option<Self> {
        (value.is_finite() && (-90.0..=90.0).contains(&value)).then_some(Self(value))
    }

    /// A longitude: finite and within -180..=180.
    pub fn longitude(value: f64) -> Option<Self> {
        (value.is_finite() && (-180.0..=180.0).contains(&value)).then_some(Self(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl PartialEq for Degrees {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Degrees {}

impl From<Degrees> for f64 {
    fn from(degrees: Degrees) -> Self {
        degrees.0
    }
}

impl TryFrom<f64> for Degrees {
    type Error = &'static str;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if value.is_finite() {
            Ok(Self(value))
        } else {
            Err("degrees must be a finite number")
        }
    }
}

/// One contact card a customer shared: the person's name and how to reach them,
/// each value as the customer's phone wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    /// The formatted name (`"Ana García"`); may be empty when the card had none.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Company, department and title, joined by `", "`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Postal addresses, each on one line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl ContactCard {
    /// Every string of the card, in reading order: name, phones, emails,
    /// organization, addresses, URLs. Empty ones are left out.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(self.phones.iter().map(String::as_str))
            .chain(self.emails.iter().map(String::as_str))
            .chain(self.organization.as_deref())
            .chain(self.addresses.iter().map(String::as_str))
            .chain(self.urls.iter().map(String::as_str))
            .filter(|text| !text.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateContent {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// What a message carries. Types WhatsApp adds later are kept as `Unsupported`
/// with their name, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        text: String,
    },
    Image {
        attachment: Attachment,
    },
    Video {
        attachment: Attachment,
    },
    Audio {
        attachment: Attachment,
    },
    Document {
        attachment: Attachment,
    },
    Sticker {
        attachment: Attachment,
    },
    /// A quick-reply button the customer tapped.
    Button {
        text: String,
        payload: Option<String>,
    },
    /// A reply to an interactive list or button message.
    Interactive {
        reply_id: String,
        title: String,
    },
    Template {
        template: TemplateContent,
    },
    /// A place the customer shared (a pin, or a named place with its address).
    Location {
        latitude: Degrees,
        longitude: Degrees,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// Contact cards the customer shared.
    Contacts {
        contacts: Vec<ContactCard>,
    },
    Unsupported {
        whatsapp_type: String,
    },
}

impl MessageContent {
    /// The message type as the HTTP contract names it.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Video { .. } => "video",
            Self::Audio { .. } => "audio",
            Self::Document { .. } => "document",
            Self::Sticker { .. } => "sticker",
            Self::Button { .. } => "button",
            Self::Interactive { .. } => "interactive",
            Self::Template { .. } => "template",
            Self::Location { .. } => "location",
            Self::Contacts { .. } => "contacts",
            Self::Unsupported { whatsapp_type } => whatsapp_type,
        }
    }

    /// The message's main words, for a transcript line: the text, the button or
    /// reply title, the caption, a location's name (else its address), the first
    /// shared contact's name. [`visible_texts`](Self::visible_texts) has them all.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text { text } | Self::Button { text, .. } => Some(text),
            Self::Interactive { title, .. } => Some(title),
            Self::Image { attachment }
            | Self::Video { attachment }
            | Self::Audio { attachment }
            | Self::Document { attachment }
            | Self::Sticker { attachment } => attachment.caption.as_deref(),
            Self::Location { name, address, .. } => name.as_deref().or(address.as_deref()),
            Self::Contacts { contacts } => contacts
                .iter()
                .map(|card| card.name.as_str())
                .find(|name| !name.is_empty()),
            Self::Template { .. } | Self::Unsupported { .. } => None,
        }
    }

    /// Every string a person reads in the message, in reading order and without
    /// empty ones: the text; a button's text; a reply's title; an attachment's
    /// caption and file name; a template's parameters; a location's name, address
    /// and URL; every field of every contact card. Identifiers a person does not
    /// read (media ids, reply ids, button payloads, template names) are left out.
    pub fn visible_texts(&self) -> Vec<&str> {
        let texts: Vec<&str> = match self {
            Self::Text { text } | Self::Button { text, .. } => vec![text],
            Self::Interactive { title, .. } => vec![title],
            Self::Image { attachment }
            | Self::Video { attachment }
            | Self::Audio { attachment }
            | Self::Document { attachment }
            | Self::Sticker { attachment } => attachment
                .caption
                .as_deref()
                .into_iter()
                .chain(attachment.filename.as_deref())
                .collect(),
            Self::Template { template } => template.parameters.iter().map(String::as_str).collect(),
            Self::Location {
                name, address, url, ..
            } => [name, address, url]
                .into_iter()
                .filter_map(|field| field.as_deref())
                .collect(),
            Self::Contacts { contacts } => contacts.iter().flat_map(ContactCard::texts).collect(),
            Self::Unsupported { .. } => Vec::new(),
        };
        texts.into_iter().filter(|text| !text.is_empty()).collect()
    }

    pub fn attachment(&self) -> Option<&Attachment> {
        match self {
            Self::Image { attachment }
            | Self::Video { attachment }
            | Self::Audio { attachment }
            | Self::Document { attachment }
            | Self::Sticker { attachment } => Some(attachment),
            _ => None,
        }
    }

    /// `#STOP`, trimmed, in any case.
    pub fn is_stop_request(&self) -> bool {
        matches!(self, Self::Text { text } if text.trim().eq_ignore_ascii_case("#stop"))
    }
}

/// Delivery of an outbound message. Only moves forward:
/// `pending → sent → delivered → read`, or to `failed` before it was read, or
/// from `pending` to `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    /// The send's answer was lost (a time-out or a connection dropped after
    /// the request went out): WhatsApp may have the message or not. Nothing
    /// can follow (there is no wamid for a status to match) and it is never
    /// resent automatically: a second copy is worse than a missing one, and
    /// the agent sees it and decides.
    Unknown,
}

impl DeliveryStatus {
    /// Whether `self` may follow `current`.
    pub fn is_after(self, current: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (current, self) {
            (Failed, _) | (Read, _) | (Unknown, _) => false,
            (current, Unknown) => current == Pending,
            (_, Failed) => true,
            (current, next) => next.rank() > current.rank(),
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Failed | Self::Unknown => 4,
        }
    }
}

/// WhatsApp error 131047: more than 24 hours since the customer last wrote.
pub const REENGAGEMENT_REQUIRED: i64 = 131_047;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryError {
    pub code: i64,
    pub title: String,
}

/// A delivery status callback from WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub wamid: Wamid,
    pub status: DeliveryStatus,
    pub at: Timestamp,
    pub error: Option<DeliveryError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    #[serde(flatten)]
    pub content: MessageContent,
    /// The agent for outbound messages and notes; `None` for the customer and the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DeliveryError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wamid: Option<Wamid>,
}

impl Message {
    /// A system message WhatsApp already took (an automatic reply, the
    /// `#STOP` confirmation), as it is recorded after its send: `pending`
    /// with its wamid until its statuses come, its id derived from
    /// `natural_key`, so recording it again records the same message.
    pub fn sent_automatically(
        natural_key: &str,
        conversation_id: ConversationId,
        text: &str,
        wamid: Wamid,
        at: Timestamp,
    ) -> Self {
        Self {
            id: MessageId::derived_from(natural_key),
            conversation_id,
            direction: Direction::System,
            content: MessageContent::Text {
                text: text.to_owned(),
            },
            author: None,
            at,
            status: Some(DeliveryStatus::Pending),
            error: None,
            wamid: Some(wamid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use DeliveryStatus::*;

    #[test]
    fn an_automatic_message_is_recorded_once_by_its_key() {
        let at = chrono::Utc::now();
        let conversation = ConversationId::generate();
        let wamid = Wamid::parse("wamid.AUTO").unwrap();
        let message = Message::sent_automatically(
            "auto-reply/wamid.IN",
            conversation,
            "hi",
            wamid.clone(),
            at,
        );
        assert_eq!(
            message,
            Message::sent_automatically(
                "auto-reply/wamid.IN",
                conversation,
                "hi",
                wamid.clone(),
                at
            ),
            "the same key, the same message"
        );
        assert_ne!(
            message.id,
            Message::sent_automatically("auto-reply/wamid.IN2", conversation, "hi", wamid, at).id
        );
        assert_eq!(
            (message.direction, message.status, message.author),
            (Direction::System, Some(Pending), None)
        );
        assert_eq!(
            message.wamid.as_ref().map(Wamid::as_str),
            Some("wamid.AUTO")
        );
    }

    #[test]
    fn status_moves_forward_only() {
        assert!(Sent.is_after(Pending));
        assert!(Delivered.is_after(Sent));
        assert!(Read.is_after(Sent));
        assert!(!Sent.is_after(Delivered));
        assert!(!Delivered.is_after(Read));
        assert!(Failed.is_after(Sent));
        assert!(!Failed.is_after(Read));
        assert!(!Read.is_after(Failed));
        assert!(!Sent.is_after(Sent));
    }

    #[test]
    fn stop_is_trimmed_and_case_insensitive() {
        let text = |t: &str| MessageContent::Text { text: t.into() };
        assert!(text("#STOP").is_stop_request());
        assert!(text("  #stop \n").is_stop_request());
        assert!(text("#Stop").is_stop_request());
        assert!(!text("# STOP").is_stop_request());
        assert!(!text("please #STOP").is_stop_request());
    }

    fn any_status() -> impl Strategy<Value = DeliveryStatus> {
        prop_oneof![
            Just(Pending),
            Just(Sent),
            Just(Delivered),
            Just(Read),
            Just(Failed)
        ]
    }

    proptest! {
        /// Applying any sequence of callbacks never moves the status back.
        #[test]
        fn applied_statuses_never_regress(updates in proptest::collection::vec(any_status(), 0..30)) {
            let mut current = Pending;
            let mut seen = vec![current];
            for next in updates {
                if next.is_after(current) {
                    current = next;
                    seen.push(current);
                }
            }
            for pair in seen.windows(2) {
                prop_assert!(pair[1].is_after(pair[0]));
                prop_assert!(!pair[0].is_after(pair[1]));
            }
        }
    }
}
