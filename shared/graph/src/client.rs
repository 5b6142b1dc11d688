//! [`GraphApiClient`]: one HTTPS connection pool to the Graph API, shared by
//! every send and built on the first one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wadesk_app::ports::{OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::{PhoneNumberId, WaId, Wamid};

use crate::error::{BuildError, GraphApiError};
use crate::wire::{ErrorResponse, SendRequest, SendResponse};

/// How long to wait for a TCP connection: Meta's edge answers in milliseconds, so
/// a slow connect means a network problem better surfaced early.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a whole send may take (connect, TLS, request, answer): well under the
/// API Gateway and Lambda limits of the handler that waits for it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle pooled connections are dropped after this: a Lambda sandbox can be frozen
/// for minutes, and a connection Meta has closed meanwhile would fail the next send.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The send answer is a few hundred bytes; anything far larger is not the Graph API.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Error 131047: the customer-service window is closed.
const REENGAGEMENT_REQUIRED: i64 = 131_047;

/// Codes Meta documents as temporary (throttling, "try again later"), which come
/// with HTTP 400 yet are worth retrying: API unknown/service (1, 2), too many
/// calls (4), WABA rate limit (80007), throughput (130429), something went wrong
/// (131000), service unavailable (131016), pair rate limit (131056), server
/// temporarily unavailable (133004).
const TRANSIENT_CODES: [i64; 9] = [1, 2, 4, 80_007, 130_429, 131_000, 131_016, 131_056, 133_004];

/// The HTTP(S) client the Graph API client uses (hyper, rustls with aws-lc-rs,
/// the system's roots); other adapters reuse it so a function links one stack.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An error of a [`TokenSource`], for logs.
pub type TokenError = Box<dyn std::error::Error + Send + Sync>;

/// Where the access token comes from when it is kept outside the function
/// (SSM Parameter Store, Secrets Manager): read again after [`TOKEN_TTL`], and
/// after the Graph API answers 401 (the token was rotated or revoked).
pub trait TokenSource: Send + Sync + 'static {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>>;
}

/// How long a token read from a [`TokenSource`] is used before it is read
/// again: a rotation reaches every warm sandbox within this time.
pub const TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// The `Authorization` header in use, and whether it must be read again.
struct Authorization {
    header: HeaderValue,
    read_at: Instant,
    stale: bool,
}

/// Sends WhatsApp messages through the Cloud API.
///
/// Cheap to clone (the pool is shared). Its `Debug` never shows the token.
#[derive(Clone)]
pub struct GraphApiClient {
    /// Built on the first send, not at cold start: loading the system's root
    /// certificates takes a few milliseconds (the AWS SDK loads its own copy
    /// too), and most invocations of most functions never send.
    http: Arc<OnceLock<HttpClient>>,
    connect_timeout: Duration,
    /// Without a trailing slash, e.g. `https://graph.facebook.com/v21.0`.
    base_url: String,
    /// `Bearer <token>`, marked sensitive so hyper never logs it either.
    authorization: Arc<RwLock<Authorization>>,
    /// Where a fresh token is read from, if anywhere.
    source: Option<Arc<dyn TokenSource>>,
    timeout: Duration,
}

impl GraphApiClient {
    /// A client for `base_url` (e.g. `https://graph.facebook.com/v21.0`, with or
    /// without a trailing slash) with the default timeouts.
    pub fn new(
        base_url: impl Into<String>,
        access_token: impl Into<String>,
    ) -> Result<Self, BuildError> {
        Self::with_timeouts(
            base_url,
            access_token,
            DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_TIMEOUT,
        )
    }

