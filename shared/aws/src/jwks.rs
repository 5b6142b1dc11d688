//! The identity of a console socket on AWS. A WebSocket API has no JWT
//! authorizer, so `$connect` verifies the token itself, as the HTTP API's
//! authorizer does: signed by a key of the issuer's JWKS (found through its
//! OpenID Connect discovery document), this issuer, not expired, and the
//! configured audience in `aud` or, in a Cognito access token, `client_id`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use wadesk_app::ports::{TokenError, TokenVerifier};
use wadesk_domain::AgentId;
use wadesk_graph::HttpClient;

use crate::config::{required, MissingSetting};

/// Public-key algorithms only: a JWKS never holds a shared secret to accept.
const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// An unknown key id refetches the set (the issuer rotated its keys), but
/// not more often than this: a forged `kid` must not make us hammer it.
const REFETCH_AFTER: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_DOCUMENT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("building the HTTP client failed")]
    Client(#[source] wadesk_graph::GraphApiError),
    #[error("GET {url} failed")]
    Transport {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("GET {url} answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("GET {url}: no answer within {FETCH_TIMEOUT:?}")]
    Timeout { url: String },
    #[error("GET {url}: unreadable document")]
    Document {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

/// The claims read besides what `jsonwebtoken` validates.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

struct Keys {
    set: JwkSet,
    fetched: Instant,
}

/// Tokens of one issuer for one audience.
pub struct JwksVerifier {
    issuer: String,
    audience: String,
    http: OnceLock<HttpClient>,
    keys: tokio::sync::Mutex<Option<Keys>>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwksVerifier {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            http: OnceLock::new(),
            keys: tokio::sync::Mutex::new(None),
        }
    }

    /// `WADESK_JWT_ISSUER` and `WADESK_JWT_AUDIENCE`: what the HTTP API's
    /// authorizer trusts.
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self::new(
            required("WADESK_JWT_ISSUER")?,
            required("WADESK_JWT_AUDIENCE")?,
        ))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built =
                    wadesk_graph::build_http(CONNECT_TIMEOUT).map_err(FetchError::Client)?;
                self.http.get_or_init(|| built)
            }
        };
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| FetchError::Transport {
            url: url.to_owned(),
            source,
        };
        let request = Request::get(url)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| transport(e.into()))?;
        let fetch = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| transport(e.into()))?;
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status,
                });
            }
            Limited::new(response.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(transport)
        };
        let body = tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| FetchError::Timeout {
                url: url.to_owned(),
            })??;
        serde_json::from_slice(&body).map_err(|source| FetchError::Document {
            url: url.to_owned(),
            source,
        })
    }

    async fn fetch_keys(&self) -> Result<JwkSet, FetchError> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let Discovery { jwks_uri } = self.get_json(&discovery).await?;
        self.get_json(&jwks_uri).await
    }

    /// The decoding key for `kid`, fetching the set when it is not known yet.
    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, TokenError> {
        let mut keys = self.keys.lock().await;
        let known = keys.as_ref().and_then(|k| k.set.find(kid).cloned());
        let stale = keys
            .as_ref()
            .is_none_or(|k| k.fetched.elapsed() >= REFETCH_AFTER);
        let jwk = match known {
            Some(jwk) => Some(jwk),
            None if stale => {
                let set = self
                    .fetch_keys()
                    .await
                    .map_err(|e| TokenError::KeysUnavailable(e.into()))?;
                let found = set.find(kid).cloned();
                *keys = Some(Keys {
                    set,
                    fetched: Instant::now(),
                });
                found
            }
            None => None,
        };
        jwk.map(|jwk| {
            DecodingKey::from_jwk(&jwk)
                .map_err(|e| TokenError::Invalid(format!("unusable key {kid}: {e}")))
        })
        .transpose()
    }
}

impl TokenVerifier for JwksVerifier {
    async fn subject(&self, token: &str) -> Result<AgentId, TokenError> {
        let invalid = |e: &dyn std::fmt::Display| TokenError::Invalid(e.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(&e))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenError::Invalid(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("no key id".into()))?;
        let key = self
            .key(&kid)
            .await?
            .ok_or_else(|| TokenError::Invalid(format!("unknown key id {kid}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // `aud` or `client_id`, checked below as the HTTP API's authorizer does.
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| invalid(&e))?
            .claims;
        let audience_ok = match &claims.aud {
            Some(Audience::One(aud)) => *aud == self.audience,
            Some(Audience::Many(auds)) => auds.contains(&self.audience),
            None => false,
        } || claims.client_id.as_deref() == Some(self.audience.as_str());
        if !audience_ok {
            return Err(TokenError::Invalid("another audience".into()));
        }
        AgentId::parse(claims.sub).map_err(|e| invalid(&e))
    }
}
