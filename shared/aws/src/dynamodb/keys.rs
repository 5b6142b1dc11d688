//! Key formats of the single table (see docs/table-design.md).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use std::collections::HashMap;
use wadesk_domain::conversation::ARCHIVE_LINK;
use wadesk_domain::{
    AgentId, Conversation, ConversationId, ConversationStatus, CustomerKey, MessageId,
    PhoneNumberId, QueueId, Timestamp, WaId, Wamid,
};

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
    format!("{CONVERSATION_PK_PREFIX}{id}")
}
pub const CONVERSATION_PK_PREFIX: &str = "CONV#";
pub const CONVERSATION_SK: &str = "META";

/// Messages sort by time, then id: a Query on the conversation reads the
/// transcript oldest first.
pub fn message_sk(at: Timestamp, id: MessageId) -> String {
    format!("MSG#{}#{id}", sortable(at))
}

/// Fixed-width RFC 3339 with microseconds and `Z`: sorts as the time does.
fn sortable(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}
pub const MESSAGE_SK_PREFIX: &str = "MSG#";

pub fn wamid_pk(wamid: &Wamid) -> String {
    format!("WAMID#{wamid}")
}
pub const WAMID_SK: &str = "WAMID";

/// The agent's id is encoded ([`AgentId::key_part`]): a subject may hold `#`.
pub fn agent_pk(id: &AgentId) -> String {
    format!("AGENT#{}", id.key_part())
}
pub const AGENT_SK: &str = "PROFILE";
/// Every agent item carries this `gsi1pk` (and its id as `gsi1sk`): the
/// directory is one Query on `gsi1`.
pub const AGENTS_GSI_PK: &str = "AGENTS";

/// An agent's link to a conversation they see in their own lists; it lives in
/// the agent's partition, so a list is one Query. Live links (`CONV#{id}`) and
/// archive links (`ARCH#{created_at}#{id}`) have their own prefixes, so the
/// live lists never read the archive and the archive reads newest first.
pub fn agent_link_sk(conversation: &Conversation, relation: &str) -> String {
    if relation == ARCHIVE_LINK {
        format!(
            "{ARCHIVE_LINK_SK_PREFIX}{}#{}",
            sortable(conversation.created_at),
            conversation.id
        )
    } else {
        live_link_sk(conversation.id)
    }
}

pub fn live_link_sk(id: ConversationId) -> String {
    format!("{LIVE_LINK_SK_PREFIX}{id}")
}
pub const LIVE_LINK_SK_PREFIX: &str = "CONV#";
pub const ARCHIVE_LINK_SK_PREFIX: &str = "ARCH#";

/// The archive link position of a conversation created at `at` (a page bound).
pub fn archive_link_bound(at: Timestamp) -> String {
    format!("{ARCHIVE_LINK_SK_PREFIX}{}", sortable(at))
}

pub fn queue_pk(id: &QueueId) -> String {
    format!("QUEUE#{id}")
}
pub const QUEUE_SK: &str = "QUEUE";

pub const CONFIG_PK: &str = "CONFIG";
pub const WRAP_UP_REASONS_SK: &str = "WRAP_UP_REASONS";

/// Conversations by status on `gsi1`.
pub fn status_gsi_pk(status: ConversationStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// Within a status, oldest first: by the time it (last) entered a queue, else
/// its creation, then id (the embedded store's order).
pub fn status_gsi_sk(conversation: &Conversation) -> String {
    let (at, id) = conversation.queue_order();
    format!("{}#{id}", sortable(at))
}

/// The `gsi1sk` at or after which conversations queued at `at` start.
pub fn status_gsi_bound(at: Timestamp) -> String {
    sortable(at)
}

/// A customer's conversations across channels, by `wa_id`.
pub fn history_pk(wa_id: &WaId) -> String {
    format!("HIST#{wa_id}")
}

pub fn history_sk(created_at: Timestamp, id: ConversationId) -> String {
    format!("{HISTORY_SK_PREFIX}{}#{id}", sortable(created_at))
}
pub const HISTORY_SK_PREFIX: &str = "CONV#";

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// Hourly analytics counters of one scope (`ALL`, `AGENT#…`, `QUEUE#…`,
/// `CHANNEL#…`, `AGENT_QUEUE#…#…`): a time range of a scope is one Query.
pub fn stats_pk(scope: &wadesk_domain::analytics::Scope) -> String {
    format!("STATS#{}", scope.key())
}

/// The UTC hour of a counter item, `YYYY-MM-DDTHH`: sorts as the time does.
pub fn stats_sk(hour: Timestamp) -> String {
    hour.format(STATS_SK_FORMAT).to_string()
}
pub const STATS_SK_FORMAT: &str = "%Y-%m-%dT%H";

/// The transactional outbox of a conversation: one item per desk change that
/// emitted events and stored no message (a change's first new message, or an
/// inbound message's wamid item, carries them otherwise), written in the
/// change's own transaction and relayed to the bus by `functions/event-relay`
/// from the table's stream.
pub fn outbox_pk(id: ConversationId) -> String {
    format!("{OUTBOX_PK_PREFIX}{id}")
}
pub const OUTBOX_PK_PREFIX: &str = "OUTBOX#";

/// The conversation version the change produced, zero-padded so a Query on the
/// partition reads the changes in order.
pub fn outbox_sk(version: u64) -> String {
    format!("v{version:020}")
}

/// The marker of a counted event: claimed by one tally at a time, naming it.
pub fn event_marker_pk(id: uuid::Uuid) -> String {
    format!("EVENT#{id}")
}
pub const EVENT_MARKER_SK: &str = "EVENT";

/// The outcome of an analytics tally (committed, or abandoned): the events
/// whose markers name the tally count iff it says committed.
pub fn tally_pk(id: uuid::Uuid) -> String {
    format!("TALLY#{id}")
}
pub const TALLY_SK: &str = "TALLY";

/// The audit trail of one UTC day: a day (or a few) is one Query per day.
pub fn audit_pk(day: chrono::NaiveDate) -> String {
    format!("{AUDIT_PK_PREFIX}{}", day.format("%Y-%m-%d"))
}
pub const AUDIT_PK_PREFIX: &str = "AUDIT#";

/// Within a day, by time then id: read newest first.
pub fn audit_sk(at: Timestamp, id: uuid::Uuid) -> String {
    format!("{}#{id}", sortable(at))
}

/// The console sockets open now (live updates on AWS): one partition, read
/// whole by each push; items expire with `ttl` after the service's 2 h cap.
pub const LIVE_PK: &str = "LIVE";

pub fn live_connection_sk(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}
