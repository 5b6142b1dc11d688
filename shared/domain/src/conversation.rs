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
    /// Optimistic-concurrency version: every write checks and bumps it.
    #[serde(default)]
    pub version: u64,
}

impl Conversation {
    /// Agents who see this conversation in their own lists, and why.
    pub fn agent_links(&self) -> Vec<(AgentId, &'static str)> {
        let mut links = Vec::new();
        if let Some(owner) = &self.owner {
            links.push((owner.clone(), "owner"));
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
