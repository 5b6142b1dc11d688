//! Metering what an operation costs on AWS, beside the request counts of
//! [`wadesk_aws::RequestCounter`]:
//!
//! - [`CapacityMeter`], an SDK interceptor on the DynamoDB, EventBridge and
//!   Scheduler clients, records every DynamoDB write action (its key, and the
//!   item of a put), charges every read by the size of the items it returned,
//!   and counts the events put on the bus and the schedules created;
//! - [`TableSnapshot`]s of the table before and after the operation give the
//!   size of the items that updates and deletes touched, and whether they
//!   changed the item's entry in the index `gsi1`;
//! - [`CountingWhatsApp`] counts the messages sent through the Graph API port.
//!
//! Capacity follows DynamoDB's on-demand rules: a write unit per started KB of
//! the larger of the item before and after (two in a transaction, condition
//! checks included), plus one per KB for each write of the index entry (two
//! when the index key changes: a delete and a put); a read unit per started
//! 4 KB for a strongly consistent read (half for an eventually consistent one,
//! two for a transactional one), a Query rounded up on the total it returned.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::operation::put_events::PutEventsInput;
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleInput;
use aws_smithy_runtime_api::box_error::BoxError as SdkBoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef, Input,
    Output,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use wadesk_app::{OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::{PhoneNumberId, WaId, Wamid};

use crate::BoxError;

type Item = HashMap<String, AttributeValue>;

/// An item's primary key (`pk`, `sk`).
pub type ItemKey = (String, String);

/// One item written (put, updated, deleted or condition-checked).
#[derive(Debug, Clone)]
pub struct WriteAction {
    pub key: ItemKey,
    /// The item a put writes, so its size is known without a snapshot.
    pub put: Option<ItemShape>,
    pub transactional: bool,
}

/// What capacity depends on: the item's size and its `gsi1` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemShape {
    pub bytes: u64,
    pub index_key: Option<(String, String)>,
}

impl ItemShape {
    pub fn of(item: &Item) -> Self {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => Some(value.clone()),
            _ => None,
        };
        Self {
            bytes: item_size(item),
            index_key: text("gsi1pk").zip(text("gsi1sk")),
        }
    }
}

/// Everything the meter saw since the last [`CapacityMeter::take`].
#[derive(Debug, Clone, Default)]
pub struct MeterLog {
    pub writes: Vec<WriteAction>,
    pub read_units: f64,
    /// Every event put on the bus: its `detail-type` and `detail`.
    pub events: Vec<(String, String)>,
    /// Names of the schedules created (`window-…`, `offer-…`).
    pub schedules: Vec<String>,
}

/// The SDK interceptor; one clone goes on each client.
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter {
    log: Arc<Mutex<MeterLog>>,
}

/// How a read was asked for, kept from the input to the output of one call.
#[derive(Debug, Clone, Copy)]
struct ReadRequest {
    /// Units per started 4 KB: 1 (strongly consistent), 0.5 (eventually), 2 (transactional).
    factor: f64,
    /// Keys asked for (GetItem, BatchGetItem): a key not found still costs the minimum.
    keys: usize,
}

impl Storable for ReadRequest {
    type Storer = StoreReplace<Self>;
}

fn consistency(consistent: Option<bool>) -> f64 {
    if consistent.unwrap_or(false) {
        1.0
    } else {
        0.5
    }
}

fn key_of(key: &Item) -> ItemKey {
    let text = |name: &str| match key.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => String::new(),
    };
    (text("pk"), text("sk"))
}

/// Read units for items of `sizes`, each rounded up on its own.
fn per_item_units(sizes: impl IntoIterator<Item = u64>, factor: f64) -> f64 {
    sizes
        .into_iter()
        .map(|bytes| bytes.div_ceil(4096).max(1) as f64 * factor)
        .sum()
}

