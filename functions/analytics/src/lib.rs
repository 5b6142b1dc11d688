//! Analytics (`docs/product.md#7-analytics`): the consumer that counts domain
//! events into hourly counters, a delivered batch of the analytics queue at a
//! time, and the HTTP API that reads them back:
//! `GET /analytics/dashboard` (day by day) and `GET /analytics/chat-statistics`
//! (the rolling last 24 hours and the live gauges).
//!
//! Both sides are generic over the ports, so the Lambdas and the local runner
//! run this very code with different adapters.

mod auth;
mod error;

pub use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
pub use error::ApiError;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::BatchItemFailure;
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use wadesk_app::analytics::{
    consume, consume_batch, scope_for, AnalyticsReader, Consumed, ScopeError, ScopeRequest, Zone,
};
use wadesk_app::error::{settle, Retryable};
use wadesk_app::{AnalyticsStore, AppError, DeskStore};
use wadesk_domain::analytics::{DayFigures, DayRange, Scope, COUNTED_EVENT_TYPES};
use wadesk_domain::{AgentId, Clock, EventEnvelope, PhoneNumberId, QueueId};

/// Every route this function serves, as `(method, path template)`; the OpenAPI
/// document must describe each.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/analytics/dashboard"),
    ("GET", "/analytics/chat-statistics"),
];

/// Whether this function serves `path` (the local runner dispatches on it).
pub fn serves(path: &str) -> bool {
    path == "/analytics" || path.starts_with("/analytics/")
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Routes one API Gateway request.
pub async fn handle<A, D, C>(
    reader: AnalyticsReader<'_, A, D, C>,
    request: Request,
) -> Response<Body>
where
    A: AnalyticsStore,
    D: DeskStore,
    C: Clock,
{
    use tracing::Instrument;
    let span = tracing::info_span!(
        "analytics_api",
        method = %request.method(),
        path = %request.uri().path()
    );
    async move {
        route(reader, &request)
            .await
            .unwrap_or_else(ApiError::into_response)
    }
    .instrument(span)
    .await
}

async fn route<A, D, C>(
    reader: AnalyticsReader<'_, A, D, C>,
    request: &Request,
) -> Result<Response<Body>>
where
    A: AnalyticsStore,
    D: DeskStore,
    C: Clock,
{
    let viewer = auth::actor(request, reader.conversations, reader.bootstrap_admins).await?;
    let path = request.uri().path().trim_end_matches('/');
    if request.method() != Method::GET {
        return Err(ApiError::NotFound);
    }
    let query = Query(request);
    match path {
        "/analytics/dashboard" => {
            let scope = scope(&viewer, &query)?;
            let zone = zone(&query)?;
            let now = reader.clock.now();
            let range = DayRange::parse(query.get("from"), query.get("to"), now, zone)
                .map_err(|e| ApiError::Invalid(e.to_string()))?;
            let days = reader.dashboard(&scope, &range).await?;
            ok(&Dashboard { days })
        }
        "/analytics/chat-statistics" => {
            let scope = scope(&viewer, &query)?;
            // The last 24 hours are the same hours in every zone: `tz` is
            // checked, so a console can send it to both routes alike.
            zone(&query)?;
            ok(&reader.chat_statistics(&scope).await?)
        }
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Serialize)]
struct Dashboard {
    days: Vec<DayFigures>,
}

/// The query string; an empty value is the same as an absent one.
struct Query<'a>(&'a Request);

impl Query<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .query_string_parameters_ref()
            .and_then(|q| q.first(name))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn id<T>(
        &self,
        name: &str,
        parse: impl FnOnce(String) -> Result<T, wadesk_domain::IdError>,
    ) -> Result<Option<T>> {
        self.get(name)
            .map(|value| {
                parse(value.to_owned()).map_err(|e| ApiError::Invalid(format!("`{name}`: {e}")))
            })
            .transpose()
    }
}

