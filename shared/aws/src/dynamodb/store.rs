use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use chrono::Duration;
use tracing::Instrument;
use wadesk_app::ports::position;
use wadesk_app::ports::Refused;
use wadesk_app::{
    CommitError, ConversationStore, InboundContext, Page, PageRequest, StatusContext, StoreError,
    WamidRecord,
};
use wadesk_domain::{
    Channel, Conversation, ConversationChange, ConversationId, Customer, CustomerChange,
    CustomerKey, DeliveryStatus, EventEnvelope, ExpectedVersion, InboundDecision, Message,
    PhoneNumberId, Wamid, Window,
};

use super::error::{cancellation, commit_error, item_refused, store_error, Cancelled};
use super::items::{
    agent_link_item, conversation_item, from_item, history_item, number, set_ttl, string, to_item,
    to_value, version_condition,
};
use super::keys::{self, Item};
use super::outbox::EVENTS;

/// How long a WhatsApp message id is remembered: WhatsApp retries for up to
/// 7 days, and status callbacks for our own messages can come later still.
const INBOUND_WAMID_TTL: i64 = 8;
/// The most keys one `BatchGetItem` takes.
pub(super) const BATCH_GET_KEYS: usize = 100;
pub(super) const OUTBOUND_WAMID_TTL: i64 = 30;

