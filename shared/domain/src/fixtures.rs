//! Builders the domain's unit tests share.

use chrono::{TimeZone, Utc};

use crate::{
    Agent, AgentId, Conversation, ConversationId, ConversationStatus, CustomerKey, Origin,
    PhoneNumberId, QueueId, Role, WaId,
};

pub(crate) fn agent(id: &str, role: Role, queue: &str) -> Agent {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Agent::new(
        AgentId::parse(id).unwrap(),
        id.to_owned(),
        role,
        vec![QueueId::parse(queue).unwrap()],
        2,
        now,
    )
}

pub(crate) fn conversation(status: ConversationStatus, owner: Option<&str>) -> Conversation {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    Conversation {
        id: ConversationId::generate(),
        customer: CustomerKey::new(
            PhoneNumberId::parse("100").unwrap(),
            WaId::parse("34600111222").unwrap(),
        ),
        customer_name: None,
        display_phone_number: "+1".into(),
        status,
        queue: QueueId::parse("sales").unwrap(),
        owner: owner.map(|o| AgentId::parse(o).unwrap()),
        participants: Vec::new(),
        origin: Origin::Customer,
        reopened_by: None,
        previous: None,
        created_at: now,
        updated_at: now,
        last_inbound_at: None,
        unanswered_since: None,
        handling_started_at: None,
        wrap_up_reason: None,
        done: false,
        offered_to: None,
        offered_at: None,
        queued_at: None,
        invited: None,
        pending_wrap_up: Vec::new(),
        answered: false,
        finished_at: None,
        retention_days: None,
        customer_window: None,
        version: 1,
    }
}
