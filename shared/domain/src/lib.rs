//! The wadesk domain: customers, conversations, messages and the 24-hour
//! customer-service window, as a pure state machine.
//!
//! Nothing here performs I/O or knows about AWS. Each rule is a function that takes
//! the current state, a command and the time (from a [`Clock`]) and returns the new
//! state plus the [`DomainEvent`]s it caused. Adapters persist what these functions
//! decide; they never decide themselves.

pub mod access;
pub mod agent;
pub mod analytics;
pub mod audit;
pub mod channel;
pub mod clock;
pub mod conversation;
pub mod customer;
pub mod desk;
pub mod events;
#[cfg(test)]
mod fixtures;
pub mod ids;
pub mod inbound;
pub mod live;
pub mod masking;
pub mod media;
pub mod message;
pub mod protection;
pub mod status;
pub mod version;
pub mod window;
pub mod window_fire;

pub use access::{identify, may_access, Actor, NotInDirectory};
pub use agent::{Agent, AgentProfile, AgentState, Queue, Role};
pub use audit::{AuditAction, AuditRecord};
pub use channel::{Channel, TemplateRef};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use conversation::{Conversation, ConversationStatus, Origin};
pub use customer::{
    Customer, CustomerChange, LiveSession, OptOut, OptOutConfirmation, OptOutFollowUp,
};
pub use desk::{AgentChange, DeskContext, DeskDecision, DeskError, OfferTimeout};
pub use events::{DomainEvent, EventEnvelope};
pub use ids::{
    AgentId, ConversationId, CustomerKey, IdError, MessageId, PhoneNumberId, QueueId, WaId, Wamid,
};
pub use inbound::{
    decide_inbound, starts_awaiting_offer, ConversationChange, InboundDecision, InboundMessage,
    StartOffer,
};
pub use message::{
    Attachment, DeliveryStatus, Direction, Message, MessageContent, StatusUpdate, TemplateContent,
};
pub use status::{
    decide_send_failure, decide_send_outcome_unknown, decide_status, StatusDecision,
    OUTCOME_UNKNOWN_TITLE,
};
pub use version::ExpectedVersion;
pub use window::Window;
pub use window_fire::{decide_window_fire, TimerInput, WindowFire, WindowFireDecision};
