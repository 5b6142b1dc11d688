//! The runner's local-only surface (`docs/product.md#92-on-one-machine-the-local-runner`), so tools and tests drive
//! it the same way every time.

use chrono::{Duration, SecondsFormat};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use wadesk_app::DeskStore;
use wadesk_domain::{Clock, ConversationId, Wamid};

use crate::Runner;

/// The OpenAPI document of the HTTP contract.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

#[derive(Debug, thiserror::Error)]
enum LocalError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no such route")]
    NotFound,
    #[error("internal error")]
    Internal,
}

impl LocalError {
    fn into_response(self) -> Response<Body> {
        let (status, code) = match &self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        wadesk_aws::lambda::error_response(
            status,
            &wadesk_app::error::ErrorEnvelope::new(code, &self.to_string()),
        )
    }
}

pub async fn handle<S: DeskStore>(runner: &Runner<S>, request: Request) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let result = match (request.method().clone(), path.as_str()) {
        (Method::POST, "/_local/inbound") => inbound(runner, &request).await,
        (Method::POST, "/_local/clock/advance") => advance(runner, &request).await,
        (Method::GET, "/_local/clock") => Ok(json(
            &serde_json::json!({"now": rfc3339(runner.app.clock.now())}),
        )),
        (Method::GET, "/_local/sent") => Ok(json(
            &serde_json::json!({"items": runner.local_whatsapp.sent()}),
        )),
        (Method::GET, "/_local/poison") => Ok(json(&serde_json::json!({"items": poison(runner)}))),
        (Method::GET, "/_local/events") => Ok(json(
            &serde_json::json!({"items": runner.app.events.published()}),
        )),
        (Method::GET, "/_local/timers") => Ok(json(
            &serde_json::json!({"items": runner.app.timers.armed()}),
        )),
        (Method::POST, "/_local/token") => token(runner, &request),
        (Method::GET, "/openapi.json") => Ok(Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::Text(OPENAPI_JSON.to_owned()))
            .unwrap_or_default()),
        (Method::GET, p) if p.starts_with("/_local/conversations/") => {
            conversation(runner, p).await
        }
        _ => Err(LocalError::NotFound),
    };
    result.unwrap_or_else(LocalError::into_response)
}

fn parse_body<T: for<'de> Deserialize<'de>>(request: &Request) -> Result<T, LocalError> {
    serde_json::from_slice(request.body().as_ref())
        .map_err(|e| LocalError::BadRequest(format!("invalid JSON body: {e}")))
}

#[derive(Deserialize)]
struct InboundRequest {
    from: String,
    #[serde(default)]
    name: Option<String>,
    /// The message's text; with `image`, its caption.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    phone_number_id: Option<String>,
    /// A photo instead of text: held by the runner's Graph stand-in, so the
    /// media fetcher fetches it as it would from WhatsApp.
    #[serde(default)]
    image: Option<SimulatedImage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulatedImage {
    #[serde(default = "png")]
    mime_type: String,
    /// The file itself, base64.
    #[serde(default)]
    base64: Option<String>,
    /// Or a made-up PNG of this many bytes.
    #[serde(default)]
    bytes_len: Option<usize>,
}

fn png() -> String {
    "image/png".to_owned()
}

/// The largest simulated file: what WhatsApp allows for any type.
const MAX_SIMULATED_BYTES: usize = 100 * 1024 * 1024;

impl SimulatedImage {
    fn bytes(&self) -> Result<Vec<u8>, LocalError> {
        use base64::Engine as _;
        match (&self.base64, self.bytes_len) {
            (Some(encoded), None) => base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| LocalError::BadRequest("image.base64 is not base64".into())),
            (None, Some(len)) if (16..=MAX_SIMULATED_BYTES).contains(&len) => {
                // A PNG signature and IHDR start, then zeros: sniffed as PNG.
                let mut bytes = vec![
                    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H',
                    b'D', b'R',
                ];
                bytes.resize(len, 0);
                Ok(bytes)
            }
            _ => Err(LocalError::BadRequest(
                "image needs base64, or bytes_len between 16 and 104857600".into(),
            )),
        }
    }
}

#[derive(Serialize)]
struct InboundResponse {
    wamid: String,
    /// What the webhook answered.
    webhook_status: u16,
    conversation_id: Option<ConversationId>,
    conversation_status: Option<&'static str>,
}

/// The records the webhook kept, oldest first, as the SQS poison queue holds them.
fn poison<S: wadesk_app::ConversationStore>(runner: &Runner<S>) -> Vec<serde_json::Value> {
    runner
        .poison
        .kept()
        .iter()
        .filter_map(|p| serde_json::from_str(&p.record(usize::MAX)).ok())
        .collect()
}