fn scope(viewer: &wadesk_domain::Actor, query: &Query<'_>) -> Result<Scope> {
    let request = ScopeRequest {
        agent: query.id("agent", AgentId::parse)?,
        queue: query.id("queue", QueueId::parse)?,
        channel: query.id("channel", PhoneNumberId::parse)?,
    };
    scope_for(viewer, request).map_err(|error| match error {
        ScopeError::Forbidden => ApiError::Forbidden(error.to_string()),
        ScopeError::Invalid(message) => ApiError::Invalid(message.to_owned()),
    })
}

/// The viewer's time zone (`tz`, an IANA name); UTC without one.
fn zone(query: &Query<'_>) -> Result<Zone> {
    query.get("tz").map_or_else(
        || Ok(Zone::utc()),
        |name| Zone::parse(name).map_err(|e| ApiError::Invalid(e.to_string())),
    )
}

fn ok<B: Serialize>(body: &B) -> Result<Response<Body>> {
    let text = serde_json::to_string(body).map_err(|_| ApiError::Unavailable)?;
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Why a single EventBridge event (a replay) could not be counted. Returned
/// as the invocation's error, so the caller sees it and the event stays
/// parked: nothing is dropped silently.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error("the detail of a `{detail_type}` event is not a wadesk event")]
    Malformed {
        detail_type: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    App(#[from] AppError),
}

impl Retryable for ConsumeError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Malformed { .. } => false,
            Self::App(error) => error.is_retryable(),
        }
    }
}

/// Counts one EventBridge event on its own (a replay from the failure queue).
/// Types analytics does not count are acknowledged without being parsed (the
/// rule only sends the counted ones, but a wider rule must not make the
/// function fail).
#[tracing::instrument(skip_all, fields(detail_type = %delivery.detail_type), err)]
pub async fn consume_delivery<A: AnalyticsStore>(
    store: &A,
    delivery: EventBridgeEvent<serde_json::Value>,
) -> Result<Consumed, ConsumeError> {
    if !COUNTED_EVENT_TYPES.contains(&delivery.detail_type.as_str()) {
        return Ok(Consumed::NotCounted);
    }
    let event: EventEnvelope =
        serde_json::from_value(delivery.detail).map_err(|source| ConsumeError::Malformed {
            detail_type: delivery.detail_type.clone(),
            source,
        })?;
    let consumed = consume(store, &event).await?;
    tracing::info!(?consumed, event_id = %event.id, "event consumed");
    Ok(consumed)
}

/// One consumer invocation as Lambda hands it over (the consumer's `main`
/// and the tests call this): a batch of the analytics queue (see
/// [`consume_queue`]), or one EventBridge event on its own (what the redrive
/// command replays from the failure queue). An event that can never be
/// counted (it does not parse, or its detail is not a wadesk event) is parked
/// at once with its reason; any other failure is retried: a queue message is
/// reported failed (the queue delivers it again, and after 5 receives moves it
/// to the failure queue), a single event fails the invocation. Counting is
/// idempotent per event id, so retries and replays are safe.
pub async fn invoke_consumer<A: AnalyticsStore, P: wadesk_aws::parking::Parking>(
    store: &A,
    parking: &P,
    function: &str,
    payload: &serde_json::Value,
) -> std::result::Result<serde_json::Value, lambda_runtime::Error> {
    use wadesk_aws::parking::{parked_record, parse_or_park};

    let from_queue = payload
        .pointer("/Records/0/eventSource")
        .and_then(serde_json::Value::as_str)
        == Some("aws:sqs");
    if from_queue {
        if let Some(batch) = parse_or_park::<SqsEvent, _>(parking, function, payload).await? {
            let response = consume_queue(store, parking, function, batch).await;
            return Ok(serde_json::to_value(response)?);
        }
        return Ok(serde_json::json!({ "batchItemFailures": [] }));
    }
    let Some(delivery) =
        parse_or_park::<EventBridgeEvent<serde_json::Value>, _>(parking, function, payload).await?
    else {
        return Ok(serde_json::json!({ "outcome": "Parked" }));
    };
    match consume_delivery(store, delivery).await {
        Ok(consumed) => Ok(serde_json::json!({ "outcome": format!("{consumed:?}") })),
        // Its detail is not a wadesk event: it never will be.
        Err(error) if !error.is_retryable() => {
            let reason = error.to_string();
            tracing::error!(%reason, "event parked in the failure queue, not retried");
            parking
                .park(parked_record(function, &reason, payload))
                .await?;
            Ok(serde_json::json!({ "outcome": "Parked" }))
        }
        Err(error) => {
            tracing::error!(%error, "event not counted; it is retried, then parked in the failure queue");
            Err(lambda_runtime::Error::from(
                Box::new(error) as Box<dyn std::error::Error + Send + Sync>
            ))
        }
    }
}

