//! A WhatsApp Business phone number and how the contact center uses it.

use serde::{Deserialize, Serialize};

use crate::protection::RetentionDays;
use crate::{PhoneNumberId, QueueId};

/// The utility template sent as the single push after a window closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub phone_number_id: PhoneNumberId,
    pub display_phone_number: String,
    pub chat_enabled: bool,
    pub default_queue: QueueId,
    /// An external bot owns new conversations until it hands them over.
    pub bot: bool,
    pub mask_sensitive_data: bool,
    pub reopen_message: String,
    pub push_template: Option<TemplateRef>,
    /// How long its finished conversations are kept
    /// (`docs/product.md#11-data-protection`).
    #[serde(default)]
    pub retention_days: RetentionDays,
}

/// The automatic reopen message of a number no admin has configured yet.
pub const DEFAULT_REOPEN_MESSAGE: &str = "Hello again! An agent has reopened your conversation.";

impl Channel {
    /// The automatic reopen message of `channel`; the default one when the
    /// number is not configured.
    pub fn reopen_message_of(channel: Option<&Self>) -> &str {
        channel.map_or(DEFAULT_REOPEN_MESSAGE, |c| c.reopen_message.as_str())
    }

    /// The settings used for a number no admin has configured yet: messages are
    /// still accepted and queued, never dropped.
    pub fn unconfigured(phone_number_id: PhoneNumberId, display_phone_number: String) -> Self {
        Self {
            phone_number_id,
            display_phone_number,
            chat_enabled: true,
            default_queue: QueueId::default_queue(),
            bot: false,
            mask_sensitive_data: false,
            reopen_message: DEFAULT_REOPEN_MESSAGE.to_owned(),
            push_template: None,
            retention_days: RetentionDays::default(),
        }
    }
}
