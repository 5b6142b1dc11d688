//! Live updates for the console: a hint per domain event, saying what changed
//! (never the content: the console re-reads what it may see over HTTP), and
//! who is told.

use serde::Serialize;

use crate::{
    may_access, Actor, Agent, AgentId, Conversation, ConversationId, EventEnvelope, Timestamp,
};

/// What the console is told of one event: its type, the conversation and
/// the agents it names. No customer data travels this way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveHint {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub conversation_id: Option<ConversationId>,
    /// The first agent the event names (the one it is about), if any.
    pub agent: Option<AgentId>,
    /// Every agent the event names: the offered, the owner, a guest, the
    /// previous owner of an overtake, a transfer's target.
    pub agents: Vec<AgentId>,
    pub at: Timestamp,
}

/// The detail fields that name agents, in the order the hint lists them.
const AGENT_FIELDS: [&str; 6] = [
    "agent",
    "guest",
    "owner",
    "previous_owner",
    "from",
    "to_agent",
];

impl LiveHint {
    pub fn of(event: &EventEnvelope) -> Self {
        let detail = serde_json::to_value(&event.event)
            .ok()
            .and_then(|v| v.get("detail").cloned())
            .unwrap_or_default();
        let conversation_id = detail
            .get("conversation_id")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .or_else(|| {
                detail
                    .get("last_conversation")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
            });
        let mut agents: Vec<AgentId> = Vec::new();
        for field in AGENT_FIELDS {
            if let Some(agent) = detail
                .get(field)
                .and_then(|v| serde_json::from_value::<AgentId>(v.clone()).ok())
            {
                if !agents.contains(&agent) {
                    agents.push(agent);
                }
            }
        }
        Self {
            kind: event.type_name(),
            conversation_id,
            agent: agents.first().cloned(),
            agents,
            at: event.at,
        }
    }

    /// Whether `actor` is told: supervisors and admins of everything; anyone
    /// of what names them; an agent of what happens to a conversation they
    /// may see (`conversation`: as stored now, when the hint has one).
    pub fn concerns(
        &self,
        actor: &Actor,
        entry: Option<&Agent>,
        conversation: Option<&Conversation>,
    ) -> bool {
        actor.role.oversees()
            || self.agents.contains(&actor.id)
            || conversation.is_some() && may_access(conversation, actor, entry).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DomainEvent, QueueId, Role};
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_hint_names_the_conversation_and_agents_but_carries_no_content() {
        let conversation_id = ConversationId::generate();
        let event = EventEnvelope::new(
            DomainEvent::ConversationOffered {
                conversation_id,
                agent: AgentId::parse("auth0|ana").unwrap(),
                queue: QueueId::parse("sales").unwrap(),
            },
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        );
        let hint = LiveHint::of(&event);
        assert_eq!(hint.kind, "ConversationOffered");
        assert_eq!(hint.conversation_id, Some(conversation_id));
        assert_eq!(hint.agent.as_ref().map(AgentId::as_str), Some("auth0|ana"));
        let ana = Actor {
            id: AgentId::parse("auth0|ana").unwrap(),
            role: Role::Agent,
        };
        let bob = Actor {
            id: AgentId::parse("bob").unwrap(),
            role: Role::Agent,
        };
        let sue = Actor {
            id: AgentId::parse("sue").unwrap(),
            role: Role::Supervisor,
        };
        assert!(hint.concerns(&ana, None, None));
        assert!(!hint.concerns(&bob, None, None));
        assert!(hint.concerns(&sue, None, None));
        let json = serde_json::to_value(&hint).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["agent", "agents", "at", "conversation_id", "type"]
        );
    }
}
