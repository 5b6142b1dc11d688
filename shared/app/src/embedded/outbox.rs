use std::sync::{Arc, Mutex};

use serde::Serialize;
use wadesk_domain::{Clock, ManualClock, PhoneNumberId, Timestamp, WaId, Wamid};

use super::lock;
use crate::{OutboundContent, SendError, WhatsAppClient};

/// One message that would have gone to WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<serde_json::Value>,
    pub wamid: String,
    pub at: Timestamp,
}

/// The local runner's WhatsApp: records everything sent, oldest first, and
/// answers with a fresh wamid as the Cloud API would.
#[derive(Debug, Clone)]
pub struct LocalOutbox {
    entries: Arc<Mutex<Vec<OutboxEntry>>>,
    clock: ManualClock,
}

impl LocalOutbox {
    pub fn new(clock: ManualClock) -> Self {
        Self {
            entries: Arc::default(),
            clock,
        }
    }

    pub fn entries(&self) -> Vec<OutboxEntry> {
        lock(&self.entries).clone()
    }

    /// Records a message sent (or that would have been sent) as `wamid`.
    pub fn record(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
        wamid: &Wamid,
    ) {
        let (kind, text, link, template) = match content {
            OutboundContent::Text { body } => ("text".to_owned(), Some(body.clone()), None, None),
            OutboundContent::Media {
                kind,
                link,
                caption,
                ..
            } => (
                kind.as_str().to_owned(),
                caption.clone(),
                Some(link.clone()),
                None,
            ),
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
        lock(&self.entries).push(OutboxEntry {
            from: from.to_string(),
            to: to.to_string(),
            kind,
            text,
            link,
            template,
            wamid: wamid.to_string(),
            at: self.clock.now(),
        });
    }
}

impl WhatsAppClient for LocalOutbox {
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
}
