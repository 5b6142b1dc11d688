use std::future::Future;

use wadesk_domain::{PhoneNumberId, WaId, Wamid};

/// What wadesk sends to a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundContent {
    Text {
        body: String,
    },
    /// A file uploaded to WhatsApp first ([`WhatsAppClient::upload_media`]).
    Media {
        kind: MediaKind,
        media_id: String,
        filename: Option<String>,
        caption: Option<String>,
    },
    /// A pre-approved template (the only thing allowed outside the window).
    Template {
        name: String,
        language: String,
        /// Body parameters, in order.
        parameters: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Document,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Document => "document",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Error 131047: the 24-hour window is closed; only a template may be sent.
    #[error("WhatsApp requires a template: the customer-service window is closed")]
    ReengagementRequired,
    /// WhatsApp refused this message (bad recipient, bad media, policy...).
    #[error("WhatsApp refused the message (code {code})")]
    Rejected { code: i64, title: String },
    /// WhatsApp could not be reached or failed: worth retrying.
    #[error("WhatsApp is unavailable")]
    Unavailable {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request went out but its answer was lost (a time-out, a dropped
    /// connection): WhatsApp may have taken the message. Not worth retrying
    /// automatically: a retry could reach the customer twice.
    #[error("WhatsApp's answer was lost: the message may or may not have been taken")]
    OutcomeUnknown {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl SendError {
    /// The rules' view of this failure.
    pub fn failure(&self) -> wadesk_domain::desk::SendFailure {
        use wadesk_domain::desk::SendFailure;
        match self {
            Self::ReengagementRequired => SendFailure::ReengagementRequired,
            Self::Rejected { code, title } => SendFailure::Rejected {
                code: *code,
                title: title.clone(),
            },
            Self::Unavailable { .. } => SendFailure::Unavailable,
            Self::OutcomeUnknown { .. } => SendFailure::OutcomeUnknown,
        }
    }
}

/// Sends messages through the WhatsApp Cloud API (or records them, locally).
pub trait WhatsAppClient: Send + Sync + 'static {
    /// Sends `content` from the business number `from` to customer `to`;
    /// answers with the message's wamid. A success means WhatsApp accepted it,
    /// not that it was delivered (statuses come through the webhook).
    fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> impl Future<Output = Result<Wamid, SendError>> + Send;

    /// Uploads a file for the business number `from` (`POST /{phone-number-id}/media`);
    /// answers with WhatsApp's media id, which a media message then names.
    fn upload_media(
        &self,
        from: &PhoneNumberId,
        file: &[u8],
        content_type: &str,
        filename: &str,
    ) -> impl Future<Output = Result<String, SendError>> + Send {
        let _ = (from, file, content_type, filename);
        async {
            Err(SendError::Unavailable {
                source: "this WhatsApp client does not upload media".into(),
            })
        }
    }
}