/// The conversation and desk store on one DynamoDB table (single-table design).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads up to 100 items by key in one request (plus retries of any the
    /// service left unprocessed).
    pub(super) async fn batch_get(
        &self,
        op: &'static str,
        keys: Vec<Item>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(store_error(op))?,
        );
        while let Some(request) = pending.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(store_error(op))?;
            if let Some(items) = output.responses().and_then(|r| r.get(&self.table)) {
                found.extend(items.iter().cloned());
            }
            pending = output
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .filter(|k| !k.keys().is_empty())
                .cloned();
        }
        Ok(found)
    }

    pub(super) async fn get(
        &self,
        op: &'static str,
        key: Item,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error(op))?;
        Ok(output.item)
    }

    pub(super) fn put(&self, item: Item) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        Put::builder().table_name(&self.table).set_item(Some(item))
    }

    /// The customer, if the stored one is still at `expected`.
    pub(super) fn put_customer(
        &self,
        op: &'static str,
        customer: &Customer,
        expected: ExpectedVersion,
    ) -> Result<TransactWriteItem, CommitError> {
        let item = to_item(
            op,
            customer,
            keys::customer_pk(&customer.key),
            keys::CUSTOMER_SK,
        )?;
        let (condition, values) = version_condition(expected);
        let put = self
            .put(item)
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(commit_error(op))?)
            .build())
    }

    /// A new message, expiring with its conversation (`expiry`: the
    /// conversation's, `None` while it is live).
    pub(super) fn put_message(
        &self,
        op: &'static str,
        message: &Message,
        expiry: Option<wadesk_domain::Timestamp>,
    ) -> Result<TransactWriteItem, CommitError> {
        self.put_message_item(op, message_item(op, message, expiry)?)
    }

    /// A new message's item, put only if it does not exist yet.
    pub(super) fn put_message_item(
        &self,
        op: &'static str,
        item: Item,
    ) -> Result<TransactWriteItem, CommitError> {
        Ok(TransactWriteItem::builder()
            .put(
                self.put(item)
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(commit_error(op))?,
            )
            .build())
    }

    pub(super) fn put_wamid(
        &self,
        op: &'static str,
        wamid: &Wamid,
        message: &Message,
        customer: &CustomerKey,
        events: &[EventEnvelope],
        ttl_days: i64,
    ) -> Result<TransactWriteItem, CommitError> {
        let item = wamid_item(op, wamid, message, customer, events, ttl_days)?;
        Ok(TransactWriteItem::builder()
            .put(
                self.put(item)
                    .condition_expression("attribute_not_exists(pk)")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(commit_error(op))?,
            )
            .build())
    }

    fn conversation_write(
        &self,
        op: &'static str,
        change: &ConversationChange,
    ) -> Result<TransactWriteItem, CommitError> {
        match change {
            ConversationChange::Started(conversation) => {
                let item = conversation_item(op, conversation)?;
                Ok(TransactWriteItem::builder()
                    .put(
                        self.put(item)
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(commit_error(op))?,
                    )
                    .build())
            }
            ConversationChange::Continued {
                id,
                expected_status,
                status,
                owner,
                handling_started_at,
                received_at,
                last_inbound_at,
                changed_at,
                customer_window,
            } => {
                // The status index moves with the status; `gsi1sk` (queued or
                // created time) does not change here. The version bump keeps
                // desk decisions made before this message from committing.
                // The same update as `ConversationChange::apply`: a late
                // message's change names no `last_inbound_at`.
                let mut set = vec![
                    "#status = :status",
                    "gsi1pk = :gsi1pk",
                    "updated_at = :changed",
                    "unanswered_since = if_not_exists(unanswered_since, :received)",
                    "version = if_not_exists(version, :zero) + :one",
                ];
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(keys::key(
                        keys::conversation_pk(*id),
                        keys::CONVERSATION_SK,
                    )))
                    .condition_expression("#status = :expected_status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", to_value(op, status)?)
                    .expression_attribute_values(
                        ":gsi1pk",
                        AttributeValue::S(keys::status_gsi_pk(*status)),
                    )
                    .expression_attribute_values(":zero", number(0))
                    .expression_attribute_values(":one", number(1))
                    .expression_attribute_values(":expected_status", to_value(op, expected_status)?)
                    .expression_attribute_values(":received", to_value(op, received_at)?)
                    .expression_attribute_values(":changed", to_value(op, changed_at)?);
                if let Some(latest) = last_inbound_at {
                    set.push("last_inbound_at = :latest");
                    update = update.expression_attribute_values(":latest", to_value(op, latest)?);
                }
                if let Some(window) = customer_window {
                    set.push("customer_window = :window");
                    update = update.expression_attribute_values(":window", to_value(op, window)?);
                }
                if let Some(owner) = owner {
                    set.push("#owner = :owner");
                    set.push("participants = :participants");
                    update = update
                        .expression_attribute_names("#owner", "owner")
                        .expression_attribute_values(":owner", to_value(op, owner)?)
                        .expression_attribute_values(
                            ":participants",
                            to_value(op, &vec![owner.clone()])?,
                        );
                }
                if let Some(started) = handling_started_at {
                    set.push("handling_started_at = :handling");
                    update =
                        update.expression_attribute_values(":handling", to_value(op, started)?);
                }
                let update = update
                    .update_expression(format!("SET {}", set.join(", ")))
                    .build()
                    .map_err(commit_error(op))?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
        }
    }

    /// The conversation's copy of its customer's window, written with the
    /// customer (the version bump makes a desk decision read before it
    /// read again, so it cannot write the old copy back).
    fn conversation_window(
        &self,
        op: &'static str,
        id: ConversationId,
        window: Option<&Window>,
    ) -> Result<TransactWriteItem, CommitError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(
                keys::conversation_pk(id),
                keys::CONVERSATION_SK,
            )))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", number(1));
        let update = match window {
            Some(window) => update
                .update_expression("SET customer_window = :window ADD version :one")
                .expression_attribute_values(":window", to_value(op, window)?),
            None => update.update_expression("REMOVE customer_window ADD version :one"),
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(commit_error(op))?)
            .build())
    }

    /// A plain Put of an item no condition guards (the transaction's other
    /// conditions do).
    pub(super) fn put_unconditional(
        &self,
        op: &'static str,
        item: Item,
    ) -> Result<TransactWriteItem, CommitError> {
        Ok(TransactWriteItem::builder()
            .put(self.put(item).build().map_err(commit_error(op))?)
            .build())
    }

    /// A conversation's message items in time order (strongly consistent).
    pub(super) fn messages_query(&self, id: ConversationId) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::conversation_pk(id)))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::MESSAGE_SK_PREFIX.into()),
            )
            .consistent_read(true)
    }

    /// Every item of a Query, all pages.
    pub(super) async fn query_all(
        &self,
        op: &'static str,
        query: QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        query
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(store_error(op))
    }

    /// One page of a Query: at most `limit` items after `start` (the key of
    /// the last item of the page before), and whether more may follow.
    pub(super) async fn query_page(
        &self,
        op: &'static str,
        query: QueryFluentBuilder,
        limit: usize,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let output = query
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(store_error(op))?;
        let more = output.last_evaluated_key.is_some();
        Ok((output.items.unwrap_or_default(), more))
    }

    pub(super) async fn transact(
        &self,
        op: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactFailure> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                if let Some(reason) = item_refused(&error) {
                    return TransactFailure::Store(StoreError::new(op, Refused(reason)));
                }
                match cancellation(&error) {
                    Some(Cancelled::Condition { index, old }) => {
                        TransactFailure::Condition { index, old }
                    }
                    Some(Cancelled::Conflict) => TransactFailure::Conflict,
                    None => TransactFailure::Store(StoreError::new(op, error)),
                }
            })
    }

    /// The events a wamid item recorded (a duplicate delivery reads what its
    /// first delivery started from them).
    async fn recorded_events(
        &self,
        op: &'static str,
        wamid: &Wamid,
        old: Option<Item>,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let item = match old {
            Some(item) => Some(item),
            None => {
                self.get(op, keys::key(keys::wamid_pk(wamid), keys::WAMID_SK))
                    .await?
            }
        };
        let events = item.as_ref().and_then(|i| string(i, EVENTS));
        match events {
            Some(json) => serde_json::from_str(&json).map_err(store_error(op)),
            None => Ok(Vec::new()),
        }
    }
}

