//! Domain events onto an EventBridge bus.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use wadesk_app::{EventPublisher, PublishError};
use wadesk_domain::EventEnvelope;

/// The `source` of every wadesk event on the bus.
pub const EVENT_SOURCE: &str = "wadesk";
/// PutEvents takes at most 10 entries per request.
const MAX_ENTRIES: usize = 10;
const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &EventEnvelope) -> Result<PutEventsRequestEntry, PublishError> {
        let detail = serde_json::to_string(event).map_err(|e| PublishError {
            failed: 1,
            total: 1,
            source: Some(Box::new(e)),
        })?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(event.type_name())
            .detail(detail)
            .time(aws_smithy_types::DateTime::from_millis(
                event.at.timestamp_millis(),
            ))
            .build())
    }

    /// Sends one chunk, retrying only the entries EventBridge reports as failed.
    async fn put_chunk(&self, mut entries: Vec<PutEventsRequestEntry>) -> Result<(), PublishError> {
        let total = entries.len();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * 2u64.pow(attempt))).await;
            }
            let output = match self
                .client
                .put_events()
                .set_entries(Some(entries.clone()))
                .send()
                .await
            {
                Ok(output) => output,
                Err(error) if attempt + 1 < MAX_ATTEMPTS => {
                    tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&error), "PutEvents failed; retrying");
                    continue;
                }
                Err(error) => {
                    return Err(PublishError {
                        failed: entries.len(),
                        total,
                        source: Some(Box::new(error)),
                    })
                }
            };
            if output.failed_entry_count() == 0 {
                return Ok(());
            }
            // Results line up with the entries sent; keep those with an error code.
            entries = entries
                .into_iter()
                .zip(output.entries())
                .filter(|(_, result)| result.error_code().is_some())
                .map(|(entry, _)| entry)
                .collect();
            tracing::warn!(
                failed = entries.len(),
                "PutEvents partly failed; retrying the failed entries"
            );
        }
        Err(PublishError {
            failed: entries.len(),
            total,
            source: None,
        })
    }
}

impl EventPublisher for EventBridgePublisher {
    #[tracing::instrument(skip_all, fields(count = events.len()), err)]
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        for chunk in events.chunks(MAX_ENTRIES) {
            let entries = chunk
                .iter()
                .map(|event| self.entry(event))
                .collect::<Result<Vec<_>, _>>()?;
            self.put_chunk(entries).await?;
        }
        Ok(())
    }
}
