//! Key formats of the single table (see docs/table-design.md).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use std::collections::HashMap;
use wadesk_domain::{ConversationId, CustomerKey, MessageId, PhoneNumberId, Timestamp, Wamid};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const TTL: &str = "ttl";

pub type Item = HashMap<String, AttributeValue>;

pub fn customer_pk(key: &CustomerKey) -> String {
    format!("CUST#{}#{}", key.phone_number_id, key.wa_id)
}
pub const CUSTOMER_SK: &str = "PROFILE";

pub fn channel_pk(id: &PhoneNumberId) -> String {
    format!("CHAN#{id}")
}
pub const CHANNEL_SK: &str = "CHANNEL";

pub fn conversation_pk(id: ConversationId) -> String {
    format!("CONV#{id}")
}
pub const CONVERSATION_SK: &str = "META";

/// Messages sort by time, then id: a Query on the conversation reads the
/// transcript oldest first.
pub fn message_sk(at: Timestamp, id: MessageId) -> String {
    format!(
        "MSG#{}#{id}",
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}
pub const MESSAGE_SK_PREFIX: &str = "MSG#";

pub fn wamid_pk(wamid: &Wamid) -> String {
    format!("WAMID#{wamid}")
}
pub const WAMID_SK: &str = "WAMID";

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}
