//! Maps a webhook body onto domain types.
//!
//! Every entry, change, message and status is read: one POST can carry up to a
//! thousand updates. A single item that cannot be understood is rejected with where
//! it is and why (the webhook keeps it as poison), never allowed to fail the batch,
//! because WhatsApp retries a refused batch for days.

use chrono::DateTime;
use wadesk_domain::message::{ContactCard, Degrees, DeliveryError};
use wadesk_domain::{
    Attachment, CustomerKey, DeliveryStatus, InboundMessage, MessageContent, PhoneNumberId,
    StatusUpdate, Timestamp, WaId, Wamid,
};

use crate::lenient::{Int, List, Obj, Str};
use crate::payload::{
    self, Contact, ContactAddress, ContactName, ContactOrg, Envelope, Interactive, Location, Media,
    Message, SharedContact, Status, StatusError, Value,
};

/// Everything one webhook POST carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Items that can never be used: a message or status with a bad id, sender,
    /// timestamp, status or content, or a container of them that was not the JSON
    /// type the Cloud API documents. Worth keeping, never a retry.
    pub rejected: Vec<Rejected>,
}

/// An item of the body that can never be used: where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// A JSON pointer into the body (`/entry/0/changes/1/value/messages/2`).
    pub pointer: String,
    pub reason: &'static str,
}

impl WebhookBatch {
    /// Nothing usable arrived (and nothing was rejected either).
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.statuses.is_empty() && self.rejected.is_empty()
    }

    fn reject(&mut self, pointer: String, reason: &'static str) {
        self.rejected.push(Rejected { pointer, reason });
    }

    /// A list's items; a member that is not an array is rejected as a whole.
    fn items<T>(&mut self, list: List<T>, pointer: &str, reason: &'static str) -> Vec<T> {
        match list {
            List::Valid(items) => items,
            List::Invalid => {
                self.reject(pointer.to_owned(), reason);
                Vec::new()
            }
        }
    }
}

/// The body is not a WhatsApp Business webhook at all; the webhook keeps it as poison.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error(
        "`object` is {}, expected \"whatsapp_business_account\"",
        found.as_deref().map_or_else(|| "missing".to_owned(), |f| format!("{f:?}"))
    )]
    UnexpectedObject { found: Option<String> },
    #[error("`entry` is missing or not an array")]
    NoEntries,
}

/// How much of a foreign `object` value an error message repeats.
const ECHO_LIMIT: usize = 64;

/// Parses a webhook body (the raw bytes whose signature was checked) in one pass.
///
/// # Errors
///
/// [`ParseError`] when the body is not JSON or not a WhatsApp Business webhook
/// (no object, another `object`, no `entry` array). Problems inside `entry[]` never
/// fail the batch: they are listed in [`WebhookBatch::rejected`].
pub fn parse_webhook(raw_body: &[u8]) -> Result<WebhookBatch, ParseError> {
    let Obj(envelope) = serde_json::from_slice::<Obj<Envelope<'_>>>(raw_body)?;
    let envelope = envelope.ok_or(ParseError::NotAnObject)?;
    let object = envelope.object.as_deref();
    if object != Some(payload::WHATSAPP_BUSINESS_ACCOUNT) {
        return Err(ParseError::UnexpectedObject {
            found: object.map(|o| o.chars().take(ECHO_LIMIT).collect()),
        });
    }
    let Some(List::Valid(entries)) = envelope.entry else {
        return Err(ParseError::NoEntries);
    };

    let mut batch = WebhookBatch::default();
    for (e, Obj(entry)) in entries.into_iter().enumerate() {
        let Some(entry) = entry else {
            batch.reject(format!("/entry/{e}"), "the entry is not an object");
            continue;
        };
        let changes = format!("/entry/{e}/changes");
        let changes_list = batch.items(entry.changes, &changes, "`changes` is not an array");
        for (c, Obj(change)) in changes_list.into_iter().enumerate() {
            let Some(change) = change else {
                batch.reject(format!("{changes}/{c}"), "the change is not an object");
                continue;
            };
            // Other subscriptions (template updates, account alerts…) are not ours.
            if change.field.as_deref() != Some(payload::MESSAGES_FIELD) {
                continue;
            }
            let value = format!("{changes}/{c}/value");
            match change.value.0 {
                Some(v) => batch.add(v, &value),
                None => batch.reject(value, "the change's `value` is not an object"),
            }
        }
    }
    Ok(batch)
}

