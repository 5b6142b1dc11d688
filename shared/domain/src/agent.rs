//! Agents, queues and the directory an admin keeps.

use serde::{Deserialize, Serialize};

use crate::{AgentId, QueueId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
    /// An external bot that owns conversations in `bot` until it hands them over.
    Bot,
}

/// The most conversations one agent may hold at once.
pub const MAX_CONCURRENT_LIMIT: u32 = 100;

impl Role {
    /// Supervisors and admins see every conversation and may act on any queue.
    pub fn oversees(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
    }

    /// The `max_concurrent` an entry of this role may have: agents take chats
    /// (at least one); supervisors, admins and bots may have 0 and are then
    /// never offered any.
    pub fn concurrency_range(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Self::Agent => 1..=MAX_CONCURRENT_LIMIT,
            Self::Supervisor | Self::Admin | Self::Bot => 0..=MAX_CONCURRENT_LIMIT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Available,
    NotReady,
    /// Redirect on no answer: an offer timed out. Only the agent clears it.
    Rona,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub role: Role,
    pub queues: Vec<QueueId>,
    pub max_concurrent: u32,
    pub state: AgentState,
    /// Conversations the agent holds: offered to them or active with them.
    pub load: u32,
    /// Since when the agent has had nothing (routing prefers the longest idle).
    pub idle_since: Timestamp,
    pub version: u64,
}

impl Agent {
    /// A new agent starts `not_ready`.
    pub fn new(
        id: AgentId,
        name: String,
        role: Role,
        queues: Vec<QueueId>,
        max_concurrent: u32,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            role,
            queues,
            max_concurrent,
            state: AgentState::NotReady,
            load: 0,
            idle_since: now,
            version: 0,
        }
    }

    pub fn serves(&self, queue: &QueueId) -> bool {
        self.queues.contains(queue)
    }

    /// Offers go only to available agents below their limit.
    pub fn can_be_offered(&self, queue: &QueueId) -> bool {
        self.state == AgentState::Available && self.load < self.max_concurrent && self.serves(queue)
    }

    pub(crate) fn add_load(&mut self) {
        self.load += 1;
    }

    pub(crate) fn remove_load(&mut self, now: Timestamp) {
        self.load = self.load.saturating_sub(1);
        if self.load == 0 {
            self.idle_since = now;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub id: QueueId,
    pub name: String,
}
