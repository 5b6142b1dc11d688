//! Agents, queues and the directory an admin keeps.

use serde::{Deserialize, Serialize};

use crate::{AgentChange, AgentId, QueueId, Timestamp};

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

    /// Whether an entry of this role may have `max_concurrent`
    /// ([`Self::concurrency_range`]); the refusal says the range.
    pub fn check_max_concurrent(self, max_concurrent: u32) -> Result<(), crate::DeskError> {
        let allowed = self.concurrency_range();
        if allowed.contains(&max_concurrent) {
            return Ok(());
        }
        Err(crate::DeskError::Invalid(format!(
            "max_concurrent of a {} must be {} to {}",
            self.as_str(),
            allowed.start(),
            allowed.end()
        )))
    }

    /// The role as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Bot => "bot",
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

impl AgentState {
    /// Only an `available` agent receives offers
    /// (`docs/product.md#42-agents-offers-and-taking`); becoming available
    /// brings the offers that wait.
    pub fn takes_offers(self) -> bool {
        self == Self::Available
    }
}

/// What an admin says of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    pub name: String,
    pub role: Role,
    pub queues: Vec<QueueId>,
    pub max_concurrent: u32,
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
        self.state.takes_offers() && self.load < self.max_concurrent && self.serves(queue)
    }

    /// The directory entry `id` gets from an admin's `profile`, over `stored`
    /// (`None`: not in the directory yet, then it starts `not_ready` with
    /// nothing): the profile changes, the state, load and idle time stay.
    pub fn with_profile(
        stored: Option<&Agent>,
        id: &AgentId,
        profile: &AgentProfile,
        now: Timestamp,
    ) -> AgentChange {
        let mut agent = stored.cloned().unwrap_or_else(|| {
            Agent::new(
                id.clone(),
                profile.name.clone(),
                profile.role,
                Vec::new(),
                0,
                now,
            )
        });
        agent.name.clone_from(&profile.name);
        agent.role = profile.role;
        agent.queues.clone_from(&profile.queues);
        agent.max_concurrent = profile.max_concurrent;
        AgentChange::new(stored, agent)
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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::fixtures;
    use crate::version::ExpectedVersion;

    fn profile(name: &str, queue: &str) -> AgentProfile {
        AgentProfile {
            name: name.to_owned(),
            role: Role::Supervisor,
            queues: vec![QueueId::parse(queue).unwrap()],
            max_concurrent: 5,
        }
    }

    #[test]
    fn agents_take_at_least_one_chat_and_others_may_take_none() {
        for role in [Role::Agent, Role::Supervisor, Role::Admin, Role::Bot] {
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::json!(role.as_str())
            );
            assert!(role.check_max_concurrent(MAX_CONCURRENT_LIMIT).is_ok());
            assert!(role.check_max_concurrent(MAX_CONCURRENT_LIMIT + 1).is_err());
        }
        assert_eq!(
            Role::Agent.check_max_concurrent(0),
            Err(crate::DeskError::Invalid(
                "max_concurrent of a agent must be 1 to 100".into()
            ))
        );
        assert!(Role::Supervisor.check_max_concurrent(0).is_ok());
    }

    #[test]
    fn a_new_agent_starts_not_ready_with_nothing() {
        let now = chrono::Utc::now();
        let id = AgentId::parse("ana").unwrap();
        let change = Agent::with_profile(None, &id, &profile("Ana", "sales"), now);
        assert_eq!(change.expected_version, ExpectedVersion::Absent);
        let agent = change.agent;
        assert_eq!(
            (agent.id.as_str(), agent.name.as_str(), agent.role),
            ("ana", "Ana", Role::Supervisor)
        );
        assert_eq!(agent.queues, [QueueId::parse("sales").unwrap()]);
        assert_eq!((agent.max_concurrent, agent.load), (5, 0));
        assert_eq!(agent.state, AgentState::NotReady);
        assert_eq!(agent.idle_since, now);
        assert!(!agent.can_be_offered(&QueueId::parse("sales").unwrap()));
    }

    #[test]
    fn a_new_profile_keeps_the_state_load_and_idle_time() {
        let mut stored = fixtures::agent("ana", Role::Agent, "sales");
        stored.state = AgentState::Available;
        stored.load = 1;
        let later = stored.idle_since + Duration::hours(1);
        let id = stored.id.clone();
        let change = Agent::with_profile(Some(&stored), &id, &profile("Ana B.", "support"), later);
        assert_eq!(
            change.expected_version,
            ExpectedVersion::Exactly(stored.version)
        );
        let agent = change.agent;
        assert_eq!(agent.name, "Ana B.");
        assert_eq!(agent.queues, [QueueId::parse("support").unwrap()]);
        assert_eq!(
            (agent.state, agent.load, agent.idle_since),
            (stored.state, stored.load, stored.idle_since)
        );
        assert!(AgentState::Available.takes_offers());
        assert!(!AgentState::NotReady.takes_offers() && !AgentState::Rona.takes_offers());
    }
}
