//! The transactional outbox (see docs/table-design.md): a desk commit or an
//! inbound message writes its events as one item in its own transaction; the
//! table's stream hands the item to `functions/event-relay`, which publishes
//! them.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::Duration;
use serde::Deserialize;
use wadesk_app::{CommitError, StoreError};
use wadesk_domain::{ConversationId, DeskDecision, EventEnvelope, InboundDecision};

use super::error::{commit_error, store_error};
use super::items::{number, string, CONVERSATION_ID};
use super::keys::{self, Item};
use super::store::DynamoStore;

/// How long an outbox item is kept: longer than the stream keeps its record
/// (24 hours) and than Lambda retries it, so an event whose relay gave up (the
/// event-relay DLQ) can still be read from its item and republished.
pub const OUTBOX_TTL_DAYS: i64 = 4;

/// The attribute holding the events, as the JSON array of envelopes.
const EVENTS: &str = "events";
const VERSION: &str = "version";

/// Why a stream image that looked like an outbox item could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxItemError {
    #[error("outbox item without readable attributes")]
    Item(#[source] serde_dynamo::Error),
    #[error("outbox item {pk} holds unreadable events")]
    Events {
        pk: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The part of an outbox item the relay needs.
#[derive(Deserialize)]
struct OutboxImage {
    pk: String,
    #[serde(default)]
    events: Option<String>,
}

/// The events of an outbox item as a stream record's `NewImage` carries it;
/// `None` for any other item of the table.
pub fn outbox_events(
    image: serde_dynamo::Item,
) -> Result<Option<Vec<EventEnvelope>>, OutboxItemError> {
    let image: OutboxImage = serde_dynamo::from_item(image).map_err(OutboxItemError::Item)?;
    if !is_outbox_pk(&image.pk) {
        return Ok(None);
    }
    let Some(events) = image.events else {
        return Ok(Some(Vec::new()));
    };
    serde_json::from_str(&events)
        .map(Some)
        .map_err(|source| OutboxItemError::Events {
            pk: image.pk,
            source,
        })
}

/// Whether a partition key is an outbox item's.
pub fn is_outbox_pk(pk: &str) -> bool {
    pk.starts_with(keys::OUTBOX_PK_PREFIX)
}

/// The prefix of outbox partition keys (the event-source mapping's filter).
pub const OUTBOX_PK_PREFIX: &str = keys::OUTBOX_PK_PREFIX;

impl DynamoStore {
    /// The outbox item of a desk decision, to write in its transaction; none
    /// when the decision emitted no event. Unconditional: the conversation's
    /// version condition in the same transaction makes `(conversation,
    /// version)` unique.
    pub(super) fn outbox_write(
        &self,
        op: &'static str,
        decision: &DeskDecision,
    ) -> Result<Option<TransactWriteItem>, CommitError> {
        if decision.events.is_empty() {
            return Ok(None);
        }
        let conversation = &decision.conversation;
        let events = serde_json::to_string(&decision.events).map_err(commit_error(op))?;
        let mut item = keys::key(
            keys::outbox_pk(conversation.id),
            &keys::outbox_sk(conversation.version),
        );
        item.insert(
            CONVERSATION_ID.into(),
            AttributeValue::S(conversation.id.to_string()),
        );
        item.insert(VERSION.into(), number(conversation.version));
        item.insert(EVENTS.into(), AttributeValue::S(events));
        item.insert(
            keys::TTL.into(),
            number((conversation.updated_at + Duration::days(OUTBOX_TTL_DAYS)).timestamp()),
        );
        self.put_unconditional(op, item).map(Some)
    }

    /// The outbox item of an inbound message, to write in its transaction;
    /// none when it emitted no event. Unconditional: the wamid item's
    /// `attribute_not_exists` in the same transaction makes it unique.
    pub(super) fn inbound_outbox_write(
        &self,
        op: &'static str,
        decision: &InboundDecision,
    ) -> Result<Option<TransactWriteItem>, CommitError> {
        if decision.events.is_empty() {
            return Ok(None);
        }
        let message = &decision.message;
        let events = serde_json::to_string(&decision.events).map_err(commit_error(op))?;
        let mut item = keys::key(
            keys::outbox_pk(message.conversation_id),
            &keys::inbound_outbox_sk(message.at, message.id),
        );
        item.insert(
            CONVERSATION_ID.into(),
            AttributeValue::S(message.conversation_id.to_string()),
        );
        item.insert(EVENTS.into(), AttributeValue::S(events));
        item.insert(
            keys::TTL.into(),
            number((message.at + Duration::days(OUTBOX_TTL_DAYS)).timestamp()),
        );
        self.put_unconditional(op, item).map(Some)
    }

    /// The events in a conversation's outbox, inbound messages' first (by
    /// time) then desk changes' (by version) (for
    /// inspection and republishing by hand; the relay reads the stream).
    #[tracing::instrument(skip(self), err)]
    pub async fn outbox(&self, id: ConversationId) -> Result<Vec<EventEnvelope>, StoreError> {
        let op = "outbox";
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::outbox_pk(id)))
            .consistent_read(true);
        let mut events = Vec::new();
        for item in self.query_all(op, query).await? {
            events.extend(item_events(op, &item)?);
        }
        Ok(events)
    }
}

fn item_events(op: &'static str, item: &Item) -> Result<Vec<EventEnvelope>, StoreError> {
    match string(item, EVENTS) {
        Some(json) => serde_json::from_str(&json).map_err(store_error(op)),
        None => Ok(Vec::new()),
    }
}
