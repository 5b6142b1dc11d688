use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use wadesk_domain::conversation::ARCHIVE_LINK;
use wadesk_domain::protection::{has_expired, HistoryEntry};
use wadesk_domain::{
    Agent, AgentChange, AgentId, AuditRecord, Channel, Conversation, ConversationChange,
    ConversationId, ConversationStatus, Customer, CustomerChange, CustomerKey, DeliveryStatus,
    DeskDecision, EventEnvelope, ExpectedVersion, InboundDecision, Message, PhoneNumberId, Queue,
    QueueId, Timestamp, WaId, Wamid,
};

use super::lock;
use crate::ports::{position, Page, PageRequest};
use crate::{
    CommitError, ConversationStore, DeskItems, DeskKeys, DeskStore, EventPublisher, InboundContext,
    PublishError, StatusContext, StoreError, WamidRecord,
};

#[derive(Debug, Default)]
struct State {
    customers: HashMap<CustomerKey, Customer>,
    conversations: HashMap<ConversationId, Conversation>,
    /// Per conversation, oldest first.
    messages: HashMap<ConversationId, Vec<Message>>,
    /// A B-tree, not a hash map: it grows with every message, and a hash map
    /// doubling under the store's one lock stalls every request while it moves.
    wamids: BTreeMap<Wamid, (WamidRecord, Vec<EventEnvelope>)>,
    channels: HashMap<PhoneNumberId, Channel>,
    agents: HashMap<AgentId, Agent>,
    queues: HashMap<QueueId, Queue>,
    wrap_up_reasons: Vec<String>,
    /// The audit trail, oldest first.
    audit: Vec<AuditRecord>,
    /// Events of committed inbound messages and desk decisions not yet
    /// relayed to the bus, oldest first: the DynamoDB adapter's outbox items,
    /// under the same lock as the changes that emitted them.
    outbox: Vec<EventEnvelope>,
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

    /// The outbox's events not yet relayed, oldest first (left in place).
    pub fn outbox(&self) -> Vec<EventEnvelope> {
        lock(&self.state).outbox.clone()
    }

    /// Takes every event from the outbox, oldest first: the caller now owns
    /// publishing them.
    pub fn take_outbox(&self) -> Vec<EventEnvelope> {
        std::mem::take(&mut lock(&self.state).outbox)
    }

    /// Relays the outbox to `bus` (what the event-relay Lambda does with the
    /// DynamoDB stream); answers how many events were published. If
    /// publishing fails the events go back to the front of the outbox, to be
    /// relayed again.
    pub async fn relay_outbox<E: EventPublisher>(&self, bus: &E) -> Result<usize, PublishError> {
        let events = self.take_outbox();
        if events.is_empty() {
            return Ok(0);
        }
        if let Err(error) = bus.publish(&events).await {
            let mut state = lock(&self.state);
            let newer = std::mem::replace(&mut state.outbox, events);
            state.outbox.extend(newer);
            return Err(error);
        }
        Ok(events.len())
    }

    /// Forgets every finished conversation whose retention expired by `now`,
    /// with its messages and their wamid records (DynamoDB's TTL does the
    /// same on AWS, some time after the expiry); answers the messages
    /// forgotten, whose files go with them
    /// (`wadesk_app::protection::delete_expired_files`). The local runner
    /// calls it whenever its clock moves.
    pub fn purge_expired(&self, now: Timestamp) -> Vec<Message> {
        let mut state = lock(&self.state);
        let expired: Vec<ConversationId> = state
            .conversations
            .values()
            .filter(|c| has_expired(c.expires_at(), now))
            .map(|c| c.id)
            .collect();
        let mut forgotten = Vec::new();
        for id in &expired {
            state.conversations.remove(id);
            if let Some(messages) = state.messages.remove(id) {
                for wamid in messages.iter().filter_map(|m| m.wamid.as_ref()) {
                    state.wamids.remove(wamid);
                }
                forgotten.extend(messages);
            }
        }
        forgotten
    }