impl CapacityMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands over what was recorded and starts afresh.
    pub fn take(&self) -> MeterLog {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MeterLog> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, key: &Item, put: Option<&Item>, transactional: bool) {
        self.lock().writes.push(WriteAction {
            key: key_of(key),
            put: put.map(ItemShape::of),
            transactional,
        });
    }

    fn record_input(&self, input: &Input, cfg: &mut ConfigBag) {
        if let Some(put) = input.downcast_ref::<PutItemInput>() {
            if let Some(item) = put.item() {
                self.write(item, Some(item), false);
            }
        } else if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
            if let Some(key) = update.key() {
                self.write(key, None, false);
            }
        } else if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
            if let Some(key) = delete.key() {
                self.write(key, None, false);
            }
        } else if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            for action in transaction.transact_items() {
                if let Some(put) = action.put() {
                    self.write(put.item(), Some(put.item()), true);
                } else if let Some(update) = action.update() {
                    self.write(update.key(), None, true);
                } else if let Some(delete) = action.delete() {
                    self.write(delete.key(), None, true);
                } else if let Some(check) = action.condition_check() {
                    self.write(check.key(), None, true);
                }
            }
        } else if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
            for request in batch
                .request_items()
                .into_iter()
                .flat_map(|r| r.values().flatten())
            {
                if let Some(put) = request.put_request() {
                    self.write(put.item(), Some(put.item()), false);
                } else if let Some(delete) = request.delete_request() {
                    self.write(delete.key(), None, false);
                }
            }
        } else if let Some(get) = input.downcast_ref::<GetItemInput>() {
            cfg.interceptor_state().store_put(ReadRequest {
                factor: consistency(get.consistent_read()),
                keys: 1,
            });
        } else if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            let tables = batch.request_items().into_iter().flat_map(|r| r.values());
            let (mut keys, mut consistent) = (0, None);
            for table in tables {
                keys += table.keys().len();
                consistent = consistent.or(table.consistent_read());
            }
            cfg.interceptor_state().store_put(ReadRequest {
                factor: consistency(consistent),
                keys,
            });
        } else if let Some(query) = input.downcast_ref::<QueryInput>() {
            cfg.interceptor_state().store_put(ReadRequest {
                factor: consistency(query.consistent_read()),
                keys: 0,
            });
        } else if let Some(get) = input.downcast_ref::<TransactGetItemsInput>() {
            cfg.interceptor_state().store_put(ReadRequest {
                factor: 2.0,
                keys: get.transact_items().len(),
            });
        } else if let Some(put) = input.downcast_ref::<PutEventsInput>() {
            let mut log = self.lock();
            for entry in put.entries() {
                log.events.push((
                    entry.detail_type().unwrap_or_default().to_owned(),
                    entry.detail().unwrap_or_default().to_owned(),
                ));
            }
        } else if let Some(create) = input.downcast_ref::<CreateScheduleInput>() {
            self.lock()
                .schedules
                .push(create.name().unwrap_or_default().to_owned());
        }
    }

    fn record_output(&self, output: &Output, cfg: &ConfigBag) {
        let Some(request) = cfg.load::<ReadRequest>().copied() else {
            return;
        };
        let units = if let Some(get) = output.downcast_ref::<GetItemOutput>() {
            per_item_units([get.item().map_or(0, item_size)], request.factor)
        } else if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
            let found: Vec<u64> = batch
                .responses()
                .into_iter()
                .flat_map(|r| r.values().flatten())
                .map(item_size)
                .collect();
            let missing = request.keys.saturating_sub(found.len());
            per_item_units(found, request.factor) + missing as f64 * request.factor
        } else if let Some(query) = output.downcast_ref::<QueryOutput>() {
            let total: u64 = query.items().iter().map(item_size).sum();
            per_item_units([total], request.factor)
        } else if let Some(get) = output.downcast_ref::<TransactGetItemsOutput>() {
            per_item_units(
                get.responses()
                    .iter()
                    .map(|r| r.item().map_or(0, item_size)),
                request.factor,
            )
        } else {
            0.0
        };
        self.lock().read_units += units;
    }
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), SdkBoxError> {
        self.record_input(context.input(), cfg);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), SdkBoxError> {
        if let Ok(output) = context.output_or_error() {
            self.record_output(output, cfg);
        }
        Ok(())
    }
}

/// Every item of a table, by key, as DynamoDB sizes it.
#[derive(Debug, Clone, Default)]
pub struct TableSnapshot {
    pub items: HashMap<ItemKey, ItemShape>,
}

