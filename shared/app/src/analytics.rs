//! Analytics (`docs/product.md#7-analytics`): domain events into hourly counters, and the
//! dashboard and chat statistics read back from them.
//!
//! Counting is the domain's decision (`wadesk_domain::analytics`); this module
//! only drives it through the [`AnalyticsStore`] port. The live gauges are read
//! from the conversations ([`DeskStore::list_by_status`]) at request time.

use wadesk_domain::analytics::{
    self, daily, hour_of, increment_for, rolling, rolling_first_hour, DayFigures, DayRange,
    Figures, Gauges, Scope, GAUGE_STATUSES,
};
use wadesk_domain::{Clock, EventEnvelope};

use crate::error::{backoff, MAX_ATTEMPTS};
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

/// Counts one event, once per event id. An error means nothing was counted and
/// the delivery should be retried (the Lambda fails the invocation).
#[tracing::instrument(skip_all, fields(event_id = %event.id, event = event.type_name()), err)]
pub async fn consume<A: AnalyticsStore>(
    store: &A,
    event: &EventEnvelope,
) -> Result<Consumed, AppError> {
    let Some(increment) = increment_for(event) else {
        return Ok(Consumed::NotCounted);
    };
    for attempt in 0..MAX_ATTEMPTS {
        match store.record(event.id, &increment).await {
            Ok(Recorded::Counted) => return Ok(Consumed::Counted),
            Ok(Recorded::AlreadyCounted) | Err(CommitError::Duplicate { .. }) => {
                tracing::info!("event already counted");
                return Ok(Consumed::Duplicate);
            }
            // Another event's transaction held the same hourly items.
            Err(CommitError::Conflict) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(AppError::Contention {
        attempts: MAX_ATTEMPTS,
    })
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
