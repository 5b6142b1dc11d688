//! A conversation: one session of one customer on one channel.

use serde::{Deserialize, Serialize};

use crate::{AgentId, ConversationId, CustomerKey, QueueId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// An external bot owns it.
    Bot,
    /// Queued, waiting for an agent.
    Unanswered,
    /// An agent owns it.
    Active,
    /// Ended, waiting for a wrap-up reason.
    WrapUp,
    /// In the archive.
    Finished,
    /// An agent reopened it or pushed a template; waiting for the customer.
    Reopened,
}

impl ConversationStatus {
    /// Live sessions: a customer has at most one.
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Finished)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Unanswered => "unanswered",
            Self::Active => "active",
            Self::WrapUp => "wrap_up",
            Self::Finished => "finished",
            Self::Reopened => "reopened",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Customer,
    AgentReopen,
    Push,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub customer: CustomerKey,
    pub customer_name: Option<String>,
    pub display_phone_number: String,
    pub status: ConversationStatus,
    pub queue: QueueId,
    pub owner: Option<AgentId>,
    #[serde(default)]
    pub participants: Vec<AgentId>,
    pub origin: Origin,
    pub reopened_by: Option<AgentId>,
    /// The customer's previous conversation, linking their history.
    pub previous: Option<ConversationId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_inbound_at: Option<Timestamp>,
    /// The first customer message no agent has answered yet (response time).
    pub unanswered_since: Option<Timestamp>,
    /// When an agent started handling it (handling time).
    pub handling_started_at: Option<Timestamp>,
    pub wrap_up_reason: Option<String>,
    #[serde(default)]
    pub done: bool,
    /// The agent an offer is waiting on, and since when.
    #[serde(default)]
    pub offered_to: Option<AgentId>,
    #[serde(default)]
    pub offered_at: Option<Timestamp>,
    /// When it last entered a queue (the offer shows the waiting time).
    #[serde(default)]
    pub queued_at: Option<Timestamp>,
    /// An agent invited to a conference who has not accepted yet.
    #[serde(default)]
    pub invited: Option<AgentId>,
    /// Agents who left (transfer, conference exit) and owe a wrap-up reason.
    #[serde(default)]
    pub pending_wrap_up: Vec<AgentId>,
    /// At least one agent replied.
    #[serde(default)]
    pub answered: bool,
    /// When it last reached `finished` (`None` while live): with
    /// `retention_days`, when its stored data expires
    /// ([`crate::protection::expires_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// Its channel's retention when it started (`None`: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<crate::protection::RetentionDays>,
    /// The customer's 24-hour window as this conversation last learnt it
    /// (`None` on conversations stored before it was kept). Kept equal to the
    /// customer's while the conversation is live: every customer message
    /// writes it in the transaction that writes the customer, WhatsApp's
    /// early close writes it with the customer
    /// ([`crate::CustomerChange::live_window`]), and every desk change that
    /// read the customer refreshes it. A reply by the conversation's own
    /// agent decides on it instead of reading the customer
    /// ([`crate::desk::send_needs_customer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_window: Option<crate::Window>,
    /// Optimistic-concurrency version: every write checks and bumps it.
    #[serde(default)]
    pub version: u64,
}

/// An agent's live lists. Each live conversation of an agent is in exactly
/// one of them, so a list of several views never shows one twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveList {
    /// Offered to them, or a conference they are invited to.
    Offered,
    /// They own it or are in it (also while it waits for wrap-up), or they
    /// owe a wrap-up for it.
    Active,
    /// They reopened it (or pushed a template); it waits for the customer.
    Reopened,
}

/// The relation of a finished conversation to its owner: in their archive.
pub const ARCHIVE_LINK: &str = "archive";

impl Conversation {
    /// When its stored data expires: only once finished
    /// (`docs/product.md#11-data-protection`).
    pub fn expires_at(&self) -> Option<Timestamp> {
        crate::protection::expires_at(self)
    }

    /// Where it stands in its queue: by the time it last entered a queue (else
    /// its creation), then id. Oldest first is the order routing and the
    /// status lists use.
    pub fn queue_order(&self) -> (Timestamp, ConversationId) {
        (self.queued_at.unwrap_or(self.created_at), self.id)
    }

    /// Which of `agent`'s live lists this conversation is in, if any.
    pub fn live_list_of(&self, agent: &AgentId) -> Option<LiveList> {
        let owns = self.owner.as_ref() == Some(agent);
        if self.offered_to.as_ref() == Some(agent) || self.invited.as_ref() == Some(agent) {
            Some(LiveList::Offered)
        } else if matches!(
            self.status,
            ConversationStatus::Active | ConversationStatus::WrapUp
        ) && (owns || self.participants.contains(agent))
            || self.pending_wrap_up.contains(agent)
        {
            Some(LiveList::Active)
        } else if self.status == ConversationStatus::Reopened && owns {
            Some(LiveList::Reopened)
        } else {
            None
        }
    }

    /// Agents who see this conversation in their own lists, and why.
    ///
    /// A finished conversation is in its owner's archive (relation
    /// [`ARCHIVE_LINK`]) until they mark it done; every other relation is a
    /// live one. Stores keep the two apart, so an agent's live lists never
    /// read their archive, however long it grows.
    pub fn agent_links(&self) -> Vec<(AgentId, &'static str)> {
        let mut links = Vec::new();
        match (&self.owner, self.status) {
            (Some(owner), ConversationStatus::Finished) if !self.done => {
                links.push((owner.clone(), ARCHIVE_LINK));
            }
            (Some(_), ConversationStatus::Finished) | (None, _) => {}
            (Some(owner), _) => links.push((owner.clone(), "owner")),
        }
        if let Some(agent) = &self.offered_to {
            links.push((agent.clone(), "offered"));
        }
        if let Some(agent) = &self.invited {
            links.push((agent.clone(), "invited"));
        }
        for agent in &self.participants {
            if Some(agent) != self.owner.as_ref() {
                links.push((agent.clone(), "participant"));
            }
        }
        for agent in &self.pending_wrap_up {
            links.push((agent.clone(), "wrap_up"));
        }
        links.sort();
        links.dedup_by(|a, b| a.0 == b.0);
        links
    }
}
