//! The webhook's poison queue on SQS.

use aws_sdk_sqs::Client;
use wadesk_app::{KeepError, Poison, PoisonKeeper};

use crate::config::{required, MissingSetting};

/// SQS's largest message (1 MiB since August 2025; the template sets the
/// queue's `MaximumMessageSize` to it). A record that would be larger keeps
/// the first part of the body, with the whole body's size and SHA-256.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// Keeps each poison webhook body as one SQS message: the JSON record of
/// [`Poison::record`] (reason, items, signature, body in base64).
#[derive(Debug, Clone)]
pub struct SqsPoisonQueue {
    client: Client,
    queue_url: String,
    max_message_bytes: usize,
}

impl SqsPoisonQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }

    /// `WADESK_POISON_QUEUE_URL`, set by the template on the webhook.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, MissingSetting> {
        Ok(Self::new(
            Client::new(sdk),
            required("WADESK_POISON_QUEUE_URL")?,
        ))
    }

    /// For a queue with a smaller `MaximumMessageSize`.
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes.min(MAX_MESSAGE_BYTES);
        self
    }
}

impl PoisonKeeper for SqsPoisonQueue {
    async fn keep(&self, poison: &Poison) -> Result<(), KeepError> {
        // The SDK retries throttling and transient errors itself; what is left
        // fails the webhook call, and WhatsApp's redelivery tries again.
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(poison.record(self.max_message_bytes))
            .send()
            .await
            .map_err(KeepError::new)?;
        Ok(())
    }
}
