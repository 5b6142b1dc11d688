//! Live updates for the console on AWS (`docs/product.md`, section 10): the
//! WebSocket API's routes and the push of desk events, the same protocol as
//! the local runner's `/live` — hints only, to the sockets they concern.
//!
//! - `$connect`: the token comes in `?token=` (browsers cannot set headers on
//!   a WebSocket); it is verified against the issuer's keys, the caller must
//!   be in the directory, and the socket is registered with what the audience
//!   rule needs. A refusal is an HTTP status before any upgrade.
//! - `$disconnect`: the socket is forgotten.
//! - `$default`: the console's keep-alive (`{"action":"ping"}`), answered
//!   with nothing: the message alone resets API Gateway's idle timer.
//! - a desk event from the bus: its hint goes to every registered socket
//!   `LiveHint::concerns` names; a socket found gone is forgotten.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use futures_util::stream::{self, StreamExt};
use lambda_runtime::Error;
use serde::Deserialize;
use serde_json::Value;
use wadesk_app::desk::{identify, DeskFailure};
use wadesk_app::error::{error_chain, Retryable};
use wadesk_app::ports::{
    LiveConnection, LiveConnections, LivePush, Pushed, TokenError, TokenVerifier,
};
use wadesk_app::Ports;
use wadesk_app::{App, ConversationStore, DeskStore, StoreError};
use wadesk_aws::lambda::settle_invocation;
use wadesk_aws::parking::{parse_or_park, Parking};
use wadesk_domain::live::LiveHint;
use wadesk_domain::{Clock, Conversation, EventEnvelope};

/// Pushes in flight at once for one event.
const CONCURRENT_PUSHES: usize = 16;

/// Why an invocation failed (Lambda retries a desk event twice, then parks it).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("the live connection registry failed")]
    Registry(#[from] StoreError),
    #[error("{failed} of {concerned} pushes failed")]
    Pushes { failed: usize, concerned: usize },
    #[error("the hint could not be written as JSON")]
    Hint(#[from] serde_json::Error),
}

impl Retryable for LiveError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Registry(error) => error.is_retryable(),
            Self::Pushes { .. } => true,
            // The same event writes the same hint.
            Self::Hint(_) => false,
        }
    }
}

/// The answer to `$connect`: 200 upgrades, anything else refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connect {
    Accepted,
    /// No token, or one that proves nothing.
    Unauthenticated,
    /// A valid identity the directory does not know.
    NotInDirectory,
    /// The keys, the directory or the registry could not be read.
    Unavailable,
}

impl Connect {
    pub fn status(self) -> u16 {
        match self {
            Connect::Accepted => 200,
            Connect::Unauthenticated => 401,
            Connect::NotInDirectory => 403,
            Connect::Unavailable => 503,
        }
    }
}

/// `$connect`: verify, identify, register.
pub async fn connect<P, R, V>(
    app: &App<P>,
    registry: &R,
    tokens: &V,
    connection_id: &str,
    token: Option<&str>,
) -> Connect
where
    P: Ports<Store: DeskStore>,
    R: LiveConnections,
    V: TokenVerifier,
{
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Connect::Unauthenticated;
    };
    let subject = match tokens.subject(token).await {
        Ok(subject) => subject,
        Err(TokenError::Invalid(reason)) => {
            tracing::info!(%reason, "live connection refused: invalid token");
            return Connect::Unauthenticated;
        }
        Err(error @ TokenError::KeysUnavailable(_)) => {
            tracing::error!(error = %error_chain(&error), "live connection refused: the issuer's keys are unavailable");
            return Connect::Unavailable;
        }
    };
    let (actor, entry) = match identify(app, subject).await {
        Ok(identified) => identified,
        Err(DeskFailure::Rule(_)) => return Connect::NotInDirectory,
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "live connection refused: the directory is unavailable");
            return Connect::Unavailable;
        }
    };
    let connection = LiveConnection {
        id: connection_id.to_owned(),
        actor,
        entry,
        connected_at: app.clock.now(),
    };
    match registry.register(&connection).await {
        Ok(()) => Connect::Accepted,
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "live connection not registered");
            Connect::Unavailable
        }
    }
}

/// What one desk event's push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushOutcome {
    pub delivered: usize,
    pub gone: usize,
}