    /// Like [`GraphApiClient::new`] with explicit timeouts: `connect_timeout` for
    /// the TCP connection, `timeout` for the whole send.
    pub fn with_timeouts(
        base_url: impl Into<String>,
        access_token: impl Into<String>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        let base_url = normalize_base_url(base_url.into())?;
        let authorization = bearer(access_token.into())?;

        Ok(Self {
            http: Arc::new(OnceLock::new()),
            connect_timeout,
            base_url,
            authorization: Arc::new(RwLock::new(Authorization {
                header: authorization,
                read_at: Instant::now(),
                stale: false,
            })),
            source: None,
            timeout,
        })
    }

    /// A client whose token is read from `source` now, again after
    /// [`TOKEN_TTL`], and again after the Graph API answers 401.
    pub async fn from_source(
        base_url: impl Into<String>,
        source: Arc<dyn TokenSource>,
    ) -> Result<Self, BuildError> {
        let token = source.token().await.map_err(BuildError::Token)?;
        let mut client = Self::new(base_url, token)?;
        client.source = Some(source);
        Ok(client)
    }

    /// The header to send: read again from the source when it is stale or
    /// old. A failed read keeps the old token unless the Graph API refused it.
    async fn current_authorization(&self) -> Result<HeaderValue, SendError> {
        let (header, due) = {
            let current = self
                .authorization
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let due = current.stale || current.read_at.elapsed() >= TOKEN_TTL;
            (current.header.clone(), due)
        };
        let Some(source) = self.source.as_ref().filter(|_| due) else {
            return Ok(header);
        };
        match source
            .token()
            .await
            .map_err(BuildError::Token)
            .and_then(bearer)
        {
            Ok(fresh) => {
                *self
                    .authorization
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Authorization {
                    header: fresh.clone(),
                    read_at: Instant::now(),
                    stale: false,
                };
                Ok(fresh)
            }
            Err(error) => {
                tracing::warn!(%error, "the Graph API token could not be read again");
                let stale = self
                    .authorization
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .stale;
                if stale {
                    Err(unavailable(GraphApiError::Token(error.to_string())))
                } else {
                    Ok(header)
                }
            }
        }
    }

    /// The Graph API refused the token: the next send reads it again.
    fn token_refused(&self) {
        if self.source.is_some() {
            self.authorization
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .stale = true;
        }
    }

    /// The connection pool, built by the first caller (a racing second build is
    /// harmless: one of the two is kept).
    fn http(&self) -> Result<&HttpClient, GraphApiError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let built = build_http(self.connect_timeout)?;
        Ok(self.http.get_or_init(|| built))
    }

    /// The base URL in use, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn post_message(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        let body = serde_json::to_vec(&SendRequest::new(to.as_str(), content))
            .map_err(|e| unavailable(GraphApiError::Serialize(e)))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/{}/messages", self.base_url, from.as_str()))
            .header(AUTHORIZATION, self.current_authorization().await?)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unavailable(GraphApiError::Request(e)))?;

        let http = self.http().map_err(|error| {
            tracing::error!(%error, "Graph API client could not be set up");
            unavailable(error)
        })?;
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(GraphApiError::Transport)?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|source| GraphApiError::ReadBody { status, source })?
                .to_bytes();
            Ok::<_, GraphApiError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| GraphApiError::Timeout(self.timeout))
            .and_then(|answer| answer)
            .map_err(|error| {
                tracing::warn!(%error, "Graph API send failed");
                send_failure(error)
            })?;
        if status == StatusCode::UNAUTHORIZED {
            tracing::warn!("the Graph API refused the token; it is read again for the next send");
            self.token_refused();
        }
        interpret(status, &body)
    }
}

/// The answer of one media exchange: the status and the body read, or why not.
pub(crate) enum Exchanged {
    Answer(StatusCode, Bytes),
    /// The body was longer than the caller reads.
    TooLong,
}

