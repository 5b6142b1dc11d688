//! Live updates for the console, locally: a WebSocket at `/live?token=<jwt>`
//! that tells each signed-in caller, within a moment, of the desk events that
//! concern them (`wadesk_domain::live::LiveHint`). The same protocol as on
//! AWS: hints only, the console re-reads over HTTP what it may see.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use wadesk_app::DeskStore;
use wadesk_domain::live::LiveHint;
use wadesk_domain::{Actor, Agent, EventEnvelope};

use crate::Runner;

type HyperResponse = Response<Full<Bytes>>;

/// How many events a slow socket may fall behind before it is told to resync.
pub const LIVE_BACKLOG: usize = 1024;

/// A keep-alive ping, so idle sockets are not dropped by proxies.
const PING_EVERY: Duration = Duration::from_secs(20);

/// The events delivered on the local bus, for the live sockets.
pub fn channel() -> broadcast::Sender<EventEnvelope> {
    broadcast::channel(LIVE_BACKLOG).0
}

/// `GET /live`: authenticates (the token in `?token=`, as browsers cannot set
/// headers on a WebSocket), identifies the caller in the directory, then
/// upgrades. Refusals are plain HTTP answers, before any upgrade.
pub async fn upgrade<S: DeskStore>(
    runner: Arc<Runner<S>>,
    mut request: Request<Incoming>,
) -> HyperResponse {
    let token = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
    });
    let Some(subject) = token
        .as_deref()
        .and_then(|token| crate::auth::verify(token, runner.settings.jwt_secret.as_bytes()))
        .and_then(|claims| wadesk_domain::AgentId::parse(claims.sub).ok())
    else {
        return plain(StatusCode::UNAUTHORIZED, "missing or invalid token");
    };
    let (actor, entry) = match wadesk_app::desk::identify(&runner.app, subject).await {
        Ok(identified) => identified,
        Err(wadesk_app::desk::DeskFailure::Rule(_)) => {
            return plain(StatusCode::FORBIDDEN, "not in the directory")
        }
        Err(_) => return plain(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    let Some(key) = request
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
    else {
        return plain(StatusCode::BAD_REQUEST, "a WebSocket upgrade is expected");
    };
    let upgrading = hyper::upgrade::on(&mut request);
    let events = runner.live.subscribe();
    tokio::spawn(async move {
        match upgrading.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                serve(&runner, socket, events, &actor, entry.as_ref()).await;
            }
            Err(error) => tracing::debug!(%error, "live upgrade failed"),
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&key) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Whether `request` asks for a WebSocket at `/live`.
pub fn wanted<B>(request: &Request<B>) -> bool {
    request.uri().path() == "/live"
        && request
            .headers()
            .get(UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn serve<S: DeskStore>(
    runner: &Runner<S>,
    mut socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    mut events: broadcast::Receiver<EventEnvelope>,
    actor: &Actor,
    entry: Option<&Agent>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        let outgoing = tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    let hint = LiveHint::of(&event);
                    if !concerns(runner, &hint, actor, entry).await {
                        continue;
                    }
                    serde_json::to_string(&hint).ok().map(Message::text)
                }
                // Fell behind: the console resynchronises over HTTP.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    Some(Message::text(r#"{"type":"Resync"}"#))
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                // The console's keep-alive (`{"action":"ping"}`, which API
                // Gateway's `$default` route takes on AWS) and anything else.
                Some(Ok(_)) => None,
            },
            _ = ping.tick() => Some(Message::Ping(Bytes::new())),
        };
        if let Some(message) = outgoing {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    }
}

async fn concerns<S: DeskStore>(
    runner: &Runner<S>,
    hint: &LiveHint,
    actor: &Actor,
    entry: Option<&Agent>,
) -> bool {
    if hint.concerns(actor, entry, None) {
        return true;
    }
    let Some(id) = hint.conversation_id else {
        return false;
    };
    match wadesk_app::ConversationStore::get_conversation(&runner.app.store, id).await {
        Ok(conversation) => hint.concerns(actor, entry, conversation.as_ref()),
        Err(_) => false,
    }
}

fn plain(status: StatusCode, message: &'static str) -> HyperResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    response
}
