//! Writes webhook bodies in the Cloud API's shape, for tests and the local runner
//! (which signs them with [`crate::signature::sign`] and posts them to the handler
//! exactly as WhatsApp would).

use serde_json::{json, Value};

use crate::payload::{MESSAGES_FIELD, WHATSAPP_BUSINESS_ACCOUNT};

/// The WABA id written when none is given (Meta's own test payloads use `"0"`).
const DEFAULT_WABA_ID: &str = "0";

/// Builds one webhook body for one business number: text messages (with their
/// senders in `contacts`, once each) in one change, statuses in another, as
/// WhatsApp sends them.
#[derive(Debug, Clone)]
#[must_use = "the builder does nothing until `build`"]
pub struct WebhookBuilder {
    waba_id: String,
    phone_number_id: String,
    display_phone_number: String,
    contacts: Vec<Value>,
    messages: Vec<Value>,
    statuses: Vec<Value>,
}

impl WebhookBuilder {
    pub fn new(phone_number_id: &str, display_phone_number: &str) -> Self {
        Self {
            waba_id: DEFAULT_WABA_ID.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            display_phone_number: display_phone_number.to_owned(),
            contacts: Vec::new(),
            messages: Vec::new(),
            statuses: Vec::new(),
        }
    }

    /// The WhatsApp Business Account id written as `entry[].id`.
    pub fn waba_id(mut self, waba_id: &str) -> Self {
        waba_id.clone_into(&mut self.waba_id);
        self
    }

    /// A text message from `from` (a `wa_id`), with `timestamp` in epoch seconds.
    pub fn text(
        mut self,
        from: &str,
        profile_name: &str,
        text: &str,
        wamid: &str,
        timestamp: i64,
    ) -> Self {
        if !self.contacts.iter().any(|c| c["wa_id"] == from) {
            self.contacts.push(json!({
                "profile": { "name": profile_name },
                "wa_id": from,
            }));
        }
        self.messages.push(json!({
            "from": from,
            "id": wamid,
            "timestamp": timestamp.to_string(),
            "text": { "body": text },
            "type": "text",
        }));
        self
    }

    /// A status (`sent`, `delivered`, `read`, `failed`…) of our message `wamid` to
    /// `recipient`, with an optional `(code, title)` error.
    pub fn status(
        mut self,
        wamid: &str,
        recipient: &str,
        status: &str,
        timestamp: i64,
        error: Option<(i64, &str)>,
    ) -> Self {
        let mut entry = json!({
            "id": wamid,
            "status": status,
            "timestamp": timestamp.to_string(),
            "recipient_id": recipient,
        });
        if let (Some((code, title)), Some(fields)) = (error, entry.as_object_mut()) {
            fields.insert(
                "errors".to_owned(),
                json!([{
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": { "details": title },
                }]),
            );
        }
        self.statuses.push(entry);
        self
    }

    /// The body as a JSON value; `to_string()` gives the bytes to sign and send.
    pub fn build(&self) -> Value {
        let metadata = json!({
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        });
        let mut changes = Vec::new();
        if !self.messages.is_empty() {
            changes.push(json!({
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": metadata,
                    "contacts": self.contacts,
                    "messages": self.messages,
                },
                "field": MESSAGES_FIELD,
            }));
        }
        if !self.statuses.is_empty() {
            changes.push(json!({
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": metadata,
                    "statuses": self.statuses,
                },
                "field": MESSAGES_FIELD,
            }));
        }
        json!({
            "object": WHATSAPP_BUSINESS_ACCOUNT,
            "entry": [{ "id": self.waba_id, "changes": changes }],
        })
    }
}

/// A body carrying one text message, as WhatsApp delivers a customer's message.
pub fn text_message_body(
    phone_number_id: &str,
    display_phone_number: &str,
    from: &str,
    profile_name: &str,
    text: &str,
    wamid: &str,
    timestamp: i64,
) -> Value {
    WebhookBuilder::new(phone_number_id, display_phone_number)
        .text(from, profile_name, text, wamid, timestamp)
        .build()
}

/// A body carrying one status of our outbound message `wamid`.
pub fn status_body(
    phone_number_id: &str,
    display_phone_number: &str,
    wamid: &str,
    recipient: &str,
    status: &str,
    timestamp: i64,
    error: Option<(i64, &str)>,
) -> Value {
    WebhookBuilder::new(phone_number_id, display_phone_number)
        .status(wamid, recipient, status, timestamp, error)
        .build()
}