/// The hint of `event` to every registered socket it concerns. The stored
/// conversation is read once, and only when some socket's caller is neither
/// an overseer nor named by the event. A push that fails fails the whole
/// event (Lambda retries it; a hint delivered twice only makes a console
/// re-read once more).
pub async fn push<S, P>(
    store: &S,
    pusher: &P,
    event: &EventEnvelope,
) -> Result<PushOutcome, LiveError>
where
    S: ConversationStore + LiveConnections,
    P: LivePush,
{
    let hint = LiveHint::of(event);
    let connections = store.connections().await?;
    let mut conversation: Option<Option<Conversation>> = None;
    let mut concerned = Vec::new();
    for connection in connections {
        let entry = connection.entry.as_ref();
        let told = if hint.concerns(&connection.actor, entry, None) {
            true
        } else if let Some(id) = hint.conversation_id {
            if conversation.is_none() {
                conversation = Some(store.get_conversation(id).await?);
            }
            hint.concerns(
                &connection.actor,
                entry,
                conversation.as_ref().and_then(Option::as_ref),
            )
        } else {
            false
        };
        if told {
            concerned.push(connection.id);
        }
    }
    let text = serde_json::to_string(&hint)?;
    let results: Vec<_> = stream::iter(&concerned)
        .map(|id| {
            let text = &text;
            async move { (id, pusher.push(id, text).await) }
        })
        .buffer_unordered(CONCURRENT_PUSHES)
        .collect()
        .await;
    let mut outcome = PushOutcome::default();
    let mut failed = 0;
    for (id, result) in results {
        match result {
            Ok(Pushed::Delivered) => outcome.delivered += 1,
            Ok(Pushed::Gone) => {
                store.forget(id).await?;
                outcome.gone += 1;
            }
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "live push failed");
                failed += 1;
            }
        }
    }
    tracing::info!(
        event = hint.kind,
        concerned = concerned.len(),
        delivered = outcome.delivered,
        gone = outcome.gone,
        failed,
        "live hints pushed"
    );
    if failed > 0 {
        return Err(LiveError::Pushes {
            failed,
            concerned: concerned.len(),
        });
    }
    Ok(outcome)
}

/// The wired adapters of the function.
pub struct Wiring<'p, A: Ports, V, U, K> {
    pub app: &'p App<A>,
    pub tokens: &'p V,
    pub pusher: &'p U,
    pub parking: &'p K,
}

fn answer(status: u16) -> Value {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    serde_json::to_value(response).unwrap_or_else(|_| serde_json::json!({ "statusCode": status }))
}

/// One invocation as Lambda hands it over (`main` and the tests call this):
/// a WebSocket route's request (answered with a status), or a desk event
/// from the bus's rule (asynchronous: a transient failure makes Lambda retry
/// it twice, then park it in the failure queue; an event that does not parse
/// is parked at once; a hint that cannot be written is logged and
/// acknowledged, by [`settle_invocation`]).
pub async fn invoke<A, V, U, K>(
    ports: &Wiring<'_, A, V, U, K>,
    function: &str,
    payload: &Value,
) -> Result<Value, Error>
where
    A: Ports<Store: DeskStore + LiveConnections>,
    V: TokenVerifier,
    U: LivePush,
    K: Parking,
{
    let app = ports.app;
    if payload.get("requestContext").is_some() {
        let request = ApiGatewayWebsocketProxyRequest::deserialize(payload)?;
        let context = &request.request_context;
        let connection_id = context.connection_id.as_deref().unwrap_or_default();
        let status = match context.route_key.as_deref() {
            Some("$connect") => {
                let token = request.query_string_parameters.first("token");
                connect(app, &app.store, ports.tokens, connection_id, token)
                    .await
                    .status()
            }
            Some("$disconnect") => {
                app.store.forget(connection_id).await?;
                200
            }
            // `$default`: the keep-alive (or anything else a console sends)
            // needs no answer; the message itself keeps the socket open.
            _ => 200,
        };
        return Ok(answer(status));
    }
    let Some(delivery) =
        parse_or_park::<EventBridgeEvent<EventEnvelope>, _>(ports.parking, function, payload)
            .await?
    else {
        return Ok(Value::from("parked"));
    };
    let pushed = push(&app.store, ports.pusher, &delivery.detail)
        .await
        .map(|outcome| serde_json::json!({ "delivered": outcome.delivered, "gone": outcome.gone }));
    settle_invocation("a live hint's push", pushed, Value::from("refused"))
}