impl TableSnapshot {
    /// Scans `table` (with a client that is not metered).
    pub async fn take(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Self, BoxError> {
        let mut items = HashMap::new();
        let mut pages = client
            .scan()
            .table_name(table)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item?;
            items.insert(key_of(&item), ItemShape::of(&item));
        }
        Ok(Self { items })
    }
}

/// DynamoDB capacity of the writes in `writes`, knowing the table `before`
/// and `after` them: (write units, of which for the index).
pub fn write_units(
    writes: &[WriteAction],
    before: &TableSnapshot,
    after: &TableSnapshot,
) -> (f64, f64) {
    let (mut table, mut index) = (0.0, 0.0);
    for write in writes {
        let old = before.items.get(&write.key);
        let new = after.items.get(&write.key).or(write.put.as_ref());
        let bytes = old.map_or(0, |s| s.bytes).max(new.map_or(0, |s| s.bytes));
        let kb = bytes.div_ceil(1024).max(1) as f64;
        table += if write.transactional { 2.0 * kb } else { kb };
        // Index entries: updated in place, created, removed, or moved (two writes).
        let (old_key, new_key) = (
            old.and_then(|s| s.index_key.as_ref()),
            new.and_then(|s| s.index_key.as_ref()),
        );
        index += match (old_key, new_key) {
            (None, None) => 0.0,
            (Some(a), Some(b)) if a != b => 2.0 * kb,
            _ => kb,
        };
    }
    (table + index, index)
}

/// An item's size by DynamoDB's rules: attribute names plus values; a number
/// is about one byte per two significant digits plus one; lists and maps
/// carry 3 bytes plus one per element.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn number_size(number: &str) -> u64 {
    let digits = number
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(text) => text.len() as u64,
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(|t| t.len() as u64).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(fields) => {
            3 + fields
                .iter()
                .map(|(name, v)| 1 + name.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A [`WhatsAppClient`] that counts what it sends on to `inner`.
#[derive(Debug, Clone)]
pub struct CountingWhatsApp<W> {
    inner: W,
    sent: Arc<AtomicU64>,
}

impl<W> CountingWhatsApp<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            sent: Arc::default(),
        }
    }

    /// Messages sent since the last call.
    pub fn take(&self) -> u64 {
        self.sent.swap(0, Ordering::Relaxed)
    }
}

impl<W: WhatsAppClient> WhatsAppClient for CountingWhatsApp<W> {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send(from, to, content).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    #[test]
    fn item_sizes_follow_dynamodb_rules() {
        let item: Item = [
            ("pk".to_owned(), s("CUST#1")),                      // 2 + 6
            ("n".to_owned(), AttributeValue::N("12345".into())), // 1 + 4
            ("flag".to_owned(), AttributeValue::Bool(true)),     // 4 + 1
            ("l".to_owned(), AttributeValue::L(vec![s("ab")])),  // 1 + 3 + 1 + 2
        ]
        .into_iter()
        .collect();
        assert_eq!(item_size(&item), 8 + 5 + 5 + 7);
        assert_eq!(number_size("0.00100"), 2);
        assert_eq!(number_size("-120"), 2);
    }

    #[test]
    fn writes_cost_by_the_larger_item_and_the_index() {
        let key = ("CUST#1".to_owned(), "PROFILE".to_owned());
        let shape = |bytes, index: Option<&str>| ItemShape {
            bytes,
            index_key: index.map(|i| (i.to_owned(), "x".to_owned())),
        };
        let before = TableSnapshot {
            items: [(key.clone(), shape(900, Some("A")))].into_iter().collect(),
        };
        let after = TableSnapshot {
            items: [(key.clone(), shape(1500, Some("B")))]
                .into_iter()
                .collect(),
        };
        let write = WriteAction {
            key,
            put: None,
            transactional: true,
        };
        // 2 KB started: 2 × 2 in a transaction, plus 2 × 2 for the moved index entry.
        assert_eq!(write_units(&[write], &before, &after), (8.0, 4.0));
    }

    #[test]
    fn reads_round_up_per_item() {
        assert_eq!(per_item_units([100, 5000], 1.0), 3.0);
        assert_eq!(per_item_units([100], 0.5), 0.5);
    }
}
