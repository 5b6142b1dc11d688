//! The erasure queue's consumer (`docs/product.md#11-data-protection`), and
//! the files of messages the table's TTL deleted. An
//! EventBridge rule puts `CustomerErasureRequested`, `RetentionContinues`
//! and `ConversationExpiryChanged` events on the erasure queue
//! (SQS, with a dead-letter queue); each delivery runs one bounded step and
//! publishes the next, so a large history is erased, or given its expiry,
//! in many small steps, and a failed step is retried from the queue.
//!
//! Why a queue and a function of its own: the steps are background work with
//! their own pace (the event-source mapping caps concurrency, so an erasure
//! never competes with the desk for the table), their own retries (the
//! queue's visibility timeout) and their own failure destination (the DLQ),
//! and only this function (and the agent API, which runs an erasure's first
//! steps) holds the table's BatchWriteItem, the Scheduler's DeleteSchedule
//! and the media bucket's DeleteObject.
//!
//! The table's stream also delivers here the messages DynamoDB's TTL removed
//! (the event-source mapping filters to TTL `REMOVE`s of message items), and
//! their files are deleted with them: a channel whose retention is shorter
//! than the bucket's lifecycle keeps no file past its transcript.

pub use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
pub use aws_lambda_events::streams::DynamoDbEventResponse;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::BatchItemFailure;
use aws_lambda_events::streams::DynamoDbBatchItemFailure;
use wadesk_app::desk::DeskFailure;
use wadesk_app::error::{settle, Retryable};
use wadesk_app::ports::MediaStore;
use wadesk_app::protection::{apply_retention, continue_erasure, delete_expired_files};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore};
use wadesk_aws::dynamodb::expiry::removed_message;
use wadesk_domain::EventEnvelope;

/// Why a queue message was not handled.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Not an EventBridge event with a wadesk event: no retry will change it,
    /// so it is logged and acknowledged (not retried into the dead-letter
    /// queue).
    #[error("the message is not a wadesk event")]
    Unreadable(#[source] serde_json::Error),
    #[error(transparent)]
    Failed(#[from] DeskFailure),
}

impl Retryable for StepError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Unreadable(_) => false,
            Self::Failed(failure) => failure.is_retryable(),
        }
    }
}

/// The wadesk event an EventBridge rule put on the queue.
pub fn parse(body: &str) -> Result<EventEnvelope, StepError> {
    serde_json::from_str::<EventBridgeEvent<EventEnvelope>>(body)
        .map(|event| event.detail)
        .map_err(StepError::Unreadable)
}

/// Handles one delivered event: an erasure step (the customer's files in
/// `media` with their messages), or a page of a retention. Other events are
/// ignored. Idempotent: every step reads what is stored.
pub async fn handle<P, M>(
    app: &App<P>,
    media: &M,
    event: &EventEnvelope,
) -> Result<&'static str, StepError>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    if let Some(progress) = continue_erasure(app, media, event).await? {
        return Ok(if progress.complete {
            "erased"
        } else {
            "erasure continues"
        });
    }
    apply_retention(app, event).await?;
    Ok("retention applied")
}

/// What Lambda delivers to this function: the erasure queue's messages, or
/// the table's stream records of expired messages.
#[derive(Debug)]
pub enum Delivery {
    Queue(SqsEvent),
    Stream(StreamEvent),
}

/// The answer for Lambda: the batch items to deliver again.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum DeliveryResponse {
    Queue(SqsBatchResponse),
    Stream(DynamoDbEventResponse),
}

/// Why an invocation's payload was not a delivery this function takes.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(
        "the invocation is neither the erasure queue's messages nor the table's stream records"
    )]
    Unknown,
    #[error("the invocation's records could not be read")]
    Unreadable(#[source] serde_json::Error),
}

/// Delivered again, a payload reads the same.
impl Retryable for DeliveryError {
    fn is_retryable(&self) -> bool {
        false
    }
}

