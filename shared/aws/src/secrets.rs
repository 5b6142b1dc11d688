//! Secrets read at run time, never from the template into an environment
//! variable: on AWS each function is given the *name* of an SSM Parameter Store
//! SecureString (`…_PARAM`) and may read only that parameter; locally (and in
//! tests) the plain variable holds the value itself.
//!
//! On Lambda the parameter is read through the AWS Parameters and Secrets
//! Lambda Extension (a layer the template adds to the functions that read
//! secrets): one plain-HTTP request to `localhost`, which the extension answers
//! from SSM with the function's own credentials. That keeps the SSM SDK client
//! (about half a megabyte of code) out of every binary; the extension's own
//! cache is switched off in the template, because the Graph API client already
//! keeps the token for [`wadesk_graph::TOKEN_TTL`] and must see a rotated one
//! as soon as it asks again after a 401.

use std::env;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use wadesk_graph::{TokenError, TokenSource};

use crate::config::MissingSetting;

/// The extension's port unless `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` says otherwise.
const DEFAULT_EXTENSION_PORT: u16 = 2773;

/// The header the extension requires, holding the function's session token.
const EXTENSION_TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";

/// One read, the extension's own call to SSM included.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The extension starts beside the runtime and may not listen yet when a
/// function reads its secrets during init: connection refusals are retried
/// this many times, [`STARTUP_RETRY_DELAY`] apart.
const STARTUP_RETRIES: u32 = 20;
const STARTUP_RETRY_DELAY: Duration = Duration::from_millis(50);

