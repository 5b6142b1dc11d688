//! Live updates for the console: a hint per domain event, saying what changed
//! (never the content: the console re-reads what it may see over HTTP), and
//! who is told.

use serde::Serialize;

use crate::{
    may_access, Actor, Agent, AgentId, Conversation, ConversationId, ConversationStatus,
    EventEnvelope, Timestamp,
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

/// Events after which a conversation may no longer be waiting in its queue:
/// its queue's agents are told, so it leaves their Unanswered lists.
const LEAVES_THE_WAITING_LIST: [&str; 6] = [
    "ConversationAccepted",
    "ConversationTaken",
    "ConversationTransferred",
    "ConversationEnded",
    "ConversationFinished",
    "CustomerOptedOut",
];

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
    /// of what names them; an agent of what happens to their own
    /// conversations, and to their queues' waiting ones, which they may take
    /// (`conversation`: as stored now, when the hint has one). An agent is not
    /// told of the messages and delivery statuses of a colleague's chat: no
    /// list of theirs shows it, and each such hint is a message per console
    /// on AWS.
    pub fn concerns(
        &self,
        actor: &Actor,
        entry: Option<&Agent>,
        conversation: Option<&Conversation>,
    ) -> bool {
        if actor.role.oversees() || self.agents.contains(&actor.id) {
            return true;
        }
        let Some(conversation) = conversation else {
            return false;
        };
        let own = may_access(Some(conversation), actor, None).is_ok();
        let waiting_in_their_queue = entry.is_some_and(|agent| agent.serves(&conversation.queue))
            && (conversation.status == ConversationStatus::Unanswered
                || LEAVES_THE_WAITING_LIST.contains(&self.kind));
        own || waiting_in_their_queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{agent, conversation};
    use crate::{DomainEvent, QueueId, Role};
    use chrono::{TimeZone, Utc};

    fn hint(kind: &'static str, conversation_id: ConversationId) -> LiveHint {
        LiveHint {
            kind,
            conversation_id: Some(conversation_id),
            agent: None,
            agents: Vec::new(),
            at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_queue_agent_hears_of_waiting_chats_and_not_of_a_colleagues_chat() {
        let (ana, bob, sue) = (
            agent("ana", Role::Agent, "sales"),
            agent("bob", Role::Agent, "sales"),
            agent("sue", Role::Supervisor, "sales"),
        );
        let told = |who: &Agent, hint: &LiveHint, c: &Conversation| {
            let actor = Actor {
                id: who.id.clone(),
                role: who.role,
            };
            hint.concerns(&actor, Some(who), Some(c))
        };

        // Waiting in their queue: everyone who may take it hears of it.
        let waiting = conversation(ConversationStatus::Unanswered, None);
        let message = hint("MessageReceived", waiting.id);
        assert!(told(&ana, &message, &waiting) && told(&bob, &message, &waiting));

        // ana's chat: her console hears of its messages and ticks, bob's
        // does not; a supervisor oversees everything.
        let anas = conversation(ConversationStatus::Active, Some("ana"));
        for kind in ["MessageReceived", "MessageStatusChanged", "AgentReplied"] {
            let event = hint(kind, anas.id);
            assert!(told(&ana, &event, &anas), "{kind}");
            assert!(!told(&bob, &event, &anas), "{kind}");
            assert!(told(&sue, &event, &anas), "{kind}");
        }
        // Taken by ana: it leaves bob's Unanswered list, so he is told.
        assert!(told(&bob, &hint("ConversationTaken", anas.id), &anas));
        // Another queue's waiting chat: not bob's.
        let mut billing = conversation(ConversationStatus::Unanswered, None);
        billing.queue = QueueId::parse("billing").unwrap();
        assert!(!told(&bob, &hint("MessageReceived", billing.id), &billing));
    }

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
