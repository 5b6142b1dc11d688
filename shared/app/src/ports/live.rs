//! Live updates on AWS: the console sockets open now, and the push of a hint
//! to one of them (`wadesk_domain::live`). Who is told is the domain's rule
//! (`LiveHint::concerns`); these ports only keep and reach the sockets.

use std::future::Future;

use wadesk_domain::{Actor, Agent, AgentId, Timestamp};

use super::StoreError;

/// An open console socket and its caller as the directory described them when
/// it connected: what the audience rule needs, read once per connection (a
/// socket lives two hours at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConnection {
    /// The socket's id at the WebSocket service.
    pub id: String,
    pub actor: Actor,
    /// The caller's directory entry (`None` for a bootstrap admin not listed yet).
    pub entry: Option<Agent>,
    pub connected_at: Timestamp,
}

/// The registry of open sockets.
pub trait LiveConnections: Send + Sync {
    fn register(
        &self,
        connection: &LiveConnection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgetting a socket that is not registered is not an error.
    fn forget(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every registered socket.
    fn connections(&self) -> impl Future<Output = Result<Vec<LiveConnection>, StoreError>> + Send;
}

/// What became of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Delivered,
    /// The socket is closed: forget it.
    Gone,
}

#[derive(Debug, thiserror::Error)]
#[error("pushing to live connection {connection} failed")]
pub struct PushError {
    pub connection: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Sends a text frame to one socket.
pub trait LivePush: Send + Sync {
    fn push(
        &self,
        connection: &str,
        text: &str,
    ) -> impl Future<Output = Result<Pushed, PushError>> + Send;
}

/// Why a token proves no identity.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, expired, badly signed, or for another issuer or audience.
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// The issuer's keys could not be read: nothing can be said of the token.
    #[error("the issuer's signing keys could not be read")]
    KeysUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Verifies a bearer token of the configured issuer; answers its subject.
pub trait TokenVerifier: Send + Sync {
    fn subject(&self, token: &str) -> impl Future<Output = Result<AgentId, TokenError>> + Send;
}
