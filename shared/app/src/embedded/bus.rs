use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use wadesk_domain::EventEnvelope;

use super::lock;
use crate::{EventPublisher, PublishError};

/// The local event bus: keeps every published event (oldest first) and hands
/// each to the subscriber, as an EventBridge rule would.
#[derive(Debug, Clone, Default)]
pub struct LocalEventBus {
    log: Arc<Mutex<Vec<EventEnvelope>>>,
    subscriber: Arc<Mutex<Option<mpsc::UnboundedSender<EventEnvelope>>>>,
}

impl LocalEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Events published so far, oldest first.
    pub fn published(&self) -> Vec<EventEnvelope> {
        lock(&self.log).clone()
    }

    /// Every event published from now on is also sent here.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<EventEnvelope> {
        let (tx, rx) = mpsc::unbounded_channel();
        *lock(&self.subscriber) = Some(tx);
        rx
    }
}

impl EventPublisher for LocalEventBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        lock(&self.log).extend_from_slice(events);
        if let Some(tx) = lock(&self.subscriber).as_ref() {
            for event in events {
                // A closed receiver means nobody listens any more: the log still has it.
                let _ = tx.send(event.clone());
            }
        }
        Ok(())
    }
}
