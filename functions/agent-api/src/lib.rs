//! The agent UI's HTTP endpoints (`docs/product.md#8-the-http-contract`): the desk, the agents' and
//! supervisors' views, and the admin directory.
//!
//! `handle` is generic over the ports, so the Lambda and the local runner run
//! this very code with different adapters.

mod admin;
mod auth;
mod conversations;
mod error;
mod media;
mod paging;
mod views;

pub use auth::Caller;
pub use error::ApiError;
pub use media::Media;

use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wadesk_app::ports::NoMedia;
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore, MediaStore, WhatsAppClient};
use wadesk_domain::ConversationId;

/// The largest request body the API reads (a message is at most 4096 characters).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route this function serves, as `(method, path template)`; the OpenAPI
/// document must describe each (a test checks it).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/me"),
    ("PUT", "/me/state"),
    ("GET", "/conversations"),
    ("GET", "/conversations/{id}"),
    ("GET", "/conversations/{id}/messages"),
    ("POST", "/conversations/{id}/messages"),
    ("GET", "/conversations/{id}/messages/{message_id}/media"),
    ("POST", "/uploads"),
    ("POST", "/conversations/{id}/accept"),
    ("POST", "/conversations/{id}/take"),
    ("POST", "/conversations/{id}/transfer"),
    ("POST", "/conversations/{id}/conference"),
    ("POST", "/conversations/{id}/conference/accept"),
    ("POST", "/conversations/{id}/conference/exit"),
    ("POST", "/conversations/{id}/conference/end"),
    ("POST", "/conversations/{id}/end"),
    ("POST", "/conversations/{id}/wrap-up"),
    ("POST", "/conversations/{id}/done"),
    ("POST", "/conversations/{id}/notes"),
    ("POST", "/conversations/{id}/handoff"),
    ("GET", "/customers/{wa_id}/history"),
    ("GET", "/supervise/conversations"),
    ("GET", "/wrap-up-reasons"),
    ("GET", "/admin/agents"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/customers/{phone_number_id}/{wa_id}/export"),
    ("DELETE", "/admin/customers/{phone_number_id}/{wa_id}"),
    ("PUT", "/admin/agents/{id}"),
    ("PUT", "/admin/queues/{id}"),
    ("PUT", "/admin/channels/{phone_number_id}"),
    ("PUT", "/admin/wrap-up-reasons"),
];

/// The routes of the reopen function (`functions/reopen`): reopen and the
/// utility push (`docs/product.md#5-reopen-and-the-utility-push`), which the
/// agent API itself does not serve.
pub const REOPEN_ROUTES: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/reopen"),
    ("POST", "/conversations/{id}/push"),
];

/// Which function's routes a request may reach: the agent API or the reopen
/// function. Both share this crate's authentication, errors and views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    AgentApi,
    Reopen,
}

/// Whether the reopen function serves `path` (the local runner dispatches on it).
pub fn reopen_serves(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["conversations", _, "reopen" | "push"])
}

/// Whether this function serves `path` (the local runner dispatches on it).
pub fn serves(path: &str) -> bool {
    [
        "/me",
        "/conversations",
        "/uploads",
        "/customers/",
        "/supervise/",
        "/wrap-up-reasons",
        "/admin/",
    ]
    .iter()
    .any(|prefix| {
        path == *prefix
            || path.starts_with(prefix)
                && (prefix.ends_with('/') || path[prefix.len()..].starts_with('/'))
    })
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Routes one API Gateway request of the agent API, with no media store
/// (uploads and media answer 503).
pub async fn handle<P>(app: &App<P>, request: Request) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    handle_with_media(app, &Media::new(NoMedia), request).await
}

/// Routes one API Gateway request of the agent API, files kept in `media`.
pub async fn handle_with_media<P, M>(
    app: &App<P>,
    media: &Media<M>,
    request: Request,
) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    M: MediaStore,
{
    serve_surface(app, media, request, Surface::AgentApi).await
}

/// Routes one API Gateway request of the given function.
pub async fn handle_surface<P>(app: &App<P>, request: Request, surface: Surface) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    serve_surface(app, &Media::new(NoMedia), request, surface).await
}

async fn serve_surface<P, M>(
    app: &App<P>,
    media: &Media<M>,
    request: Request,
    surface: Surface,
) -> Response<Body>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    M: MediaStore,
{
    use tracing::Instrument;
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "agent_api",
        method = %request.method(),
        conversation_id = tracing::field::Empty
    );
    async move {
        let routed = match surface {
            Surface::AgentApi => route(app, media, &request, &path).await,
            Surface::Reopen => route_reopen(app, &request, &path).await,
        };
        match routed {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    }
    .instrument(span)
    .await
}

