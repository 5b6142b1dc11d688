//! Masking of a whole message content: every string the customer (or an agent)
//! wrote, in every kind of message.

use crate::message::{Attachment, ContactCard, MessageContent, TemplateContent};

use super::mask_sensitive;

fn mask(text: &str) -> String {
    mask_sensitive(text).into_owned()
}

fn mask_option(text: Option<&String>) -> Option<String> {
    text.map(|text| mask(text))
}

fn mask_all(texts: &[String]) -> Vec<String> {
    texts.iter().map(|text| mask(text)).collect()
}

/// `content` as an agent of a masking channel sees it: [`mask_sensitive`] applied
/// to every free-text field — the text; a button's text and payload; a reply's
/// title; an attachment's caption and file name; a template's parameters; a
/// location's name, address and URL; every field of every contact card.
///
/// Identifiers nobody types (media ids, MIME types, reply ids, template names,
/// coordinates) are kept as they are. The stored message is never changed:
/// this is a view. Like [`mask_sensitive`] it is idempotent and never panics.
pub fn mask_content(content: &MessageContent) -> MessageContent {
    // Every variant is listed, so a new one cannot be shown unmasked by default.
    match content {
        MessageContent::Text { text } => MessageContent::Text { text: mask(text) },
        MessageContent::Image { attachment } => MessageContent::Image {
            attachment: mask_attachment(attachment),
        },
        MessageContent::Video { attachment } => MessageContent::Video {
            attachment: mask_attachment(attachment),
        },
        MessageContent::Audio { attachment } => MessageContent::Audio {
            attachment: mask_attachment(attachment),
        },
        MessageContent::Document { attachment } => MessageContent::Document {
            attachment: mask_attachment(attachment),
        },
        MessageContent::Sticker { attachment } => MessageContent::Sticker {
            attachment: mask_attachment(attachment),
        },
        MessageContent::Button { text, payload } => MessageContent::Button {
            text: mask(text),
            payload: mask_option(payload.as_ref()),
        },
        MessageContent::Interactive { reply_id, title } => MessageContent::Interactive {
            reply_id: reply_id.clone(),
            title: mask(title),
        },
        MessageContent::Template { template } => MessageContent::Template {
            template: TemplateContent {
                name: template.name.clone(),
                language: template.language.clone(),
                parameters: mask_all(&template.parameters),
            },
        },
        MessageContent::Location {
            latitude,
            longitude,
            name,
            address,
            url,
        } => MessageContent::Location {
            latitude: *latitude,
            longitude: *longitude,
            name: mask_option(name.as_ref()),
            address: mask_option(address.as_ref()),
            url: mask_option(url.as_ref()),
        },
        MessageContent::Contacts { contacts } => MessageContent::Contacts {
            contacts: contacts.iter().map(mask_card).collect(),
        },
        MessageContent::Unsupported { whatsapp_type } => MessageContent::Unsupported {
            whatsapp_type: whatsapp_type.clone(),
        },
    }
}

fn mask_attachment(attachment: &Attachment) -> Attachment {
    Attachment {
        caption: mask_option(attachment.caption.as_ref()),
        filename: mask_option(attachment.filename.as_ref()),
        ..attachment.clone()
    }
}

fn mask_card(card: &ContactCard) -> ContactCard {
    ContactCard {
        name: mask(&card.name),
        phones: mask_all(&card.phones),
        emails: mask_all(&card.emails),
        organization: mask_option(card.organization.as_ref()),
        addresses: mask_all(&card.addresses),
        urls: mask_all(&card.urls),
    }
}

/// The words of `content` a search looks through: every string a person reads
/// ([`MessageContent::visible_texts`]), one per line, masked as by
/// [`mask_content`] when `masked`, so a search finds exactly what the caller
/// would see and a masked value can never be found by its hidden digits.
pub fn searchable_text(content: &MessageContent, masked: bool) -> String {
    if masked {
        mask_content(content).visible_texts().join("\n")
    } else {
        content.visible_texts().join("\n")
    }
}
