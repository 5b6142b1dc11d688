use std::sync::{Arc, Mutex};

use serde::Serialize;
use wadesk_domain::Timestamp;

use super::lock;

/// One message that would have gone to WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub to: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<serde_json::Value>,
    pub wamid: String,
    pub at: Timestamp,
}

/// The local runner's record of everything sent towards WhatsApp, oldest first.
#[derive(Debug, Clone, Default)]
pub struct LocalOutbox {
    entries: Arc<Mutex<Vec<OutboxEntry>>>,
}

impl LocalOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, entry: OutboxEntry) {
        lock(&self.entries).push(entry);
    }

    pub fn entries(&self) -> Vec<OutboxEntry> {
        lock(&self.entries).clone()
    }
}
