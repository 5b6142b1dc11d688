//! A delivery status callback for one of our outbound messages.

use crate::{
    message::REENGAGEMENT_REQUIRED, Customer, CustomerChange, DeliveryStatus, DomainEvent,
    EventEnvelope, Message, StatusUpdate, Timestamp,
};

// A decision is made once per request and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusDecision {
    /// A stale callback: nothing changes.
    Ignore,
    /// The same callback again: publish its event again (same id), change nothing.
    Republish { events: Vec<EventEnvelope> },
    Apply {
        /// The status the stored message must still have (the write is conditional).
        expected: Option<DeliveryStatus>,
        message: Message,
        /// The customer with the window closed at once (error 131047).
        customer: Option<CustomerChange>,
        events: Vec<EventEnvelope>,
    },
}

/// Applies a status only if it moves the message forward.
pub fn decide_status(
    message: &Message,
    customer: Option<&Customer>,
    update: &StatusUpdate,
    now: Timestamp,
) -> StatusDecision {
    let current = message.status.unwrap_or(DeliveryStatus::Pending);
    let changed = EventEnvelope::new(
        DomainEvent::MessageStatusChanged {
            conversation_id: message.conversation_id,
            message_id: message.id,
            wamid: update.wamid.clone(),
            status: update.status,
            error_code: update.error.as_ref().map(|e| e.code),
        },
        now,
    );
    if update.status == current && current != DeliveryStatus::Pending {
        return StatusDecision::Republish {
            events: vec![changed],
        };
    }
    if !update.status.is_after(current) {
        return StatusDecision::Ignore;
    }
    let mut next = message.clone();
    next.status = Some(update.status);
    next.error.clone_from(&update.error);
    let mut events = vec![changed];

    let reengagement_required = update.status == DeliveryStatus::Failed
        && update
            .error
            .as_ref()
            .is_some_and(|e| e.code == REENGAGEMENT_REQUIRED);
    let customer = match (reengagement_required, customer) {
        (true, Some(customer)) if customer.window_is_open(now) => {
            let mut closed = customer.clone();
            closed.window = closed.window.map(|w| w.closed_early(now));
            events.push(EventEnvelope::new(
                DomainEvent::WindowClosedEarly {
                    customer: customer.key.clone(),
                    error_code: REENGAGEMENT_REQUIRED,
                },
                now,
            ));
            Some(CustomerChange::new(Some(customer), closed))
        }
        _ => None,
    };

    StatusDecision::Apply {
        expected: message.status,
        message: next,
        customer,
        events,
    }
}

/// WhatsApp refused to send an outbound message (synchronously): the message
/// fails, and with 131047 the window closes at once, as for a `failed` callback.
pub fn decide_send_failure(
    message: &Message,
    customer: Option<&Customer>,
    error: crate::message::DeliveryError,
    now: Timestamp,
) -> StatusDecision {
    let mut failed = message.clone();
    failed.status = Some(DeliveryStatus::Failed);
    let reengagement = error.code == REENGAGEMENT_REQUIRED;
    failed.error = Some(error);
    let mut events = Vec::new();
    let customer = match customer {
        Some(customer) if reengagement && customer.window_is_open(now) => {
            let mut closed = customer.clone();
            closed.window = closed.window.map(|w| w.closed_early(now));
            events.push(EventEnvelope::new(
                DomainEvent::WindowClosedEarly {
                    customer: customer.key.clone(),
                    error_code: REENGAGEMENT_REQUIRED,
                },
                now,
            ));
            Some(CustomerChange::new(Some(customer), closed))
        }
        _ => None,
    };
    StatusDecision::Apply {
        expected: message.status,
        message: failed,
        customer,
        events,
    }
}

/// The title an `unknown` send carries, for the transcript.
pub const OUTCOME_UNKNOWN_TITLE: &str =
    "outcome unknown: WhatsApp's answer was lost; the message may have reached the customer and is not resent";