async fn route<P, M>(
    app: &App<P>,
    media: &Media<M>,
    request: &Request,
    path: &str,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    M: MediaStore,
{
    let (caller, segments) = admit(app, request, path).await?;
    let caller = &caller;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["me"]) => conversations::me(caller).await,
        (Method::PUT, ["me", "state"]) => conversations::set_state(app, caller, request).await,
        (Method::GET, ["conversations"]) => conversations::list(app, caller, request).await,
        (Method::GET, ["conversations", id]) => {
            conversations::detail(app, caller, parse_id(id)?).await
        }
        (Method::GET, ["conversations", id, "messages"]) => {
            conversations::transcript(app, caller, parse_id(id)?, request).await
        }
        (Method::GET, ["conversations", id, "messages", message_id, "media"]) => {
            tracing::Span::current().record("conversation_id", *id);
            media::media(app, media, caller, parse_id(id)?, message_id).await
        }
        (Method::POST, ["uploads"]) => media::upload(app, media, caller, request).await,
        (Method::POST, ["conversations", id, action @ ..]) => {
            tracing::Span::current().record("conversation_id", *id);
            conversations::act(app, media, caller, parse_id(id)?, action, request).await
        }
        (Method::GET, ["customers", wa_id, "history"]) => {
            conversations::history(app, caller, wa_id, request).await
        }
        (Method::GET, ["supervise", "conversations"]) => {
            conversations::supervise(app, caller, request).await
        }
        (Method::GET, ["wrap-up-reasons"]) => conversations::wrap_up_reasons(app).await,
        (Method::GET, ["admin", "agents"]) => admin::list_agents(app, caller, request).await,
        (Method::GET, ["admin", "audit"]) => admin::list_audit(app, caller, request).await,
        (Method::PUT, ["admin", rest @ ..]) => admin::put(app, caller, rest, request).await,
        (Method::DELETE, ["admin", "customers", phone_number_id, wa_id]) => {
            admin::erase_customer(app, &media.store, caller, phone_number_id, wa_id).await
        }
        (Method::GET, ["admin", "customers", phone_number_id, wa_id, "export"]) => {
            admin::export_customer(app, caller, phone_number_id, wa_id, request).await
        }
        _ => Err(ApiError::NotFound),
    }
}

async fn route_reopen<P>(app: &App<P>, request: &Request, path: &str) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let (caller, segments) = admit(app, request, path).await?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (request.method(), segments.as_slice()) {
        (&Method::POST, ["conversations", id, kind @ ("reopen" | "push")]) => {
            tracing::Span::current().record("conversation_id", *id);
            let id = parse_id(id)?;
            let reopen = if *kind == "reopen" {
                conversations::Reopen::Reopen
            } else {
                conversations::Reopen::Push
            };
            conversations::reopen(app, &caller, id, reopen).await
        }
        _ => Err(ApiError::NotFound),
    }
}

/// What every route of both functions does first: a bounded body, the caller
/// (identity from the token, role and queues from the directory: a subject
/// it does not know is refused here, before anything else), and the path's
/// segments, percent-decoded (a subject such as `auth0|abc123` arrives as
/// `auth0%7Cabc123`).
async fn admit<P>(app: &App<P>, request: &Request, path: &str) -> Result<(Caller, Vec<String>)>
where
    P: Ports<Store: DeskStore>,
{
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge);
    }
    let acted_on = (request.method() == Method::POST)
        .then(|| acted_on(path))
        .flatten();
    let caller = auth::caller(app, request, acted_on).await?;
    let segments = path
        .trim_matches('/')
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| ApiError::NotFound)
        })
        .collect::<Result<_>>()?;
    Ok((caller, segments))
}

/// The conversation a desk action (`POST /conversations/{id}/…`, reopen and
/// push included) names, if its id parses: read with the caller's entry, so
/// the action's snapshot is one more round trip.
fn acted_on(path: &str) -> Option<ConversationId> {
    let mut segments = path.trim_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("conversations"), Some(id), Some(_)) => id.parse().ok(),
        _ => None,
    }
}

fn parse_id(raw: &str) -> Result<ConversationId> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Parses a JSON body; an empty body is `{}`.
pub(crate) fn body<B: DeserializeOwned>(request: &Request) -> Result<B> {
    let bytes: &[u8] = request.body().as_ref();
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::Invalid(format!("invalid JSON body: {e}")))
}

pub(crate) fn json<B: Serialize>(status: StatusCode, body: &B) -> Result<Response<Body>> {
    let text = serde_json::to_string(body).map_err(|_| ApiError::Unavailable)?;
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

pub(crate) fn ok<B: Serialize>(body: &B) -> Result<Response<Body>> {
    json(StatusCode::OK, body)
}