    /// Every wamid record, by wamid (tests read what is left of a customer).
    pub fn wamid_records(&self) -> Vec<(Wamid, WamidRecord)> {
        lock(&self.state)
            .wamids
            .iter()
            .map(|(wamid, (record, _))| (wamid.clone(), record.clone()))
            .collect()
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

/// A write expecting `expected` of an item stored at `stored` (`None`: not
/// stored), as DynamoDB's condition takes or refuses it
/// (`wadesk_domain::version`).
fn check_version(stored: Option<u64>, expected: ExpectedVersion) -> Result<(), CommitError> {
    if expected.admits(stored) {
        Ok(())
    } else {
        Err(CommitError::Conflict)
    }
}

fn check_customer_version(
    state: &State,
    key: &CustomerKey,
    expected: ExpectedVersion,
) -> Result<(), CommitError> {
    check_version(state.customers.get(key).map(|c| c.version), expected)
}

impl ConversationStore for EmbeddedStore {
    async fn load_inbound_context(&self, key: &CustomerKey) -> Result<InboundContext, StoreError> {
        let state = lock(&self.state);
        Ok(InboundContext {
            customer: state.customers.get(key).cloned(),
            channel: state.channels.get(&key.phone_number_id).cloned(),
        })
    }

    async fn load_inbound_contexts(
        &self,
        keys: &[CustomerKey],
    ) -> Result<HashMap<CustomerKey, InboundContext>, StoreError> {
        let state = lock(&self.state);
        Ok(keys
            .iter()
            .map(|key| {
                let context = InboundContext {
                    customer: state.customers.get(key).cloned(),
                    channel: state.channels.get(&key.phone_number_id).cloned(),
                };
                (key.clone(), context)
            })
            .collect())
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
        if let Some(offer) = &decision.offer {
            let stored = state.agents.get(&offer.agent.agent.id).map(|a| a.version);
            check_version(stored, offer.agent.expected_version)?;
        }
        match &decision.conversation {
            ConversationChange::Started(conversation) => {
                if state.conversations.contains_key(&conversation.id) {
                    return Err(CommitError::Conflict);
                }
                state
                    .conversations
                    .insert(conversation.id, conversation.clone());
            }
            change @ ConversationChange::Continued {
                id,
                expected_status,
                ..
            } => {
                let conversation = state
                    .conversations
                    .get_mut(id)
                    .filter(|c| c.status == *expected_status)
                    .ok_or(CommitError::Conflict)?;
                change.apply(conversation);
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
        if let Some(agent) = decision
            .agent_load
            .as_ref()
            .and_then(|id| state.agents.get_mut(id))
        {
            agent.load += 1;
            agent.version += 1;
        }
        if let Some(offer) = &decision.offer {
            state
                .agents
                .insert(offer.agent.agent.id.clone(), offer.agent.agent.clone());
        }
        state
            .customers
            .insert(key.clone(), decision.customer.clone());
        // The outbox, as the DynamoDB adapter writes it in the transaction
        // (an offer's events on the message, not with the wamid's).
        state.outbox.extend(decision.events.iter().cloned());
        if let Some(offer) = &decision.offer {
            state.outbox.extend(offer.events.iter().cloned());
        }
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
        customer: Option<&CustomerChange>,
    ) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        if let Some(change) = customer {
            check_customer_version(&state, &change.customer.key, change.expected_version)?;
            // As DynamoDB's condition: the conversation keeping the copy exists.
            if let Some((id, _)) = change.live_window() {
                if !state.conversations.contains_key(&id) {
                    return Err(CommitError::Conflict);
                }
            }
        }
        let stored = state
            .messages
            .get_mut(&message.conversation_id)
            .and_then(|list| list.iter_mut().find(|m| m.id == message.id))
            .filter(|m| m.status == expected)
            .ok_or(CommitError::Conflict)?;
        stored.status = message.status;
        stored.error.clone_from(&message.error);
        if let Some(change) = customer {
            state
                .customers
                .insert(change.customer.key.clone(), change.customer.clone());
            if let Some((id, window)) = change.live_window() {
                if let Some(conversation) = state.conversations.get_mut(&id) {
                    conversation.customer_window = window;
                    conversation.version += 1;
                }
            }
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

    async fn save_customer(&self, change: &CustomerChange) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        let customer = &change.customer;
        check_customer_version(&state, &customer.key, change.expected_version)?;
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

    async fn list_messages_page(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let messages = self.list_messages(id).await?;
        Ok(Page::of_sorted(messages, page, |m| position(m.at, m.id)))
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

impl DeskStore for EmbeddedStore {
    async fn get_agent(&self, id: &AgentId) -> Result<Option<Agent>, StoreError> {
        Ok(lock(&self.state).agents.get(id).cloned())
    }

    async fn read_desk(&self, keys: &DeskKeys) -> Result<DeskItems, StoreError> {
        let state = lock(&self.state);
        Ok(DeskItems {
            conversation: keys
                .conversation
                .and_then(|id| state.conversations.get(&id).cloned()),
            customer: keys
                .customer
                .as_ref()
                .and_then(|key| state.customers.get(key).cloned()),
            agents: keys
                .agents
                .iter()
                .filter_map(|id| state.agents.get(id).map(|a| (id.clone(), a.clone())))
                .collect(),
            queues: keys
                .queues
                .iter()
                .filter_map(|id| state.queues.get(id).map(|q| (id.clone(), q.clone())))
                .collect(),
            channel: keys
                .channel
                .as_ref()
                .and_then(|id| state.channels.get(id).cloned()),
            wrap_up_reasons: if keys.wrap_up_reasons {
                state.wrap_up_reasons.clone()
            } else {
                Vec::new()
            },
        })
    }

    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let mut agents: Vec<_> = lock(&self.state).agents.values().cloned().collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(agents)
    }

    async fn save_agent(&self, change: &AgentChange) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        let stored = state.agents.get(&change.agent.id).map(|a| a.version);
        check_version(stored, change.expected_version)?;
        state
            .agents
            .insert(change.agent.id.clone(), change.agent.clone());
        Ok(())
    }

    async fn put_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        lock(&self.state)
            .queues
            .insert(queue.id.clone(), queue.clone());
        Ok(())
    }

    async fn get_queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError> {
        Ok(lock(&self.state).queues.get(id).cloned())
    }

    async fn put_wrap_up_reasons(&self, reasons: &[String]) -> Result<(), StoreError> {
        lock(&self.state).wrap_up_reasons = reasons.to_vec();
        Ok(())
    }

    async fn get_wrap_up_reasons(&self) -> Result<Vec<String>, StoreError> {
        Ok(lock(&self.state).wrap_up_reasons.clone())
    }

    async fn commit_desk(&self, decision: &DeskDecision) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        let before = &decision.before;
        let stored = state.conversations.get(&before.id).map(|c| c.version);
        check_version(stored, decision.expected_version())?;
        for change in &decision.agents {
            let stored = state.agents.get(&change.agent.id).map(|a| a.version);
            check_version(stored, change.expected_version)?;
        }
        if let Some(change) = &decision.customer {
            check_customer_version(&state, &change.customer.key, change.expected_version)?;
        }
        state
            .conversations
            .insert(decision.conversation.id, decision.conversation.clone());
        for change in &decision.agents {
            state
                .agents
                .insert(change.agent.id.clone(), change.agent.clone());
        }
        if let Some(change) = &decision.customer {
            state
                .customers
                .insert(change.customer.key.clone(), change.customer.clone());
        }
        for message in &decision.messages {
            insert_message(&mut state, message);
        }
        state.outbox.extend(decision.events.iter().cloned());
        Ok(())
    }

    async fn record_sent(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        let wamid = message.wamid.clone().ok_or_else(|| {
            CommitError::Store(StoreError::new("record_sent", "message without wamid"))
        })?;
        if state.wamids.contains_key(&wamid) {
            return Err(CommitError::Duplicate { events: Vec::new() });
        }
        let stored = state
            .messages
            .get_mut(&message.conversation_id)
            .and_then(|list| list.iter_mut().find(|m| m.id == message.id))
            .filter(|m| m.wamid.is_none())
            .ok_or(CommitError::Conflict)?;
        stored.wamid = Some(wamid.clone());
        state.wamids.insert(
            wamid,
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
        Ok(())
    }

    async fn record_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        lock(&self.state).audit.push(record.clone());
        Ok(())
    }

    async fn list_audit(
        &self,
        day: chrono::NaiveDate,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let mut list: Vec<AuditRecord> = lock(&self.state)
            .audit
            .iter()
            .filter(|r| r.at.date_naive() == day)
            .cloned()
            .collect();
        list.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
        Ok(Page::of_sorted_desc(list, page, |r| position(r.at, r.id)))
    }

    async fn list_live_for_agent(&self, agent: &AgentId) -> Result<Vec<Conversation>, StoreError> {
        let state = lock(&self.state);
        let mut list: Vec<_> = state
            .conversations
            .values()
            .filter(|c| {
                c.agent_links()
                    .iter()
                    .any(|(id, relation)| id == agent && *relation != ARCHIVE_LINK)
            })
            .cloned()
            .collect();
        list.sort_by_key(|c| (c.created_at, c.id));
        Ok(list)
    }

    async fn list_archive(
        &self,
        agent: &AgentId,
        since: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let mut list: Vec<_> = {
            let state = lock(&self.state);
            state
                .conversations
                .values()
                .filter(|c| {
                    c.created_at >= since
                        && c.agent_links()
                            .iter()
                            .any(|(id, relation)| id == agent && *relation == ARCHIVE_LINK)
                })
                .cloned()
                .collect()
        };
        list.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        Ok(Page::of_sorted_desc(list, page, |c| {
            position(c.created_at, c.id)
        }))
    }

    async fn list_by_status(
        &self,
        status: ConversationStatus,
    ) -> Result<Vec<Conversation>, StoreError> {
        let state = lock(&self.state);
        let mut list: Vec<_> = state
            .conversations
            .values()
            .filter(|c| c.status == status)
            .cloned()
            .collect();
        list.sort_by_key(Conversation::queue_order);
        Ok(list)
    }

    async fn list_by_status_page(
        &self,
        status: ConversationStatus,
        since: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let mut list = self.list_by_status(status).await?;
        list.retain(|c| c.queue_order().0 >= since);
        Ok(Page::of_sorted(list, page, |c| {
            let (at, id) = c.queue_order();
            position(at, id)
        }))
    }

    async fn list_customer_history(&self, wa_id: &WaId) -> Result<Vec<Conversation>, StoreError> {
        let state = lock(&self.state);
        let mut list: Vec<_> = state
            .conversations
            .values()
            .filter(|c| c.customer.wa_id == *wa_id)
            .cloned()
            .collect();
        list.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        Ok(list)
    }

    async fn list_customer_history_page(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let list = self.list_customer_history(wa_id).await?;
        Ok(Page::of_sorted_desc(list, page, |c| {
            position(c.created_at, c.id)
        }))
    }

    async fn list_history_entries(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let mut list = self.list_customer_history(wa_id).await?;
        list.reverse();
        let entries = list
            .into_iter()
            .map(|c| HistoryEntry {
                wa_id: c.customer.wa_id,
                conversation_id: c.id,
                phone_number_id: c.customer.phone_number_id,
                created_at: c.created_at,
            })
            .collect();
        Ok(Page::of_sorted(entries, page, |e| {
            position(e.created_at, e.conversation_id)
        }))
    }

    async fn erase_messages(
        &self,
        conversation: ConversationId,
        messages: &[Message],
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if let Some(list) = state.messages.get_mut(&conversation) {
            list.retain(|m| !messages.iter().any(|gone| gone.id == m.id));
        }
        for wamid in messages.iter().filter_map(|m| m.wamid.as_ref()) {
            state.wamids.remove(wamid);
        }
        Ok(())
    }

    async fn erase_outbox(
        &self,
        _conversation: ConversationId,
        _limit: usize,
    ) -> Result<usize, StoreError> {
        // The embedded outbox is only the relay's queue of events not yet
        // published (drained on every delivery), not stored data.
        Ok(0)
    }

    async fn erase_conversation(
        &self,
        entry: &HistoryEntry,
        _conversation: Option<&Conversation>,
    ) -> Result<u32, CommitError> {
        let mut state = lock(&self.state);
        let Some(stored) = state.conversations.get(&entry.conversation_id) else {
            return Ok(0);
        };
        if stored.status.is_live() {
            return Err(CommitError::Conflict);
        }
        let links = u32::try_from(stored.agent_links().len()).unwrap_or(u32::MAX);
        state.conversations.remove(&entry.conversation_id);
        if let Some(messages) = state.messages.remove(&entry.conversation_id) {
            for wamid in messages.iter().filter_map(|m| m.wamid.as_ref()) {
                state.wamids.remove(wamid);
            }
        }
        Ok(links)
    }

    async fn erase_customer(&self, customer: &Customer) -> Result<(), CommitError> {
        let mut state = lock(&self.state);
        match state.customers.get(&customer.key) {
            None => Ok(()),
            Some(stored)
                if ExpectedVersion::Exactly(customer.version).admits(Some(stored.version))
                    && stored.live.is_none() =>
            {
                state.customers.remove(&customer.key);
                Ok(())
            }
            Some(_) => Err(CommitError::Conflict),
        }
    }

    async fn apply_retention(
        &self,
        conversation: &Conversation,
        _messages: &[Message],
    ) -> Result<(), CommitError> {
        // Messages live and expire with their conversation here
        // (`EmbeddedStore::purge_expired`): only the condition to check.
        let state = lock(&self.state);
        match state.conversations.get(&conversation.id) {
            Some(stored) if stored.expires_at() == conversation.expires_at() => Ok(()),
            _ => Err(CommitError::Conflict),
        }
    }
}
