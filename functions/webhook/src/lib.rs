//! `GET /webhook` (subscription check) and `POST /webhook` (messages and
//! delivery statuses) from the WhatsApp Cloud API.
//!
//! The handler is generic over the ports, so the Lambda and the local runner run
//! this very code with different adapters.
//!
//! What WhatsApp gets back decides whether it retries (for days): a validly
//! signed body is answered 200 whenever retrying cannot help. A body that is not
//! a webhook payload, or an item of a batch that can never be stored (the parser
//! rejects it, or the store refuses it: `StoreError::is_refused`), is kept
//! with its reason ([`PoisonKeeper`]) and the rest of the batch stored; only a
//! transient failure (the store, the scheduler, or keeping the poison) answers
//! 5xx, and the retry skips what is already stored. A message's events are
//! committed with it (the table's outbox, relayed to the bus from its stream):
//! the webhook makes no request to the bus for them.

mod error;
mod settings;

pub use error::WebhookError;
pub use settings::WebhookSettings;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use wadesk_app::error::{error_chain, Retryable};
use wadesk_app::inbound::{receive_and_offer, InboundOutcome};
use wadesk_app::status::{apply_status, StatusOutcome};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore, Poison, PoisonItem, PoisonKeeper, WhatsAppClient};
use wadesk_domain::Clock;
use wadesk_whatsapp::{parse_webhook, signature, subscription, Rejected};

/// WhatsApp sends at most about 3 MB; anything far larger is not WhatsApp.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What a processed batch did; WhatsApp only looks at the 200.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchSummary {
    pub messages_stored: usize,
    pub duplicates: usize,
    pub statuses_applied: usize,
    pub statuses_ignored: usize,
    /// Items that can never be stored, kept as poison with the body.
    pub rejected: usize,
    /// The body was kept as poison: it is not a webhook payload, or it carries
    /// rejected items.
    pub poison_kept: bool,
}

/// Routes one API Gateway request.
pub async fn handle<P, K>(
    app: &App<P>,
    poison: &K,
    settings: &WebhookSettings,
    request: Request,
) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    K: PoisonKeeper,
{
    let result = match *request.method() {
        Method::GET => verify_subscription(settings, &request),
        Method::POST => receive(app, poison, settings, &request)
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
async fn receive<P, K>(
    app: &App<P>,
    poison: &K,
    settings: &WebhookSettings,
    request: &Request,
) -> Result<BatchSummary, WebhookError>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    K: PoisonKeeper,
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
    let kept = |reason: String, items: Vec<PoisonItem>| Poison {
        received_at: app.clock.now(),
        reason,
        items,
        body: body.to_vec(),
        signature: header.map(str::to_owned),
    };
    let mut batch = match parse_webhook(body) {
        Ok(batch) => batch,
        Err(error) => {
            // Signed by Meta, so retrying it can never help: keep it, answer 200.
            tracing::warn!(%error, "signed webhook body is not a webhook payload; keeping it");
            keep(poison, &kept(error.to_string(), Vec::new())).await?;
            return Ok(BatchSummary {
                poison_kept: true,
                ..BatchSummary::default()
            });
        }
    };
    let rejected = std::mem::take(&mut batch.rejected);

    let mut summary = BatchSummary {
        rejected: rejected.len(),
        ..BatchSummary::default()
    };
    // Every item is attempted; if any could not be stored the whole batch is
    // answered 5xx so WhatsApp retries it, and the retry skips what is stored.
    let mut failures = 0usize;
    // Messages the store refuses for what they hold: poison, like `rejected`.
    let mut refused: Vec<(String, String)> = Vec::new();
    // The batch's customers are read at once and handled concurrently, each
    // customer's messages in order; a conversation a message starts is
    // offered in the commit that stores the message when an agent can take it.
    let wamids: Vec<String> = batch
        .messages
        .iter()
        .map(|m| m.wamid.as_str().to_owned())
        .collect();
    let outcomes = match receive_and_offer(app, batch.messages).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            failures += 1;
            tracing::error!(error = %error_chain(&error), "batch not read; WhatsApp will redeliver");
            Vec::new()
        }
    };
    for (wamid, outcome) in wamids.into_iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => {
                if matches!(outcome, InboundOutcome::Stored { .. }) {
                    summary.messages_stored += 1;
                } else {
                    summary.duplicates += 1;
                }
                // A new queued conversation not offered with its message (nobody
                // could take it then, or that commit lost a race) is routed. On
                // a redelivery this is done again, so an offer lost to a failure
                // is made on WhatsApp's retry (routing an offered conversation
                // changes nothing).
                if let Some(id) = outcome.to_route() {
                    if let Err(error) = wadesk_app::desk::route(app, id).await {
                        failures += 1;
                        tracing::error!(error = %error_chain(&error), "routing failed; WhatsApp will redeliver");
                    }
                }
            }
            // No retry can store it (the store refuses the item): kept as
            // poison, and the batch acknowledged.
            Err(error) if !error.is_retryable() => {
                tracing::warn!(error = %error_chain(&error), "inbound message can never be stored; keeping it");
                refused.push((wamid, error_chain(&error)));
            }
            Err(error) => {
                failures += 1;
                tracing::error!(error = %error_chain(&error), "inbound message not stored");
            }
        }
    }
    summary.rejected += refused.len();
    for status in batch.statuses {
        match apply_status(app, status).await {
            Ok(StatusOutcome::Applied) => summary.statuses_applied += 1,
            Ok(StatusOutcome::Ignored) => summary.statuses_ignored += 1,
            // No retry can apply it: logged, and the batch acknowledged.
            Err(error) if !error.is_retryable() => {
                summary.statuses_ignored += 1;
                tracing::error!(error = %error_chain(&error), "status can never be applied; acknowledged");
            }
            Err(error) => {
                failures += 1;
                tracing::error!(error = %error_chain(&error), "status not applied");
            }
        }
    }
    if failures > 0 {
        // The retry keeps the poison (once, not once per attempt).
        return Err(WebhookError::Unavailable);
    }
    if summary.rejected > 0 {
        for item in &rejected {
            tracing::warn!(pointer = %item.pointer, reason = item.reason, "webhook item can never be stored; keeping it");
        }
        let reason = format!(
            "{} item(s) of the batch can never be stored",
            summary.rejected
        );
        let items = poison_items(body, &rejected, &refused);
        keep(poison, &kept(reason, items)).await?;
        summary.poison_kept = true;
    }
    tracing::info!(?summary, "webhook batch processed");
    Ok(summary)
}