impl GraphApiClient {
    /// One request with the bearer token (to the Graph API, or to the media
    /// URL it handed out): the answer's body read up to `limit` bytes, all
    /// within `timeout`. A 401 marks the token stale, as for sends.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Bytes,
        limit: usize,
        timeout: Duration,
    ) -> Result<Exchanged, SendError> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, self.current_authorization().await?);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| unavailable(GraphApiError::Request(e)))?;
        let http = self.http().map_err(unavailable)?;
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(GraphApiError::Transport)?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                self.token_refused();
            }
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|length| length > limit) {
                return Ok(Exchanged::TooLong);
            }
            match Limited::new(response.into_body(), limit).collect().await {
                Ok(collected) => Ok(Exchanged::Answer(status, collected.to_bytes())),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    Ok(Exchanged::TooLong)
                }
                Err(source) => Err(GraphApiError::ReadBody { status, source }),
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| GraphApiError::Timeout(timeout))
            .and_then(|answer| answer)
            .map_err(unavailable)
    }

    /// Whether a media URL the Graph API handed out may receive the token:
    /// HTTPS, or plain HTTP only when the Graph API itself is (a local stub).
    pub(crate) fn may_follow(&self, url: &str) -> bool {
        url.parse::<Uri>().is_ok_and(|uri| {
            uri.authority().is_some()
                && match uri.scheme_str() {
                    Some("https") => true,
                    Some("http") => self.base_url.starts_with("http://"),
                    _ => false,
                }
        })
    }
}

impl fmt::Debug for GraphApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphApiClient")
            .field("base_url", &self.base_url)
            .field("access_token", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WhatsAppClient for GraphApiClient {
    /// The span names the business number and the message type only: never the
    /// recipient, the content or the token.
    #[tracing::instrument(
        name = "graph_api.send",
        skip_all,
        fields(phone_number_id = %from, message_type = message_type(content))
    )]
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        self.post_message(from, to, content).await
    }

    #[tracing::instrument(name = "graph_api.upload_media", skip_all, fields(phone_number_id = %from, content_type))]
    async fn upload_media(
        &self,
        from: &PhoneNumberId,
        file: &[u8],
        content_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        crate::media::upload(self, from, file, content_type, filename).await
    }
}

/// A pooled HTTP(S) client (`http://` allowed for local stand-ins).
pub fn build_http(connect_timeout: Duration) -> Result<HttpClient, GraphApiError> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    // Let the TLS layer see https URLs; plain http stays allowed for local stubs.
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        // Explicit provider: no panic if another crate ever enables rustls' ring too.
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(GraphApiError::Tls)?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(https))
}

fn message_type(content: &OutboundContent) -> &'static str {
    match content {
        OutboundContent::Text { .. } => "text",
        OutboundContent::Media { kind, .. } => kind.as_str(),
        OutboundContent::Template { .. } => "template",
    }
}

/// What a failed message send means for the message: not sent (no
/// connection was made, so a retry is safe), or unknown (the request went out
/// and its answer was lost: the whole-send time-out, a connection that broke
/// after it was made, an answer cut off). An unknown send is never retried
/// automatically; WhatsApp would have no way to tell the copies apart.
pub(crate) fn send_failure(error: GraphApiError) -> SendError {
    let unknown = match &error {
        GraphApiError::Timeout(_) | GraphApiError::ReadBody { .. } => true,
        GraphApiError::Transport(transport) => !transport.is_connect(),
        _ => false,
    };
    if unknown {
        SendError::OutcomeUnknown {
            source: Box::new(error),
        }
    } else {
        unavailable(error)
    }
}

pub(crate) fn unavailable(error: GraphApiError) -> SendError {
    SendError::Unavailable {
        source: Box::new(error),
    }
}

/// Turns the Graph API's answer into the port's outcome.
pub(crate) fn interpret(status: StatusCode, body: &[u8]) -> Result<Wamid, SendError> {
    if status.is_success() {
        let answer: SendResponse = serde_json::from_slice(body)
            .map_err(|source| unavailable(GraphApiError::UnexpectedBody { status, source }))?;
        let id = answer
            .messages
            .into_iter()
            .next()
            .ok_or_else(|| unavailable(GraphApiError::MissingWamid { status }))?
            .id;
        let wamid = Wamid::parse(id)
            .map_err(|source| unavailable(GraphApiError::InvalidWamid { status, source }))?;
        tracing::debug!(%wamid, "Graph API accepted the message");
        return Ok(wamid);
    }
    Err(refusal(status, body))
}

