//! The WhatsApp Cloud API at wadesk's edge: webhook signatures, the subscription
//! handshake, and the webhook body mapped onto domain types.
//!
//! Nothing here performs I/O. The webhook handler calls, in order:
//! [`signature::verify`] on the raw bytes, then [`parse_webhook`], then hands the
//! [`WebhookBatch`] to the application.

mod builder;
mod lenient;
pub mod parse;
pub mod payload;
pub mod signature;
pub mod subscription;

pub use builder::{status_body, text_message_body, WebhookBuilder};
pub use parse::{parse_webhook, ParseError, Rejected, WebhookBatch};
pub use signature::SignatureError;
pub use subscription::SubscriptionError;
