use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use wadesk_app::error::{error_chain, ErrorEnvelope};
use wadesk_app::StoreError;
use wadesk_aws::lambda::error_response;

/// Every answer besides success, in the error envelope of
/// `docs/product.md#81-the-error-envelope`. Messages are written for people;
/// internal error text never leaves.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("missing or invalid credentials")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("you are not in the directory; ask an admin to add you")]
    NotInDirectory,
    #[error("not found")]
    NotFound,
    #[error("the service is unavailable; try again")]
    Unavailable,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotInDirectory => (StatusCode::FORBIDDEN, "not_in_directory"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        error_response(status, &ErrorEnvelope::new(code, &self.to_string()))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error_chain(&error), "store failed");
        Self::Unavailable
    }
}
