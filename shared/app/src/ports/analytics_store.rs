use std::future::Future;

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Scope, Tally};
use wadesk_domain::Timestamp;

use crate::{CommitError, StoreError};

/// What recording a tally did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The counters moved, and every event id of the tally is now remembered.
    Counted,
    /// These event ids were counted before: nothing was written. The tally
    /// without them is what is left to count.
    AlreadyCounted(Vec<Uuid>),
}

/// Hourly analytics counters per scope. Counting is idempotent per event id,
/// and the ids' markers are written atomically with the counters, so a crash
/// between the two, or a redelivery, can neither lose nor double a count.
pub trait AnalyticsStore: Send + Sync + 'static {
    /// The most items one [`AnalyticsStore::record`] may write: a marker per
    /// event and one item per bucket ([`Tally::writes`]).
    fn max_writes(&self) -> usize;

    /// Adds each bucket's sum of `tally` and remembers its event ids, all at
    /// once, unless one of the ids was counted before (then nothing is
    /// written, and the answer names those ids). `CommitError::Conflict`
    /// means a concurrent write touched the same items: nothing was written,
    /// try again.
    fn record(&self, tally: &Tally) -> impl Future<Output = Result<Recorded, CommitError>> + Send;

    /// The buckets of `scope` whose hour is in `first..=last`, oldest first;
    /// hours in which nothing was counted are absent.
    fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> impl Future<Output = Result<Vec<(Timestamp, Counters)>, StoreError>> + Send;
}
