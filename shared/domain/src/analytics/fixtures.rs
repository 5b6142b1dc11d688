//! Builders the analytics unit tests share.

use chrono::{DateTime, NaiveDate, Utc};

use super::Scope;
use crate::{AgentId, CustomerKey, PhoneNumberId, QueueId, Timestamp, WaId};

pub(super) fn at(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn agent(id: &str) -> AgentId {
    AgentId::parse(id).unwrap()
}

pub(super) fn queue(id: &str) -> QueueId {
    QueueId::parse(id).unwrap()
}

pub(super) fn channel() -> PhoneNumberId {
    PhoneNumberId::parse("100").unwrap()
}

pub(super) fn customer() -> CustomerKey {
    CustomerKey::new(channel(), WaId::parse("34600000001").unwrap())
}

pub(super) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub(super) fn all_scopes() -> Vec<Scope> {
    vec![
        Scope::All,
        Scope::Agent(agent("ana")),
        Scope::Queue(queue("sales")),
        Scope::Channel(channel()),
        Scope::AgentInQueue(agent("ana"), queue("sales")),
    ]
}
