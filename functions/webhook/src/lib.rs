//! `GET /webhook` (subscription check) and `POST /webhook` (messages and
//! delivery statuses) from the WhatsApp Cloud API.
//!
//! The handler is generic over the ports, so the Lambda and the local runner run
//! this very code with different adapters.

mod error;
mod settings;

pub use error::WebhookError;
pub use settings::WebhookSettings;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::status::{apply_status, StatusOutcome};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::{Clock, ConversationStatus};
use wadesk_whatsapp::{parse_webhook, signature, subscription};

/// WhatsApp sends at most about 3 MB; anything far larger is not WhatsApp.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What a processed batch did; WhatsApp only looks at the 200.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchSummary {
    pub messages_stored: usize,
    pub duplicates: usize,
    pub statuses_applied: usize,
    pub statuses_ignored: usize,
    pub rejected: usize,
}

/// Routes one API Gateway request.
pub async fn handle<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    settings: &WebhookSettings,
    request: Request,
) -> Response<Body>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let result = match *request.method() {
        Method::GET => verify_subscription(settings, &request),
        Method::POST => receive(app, settings, &request)
            .await
            .and_then(|summary| json(StatusCode::OK, &summary)),
        _ => Err(WebhookError::MethodNotAllowed),
    };
    result.unwrap_or_else(|error| error.into_response())
}

fn verify_subscription(
    settings: &WebhookSettings,
    request: &Request,
) -> Result<Response<Body>, WebhookError> {
    let query = request.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let challenge = subscription::verify(
        param("hub.mode"),
        param("hub.verify_token"),
        param("hub.challenge"),
        settings.verify_token(),
    )
    .map_err(|_| WebhookError::SubscriptionRefused)?;
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain")
        .body(Body::Text(challenge))
        .map_err(|_| WebhookError::Internal)
}

#[tracing::instrument(name = "webhook_batch", skip_all, fields(bytes = request.body().len()))]
async fn receive<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    settings: &WebhookSettings,
    request: &Request,
) -> Result<BatchSummary, WebhookError>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge);
    }
    // Authenticate the raw bytes before looking inside them.
    let header = request
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    signature::verify(settings.app_secret(), body, header).map_err(|error| {
        tracing::warn!(%error, "webhook signature rejected");
        WebhookError::BadSignature
    })?;
    let batch = parse_webhook(body).map_err(|error| {
        tracing::warn!(%error, "webhook body rejected");
        WebhookError::Malformed
    })?;

    let mut summary = BatchSummary {
        rejected: batch.rejected,
        ..BatchSummary::default()
    };
    // Every item is attempted; if any could not be stored the whole batch is
    // answered 5xx so WhatsApp retries it, and the retry skips what is stored.
    let mut failures = 0usize;
    for message in batch.messages {
        match receive_message(app, message).await {
            Ok(outcome) => {
                let started = match outcome {
                    InboundOutcome::Stored {
                        conversation_id,
                        status,
                        started,
                    } => {
                        summary.messages_stored += 1;
                        started.then_some((conversation_id, status))
                    }
                    InboundOutcome::Duplicate { started } => {
                        summary.duplicates += 1;
                        started
                    }
                };
                // A new queued conversation is offered. On a redelivery this is
                // done again, so an offer lost to a failure is made on WhatsApp's
                // retry (routing an offered conversation changes nothing).
                if let Some((id, ConversationStatus::Unanswered)) = started {
                    if let Err(error) = wadesk_app::desk::route(app, id).await {
                        failures += 1;
                        tracing::error!(error = %error_chain(&error), "routing failed; WhatsApp will redeliver");
                    }
                }
            }
            Err(error) => {
                failures += 1;
                tracing::error!(error = %error_chain(&error), "inbound message not stored");
            }
        }
    }
    for status in batch.statuses {
        match apply_status(app, status).await {
            Ok(StatusOutcome::Applied) => summary.statuses_applied += 1,
            Ok(StatusOutcome::Ignored) => summary.statuses_ignored += 1,
            Err(error) => {
                failures += 1;
                tracing::error!(error = %error_chain(&error), "status not applied");
            }
        }
    }
    if failures > 0 {
        return Err(WebhookError::Unavailable);
    }
    tracing::info!(?summary, "webhook batch processed");
    Ok(summary)
}

/// The error and its sources, for logs only.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn json<B: Serialize>(status: StatusCode, body: &B) -> Result<Response<Body>, WebhookError> {
    let text = serde_json::to_string(body).map_err(|_| WebhookError::Internal)?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(text))
        .map_err(|_| WebhookError::Internal)
}
