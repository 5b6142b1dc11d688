//! Analytics counters on the single table (see docs/table-design.md): one item
//! per scope and UTC hour, moved with `ADD`, and a marker per counted event,
//! so an event counts once however often, however cut and however
//! concurrently it arrives.
//!
//! A tally (the events of a delivered batch that share counter items) counts
//! in two steps:
//! 1. Claim: one conditional `PutItem` per event (`EVENT#{id}`,
//!    `attribute_not_exists(pk)`, naming the tally), sent concurrently: a
//!    single write, 1 write unit, where a marker inside the transaction cost 2.
//! 2. Commit: one `TransactWriteItems` of the `ADD`s of the tally's buckets
//!    (at most 99) and the put of its outcome item `TALLY#{id}`
//!    (`attribute_not_exists(pk)`, outcome `committed`).
//!
//! An event counts iff its marker names a tally whose outcome item says
//! committed (a marker that names no tally was written by the earlier,
//! one-transaction design, with its counts: counted). Why that is exactly
//! once:
//! - A marker names one tally at a time, and only a tally's commit moves
//!   counters: the `TALLY#` put makes a tally commit at most once (a second
//!   attempt, or the SDK's retry of one whose answer was lost, is cancelled
//!   whole, and read back as committed).
//! - A marker moves to another tally only from a tally that can no longer
//!   commit: its outcome item says `abandoned`, written with
//!   `attribute_not_exists(pk)` before the move (the `UpdateItem` is
//!   conditional on the marker still naming the abandoned tally, so two
//!   takers cannot both move it). Abandoning races the holder's own commit on
//!   the same key: one of the two puts wins, so either the holder counted the
//!   event (and the taker sees committed) or it never will.
//! - Nothing is lost: a consumer acknowledges an event only once it is
//!   counted (its tally or the marker's tally committed). A tally whose
//!   commit failed abandons itself (or learns it committed, its answer lost),
//!   so the next delivery takes its events over at once. An event held by an
//!   undecided tally is left for a later delivery; once the claim is older
//!   than a consumer's run
//!   ([`CLAIM_HELD_SECONDS`](wadesk_domain::analytics::CLAIM_HELD_SECONDS)) its holder is dead (or
//!   about to be abandoned anyway) and the next delivery takes it over. Only
//!   timing rests on that age, never the count.
//! - The outcome item outlives every marker that names it (a marker whose
//!   tally's outcome had expired would look undecided and be counted again).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use futures_util::{StreamExt, TryStreamExt};
use uuid::Uuid;
use wadesk_app::{AnalyticsStore, Claimed, CommitError, Committed, StoreError};
use wadesk_domain::analytics::{
    claim_verdict, Bucket, ClaimVerdict, Counters, Holder, Scope, Tally,
};
use wadesk_domain::{Clock, SystemClock, Timestamp};

use super::error::{cancellation, commit_error, Cancelled};
use super::items::{number, string};
use super::keys::{self, Item};
use super::store::DynamoStore;

/// How long an event id is remembered after the hour it happened in. Longer
/// than anything that can deliver the same event again: EventBridge and
/// Lambda retry for at most a day, and a duplicate WhatsApp delivery
/// republishes recorded events for as long as its wamid item lives (30 days).
const EVENT_MARKER_TTL_DAYS: i64 = 35;

/// How much longer a tally's outcome item lives than the markers that name
/// it: TTL deletes late and in no order, so an outcome item must not be
/// deleted while one of its markers may still be read.
const TALLY_OUTLIVES_MARKERS_DAYS: i64 = 30;

/// Items one `TransactWriteItems` may hold: a commit's buckets and its
/// outcome item.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// Claims (and take-overs) in flight at once: a batch of hundreds of events
/// takes a few round trips, not hundreds.
const CONCURRENT_CLAIMS: usize = 16;

/// A marker's attributes: the tally holding it and when it claimed it
/// (epoch milliseconds).
const MARKER_TALLY: &str = "tally";
const MARKER_CLAIMED_AT: &str = "claimed_at";
/// An outcome item's attribute, and its two values.
const TALLY_OUTCOME: &str = "outcome";
const COMMITTED: &str = "committed";
const ABANDONED: &str = "abandoned";