/// The business number a change is about, parsed once for all its messages.
struct Business {
    /// `None` when missing or invalid: the change's messages are then rejected
    /// (statuses do not need it).
    phone_number_id: Option<PhoneNumberId>,
    display_phone_number: String,
}

impl WebhookBatch {
    fn add(&mut self, value: Value<'_>, pointer: &str) {
        let metadata = value.metadata.0;
        let business = Business {
            phone_number_id: metadata
                .as_ref()
                .and_then(|m| m.phone_number_id.as_deref())
                .and_then(|id| PhoneNumberId::parse(id).ok()),
            display_phone_number: metadata
                .and_then(|m| m.display_phone_number.into_owned())
                .unwrap_or_default(),
        };
        // Contacts only lend names: a broken list costs names, not messages.
        let contacts: Vec<Contact<'_>> = match value.contacts {
            List::Valid(contacts) => contacts.into_iter().filter_map(|c| c.0).collect(),
            List::Invalid => Vec::new(),
        };

        let messages = format!("{pointer}/messages");
        let list = self.items(value.messages, &messages, "`messages` is not an array");
        for (n, Obj(message)) in list.into_iter().enumerate() {
            let message = message
                .ok_or("the message is not an object")
                .and_then(|m| inbound(m, &business, &contacts));
            match message {
                Ok(message) => self.messages.push(message),
                Err(reason) => self.reject(format!("{messages}/{n}"), reason),
            }
        }
        let statuses = format!("{pointer}/statuses");
        let list = self.items(value.statuses, &statuses, "`statuses` is not an array");
        for (n, Obj(status)) in list.into_iter().enumerate() {
            let status = status
                .ok_or("the status is not an object")
                .and_then(status_update);
            match status {
                Ok(status) => self.statuses.push(status),
                Err(reason) => self.reject(format!("{statuses}/{n}"), reason),
            }
        }
    }
}

/// Why an item is rejected, for the poison record.
type Reason = &'static str;

