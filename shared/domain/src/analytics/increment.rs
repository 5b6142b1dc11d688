//! Which hourly counters a domain event moves, and in which scopes.

use chrono::Timelike;

use super::{Counters, Scope};
use crate::{DomainEvent, EventEnvelope, Origin, Timestamp};

/// The event types that move a counter (the EventBridge rule of the analytics
/// function matches exactly these, so other events cost no invocation).
pub const COUNTED_EVENT_TYPES: [&str; 8] = [
    "ChatReopened",
    "ReopenedConversationReplied",
    "ReopenDeclined",
    "ConversationFinished",
    "AgentReplied",
    "WindowExpired",
    "CustomerOptedOut",
    "OfferTimedOut",
];

/// The start of the UTC hour `at` falls in.
pub fn hour_of(at: Timestamp) -> Timestamp {
    let start = at
        .with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0));
    // Every UTC instant has a whole hour before it; the fallback is unreachable.
    start.unwrap_or(at)
}

/// What one event adds: the same counters, in each of its scopes, in the hour
/// the fact happened (not when it was consumed: a late or repeated delivery
/// lands in the same bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub hour: Timestamp,
    pub scopes: Vec<Scope>,
    pub counters: Counters,
}

fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The counters an event moves, or `None` for an event analytics does not count.
pub fn increment_for(envelope: &EventEnvelope) -> Option<Increment> {
    let mut counters = Counters::default();
    let scopes = match &envelope.event {
        DomainEvent::ChatReopened {
            customer,
            agent,
            queue,
            initiated_by,
            ..
        } => {
            // Both ways an agent starts a conversation again count: reopen and push.
            if !matches!(initiated_by, Origin::AgentReopen | Origin::Push) {
                return None;
            }
            counters.agent_initiated = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ReopenedConversationReplied {
            customer,
            agent,
            queue,
            ..
        } => {
            counters.user_replied = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ReopenDeclined {
            customer,
            agent,
            queue,
            ..
        } => {
            counters.declined = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ConversationFinished {
            customer,
            agent,
            queue,
            handling_seconds,
            ..
        } => {
            counters.finished = 1;
            if let Some(handling) = handling_seconds {
                counters.handling_seconds = seconds(*handling);
                counters.handlings = 1;
            }
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::AgentReplied {
            agent,
            queue,
            channel,
            response_seconds: Some(response),
            ..
        } => {
            counters.response_seconds = seconds(*response);
            counters.responses = 1;
            Scope::of(Some(agent), Some(queue), Some(channel))
        }
        DomainEvent::WindowExpired { customer, .. } => {
            counters.window_expiries = 1;
            Scope::of(None, None, Some(&customer.phone_number_id))
        }
        DomainEvent::CustomerOptedOut {
            customer, owner, ..
        } => {
            counters.opt_outs = 1;
            Scope::of(owner.as_ref(), None, Some(&customer.phone_number_id))
        }
        DomainEvent::OfferTimedOut {
            agent,
            queue,
            channel,
            ..
        } => {
            counters.rona = 1;
            Scope::of(Some(agent), Some(queue), Some(channel))
        }
        _ => return None,
    };
    Some(Increment {
        hour: hour_of(envelope.at),
        scopes,
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::fixtures::{agent, all_scopes, at, channel, customer, queue};
    use crate::{ConversationId, MessageId, Wamid};

    #[test]
    fn events_count_in_their_hour_and_every_scope_they_have() {
        let when = at("2024-05-01T08:59:59.999Z");
        let finished = EventEnvelope::new(
            DomainEvent::ConversationFinished {
                conversation_id: ConversationId::generate(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                reason: "Resolved".into(),
                handling_seconds: Some(160),
            },
            when,
        );
        let increment = increment_for(&finished).unwrap();
        assert_eq!(increment.hour, at("2024-05-01T08:00:00Z"));
        assert_eq!(increment.scopes, all_scopes());
        assert_eq!(
            increment.counters,
            Counters {
                finished: 1,
                handling_seconds: 160,
                handlings: 1,
                ..Counters::default()
            }
        );

        let expired = EventEnvelope::new(
            DomainEvent::WindowExpired {
                customer: customer(),
                expired_at: when,
                last_conversation: None,
            },
            when,
        );
        let increment = increment_for(&expired).unwrap();
        assert_eq!(
            increment.scopes,
            vec![Scope::All, Scope::Channel(channel())]
        );
        assert_eq!(increment.counters.window_expiries, 1);

        let opted_out = EventEnvelope::new(
            DomainEvent::CustomerOptedOut {
                customer: customer(),
                wamid: Wamid::parse("wamid.STOP").unwrap(),
                conversation_id: None,
                session_status: None,
                owner: Some(agent("ana")),
            },
            when,
        );
        let increment = increment_for(&opted_out).unwrap();
        assert_eq!(
            increment.scopes,
            vec![
                Scope::All,
                Scope::Agent(agent("ana")),
                Scope::Channel(channel())
            ]
        );
    }

    #[test]
    fn only_timed_replies_and_counted_facts_move_counters() {
        let when = at("2024-05-01T08:00:00Z");
        let reply = |response_seconds| {
            EventEnvelope::new(
                DomainEvent::AgentReplied {
                    conversation_id: ConversationId::generate(),
                    agent: agent("ana"),
                    queue: queue("sales"),
                    channel: channel(),
                    message_id: MessageId::generate(),
                    response_seconds,
                    first_reply: response_seconds.is_some(),
                },
                when,
            )
        };
        assert_eq!(increment_for(&reply(None)), None);
        let timed = increment_for(&reply(Some(42))).unwrap();
        assert_eq!(
            (timed.counters.response_seconds, timed.counters.responses),
            (42, 1)
        );
        let offered = EventEnvelope::new(
            DomainEvent::ConversationOffered {
                conversation_id: ConversationId::generate(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            when,
        );
        assert_eq!(increment_for(&offered), None);
        let customer_started = EventEnvelope::new(
            DomainEvent::ChatReopened {
                conversation_id: ConversationId::generate(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                initiated_by: Origin::Customer,
            },
            when,
        );
        assert_eq!(increment_for(&customer_started), None);
        for origin in [Origin::AgentReopen, Origin::Push] {
            let reopened = EventEnvelope::new(
                DomainEvent::ChatReopened {
                    conversation_id: ConversationId::generate(),
                    customer: customer(),
                    agent: agent("ana"),
                    queue: queue("sales"),
                    initiated_by: origin,
                },
                when,
            );
            assert_eq!(
                increment_for(&reopened).unwrap().counters.agent_initiated,
                1
            );
        }
    }

    #[test]
    fn counted_event_types_are_exactly_the_types_that_count() {
        let when = at("2024-05-01T08:00:00Z");
        let c = ConversationId::generate;
        let counted = [
            DomainEvent::ChatReopened {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                initiated_by: Origin::Push,
            },
            DomainEvent::ReopenedConversationReplied {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            DomainEvent::ReopenDeclined {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            DomainEvent::ConversationFinished {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                reason: "Resolved".into(),
                handling_seconds: None,
            },
            DomainEvent::AgentReplied {
                conversation_id: c(),
                agent: agent("ana"),
                queue: queue("sales"),
                channel: channel(),
                message_id: MessageId::generate(),
                response_seconds: Some(1),
                first_reply: true,
            },
            DomainEvent::WindowExpired {
                customer: customer(),
                expired_at: when,
                last_conversation: None,
            },
            DomainEvent::CustomerOptedOut {
                customer: customer(),
                wamid: Wamid::parse("wamid.STOP").unwrap(),
                conversation_id: None,
                session_status: None,
                owner: None,
            },
            DomainEvent::OfferTimedOut {
                conversation_id: c(),
                agent: agent("ana"),
                queue: queue("sales"),
                channel: channel(),
            },
        ];
        let mut names = Vec::new();
        for event in counted {
            let envelope = EventEnvelope::new(event, when);
            let increment = increment_for(&envelope).unwrap();
            assert!(!increment.counters.is_zero(), "{}", envelope.type_name());
            assert_eq!(increment.scopes[0], Scope::All);
            names.push(envelope.type_name());
        }
        assert_eq!(names, COUNTED_EVENT_TYPES);
        let fields: Vec<_> = Counters::default().fields().map(|(n, _)| n).to_vec();
        assert_eq!(fields, Counters::NAMES);
    }
}