/// A send whose answer was lost: the message is marked `unknown` (only from
/// `pending`), never left `pending` for a retry to send a second copy.
pub fn decide_send_outcome_unknown(message: &Message) -> StatusDecision {
    if !DeliveryStatus::Unknown.is_after(message.status.unwrap_or(DeliveryStatus::Pending)) {
        return StatusDecision::Ignore;
    }
    let mut unknown = message.clone();
    unknown.status = Some(DeliveryStatus::Unknown);
    unknown.error = Some(crate::message::DeliveryError {
        code: 0,
        title: OUTCOME_UNKNOWN_TITLE.to_owned(),
    });
    StatusDecision::Apply {
        expected: message.status,
        message: unknown,
        customer: None,
        events: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        message::DeliveryError, ConversationId, CustomerKey, Direction, MessageContent, MessageId,
        PhoneNumberId, WaId, Wamid, Window,
    };
    use chrono::{Duration, Utc};

    fn outbound(status: DeliveryStatus) -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            direction: Direction::Outbound,
            content: MessageContent::Text { text: "hi".into() },
            author: Some("maria".into()),
            at: Utc::now(),
            status: Some(status),
            error: None,
            wamid: Some(Wamid::parse("wamid.out").unwrap()),
        }
    }

    fn update(status: DeliveryStatus, error: Option<i64>) -> StatusUpdate {
        StatusUpdate {
            wamid: Wamid::parse("wamid.out").unwrap(),
            status,
            at: Utc::now(),
            error: error.map(|code| DeliveryError {
                code,
                title: "x".into(),
            }),
        }
    }

    #[test]
    fn backward_status_is_ignored_and_repeat_is_republished() {
        let now = Utc::now();
        let read = outbound(DeliveryStatus::Read);
        assert_eq!(
            decide_status(&read, None, &update(DeliveryStatus::Delivered, None), now),
            StatusDecision::Ignore
        );
        assert!(matches!(
            decide_status(&read, None, &update(DeliveryStatus::Read, None), now),
            StatusDecision::Republish { .. }
        ));
        let StatusDecision::Apply {
            expected,
            message,
            customer,
            events,
        } = decide_status(
            &outbound(DeliveryStatus::Sent),
            None,
            &update(DeliveryStatus::Delivered, None),
            now,
        )
        else {
            panic!("forward status applies");
        };
        assert_eq!(expected, Some(DeliveryStatus::Sent));
        assert_eq!(message.status, Some(DeliveryStatus::Delivered));
        assert!(customer.is_none());
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_lost_answer_marks_a_pending_send_unknown_and_nothing_follows_it() {
        let mut pending = outbound(DeliveryStatus::Pending);
        pending.wamid = None;
        let StatusDecision::Apply {
            expected,
            message,
            customer,
            events,
        } = decide_send_outcome_unknown(&pending)
        else {
            panic!("a pending send becomes unknown");
        };
        assert_eq!(expected, Some(DeliveryStatus::Pending));
        assert_eq!(message.status, Some(DeliveryStatus::Unknown));
        assert_eq!(
            message.error.as_ref().map(|e| e.title.as_str()),
            Some(OUTCOME_UNKNOWN_TITLE)
        );
        assert!(customer.is_none() && events.is_empty());
        // Only from pending: a sent or failed message keeps what it knows.
        for known in [
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
            DeliveryStatus::Read,
        ] {
            assert_eq!(
                decide_send_outcome_unknown(&outbound(known)),
                StatusDecision::Ignore
            );
        }
        // And no status moves an unknown message on.
        let unknown = outbound(DeliveryStatus::Unknown);
        for status in [
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
            DeliveryStatus::Failed,
        ] {
            assert!(!status.is_after(DeliveryStatus::Unknown));
            assert_eq!(
                decide_status(&unknown, None, &update(status, None), Utc::now()),
                StatusDecision::Ignore
            );
        }
    }

    #[test]
    fn reengagement_failure_closes_the_window_at_once() {
        let now = Utc::now();
        let mut customer = crate::Customer::new(CustomerKey::new(
            PhoneNumberId::parse("1").unwrap(),
            WaId::parse("2").unwrap(),
        ));
        customer.window = Some(Window::opened_by(now - Duration::hours(1)));
        customer.version = 3;
        let StatusDecision::Apply {
            customer: Some(closed),
            events,
            ..
        } = decide_status(
            &outbound(DeliveryStatus::Sent),
            Some(&customer),
            &update(DeliveryStatus::Failed, Some(REENGAGEMENT_REQUIRED)),
            now,
        )
        else {
            panic!("131047 must close the window");
        };
        assert_eq!(closed.expected_version, crate::ExpectedVersion::Exactly(3));
        assert!(!closed.customer.window_is_open(now));
        assert_eq!(closed.customer.version, 4);
        assert_eq!(events.len(), 2);
        // Another failure code leaves the window alone.
        let StatusDecision::Apply { customer: None, .. } = decide_status(
            &outbound(DeliveryStatus::Sent),
            Some(&customer),
            &update(DeliveryStatus::Failed, Some(131_026)),
            now,
        ) else {
            panic!("other failures keep the window");
        };
    }
}
