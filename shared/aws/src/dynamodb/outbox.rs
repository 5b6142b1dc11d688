//! The transactional outbox (see docs/table-design.md): a desk commit or an
//! inbound message writes its events, as an `events` attribute, on an item its
//! own transaction inserts; the table's stream hands the inserted item to
//! `functions/event-relay`, which publishes them.
//!
//! Which item carries them is chosen so that no item is written only for
//! them when another one is inserted anyway: an inbound message's events ride
//! on its wamid item (which keeps them for a duplicate delivery in any case),
//! those of an offer made with it on its message (the wamid item would grow
//! past 1 KB, one more write unit), a desk change that stores a message puts
//! them on its first new message, and only a change without a new message
//! writes an `OUTBOX#` item. Each of
//! these items is inserted once (`attribute_not_exists`, or the conversation's
//! version condition for `OUTBOX#` items), so each change's events reach the
//! stream in exactly one `INSERT`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::Duration;
use serde::Deserialize;
use wadesk_app::{CommitError, StoreError};
use wadesk_domain::{ConversationId, DeskDecision, Direction, EventEnvelope, Message};

use super::error::{commit_error, store_error};
use super::items::{from_item, number, string, CONVERSATION_ID};
use super::keys::{self, Item};
use super::store::{DynamoStore, BATCH_GET_KEYS};

/// How long an outbox item is kept: longer than the stream keeps its record
/// (24 hours) and than Lambda retries it, so an event whose relay gave up (the
/// event-relay DLQ) can still be read from its item and republished. (The
/// other items that carry events live longer: a wamid item 8 days, a message
/// as long as its conversation.)
pub const OUTBOX_TTL_DAYS: i64 = 4;

/// The attribute holding an item's events for the relay, as the JSON array of
/// envelopes. The event-source mapping passes on exactly the `INSERT`s whose
/// new image has it (`infra/template.yaml`).
pub const EVENTS: &str = "events";
/// On a message carrying a desk change's events: the conversation's version
/// after the change (orders them among the `OUTBOX#` items' in [`DynamoStore::outbox`]).
const EVENTS_VERSION: &str = "events_version";
const VERSION: &str = "version";

