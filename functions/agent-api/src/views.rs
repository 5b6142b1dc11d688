//! The JSON shapes of the HTTP contract (`docs/product.md#86-shapes`).

use serde::Serialize;
use wadesk_domain::masking::mask_content;
use wadesk_domain::message::ContactCard;
use wadesk_domain::{
    Agent, AgentId, AgentState, Attachment, Conversation, ConversationId, ConversationStatus,
    Customer, DeliveryStatus, Direction, Message, MessageContent, MessageId, Origin, QueueId, Role,
    TemplateContent, Timestamp,
};

#[derive(Debug, Serialize)]
pub struct CustomerRef {
    pub wa_id: String,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChannelRef {
    pub phone_number_id: String,
    pub display_phone_number: String,
}

#[derive(Debug, Serialize)]
pub struct ConversationView {
    pub id: ConversationId,
    pub status: ConversationStatus,
    pub customer: CustomerRef,
    pub channel: ChannelRef,
    pub queue: QueueId,
    pub queue_name: Option<String>,
    pub owner: Option<AgentId>,
    pub participants: Vec<AgentId>,
    pub origin: Origin,
    pub reopened_by: Option<AgentId>,
    pub created_at: Timestamp,
    pub window_expires_at: Option<Timestamp>,
    pub can_reopen: bool,
    pub can_push: bool,
    pub done: bool,
    pub wrap_up_reason: Option<String>,
    pub offered_to: Option<AgentId>,
    pub invited: Option<AgentId>,
    pub pending_wrap_up: Vec<AgentId>,
    /// Seconds since it entered its queue (what the offer popover shows).
    pub waiting_seconds: Option<i64>,
    pub answered: bool,
    /// Said but not enforced: e.g. a take that puts the agent above their limit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ConversationView {
    pub fn new(
        conversation: &Conversation,
        customer: Option<&Customer>,
        queue_name: Option<String>,
        now: Timestamp,
    ) -> Self {
        // The archive's buttons, by the very rules reopen and push apply.
        let (can_reopen, can_push) =
            wadesk_domain::desk::archive_actions(conversation, customer, now);
        Self {
            id: conversation.id,
            status: conversation.status,
            customer: CustomerRef {
                wa_id: conversation.customer.wa_id.to_string(),
                name: customer
                    .and_then(|c| c.profile_name.clone())
                    .or_else(|| conversation.customer_name.clone()),
            },
            channel: ChannelRef {
                phone_number_id: conversation.customer.phone_number_id.to_string(),
                display_phone_number: conversation.display_phone_number.clone(),
            },
            queue: conversation.queue.clone(),
            queue_name,
            owner: conversation.owner.clone(),
            participants: conversation.participants.clone(),
            origin: conversation.origin,
            reopened_by: conversation.reopened_by.clone(),
            created_at: conversation.created_at,
            window_expires_at: customer.and_then(Customer::window_expires_at),
            can_reopen,
            can_push,
            done: conversation.done,
            wrap_up_reason: conversation.wrap_up_reason.clone(),
            offered_to: conversation.offered_to.clone(),
            invited: conversation.invited.clone(),
            pending_wrap_up: conversation.pending_wrap_up.clone(),
            waiting_seconds: conversation
                .queued_at
                .filter(|_| conversation.status == ConversationStatus::Unanswered)
                .map(|at| (now - at).num_seconds().max(0)),
            answered: conversation.answered,
            warnings: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: MessageId,
    pub direction: Direction,
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub attachment: Option<Attachment>,
    /// Where the message's file is served (`GET …/media`), when it has one
    /// kept: an agent's upload, or a customer's media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    pub template: Option<TemplateContent>,
    /// A shared place: `{latitude, longitude, name?, address?, url?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<serde_json::Value>,
    /// Shared contact cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactCard>>,
    pub author: Option<String>,
    pub at: Timestamp,
    pub status: Option<DeliveryStatus>,
    pub wamid: Option<String>,
}

impl MessageView {
    /// With `masked`, every customer-supplied field (text, caption, filename,
    /// location, contact cards, reply titles) is masked; the stored message is
    /// unchanged.
    pub fn new(message: &Message, masked: bool) -> Self {
        let content = if masked {
            std::borrow::Cow::Owned(mask_content(&message.content))
        } else {
            std::borrow::Cow::Borrowed(&message.content)
        };
        let (location, contacts) = match content.as_ref() {
            MessageContent::Location {
                latitude,
                longitude,
                name,
                address,
                url,
            } => (
                Some(serde_json::json!({
                    "latitude": latitude.value(),
                    "longitude": longitude.value(),
                    "name": name,
                    "address": address,
                    "url": url,
                })),
                None,
            ),
            MessageContent::Contacts { contacts } => (None, Some(contacts.clone())),
            _ => (None, None),
        };
        Self {
            id: message.id,
            direction: message.direction,
            kind: content.type_name().to_owned(),
            text: content.text().map(str::to_owned),
            attachment: content.attachment().cloned().map(|mut attachment| {
                // Where the store keeps it is the server's business.
                attachment.key = None;
                attachment
            }),
            media_url: content
                .attachment()
                .filter(|a| {
                    a.key.is_some()
                        || (message.direction == Direction::Inbound && a.media_id.is_some())
                })
                .map(|_| {
                    format!(
                        "/conversations/{}/messages/{}/media",
                        message.conversation_id, message.id
                    )
                }),
            template: match content.as_ref() {
                MessageContent::Template { template } => Some(template.clone()),
                _ => None,
            },
            location,
            contacts,
            author: message.author.clone(),
            at: message.at,
            status: message.status,
            wamid: message.wamid.as_ref().map(ToString::to_string),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AgentView {
    pub id: AgentId,
    pub name: String,
    pub role: Role,
    pub state: AgentState,
    pub queues: Vec<QueueId>,
    pub max_concurrent: u32,
    /// Conversations the agent holds now (offered or active).
    pub active: u32,
}

impl AgentView {
    /// A bootstrap admin the directory does not list yet: no queues, never
    /// offered chats.
    pub fn bootstrap_admin(id: &AgentId) -> Self {
        Self {
            id: id.clone(),
            name: id.to_string(),
            role: Role::Admin,
            state: AgentState::NotReady,
            queues: Vec::new(),
            max_concurrent: 0,
            active: 0,
        }
    }
}

impl From<&Agent> for AgentView {
    fn from(agent: &Agent) -> Self {
        Self {
            id: agent.id.clone(),
            name: agent.name.clone(),
            role: agent.role,
            state: agent.state,
            queues: agent.queues.clone(),
            max_concurrent: agent.max_concurrent,
            active: agent.load,
        }
    }
}

/// A page of a list: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use wadesk_domain::message::Degrees;

    /// A Luhn-valid number of `digits.len() + 1` digits.
    fn luhn(mut digits: Vec<u32>) -> String {
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    (d * 2) % 9 + u32::from(d * 2 == 18) * 9
                } else {
                    *d
                }
            })
            .sum();
        digits.push((10 - sum % 10) % 10);
        digits
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap())
            .collect()
    }

