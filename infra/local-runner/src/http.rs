//! A plain HTTP/1 server on loopback that hands each request to the same
//! handlers API Gateway would invoke.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, RequestExt};
use tokio::net::TcpListener;
use wadesk_app::DeskStore;

use crate::settings::MAX_REQUEST_BODY_BYTES;
use crate::{local_routes, Runner};

type HyperResponse = hyper::Response<Full<Bytes>>;

/// Serves until the task is dropped; also fires due timers every second, as
/// Scheduler would.
pub async fn serve<S: DeskStore>(listener: TcpListener, runner: Arc<Runner<S>>) {
    // Upload targets point at this very server.
    if let Ok(address) = listener.local_addr() {
        runner
            .media
            .store
            .set_base_url(&format!("http://{address}"));
    }
    let ticker = runner.clone();
    let _timers = AbortOnDrop(tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            ticker.fire_due_timers().await;
            ticker.deliver_events().await;
        }
    }));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let runner = runner.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let runner = runner.clone();
                async move {
                    if crate::live::wanted(&request) && loopback_host(&request) {
                        return Ok::<_, Infallible>(crate::live::upgrade(runner, request).await);
                    }
                    Ok::<_, Infallible>(route(&runner, request).await)
                }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// Stops the timer task when the server future is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn route<S: DeskStore>(
    runner: &Runner<S>,
    request: hyper::Request<Incoming>,
) -> HyperResponse {
    if !loopback_host(&request) {
        // A page elsewhere could point a name it controls at 127.0.0.1 (DNS
        // rebinding) and drive the runner from the browser: refuse any Host
        // that is not a loopback name.
        return error(
            421,
            "misdirected_request",
            "only loopback host names are served",
        );
    }
    if let Some(response) = crate::console::serve(&runner.settings, &request) {
        return response;
    }
    if request.uri().path() == wadesk_app::embedded::LOCAL_UPLOAD_PATH {
        return upload(runner, request).await;
    }
    let request = match into_lambda_request(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let path = request.uri().path().to_owned();
    let response = if path == "/webhook" {
        webhook::handle(&runner.app, &runner.poison, &runner.webhook, request).await
    } else if reopen::serves(&path) {
        let request = crate::auth::authorize(request, runner.settings.jwt_secret.as_bytes());
        reopen::handle(&runner.app, request).await
    } else if agent_api::serves(&path) {
        let request = crate::auth::authorize(request, runner.settings.jwt_secret.as_bytes());
        agent_api::handle_with_media(&runner.app, &runner.media, request).await
    } else if analytics::serves(&path) {
        let request = crate::auth::authorize(request, runner.settings.jwt_secret.as_bytes());
        let reader = wadesk_app::analytics::AnalyticsReader {
            counters: &runner.analytics,
            conversations: &runner.app.store,
            clock: &runner.app.clock,
            bootstrap_admins: &runner.app.bootstrap_admins,
        };
        analytics::handle(reader, request).await
    } else {
        local_routes::handle(runner, request).await
    };
    // What the request published reaches its consumers before the answer,
    // so tools and tests see a settled stack.
    runner.deliver_events().await;
    from_lambda_response(response)
}

/// How much of a refused upload form is read before the connection is
/// dropped: enough for a file a little over the limit to be refused in words.
const REFUSED_FORM_READ_BYTES: usize = 64 * 1024 * 1024;

/// `POST /_local/uploads`: the stand-in of S3's presigned POST. A form
/// larger than the target allows is refused like S3 refuses it; the browser
/// page may post from another origin (the console on Vite's port), as to S3
/// with the bucket's CORS.
async fn upload<S: wadesk_app::ConversationStore>(
    runner: &Runner<S>,
    request: hyper::Request<Incoming>,
) -> HyperResponse {
    use crate::media::MAX_UPLOAD_FORM_BYTES;
    let cors = |mut response: HyperResponse| {
        response.headers_mut().insert(
            hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN,
            hyper::header::HeaderValue::from_static("*"),
        );
        response
    };
    if request.method() == hyper::Method::OPTIONS {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::NO_CONTENT;
        response.headers_mut().insert(
            hyper::header::ACCESS_CONTROL_ALLOW_METHODS,
            hyper::header::HeaderValue::from_static("POST"),
        );
        return cors(response);
    }
    if request.method() != hyper::Method::POST {
        return error(405, "method_not_allowed", "uploads are posted");
    }
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        cors(error(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        ))
    };
    // A refused form is still read to its end (up to a bound), as S3 lets a
    // client finish sending: a client cut off mid-body sees a reset
    // connection instead of the refusal.
    let mut oversized = declared.is_some_and(|length| length > MAX_UPLOAD_FORM_BYTES);
    let mut body = request.into_body();
    let mut form = Vec::new();
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return cors(plain(400, "could not read the request body"));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read += data.len();
        if read > MAX_UPLOAD_FORM_BYTES {
            oversized = true;
            form = Vec::new();
        }
        if read > REFUSED_FORM_READ_BYTES {
            break;
        }
        if !oversized {
            form.extend_from_slice(&data);
        }
    }
    if oversized {
        return too_large();
    }
    let body = Bytes::from(form);
    match crate::media::accept(&runner.media.store, &content_type, &body) {
        Ok(()) => {
            let mut response = hyper::Response::new(Full::new(Bytes::new()));
            *response.status_mut() = hyper::StatusCode::NO_CONTENT;
            cors(response)
        }
        Err((status, message)) => cors(error(status, "upload_refused", &message)),
    }
}

/// Builds the request API Gateway would hand the Lambda: the raw body, and the
/// query string as `queryStringParameters`.
async fn into_lambda_request(
    request: hyper::Request<Incoming>,
) -> Result<lambda_http::Request, HyperResponse> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY_BYTES) {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(too_large()),
        Err(_) => return Err(plain(400, "could not read the request body")),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(error) => Body::Binary(error.into_bytes()),
        }
    };
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(raw) = parts.uri.query() {
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            query
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    Ok(lambda_http::Request::from_parts(parts, body).with_query_string_parameters(query))
}

fn from_lambda_response(response: lambda_http::Response<Body>) -> HyperResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Whether the request's `Host` is a loopback name (`localhost`, `*.localhost`,
/// `127.x.x.x`, `[::1]`), with or without a port. HTTP/1.1 requires a Host.
fn loopback_host(request: &hyper::Request<Incoming>) -> bool {
    let Some(host) = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn too_large() -> HyperResponse {
    error(
        413,
        "too_large",
        &format!("the request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
    )
}

fn plain(status: u16, message: &str) -> HyperResponse {
    error(status, "invalid_request", message)
}

fn error(status: u16, code: &str, message: &str) -> HyperResponse {
    let body = wadesk_app::error::ErrorEnvelope::new(code, message).to_json();
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