/// Why a stream image carrying events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxItemError {
    #[error("item with events without readable attributes")]
    Item(#[source] serde_dynamo::Error),
    #[error("item {pk} holds unreadable events")]
    Events {
        pk: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What is stored does not change by reading it again.
impl wadesk_app::error::Retryable for OutboxItemError {
    fn is_retryable(&self) -> bool {
        false
    }
}

/// The part of an item carrying events that the relay needs.
#[derive(Deserialize)]
struct EventsImage {
    pk: String,
    #[serde(default)]
    events: Option<String>,
}

/// The events an inserted item carries, as a stream record's `NewImage` holds
/// it: those of an `OUTBOX#` item, an inbound message's wamid item or a desk
/// change's message; `None` for an item without events.
pub fn outbox_events(
    image: serde_dynamo::Item,
) -> Result<Option<Vec<EventEnvelope>>, OutboxItemError> {
    if !image.contains_key(EVENTS) {
        return Ok(None);
    }
    let image: EventsImage = serde_dynamo::from_item(image).map_err(OutboxItemError::Item)?;
    let Some(events) = image.events else {
        return Ok(None);
    };
    serde_json::from_str(&events)
        .map(Some)
        .map_err(|source| OutboxItemError::Events {
            pk: image.pk,
            source,
        })
}

/// Whether a stream record's new image carries events for the relay (the
/// event-source mapping's filter: its `events` attribute is a string).
pub fn carries_events<V>(new_image: &HashMap<String, V>, is_string: impl Fn(&V) -> bool) -> bool {
    new_image.get(EVENTS).is_some_and(is_string)
}

impl DynamoStore {
    /// The outbox item of a desk decision that stores no message, to write in
    /// its transaction; none when the decision emitted no event or its first
    /// new message carries them ([`Self::with_desk_events`]). Unconditional:
    /// the conversation's version condition in the same transaction makes
    /// `(conversation, version)` unique.
    pub(super) fn outbox_write(
        &self,
        op: &'static str,
        decision: &DeskDecision,
    ) -> Result<Option<TransactWriteItem>, CommitError> {
        if decision.events.is_empty() || !decision.messages.is_empty() {
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

    /// Adds a desk decision's events to the item of its first new message
    /// (inserted once, in the decision's transaction: its `INSERT` is the
    /// outbox entry, and no `OUTBOX#` item is written).
    pub(super) fn with_desk_events(
        op: &'static str,
        decision: &DeskDecision,
        message: &mut Item,
    ) -> Result<(), CommitError> {
        Self::with_change_events(op, &decision.events, decision.conversation.version, message)
    }

    /// Adds `events`, of the change that gave the conversation `version`, to
    /// the item of a message the same transaction inserts (a desk change's
    /// first new message, or the inbound message its conversation was
    /// offered with).
    pub(super) fn with_change_events(
        op: &'static str,
        events: &[EventEnvelope],
        version: u64,
        message: &mut Item,
    ) -> Result<(), CommitError> {
        if events.is_empty() {
            return Ok(());
        }
        let events = serde_json::to_string(events).map_err(commit_error(op))?;
        message.insert(EVENTS.into(), AttributeValue::S(events));
        message.insert(EVENTS_VERSION.into(), number(version));
        Ok(())
    }

    /// The events of a conversation's changes, as the relay got them:
    /// inbound messages' first (by time, from their wamid items), then desk
    /// changes' (by version, from `OUTBOX#` items and messages) (for
    /// inspection and republishing by hand; the relay reads the stream).
    #[tracing::instrument(skip(self), err)]
    pub async fn outbox(&self, id: ConversationId) -> Result<Vec<EventEnvelope>, StoreError> {
        let op = "outbox";
        let outbox_items = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::outbox_pk(id)))
            .consistent_read(true);
        let mut desk: Vec<(u64, Vec<EventEnvelope>)> = Vec::new();
        for item in self.query_all(op, outbox_items).await? {
            desk.push((version_of(&item, VERSION), item_events(op, &item)?));
        }
        let messages = self.messages_query(id);
        // Message items come in time order; their wamid items keep that order.
        let mut wamid_keys = Vec::new();
        for item in self.query_all(op, messages).await? {
            if item.contains_key(EVENTS) {
                desk.push((version_of(&item, EVENTS_VERSION), item_events(op, &item)?));
            }
            let message: Message = from_item(op, item)?;
            if let (Direction::Inbound, Some(wamid)) = (message.direction, &message.wamid) {
                wamid_keys.push(keys::wamid_pk(wamid));
            }
        }
        let mut inbound: HashMap<String, Vec<EventEnvelope>> = HashMap::new();
        for chunk in wamid_keys.chunks(BATCH_GET_KEYS) {
            let wanted = chunk
                .iter()
                .map(|pk| keys::key(pk.clone(), keys::WAMID_SK))
                .collect();
            for item in self.batch_get(op, wanted).await? {
                let pk = string(&item, keys::PK).unwrap_or_default();
                inbound.insert(pk, item_events(op, &item)?);
            }
        }
        desk.sort_by_key(|(version, _)| *version);
        Ok(wamid_keys
            .iter()
            .filter_map(|pk| inbound.remove(pk))
            .chain(desk.into_iter().map(|(_, events)| events))
            .flatten()
            .collect())
    }
}

fn version_of(item: &Item, name: &str) -> u64 {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or_default(),
        _ => 0,
    }
}

fn item_events(op: &'static str, item: &Item) -> Result<Vec<EventEnvelope>, StoreError> {
    match string(item, EVENTS) {
        Some(json) => serde_json::from_str(&json).map_err(store_error(op)),
        None => Ok(Vec::new()),
    }
}
