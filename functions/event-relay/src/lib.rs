//! The transactional outbox relay. A desk commit or an inbound message writes
//! its events, as an `events` attribute, on an item its own transaction
//! inserts (an inbound message's wamid item, a desk change's first new
//! message, or else an `OUTBOX#` item: `wadesk_aws::dynamodb::outbox`); the
//! table's stream delivers the insert here (the event-source mapping filters
//! to `INSERT`s whose new image has `events`) and this handler publishes its
//! events to the bus.
//!
//! Delivery is at least once: a record whose events could not be published is
//! reported as a batch item failure, and Lambda retries the batch from it
//! (with `BisectBatchOnFunctionError`, a bounded number of retries and an
//! on-failure destination). Event ids come from the change, so a republished
//! event has the same id and consumers count it once. A record no retry can
//! relay (events that do not read, a record without a sequence number) is
//! logged with what is wrong and acknowledged ([`wadesk_app::error::settle`]):
//! reported, it would only hold back the shard's later records until its
//! retries ran out.

pub use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
pub use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use tracing::Instrument;
use wadesk_app::error::{settle, Retryable};
use wadesk_app::EventPublisher;
use wadesk_aws::dynamodb::outbox::{outbox_events, OutboxItemError};
use wadesk_domain::EventEnvelope;

/// The most events sent in one `publish` (one `PutEvents` request): events of
/// consecutive records are grouped up to this many.
const EVENTS_PER_PUBLISH: usize = 10;

/// A stream record the relay cannot even report: DynamoDB numbers every
/// record, so this is not one of its stream's.
#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id} has no sequence number to report a failure with")]
pub struct NoSequenceNumber {
    pub event_id: String,
}

impl Retryable for NoSequenceNumber {
    fn is_retryable(&self) -> bool {
        false
    }
}

/// What one record holds for the relay.
enum Record {
    /// Not an inserted item carrying events: nothing to relay.
    Skipped,
    Events(Vec<EventEnvelope>),
    Unreadable(OutboxItemError),
}

fn read(record: EventRecord) -> Record {
    if record.event_name != "INSERT" {
        return Record::Skipped;
    }
    match outbox_events(record.change.new_image) {
        Ok(Some(events)) => Record::Events(events),
        Ok(None) => Record::Skipped,
        Err(error) => Record::Unreadable(error),
    }
}

/// Events of consecutive records waiting to go out together.
#[derive(Default)]
struct Pending {
    /// The sequence number of the first record in the group: where Lambda
    /// must retry from if publishing the group fails.
    first: Option<String>,
    events: Vec<EventEnvelope>,
    records: usize,
}

impl Pending {
    /// Publishes the group; on failure answers the sequence number to retry from.
    async fn flush<E: EventPublisher>(&mut self, publisher: &E) -> Result<(), String> {
        let Some(first) = self.first.take() else {
            return Ok(());
        };
        let events = std::mem::take(&mut self.events);
        let records = std::mem::take(&mut self.records);
        match publisher.publish(&events).await {
            Ok(()) => {
                tracing::debug!(records, events = events.len(), "outbox events published");
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    records,
                    events = events.len(),
                    sequence_number = %first,
                    "publishing outbox events failed; Lambda retries from this record"
                );
                Err(first)
            }
        }
    }
}

/// Publishes the events of every inserted item carrying them in `event`, in
/// stream order.
/// Stops at the first group of records whose events could not be published
/// and reports its first record (and so everything after it) as failed:
/// order within the shard is kept, and Lambda retries from there.
pub async fn handle<E: EventPublisher>(publisher: &E, event: StreamEvent) -> DynamoDbEventResponse {
    let span = tracing::info_span!("relay", records = event.records.len());
    async move {
        let mut pending = Pending::default();
        let mut relayed = 0usize;
        for record in event.records {
            let Some(sequence_number) = record.change.sequence_number.clone() else {
                let error = NoSequenceNumber {
                    event_id: record.event_id,
                };
                // Never retryable: logged and acknowledged.
                let _acknowledged = settle("a stream record", error);
                continue;
            };
            let events = match read(record) {
                Record::Skipped => continue,
                Record::Events(events) => events,
                Record::Unreadable(error) => {
                    let what = format!("the events of stream record {sequence_number}");
                    if settle(&what, error).is_some() {
                        if let Err(retry_from) = pending.flush(publisher).await {
                            return failed_from(retry_from);
                        }
                        return failed_from(sequence_number);
                    }
                    continue;
                }
            };
            if pending.events.len() + events.len() > EVENTS_PER_PUBLISH {
                if let Err(retry_from) = pending.flush(publisher).await {
                    return failed_from(retry_from);
                }
            }
            relayed += events.len();
            pending.first.get_or_insert(sequence_number);
            pending.events.extend(events);
            pending.records += 1;
        }
        if let Err(retry_from) = pending.flush(publisher).await {
            return failed_from(retry_from);
        }
        tracing::info!(events = relayed, "outbox relayed");
        DynamoDbEventResponse::default()
    }
    .instrument(span)
    .await
}

/// The answer that makes Lambda retry from `sequence_number` on.
fn failed_from(sequence_number: String) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(failure);
    response
}
