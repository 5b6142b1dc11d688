//! The runner's outbox relay: desk commits and inbound messages leave their
//! events in the store's outbox, and the runner moves them to its bus before it delivers events to
//! the consumers, as the event-relay Lambda does from the table's stream.

use tokio::sync::{Mutex, OnceCell};
use wadesk_app::embedded::{EmbeddedStore, LocalEventBus};
use wadesk_app::EventPublisher;
use wadesk_aws::DynamoStore;

use crate::stream::{StreamError, StreamReader};

/// Where the runner's store keeps its outbox, and how it is relayed.
#[derive(Debug)]
pub enum OutboxRelay {
    /// In memory, beside the embedded store: drained under its lock.
    Embedded(EmbeddedStore),
    /// The DynamoDB table's stream, read with the environment's AWS settings
    /// (the same `AWS_ENDPOINT_URL` the store uses), through the event-relay
    /// handler itself.
    Stream(Box<StreamOutbox>),
}

/// The table whose stream carries the outbox, and its reader once built.
#[derive(Debug)]
pub struct StreamOutbox {
    table: String,
    reader: OnceCell<Mutex<StreamReader>>,
}

/// The outbox relay that goes with a conversation store.
pub trait WithOutbox {
    fn outbox_relay(&self) -> OutboxRelay;
}

impl WithOutbox for EmbeddedStore {
    fn outbox_relay(&self) -> OutboxRelay {
        OutboxRelay::Embedded(self.clone())
    }
}

impl WithOutbox for DynamoStore {
    fn outbox_relay(&self) -> OutboxRelay {
        OutboxRelay::Stream(Box::new(StreamOutbox {
            table: self.table().to_owned(),
            reader: OnceCell::new(),
        }))
    }
}

impl OutboxRelay {
    /// Moves every committed event not yet relayed to `bus`; answers how many.
    /// A failure is logged and left for the next call (Lambda would retry).
    pub async fn relay(&self, bus: &LocalEventBus) -> usize {
        match self {
            Self::Embedded(store) => match store.relay_outbox(bus).await {
                Ok(relayed) => relayed,
                Err(error) => {
                    tracing::error!(%error, "outbox not relayed; will retry");
                    0
                }
            },
            Self::Stream(stream) => {
                let StreamOutbox { table, reader } = stream.as_ref();
                let reader = reader
                    .get_or_init(|| async {
                        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                            .load()
                            .await;
                        Mutex::new(StreamReader::from_sdk_config(&sdk, table.clone()))
                    })
                    .await;
                match relay_stream(&mut *reader.lock().await, bus).await {
                    Ok(relayed) => relayed,
                    Err(error) => {
                        tracing::error!(%error, "outbox stream not relayed; will retry");
                        0
                    }
                }
            }
        }
    }
}

/// Feeds every new batch of the stream to the event-relay handler, stopping
/// at the first batch it reports failed (the next call retries from there).
pub async fn relay_stream<E: EventPublisher>(
    reader: &mut StreamReader,
    bus: &E,
) -> Result<usize, StreamError> {
    let mut relayed = 0;
    while let Some(batch) = reader.next_batch().await? {
        let records = batch.event.records.len();
        let response = event_relay::handle(bus, batch.event.clone()).await;
        if reader.checkpoint(&batch, &response) {
            return Ok(relayed);
        }
        relayed += records;
        if !batch.more {
            // The relay writes nothing to the table: no newer record yet.
            break;
        }
    }
    Ok(relayed)
}