/// A wamid's item: where its message lives, and the events an inbound
/// message's delivery emitted.
pub(super) fn wamid_item(
    op: &'static str,
    wamid: &Wamid,
    message: &Message,
    customer: &CustomerKey,
    events: &[EventEnvelope],
    ttl_days: i64,
) -> Result<Item, CommitError> {
    let mut item = keys::key(keys::wamid_pk(wamid), keys::WAMID_SK);
    item.insert(
        "conversation_id".into(),
        AttributeValue::S(message.conversation_id.to_string()),
    );
    item.insert(
        "message_id".into(),
        AttributeValue::S(message.id.to_string()),
    );
    item.insert("message_at".into(), to_value(op, &message.at)?);
    item.insert("customer".into(), to_value(op, customer)?);
    // An inbound message's events: kept for a duplicate delivery, and
    // relayed from this item's insert (its outbox entry). Without events
    // (an outbound message's) the item carries none, and the relay's
    // mapping never sees it.
    if !events.is_empty() {
        let events = serde_json::to_string(events).map_err(commit_error(op))?;
        item.insert(EVENTS.into(), AttributeValue::S(events));
    }
    item.insert(
        keys::TTL.into(),
        number((message.at + Duration::days(ttl_days)).timestamp()),
    );
    Ok(item)
}

/// A message's item, expiring with its conversation (`expiry`: the
/// conversation's, `None` while it is live).
pub(super) fn message_item(
    op: &'static str,
    message: &Message,
    expiry: Option<wadesk_domain::Timestamp>,
) -> Result<Item, CommitError> {
    let mut item = to_item(
        op,
        message,
        keys::conversation_pk(message.conversation_id),
        &keys::message_sk(message.at, message.id),
    )?;
    set_ttl(&mut item, expiry);
    Ok(item)
}

/// The expiry of a conversation an inbound message starts (chat disabled:
/// finished at once); a continued one is live.
fn started_expiry(change: &ConversationChange) -> Option<wadesk_domain::Timestamp> {
    match change {
        ConversationChange::Started(conversation) => conversation.expires_at(),
        ConversationChange::Continued { .. } => None,
    }
}

impl DynamoStore {
    /// An inbound message's item. An offer made with it carries its events
    /// here (the message's own are on the wamid item).
    fn put_inbound_message(
        &self,
        op: &'static str,
        decision: &InboundDecision,
    ) -> Result<TransactWriteItem, CommitError> {
        let mut item = message_item(
            op,
            &decision.message,
            started_expiry(&decision.conversation),
        )?;
        if let (Some(offer), ConversationChange::Started(conversation)) =
            (&decision.offer, &decision.conversation)
        {
            Self::with_change_events(op, &offer.events, conversation.version, &mut item)?;
        }
        self.put_message_item(op, item)
    }
}

pub(super) enum TransactFailure {
    Condition { index: usize, old: Option<Item> },
    Conflict,
    Store(StoreError),
}

