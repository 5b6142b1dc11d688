//! The WhatsApp Cloud API adapter of the [`WhatsAppClient`] port: sends messages
//! through Meta's Graph API (`POST {base}/{phone_number_id}/messages`).
//!
//! It uses hyper-util's client over rustls with aws-lc-rs and the system's root
//! certificates: the same stack the AWS SDK already builds into every function,
//! so it adds neither a second HTTP client nor a second crypto provider. The
//! connection pool (and so the root certificate store) is built on the first
//! send, which keeps it out of every cold start.
//!
//! [`WhatsAppClient`]: wadesk_app::ports::WhatsAppClient

mod client;
mod error;
mod media;
mod wire;

pub use client::{
    build_http, GraphApiClient, HttpClient, TokenError, TokenSource, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT, TOKEN_TTL,
};
pub use error::{BuildError, GraphApiError};
pub use media::MEDIA_TIMEOUT;
