//! WhatsApp's 24-hour customer-service window.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// How long a customer's message keeps the window open.
pub fn window_length() -> Duration {
    Duration::hours(24)
}

/// The window of one customer on one business number.
///
/// `expires_at` only ever moves forward. WhatsApp can still shut the window early
/// (error 131047); that is recorded in `closed_early_at` and undone by the next
/// customer message, so the expiry itself never moves backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub last_inbound_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_early_at: Option<Timestamp>,
}

impl Window {
    pub fn opened_by(received_at: Timestamp) -> Self {
        Self {
            last_inbound_at: received_at,
            expires_at: received_at + window_length(),
            closed_early_at: None,
        }
    }

    /// The window after a customer message received at `received_at`. A message
    /// that arrives late (a retried webhook) never pulls the expiry back.
    pub fn extended_by(self, received_at: Timestamp) -> Self {
        if received_at <= self.last_inbound_at {
            return self;
        }
        Self {
            last_inbound_at: received_at,
            expires_at: (received_at + window_length()).max(self.expires_at),
            closed_early_at: None,
        }
    }

    pub fn is_open(&self, now: Timestamp) -> bool {
        self.closed_early_at.is_none() && now < self.expires_at
    }

    /// WhatsApp said the window is closed (error 131047).
    pub fn closed_early(self, at: Timestamp) -> Self {
        Self {
            closed_early_at: Some(self.closed_early_at.unwrap_or(at)),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use proptest::prelude::*;

    #[test]
    fn window_is_open_for_24_hours() {
        let t = Utc::now();
        let w = Window::opened_by(t);
        assert!(w.is_open(t + Duration::hours(23) + Duration::minutes(59)));
        assert!(!w.is_open(t + Duration::hours(24)));
    }

    #[test]
    fn early_close_is_undone_by_next_message() {
        let t = Utc::now();
        let w = Window::opened_by(t).closed_early(t + Duration::hours(1));
        assert!(!w.is_open(t + Duration::hours(2)));
        let w = w.extended_by(t + Duration::hours(3));
        assert!(w.is_open(t + Duration::hours(4)));
        assert_eq!(w.expires_at, t + Duration::hours(27));
    }

    proptest! {
        #[test]
        fn expiry_only_moves_forward(offsets in proptest::collection::vec(-100_000i64..200_000, 1..40)) {
            let base = Utc::now();
            let mut w = Window::opened_by(base);
            for offset in offsets {
                let before = w;
                w = w.extended_by(base + Duration::seconds(offset));
                prop_assert!(w.expires_at >= before.expires_at);
                prop_assert!(w.last_inbound_at >= before.last_inbound_at);
                prop_assert_eq!(w.expires_at, w.last_inbound_at + window_length());
            }
        }
    }
}