/// Any failed condition or concurrent transaction means "re-read and retry";
/// callers that tell a duplicate apart match on the failure themselves.
impl From<TransactFailure> for CommitError {
    fn from(failure: TransactFailure) -> Self {
        match failure {
            TransactFailure::Condition { .. } | TransactFailure::Conflict => Self::Conflict,
            TransactFailure::Store(error) => Self::Store(error),
        }
    }
}

impl ConversationStore for DynamoStore {
    #[tracing::instrument(skip_all, err)]
    async fn load_inbound_context(&self, key: &CustomerKey) -> Result<InboundContext, StoreError> {
        let op = "load_inbound_context";
        let customer_pk = keys::customer_pk(key);
        let items = self
            .batch_get(
                op,
                vec![
                    keys::key(customer_pk.clone(), keys::CUSTOMER_SK),
                    keys::key(keys::channel_pk(&key.phone_number_id), keys::CHANNEL_SK),
                ],
            )
            .await?;
        let mut context = InboundContext::default();
        for item in items {
            if string(&item, keys::PK).as_deref() == Some(customer_pk.as_str()) {
                context.customer = Some(from_item(op, item)?);
            } else {
                context.channel = Some(from_item(op, item)?);
            }
        }
        Ok(context)
    }

    #[tracing::instrument(skip_all, err)]
    async fn load_inbound_contexts(
        &self,
        keys: &[CustomerKey],
    ) -> Result<HashMap<CustomerKey, InboundContext>, StoreError> {
        let op = "load_inbound_contexts";
        let customers: HashMap<String, &CustomerKey> = keys
            .iter()
            .map(|key| (keys::customer_pk(key), key))
            .collect();
        let channels: BTreeSet<&PhoneNumberId> = keys.iter().map(|k| &k.phone_number_id).collect();
        let wanted: Vec<Item> = customers
            .keys()
            .map(|pk| keys::key(pk.clone(), keys::CUSTOMER_SK))
            .chain(
                channels
                    .iter()
                    .map(|id| keys::key(keys::channel_pk(id), keys::CHANNEL_SK)),
            )
            .collect();
        // BatchGetItem takes at most 100 keys: the chunks are read side by
        // side, so a batch of 100 customers and their channel is still one
        // round trip.
        let mut reads = tokio::task::JoinSet::new();
        for chunk in wanted.chunks(BATCH_GET_KEYS) {
            let (store, chunk) = (self.clone(), chunk.to_vec());
            reads.spawn(async move { store.batch_get(op, chunk).await }.in_current_span());
        }
        let mut found = Vec::with_capacity(wanted.len());
        while let Some(read) = reads.join_next().await {
            found.extend(read.map_err(store_error(op))??);
        }
        let mut stored_customers = HashMap::new();
        let mut stored_channels: HashMap<PhoneNumberId, Channel> = HashMap::new();
        for item in found {
            let pk = string(&item, keys::PK).unwrap_or_default();
            if let Some(key) = customers.get(&pk) {
                stored_customers.insert((*key).clone(), from_item::<Customer>(op, item)?);
            } else {
                let channel: Channel = from_item(op, item)?;
                stored_channels.insert(channel.phone_number_id.clone(), channel);
            }
        }
        Ok(keys
            .iter()
            .map(|key| {
                let context = InboundContext {
                    customer: stored_customers.get(key).cloned(),
                    channel: stored_channels.get(&key.phone_number_id).cloned(),
                };
                (key.clone(), context)
            })
            .collect())
    }