    /// `card` written in groups of four with `separator`, in ASCII or
    /// full-width digits.
    fn written(card: &str, separator: &str, full_width: bool) -> String {
        let digits: Vec<String> = card
            .chars()
            .map(|c| match (full_width, c.to_digit(10)) {
                (true, Some(d)) => char::from_u32('０' as u32 + d).unwrap().to_string(),
                _ => c.to_string(),
            })
            .collect();
        digits
            .chunks(4)
            .map(|group| group.concat())
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// Every string of `value`, with its digits (any script) in ASCII.
    fn digit_runs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(
                s.chars()
                    .filter_map(|c| {
                        c.to_digit(10)
                            .or_else(|| ('０'..='９').contains(&c).then(|| c as u32 - '０' as u32))
                    })
                    .filter_map(|d| char::from_digit(d, 10))
                    .collect(),
            ),
            serde_json::Value::Array(items) => items.iter().for_each(|v| digit_runs(v, out)),
            serde_json::Value::Object(fields) => fields.values().for_each(|v| digit_runs(v, out)),
            _ => {}
        }
    }

    fn message(content: MessageContent) -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            direction: Direction::Inbound,
            content,
            author: None,
            at: chrono::Utc::now(),
            status: None,
            error: None,
            wamid: None,
        }
    }

    /// `text` in customer-supplied field number `field` of some content kind.
    fn carrying(field: usize, text: String) -> MessageContent {
        let attachment = |caption: Option<String>, filename: Option<String>| Attachment {
            media_id: Some("M1".into()),
            caption,
            filename,
            ..Attachment::default()
        };
        match field % 9 {
            0 => MessageContent::Text { text },
            1 => MessageContent::Image {
                attachment: attachment(Some(text), None),
            },
            2 => MessageContent::Document {
                attachment: attachment(None, Some(format!("{text}.pdf"))),
            },
            3 => MessageContent::Location {
                latitude: Degrees::latitude(40.4).unwrap(),
                longitude: Degrees::longitude(-3.7).unwrap(),
                name: Some(text),
                address: None,
                url: None,
            },
            4 => MessageContent::Location {
                latitude: Degrees::latitude(40.4).unwrap(),
                longitude: Degrees::longitude(-3.7).unwrap(),
                name: None,
                address: Some(text),
                url: None,
            },
            5 => MessageContent::Contacts {
                contacts: vec![ContactCard {
                    name: "Ana".into(),
                    phones: vec![text],
                    ..ContactCard::default()
                }],
            },
            6 => MessageContent::Contacts {
                contacts: vec![ContactCard {
                    name: text,
                    ..ContactCard::default()
                }],
            },
            7 => MessageContent::Interactive {
                reply_id: "r1".into(),
                title: text,
            },
            _ => MessageContent::Button {
                text,
                payload: None,
            },
        }
    }

    proptest! {
        /// What an agent reads of a masking channel's message never holds a
        /// card number's digits in sequence: any Luhn-valid 13 to 19 digits,
        /// any separator, ASCII or full-width, in any customer field.
        #[test]
        fn no_view_shows_a_card_number(
            digits in proptest::collection::vec(0_u32..10, 12..19),
            separator in prop::sample::select(vec![" ", "-", ".", "/", "", " - ", "／"]),
            full_width in any::<bool>(),
            field in 0_usize..9,
            before in "[a-zA-Z :,]{0,12}",
            after in "[a-zA-Z :,]{0,12}",
        ) {
            let card = luhn(digits);
            let text = format!("{before}{}{after}", written(&card, separator, full_width));
            let view = MessageView::new(&message(carrying(field, text)), true);
            let mut runs = Vec::new();
            digit_runs(&serde_json::to_value(&view).unwrap(), &mut runs);
            for run in runs {
                prop_assert!(!run.contains(&card), "{card} in {view:?}");
            }
        }
    }
}
