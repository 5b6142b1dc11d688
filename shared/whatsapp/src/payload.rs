//! The Cloud API webhook body, as serde types.
//!
//! ```text
//! { "object": "whatsapp_business_account",
//!   "entry": [ { "id": <WABA id>,
//!                "changes": [ { "field": "messages",
//!                               "value": { "messaging_product": "whatsapp",
//!                                          "metadata": {...}, "contacts": [...],
//!                                          "messages": [...] | "statuses": [...] } } ] } ] }
//! ```
//!
//! Only the members wadesk reads are declared; serde skips the rest, so fields Meta
//! adds later never break parsing. Below the envelope everything goes through the
//! tolerant wrappers of `lenient.rs`, and strings borrow from the body where they can.
//!
//! The builders that write this shape (for tests and the local runner) are
//! re-exported here (and at the crate root).

use serde::Deserialize;

use crate::lenient::{Float, Int, List, Obj, Str};

pub use crate::builder::{status_body, text_message_body, WebhookBuilder};

/// The only `object` WhatsApp Business webhooks carry.
pub const WHATSAPP_BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

/// The `changes[].field` that carries messages and statuses.
pub const MESSAGES_FIELD: &str = "messages";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow)]
    pub object: Str<'a>,
    /// `None` when missing or `null`: the body is then not a webhook at all.
    #[serde(borrow)]
    pub entry: Option<List<Obj<Entry<'a>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Entry<'a> {
    #[serde(borrow)]
    pub changes: List<Obj<Change<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Change<'a> {
    #[serde(borrow)]
    pub field: Str<'a>,
    /// Read whatever the field, because `field` often comes after `value`. Every
    /// member is tolerant, so the value of another subscription never fails.
    #[serde(borrow)]
    pub value: Obj<Value<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Value<'a> {
    #[serde(borrow)]
    pub metadata: Obj<Metadata<'a>>,
    #[serde(borrow)]
    pub contacts: List<Obj<Contact<'a>>>,
    #[serde(borrow)]
    pub messages: List<Obj<Message<'a>>>,
    #[serde(borrow)]
    pub statuses: List<Obj<Status<'a>>>,
}

/// The business number the change is about.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Metadata<'a> {
    #[serde(borrow)]
    pub display_phone_number: Str<'a>,
    #[serde(borrow)]
    pub phone_number_id: Str<'a>,
}

/// A sender: `wa_id` (phone based) and/or `user_id` (business-scoped).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Contact<'a> {
    #[serde(borrow)]
    pub wa_id: Str<'a>,
    #[serde(borrow)]
    pub user_id: Str<'a>,
    #[serde(borrow)]
    pub profile: Obj<Profile<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Profile<'a> {
    #[serde(borrow)]
    pub name: Str<'a>,
}

/// A customer's message; the content sits in the member named after `type`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Message<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub from: Str<'a>,
    #[serde(borrow)]
    pub from_user_id: Str<'a>,
    pub timestamp: Int,
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub text: Obj<Text<'a>>,
    #[serde(borrow)]
    pub image: Obj<Media<'a>>,
    #[serde(borrow)]
    pub video: Obj<Media<'a>>,
    #[serde(borrow)]
    pub audio: Obj<Media<'a>>,
    #[serde(borrow)]
    pub document: Obj<Media<'a>>,
    #[serde(borrow)]
    pub sticker: Obj<Media<'a>>,
    #[serde(borrow)]
    pub button: Obj<Button<'a>>,
    #[serde(borrow)]
    pub interactive: Obj<Interactive<'a>>,
    #[serde(borrow)]
    pub location: Obj<Location<'a>>,
    /// Contact cards the customer shared (not the senders of `Value::contacts`).
    #[serde(borrow)]
    pub contacts: List<Obj<SharedContact<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Text<'a> {
    #[serde(borrow)]
    pub body: Str<'a>,
}

/// Image, video, audio, document and sticker share this shape (`sha256`, `voice`,
/// `animated` are not needed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Media<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub mime_type: Str<'a>,
    #[serde(borrow)]
    pub caption: Str<'a>,
    #[serde(borrow)]
    pub filename: Str<'a>,
}

/// A template quick-reply button the customer tapped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Button<'a> {
    #[serde(borrow)]
    pub text: Str<'a>,
    #[serde(borrow)]
    pub payload: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Interactive<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub button_reply: Obj<Reply<'a>>,
    #[serde(borrow)]
    pub list_reply: Obj<Reply<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Reply<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub title: Str<'a>,
}

/// A place: a pin (coordinates only) or a named place with its address.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Location<'a> {
    pub latitude: Float,
    pub longitude: Float,
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub address: Str<'a>,
    #[serde(borrow)]
    pub url: Str<'a>,
}

/// One shared contact card (`birthday` and the `type` labels are not needed).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SharedContact<'a> {
    #[serde(borrow)]
    pub name: Obj<ContactName<'a>>,
    #[serde(borrow)]
    pub phones: List<Obj<ContactPhone<'a>>>,
    #[serde(borrow)]
    pub emails: List<Obj<ContactEmail<'a>>>,
    #[serde(borrow)]
    pub org: Obj<ContactOrg<'a>>,
    #[serde(borrow)]
    pub addresses: List<Obj<ContactAddress<'a>>>,
    #[serde(borrow)]
    pub urls: List<Obj<ContactUrl<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactName<'a> {
    #[serde(borrow)]
    pub formatted_name: Str<'a>,
    #[serde(borrow)]
    pub prefix: Str<'a>,
    #[serde(borrow)]
    pub first_name: Str<'a>,
    #[serde(borrow)]
    pub middle_name: Str<'a>,
    #[serde(borrow)]
    pub last_name: Str<'a>,
    #[serde(borrow)]
    pub suffix: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactPhone<'a> {
    #[serde(borrow)]
    pub phone: Str<'a>,
    #[serde(borrow)]
    pub wa_id: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactEmail<'a> {
    #[serde(borrow)]
    pub email: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactOrg<'a> {
    #[serde(borrow)]
    pub company: Str<'a>,
    #[serde(borrow)]
    pub department: Str<'a>,
    #[serde(borrow)]
    pub title: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactAddress<'a> {
    #[serde(borrow)]
    pub street: Str<'a>,
    #[serde(borrow)]
    pub city: Str<'a>,
    #[serde(borrow)]
    pub state: Str<'a>,
    #[serde(borrow)]
    pub zip: Str<'a>,
    #[serde(borrow)]
    pub country: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContactUrl<'a> {
    #[serde(borrow)]
    pub url: Str<'a>,
}

/// Delivery news about one of our outbound messages.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Status<'a> {
    #[serde(borrow)]
    pub id: Str<'a>,
    #[serde(borrow)]
    pub status: Str<'a>,
    pub timestamp: Int,
    #[serde(borrow)]
    pub errors: List<Obj<StatusError<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatusError<'a> {
    pub code: Int,
    #[serde(borrow)]
    pub title: Str<'a>,
    #[serde(borrow)]
    pub message: Str<'a>,
}
