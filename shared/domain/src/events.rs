//! Domain events: facts in the past tense, published to the event bus.
//!
//! Every event id is derived from the fact it records, so a retried command
//! produces the same event id and consumers can count it once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    AgentId, ConversationId, ConversationStatus, CustomerKey, DeliveryStatus, MessageId, Origin,
    PhoneNumberId, QueueId, Timestamp, Wamid,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "detail")]
pub enum DomainEvent {
    ConversationStarted {
        conversation_id: ConversationId,
        customer: CustomerKey,
        queue: QueueId,
        status: ConversationStatus,
        origin: Origin,
        previous: Option<ConversationId>,
    },
    MessageReceived {
        conversation_id: ConversationId,
        customer: CustomerKey,
        message_id: MessageId,
        wamid: Wamid,
        message_type: String,
        queue: QueueId,
        owner: Option<AgentId>,
        conversation_status: ConversationStatus,
        /// WhatsApp's id of the file a customer sent (image, video, audio,
        /// document, sticker): what the media fetcher fetches.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<String>,
    },
    /// A customer replied to a conversation an agent had reopened or pushed.
    ReopenedConversationReplied {
        conversation_id: ConversationId,
        customer: CustomerKey,
        agent: AgentId,
        queue: QueueId,
    },
    MessageStatusChanged {
        conversation_id: ConversationId,
        message_id: MessageId,
        wamid: Wamid,
        status: DeliveryStatus,
        error_code: Option<i64>,
    },
    WindowExpired {
        customer: CustomerKey,
        expired_at: Timestamp,
        last_conversation: Option<ConversationId>,
    },
    /// WhatsApp refused a send with 131047: the window is closed before its time.
    WindowClosedEarly {
        customer: CustomerKey,
        error_code: i64,
    },
    CustomerOptedOut {
        customer: CustomerKey,
        wamid: Wamid,
        conversation_id: Option<ConversationId>,
        /// Status of the live session when `#STOP` arrived (a `reopened` one is a decline).
        session_status: Option<ConversationStatus>,
        /// Its owner then, whom the opt-out counts for (from the customer's
        /// mirror); `None` if it was queued, with the bot, or there was none.
        owner: Option<AgentId>,
    },
    CustomerOptedIn {
        customer: CustomerKey,
        wamid: Wamid,
    },
    ConversationOffered {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
    },
    /// An offer was not accepted in time: the agent went to RONA.
    OfferTimedOut {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
        channel: PhoneNumberId,
    },
    ConversationAccepted {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
    },
    /// An agent took a conversation; with `previous_owner`, overtook it.
    ConversationTaken {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
        previous_owner: Option<AgentId>,
    },
    AgentReplied {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
        channel: PhoneNumberId,
        message_id: MessageId,
        /// Seconds since the first unanswered customer message, for a first reply.
        response_seconds: Option<i64>,
        first_reply: bool,
    },
    ConversationTransferred {
        conversation_id: ConversationId,
        from: AgentId,
        to_agent: Option<AgentId>,
        to_queue: QueueId,
    },
    ConferenceInvited {
        conversation_id: ConversationId,
        owner: AgentId,
        guest: AgentId,
    },
    ConferenceJoined {
        conversation_id: ConversationId,
        guest: AgentId,
    },
    ConferenceLeft {
        conversation_id: ConversationId,
        guest: AgentId,
    },
    ConversationEnded {
        conversation_id: ConversationId,
        agent: AgentId,
        queue: QueueId,
    },
    ConversationFinished {
        conversation_id: ConversationId,
        customer: CustomerKey,
        agent: AgentId,
        queue: QueueId,
        reason: String,
        handling_seconds: Option<i64>,
    },
    AgentStateChanged {
        agent: AgentId,
        state: crate::AgentState,
    },
    /// An agent reopened a finished conversation (`initiated_by: agent_reopen`)
    /// or sent the utility template push (`push`).
    ChatReopened {
        conversation_id: ConversationId,
        customer: CustomerKey,
        agent: AgentId,
        queue: QueueId,
        initiated_by: Origin,
    },
    /// The customer answered a reopened conversation with `#STOP`.
    ReopenDeclined {
        conversation_id: ConversationId,
        customer: CustomerKey,
        agent: AgentId,
        queue: QueueId,
    },
    /// An admin asked for the customer's data to be erased, and step `step`
    /// of it is due (`erased`: what the steps before it removed). The
    /// erasure queue delivers it to the erasure worker, which publishes the
    /// next step until nothing is left (`docs/product.md#11-data-protection`).
    CustomerErasureRequested {
        customer: CustomerKey,
        requested_by: AgentId,
        step: u32,
        erased: crate::protection::ErasureCounts,
        /// The history position up to which only other channels' entries
        /// were found (the same `wa_id` on another number): the next step
        /// reads on from there, so no step reads more than a few pages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Nothing of the customer is stored any more (analytics counts stay).
    CustomerErased {
        customer: CustomerKey,
        requested_by: AgentId,
        erased: crate::protection::ErasureCounts,
    },
    /// A conversation's retention expiry changed: it finished (set) or is
    /// live again (cleared). Its transcript follows, a page at a time, by the
    /// retention worker (`docs/product.md#11-data-protection`).
    ConversationExpiryChanged {
        conversation_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Timestamp>,
    },
    /// A conversation's transcript, from message `after` on (`None`: from
    /// its start), is to take the conversation's current expiry: the rest of
    /// a long one, or a message recorded after the change that set it (an
    /// automatic reply, an opt-out confirmation). The retention worker does
    /// it a page at a time.
    RetentionContinues {
        conversation_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
}

impl DomainEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ConversationStarted { .. } => "ConversationStarted",
            Self::MessageReceived { .. } => "MessageReceived",
            Self::ReopenedConversationReplied { .. } => "ReopenedConversationReplied",
            Self::MessageStatusChanged { .. } => "MessageStatusChanged",
            Self::WindowExpired { .. } => "WindowExpired",
            Self::WindowClosedEarly { .. } => "WindowClosedEarly",
            Self::CustomerOptedOut { .. } => "CustomerOptedOut",
            Self::CustomerOptedIn { .. } => "CustomerOptedIn",
            Self::ConversationOffered { .. } => "ConversationOffered",
            Self::OfferTimedOut { .. } => "OfferTimedOut",
            Self::ConversationAccepted { .. } => "ConversationAccepted",
            Self::ConversationTaken { .. } => "ConversationTaken",
            Self::AgentReplied { .. } => "AgentReplied",
            Self::ConversationTransferred { .. } => "ConversationTransferred",
            Self::ConferenceInvited { .. } => "ConferenceInvited",
            Self::ConferenceJoined { .. } => "ConferenceJoined",
            Self::ConferenceLeft { .. } => "ConferenceLeft",
            Self::ConversationEnded { .. } => "ConversationEnded",
            Self::ConversationFinished { .. } => "ConversationFinished",
            Self::AgentStateChanged { .. } => "AgentStateChanged",
            Self::ChatReopened { .. } => "ChatReopened",
            Self::ReopenDeclined { .. } => "ReopenDeclined",
            Self::CustomerErasureRequested { .. } => "CustomerErasureRequested",
            Self::CustomerErased { .. } => "CustomerErased",
            Self::RetentionContinues { .. } => "RetentionContinues",
            Self::ConversationExpiryChanged { .. } => "ConversationExpiryChanged",
        }
    }

    /// What makes this fact unique; the event id is derived from it. Desk events
    /// carry the conversation version they produced (see `EventEnvelope::for_change`).
    fn natural_key(&self, at: Timestamp) -> String {
        let ty = self.type_name();
        match self {
            Self::ConversationStarted {
                conversation_id, ..
            }
            | Self::ReopenedConversationReplied {
                conversation_id, ..
            } => format!("{ty}/{conversation_id}/{}", at.timestamp_micros()),
            Self::MessageReceived { wamid, .. }
            | Self::CustomerOptedOut { wamid, .. }
            | Self::CustomerOptedIn { wamid, .. } => format!("{ty}/{wamid}"),
            Self::MessageStatusChanged { wamid, status, .. } => {
                format!("{ty}/{wamid}/{}", serde_json::json!(status))
            }
            Self::WindowExpired {
                customer,
                expired_at,
                ..
            } => format!(
                "{ty}/{}/{}/{}",
                customer.phone_number_id,
                customer.wa_id,
                expired_at.timestamp()
            ),
            Self::AgentStateChanged { agent, .. } => {
                format!("{ty}/{agent}/{}", at.timestamp_micros())
            }
            Self::ConversationOffered {
                conversation_id, ..
            }
            | Self::OfferTimedOut {
                conversation_id, ..
            }
            | Self::ConversationAccepted {
                conversation_id, ..
            }
            | Self::ConversationTaken {
                conversation_id, ..
            }
            | Self::AgentReplied {
                conversation_id, ..
            }
            | Self::ConversationTransferred {
                conversation_id, ..
            }
            | Self::ConferenceInvited {
                conversation_id, ..
            }
            | Self::ConferenceJoined {
                conversation_id, ..
            }
            | Self::ConferenceLeft {
                conversation_id, ..
            }
            | Self::ConversationEnded {
                conversation_id, ..
            }
            | Self::ConversationFinished {
                conversation_id, ..
            }
            | Self::ChatReopened {
                conversation_id, ..
            }
            | Self::ReopenDeclined {
                conversation_id, ..
            }
            | Self::ConversationExpiryChanged {
                conversation_id, ..
            } => {
                format!("{ty}/{conversation_id}/{}", at.timestamp_micros())
            }
            Self::CustomerErasureRequested { customer, step, .. } => format!(
                "{ty}/{}/{}/{}/{step}",
                customer.phone_number_id,
                customer.wa_id,
                at.timestamp_micros()
            ),
            Self::CustomerErased { customer, .. } => format!(
                "{ty}/{}/{}/{}",
                customer.phone_number_id,
                customer.wa_id,
                at.timestamp_micros()
            ),
            Self::RetentionContinues {
                conversation_id,
                after: Some(after),
            } => format!("{ty}/{conversation_id}/{after}"),
            Self::RetentionContinues {
                conversation_id,
                after: None,
            } => format!("{ty}/{conversation_id}/{}", at.timestamp_micros()),
            Self::WindowClosedEarly { customer, .. } => format!(
                "{ty}/{}/{}/{}",
                customer.phone_number_id,
                customer.wa_id,
                at.timestamp_micros()
            ),
        }
    }
}

