//! Files both ways: an agent's upload target and the check of what was
//! uploaded before it goes to WhatsApp; a customer's media fetched from
//! WhatsApp into the media store; a kept file handed to a browser.

use wadesk_domain::desk::Outgoing;
use wadesk_domain::media::{
    self, check_file, inbound_key, inbound_limit, locate, parse_upload_id, plan_upload,
    stored_type, upload_key, MediaError, MAX_UPLOAD_BYTES,
};
use wadesk_domain::{
    Actor, ConversationId, DomainEvent, EventEnvelope, Message, MessageId, PhoneNumberId, Timestamp,
};

use crate::error::Retryable;
use crate::ports::{
    FetchError, MediaAccess, MediaSource, MediaStore, MediaStoreError, SendError, UploadTarget,
    WhatsAppClient,
};

/// Why a media request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum MediaFailure {
    /// A product rule: the caller's request is refused (4xx).
    #[error(transparent)]
    Rule(#[from] MediaError),
    /// The media store failed: worth a retry (5xx).
    #[error(transparent)]
    Store(MediaStoreError),
    /// WhatsApp refused the file.
    #[error("WhatsApp refused the file (error {code})")]
    Refused { code: i64 },
    /// WhatsApp could not take the file now: worth a retry (5xx).
    #[error("the file could not be handed to WhatsApp")]
    WhatsApp(#[source] SendError),
}

impl From<MediaStoreError> for MediaFailure {
    fn from(error: MediaStoreError) -> Self {
        match error {
            MediaStoreError::TooLarge { size, .. } => Self::Rule(media::too_large(size)),
            other => Self::Store(other),
        }
    }
}

/// `POST /uploads`: checks the request by name, type and size and answers a
/// short-lived upload target that enforces the same.
pub async fn start_upload<M: MediaStore>(
    store: &M,
    actor: &Actor,
    filename: &str,
    mime_type: &str,
    size_bytes: u64,
    now: Timestamp,
) -> Result<UploadTarget, MediaFailure> {
    let plan = plan_upload(filename, mime_type, size_bytes, uuid::Uuid::new_v4(), now)?;
    Ok(store.upload_target(&plan, &actor.id).await?)
}

/// The upload id of an upload target (the last part of its key).
pub fn upload_id_of(target: &UploadTarget) -> Option<&str> {
    target.fields.get("key")?.strip_prefix("uploads/")
}

/// Reads the caller's upload, checks it by name, size and content, and
/// uploads it to WhatsApp for the business number `from`: what the agent
/// then sends. Someone else's upload is as unknown as a missing one.
pub async fn prepare_attachment<M: MediaStore, W: WhatsAppClient>(
    store: &M,
    whatsapp: &W,
    actor: &Actor,
    from: &PhoneNumberId,
    upload_id: &str,
    caption: Option<String>,
) -> Result<Outgoing, MediaFailure> {
    let key = upload_key(&parse_upload_id(upload_id)?);
    let file = store
        .read(&key, MAX_UPLOAD_BYTES)
        .await?
        .ok_or(MediaError::UnknownUpload)?;
    media::may_send_upload(file.uploader.as_ref(), &actor.id)?;
    let size = u64::try_from(file.bytes.len()).unwrap_or(u64::MAX);
    let filename = file.filename.clone().unwrap_or_default();
    let checked = check_file(&filename, size, &file.bytes)?;
    let media_id = whatsapp
        .upload_media(from, &file.bytes, &checked.content_type, &checked.filename)
        .await
        .map_err(|error| match error {
            SendError::Rejected { code, .. } => MediaFailure::Refused { code },
            other => MediaFailure::WhatsApp(other),
        })?;
    Ok(media::outgoing_upload(checked, key, media_id, caption))
}

/// How a browser gets the media of `message` (the caller already may see
/// its conversation): gone after the retention, pending while a customer's
/// file is not fetched yet.
pub async fn open_media<M: MediaStore>(
    store: &M,
    message: &Message,
    now: Timestamp,
    retention_days: u32,
) -> Result<MediaAccess, MediaFailure> {
    let key = locate(message, now, retention_days)?;
    let filename = message
        .content
        .attachment()
        .and_then(|a| a.filename.as_deref());
    store
        .open(&key, filename)
        .await?
        .ok_or_else(|| media::not_kept(message, retention_days).into())
}

/// What the fetcher did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// Kept at `key`.
    Stored { key: String, size_bytes: u64 },
    /// Not a customer's file: nothing to fetch.
    Ignored,
}

/// Why a customer's media was not kept.
#[derive(Debug, thiserror::Error)]
pub enum InboundMediaError {
    /// No retry can fetch it (too large, refused by WhatsApp): parked at once.
    #[error(
        "the media of message {message_id} in conversation {conversation_id} cannot be fetched"
    )]
    Permanent {
        conversation_id: ConversationId,
        message_id: MessageId,
        #[source]
        source: FetchError,
    },
    /// WhatsApp or the store failed: the invocation fails and is retried.
    #[error("fetching the media of message {message_id} in conversation {conversation_id} failed")]
    Retry {
        conversation_id: ConversationId,
        message_id: MessageId,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Retryable for InboundMediaError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }
}

/// On `MessageReceived` for a customer's file: fetches it from WhatsApp
/// (within the type's limit) and keeps it where [`inbound_key`] says, with
/// the type its bytes show. Idempotent: a redelivery writes the same file.
pub async fn fetch_inbound<G: MediaSource, M: MediaStore>(
    source: &G,
    store: &M,
    event: &EventEnvelope,
) -> Result<FetchOutcome, InboundMediaError> {
    let DomainEvent::MessageReceived {
        conversation_id,
        message_id,
        message_type,
        media_id: Some(media_id),
        ..
    } = &event.event
    else {
        return Ok(FetchOutcome::Ignored);
    };
    let Some(limit) = inbound_limit(message_type) else {
        return Ok(FetchOutcome::Ignored);
    };
    let (conversation_id, message_id) = (*conversation_id, *message_id);
    let fetched = source.fetch(media_id, limit).await.map_err(|error| {
        if error.is_retryable() {
            InboundMediaError::Retry {
                conversation_id,
                message_id,
                source: Box::new(error),
            }
        } else {
            InboundMediaError::Permanent {
                conversation_id,
                message_id,
                source: error,
            }
        }
    })?;
    let head = &fetched.bytes[..fetched.bytes.len().min(media::SNIFF_BYTES)];
    let content_type = stored_type(fetched.mime_type.as_deref(), head);
    let key = inbound_key(conversation_id, message_id);
    let size_bytes = u64::try_from(fetched.bytes.len()).unwrap_or(u64::MAX);
    store
        .put(&key, fetched.bytes, &content_type)
        .await
        .map_err(|error| InboundMediaError::Retry {
            conversation_id,
            message_id,
            source: Box::new(error),
        })?;
    tracing::info!(%conversation_id, %message_id, size_bytes, content_type, "customer media kept");
    Ok(FetchOutcome::Stored { key, size_bytes })
}
