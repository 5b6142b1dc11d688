//! The agent desk's side of the table: the directory, desk commits, and the
//! agents' and supervisors' lists (see docs/table-design.md).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use serde::{Deserialize, Serialize};
use wadesk_app::{CommitError, DeskItems, DeskKeys, DeskStore, Page, PageRequest, StoreError};
use wadesk_domain::protection::HistoryEntry;
use wadesk_domain::{
    Agent, AgentChange, AgentId, AuditRecord, Conversation, ConversationId, ConversationStatus,
    Customer, CustomerKey, DeskDecision, Message, Queue, QueueId, Timestamp, WaId,
};

use super::error::{commit_error, store_error};
use super::items::{
    agent_item, agent_link_item, conversation_id, conversation_item, from_item, history_item,
    number, set_ttl, string, to_item, to_value, version_condition, CONVERSATION_ID,
};
use super::keys::{self, Item};
use super::store::{message_item, wamid_item, DynamoStore, OUTBOUND_WAMID_TTL};

/// BatchGetItem reads at most this many keys per request.
const BATCH_GET_MAX: usize = 100;

/// What an item of a desk read is, by its partition key.
#[derive(Debug, Clone, Copy)]
enum DeskItem {
    Conversation,
    Customer,
    Agent,
    Queue,
    Channel,
    WrapUpReasons,
}

/// The wrap-up reasons item: one list, replaced whole by the admin.
#[derive(Serialize, Deserialize)]
struct WrapUpReasons {
    #[serde(default)]
    reasons: Vec<String>,
}

