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
        let window_open = customer.is_some_and(|c| c.window_is_open(now));
        let opted_out = customer.is_some_and(|c| c.opt_out.is_opted_out());
        let finished = conversation.status == ConversationStatus::Finished;
        let live_elsewhere = customer.is_some_and(|c| c.live.is_some());
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
            can_reopen: finished && window_open && !live_elsewhere && !opted_out,
            can_push: finished
                && !window_open
                && !live_elsewhere
                && !opted_out
                && customer.is_some_and(|c| {
                    c.window.is_some() && c.push_sent_for != c.window_expires_at()
                }),
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
            attachment: content.attachment().cloned(),
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