/// An event with its identity and time, as it travels on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: Uuid,
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: DomainEvent,
}

/// Namespace of wadesk event ids (a random v4 fixed once).
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6a0b_0f5e_2c4d_4f0e_9d7b_3e1a_52c8_91f4);

impl EventEnvelope {
    pub fn new(event: DomainEvent, at: Timestamp) -> Self {
        let id = Uuid::new_v5(&EVENT_NAMESPACE, event.natural_key(at).as_bytes());
        Self { id, at, event }
    }

    pub fn type_name(&self) -> &'static str {
        self.event.type_name()
    }

    /// An event caused by the change that gave `subject` (a conversation, an
    /// agent) its `version`: unique, and the same when the change is redelivered.
    pub fn for_change(
        event: DomainEvent,
        subject: impl std::fmt::Display,
        version: u64,
        at: Timestamp,
    ) -> Self {
        let key = format!("{}/{subject}/v{version}", event.type_name());
        Self {
            id: Uuid::new_v5(&EVENT_NAMESPACE, key.as_bytes()),
            at,
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PhoneNumberId, WaId};
    use chrono::Utc;

    #[test]
    fn envelope_json_shape_is_stable() {
        let at = Utc::now();
        let key = CustomerKey::new(
            PhoneNumberId::parse("1").unwrap(),
            WaId::parse("2").unwrap(),
        );
        let envelope = EventEnvelope::new(
            DomainEvent::CustomerOptedIn {
                customer: key.clone(),
                wamid: Wamid::parse("wamid.X").unwrap(),
            },
            at,
        );
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["type"], "CustomerOptedIn");
        assert_eq!(json["detail"]["customer"]["wa_id"], "2");
        assert!(json["id"].is_string());
        let back: EventEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, envelope);
        // The same fact, redelivered later, has the same id.
        let again = EventEnvelope::new(envelope.event.clone(), at + chrono::Duration::hours(1));
        assert_eq!(again.id, envelope.id);
    }
}
