//! Errors of building the client and, behind `SendError::Unavailable`, of a send.
//!
//! None of these carries the token, the recipient or the message.

use std::time::Duration;

use http::StatusCode;
use wadesk_domain::IdError;

/// Why a [`GraphApiClient`](crate::GraphApiClient) could not be built: all of
/// them are configuration mistakes, worth failing the cold start for.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the Graph API base URL {url:?} is not an absolute http(s) URL")]
    InvalidBaseUrl { url: String },
    #[error("the Graph API access token is empty")]
    EmptyToken,
    #[error("the Graph API access token has characters not allowed in an HTTP header")]
    InvalidToken,
    #[error("the Graph API access token could not be read")]
    Token(#[source] crate::client::TokenError),
}

/// Why a send is worth retrying: the source of
/// [`SendError::Unavailable`](wadesk_app::ports::SendError::Unavailable).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphApiError {
    #[error("could not set up TLS for the Graph API (no usable root certificates?)")]
    Tls(#[source] std::io::Error),
    #[error("no answer from the Graph API within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the Graph API")]
    Transport(#[source] hyper_util::client::legacy::Error),
    #[error("could not read the Graph API answer (HTTP {status})")]
    ReadBody {
        status: StatusCode,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the Graph API answered HTTP {status} with a body that is not its JSON")]
    UnexpectedBody {
        status: StatusCode,
        #[source]
        source: serde_json::Error,
    },
    /// Throttling, 5xx, or a code Meta documents as temporary.
    #[error("the Graph API answered HTTP {status}: {message} (code {code})")]
    Failed {
        status: StatusCode,
        code: i64,
        message: String,
    },
    #[error("the Graph API answered HTTP {status} without a message id")]
    MissingWamid { status: StatusCode },
    #[error("the Graph API answered HTTP {status} with an invalid message id")]
    InvalidWamid {
        status: StatusCode,
        #[source]
        source: IdError,
    },
    #[error("the Graph API access token could not be read again: {0}")]
    Token(String),
    #[error("could not build the Graph API request")]
    Request(#[source] http::Error),
    #[error("the Graph API answer is longer than {0} bytes")]
    TooLong(usize),
    #[error("could not serialize the Graph API request")]
    Serialize(#[source] serde_json::Error),
}
