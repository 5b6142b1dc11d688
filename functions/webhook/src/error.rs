use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use wadesk_app::error::ErrorEnvelope;
use wadesk_aws::lambda::error_response;

/// Everything the webhook can answer besides 200, mapped to a status in one place.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the verify token or mode is wrong")]
    SubscriptionRefused,
    #[error("missing or invalid X-Hub-Signature-256")]
    BadSignature,
    #[error("the body is too large")]
    TooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A transient failure: an item could not be stored, or poison could not
    /// be kept. WhatsApp retries the batch.
    #[error("the batch could not be stored; retry later")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl WebhookError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::SubscriptionRefused => (StatusCode::FORBIDDEN, "forbidden"),
            Self::BadSignature => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The error envelope (`docs/product.md#81-the-error-envelope`); the message is
    /// this enum's own text, never an internal error's.
    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        error_response(status, &ErrorEnvelope::new(code, &self.to_string()))
    }
}
