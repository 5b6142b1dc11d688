//! Analytics counters on the single table (see docs/table-design.md): one item
//! per scope and UTC hour, moved with `ADD` in the same transaction as the
//! markers of the events counted, so an event counts once however often it
//! arrives. A transaction carries a whole tally (the events of a delivered
//! batch, up to 100 items): each counter item once, with the sum.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use uuid::Uuid;
use wadesk_app::{AnalyticsStore, CommitError, Recorded, StoreError};
use wadesk_domain::analytics::{Bucket, Counters, Scope, Tally};
use wadesk_domain::Timestamp;

use super::error::commit_error;
use super::items::{number, string};
use super::keys::{self, Item};
use super::store::DynamoStore;

/// How long an event id is remembered after the hour it happened in. Longer
/// than anything that can deliver the same event again: EventBridge and
/// Lambda retry for at most a day, and a duplicate WhatsApp delivery
/// republishes recorded events for as long as its wamid item lives (30 days).
const EVENT_MARKER_TTL_DAYS: i64 = 35;

/// Items one `TransactWriteItems` may hold.
const MAX_TRANSACTION_ITEMS: usize = 100;

impl DynamoStore {
    /// The event's marker, only if the id was never counted.
    fn put_event_marker(
        &self,
        op: &'static str,
        event_id: Uuid,
        hour: Timestamp,
    ) -> Result<TransactWriteItem, CommitError> {
        let mut item = keys::key(keys::event_marker_pk(event_id), keys::EVENT_MARKER_SK);
        item.insert("hour".into(), AttributeValue::S(keys::stats_sk(hour)));
        item.insert(
            keys::TTL.into(),
            number((hour + Duration::days(EVENT_MARKER_TTL_DAYS)).timestamp()),
        );
        let put = self
            .put(item)
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(commit_error(op))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// `ADD` of every non-zero counter to the scope's hour item (created by
    /// the first `ADD`; no read, no condition).
    fn add_counters(
        &self,
        op: &'static str,
        (scope, hour): &Bucket,
        counters: &Counters,
    ) -> Result<TransactWriteItem, CommitError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::key(
                keys::stats_pk(scope),
                &keys::stats_sk(*hour),
            )));
        let mut adds = Vec::new();
        for (n, (name, value)) in counters.nonzero().enumerate() {
            adds.push(format!("#c{n} :c{n}"));
            update = update
                .expression_attribute_names(format!("#c{n}"), name)
                .expression_attribute_values(format!(":c{n}"), number(value));
        }
        let update = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .build()
            .map_err(commit_error(op))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// The hour an item's sort key names.
fn hour_of_item(op: &'static str, item: &Item) -> Result<Timestamp, StoreError> {
    let sk = string(item, keys::SK).unwrap_or_default();
    NaiveDateTime::parse_from_str(
        &format!("{sk}:00"),
        &format!("{}:%M", keys::STATS_SK_FORMAT),
    )
    .map(|hour| Utc.from_utc_datetime(&hour))
    .map_err(|e| StoreError::new(op, e))
}

fn counters_of(op: &'static str, item: &Item) -> Result<Counters, StoreError> {
    let mut counters = Counters::default();
    for name in Counters::NAMES {
        if let Some(AttributeValue::N(value)) = item.get(name) {
            counters.set(name, value.parse().map_err(|e| StoreError::new(op, e))?);
        }
    }
    Ok(counters)
}

/// How a tally's transaction was cancelled.
enum TallyCancelled {
    /// The markers at these indices exist: those events were counted before.
    Counted(Vec<usize>),
    Conflict,
}

fn tally_cancelled(
    error: &SdkError<TransactWriteItemsError, aws_smithy_runtime_api::http::Response>,
    markers: usize,
) -> Option<TallyCancelled> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return None;
    };
    // DynamoDB gives a reason per item, in order ("None" for the others), so
    // every marker that exists is known from one answer.
    let counted: Vec<usize> = cancelled
        .cancellation_reasons()
        .iter()
        .enumerate()
        .filter(|(index, r)| *index < markers && r.code() == Some("ConditionalCheckFailed"))
        .map(|(index, _)| index)
        .collect();
    if counted.is_empty() {
        Some(TallyCancelled::Conflict)
    } else {
        Some(TallyCancelled::Counted(counted))
    }
}

impl AnalyticsStore for DynamoStore {
    /// `TransactWriteItems`' limit.
    fn max_writes(&self) -> usize {
        MAX_TRANSACTION_ITEMS
    }

    /// One `TransactWriteItems`: a marker per event (`attribute_not_exists`)
    /// and one `ADD` update per bucket with the tally's sum.
    #[tracing::instrument(skip_all, fields(events = tally.len()), err)]
    async fn record(&self, tally: &Tally) -> Result<Recorded, CommitError> {
        let op = "record_analytics";
        if tally.is_empty() {
            return Ok(Recorded::Counted);
        }
        let mut items = Vec::with_capacity(tally.writes());
        for (id, increment) in tally.events() {
            items.push(self.put_event_marker(op, *id, increment.hour)?);
        }
        for (bucket, counters) in &tally.buckets() {
            items.push(self.add_counters(op, bucket, counters)?);
        }
        let sent = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Recorded::Counted),
            Err(error) => match tally_cancelled(&error, tally.len()) {
                Some(TallyCancelled::Counted(indices)) => Ok(Recorded::AlreadyCounted(
                    indices
                        .into_iter()
                        .filter_map(|i| tally.events().get(i).map(|(id, _)| *id))
                        .collect(),
                )),
                Some(TallyCancelled::Conflict) => Err(CommitError::Conflict),
                None => Err(CommitError::Store(StoreError::new(op, error))),
            },
        }
    }

    /// One Query (`pk = STATS#{scope} AND sk BETWEEN first AND last`; more
    /// pages only past 1 MB, about 5,000 hours).
    #[tracing::instrument(skip(self), err)]
    async fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> Result<Vec<(Timestamp, Counters)>, StoreError> {
        let op = "analytics_hourly";
        if first > last {
            return Ok(Vec::new());
        }
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
            .expression_attribute_values(":pk", AttributeValue::S(keys::stats_pk(scope)))
            .expression_attribute_values(":first", AttributeValue::S(keys::stats_sk(first)))
            .expression_attribute_values(":last", AttributeValue::S(keys::stats_sk(last)));
        self.query_all(op, query)
            .await?
            .iter()
            .map(|item| Ok((hour_of_item(op, item)?, counters_of(op, item)?)))
            .collect()
    }
}
