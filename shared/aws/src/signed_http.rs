//! AWS requests without an SDK client: signed with SigV4 by `aws-sigv4` (the
//! SDK's own signer) and sent on the hyper client the Graph API client builds,
//! so a function links no second HTTP stack and none of a service client's
//! code. The media store (`s3_signed`) and the live push (`live_push`) use it.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use wadesk_graph::HttpClient;

#[derive(Debug, thiserror::Error)]
pub enum SigningConfigError {
    #[error("the SDK configuration has no region")]
    NoRegion,
    #[error("the SDK configuration has no credentials provider")]
    NoCredentials,
}

/// Why a signed request got no answer to read.
#[derive(Debug, thiserror::Error)]
pub enum SignedHttpError {
    #[error("reading the function's credentials failed")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("signing the request failed")]
    Signing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("building the HTTP client failed")]
    Client(#[source] wadesk_graph::GraphApiError),
    #[error("the request failed")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// What is signed of the body.
pub enum Payload<'b> {
    /// Its SHA-256 (the body as sent).
    Signed(&'b Bytes),
    /// `UNSIGNED-PAYLOAD` (presigned links).
    Unsigned,
}

/// Signs requests for one service in the SDK configuration's region, with its
/// credentials, and sends them.
#[derive(Clone)]
pub struct SignedHttp {
    service: &'static str,
    region: String,
    credentials: SharedCredentialsProvider,
    /// Built on the first request, not at cold start: loading the system's
    /// root certificates takes milliseconds some invocations never need.
    http: Arc<OnceLock<HttpClient>>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for SignedHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedHttp")
            .field("service", &self.service)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// One answer: status, headers and up to the asked number of body bytes
/// (`None`: the body was longer).
pub type Answer = (StatusCode, http::HeaderMap, Option<Bytes>);

impl SignedHttp {
    /// Requests to `service` (its SigV4 name: `s3`, `execute-api`), each
    /// answered within `request_timeout`.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        service: &'static str,
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<Self, SigningConfigError> {
        Ok(Self {
            service,
            region: sdk
                .region()
                .ok_or(SigningConfigError::NoRegion)?
                .to_string(),
            credentials: sdk
                .credentials_provider()
                .ok_or(SigningConfigError::NoCredentials)?,
            http: Arc::new(OnceLock::new()),
            connect_timeout,
            request_timeout,
        })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The current credentials (refreshed by the provider as they expire).
    pub async fn credentials(&self) -> Result<Credentials, SignedHttpError> {
        self.credentials
            .provide_credentials()
            .await
            .map_err(SignedHttpError::Credentials)
    }

    /// `method` on `url` with `headers` and `body`, signed with `settings`.
    pub async fn signed(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        payload: Payload<'_>,
        settings: SigningSettings,
    ) -> Result<Request<Full<Bytes>>, SignedHttpError> {
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| SignedHttpError::Signing(e.into()))?
            .into();
        let signable_body = match payload {
            Payload::Signed(bytes) => SignableBody::Bytes(bytes),
            Payload::Unsigned => SignableBody::UnsignedPayload,
        };
        let signable =
            SignableRequest::new(method.as_str(), url, headers.iter().copied(), signable_body)
                .map_err(|e| SignedHttpError::Signing(e.into()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SignedHttpError::Signing(e.into()))?
            .into_parts();
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(Full::new(body))
            .map_err(|e| SignedHttpError::Signing(e.into()))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }

    /// Sends `request`; the answer with up to `max_body` bytes of its body.
    pub async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<Answer, SignedHttpError> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built = wadesk_graph::build_http(self.connect_timeout)
                    .map_err(SignedHttpError::Client)?;
                self.http.get_or_init(|| built)
            }
        };
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| SignedHttpError::Transport(e.into()))?;
            let (parts, body) = response.into_parts();
            let body = match Limited::new(body, max_body).collect().await {
                Ok(collected) => Some(collected.to_bytes()),
                Err(error) if error.is::<http_body_util::LengthLimitError>() => None,
                Err(error) => return Err(SignedHttpError::Transport(error)),
            };
            Ok((parts.status, parts.headers, body))
        };
        tokio::time::timeout(self.request_timeout, exchange)
            .await
            .map_err(|_| SignedHttpError::Timeout(self.request_timeout))?
    }
}
