//! A window timer fired: the customer's 24-hour window closes, is re-armed for
//! a later expiry, or the fire is stale. Also what any one-time timer carries.

use serde::{Deserialize, Serialize};

use crate::{Customer, CustomerChange, CustomerKey, DomainEvent, EventEnvelope, Timestamp};

/// The schedule's input: which customer, and the expiry it was armed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFire {
    pub customer: CustomerKey,
    pub armed_for: Timestamp,
}

/// What a one-time timer carries when it fires: the same function handles both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimerInput {
    Window(WindowFire),
    Offer(crate::desk::OfferTimeout),
}

impl TimerInput {
    /// When the timer is due.
    pub fn due_at(&self) -> Timestamp {
        match self {
            Self::Window(fire) => fire.armed_for,
            Self::Offer(offer) => offer.due_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowFireDecision {
    /// A duplicate or stale fire: another schedule is current, or none is due.
    Ignore,
    /// A redelivered fire of a window already closed: publish its events again
    /// (same ids, so consumers count them once), change nothing.
    Republish { events: Vec<EventEnvelope> },
    /// The window was extended since this schedule was armed: arm one for the new expiry.
    Rearm {
        customer: CustomerChange,
        at: Timestamp,
    },
    /// The window has closed.
    Expire {
        customer: CustomerChange,
        events: Vec<EventEnvelope>,
    },
}

pub fn decide_window_fire(
    customer: Option<&Customer>,
    fire: &WindowFire,
    now: Timestamp,
) -> WindowFireDecision {
    let Some(customer) = customer else {
        return WindowFireDecision::Ignore;
    };
    let Some(window) = customer.window else {
        return WindowFireDecision::Ignore;
    };
    if customer.expired_for == Some(fire.armed_for) {
        return WindowFireDecision::Republish {
            events: vec![expired_event(customer, window.expires_at, now)],
        };
    }
    let Some(armed) = customer.armed_expiry else {
        return WindowFireDecision::Ignore;
    };
    if armed != fire.armed_for {
        return WindowFireDecision::Ignore;
    }
    let mut next = customer.clone();
    if window.expires_at > armed {
        next.armed_expiry = Some(window.expires_at);
        return WindowFireDecision::Rearm {
            customer: CustomerChange::new(Some(customer), next),
            at: window.expires_at,
        };
    }
    next.armed_expiry = None;
    next.expired_for = Some(armed);
    WindowFireDecision::Expire {
        customer: CustomerChange::new(Some(customer), next),
        events: vec![expired_event(customer, window.expires_at, now)],
    }
}

fn expired_event(customer: &Customer, expired_at: Timestamp, now: Timestamp) -> EventEnvelope {
    EventEnvelope::new(
        DomainEvent::WindowExpired {
            customer: customer.key.clone(),
            expired_at,
            last_conversation: customer.last_conversation,
        },
        now,
    )
}
