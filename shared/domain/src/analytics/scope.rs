//! Whose figures: the scopes events are counted in, and which scope a viewer
//! may read.

use std::fmt;

use crate::{Actor, AgentId, Conversation, PhoneNumberId, QueueId, Role};

/// Whose figures: every conversation, or one agent's, queue's or channel's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    All,
    Agent(AgentId),
    Queue(QueueId),
    Channel(PhoneNumberId),
    /// One agent's work within one queue.
    AgentInQueue(AgentId, QueueId),
}

impl Scope {
    /// A stable text key (ids never contain `#`, so the key is unambiguous).
    pub fn key(&self) -> String {
        match self {
            Self::All => "ALL".to_owned(),
            Self::Agent(agent) => format!("AGENT#{}", agent.key_part()),
            Self::Queue(queue) => format!("QUEUE#{queue}"),
            Self::Channel(channel) => format!("CHANNEL#{channel}"),
            Self::AgentInQueue(agent, queue) => {
                format!("AGENT_QUEUE#{}#{queue}", agent.key_part())
            }
        }
    }

    /// Whether a live conversation counts towards this scope's gauges: the
    /// owner is the agent whose conversation it is.
    pub fn includes(&self, conversation: &Conversation) -> bool {
        let owned_by = |agent: &AgentId| conversation.owner.as_ref() == Some(agent);
        match self {
            Self::All => true,
            Self::Agent(agent) => owned_by(agent),
            Self::Queue(queue) => conversation.queue == *queue,
            Self::Channel(channel) => conversation.customer.phone_number_id == *channel,
            Self::AgentInQueue(agent, queue) => owned_by(agent) && conversation.queue == *queue,
        }
    }

    /// Every scope a fact with this agent, queue and channel counts in.
    pub(super) fn of(
        agent: Option<&AgentId>,
        queue: Option<&QueueId>,
        channel: Option<&PhoneNumberId>,
    ) -> Vec<Self> {
        let mut scopes = vec![Self::All];
        scopes.extend(agent.cloned().map(Self::Agent));
        scopes.extend(queue.cloned().map(Self::Queue));
        scopes.extend(channel.cloned().map(Self::Channel));
        if let (Some(agent), Some(queue)) = (agent, queue) {
            scopes.push(Self::AgentInQueue(agent.clone(), queue.clone()));
        }
        scopes
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// The filters of an analytics request, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRequest {
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    pub channel: Option<PhoneNumberId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("agents see only their own figures")]
    Forbidden,
    #[error("{0}")]
    Invalid(&'static str),
}

/// Which figures `viewer` may see for these filters. Supervisors and admins see
/// any scope; an agent sees only their own: no filter means themselves, and
/// asking for another agent, or a whole queue or channel, is refused (403)
/// rather than silently narrowed, so nobody mistakes their figures for a team's.
pub fn scope_for(viewer: &Actor, request: ScopeRequest) -> Result<Scope, ScopeError> {
    let ScopeRequest {
        agent,
        queue,
        channel,
    } = request;
    let agent = match viewer.role {
        Role::Supervisor | Role::Admin => agent,
        Role::Agent => {
            if channel.is_some() || agent.as_ref().is_some_and(|a| *a != viewer.id) {
                return Err(ScopeError::Forbidden);
            }
            if queue.is_some() && agent.is_none() {
                return Err(ScopeError::Forbidden);
            }
            Some(viewer.id.clone())
        }
        Role::Bot => return Err(ScopeError::Forbidden),
    };
    match (agent, queue, channel) {
        (None, None, None) => Ok(Scope::All),
        (Some(agent), None, None) => Ok(Scope::Agent(agent)),
        (None, Some(queue), None) => Ok(Scope::Queue(queue)),
        (Some(agent), Some(queue), None) => Ok(Scope::AgentInQueue(agent, queue)),
        (None, None, Some(channel)) => Ok(Scope::Channel(channel)),
        (_, _, Some(_)) => Err(ScopeError::Invalid(
            "`channel` cannot be combined with `agent` or `queue`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::fixtures::{agent, all_scopes, channel, queue};

    #[test]
    fn agents_see_only_their_own_figures() {
        let ana = Actor {
            id: agent("ana"),
            role: Role::Agent,
        };
        let ask = |agent_id: Option<&str>, queue_id: Option<&str>, channel_id: Option<&str>| {
            ScopeRequest {
                agent: agent_id.map(agent),
                queue: queue_id.map(queue),
                channel: channel_id.map(|c| PhoneNumberId::parse(c).unwrap()),
            }
        };
        assert_eq!(
            scope_for(&ana, ask(None, None, None)),
            Ok(Scope::Agent(agent("ana")))
        );
        assert_eq!(
            scope_for(&ana, ask(Some("ana"), None, None)),
            Ok(Scope::Agent(agent("ana")))
        );
        assert_eq!(
            scope_for(&ana, ask(Some("ana"), Some("sales"), None)),
            Ok(Scope::AgentInQueue(agent("ana"), queue("sales")))
        );
        for forbidden in [
            ask(Some("bob"), None, None),
            ask(None, Some("sales"), None),
            ask(None, None, Some("100")),
        ] {
            assert_eq!(scope_for(&ana, forbidden), Err(ScopeError::Forbidden));
        }
        let bot = Actor {
            id: agent("bot"),
            role: Role::Bot,
        };
        assert_eq!(
            scope_for(&bot, ask(None, None, None)),
            Err(ScopeError::Forbidden)
        );
        let sue = Actor {
            id: agent("sue"),
            role: Role::Supervisor,
        };
        assert_eq!(scope_for(&sue, ask(None, None, None)), Ok(Scope::All));
        assert_eq!(
            scope_for(&sue, ask(Some("bob"), None, None)),
            Ok(Scope::Agent(agent("bob")))
        );
        assert_eq!(
            scope_for(&sue, ask(None, Some("sales"), None)),
            Ok(Scope::Queue(queue("sales")))
        );
        assert_eq!(
            scope_for(&sue, ask(None, None, Some("100"))),
            Ok(Scope::Channel(channel()))
        );
        assert!(matches!(
            scope_for(&sue, ask(Some("bob"), None, Some("100"))),
            Err(ScopeError::Invalid(_))
        ));
    }

    #[test]
    fn scope_keys_are_distinct() {
        let keys: std::collections::BTreeSet<_> = all_scopes().iter().map(Scope::key).collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(
            Scope::AgentInQueue(agent("ana"), queue("sales")).key(),
            "AGENT_QUEUE#ana#sales"
        );
    }
}
