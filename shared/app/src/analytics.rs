//! Analytics (`docs/product.md#7-analytics`): domain events into hourly counters, and the
//! dashboard and chat statistics read back from them.
//!
//! Counting is the domain's decision (`wadesk_domain::analytics`); this module
//! only drives it through the [`AnalyticsStore`] port. The live gauges are read
//! from the conversations ([`DeskStore::list_by_status`]) at request time.

use uuid::Uuid;
use wadesk_domain::analytics::{
    self, daily, hour_of, increment_for, rolling, rolling_first_hour, DayFigures, DayRange,
    Figures, Gauges, Increment, Scope, Tally, GAUGE_STATUSES,
};
use wadesk_domain::{Clock, EventEnvelope};

use crate::error::{retry_on_conflict_from, Attempt};
use crate::{AnalyticsStore, AppError, CommitError, DeskStore, Recorded, StoreError};

/// What consuming one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// Its counters moved.
    Counted,
    /// The same event (same id) was counted before: nothing changed.
    Duplicate,
    /// Analytics does not count this type of event.
    NotCounted,
}

/// What consuming a delivered batch did.
#[derive(Debug, Default)]
pub struct BatchConsumed {
    /// Events whose counters moved now.
    pub counted: usize,
    /// Events counted before (same id, in an earlier delivery or earlier in
    /// this one): nothing changed for them.
    pub duplicates: usize,
    /// Events analytics does not count.
    pub not_counted: usize,
    /// Events not counted because their tally could not be written: deliver
    /// them again (the others need not be, though they may).
    pub uncounted: Vec<Uuid>,
    /// Why, the first failure.
    pub error: Option<AppError>,
}

/// The store answered that events were counted before, none of which it
/// was asked to count: retrying the same tally would go round for ever.
#[derive(Debug, thiserror::Error)]
#[error("the store named {0} counted events that are not in the tally")]
struct UnknownDuplicates(usize);

/// Counts one event, once per event id. An error means nothing was counted and
/// the delivery should be retried (the Lambda fails the invocation).
#[tracing::instrument(skip_all, fields(event_id = %event.id, event = event.type_name()), err)]
pub async fn consume<A: AnalyticsStore>(
    store: &A,
    event: &EventEnvelope,
) -> Result<Consumed, AppError> {
    let batch = consume_batch(store, std::slice::from_ref(event)).await;
    if let Some(error) = batch.error {
        return Err(error);
    }
    Ok(if batch.counted == 1 {
        Consumed::Counted
    } else if batch.duplicates == 1 {
        tracing::info!("event already counted");
        Consumed::Duplicate
    } else {
        Consumed::NotCounted
    })
}

/// Counts a delivered batch: the increments summed in memory per counter
/// item, each item written once per tally (as many events as one write may
/// carry, [`AnalyticsStore::max_writes`]), with the markers of the tally's
/// events, so each event counts once however the batch is delivered again
/// (whole, in part, or cut differently). A tally that fails leaves its events
/// in [`BatchConsumed::uncounted`]; the others are counted regardless.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn consume_batch<A: AnalyticsStore>(
    store: &A,
    events: &[EventEnvelope],
) -> BatchConsumed {
    let counted: Vec<(Uuid, Increment)> = events
        .iter()
        .filter_map(|event| increment_for(event).map(|increment| (event.id, increment)))
        .filter(|(_, increment)| !increment.counters.is_zero() && !increment.scopes.is_empty())
        .collect();
    let mut consumed = BatchConsumed {
        not_counted: events.len() - counted.len(),
        ..BatchConsumed::default()
    };
    let candidates = counted.len();
    let tallies = Tally::split(counted, store.max_writes());
    // Ids delivered twice within the batch.
    consumed.duplicates = candidates - tallies.iter().map(Tally::len).sum::<usize>();
    for tally in tallies {
        match record_tally(store, tally).await {
            Ok((counted, duplicates)) => {
                consumed.counted += counted;
                consumed.duplicates += duplicates;
            }
            Err((left, error)) => {
                tracing::error!(%error, events = left.len(), "tally not counted");
                consumed
                    .uncounted
                    .extend(left.events().iter().map(|(id, _)| *id));
                consumed.error.get_or_insert(error);
            }
        }
    }
    consumed
}

/// Writes one tally: without the events counted before, retried with
/// back-off on conflicts. Answers (counted, duplicates), or what was left
/// uncounted and why.
async fn record_tally<A: AnalyticsStore>(
    store: &A,
    tally: Tally,
) -> Result<(usize, usize), (Tally, AppError)> {
    let ((pending, _), recorded) =
        retry_on_conflict_from((tally, 0), |_, (mut pending, mut duplicates)| async move {
            let answer = record_pending(store, &mut pending, &mut duplicates).await;
            ((pending, duplicates), answer)
        })
        .await;
    recorded.map_err(|error| (pending, error))
}

