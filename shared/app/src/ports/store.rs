use std::collections::HashMap;
use std::future::Future;

use super::{Page, PageRequest};

use wadesk_domain::{
    Channel, Conversation, ConversationId, Customer, CustomerChange, CustomerKey, EventEnvelope,
    InboundDecision, Message, MessageId, PhoneNumberId, Timestamp, Wamid,
};

/// A storage failure, with what was being done. The source is kept for logs and
/// never shown to callers.
#[derive(Debug, thiserror::Error)]
#[error("store operation `{operation}` failed")]
pub struct StoreError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

impl StoreError {
    /// The store refused the write for what it holds (an item over the
    /// store's size limit): no retry can ever store it.
    pub fn is_refused(&self) -> bool {
        self.source.downcast_ref::<Refused>().is_some()
    }
}

/// The source of a [`StoreError`] that no retry can fix: the store refuses
/// the item itself (DynamoDB: over 400 KB). Adapters wrap the store's error in
/// it; a failure of the store (throttling, an outage, a bug in a request) is
/// never `Refused`.
#[derive(Debug, thiserror::Error)]
#[error("the store refuses the item: {0}")]
pub struct Refused(pub String);

/// Why a conditional write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The WhatsApp message id is already stored: the delivery is a duplicate.
    /// Carries the events the first delivery recorded, to publish again.
    #[error("duplicate delivery")]
    Duplicate { events: Vec<EventEnvelope> },
    /// Someone else changed the state since it was read: read again and retry.
    #[error("concurrent change")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an inbound message needs to know, read in one round trip.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundContext {
    pub customer: Option<Customer>,
    pub channel: Option<Channel>,
}

/// Where a WhatsApp message id lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WamidRecord {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// The message's time: with its id, where it sorts in the transcript.
    pub message_at: Timestamp,
    pub customer: CustomerKey,
}

/// What a status callback needs: the message and its customer.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusContext {
    pub message: Message,
    pub customer: Option<Customer>,
}

/// Customers, conversations, messages and channels. Every write that guards an
/// invariant is conditional and atomic; no method reads then writes.
pub trait ConversationStore: Send + Sync + 'static {
    /// The customer and their channel, in one request.
    fn load_inbound_context(
        &self,
        key: &CustomerKey,
    ) -> impl Future<Output = Result<InboundContext, StoreError>> + Send;

    /// The customers and their channels of a webhook batch, in as few
    /// requests as the store allows (DynamoDB: one `BatchGetItem` per 100
    /// keys). A customer not stored yet is answered with what is known (its
    /// channel).
    fn load_inbound_contexts(
        &self,
        keys: &[CustomerKey],
    ) -> impl Future<Output = Result<HashMap<CustomerKey, InboundContext>, StoreError>> + Send;

    /// Writes the message, its wamid (once only), the conversation, the
    /// customer and the decision's events (the store's outbox: a relay
    /// publishes them) in one transaction, conditional on the customer's
    /// version.
    fn commit_inbound(
        &self,
        decision: &InboundDecision,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    fn find_wamid(
        &self,
        wamid: &Wamid,
    ) -> impl Future<Output = Result<Option<WamidRecord>, StoreError>> + Send;

    fn load_status_context(
        &self,
        record: &WamidRecord,
    ) -> impl Future<Output = Result<Option<StatusContext>, StoreError>> + Send;

    /// Moves a message's delivery status, conditional on the status it had; with
    /// the customer (window closed by 131047) in the same transaction.
    fn commit_status(
        &self,
        message: &Message,
        expected: Option<wadesk_domain::DeliveryStatus>,
        customer: Option<&CustomerChange>,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// Stores an outbound message (status `pending`) and its wamid.
    fn record_outbound(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    fn get_customer(
        &self,
        key: &CustomerKey,
    ) -> impl Future<Output = Result<Option<Customer>, StoreError>> + Send;

    /// Writes the customer if the stored one still has the change's expected
    /// version (`wadesk_domain::version`).
    fn save_customer(
        &self,
        change: &CustomerChange,
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    fn get_conversation(
        &self,
        id: ConversationId,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// The transcript, oldest first.
    fn list_messages(
        &self,
        id: ConversationId,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// One page of the transcript, oldest first.
    fn list_messages_page(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Message>, StoreError>> + Send;

    fn put_channel(&self, channel: &Channel)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_channel(
        &self,
        id: &PhoneNumberId,
    ) -> impl Future<Output = Result<Option<Channel>, StoreError>> + Send;
}