/// What the claim of one event found.
enum ClaimAttempt {
    /// The marker names this tally now.
    Held,
    /// Marked by the one-transaction design (no tally): counted with it.
    CountedBefore,
    /// Held by another tally since `claimed_at`.
    HeldBy { tally: Uuid, claimed_at: Timestamp },
}

fn marker_expiry(hour: Timestamp) -> Timestamp {
    hour + Duration::days(EVENT_MARKER_TTL_DAYS)
}

/// When the outcome item of a tally of `tally`'s events may go.
fn outcome_expiry(tally: &Tally, now: Timestamp) -> i64 {
    let latest_marker = tally
        .events()
        .iter()
        .map(|(_, increment)| marker_expiry(increment.hour))
        .fold(marker_expiry(now), Timestamp::max);
    (latest_marker + Duration::days(TALLY_OUTLIVES_MARKERS_DAYS)).timestamp()
}

fn tally_key(id: Uuid) -> Item {
    keys::key(keys::tally_pk(id), keys::TALLY_SK)
}

fn marker_key(event: Uuid) -> Item {
    keys::key(keys::event_marker_pk(event), keys::EVENT_MARKER_SK)
}

fn uuid_of(op: &'static str, item: &Item, name: &str) -> Result<Option<Uuid>, StoreError> {
    string(item, name)
        .map(|text| Uuid::parse_str(&text).map_err(|e| StoreError::new(op, e)))
        .transpose()
}

/// A claimed marker's claim, or none for a marker of the earlier design.
fn claim_of(op: &'static str, marker: &Item) -> Result<ClaimAttempt, StoreError> {
    let Some(tally) = uuid_of(op, marker, MARKER_TALLY)? else {
        return Ok(ClaimAttempt::CountedBefore);
    };
    let millis = match marker.get(MARKER_CLAIMED_AT) {
        Some(AttributeValue::N(value)) => value.parse::<i64>().ok(),
        _ => None,
    };
    let claimed_at = millis
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| {
            StoreError::new(
                op,
                UnexpectedItem::Malformed(string(marker, keys::PK).unwrap_or_default()),
            )
        })?;
    Ok(ClaimAttempt::HeldBy { tally, claimed_at })
}

/// An analytics item read back not as this module writes it.
#[derive(Debug, thiserror::Error)]
enum UnexpectedItem {
    #[error("the analytics item {0} is malformed")]
    Malformed(String),
    /// Its put was refused for an existing item, which a read then missed.
    #[error("the item exists and does not: {0}")]
    Vanished(String),
}

fn holder_of(op: &'static str, outcome: Option<&Item>) -> Result<Holder, StoreError> {
    let Some(item) = outcome else {
        return Ok(Holder::Undecided);
    };
    match string(item, TALLY_OUTCOME).as_deref() {
        Some(COMMITTED) => Ok(Holder::Committed),
        Some(ABANDONED) => Ok(Holder::Abandoned),
        _ => Err(StoreError::new(
            op,
            UnexpectedItem::Malformed(string(item, keys::PK).unwrap_or_default()),
        )),
    }
}

fn condition_failed_put(
    error: &SdkError<PutItemError, aws_smithy_runtime_api::http::Response>,
) -> Option<Option<Item>> {
    match error.as_service_error() {
        Some(PutItemError::ConditionalCheckFailedException(failed)) => Some(failed.item().cloned()),
        _ => None,
    }
}

