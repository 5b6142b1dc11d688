//! The erasure queue's consumer (`docs/product.md#11-data-protection`). An
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

use aws_lambda_events::eventbridge::EventBridgeEvent;
use wadesk_app::desk::DeskFailure;
use wadesk_app::ports::MediaStore;
use wadesk_app::protection::{apply_retention, continue_erasure};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::{Clock, EventEnvelope};

/// Why a queue message was not handled.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Not an EventBridge event with a wadesk event: no retry will change it
    /// (it ends in the dead-letter queue after the queue's receive count).
    #[error("the message is not a wadesk event")]
    Unreadable(#[source] serde_json::Error),
    #[error(transparent)]
    Failed(#[from] DeskFailure),
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
pub async fn handle<S, E, T, C, W, M>(
    app: &App<S, E, T, C, W>,
    media: &M,
    event: &EventEnvelope,
) -> Result<&'static str, StepError>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
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