/// Counts one batch of the analytics queue (each message an EventBridge
/// event) with [`consume_batch`]: every counter item written once per tally,
/// after the claims of the events counted. Messages whose event could not be
/// counted are reported as batch item failures, so only they are delivered
/// again; a message that can never be counted is parked and acknowledged.
pub async fn consume_queue<A: AnalyticsStore, P: wadesk_aws::parking::Parking>(
    store: &A,
    parking: &P,
    function: &str,
    batch: SqsEvent,
) -> SqsBatchResponse {
    use wadesk_aws::parking::parked_record;

    let mut events = Vec::with_capacity(batch.records.len());
    let mut messages = Vec::with_capacity(batch.records.len());
    let mut response = SqsBatchResponse::default();
    let fail = |response: &mut SqsBatchResponse, id: &str| {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id.to_owned();
        response.batch_item_failures.push(failure);
    };
    for record in batch.records {
        let id = record.message_id.unwrap_or_default();
        let body = record.body.unwrap_or_default();
        match queued_event(&body) {
            Ok(Some(event)) => {
                messages.push((id, event.id));
                events.push(event);
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::error!(%reason, message_id = %id, "message parked in the failure queue, not retried");
                let payload = serde_json::from_str(&body)
                    .unwrap_or_else(|_| serde_json::Value::String(body.clone()));
                if let Err(error) = parking
                    .park(parked_record(function, &reason, &payload))
                    .await
                {
                    tracing::error!(%error, "could not park; the queue delivers it again");
                    fail(&mut response, &id);
                }
            }
        }
    }
    let consumed = consume_batch(store, &events).await;
    tracing::info!(
        counted = consumed.counted,
        duplicates = consumed.duplicates,
        not_counted = consumed.not_counted,
        uncounted = consumed.uncounted.len(),
        held_elsewhere = consumed.held_elsewhere.len(),
        "batch consumed"
    );
    // The uncounted are delivered again (then moved to the failure queue),
    // unless what stopped them is no retry's to fix. Events another tally
    // holds always are: that tally counts them, or is abandoned by a later
    // delivery, which counts them.
    let retried = consumed
        .error
        .is_none_or(|error| settle("counting a batch's events", error).is_some());
    for (id, event_id) in &messages {
        let again = retried && consumed.uncounted.contains(event_id);
        if again || consumed.held_elsewhere.contains(event_id) {
            fail(&mut response, id);
        }
    }
    response
}

/// The wadesk event a queue message carries; `None` for a type analytics
/// does not count (acknowledged unread); the reason when it can never be
/// counted.
fn queued_event(body: &str) -> std::result::Result<Option<EventEnvelope>, String> {
    let delivery: EventBridgeEvent<serde_json::Value> = serde_json::from_str(body)
        .map_err(|e| format!("the message is not an EventBridge event: {e}"))?;
    if !COUNTED_EVENT_TYPES.contains(&delivery.detail_type.as_str()) {
        return Ok(None);
    }
    serde_json::from_value(delivery.detail)
        .map(Some)
        .map_err(|e| {
            format!(
                "the detail of a `{}` event is not a wadesk event: {e}",
                delivery.detail_type
            )
        })
}

/// The DynamoDB store on the table the template names (`WADESK_TABLE`).
pub async fn store_from_env(
) -> Result<wadesk_aws::DynamoStore, Box<dyn std::error::Error + Send + Sync>> {
    let table = wadesk_aws::config::required("WADESK_TABLE")?;
    let sdk = wadesk_aws::config::load_sdk_config().await;
    Ok(wadesk_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
    ))
}
