use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use wadesk_domain::EventEnvelope;

use super::lock;
use crate::{EventPublisher, PublishError};

/// The local event bus: keeps every published event (oldest first) and queues
/// each for delivery to the consumers, as an EventBridge rule would.
#[derive(Debug, Clone, Default)]
pub struct LocalEventBus {
    log: Arc<Mutex<Vec<EventEnvelope>>>,
    undelivered: Arc<Mutex<VecDeque<EventEnvelope>>>,
}

impl LocalEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Events published so far, oldest first.
    pub fn published(&self) -> Vec<EventEnvelope> {
        lock(&self.log).clone()
    }

    /// The next event not yet handed to the consumers.
    pub fn next_undelivered(&self) -> Option<EventEnvelope> {
        lock(&self.undelivered).pop_front()
    }
}

impl EventPublisher for LocalEventBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        lock(&self.log).extend_from_slice(events);
        lock(&self.undelivered).extend(events.iter().cloned());
        Ok(())
    }
}