/// A GetParameter answer is a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why a secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error("reading the SSM parameter named by {setting} failed")]
    Read {
        setting: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where one secret is: the SSM parameter named by `{name}_PARAM`, or the
/// value of `{name}` itself.
#[derive(Debug, Clone)]
pub enum Secret {
    Parameter { setting: String, name: String },
    Value(String),
}

impl Secret {
    /// `None` when neither variable is set.
    pub fn from_env(name: &'static str) -> Option<Self> {
        let setting = format!("{name}_PARAM");
        let set = |key: &str| env::var(key).ok().filter(|v| !v.trim().is_empty());
        match (set(&setting), set(name)) {
            (Some(parameter), _) => Some(Self::Parameter {
                setting,
                name: parameter,
            }),
            (None, Some(value)) => Some(Self::Value(value)),
            (None, None) => None,
        }
    }

    pub fn required(name: &'static str) -> Result<Self, SecretError> {
        Self::from_env(name).ok_or(SecretError::Missing(MissingSetting { name }))
    }

    /// The secret's value, read now.
    pub async fn read(&self, parameters: &ParameterReader) -> Result<String, SecretError> {
        match self {
            Self::Value(value) => Ok(value.clone()),
            Self::Parameter { setting, name } => {
                parameters
                    .get_decrypted(name)
                    .await
                    .map_err(|source| SecretError::Read {
                        setting: setting.clone(),
                        source: Box::new(source),
                    })
            }
        }
    }
}

/// What went wrong asking the extension for a parameter.
#[derive(Debug, thiserror::Error)]
pub enum ParameterError {
    #[error("the parameter request could not be built")]
    Request(#[source] http::Error),
    #[error("the Parameters and Secrets extension could not be reached at {endpoint}")]
    Transport {
        endpoint: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("the Parameters and Secrets extension did not answer within {0:?}")]
    Timeout(Duration),
    #[error("reading the extension's answer failed")]
    ReadBody(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 400 (not a SecureString we may decrypt), 403 (no permission), 404 (no
    /// such parameter): the extension passes SSM's refusal on.
    #[error("the extension answered {status}: {message}")]
    Refused { status: StatusCode, message: String },
    #[error("the extension's answer is not a GetParameter answer with a value")]
    Answer(#[source] Option<serde_json::Error>),
}

/// Reads SSM parameters through the Parameters and Secrets Lambda Extension.
#[derive(Clone)]
pub struct ParameterReader {
    http: Client<HttpConnector, Empty<Bytes>>,
    /// `http://localhost:2773`, or a stand-in's address in tests.
    endpoint: String,
    /// The function's `AWS_SESSION_TOKEN`, which the extension checks.
    session_token: String,
}

impl ParameterReader {
    /// The reader Lambda sets up: the extension's port from
    /// `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, the token from `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Self {
        let port = env::var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(DEFAULT_EXTENSION_PORT);
        Self::new(
            format!("http://localhost:{port}"),
            env::var("AWS_SESSION_TOKEN").unwrap_or_default(),
        )
    }

    pub fn new(endpoint: impl Into<String>, session_token: impl Into<String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(READ_TIMEOUT));
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            session_token: session_token.into(),
        }
    }

    /// The value of the parameter `name`, decrypted.
    pub async fn get_decrypted(&self, name: &str) -> Result<String, ParameterError> {
        let uri = url::Url::parse_with_params(
            &format!("{}/systemsmanager/parameters/get", self.endpoint),
            [("name", name), ("withDecryption", "true")],
        )
        .map(String::from)
        .unwrap_or_default();
        let mut attempt = 0;
        loop {
            let request = Request::get(&uri)
                .header(EXTENSION_TOKEN_HEADER, &self.session_token)
                .body(Empty::new())
                .map_err(ParameterError::Request)?;
            match tokio::time::timeout(READ_TIMEOUT, self.exchange(request)).await {
                Err(_) => return Err(ParameterError::Timeout(READ_TIMEOUT)),
                Ok(Err(ParameterError::Transport { source, .. }))
                    if source.is_connect() && attempt < STARTUP_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(STARTUP_RETRY_DELAY).await;
                }
                Ok(answer) => return answer,
            }
        }
    }

    async fn exchange(&self, request: Request<Empty<Bytes>>) -> Result<String, ParameterError> {
        let response =
            self.http
                .request(request)
                .await
                .map_err(|source| ParameterError::Transport {
                    endpoint: self.endpoint.clone(),
                    source,
                })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(ParameterError::ReadBody)?
            .to_bytes();
        if !status.is_success() {
            return Err(ParameterError::Refused {
                status,
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        let answer: GetParameterAnswer =
            serde_json::from_slice(&body).map_err(|e| ParameterError::Answer(Some(e)))?;
        answer
            .parameter
            .value
            .filter(|v| !v.is_empty())
            .ok_or(ParameterError::Answer(None))
    }
}

/// The part of SSM's GetParameter answer the extension passes through.
#[derive(Deserialize)]
struct GetParameterAnswer {
    #[serde(rename = "Parameter")]
    parameter: ParameterValue,
}

#[derive(Deserialize)]
struct ParameterValue {
    #[serde(rename = "Value")]
    value: Option<String>,
}

/// The Graph API token as a [`TokenSource`]: read again when the client asks
/// (after its TTL, or after a 401).
pub struct SecretTokenSource {
    pub secret: Secret,
    pub parameters: ParameterReader,
}

impl TokenSource for SecretTokenSource {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        Box::pin(async move {
            self.secret
                .read(&self.parameters)
                .await
                .map_err(|e| Box::new(e) as TokenError)
        })
    }
}

/// A required secret's value, read once at start-up (`{name}_PARAM` through
/// the extension, else `{name}`).
pub async fn required_secret(name: &'static str) -> Result<String, SecretError> {
    Secret::required(name)?
        .read(&ParameterReader::from_env())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const PARAMETER: &str = "/wadesk/whatsapp/graph-api-token";

    async fn extension_stand_in(value: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/systemsmanager/parameters/get"))
            .and(query_param("name", PARAMETER))
            .and(query_param("withDecryption", "true"))
            .and(header(EXTENSION_TOKEN_HEADER, "session-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "Parameter": {"Name": PARAMETER, "Type": "SecureString", "Value": value, "Version": 3}
            })))
            .mount(&server)
            .await;
        server
    }

    fn parameter_secret() -> Secret {
        Secret::Parameter {
            setting: "WHATSAPP_GRAPH_API_TOKEN_PARAM".into(),
            name: PARAMETER.into(),
        }
    }

    #[tokio::test]
    async fn reads_the_decrypted_value_with_the_session_token() {
        let server = extension_stand_in("EAAG-token").await;
        let reader = ParameterReader::new(server.uri(), "session-token");
        let value = parameter_secret().read(&reader).await.unwrap();
        assert_eq!(value, "EAAG-token");
    }

    #[tokio::test]
    async fn a_refusal_names_the_setting_and_never_the_value() {
        let server = extension_stand_in("EAAG-token").await;
        // Wrong session token: the stand-in has no match and answers 404.
        let reader = ParameterReader::new(server.uri(), "another-token");
        let error = parameter_secret().read(&reader).await.unwrap_err();
        assert!(
            error.to_string().contains("WHATSAPP_GRAPH_API_TOKEN_PARAM"),
            "{error}"
        );
        let SecretError::Read { source, .. } = error else {
            panic!("not a read error");
        };
        let refused = source.downcast_ref::<ParameterError>().unwrap();
        assert!(
            matches!(refused, ParameterError::Refused { status, .. } if *status == StatusCode::NOT_FOUND),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_without_a_value_is_an_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"Parameter": {"Name": PARAMETER}})),
            )
            .mount(&server)
            .await;
        let reader = ParameterReader::new(server.uri(), "session-token");
        let error = reader.get_decrypted(PARAMETER).await.unwrap_err();
        assert!(matches!(error, ParameterError::Answer(None)), "{error:?}");
    }

    #[tokio::test]
    async fn waits_for_an_extension_that_is_still_starting() {
        // A port nobody listens on yet; the stand-in starts there a little later.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let reader = ParameterReader::new(format!("http://{address}"), "session-token");
        let late_start = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let listener = std::net::TcpListener::bind(address).unwrap();
            let server = MockServer::builder().listener(listener).start().await;
            Mock::given(method("GET"))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"Parameter": {"Name": PARAMETER, "Value": "late"}}),
                ))
                .mount(&server)
                .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            server
        };
        let (value, _server) = tokio::join!(reader.get_decrypted(PARAMETER), late_start);
        assert_eq!(value.unwrap(), "late");
    }

    #[tokio::test]
    async fn a_plain_value_needs_no_extension() {
        let reader = ParameterReader::new("http://127.0.0.1:9", "");
        let value = Secret::Value("local".into()).read(&reader).await.unwrap();
        assert_eq!(value, "local");
    }
}
