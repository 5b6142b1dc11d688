use std::future::Future;

use wadesk_domain::EventEnvelope;

#[derive(Debug, thiserror::Error)]
#[error("publishing {failed} of {total} events failed")]
pub struct PublishError {
    pub failed: usize,
    pub total: usize,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Delivers domain events to whoever consumes them (analytics, opt-out).
/// Delivery is at least once; consumers count by event id.
pub trait EventPublisher: Send + Sync + 'static {
    fn publish(
        &self,
        events: &[EventEnvelope],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
