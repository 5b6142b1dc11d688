//! Files: `POST /uploads` (an upload target for an agent's file) and
//! `GET /conversations/{id}/messages/{message_id}/media` (a kept file, for
//! callers who may see the conversation). Sending an upload is part of
//! `POST /conversations/{id}/messages` (`conversations::act`).

use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use wadesk_app::media::{self as service, MediaFailure};
use wadesk_app::ports::{MediaAccess, PageRequest, MAX_PAGE};
use wadesk_app::Ports;
use wadesk_app::{App, ConversationStore, DeskStore, MediaStore};
use wadesk_domain::media::DEFAULT_RETENTION_DAYS;
use wadesk_domain::{
    may_access, AuditAction, AuditRecord, Clock, ConversationId, Message, MessageId,
};

use crate::auth::Caller;
use crate::{body, json, ApiError, Result};

/// Where files are kept and for how long, as one function is configured.
#[derive(Debug, Clone)]
pub struct Media<M> {
    pub store: M,
    /// Days a file is served after its message (`WADESK_MEDIA_RETENTION_DAYS`;
    /// the bucket's lifecycle deletes it then).
    pub retention_days: u32,
}

impl<M> Media<M> {
    pub fn new(store: M) -> Self {
        Self {
            store,
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }

    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }
}

impl From<MediaFailure> for ApiError {
    fn from(failure: MediaFailure) -> Self {
        use wadesk_domain::media::MediaError;
        match failure {
            MediaFailure::Rule(MediaError::Invalid(message)) => Self::Invalid(message),
            MediaFailure::Rule(error @ MediaError::UnknownUpload) => {
                Self::Invalid(error.to_string())
            }
            MediaFailure::Rule(MediaError::NoMedia | MediaError::Pending) => Self::NotFound,
            MediaFailure::Rule(error @ MediaError::Gone { .. }) => Self::Gone(error.to_string()),
            MediaFailure::Refused { code } => {
                Self::Invalid(format!("WhatsApp refused the file (error {code})"))
            }
            MediaFailure::Store(error) => {
                tracing::error!(error = %crate::error::error_chain(&error), "media store failed");
                Self::Unavailable
            }
            MediaFailure::WhatsApp(error) => {
                tracing::error!(error = %crate::error::error_chain(&error), "media upload to WhatsApp failed");
                Self::Unavailable
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadBody {
    filename: String,
    mime_type: String,
    size_bytes: u64,
}

#[derive(Serialize)]
struct UploadView {
    upload_id: String,
    url: String,
    fields: std::collections::BTreeMap<String, String>,
    expires_at: String,
    max_bytes: u64,
}

/// `POST /uploads`: a short-lived target the browser posts the file to.
/// Only agents in the directory (every caller past `admit`) get one.
pub async fn upload<P, M>(
    app: &App<P>,
    media: &Media<M>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let input: UploadBody = body(request)?;
    let target = service::start_upload(
        &media.store,
        &caller.actor,
        &input.filename,
        &input.mime_type,
        input.size_bytes,
        app.clock.now(),
    )
    .await?;
    let upload_id = service::upload_id_of(&target)
        .ok_or(ApiError::Unavailable)?
        .to_owned();
    json(
        StatusCode::CREATED,
        &UploadView {
            upload_id,
            url: target.url,
            fields: target.fields,
            expires_at: target
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            max_bytes: wadesk_domain::media::MAX_UPLOAD_BYTES,
        },
    )
}

/// The message `message_id` of the conversation, read page by page.
async fn find_message<S: DeskStore>(
    store: &S,
    conversation: ConversationId,
    message_id: MessageId,
) -> Result<Option<Message>> {
    let mut page = PageRequest::first(MAX_PAGE);
    loop {
        let found = store.list_messages_page(conversation, &page).await?;
        if let Some(message) = found.items.into_iter().find(|m| m.id == message_id) {
            return Ok(Some(message));
        }
        match found.next {
            Some(after) => page.after = Some(after),
            None => return Ok(None),
        }
    }
}

/// `GET /conversations/{id}/messages/{message_id}/media`: 403 before anything
/// is read for a caller who may not see the conversation; then the file
/// (locally), or a redirect to a short-lived link (S3); 410 after the
/// retention; 404 while a customer's file is not fetched yet.
pub async fn media<P, M>(
    app: &App<P>,
    media: &Media<M>,
    caller: &Caller,
    id: ConversationId,
    message_id: &str,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let conversation = app.store.get_conversation(id).await?;
    may_access(conversation.as_ref(), &caller.actor, caller.entry.as_ref())?;
    let conversation = conversation.ok_or(ApiError::NotFound)?;
    let message_id: MessageId = message_id.parse().map_err(|_| ApiError::NotFound)?;
    let message = find_message(&app.store, conversation.id, message_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Recorded before the file is handed out: no audit record, no file.
    let mut record = AuditRecord::new(
        &caller.actor,
        AuditAction::TranscriptRead,
        "GET /conversations/{id}/messages/{message_id}/media".to_owned(),
        app.clock.now(),
    );
    record.conversation = Some(conversation.id);
    record.customer = Some(conversation.customer.wa_id.clone());
    app.store.record_audit(&record).await?;
    let access = service::open_media(
        &media.store,
        &message,
        app.clock.now(),
        media.retention_days,
    )
    .await?;
    let mut response = match access {
        MediaAccess::Redirect { url } => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::FOUND;
            response.headers_mut().insert(
                "location",
                HeaderValue::try_from(url).map_err(|_| ApiError::Unavailable)?,
            );
            response
        }
        MediaAccess::Bytes {
            bytes,
            content_type,
            content_disposition,
        } => {
            let mut response = Response::new(Body::Binary(bytes));
            let headers = response.headers_mut();
            headers.insert(
                "content-type",
                HeaderValue::try_from(content_type).map_err(|_| ApiError::Unavailable)?,
            );
            headers.insert(
                "content-disposition",
                HeaderValue::try_from(content_disposition).map_err(|_| ApiError::Unavailable)?,
            );
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        "cache-control",
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}
