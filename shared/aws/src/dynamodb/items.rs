//! Entities to and from items, with serde_dynamo. `None` fields are left out of
//! items (not stored as NULL) so that `if_not_exists` and `attribute_not_exists`
//! mean what they say.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{de::DeserializeOwned, Serialize};
use wadesk_app::StoreError;
use wadesk_domain::{Agent, AgentId, Conversation, ConversationId, ExpectedVersion, Timestamp};

use super::keys::{self, Item};

pub fn to_item<T: Serialize>(
    operation: &'static str,
    value: &T,
    pk: String,
    sk: &str,
) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::new(operation, e))?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.extend(keys::key(pk, sk));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(
    operation: &'static str,
    item: Item,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::new(operation, e))
}

pub fn to_value<T: Serialize>(
    operation: &'static str,
    value: &T,
) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::new(operation, e))
}

pub fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

pub fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The condition of a write expecting `expected` (the one version
/// convention, `wadesk_domain::version`): the item not stored yet, or stored
/// at exactly that version. Its expression and the value the expression names.
pub fn version_condition(
    expected: ExpectedVersion,
) -> (&'static str, Option<HashMap<String, AttributeValue>>) {
    match expected {
        ExpectedVersion::Absent => ("attribute_not_exists(pk)", None),
        ExpectedVersion::Exactly(version) => (
            "version = :expected_version",
            Some(HashMap::from([(
                ":expected_version".to_owned(),
                number(version),
            )])),
        ),
    }
}

/// Sets the table's TTL attribute (epoch seconds) to `expiry`; `None` leaves
/// it out, so a put item no longer expires.
pub fn set_ttl(item: &mut Item, expiry: Option<Timestamp>) {
    match expiry {
        Some(at) => {
            item.insert(keys::TTL.into(), number(at.timestamp()));
        }
        None => {
            item.remove(keys::TTL);
        }
    }
}

/// The conversation with its `gsi1` attributes and its retention expiry as
/// `ttl` (finished ones only): every write of a conversation goes through
/// here, so `list_by_status` never misses one and a reopened one loses its
/// `ttl`.
pub fn conversation_item(
    operation: &'static str,
    conversation: &Conversation,
) -> Result<Item, StoreError> {
    let mut item = to_item(
        operation,
        conversation,
        keys::conversation_pk(conversation.id),
        keys::CONVERSATION_SK,
    )?;
    set_ttl(&mut item, conversation.expires_at());
    item.insert(
        keys::GSI1_PK.into(),
        AttributeValue::S(keys::status_gsi_pk(conversation.status)),
    );
    item.insert(
        keys::GSI1_SK.into(),
        AttributeValue::S(keys::status_gsi_sk(conversation)),
    );
    Ok(item)
}

/// The agent with its `gsi1` attributes (the directory listing).
pub fn agent_item(operation: &'static str, agent: &Agent) -> Result<Item, StoreError> {
    let mut item = to_item(operation, agent, keys::agent_pk(&agent.id), keys::AGENT_SK)?;
    item.insert(
        keys::GSI1_PK.into(),
        AttributeValue::S(keys::AGENTS_GSI_PK.into()),
    );
    item.insert(
        keys::GSI1_SK.into(),
        AttributeValue::S(agent.id.to_string()),
    );
    Ok(item)
}

/// One of `Conversation::agent_links()`, in the agent's partition (key
/// `keys::agent_link_sk`).
pub fn agent_link_item(
    agent: &AgentId,
    sk: &str,
    conversation: ConversationId,
    relation: &str,
) -> Item {
    let mut item = keys::key(keys::agent_pk(agent), sk);
    item.insert(
        CONVERSATION_ID.into(),
        AttributeValue::S(conversation.to_string()),
    );
    item.insert("relation".into(), AttributeValue::S(relation.to_owned()));
    item
}

/// The entry of a new conversation in its customer's history.
pub fn history_item(conversation: &Conversation) -> Item {
    let mut item = keys::key(
        keys::history_pk(&conversation.customer.wa_id),
        &keys::history_sk(conversation.created_at, conversation.id),
    );
    item.insert(
        CONVERSATION_ID.into(),
        AttributeValue::S(conversation.id.to_string()),
    );
    item.insert(
        "phone_number_id".into(),
        AttributeValue::S(conversation.customer.phone_number_id.to_string()),
    );
    set_ttl(&mut item, conversation.expires_at());
    item
}

/// The attribute link and history items point to their conversation with.
pub const CONVERSATION_ID: &str = "conversation_id";

/// The conversation a link or history item points to.
pub fn conversation_id(operation: &'static str, item: &Item) -> Result<ConversationId, StoreError> {
    string(item, CONVERSATION_ID)
        .ok_or_else(|| StoreError::new(operation, "item without conversation_id"))?
        .parse()
        .map_err(|e| StoreError::new(operation, e))
}
