use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use wadesk_domain::EventEnvelope;

use super::lock;
use crate::{EventPublisher, PublishError};

/// Events per chunk of the log. The log only grows; in fixed-capacity chunks
/// it never moves what it holds, so a publish never stalls on copying the
/// whole history (a `Vec` of a million events would copy ~200 MB to grow).
const LOG_CHUNK: usize = 4096;

/// Every event published so far, oldest first, in chunks of [`LOG_CHUNK`].
#[derive(Debug, Default)]
struct Log {
    chunks: Vec<Vec<EventEnvelope>>,
}

impl Log {
    fn push(&mut self, event: EventEnvelope) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < LOG_CHUNK => chunk.push(event),
            _ => {
                let mut chunk = Vec::with_capacity(LOG_CHUNK);
                chunk.push(event);
                self.chunks.push(chunk);
            }
        }
    }

    fn to_vec(&self) -> Vec<EventEnvelope> {
        self.chunks.iter().flatten().cloned().collect()
    }
}

/// The local event bus: keeps every published event (oldest first) and queues
/// each for delivery to the consumers, as an EventBridge rule would.
#[derive(Debug, Clone, Default)]
pub struct LocalEventBus {
    log: Arc<Mutex<Log>>,
    undelivered: Arc<Mutex<VecDeque<EventEnvelope>>>,
}

impl LocalEventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Events published so far, oldest first.
    pub fn published(&self) -> Vec<EventEnvelope> {
        lock(&self.log).to_vec()
    }

    /// The next event not yet handed to the consumers.
    pub fn next_undelivered(&self) -> Option<EventEnvelope> {
        lock(&self.undelivered).pop_front()
    }
}

impl EventPublisher for LocalEventBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        {
            let mut log = lock(&self.log);
            for event in events {
                log.push(event.clone());
            }
        }
        lock(&self.undelivered).extend(events.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use wadesk_domain::{CustomerKey, DomainEvent, EventEnvelope, PhoneNumberId, WaId};

    fn event(n: usize) -> EventEnvelope {
        EventEnvelope::new(
            DomainEvent::WindowClosedEarly {
                customer: CustomerKey {
                    phone_number_id: PhoneNumberId::parse("1").unwrap(),
                    wa_id: WaId::parse("34600000000").unwrap(),
                },
                error_code: i64::try_from(n).unwrap(),
            },
            Utc::now(),
        )
    }

    #[tokio::test]
    async fn the_log_keeps_every_event_in_order_across_chunks() {
        let bus = LocalEventBus::new();
        let events: Vec<EventEnvelope> = (0..LOG_CHUNK * 2 + 3).map(event).collect();
        for batch in events.chunks(7) {
            bus.publish(batch).await.unwrap();
        }
        assert_eq!(bus.published(), events);
        let mut delivered = 0;
        while bus.next_undelivered().is_some() {
            delivered += 1;
        }
        assert_eq!(delivered, events.len());
    }
}
