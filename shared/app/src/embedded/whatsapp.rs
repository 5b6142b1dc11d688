use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use wadesk_domain::{Clock, ManualClock, PhoneNumberId, Timestamp, WaId, Wamid};

use super::lock;
use crate::{OutboundContent, SendError, WhatsAppClient};

/// One message sent to (the stand-in of) WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The uploaded file a media message names, with what was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<UploadedMedia>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<serde_json::Value>,
    pub wamid: String,
    pub at: Timestamp,
}

/// A file uploaded to (the stand-in of) WhatsApp's media endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadedMedia {
    pub media_id: String,
    pub mime_type: String,
    pub filename: String,
    pub size_bytes: u64,
}

/// The local runner's WhatsApp: records everything sent, oldest first, and
/// answers with a fresh wamid as the Cloud API would.
#[derive(Debug, Clone)]
pub struct LocalWhatsApp {
    sent: Arc<Mutex<Vec<SentMessage>>>,
    uploads: Arc<Mutex<HashMap<String, UploadedMedia>>>,
    clock: ManualClock,
}

impl LocalWhatsApp {
    pub fn new(clock: ManualClock) -> Self {
        Self {
            sent: Arc::default(),
            uploads: Arc::default(),
            clock,
        }
    }

    /// Every message sent, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        lock(&self.sent).clone()
    }

    /// Records a message sent (or that would have been sent) as `wamid`.
    pub fn record(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
        wamid: &Wamid,
    ) {
        let (kind, text, media, template) = match content {
            OutboundContent::Text { body } => ("text".to_owned(), Some(body.clone()), None, None),
            OutboundContent::Media {
                kind,
                media_id,
                caption,
                ..
            } => {
                let uploaded = lock(&self.uploads).get(media_id).cloned();
                (
                    kind.as_str().to_owned(),
                    caption.clone(),
                    Some(uploaded.unwrap_or_else(|| UploadedMedia {
                        media_id: media_id.clone(),
                        mime_type: String::new(),
                        filename: String::new(),
                        size_bytes: 0,
                    })),
                    None,
                )
            }
            OutboundContent::Template {
                name,
                language,
                parameters,
            } => (
                "template".to_owned(),
                None,
                None,
                Some(
                    serde_json::json!({"name": name, "language": language, "parameters": parameters}),
                ),
            ),
        };
        lock(&self.sent).push(SentMessage {
            from: from.to_string(),
            to: to.to_string(),
            kind,
            text,
            media,
            template,
            wamid: wamid.to_string(),
            at: self.clock.now(),
        });
    }
}

impl WhatsAppClient for LocalWhatsApp {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        let wamid =
            Wamid::parse(format!("wamid.OUT{}", uuid::Uuid::now_v7().simple())).map_err(|e| {
                SendError::Unavailable {
                    source: Box::new(e),
                }
            })?;
        self.record(from, to, content, &wamid);
        Ok(wamid)
    }

    async fn upload_media(
        &self,
        _from: &PhoneNumberId,
        file: &[u8],
        content_type: &str,
        filename: &str,
    ) -> Result<String, SendError> {
        let media_id = format!("local-media-{}", uuid::Uuid::now_v7().simple());
        lock(&self.uploads).insert(
            media_id.clone(),
            UploadedMedia {
                media_id: media_id.clone(),
                mime_type: content_type.to_owned(),
                filename: filename.to_owned(),
                size_bytes: u64::try_from(file.len()).unwrap_or(u64::MAX),
            },
        );
        Ok(media_id)
    }
}
