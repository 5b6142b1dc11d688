use std::future::Future;

use sha2::{Digest, Sha256};
use wadesk_domain::{CustomerKey, OfferTimeout, Timestamp, WindowFire};

#[derive(Debug, thiserror::Error)]
#[error("scheduling a timer failed")]
pub struct ScheduleError {
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl ScheduleError {
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

/// One-time timers that call back into wadesk when due.
pub trait TimerScheduler: Send + Sync + 'static {
    /// Arms the window's expiry timer for `fire`. Idempotent: arming the same
    /// fire twice is one timer.
    fn arm_window(
        &self,
        fire: &WindowFire,
    ) -> impl Future<Output = Result<(), ScheduleError>> + Send;

    /// Arms the time-out of an offer, due at `offer.due_at`. Idempotent.
    fn arm_offer(
        &self,
        offer: &OfferTimeout,
    ) -> impl Future<Output = Result<(), ScheduleError>> + Send;

    /// Removes the customer's window timer armed for `armed_for`, if it is
    /// still pending (an erasure: nothing of the customer may fire later).
    /// Answers whether one was removed; removing a missing one is no error.
    fn cancel_window(
        &self,
        customer: &CustomerKey,
        armed_for: Timestamp,
    ) -> impl Future<Output = Result<bool, ScheduleError>> + Send;
}

/// A deterministic schedule name per offer.
pub fn offer_schedule_name(offer: &OfferTimeout) -> String {
    format!(
        "offer-{}-{}",
        offer.conversation_id.as_uuid().simple(),
        offer.offered_at.timestamp_micros()
    )
}

/// A deterministic schedule name per customer and expiry: `[0-9a-zA-Z-_.]`, at most
/// 64 characters, and no phone number in it (names show up in consoles and logs).
pub fn window_schedule_name(customer: &CustomerKey, armed_for: Timestamp) -> String {
    let mut hasher = Sha256::new();
    hasher.update(customer.phone_number_id.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(customer.wa_id.as_str().as_bytes());
    let digest = hasher.finalize();
    format!(
        "window-{}-{}",
        hex::encode(&digest[..12]),
        armed_for.timestamp()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wadesk_domain::{PhoneNumberId, WaId};

    #[test]
    fn schedule_names_are_deterministic_valid_and_opaque() {
        let key = CustomerKey::new(
            PhoneNumberId::parse("106540352242922").unwrap_or_else(|e| panic!("{e}")),
            WaId::parse("34600111222").unwrap_or_else(|e| panic!("{e}")),
        );
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let name = window_schedule_name(&key, at);
        assert_eq!(name, window_schedule_name(&key, at));
        assert!(name.len() <= 64);
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert!(!name.contains("34600111222"));
        assert_ne!(
            name,
            window_schedule_name(&key, at + chrono::Duration::seconds(1))
        );
    }
}
