use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wadesk_domain::{
    Channel, Conversation, ConversationChange, ConversationId, Customer, CustomerKey,
    DeliveryStatus, EventEnvelope, InboundDecision, Message, PhoneNumberId, Wamid,
};

use super::lock;
use crate::{
    CommitError, ConversationStore, InboundContext, StatusContext, StoreError, WamidRecord,
};

#[derive(Debug, Default)]
struct State {
    customers: HashMap<CustomerKey, Customer>,
    conversations: HashMap<ConversationId, Conversation>,
    /// Per conversation, oldest first.
    messages: HashMap<ConversationId, Vec<Message>>,
    wamids: HashMap<Wamid, (WamidRecord, Vec<EventEnvelope>)>,
    channels: HashMap<PhoneNumberId, Channel>,
}

/// The embedded store: one lock around the whole state, so every commit is
/// atomic and every condition is checked against the state it changes.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedStore {
    state: Arc<Mutex<State>>,
}

impl EmbeddedStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every conversation, newest first (the local runner's inspection view).
    pub fn conversations(&self) -> Vec<Conversation> {
        let state = lock(&self.state);
        let mut all: Vec<_> = state.conversations.values().cloned().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        all
    }
}

fn insert_message(state: &mut State, message: &Message) {
    let list = state.messages.entry(message.conversation_id).or_default();
    let at = list.partition_point(|m| (m.at, m.id) <= (message.at, message.id));
    list.insert(at, message.clone());
}

fn check_customer_version(
    state: &State,
    key: &CustomerKey,
    expected: Option<u64>,
) -> Result<(), CommitError> {
    let stored = state.customers.get(key).map(|c| c.version);
    if stored == expected {
        Ok(())
    } else {
        Err(CommitError::Conflict)
    }
}

impl ConversationStore for EmbeddedStore {
    async fn load_inbound_context(&self, key: &CustomerKey) -> Result<InboundContext, StoreError> {
        let state = lock(&self.state);
        Ok(InboundContext {
            customer: state.customers.get(key).cloned(),
            channel: state.channels.get(&key.phone_number_id).cloned(),
        })
    }

    async fn commit_inbound(&self, decision: &InboundDecision) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        let wamid = decision.message.wamid.clone().ok_or_else(|| {
            CommitError::Store(StoreError::new(
                "commit_inbound",
                "inbound message without wamid",
            ))
        })?;
        if let Some((_, events)) = state.wamids.get(&wamid) {
            return Err(CommitError::Duplicate {
                events: events.clone(),
            });
        }
        let key = &decision.customer.key;
        check_customer_version(&state, key, decision.expected_customer_version)?;
        match &decision.conversation {
            ConversationChange::Started(conversation) => {
                if state.conversations.contains_key(&conversation.id) {
                    return Err(CommitError::Conflict);
                }
                state
                    .conversations
                    .insert(conversation.id, conversation.clone());
            }
            ConversationChange::Continued {
                id,
                expected_status,
                status,
                owner,
                handling_started_at,
                received_at,
            } => {
                let conversation = state
                    .conversations
                    .get_mut(id)
                    .filter(|c| c.status == *expected_status)
                    .ok_or(CommitError::Conflict)?;
                conversation.status = *status;
                if owner.is_some() {
                    conversation.owner.clone_from(owner);
                }
                if handling_started_at.is_some() {
                    conversation.handling_started_at = *handling_started_at;
                }
                conversation.last_inbound_at = Some(*received_at);
                conversation.unanswered_since.get_or_insert(*received_at);
                conversation.updated_at = *received_at;
            }
        }
        state.wamids.insert(
            wamid,
            (
                WamidRecord {
                    conversation_id: decision.message.conversation_id,
                    message_id: decision.message.id,
                    message_at: decision.message.at,
                    customer: key.clone(),
                },
                decision.events.clone(),
            ),
        );
        insert_message(&mut state, &decision.message);
        state
            .customers
            .insert(key.clone(), decision.customer.clone());
        Ok(())
    }

    async fn find_wamid(&self, wamid: &Wamid) -> Result<Option<WamidRecord>, StoreError> {
        Ok(lock(&self.state)
            .wamids
            .get(wamid)
            .map(|(record, _)| record.clone()))
    }

    async fn load_status_context(
        &self,
        record: &WamidRecord,
    ) -> Result<Option<StatusContext>, StoreError> {
        let state = lock(&self.state);
        let message = state
            .messages
            .get(&record.conversation_id)
            .and_then(|list| list.iter().find(|m| m.id == record.message_id))
            .cloned();
        Ok(message.map(|message| StatusContext {
            message,
            customer: state.customers.get(&record.customer).cloned(),
        }))
    }

    async fn commit_status(
        &self,
        message: &Message,
        expected: Option<DeliveryStatus>,
        customer: Option<&Customer>,
    ) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        if let Some(customer) = customer {
            check_customer_version(&state, &customer.key, Some(customer.version - 1))?;
        }
        let stored = state
            .messages
            .get_mut(&message.conversation_id)
            .and_then(|list| list.iter_mut().find(|m| m.id == message.id))
            .filter(|m| m.status == expected)
            .ok_or(CommitError::Conflict)?;
        stored.status = message.status;
        stored.error.clone_from(&message.error);
        if let Some(customer) = customer {
            state
                .customers
                .insert(customer.key.clone(), customer.clone());
        }
        Ok(())
    }

    async fn record_outbound(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        if let Some(wamid) = &message.wamid {
            if let Some((_, events)) = state.wamids.get(wamid) {
                return Err(CommitError::Duplicate {
                    events: events.clone(),
                });
            }
            state.wamids.insert(
                wamid.clone(),
                (
                    WamidRecord {
                        conversation_id: message.conversation_id,
                        message_id: message.id,
                        message_at: message.at,
                        customer: customer.clone(),
                    },
                    Vec::new(),
                ),
            );
        }
        insert_message(&mut state, message);
        Ok(())
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        Ok(lock(&self.state).customers.get(key).cloned())
    }

    async fn save_customer(
        &self,
        customer: &Customer,
        expected_version: u64,
    ) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        check_customer_version(&state, &customer.key, Some(expected_version))?;
        state
            .customers
            .insert(customer.key.clone(), customer.clone());
        Ok(())
    }

    async fn get_conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(lock(&self.state).conversations.get(&id).cloned())
    }

    async fn list_messages(&self, id: ConversationId) -> Result<Vec<Message>, StoreError> {
        Ok(lock(&self.state)
            .messages
            .get(&id)
            .cloned()
            .unwrap_or_default())
    }

    async fn put_channel(&self, channel: &Channel) -> Result<(), StoreError> {
        lock(&self.state)
            .channels
            .insert(channel.phone_number_id.clone(), channel.clone());
        Ok(())
    }

    async fn get_channel(&self, id: &PhoneNumberId) -> Result<Option<Channel>, StoreError> {
        Ok(lock(&self.state).channels.get(id).cloned())
    }
}