    #[tracing::instrument(skip_all, err)]
    async fn commit_inbound(&self, decision: &InboundDecision) -> Result<(), CommitError> {
        let op = "commit_inbound";
        let message = &decision.message;
        let wamid = message.wamid.as_ref().ok_or_else(|| {
            CommitError::Store(StoreError::new(op, "inbound message without wamid"))
        })?;
        // The wamid item goes first: its index tells a duplicate from a
        // conflict. It carries the message's events: its insert on the
        // table's stream is what the relay publishes them from, so they are
        // published if and only if this commits.
        let mut items = vec![
            self.put_wamid(
                op,
                wamid,
                message,
                &decision.customer.key,
                &decision.events,
                INBOUND_WAMID_TTL,
            )?,
            self.put_customer(op, &decision.customer, decision.expected_customer_version)?,
            self.conversation_write(op, &decision.conversation)?,
            self.put_inbound_message(op, decision)?,
        ];
        // The agents' links and the customer's history follow the conversation
        // in the same transaction, so the lists never disagree with it.
        match &decision.conversation {
            ConversationChange::Started(conversation) => {
                items.push(self.put_unconditional(op, history_item(conversation))?);
                for (agent, relation) in conversation.agent_links() {
                    let sk = keys::agent_link_sk(conversation, relation);
                    let mut link = agent_link_item(&agent, &sk, conversation.id, relation);
                    set_ttl(&mut link, conversation.expires_at());
                    items.push(self.put_unconditional(op, link)?);
                }
            }
            // A reopened conversation becoming active with its reopening agent:
            // that agent owns it now.
            ConversationChange::Continued {
                id,
                owner: Some(owner),
                ..
            } => items.push(self.put_unconditional(
                op,
                agent_link_item(owner, &keys::live_link_sk(*id), *id, "owner"),
            )?),
            ConversationChange::Continued { .. } => {}
        }
        // Offered as it starts: the agent is written on the version routing
        // read, as a desk commit writes agents (another offer that took them
        // first cancels this one).
        if let Some(offer) = &decision.offer {
            items.push(self.put_agent(op, &offer.agent)?);
        }
        // Active with the reopening agent, even above their limit: a plain
        // increment (and version bump, so their pending decisions re-read).
        if let Some(agent) = &decision.agent_load {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(keys::key(keys::agent_pk(agent), keys::AGENT_SK)))
                .update_expression("ADD #load :one, version :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#load", "load")
                .expression_attribute_values(":one", number(1))
                .build()
                .map_err(commit_error(op))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self.transact(op, items).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Condition { index: 0, old }) => Err(CommitError::Duplicate {
                events: self.recorded_events(op, wamid, old).await?,
            }),
            Err(TransactFailure::Condition { .. } | TransactFailure::Conflict) => {
                Err(CommitError::Conflict)
            }
            Err(TransactFailure::Store(error)) => Err(error.into()),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn find_wamid(&self, wamid: &Wamid) -> Result<Option<WamidRecord>, StoreError> {
        let op = "find_wamid";
        let Some(item) = self
            .get(op, keys::key(keys::wamid_pk(wamid), keys::WAMID_SK))
            .await?
        else {
            return Ok(None);
        };
        #[derive(serde::Deserialize)]
        struct Stored {
            conversation_id: ConversationId,
            message_id: wadesk_domain::MessageId,
            message_at: wadesk_domain::Timestamp,
            customer: CustomerKey,
        }
        let stored: Stored = from_item(op, item)?;
        Ok(Some(WamidRecord {
            conversation_id: stored.conversation_id,
            message_id: stored.message_id,
            message_at: stored.message_at,
            customer: stored.customer,
        }))
    }

    #[tracing::instrument(skip_all, err)]
    async fn load_status_context(
        &self,
        record: &WamidRecord,
    ) -> Result<Option<StatusContext>, StoreError> {
        let op = "load_status_context";
        let customer_pk = keys::customer_pk(&record.customer);
        let items = self
            .batch_get(
                op,
                vec![
                    keys::key(
                        keys::conversation_pk(record.conversation_id),
                        &keys::message_sk(record.message_at, record.message_id),
                    ),
                    keys::key(customer_pk.clone(), keys::CUSTOMER_SK),
                ],
            )
            .await?;
        let mut message = None;
        let mut customer = None;
        for item in items {
            if string(&item, keys::PK).as_deref() == Some(customer_pk.as_str()) {
                customer = Some(from_item(op, item)?);
            } else {
                message = Some(from_item(op, item)?);
            }
        }
        Ok(message.map(|message| StatusContext { message, customer }))
    }