fn inbound(
    message: Message<'_>,
    business: &Business,
    contacts: &[Contact<'_>],
) -> Result<InboundMessage, Reason> {
    let phone_number_id = business
        .phone_number_id
        .clone()
        .ok_or("`metadata.phone_number_id` is missing or not a phone number id")?;
    let wamid = message
        .id
        .as_deref()
        .and_then(|id| Wamid::parse(id).ok())
        .ok_or("`id` is missing or not a WhatsApp message id")?;
    // `from` (phone based) while Meta still sends it, else the business-scoped id.
    let sender = message
        .from
        .non_empty()
        .or(message.from_user_id.non_empty())
        .ok_or("`from` and `from_user_id` are both missing")?;
    let wa_id = WaId::parse(sender).map_err(|_| "the sender is not a WhatsApp user id")?;
    let sent_at = timestamp(message.timestamp).ok_or("`timestamp` is missing or not a time")?;
    let profile_name = profile_name(contacts, &message);
    let content = content(message)?;
    Ok(InboundMessage {
        wamid,
        customer: CustomerKey::new(phone_number_id, wa_id),
        profile_name,
        display_phone_number: business.display_phone_number.clone(),
        sent_at,
        content,
    })
}

/// The sender's contact (by `wa_id` or `user_id`), else the only contact there is.
fn profile_name(contacts: &[Contact<'_>], message: &Message<'_>) -> Option<String> {
    let from = message.from.non_empty();
    let from_user_id = message.from_user_id.non_empty();
    let is_sender = |contact: &&Contact<'_>| {
        (from.is_some() && contact.wa_id.non_empty() == from)
            || (from_user_id.is_some() && contact.user_id.non_empty() == from_user_id)
    };
    let contact = contacts.iter().find(is_sender).or(match contacts {
        [only] => Some(only),
        _ => None,
    })?;
    let name = contact.profile.0.as_ref()?.name.non_empty()?;
    Some(name.to_owned())
}

/// Epoch seconds; zero, negative or out-of-range values are not a real send time.
fn timestamp(raw: Int) -> Option<Timestamp> {
    raw.0
        .filter(|secs| *secs > 0)
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// The message's content. A known type without its essential member is rejected;
/// a type wadesk does not handle is kept as `Unsupported`, never rejected.
fn content(message: Message<'_>) -> Result<MessageContent, Reason> {
    const MEDIA: Reason = "a media message without its media id";
    let kind = message.kind.non_empty().ok_or("`type` is missing")?;
    let content = match kind {
        "text" => MessageContent::Text {
            text: message
                .text
                .0
                .and_then(|text| text.body.into_owned())
                .ok_or("a text message without `text.body`")?,
        },
        "image" => MessageContent::Image {
            attachment: attachment(message.image).ok_or(MEDIA)?,
        },
        "video" => MessageContent::Video {
            attachment: attachment(message.video).ok_or(MEDIA)?,
        },
        "audio" => MessageContent::Audio {
            attachment: attachment(message.audio).ok_or(MEDIA)?,
        },
        "document" => MessageContent::Document {
            attachment: attachment(message.document).ok_or(MEDIA)?,
        },
        "sticker" => MessageContent::Sticker {
            attachment: attachment(message.sticker).ok_or(MEDIA)?,
        },
        "button" => {
            let button = message
                .button
                .0
                .ok_or("a button message without `button`")?;
            MessageContent::Button {
                text: button
                    .text
                    .into_owned()
                    .ok_or("a button message without `button.text`")?,
                payload: button.payload.into_owned(),
            }
        }
        "interactive" => message
            .interactive
            .0
            .and_then(interactive)
            .ok_or("an interactive reply without its reply id")?,
        "location" => message
            .location
            .0
            .and_then(location)
            .ok_or("a location without valid coordinates")?,
        "contacts" => contacts(message.contacts).ok_or("a contacts message without any card")?,
        other => MessageContent::Unsupported {
            whatsapp_type: other.to_owned(),
        },
    };
    Ok(content)
}

/// Inbound media arrive as a media id to download later, never as a public URL.
fn attachment(media: Obj<Media<'_>>) -> Option<Attachment> {
    let media = media.0?;
    let media_id = media.id.non_empty()?.to_owned();
    Some(Attachment {
        url: None,
        media_id: Some(media_id),
        key: None,
        filename: media.filename.into_owned(),
        mime_type: media.mime_type.into_owned(),
        size_bytes: None,
        caption: media.caption.into_owned(),
    })
}

/// A reply to our buttons or list; other interactive replies (flows…) are kept as
/// unsupported `interactive` messages.
fn interactive(interactive: Interactive<'_>) -> Option<MessageContent> {
    let reply = match interactive.kind.as_deref() {
        Some("button_reply") => interactive.button_reply,
        Some("list_reply") => interactive.list_reply,
        _ => {
            return Some(MessageContent::Unsupported {
                whatsapp_type: "interactive".to_owned(),
            })
        }
    };
    let reply = reply.0?;
    let reply_id = reply.id.non_empty()?.to_owned();
    Some(MessageContent::Interactive {
        reply_id,
        title: reply.title.into_owned().unwrap_or_default(),
    })
}

/// A shared place; coordinates out of range or missing reject it.
fn location(location: Location<'_>) -> Option<MessageContent> {
    Some(MessageContent::Location {
        latitude: Degrees::latitude(location.latitude.0?)?,
        longitude: Degrees::longitude(location.longitude.0?)?,
        name: non_empty(location.name),
        address: non_empty(location.address),
        url: non_empty(location.url),
    })
}

/// Shared contact cards; a card that is not an object is skipped, and a message
/// with no card at all is rejected.
fn contacts(cards: List<Obj<SharedContact<'_>>>) -> Option<MessageContent> {
    let List::Valid(cards) = cards else {
        return None;
    };
    let contacts: Vec<ContactCard> = cards
        .into_iter()
        .filter_map(|Obj(card)| card)
        .map(contact_card)
        .collect();
    (!contacts.is_empty()).then_some(MessageContent::Contacts { contacts })
}

fn contact_card(card: SharedContact<'_>) -> ContactCard {
    ContactCard {
        name: card.name.0.map(contact_name).unwrap_or_default(),
        phones: strings(card.phones, |phone| {
            non_empty(phone.phone).or_else(|| non_empty(phone.wa_id))
        }),
        emails: strings(card.emails, |email| non_empty(email.email)),
        organization: card.org.0.and_then(organization),
        addresses: strings(card.addresses, address_line),
        urls: strings(card.urls, |url| non_empty(url.url)),
    }
}

/// `formatted_name`, else the parts of the name it would have been made of.
fn contact_name(name: ContactName<'_>) -> String {
    if let Some(formatted) = name.formatted_name.non_empty() {
        return formatted.to_owned();
    }
    joined(
        [
            name.prefix,
            name.first_name,
            name.middle_name,
            name.last_name,
            name.suffix,
        ],
        " ",
    )
    .unwrap_or_default()
}

fn organization(org: ContactOrg<'_>) -> Option<String> {
    joined([org.company, org.department, org.title], ", ")
}

fn address_line(address: ContactAddress<'_>) -> Option<String> {
    joined(
        [
            address.street,
            address.city,
            address.state,
            address.zip,
            address.country,
        ],
        ", ",
    )
}

/// The non-empty parts joined by `separator`; `None` when there is none.
fn joined<const N: usize>(parts: [Str<'_>; N], separator: &str) -> Option<String> {
    let parts: Vec<&str> = parts.iter().filter_map(Str::non_empty).collect();
    (!parts.is_empty()).then(|| parts.join(separator))
}

/// One string from each object of a list; items that are not objects, or give
/// nothing, are left out (a broken list costs its items, not the card).
fn strings<T>(list: List<Obj<T>>, read: impl Fn(T) -> Option<String>) -> Vec<String> {
    match list {
        List::Valid(items) => items
            .into_iter()
            .filter_map(|Obj(item)| item.and_then(&read))
            .collect(),
        List::Invalid => Vec::new(),
    }
}

fn non_empty(text: Str<'_>) -> Option<String> {
    text.non_empty().map(str::to_owned)
}

/// A status WhatsApp reports; others (`deleted`, `warning`, `played`…) are rejected.
fn status_update(status: Status<'_>) -> Result<StatusUpdate, Reason> {
    let wamid = status
        .id
        .as_deref()
        .and_then(|id| Wamid::parse(id).ok())
        .ok_or("`id` is missing or not a WhatsApp message id")?;
    let delivery = match status.status.as_deref() {
        Some("sent") => DeliveryStatus::Sent,
        Some("delivered") => DeliveryStatus::Delivered,
        Some("read") => DeliveryStatus::Read,
        Some("failed") => DeliveryStatus::Failed,
        _ => return Err("`status` is missing or not one wadesk handles"),
    };
    let at = timestamp(status.timestamp).ok_or("`timestamp` is missing or not a time")?;
    let error = status
        .errors
        .first()
        .and_then(|error| error.0.as_ref())
        .map(delivery_error);
    Ok(StatusUpdate {
        wamid,
        status: delivery,
        at,
        error,
    })
}

/// `errors[0]`; a missing code reads as 0 so the title is not lost with it.
fn delivery_error(error: &StatusError<'_>) -> DeliveryError {
    DeliveryError {
        code: error.code.0.unwrap_or(0),
        title: error
            .title
            .non_empty()
            .or(error.message.non_empty())
            .unwrap_or_default()
            .to_owned(),
    }
}