/// Keeps poison; if it cannot be kept the call answers 5xx, so WhatsApp
/// redelivers the body and nothing is lost.
async fn keep<K: PoisonKeeper>(keeper: &K, poison: &Poison) -> Result<(), WebhookError> {
    keeper.keep(poison).await.map_err(|error| {
        tracing::error!(error = %error_chain(&error), "poison not kept; WhatsApp will redeliver");
        WebhookError::Unavailable
    })
}

/// The items the parser rejected and the messages (by wamid) the store
/// refused, with their JSON as the body had it (read again: this is the rare
/// path, and the parser keeps no copy of what it reads).
fn poison_items(
    body: &[u8],
    rejected: &[Rejected],
    refused: &[(String, String)],
) -> Vec<PoisonItem> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let item = |pointer: &str| json.as_ref().and_then(|j| j.pointer(pointer)).cloned();
    let parsed = rejected.iter().map(|r| PoisonItem {
        pointer: r.pointer.clone(),
        reason: r.reason.to_owned(),
        item: item(&r.pointer),
    });
    let stored = refused.iter().map(|(wamid, reason)| {
        let pointer = json
            .as_ref()
            .and_then(|j| message_pointer(j, wamid))
            .unwrap_or_default();
        PoisonItem {
            item: item(&pointer),
            pointer,
            reason: reason.clone(),
        }
    });
    parsed.chain(stored).collect()
}

/// Where the message with this id is in the body.
fn message_pointer(json: &serde_json::Value, wamid: &str) -> Option<String> {
    use serde_json::Value;
    let entries = json.get("entry")?.as_array()?;
    for (e, entry) in entries.iter().enumerate() {
        let changes = entry.get("changes").and_then(Value::as_array);
        for (c, change) in changes.into_iter().flatten().enumerate() {
            let messages = change.pointer("/value/messages").and_then(Value::as_array);
            for (m, message) in messages.into_iter().flatten().enumerate() {
                if message.get("id").and_then(Value::as_str) == Some(wamid) {
                    return Some(format!("/entry/{e}/changes/{c}/value/messages/{m}"));
                }
            }
        }
    }
    None
}

fn json<B: Serialize>(status: StatusCode, body: &B) -> Result<Response<Body>, WebhookError> {
    let text = serde_json::to_string(body).map_err(|_| WebhookError::Internal)?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(text))
        .map_err(|_| WebhookError::Internal)
}