/// Builds the body WhatsApp would send, signs it with the app secret, and hands
/// it to the webhook handler as API Gateway would.
async fn inbound<S: DeskStore>(
    runner: &Runner<S>,
    request: &Request,
) -> Result<Response<Body>, LocalError> {
    let input: InboundRequest = parse_body(request)?;
    let wamid = format!("wamid.LOCAL{}", uuid::Uuid::now_v7().simple());
    let phone_number_id = input
        .phone_number_id
        .unwrap_or_else(|| runner.settings.phone_number_id.clone());
    let mut body = wadesk_whatsapp::text_message_body(
        &phone_number_id,
        &runner.settings.display_phone_number,
        &input.from,
        input.name.as_deref().unwrap_or("Customer"),
        input.text.as_deref().unwrap_or_default(),
        &wamid,
        runner.app.clock.now().timestamp(),
    );
    match (&input.image, &input.text) {
        (Some(image), caption) => {
            let media_id = runner.graph_media.add(image.bytes()?, &image.mime_type);
            let message = body
                .pointer_mut("/entry/0/changes/0/value/messages/0")
                .and_then(serde_json::Value::as_object_mut)
                .ok_or(LocalError::Internal)?;
            message.remove("text");
            message.insert("type".into(), "image".into());
            message.insert(
                "image".into(),
                serde_json::json!({"id": media_id, "mime_type": image.mime_type, "caption": caption}),
            );
        }
        (None, Some(_)) => {}
        (None, None) => return Err(LocalError::BadRequest("give text or image".into())),
    }
    let body = body.to_string();
    let signature = wadesk_whatsapp::signature::sign(runner.webhook.app_secret(), body.as_bytes());
    let webhook_request = lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri("/webhook")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(Body::Text(body))
        .map_err(|_| LocalError::Internal)?;
    let answer = webhook::handle(
        &runner.app,
        &runner.poison,
        &runner.webhook,
        webhook_request,
    )
    .await;

    let (mut conversation_id, mut conversation_status) = (None, None);
    if let Ok(parsed) = Wamid::parse(wamid.clone()) {
        if let Ok(Some(record)) = runner.app.store.find_wamid(&parsed).await {
            conversation_id = Some(record.conversation_id);
            if let Ok(Some(conversation)) = runner
                .app
                .store
                .get_conversation(record.conversation_id)
                .await
            {
                conversation_status = Some(conversation.status.as_str());
            }
        }
    }
    let status = if answer.status().is_success() {
        StatusCode::OK
    } else {
        answer.status()
    };
    Ok(respond(
        status,
        &InboundResponse {
            wamid,
            webhook_status: answer.status().as_u16(),
            conversation_id,
            conversation_status,
        },
    ))
}

#[derive(Deserialize)]
struct TokenRequest {
    sub: String,
    #[serde(default = "agent_role")]
    role: String,
}

fn agent_role() -> String {
    "agent".to_owned()
}

/// Mints a local agent token (what the identity provider does in production).
fn token<S: wadesk_app::ConversationStore>(
    runner: &Runner<S>,
    request: &Request,
) -> Result<Response<Body>, LocalError> {
    let input: TokenRequest = parse_body(request)?;
    // Only the identity counts: role and queues come from the directory.
    wadesk_domain::AgentId::parse(input.sub.clone())
        .map_err(|e| LocalError::BadRequest(format!("sub: {e}")))?;
    if !["agent", "supervisor", "admin", "bot"].contains(&input.role.as_str()) {
        return Err(LocalError::BadRequest(
            "role must be agent, supervisor, admin or bot".into(),
        ));
    }
    let token = crate::auth::mint(
        runner.settings.jwt_secret.as_bytes(),
        &input.sub,
        &input.role,
        12 * 3600,
    )
    .map_err(|_| LocalError::Internal)?;
    Ok(json(&serde_json::json!({ "token": token })))
}

#[derive(Deserialize)]
struct AdvanceRequest {
    seconds: i64,
}

async fn advance<S: DeskStore>(
    runner: &Runner<S>,
    request: &Request,
) -> Result<Response<Body>, LocalError> {
    let input: AdvanceRequest = parse_body(request)?;
    if !(0..=366 * 86_400).contains(&input.seconds) {
        return Err(LocalError::BadRequest(
            "seconds must be between 0 and one year".into(),
        ));
    }
    let now = runner.app.clock.advance(Duration::seconds(input.seconds));
    let fired = runner.fire_due_timers().await;
    runner.deliver_events().await;
    let expired = (runner.purge)(now);
    if let Err(error) =
        wadesk_app::protection::delete_expired_files(&runner.media.store, &expired).await
    {
        tracing::error!(%error, "deleting the files of expired messages failed");
    }
    Ok(json(
        &serde_json::json!({"now": rfc3339(now), "timers_fired": fired}),
    ))
}

async fn conversation<S: DeskStore>(
    runner: &Runner<S>,
    path: &str,
) -> Result<Response<Body>, LocalError> {
    let id: ConversationId = path
        .trim_start_matches("/_local/conversations/")
        .parse()
        .map_err(|_| LocalError::NotFound)?;
    let conversation = runner
        .app
        .store
        .get_conversation(id)
        .await
        .map_err(|_| LocalError::Internal)?
        .ok_or(LocalError::NotFound)?;
    let messages = runner
        .app
        .store
        .list_messages(id)
        .await
        .map_err(|_| LocalError::Internal)?;
    Ok(json(
        &serde_json::json!({"conversation": conversation, "messages": messages}),
    ))
}

fn rfc3339(at: wadesk_domain::Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn json<B: Serialize>(body: &B) -> Response<Body> {
    respond(StatusCode::OK, body)
}

fn respond<B: Serialize>(status: StatusCode, body: &B) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}