impl DynamoStore {
    /// Puts `item` only where no item has its key: `None` when it was put,
    /// else the item already there (read when DynamoDB did not return it; one
    /// that is then gone is an error).
    async fn put_new(&self, op: &'static str, item: Item) -> Result<Option<Item>, StoreError> {
        let key: Item = [keys::PK, keys::SK]
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), item.get(name)?.clone())))
            .collect();
        let sent = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(error) => match condition_failed_put(&error) {
                Some(Some(existing)) => Ok(Some(existing)),
                Some(None) => match self.get(op, key).await? {
                    Some(existing) => Ok(Some(existing)),
                    None => Err(StoreError::new(
                        op,
                        UnexpectedItem::Vanished(error.to_string()),
                    )),
                },
                None => Err(StoreError::new(op, error)),
            },
        }
    }

    /// Claims `tally`'s events for it at `now` (the trait's
    /// [`AnalyticsStore::claim`] with the clock given: tests age claims).
    #[tracing::instrument(skip_all, fields(tally = %tally.id(), events = tally.len()), err)]
    pub async fn claim_at(&self, tally: &Tally, now: Timestamp) -> Result<Claimed, StoreError> {
        let op = "claim_analytics";
        let id = tally.id();
        // Owned items, so the stream's futures borrow nothing but the store
        // (a borrowed item makes the future fail `Send`'s check).
        let events: Vec<(Uuid, Timestamp)> = tally
            .events()
            .iter()
            .map(|(event, increment)| (*event, increment.hour))
            .collect();
        let attempts: Vec<(Uuid, ClaimAttempt)> = futures_util::stream::iter(events)
            .map(|(event, hour)| async move {
                let attempt = self.put_claim(op, id, event, hour, now).await?;
                Ok::<_, StoreError>((event, attempt))
            })
            .buffer_unordered(CONCURRENT_CLAIMS)
            .try_collect()
            .await?;
        let mut claimed = Claimed::default();
        // Events held by other tallies, by holder: each holder's outcome is
        // read (and, if need be, abandoned) once.
        let mut holders = BTreeMap::<Uuid, (Timestamp, Vec<Uuid>)>::new();
        for (event, attempt) in attempts {
            match attempt {
                ClaimAttempt::Held => {}
                ClaimAttempt::CountedBefore => claimed.counted_before.push(event),
                // Ours from an earlier try of this very tally.
                ClaimAttempt::HeldBy { tally: holder, .. } if holder == id => {}
                ClaimAttempt::HeldBy {
                    tally: holder,
                    claimed_at,
                } => {
                    let (newest, events) =
                        holders.entry(holder).or_insert((claimed_at, Vec::new()));
                    *newest = (*newest).max(claimed_at);
                    events.push(event);
                }
            }
        }
        for (holder, (claimed_at, events)) in holders {
            let outcome = self.get(op, tally_key(holder)).await?;
            let state = holder_of(op, outcome.as_ref())?;
            let outcome = match claim_verdict(state, claimed_at, now) {
                ClaimVerdict::CountedBefore => Committed::Counted,
                ClaimVerdict::Wait => {
                    claimed.held_elsewhere.extend(events);
                    continue;
                }
                ClaimVerdict::TakeOver => Committed::Abandoned,
                ClaimVerdict::Abandon => {
                    tracing::warn!(%holder, %claimed_at, "abandoning a tally whose run must have ended");
                    self.abandon_holder(op, holder, outcome_expiry(tally, now))
                        .await?
                }
            };
            if outcome == Committed::Counted {
                claimed.counted_before.extend(events);
                continue;
            }
            let taken: Vec<(Uuid, bool)> = futures_util::stream::iter(events)
                .map(|event| async move {
                    let taken = self.take_over(op, event, holder, id, now).await?;
                    Ok::<_, StoreError>((event, taken))
                })
                .buffer_unordered(CONCURRENT_CLAIMS)
                .try_collect()
                .await?;
            // Another tally took it over first: settled on a later delivery.
            claimed.held_elsewhere.extend(
                taken
                    .into_iter()
                    .filter(|(_, taken)| !taken)
                    .map(|(event, _)| event),
            );
        }
        Ok(claimed)
    }

    /// The event's marker, naming `tally`, unless a marker exists (then
    /// whose claim it bears).
    async fn put_claim(
        &self,
        op: &'static str,
        tally: Uuid,
        event: Uuid,
        hour: Timestamp,
        now: Timestamp,
    ) -> Result<ClaimAttempt, StoreError> {
        let mut item = marker_key(event);
        item.insert("hour".into(), AttributeValue::S(keys::stats_sk(hour)));
        item.insert(MARKER_TALLY.into(), AttributeValue::S(tally.to_string()));
        item.insert(MARKER_CLAIMED_AT.into(), number(now.timestamp_millis()));
        item.insert(keys::TTL.into(), number(marker_expiry(hour).timestamp()));
        match self.put_new(op, item).await? {
            None => Ok(ClaimAttempt::Held),
            Some(marker) => claim_of(op, &marker),
        }
    }

    /// Marks `holder` abandoned unless it has an outcome already; answers
    /// its outcome now: abandoned, or counted (it committed meanwhile).
    async fn abandon_holder(
        &self,
        op: &'static str,
        holder: Uuid,
        expiry: i64,
    ) -> Result<Committed, StoreError> {
        let mut item = tally_key(holder);
        item.insert(TALLY_OUTCOME.into(), AttributeValue::S(ABANDONED.into()));
        item.insert(keys::TTL.into(), number(expiry));
        let Some(existing) = self.put_new(op, item).await? else {
            return Ok(Committed::Abandoned);
        };
        match holder_of(op, Some(&existing))? {
            Holder::Committed => Ok(Committed::Counted),
            Holder::Abandoned => Ok(Committed::Abandoned),
            Holder::Undecided => Err(StoreError::new(
                op,
                UnexpectedItem::Malformed(holder.to_string()),
            )),
        }
    }

    /// Moves the event's marker from the abandoned `from` to `to`; false if
    /// it no longer names `from` (another tally took it over first).
    async fn take_over(
        &self,
        op: &'static str,
        event: Uuid,
        from: Uuid,
        to: Uuid,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let sent = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(marker_key(event)))
            .update_expression("SET #tally = :to, #claimed_at = :now")
            .condition_expression("#tally = :from")
            .expression_attribute_names("#tally", MARKER_TALLY)
            .expression_attribute_names("#claimed_at", MARKER_CLAIMED_AT)
            .expression_attribute_values(":to", AttributeValue::S(to.to_string()))
            .expression_attribute_values(":from", AttributeValue::S(from.to_string()))
            .expression_attribute_values(":now", number(now.timestamp_millis()))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(StoreError::new(op, error)),
        }
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

    /// Commits `tally`: one `TransactWriteItems` of its buckets' `ADD`s and
    /// its outcome item, written only if it has none (not abandoned, not
    /// committed before).
    #[tracing::instrument(skip_all, fields(tally = %tally.id(), events = tally.len()), err)]
    pub async fn commit_tally(&self, tally: &Tally) -> Result<Committed, CommitError> {
        let op = "commit_analytics";
        let buckets = tally.buckets();
        let mut items = Vec::with_capacity(buckets.len() + 1);
        for (bucket, counters) in &buckets {
            items.push(self.add_counters(op, bucket, counters)?);
        }
        let mut outcome = tally_key(tally.id());
        outcome.insert(TALLY_OUTCOME.into(), AttributeValue::S(COMMITTED.into()));
        outcome.insert(
            keys::TTL.into(),
            number(outcome_expiry(tally, SystemClock.now())),
        );
        let put = self
            .put(outcome)
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(commit_error(op))?;
        items.push(TransactWriteItem::builder().put(put).build());
        let sent = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(error) = sent else {
            return Ok(Committed::Counted);
        };
        match cancellation(&error) {
            // The outcome item exists: an earlier try of this commit landed
            // (its answer lost), or the tally was abandoned.
            Some(Cancelled::Condition { .. }) => {
                match holder_of(op, self.get(op, tally_key(tally.id())).await?.as_ref())? {
                    Holder::Committed => Ok(Committed::Counted),
                    Holder::Abandoned => Ok(Committed::Abandoned),
                    Holder::Undecided => Err(CommitError::Conflict),
                }
            }
            Some(Cancelled::Conflict) => Err(CommitError::Conflict),
            None => Err(CommitError::Store(StoreError::new(op, error))),
        }
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
    /// A transaction's items but the commit's own outcome item.
    fn max_buckets(&self) -> usize {
        MAX_TRANSACTION_ITEMS - 1
    }

    async fn claim(&self, tally: &Tally) -> Result<Claimed, StoreError> {
        self.claim_at(tally, SystemClock.now()).await
    }

    async fn commit(&self, tally: &Tally) -> Result<Committed, CommitError> {
        self.commit_tally(tally).await
    }

    async fn abandon(&self, tally: &Tally) -> Result<Committed, StoreError> {
        let expiry = outcome_expiry(tally, SystemClock.now());
        self.abandon_holder("abandon_analytics", tally.id(), expiry)
            .await
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