impl DynamoStore {
    /// Conversations by id, in no particular order: ⌈n/100⌉ consistent
    /// BatchGetItem requests. Ids whose conversation is gone are skipped.
    async fn get_conversations(
        &self,
        op: &'static str,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut conversations = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET_MAX) {
            let keys = chunk
                .iter()
                .map(|id| keys::key(keys::conversation_pk(*id), keys::CONVERSATION_SK))
                .collect();
            for item in self.batch_get(op, keys).await? {
                conversations.push(from_item(op, item)?);
            }
        }
        Ok(conversations)
    }

    /// The conversation ids a Query of link or history items names, in its order.
    async fn linked_ids(
        &self,
        op: &'static str,
        pk: String,
        prefix: &str,
        newest_first: bool,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .projection_expression(CONVERSATION_ID)
            .scan_index_forward(!newest_first)
            .consistent_read(true);
        self.query_all(op, query)
            .await?
            .iter()
            .map(|item| conversation_id(op, item))
            .collect()
    }

    /// Every item of one `gsi1` partition, in `gsi1sk` order.
    async fn query_gsi1(&self, op: &'static str, gsi1pk: String) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :gsi1pk")
            .expression_attribute_values(":gsi1pk", AttributeValue::S(gsi1pk));
        self.query_all(op, query).await
    }

    /// The agent, if the stored one is still at `expected_version`.
    pub(super) fn put_agent(
        &self,
        op: &'static str,
        change: &AgentChange,
    ) -> Result<TransactWriteItem, CommitError> {
        let (condition, values) = version_condition(change.expected_version);
        let put = self
            .put(agent_item(op, &change.agent)?)
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(commit_error(op))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The conversation, if the stored one is still at the version the
    /// decision was made on.
    fn put_desk_conversation(
        &self,
        op: &'static str,
        decision: &DeskDecision,
    ) -> Result<TransactWriteItem, CommitError> {
        let (condition, values) = version_condition(decision.expected_version());
        let put = self
            .put(conversation_item(op, &decision.conversation)?)
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(commit_error(op))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The agent links that change: added or changed ones put, removed ones
    /// deleted (a link that moves between live and archive is both: its key
    /// changes). Unchanged links cost nothing.
    fn link_writes(
        &self,
        op: &'static str,
        decision: &DeskDecision,
    ) -> Result<Vec<TransactWriteItem>, CommitError> {
        let id = decision.conversation.id;
        let links = |conversation: &Conversation| -> BTreeMap<AgentId, (String, &'static str)> {
            conversation
                .agent_links()
                .into_iter()
                .map(|(agent, relation)| {
                    (
                        agent,
                        (keys::agent_link_sk(conversation, relation), relation),
                    )
                })
                .collect()
        };
        let before = links(&decision.before);
        let after = links(&decision.conversation);
        let mut writes = Vec::new();
        for (agent, link) in &after {
            if before.get(agent) != Some(link) {
                let (sk, relation) = link;
                let mut item = agent_link_item(agent, sk, id, relation);
                set_ttl(&mut item, decision.conversation.expires_at());
                writes.push(self.put_unconditional(op, item)?);
            }
        }
        for (agent, (sk, _)) in &before {
            if after.get(agent).is_some_and(|(after_sk, _)| after_sk == sk) {
                continue;
            }
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(keys::key(keys::agent_pk(agent), sk)))
                .build()
                .map_err(commit_error(op))?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        Ok(writes)
    }

    /// One page of link or history items of partition `pk` between `from` and
    /// `to` (sort keys), and the conversations they name, in the items' order.
    async fn linked_page(
        &self,
        op: &'static str,
        pk: String,
        (from, to): (String, String),
        newest_first: bool,
        page: &PageRequest,
        prefix: &str,
    ) -> Result<Page<Conversation>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .projection_expression("sk, conversation_id")
            .scan_index_forward(!newest_first)
            .consistent_read(true);
        let start = page
            .after
            .as_ref()
            .map(|after| keys::key(pk, &format!("{prefix}{after}")));
        let (items, more) = self.query_page(op, query, page.limit, start).await?;
        let ids = items
            .iter()
            .map(|item| conversation_id(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = more
            .then(|| {
                items
                    .last()
                    .and_then(|item| string(item, keys::SK))
                    .and_then(|sk| sk.strip_prefix(prefix).map(str::to_owned))
            })
            .flatten();
        let mut found: BTreeMap<ConversationId, Conversation> = self
            .get_conversations(op, &ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let items = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(Page { items, next })
    }
}

impl DeskStore for DynamoStore {
    #[tracing::instrument(skip_all, err)]
    async fn list_history_entries(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        self.history_entries(wa_id, page).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn erase_messages(
        &self,
        conversation: ConversationId,
        messages: &[Message],
    ) -> Result<(), StoreError> {
        self.delete_messages(conversation, messages).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn erase_outbox(
        &self,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.delete_outbox(conversation, limit).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn erase_conversation(
        &self,
        entry: &HistoryEntry,
        conversation: Option<&Conversation>,
    ) -> Result<u32, CommitError> {
        self.delete_conversation(entry, conversation).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn erase_customer(&self, customer: &Customer) -> Result<(), CommitError> {
        self.delete_customer(customer).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn apply_retention(
        &self,
        conversation: &Conversation,
        messages: &[Message],
    ) -> Result<(), CommitError> {
        self.stamp_retention(conversation, messages).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_agent(&self, id: &AgentId) -> Result<Option<Agent>, StoreError> {
        let op = "get_agent";
        self.get(op, keys::key(keys::agent_pk(id), keys::AGENT_SK))
            .await?
            .map(|item| from_item(op, item))
            .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn read_desk(&self, wanted: &DeskKeys) -> Result<DeskItems, StoreError> {
        let op = "read_desk";
        // Each item's partition key tells what it is: every kind asked for
        // lives in its own partition.
        let mut kinds: BTreeMap<String, DeskItem> = BTreeMap::new();
        let mut requested = Vec::new();
        let mut want = |pk: String, sk: &str, kind: DeskItem| {
            if let std::collections::btree_map::Entry::Vacant(entry) = kinds.entry(pk) {
                requested.push(keys::key(entry.key().clone(), sk));
                entry.insert(kind);
            }
        };
        if let Some(id) = wanted.conversation {
            want(
                keys::conversation_pk(id),
                keys::CONVERSATION_SK,
                DeskItem::Conversation,
            );
        }
        if let Some(customer) = &wanted.customer {
            want(
                keys::customer_pk(customer),
                keys::CUSTOMER_SK,
                DeskItem::Customer,
            );
        }
        for agent in &wanted.agents {
            want(keys::agent_pk(agent), keys::AGENT_SK, DeskItem::Agent);
        }
        for queue in &wanted.queues {
            want(keys::queue_pk(queue), keys::QUEUE_SK, DeskItem::Queue);
        }
        if let Some(channel) = &wanted.channel {
            want(
                keys::channel_pk(channel),
                keys::CHANNEL_SK,
                DeskItem::Channel,
            );
        }
        if wanted.wrap_up_reasons {
            want(
                keys::CONFIG_PK.to_owned(),
                keys::WRAP_UP_REASONS_SK,
                DeskItem::WrapUpReasons,
            );
        }
        let mut found = DeskItems::default();
        // One request unless a desk read ever names more than 100 items.
        for chunk in requested.chunks(BATCH_GET_MAX) {
            for item in self.batch_get(op, chunk.to_vec()).await? {
                let kind = string(&item, keys::PK).and_then(|pk| kinds.get(&pk).copied());
                match kind {
                    Some(DeskItem::Conversation) => found.conversation = Some(from_item(op, item)?),
                    Some(DeskItem::Customer) => found.customer = Some(from_item(op, item)?),
                    Some(DeskItem::Agent) => {
                        let agent: Agent = from_item(op, item)?;
                        found.agents.insert(agent.id.clone(), agent);
                    }
                    Some(DeskItem::Queue) => {
                        let queue: Queue = from_item(op, item)?;
                        found.queues.insert(queue.id.clone(), queue);
                    }
                    Some(DeskItem::Channel) => found.channel = Some(from_item(op, item)?),
                    Some(DeskItem::WrapUpReasons) => {
                        found.wrap_up_reasons = from_item::<WrapUpReasons>(op, item)?.reasons;
                    }
                    None => return Err(StoreError::new(op, "an item nobody asked for")),
                }
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let op = "list_agents";
        let mut agents = self
            .query_gsi1(op, keys::AGENTS_GSI_PK.to_owned())
            .await?
            .into_iter()
            .map(|item| from_item::<Agent>(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        // `gsi1sk` is the id already; sorting again pins the port's order.
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(agents)
    }

    #[tracing::instrument(skip_all, err)]
    async fn save_agent(&self, change: &AgentChange) -> Result<(), CommitError> {
        let op = "save_agent";
        let (condition, values) = version_condition(change.expected_version);
        let put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(agent_item(op, &change.agent)?))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_conditional_check_failed_exception()
                        || s.is_transaction_conflict_exception()
                }) =>
            {
                Err(CommitError::Conflict)
            }
            Err(e) => Err(commit_error(op)(e)),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn put_queue(&self, queue: &Queue) -> Result<(), StoreError> {
        let op = "put_queue";
        let item = to_item(op, queue, keys::queue_pk(&queue.id), keys::QUEUE_SK)?;
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error(op))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_queue(&self, id: &QueueId) -> Result<Option<Queue>, StoreError> {
        let op = "get_queue";
        self.get(op, keys::key(keys::queue_pk(id), keys::QUEUE_SK))
            .await?
            .map(|item| from_item(op, item))
            .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn put_wrap_up_reasons(&self, reasons: &[String]) -> Result<(), StoreError> {
        let op = "put_wrap_up_reasons";
        let item = to_item(
            op,
            &WrapUpReasons {
                reasons: reasons.to_vec(),
            },
            keys::CONFIG_PK.to_owned(),
            keys::WRAP_UP_REASONS_SK,
        )?;
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error(op))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_wrap_up_reasons(&self) -> Result<Vec<String>, StoreError> {
        let op = "get_wrap_up_reasons";
        let item = self
            .get(
                op,
                keys::key(keys::CONFIG_PK.to_owned(), keys::WRAP_UP_REASONS_SK),
            )
            .await?;
        Ok(match item {
            Some(item) => from_item::<WrapUpReasons>(op, item)?.reasons,
            None => Vec::new(),
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn commit_desk(&self, decision: &DeskDecision) -> Result<(), CommitError> {
        let op = "commit_desk";
        let mut items = vec![self.put_desk_conversation(op, decision)?];
        for change in &decision.agents {
            items.push(self.put_agent(op, change)?);
        }
        if let Some(change) = &decision.customer {
            items.push(self.put_customer(op, &change.customer, change.expected_version)?);
        }
        let expiry = decision.conversation.expires_at();
        for (index, message) in decision.messages.iter().enumerate() {
            let mut item = message_item(op, message, expiry)?;
            // The first new message carries the decision's events: its
            // insert is the outbox entry (no `OUTBOX#` item to write).
            if index == 0 {
                Self::with_desk_events(op, decision, &mut item)?;
            }
            items.push(self.put_message_item(op, item)?);
        }
        items.extend(self.link_writes(op, decision)?);
        // Finishing or reopening moves the retention expiry: the history entry
        // follows in the same transaction (the transcript follows in bounded
        // steps: `wadesk_app::protection::apply_retention`).
        if decision.before.expires_at() != expiry {
            items.push(self.put_unconditional(op, history_item(&decision.conversation))?);
        }
        // The events go in the same transaction (on the first new message,
        // or in an outbox item when there is none): they exist if and only
        // if the change does, and the relay publishes them from the stream.
        items.extend(self.outbox_write(op, decision)?);
        self.transact(op, items).await.map_err(CommitError::from)
    }

    #[tracing::instrument(skip_all, err)]
    async fn record_sent(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> Result<(), CommitError> {
        let op = "record_sent";
        let wamid = message
            .wamid
            .as_ref()
            .ok_or_else(|| CommitError::Store(StoreError::new(op, "message without wamid")))?;
        // Two single writes side by side instead of one transaction (which
        // bills each item twice): the wamid item, for delivery statuses, and
        // the wamid on the message, which must be stored and not yet sent (a
        // second wamid for it would orphan the first one's statuses). One
        // lands without the other only if the store fails one or this process
        // dies between them, and neither half is worse than what a failed
        // transaction leaves (nothing recorded): the wamid item alone lets
        // the message's statuses apply (the first one moves it off `pending`,
        // so no retry resends it); the message's wamid alone marks it sent,
        // and its statuses find no message, as when nothing is recorded.
        let record = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(wamid_item(
                op,
                wamid,
                message,
                customer,
                &[],
                OUTBOUND_WAMID_TTL,
            )?))
            .condition_expression("attribute_not_exists(pk)")
            .send();
        let mark = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(message_key(message)))
            .update_expression("SET wamid = :wamid")
            // The same wamid again is the retry of a try whose wamid item
            // was lost: it completes it.
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(wamid) OR wamid = :wamid)",
            )
            .expression_attribute_values(":wamid", to_value(op, wamid)?)
            .send();
        let (recorded, marked) = tokio::join!(record, mark);
        let recorded = written(op, recorded)?;
        let marked = written(op, marked)?;
        match (recorded, marked) {
            (true, true) => Ok(()),
            // Recorded before (an earlier try's message write, if lost, is
            // completed by this one's).
            (false, _) => Err(CommitError::Duplicate { events: Vec::new() }),
            // The message is not stored, or has a wamid already: nothing of
            // this one may stay.
            (true, false) => {
                self.client()
                    .delete_item()
                    .table_name(self.table())
                    .set_key(Some(keys::key(keys::wamid_pk(wamid), keys::WAMID_SK)))
                    .condition_expression("message_id = :message_id")
                    .expression_attribute_values(
                        ":message_id",
                        AttributeValue::S(message.id.to_string()),
                    )
                    .send()
                    .await
                    .map_err(commit_error(op))?;
                Err(CommitError::Conflict)
            }
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn record_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let op = "record_audit";
        let mut item = to_item(
            op,
            record,
            keys::audit_pk(record.at.date_naive()),
            &keys::audit_sk(record.at, record.id),
        )?;
        item.insert(keys::TTL.into(), number(record.expires_at().timestamp()));
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(store_error(op))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_audit(
        &self,
        day: chrono::NaiveDate,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let op = "list_audit";
        let pk = keys::audit_pk(day);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .scan_index_forward(false);
        let start = page.after.as_ref().map(|after| keys::key(pk, after));
        let (items, more) = self.query_page(op, query, page.limit, start).await?;
        let records = items
            .into_iter()
            .map(|item| from_item::<AuditRecord>(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = more
            .then(|| records.last().map(|r| keys::audit_sk(r.at, r.id)))
            .flatten();
        Ok(Page {
            items: records,
            next,
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_live_for_agent(&self, agent: &AgentId) -> Result<Vec<Conversation>, StoreError> {
        let op = "list_live_for_agent";
        let ids = self
            .linked_ids(op, keys::agent_pk(agent), keys::LIVE_LINK_SK_PREFIX, false)
            .await?;
        let mut list = self.get_conversations(op, &ids).await?;
        list.sort_by_key(|c| (c.created_at, c.id));
        Ok(list)
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_archive(
        &self,
        agent: &AgentId,
        since: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        // `~` sorts after every character of an RFC 3339 time: the end of the
        // archive prefix.
        let bounds = (
            keys::archive_link_bound(since),
            format!("{}~", keys::ARCHIVE_LINK_SK_PREFIX),
        );
        self.linked_page(
            "list_archive",
            keys::agent_pk(agent),
            bounds,
            true,
            page,
            keys::ARCHIVE_LINK_SK_PREFIX,
        )
        .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_by_status(
        &self,
        status: ConversationStatus,
    ) -> Result<Vec<Conversation>, StoreError> {
        let op = "list_by_status";
        // `gsi1sk` is (queued or created time, id): the index order is the
        // port's order, oldest first.
        self.query_gsi1(op, keys::status_gsi_pk(status))
            .await?
            .into_iter()
            .map(|item| from_item(op, item))
            .collect()
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_by_status_page(
        &self,
        status: ConversationStatus,
        since: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let op = "list_by_status_page";
        let gsi1pk = keys::status_gsi_pk(status);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :gsi1pk AND gsi1sk >= :since")
            .expression_attribute_values(":gsi1pk", AttributeValue::S(gsi1pk.clone()))
            .expression_attribute_values(
                ":since",
                AttributeValue::S(keys::status_gsi_bound(since)),
            );
        // An index's start key names the item too: the position ends with
        // the conversation's id.
        let start = match &page.after {
            None => None,
            Some(after) => {
                let id: ConversationId = after
                    .rsplit_once('#')
                    .and_then(|(_, id)| id.parse().ok())
                    .ok_or_else(|| StoreError::new(op, "malformed page position"))?;
                let mut key = keys::key(keys::conversation_pk(id), keys::CONVERSATION_SK);
                key.insert(keys::GSI1_PK.into(), AttributeValue::S(gsi1pk));
                key.insert(keys::GSI1_SK.into(), AttributeValue::S(after.clone()));
                Some(key)
            }
        };
        let (items, more) = self.query_page(op, query, page.limit, start).await?;
        let conversations = items
            .into_iter()
            .map(|item| from_item::<Conversation>(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = more
            .then(|| conversations.last().map(keys::status_gsi_sk))
            .flatten();
        Ok(Page {
            items: conversations,
            next,
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_customer_history(&self, wa_id: &WaId) -> Result<Vec<Conversation>, StoreError> {
        let op = "list_customer_history";
        let ids = self
            .linked_ids(op, keys::history_pk(wa_id), keys::HISTORY_SK_PREFIX, true)
            .await?;
        let mut list = self.get_conversations(op, &ids).await?;
        // BatchGetItem answers in any order.
        list.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        Ok(list)
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_customer_history_page(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let bounds = (
            keys::HISTORY_SK_PREFIX.to_owned(),
            format!("{}~", keys::HISTORY_SK_PREFIX),
        );
        self.linked_page(
            "list_customer_history_page",
            keys::history_pk(wa_id),
            bounds,
            true,
            page,
            keys::HISTORY_SK_PREFIX,
        )
        .await
    }
}

fn message_key(message: &Message) -> Item {
    keys::key(
        keys::conversation_pk(message.conversation_id),
        &keys::message_sk(message.at, message.id),
    )
}

/// Whether a conditional single write was written (`false`: its condition
/// failed).
fn written<T, E>(
    op: &'static str,
    outcome: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
    >,
) -> Result<bool, CommitError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match outcome {
        Ok(_) => Ok(true),
        Err(error)
            if error.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(error) => Err(commit_error(op)(error)),
    }
}
