use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use wadesk_app::desk::DeskFailure;
pub use wadesk_app::error::error_chain;
use wadesk_app::error::ErrorEnvelope;
use wadesk_app::StoreError;
use wadesk_aws::lambda::error_response;
use wadesk_domain::{AgentId, DeskError};

/// Every answer besides success, mapped to a status and a code in one place.
/// Messages are written here for people; internal error text never leaves.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("missing or invalid credentials")]
    Unauthenticated,
    #[error("you may not do this")]
    Forbidden,
    #[error("you are not in the directory; ask an admin to add you")]
    NotInDirectory,
    #[error("not found")]
    NotFound,
    #[error("the conversation is already taken by {owner}; repeat with force to overtake it")]
    AlreadyTaken { owner: AgentId },
    #[error("the conversation is not offered to you")]
    NotOffered,
    #[error("{0}")]
    InvalidState(String),
    #[error("the customer's 24-hour window is closed; only a template can be sent")]
    WindowClosed,
    #[error("the customer already has a live conversation (bot, queue, another agent or another reopen)")]
    SessionActiveElsewhere,
    #[error("the customer opted out with #STOP")]
    OptedOut,
    #[error("the utility push for this closed window was already sent")]
    PushAlreadySent,
    #[error("the request body is too large")]
    TooLarge,
    /// Kept no longer (media after its retention).
    #[error("{0}")]
    Gone(String),
    #[error("the service is unavailable; try again")]
    Unavailable,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotInDirectory => (StatusCode::FORBIDDEN, "not_in_directory"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::AlreadyTaken { .. } => (StatusCode::CONFLICT, "already_taken"),
            Self::NotOffered => (StatusCode::CONFLICT, "not_offered"),
            Self::InvalidState(_) => (StatusCode::CONFLICT, "invalid_state"),
            Self::WindowClosed => (StatusCode::CONFLICT, "window_closed"),
            Self::SessionActiveElsewhere => (StatusCode::CONFLICT, "session_active_elsewhere"),
            Self::OptedOut => (StatusCode::CONFLICT, "opted_out"),
            Self::PushAlreadySent => (StatusCode::CONFLICT, "push_already_sent"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Gone(_) => (StatusCode::GONE, "gone"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let owner = match &self {
            Self::AlreadyTaken { owner } => Some(owner.as_str()),
            _ => None,
        };
        error_response(
            status,
            &ErrorEnvelope::new(code, &message).with_owner(owner),
        )
    }
}

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::Invalid(message) => Self::Invalid(message),
            DeskError::Forbidden => Self::Forbidden,
            DeskError::NotInDirectory(_) => Self::NotInDirectory,
            DeskError::NotFound => Self::NotFound,
            DeskError::AlreadyTaken { owner } => Self::AlreadyTaken { owner },
            DeskError::NotOffered => Self::NotOffered,
            DeskError::InvalidState(_) => Self::InvalidState(error.to_string()),
            DeskError::WindowClosed => Self::WindowClosed,
            DeskError::SessionActiveElsewhere => Self::SessionActiveElsewhere,
            DeskError::OptedOut => Self::OptedOut,
            DeskError::PushAlreadySent => Self::PushAlreadySent,
        }
    }
}

impl From<DeskFailure> for ApiError {
    fn from(failure: DeskFailure) -> Self {
        match failure {
            DeskFailure::Rule(error) => error.into(),
            DeskFailure::SendRejected { code } => {
                Self::Invalid(format!("WhatsApp refused the message (error {code})"))
            }
            DeskFailure::App(error) => {
                tracing::error!(error = %error_chain(&error), "request failed");
                Self::Unavailable
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error_chain(&error), "store failed");
        Self::Unavailable
    }
}