/// What a Graph API answer other than a success means for the caller.
pub(crate) fn refusal(status: StatusCode, body: &[u8]) -> SendError {
    let error = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(answer) => answer.error,
        Err(source) => {
            tracing::warn!(
                status = status.as_u16(),
                "Graph API failed without its error JSON"
            );
            return unavailable(GraphApiError::UnexpectedBody { status, source });
        }
    };
    tracing::warn!(
        status = status.as_u16(),
        code = error.code,
        subcode = error.error_subcode,
        fbtrace_id = error.fbtrace_id.as_deref(),
        "Graph API did not accept the message"
    );
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || TRANSIENT_CODES.contains(&error.code);
    if error.code == REENGAGEMENT_REQUIRED {
        SendError::ReengagementRequired
    } else if status.is_client_error() && !retryable {
        SendError::Rejected {
            code: error.code,
            title: error.message,
        }
    } else {
        unavailable(GraphApiError::Failed {
            status,
            code: error.code,
            message: error.message,
        })
    }
}

/// Checks the base URL once, so a send can only fail for reasons worth retrying.
fn normalize_base_url(url: String) -> Result<String, BuildError> {
    let trimmed = url.trim().trim_end_matches('/');
    let valid = trimmed.parse::<Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some()
            && uri.query().is_none()
    });
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(BuildError::InvalidBaseUrl { url })
    }
}

fn bearer(token: String) -> Result<HeaderValue, BuildError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(BuildError::EmptyToken);
    }
    let mut value =
        HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| BuildError::InvalidToken)?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_checked_and_trimmed() {
        let ok = |url: &str| normalize_base_url(url.to_owned()).unwrap();
        assert_eq!(
            ok("https://graph.facebook.com/v21.0"),
            "https://graph.facebook.com/v21.0"
        );
        assert_eq!(
            ok("https://graph.facebook.com/v21.0/"),
            "https://graph.facebook.com/v21.0"
        );
        assert_eq!(ok("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        for bad in [
            "",
            "graph.facebook.com/v21.0",
            "ftp://graph.facebook.com",
            "https://graph.facebook.com/v21.0?x=1",
        ] {
            assert!(
                matches!(
                    normalize_base_url(bad.to_owned()),
                    Err(BuildError::InvalidBaseUrl { .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn token_must_be_a_header_value() {
        assert!(matches!(bearer("  ".into()), Err(BuildError::EmptyToken)));
        assert!(matches!(
            bearer("a\nb".into()),
            Err(BuildError::InvalidToken)
        ));
        let value = bearer("EAAG".into()).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value, "Bearer EAAG");
    }

    #[test]
    fn transient_codes_are_unavailable_even_with_http_400() {
        let body = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}"#;
        assert!(matches!(
            interpret(StatusCode::BAD_REQUEST, body),
            Err(SendError::Unavailable { .. })
        ));
    }

    #[test]
    fn a_429_is_unavailable() {
        let body = br#"{"error":{"message":"slow down","type":"OAuthException","code":100}}"#;
        assert!(matches!(
            interpret(StatusCode::TOO_MANY_REQUESTS, body),
            Err(SendError::Unavailable { .. })
        ));
    }

    #[test]
    fn a_success_without_messages_is_unavailable() {
        let err = interpret(StatusCode::OK, br#"{"messaging_product":"whatsapp"}"#).unwrap_err();
        let SendError::Unavailable { source } = err else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(
            source.to_string().contains("without a message id"),
            "{source}"
        );
    }
}