    #[tracing::instrument(skip_all, err)]
    async fn commit_status(
        &self,
        message: &Message,
        expected: Option<DeliveryStatus>,
        customer: Option<&CustomerChange>,
    ) -> Result<(), CommitError> {
        let op = "commit_status";
        let mut set = vec!["#status = :status"];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(
                keys::conversation_pk(message.conversation_id),
                &keys::message_sk(message.at, message.id),
            )))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", to_value(op, &message.status)?);
        update = match expected {
            Some(expected) => update
                .condition_expression("#status = :expected")
                .expression_attribute_values(":expected", to_value(op, &expected)?),
            None => update
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#status)"),
        };
        if let Some(error) = &message.error {
            set.push("#error = :error");
            update = update
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", to_value(op, error)?);
        }
        let update = update
            .update_expression(format!("SET {}", set.join(", ")))
            .build()
            .map_err(commit_error(op))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(change) = customer {
            items.push(self.put_customer(op, &change.customer, change.expected_version)?);
            if let Some((id, window)) = change.live_window() {
                items.push(self.conversation_window(op, id, window.as_ref())?);
            }
        }
        self.transact(op, items).await.map_err(CommitError::from)
    }

    #[tracing::instrument(skip_all, err)]
    async fn record_outbound(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> Result<(), CommitError> {
        let op = "record_outbound";
        let mut items = Vec::with_capacity(2);
        if let Some(wamid) = &message.wamid {
            items.push(self.put_wamid(op, wamid, message, customer, &[], OUTBOUND_WAMID_TTL)?);
        }
        items.push(self.put_message(op, message, None)?);
        match self.transact(op, items).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Condition { index: 0, old }) if message.wamid.is_some() => {
                let wamid = message.wamid.as_ref().ok_or(CommitError::Conflict)?;
                Err(CommitError::Duplicate {
                    events: self.recorded_events(op, wamid, old).await?,
                })
            }
            Err(TransactFailure::Condition { .. } | TransactFailure::Conflict) => {
                Err(CommitError::Conflict)
            }
            Err(TransactFailure::Store(error)) => Err(error.into()),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_customer(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        let op = "get_customer";
        self.get(op, keys::key(keys::customer_pk(key), keys::CUSTOMER_SK))
            .await?
            .map(|item| from_item(op, item))
            .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn save_customer(&self, change: &CustomerChange) -> Result<(), CommitError> {
        let op = "save_customer";
        let customer = &change.customer;
        let item = to_item(
            op,
            customer,
            keys::customer_pk(&customer.key),
            keys::CUSTOMER_SK,
        )?;
        let (condition, values) = version_condition(change.expected_version);
        let saved = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .send()
            .await;
        match saved {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(CommitError::Conflict)
            }
            Err(e) => Err(commit_error(op)(e)),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        let op = "get_conversation";
        self.get(
            op,
            keys::key(keys::conversation_pk(id), keys::CONVERSATION_SK),
        )
        .await?
        .map(|item| from_item(op, item))
        .transpose()
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_messages(&self, id: ConversationId) -> Result<Vec<Message>, StoreError> {
        let op = "list_messages";
        self.query_all(op, self.messages_query(id))
            .await?
            .into_iter()
            .map(|item| from_item(op, item))
            .collect()
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_messages_page(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let op = "list_messages_page";
        let pk = keys::conversation_pk(id);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::MESSAGE_SK_PREFIX.into()),
            )
            .consistent_read(true);
        let start = page
            .after
            .as_ref()
            .map(|after| keys::key(pk, &format!("{}{after}", keys::MESSAGE_SK_PREFIX)));
        let (items, more) = self.query_page(op, query, page.limit, start).await?;
        let messages = items
            .into_iter()
            .map(|item| from_item::<Message>(op, item))
            .collect::<Result<Vec<_>, _>>()?;
        let next = more
            .then(|| messages.last().map(|m| position(m.at, m.id)))
            .flatten();
        Ok(Page {
            items: messages,
            next,
        })
    }

    #[tracing::instrument(skip_all, err)]
    async fn put_channel(&self, channel: &Channel) -> Result<(), StoreError> {
        let op = "put_channel";
        let item = to_item(
            op,
            channel,
            keys::channel_pk(&channel.phone_number_id),
            keys::CHANNEL_SK,
        )?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error(op))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn get_channel(&self, id: &PhoneNumberId) -> Result<Option<Channel>, StoreError> {
        let op = "get_channel";
        self.get(op, keys::key(keys::channel_pk(id), keys::CHANNEL_SK))
            .await?
            .map(|item| from_item(op, item))
            .transpose()
    }
}
