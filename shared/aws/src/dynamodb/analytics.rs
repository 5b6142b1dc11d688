//! Analytics counters on the single table (see docs/table-design.md): one item
//! per scope and UTC hour, moved with `ADD` in the same transaction as the
//! counted event's marker, so an event counts once however often it arrives.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use uuid::Uuid;
use wadesk_app::{AnalyticsStore, CommitError, Recorded, StoreError};
use wadesk_domain::analytics::{Counters, Increment, Scope};
use wadesk_domain::Timestamp;

use super::error::commit_error;
use super::items::{number, string};
use super::keys::{self, Item};
use super::store::{DynamoStore, TransactFailure};

/// How long an event id is remembered after the hour it happened in. Longer
/// than anything that can deliver the same event again: EventBridge and
/// Lambda retry for at most a day, and a duplicate WhatsApp delivery
/// republishes recorded events for as long as its wamid item lives (30 days).
const EVENT_MARKER_TTL_DAYS: i64 = 35;

impl DynamoStore {
    /// The event's marker, only if the id was never counted.
    fn put_event_marker(
        &self,
        op: &'static str,
        event_id: Uuid,
        increment: &Increment,
    ) -> Result<TransactWriteItem, CommitError> {
        let mut item = keys::key(keys::event_marker_pk(event_id), keys::EVENT_MARKER_SK);
        item.insert(
            "hour".into(),
            AttributeValue::S(keys::stats_sk(increment.hour)),
        );
        item.insert(
            keys::TTL.into(),
            number((increment.hour + Duration::days(EVENT_MARKER_TTL_DAYS)).timestamp()),
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
        scope: &Scope,
        increment: &Increment,
    ) -> Result<TransactWriteItem, CommitError> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(keys::key(
                keys::stats_pk(scope),
                &keys::stats_sk(increment.hour),
            )));
        let mut adds = Vec::new();
        for (n, (name, value)) in increment.counters.nonzero().enumerate() {
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

impl AnalyticsStore for DynamoStore {
    /// One `TransactWriteItems`: the marker (`attribute_not_exists`) and one
    /// `ADD` update per scope, at most 6 items.
    #[tracing::instrument(skip_all, fields(%event_id), err)]
    async fn record(&self, event_id: Uuid, increment: &Increment) -> Result<Recorded, CommitError> {
        let op = "record_analytics";
        if increment.counters.is_zero() || increment.scopes.is_empty() {
            return Ok(Recorded::Counted);
        }
        let mut items = vec![self.put_event_marker(op, event_id, increment)?];
        for scope in &increment.scopes {
            items.push(self.add_counters(op, scope, increment)?);
        }
        match self.transact(op, items).await {
            Ok(()) => Ok(Recorded::Counted),
            // Only the marker has a condition: the id was counted before.
            Err(TransactFailure::Condition { index: 0, .. }) => Ok(Recorded::AlreadyCounted),
            Err(TransactFailure::Condition { .. } | TransactFailure::Conflict) => {
                Err(CommitError::Conflict)
            }
            Err(TransactFailure::Store(error)) => Err(error.into()),
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
