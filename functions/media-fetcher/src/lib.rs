//! Target of the EventBridge rule for `MessageReceived` events that carry a
//! customer's file (image, video, audio, document, sticker): fetches it from
//! the Graph API and keeps it in the media store, where
//! `GET /conversations/{id}/messages/{message_id}/media` serves it
//! (`docs/product.md#47-customers-media`).
//!
//! Generic over the ports it uses, so the Lambda (Graph API, S3, SQS) and the
//! local runner (its Graph stand-in, memory) run this very code.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::{json, Value};
use wadesk_app::error::{error_chain, Retryable};
use wadesk_app::media::{fetch_inbound, FetchOutcome, InboundMediaError};
use wadesk_app::{MediaSource, MediaStore};
use wadesk_aws::parking::{parse_or_park, ParkError, Parking};
use wadesk_domain::EventEnvelope;

/// Handles one event: other events are ignored (the rule should not send them).
pub async fn handle<G: MediaSource, M: MediaStore>(
    source: &G,
    store: &M,
    event: &EventEnvelope,
) -> Result<FetchOutcome, InboundMediaError> {
    fetch_inbound(source, store, event).await
}

/// Why an invocation fails (and so is retried by Lambda, then parked in the
/// failure queue by its on-failure destination).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Retry(InboundMediaError),
    #[error(transparent)]
    Park(#[from] ParkError),
}

/// One asynchronous invocation as Lambda hands it over: an event that does not
/// parse, or whose file can never be fetched (too large, refused by WhatsApp),
/// is parked at once in the failure queue with its reason; a failure worth a
/// retry (WhatsApp or S3 unavailable) fails the invocation.
pub async fn handle_invocation<G, M, P>(
    source: &G,
    store: &M,
    parking: &P,
    function: &str,
    payload: &Value,
) -> Result<&'static str, InvocationError>
where
    G: MediaSource,
    M: MediaStore,
    P: Parking,
{
    let Some(delivery) =
        parse_or_park::<EventBridgeEvent<EventEnvelope>, _>(parking, function, payload).await?
    else {
        return Ok("parked");
    };
    match handle(source, store, &delivery.detail).await {
        Ok(FetchOutcome::Stored { .. }) => Ok("stored"),
        Ok(FetchOutcome::Ignored) => Ok("ignored"),
        Err(error) if !error.is_retryable() => {
            let reason = error_chain(&error);
            tracing::error!(%reason, "media parked in the failure queue, not retried");
            parking
                .park(permanent_record(function, &reason, payload))
                .await?;
            Ok("parked")
        }
        Err(error) => {
            tracing::error!(reason = %error_chain(&error), "media fetch failed; Lambda retries the event at most twice, then parks it in the failure queue");
            Err(InvocationError::Retry(error))
        }
    }
}

/// Lambda's on-failure record shape, condition `PermanentFailure`: the same
/// redrive reads it (a redriven one fails the same way until its cause is gone).
fn permanent_record(function: &str, reason: &str, event: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "requestContext": {
            "functionArn": function,
            "condition": "PermanentFailure",
            "approximateInvokeCount": 1,
        },
        "responseContext": {"functionError": "PermanentFailure"},
        "responsePayload": {"errorType": "PermanentFailure", "errorMessage": reason},
        "requestPayload": event,
    })
    .to_string()
}
