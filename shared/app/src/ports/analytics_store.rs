use std::future::Future;

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Increment, Scope};
use wadesk_domain::Timestamp;

use crate::{CommitError, StoreError};

/// What recording an event's counters did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The counters moved, and the event id is now remembered.
    Counted,
    /// The event id was already counted: nothing changed.
    AlreadyCounted,
}

/// Hourly analytics counters per scope. Counting is idempotent per event id,
/// and the id's marker is written atomically with the counters, so a crash
/// between the two, or a redelivery, can neither lose nor double a count.
pub trait AnalyticsStore: Send + Sync + 'static {
    /// Adds `increment` to the bucket `increment.hour` of each of its scopes,
    /// unless `event_id` was counted before. `CommitError::Conflict` means a
    /// concurrent write touched the same items: nothing was written, try again.
    fn record(
        &self,
        event_id: Uuid,
        increment: &Increment,
    ) -> impl Future<Output = Result<Recorded, CommitError>> + Send;

    /// The buckets of `scope` whose hour is in `first..=last`, oldest first;
    /// hours in which nothing was counted are absent.
    fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> impl Future<Output = Result<Vec<(Timestamp, Counters)>, StoreError>> + Send;
}
