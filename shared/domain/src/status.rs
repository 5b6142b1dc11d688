//! A delivery status callback for one of our outbound messages.

use crate::{
    message::REENGAGEMENT_REQUIRED, Customer, DeliveryStatus, DomainEvent, EventEnvelope, Message,
    StatusUpdate, Timestamp,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusDecision {
    /// A stale or repeated callback: nothing changes.
    Ignore,
    Apply {
        /// The status the stored message must still have (the write is conditional).
        expected: Option<DeliveryStatus>,
        message: Message,
        /// The customer with the window closed at once (error 131047).
        customer: Option<Customer>,
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
    if !update.status.is_after(current) {
        return StatusDecision::Ignore;
    }
    let mut next = message.clone();
    next.status = Some(update.status);
    next.error.clone_from(&update.error);

    let mut events = vec![EventEnvelope::new(
        DomainEvent::MessageStatusChanged {
            conversation_id: message.conversation_id,
            message_id: message.id,
            wamid: update.wamid.clone(),
            status: update.status,
            error_code: update.error.as_ref().map(|e| e.code),
        },
        now,
    )];

    let reengagement_required = update.status == DeliveryStatus::Failed
        && update
            .error
            .as_ref()
            .is_some_and(|e| e.code == REENGAGEMENT_REQUIRED);
    let customer = match (reengagement_required, customer) {
        (true, Some(customer)) if customer.window_is_open(now) => {
            let mut closed = customer.clone();
            closed.window = closed.window.map(|w| w.closed_early(now));
            closed.version += 1;
            events.push(EventEnvelope::new(
                DomainEvent::WindowClosedEarly {
                    customer: customer.key.clone(),
                    error_code: REENGAGEMENT_REQUIRED,
                },
                now,
            ));
            Some(closed)
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
