use std::collections::BTreeMap;
use std::future::Future;

use wadesk_domain::protection::HistoryEntry;
use wadesk_domain::{
    Agent, AgentChange, AgentId, AuditRecord, Channel, Conversation, ConversationId,
    ConversationStatus, Customer, CustomerKey, DeskDecision, Message, PhoneNumberId, Queue,
    QueueId, Timestamp, WaId,
};

use crate::{CommitError, ConversationStore, Page, PageRequest, StoreError};

/// What one desk read asks for: any of a conversation, a customer, agents,
/// queues, a channel and the wrap-up reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskKeys {
    pub conversation: Option<ConversationId>,
    pub customer: Option<CustomerKey>,
    pub agents: Vec<AgentId>,
    pub queues: Vec<QueueId>,
    pub channel: Option<PhoneNumberId>,
    pub wrap_up_reasons: bool,
}

impl DeskKeys {
    /// Nothing to read: no round trip.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What a [`DeskKeys`] read found.
#[derive(Debug, Clone, Default)]
pub struct DeskItems {
    pub conversation: Option<Conversation>,
    pub customer: Option<Customer>,
    pub agents: BTreeMap<AgentId, Agent>,
    pub queues: BTreeMap<QueueId, Queue>,
    pub channel: Option<Channel>,
    /// Empty when none are configured, or none were asked for.
    pub wrap_up_reasons: Vec<String>,
}

/// What the agent desk needs beyond the conversation store: the directory, the
/// desk's atomic commits and the agents' and supervisors' lists.
pub trait DeskStore: ConversationStore {
    fn get_agent(
        &self,
        id: &AgentId,
    ) -> impl Future<Output = Result<Option<Agent>, StoreError>> + Send;

    /// The items a desk request reads, all in one round trip (one
    /// `BatchGetItem` on DynamoDB): a desk action's snapshot is its
    /// conversation, then this (`docs/product.md#94-request-budgets`).
    /// Whatever is not found is left out.
    fn read_desk(
        &self,
        keys: &DeskKeys,
    ) -> impl Future<Output = Result<DeskItems, StoreError>> + Send;

    fn list_agents(&self) -> impl Future<Output = Result<Vec<Agent>, StoreError>> + Send;

    /// Writes the agent if the stored one still has the change's expected
    /// version (`wadesk_domain::version`).
    fn save_agent(
        &self,
        change: &AgentChange,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    fn put_queue(&self, queue: &Queue) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_queue(
        &self,
        id: &QueueId,
    ) -> impl Future<Output = Result<Option<Queue>, StoreError>> + Send;

    fn put_wrap_up_reasons(
        &self,
        reasons: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_wrap_up_reasons(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Writes a desk decision in one transaction: the conversation (if it still has
    /// `before.version`), every agent (if still at its expected version), the
    /// customer's live-session mirror, the new messages, and the decision's
    /// events in the store's outbox (a transactional outbox: the events exist
    /// if and only if the change does; a relay publishes them afterwards).
    fn commit_desk(
        &self,
        decision: &DeskDecision,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// After WhatsApp accepted an outbound message: its wamid, on the stored
    /// message and as a wamid record (for delivery statuses).
    fn record_sent(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// Appends a record to the audit trail (kept for its own retention).
    fn record_audit(
        &self,
        record: &AuditRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One page of the audit trail of one UTC day, newest first.
    fn list_audit(
        &self,
        day: chrono::NaiveDate,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<AuditRecord>, StoreError>> + Send;

    /// The conversations live for an agent: those they own, are offered, are
    /// invited to, are in, or owe a wrap-up for. Never reads their archive, so
    /// its cost does not grow with the agent's history.
    fn list_live_for_agent(
        &self,
        agent: &AgentId,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;

    /// One page of an agent's archive (finished, not marked done), newest
    /// first by creation, created at `since` or later.
    fn list_archive(
        &self,
        agent: &AgentId,
        since: Timestamp,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Conversation>, StoreError>> + Send;

    /// Conversations with a status, oldest first.
    fn list_by_status(
        &self,
        status: ConversationStatus,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;

    /// One page of the conversations with a status, oldest first (by the time
    /// they last entered a queue, else their creation), from `since` on.
    fn list_by_status_page(
        &self,
        status: ConversationStatus,
        since: Timestamp,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Conversation>, StoreError>> + Send;

    /// Every conversation of a customer (by `wa_id`, across channels), newest first.
    fn list_customer_history(
        &self,
        wa_id: &WaId,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;

    /// One page of a customer's history, newest first.
    fn list_customer_history_page(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Conversation>, StoreError>> + Send;

    /// One page of a customer's history entries as stored, oldest first,
    /// across channels: listed even when their conversation is already gone
    /// (an interrupted erasure finishes them).
    fn list_history_entries(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<HistoryEntry>, StoreError>> + Send;

    /// Deletes these messages of a conversation and their wamid records (at
    /// most [`wadesk_domain::protection::STEP_MESSAGES`]). Deleting what is
    /// already gone is no error: an erasure step may run twice.
    fn erase_messages(
        &self,
        conversation: ConversationId,
        messages: &[Message],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes at most `limit` of the conversation's event outbox items;
    /// answers how many it deleted (fewer than `limit`: none left).
    fn erase_outbox(
        &self,
        conversation: ConversationId,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Deletes a conversation (if still stored and not live), its agent links
    /// and its history entry, together; answers how many agent links went.
    /// A conversation that came back to life (reopened) is a `Conflict`.
    fn erase_conversation(
        &self,
        entry: &HistoryEntry,
        conversation: Option<&Conversation>,
    ) -> impl Future<Output = Result<u32, CommitError>> + Send;

    /// Deletes the customer's profile if it is still at its version with no
    /// live session (a message arriving meanwhile is a `Conflict`).
    fn erase_customer(
        &self,
        customer: &Customer,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// Gives these messages the conversation's expiry (none for a live one),
    /// if the stored conversation still has it: a conversation changed since
    /// it was read is a `Conflict` (its own change re-applies its expiry).
    fn apply_retention(
        &self,
        conversation: &Conversation,
        messages: &[Message],
    ) -> impl Future<Output = Result<(), CommitError>> + Send;
}