impl Delivery {
    /// Tells the two event sources apart by the records' `eventSource`.
    pub fn parse(payload: serde_json::Value) -> Result<Self, DeliveryError> {
        let source = payload
            .pointer("/Records/0/eventSource")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        match source.as_deref() {
            Some("aws:sqs") => serde_json::from_value(payload)
                .map(Self::Queue)
                .map_err(DeliveryError::Unreadable),
            Some("aws:dynamodb") => serde_json::from_value(payload)
                .map(Self::Stream)
                .map_err(DeliveryError::Unreadable),
            _ => Err(DeliveryError::Unknown),
        }
    }
}

/// One invocation as `main` runs it, from Lambda's payload: a payload that is
/// neither of the two deliveries is logged and acknowledged (delivered again,
/// it would read the same), otherwise [`invoke`].
pub async fn invoke_payload<P, M>(
    app: &App<P>,
    media: &M,
    payload: serde_json::Value,
) -> DeliveryResponse
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    match Delivery::parse(payload) {
        Ok(delivery) => invoke(app, media, delivery).await,
        Err(error) => {
            // Never retryable: logged and acknowledged.
            let _acknowledged = settle("an invocation", error);
            DeliveryResponse::Queue(SqsBatchResponse::default())
        }
    }
}

/// One delivery: each queue message handled on its own (a transient failure
/// is delivered again, then kept in the dead-letter queue; a permanent one,
/// such as a message that is not a wadesk event, is logged and acknowledged),
/// or the stream's expired messages' files deleted.
pub async fn invoke<P, M>(app: &App<P>, media: &M, delivery: Delivery) -> DeliveryResponse
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    match delivery {
        Delivery::Queue(event) => DeliveryResponse::Queue(handle_queue(app, media, event).await),
        Delivery::Stream(event) => DeliveryResponse::Stream(expire_files(media, event).await),
    }
}

async fn handle_queue<P, M>(app: &App<P>, media: &M, event: SqsEvent) -> SqsBatchResponse
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let handled = match parse(body) {
            Ok(event) => handle(app, media, &event).await,
            Err(error) => Err(error),
        };
        match handled {
            Ok(outcome) => tracing::info!(outcome, "step done"),
            Err(error) => {
                let what = format!("erasure queue message {id}");
                if settle(&what, error).is_some() {
                    // The queue delivers it again, then keeps it in its
                    // dead-letter queue.
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
    }
    response
}

/// Whether DynamoDB's TTL removed the item, not an erasure or anyone else.
fn removed_by_ttl(record: &EventRecord) -> bool {
    record.event_name == "REMOVE"
        && record.user_identity.as_ref().is_some_and(|identity| {
            identity.type_ == "Service" && identity.principal_id == "dynamodb.amazonaws.com"
        })
}

/// Deletes the files of the messages the TTL removed, record by record. A
/// failed deletion reports its record, and Lambda delivers the batch again
/// from it (deleting a file twice is harmless); an image that is not a
/// readable message is logged and passed over, since no retry can read it.
pub async fn expire_files<M: MediaStore>(media: &M, event: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        if !removed_by_ttl(&record) {
            continue;
        }
        let sequence_number = record.change.sequence_number.clone();
        let message = match removed_message(record.change.old_image) {
            Ok(Some(message)) => message,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(%error, "an expired item is not a readable message; its file, if any, is left to the bucket's lifecycle");
                continue;
            }
        };
        match delete_expired_files(media, std::slice::from_ref(&message)).await {
            Ok(files) => {
                tracing::debug!(files, message = %message.id, "expired message's files deleted")
            }
            Err(error) => {
                let what = format!("deleting the files of expired message {}", message.id);
                if settle(&what, error).is_some() {
                    report_stream_failure(&mut response, sequence_number);
                    break;
                }
            }
        }
    }
    response
}

/// Lambda delivers the batch again from this record.
fn report_stream_failure(response: &mut DynamoDbEventResponse, sequence_number: Option<String>) {
    let mut failure = DynamoDbBatchItemFailure::default();
    // Without a sequence number Lambda retries the whole batch, which is
    // just as harmless.
    failure.item_identifier = sequence_number;
    response.batch_item_failures.push(failure);
}
