//! Messages the table's TTL deleted, as the stream reports them
//! (`docs/product.md#11-data-protection`): their files go with them. The
//! stream must carry old images (`NEW_AND_OLD_IMAGES`) for a removed item to
//! say what it was.

use serde::Deserialize;
use wadesk_domain::Message;

use super::keys;

/// Why a removed message's old image could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the stream's old image of {pk} / {sk} is not a readable message")]
pub struct ExpiredItemError {
    pk: String,
    sk: String,
    #[source]
    source: serde_dynamo::Error,
}

#[derive(Default, Deserialize)]
struct Keys {
    #[serde(default)]
    pk: String,
    #[serde(default)]
    sk: String,
}

/// The message a removed item held, from its old image; `None` for any other
/// item of the table (conversations, links, wamid records, outbox items…).
pub fn removed_message(old_image: serde_dynamo::Item) -> Result<Option<Message>, ExpiredItemError> {
    // Items without string keys are not messages either.
    let Keys { pk, sk } = serde_dynamo::from_item(old_image.clone()).unwrap_or_default();
    if !pk.starts_with(keys::CONVERSATION_PK_PREFIX) || !sk.starts_with(keys::MESSAGE_SK_PREFIX) {
        return Ok(None);
    }
    serde_dynamo::from_item(old_image)
        .map(Some)
        .map_err(|source| ExpiredItemError { pk, sk, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamodb::items::to_item;
    use chrono::Utc;
    use wadesk_domain::message::Attachment;
    use wadesk_domain::{ConversationId, Direction, MessageContent, MessageId};

    fn photo() -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::derived_from("c"),
            direction: Direction::Inbound,
            content: MessageContent::Image {
                attachment: Attachment {
                    media_id: Some("m1".into()),
                    mime_type: Some("image/jpeg".into()),
                    ..Attachment::default()
                },
            },
            author: None,
            at: Utc::now(),
            status: None,
            error: None,
            wamid: None,
        }
    }

    /// The image as the store writes it (`put_message`) and the stream
    /// reports it.
    fn stored(message: &Message, pk: String, sk: &str) -> serde_dynamo::Item {
        let mut item = to_item("test", message, pk, sk).expect("message item");
        item.insert(
            "ttl".into(),
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        );
        serde_dynamo::Item::from(item)
    }

    #[test]
    fn a_removed_message_reads_back_as_the_message_it_was() {
        let message = photo();
        let image = stored(
            &message,
            keys::conversation_pk(message.conversation_id),
            &keys::message_sk(message.at, message.id),
        );
        assert_eq!(removed_message(image).unwrap(), Some(message));
    }

    #[test]
    fn other_items_of_the_table_are_not_messages() {
        let message = photo();
        let conversation = keys::conversation_pk(message.conversation_id);
        for (pk, sk) in [
            (conversation.clone(), keys::CONVERSATION_SK.to_owned()),
            (keys::outbox_pk(message.conversation_id), keys::outbox_sk(3)),
            ("AGENT#ana".to_owned(), format!("MSG#{}", message.id)),
        ] {
            assert_eq!(removed_message(stored(&message, pk, &sk)).unwrap(), None);
        }
        assert_eq!(
            removed_message(serde_dynamo::Item::from(std::collections::HashMap::<
                String,
                aws_sdk_dynamodb::types::AttributeValue,
            >::new()))
            .unwrap(),
            None
        );
    }

    #[test]
    fn a_message_key_over_an_unreadable_image_is_an_error() {
        let message = photo();
        let mut item = keys::key(
            keys::conversation_pk(message.conversation_id),
            &keys::message_sk(message.at, message.id),
        );
        item.insert(
            "direction".into(),
            aws_sdk_dynamodb::types::AttributeValue::N("7".into()),
        );
        assert!(removed_message(serde_dynamo::Item::from(item)).is_err());
    }
}