/// One try of [`record_tally`]: writes `pending`, leaving out (and adding to
/// `duplicates`) the events the store finds counted before, until it is
/// counted, a conflict calls for another try, or it fails. Leaving events out
/// is no conflict: it takes neither a pause nor an attempt.
async fn record_pending<A: AnalyticsStore>(
    store: &A,
    pending: &mut Tally,
    duplicates: &mut usize,
) -> Result<Attempt<(usize, usize)>, AppError> {
    while !pending.is_empty() {
        match store.record(pending).await {
            Ok(Recorded::Counted) => return Ok(Attempt::Done((pending.len(), *duplicates))),
            Ok(Recorded::AlreadyCounted(ids)) => {
                let rest = pending.without(&ids);
                if rest.len() == pending.len() {
                    let error = StoreError::new("record_analytics", UnknownDuplicates(ids.len()));
                    return Err(error.into());
                }
                tracing::info!(
                    events = pending.len() - rest.len(),
                    "events already counted"
                );
                *duplicates += pending.len() - rest.len();
                *pending = rest;
            }
            // Another tally's transaction held the same hourly items.
            Err(CommitError::Conflict) => return Ok(Attempt::Again),
            Err(CommitError::Duplicate { .. }) => {
                // Not an answer a tally gets (it is the webhook's wamid).
                let error = StoreError::new("record_analytics", UnknownDuplicates(pending.len()));
                return Err(error.into());
            }
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Ok(Attempt::Done((0, *duplicates)))
}

/// The ports the read side needs: the counters, the conversations for the live
/// gauges, and the clock.
#[derive(Debug)]
pub struct AnalyticsReader<'a, A, D, C> {
    pub counters: &'a A,
    pub conversations: &'a D,
    pub clock: &'a C,
    /// Who acts as admin while the directory has no entry for them.
    pub bootstrap_admins: &'a [wadesk_domain::AgentId],
}

impl<A, D, C> Clone for AnalyticsReader<'_, A, D, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, D, C> Copy for AnalyticsReader<'_, A, D, C> {}

impl<A, D, C> AnalyticsReader<'_, A, D, C>
where
    A: AnalyticsStore,
    D: DeskStore,
    C: Clock,
{
    /// Day by day over `range` (local days of its zone): one Query of
    /// `scope`'s hourly buckets, plus the live gauges when the range includes
    /// today.
    #[tracing::instrument(skip(self), err)]
    pub async fn dashboard(
        &self,
        scope: &Scope,
        range: &DayRange,
    ) -> Result<Vec<DayFigures>, StoreError> {
        let now = self.clock.now();
        let hours = match range.buckets() {
            Some((first, last)) => self.counters.hourly(scope, first, last).await?,
            None => Vec::new(),
        };
        let gauges = if range.contains(range.zone.date_of(now)) {
            Some(self.gauges(scope).await?)
        } else {
            None
        };
        Ok(daily(range, &hours, now, gauges))
    }

    /// The rolling last 24 hours (the 24 hourly buckets ending with the
    /// current one) and the live gauges.
    #[tracing::instrument(skip(self), err)]
    pub async fn chat_statistics(&self, scope: &Scope) -> Result<Figures, StoreError> {
        let now = self.clock.now();
        let (hours, gauges) = tokio::join!(
            self.counters
                .hourly(scope, rolling_first_hour(now), hour_of(now)),
            self.gauges(scope)
        );
        Ok(rolling(&hours?, now, gauges?))
    }

    /// Active and answered conversations of `scope` now: one status listing
    /// per status that can hold them, read concurrently.
    async fn gauges(&self, scope: &Scope) -> Result<Gauges, StoreError> {
        let [unanswered, active, wrap_up, reopened] = GAUGE_STATUSES;
        let store = self.conversations;
        let (unanswered, active, wrap_up, reopened) = tokio::join!(
            store.list_by_status(unanswered),
            store.list_by_status(active),
            store.list_by_status(wrap_up),
            store.list_by_status(reopened),
        );
        let live = [unanswered?, active?, wrap_up?, reopened?];
        Ok(Gauges::of(live.iter().flatten(), scope))
    }
}

/// Re-exported for handlers, so they need not name the domain module.
pub use analytics::{scope_for, RangeError, ScopeError, ScopeRequest, UnknownZone, Zone};
