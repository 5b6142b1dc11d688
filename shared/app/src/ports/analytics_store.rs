use std::future::Future;

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Scope, Tally};
use wadesk_domain::Timestamp;

use crate::{CommitError, StoreError};

/// What claiming a tally's events did. Every event of the tally not named
/// here is now held by the tally (its marker names the tally's id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    /// Counted before (by a tally that committed): nothing to do for them.
    pub counted_before: Vec<Uuid>,
    /// Held by another tally that may still commit: not counted now, to be
    /// delivered again later.
    pub held_elsewhere: Vec<Uuid>,
}

/// What committing a tally did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The counters moved, and the events the tally holds count as counted.
    Counted,
    /// Nothing moved: the tally was abandoned (judged dead) before it
    /// committed, and never can. Its events still held by it are claimed
    /// again under a fresh id ([`Tally::renewed`]).
    Abandoned,
}

/// Hourly analytics counters per scope. Counting is idempotent per event id:
/// a tally first claims its events (each event is held by one tally at a
/// time), then commits the counters of the events it holds together with its
/// own outcome, so a crash anywhere, a redelivery or a concurrent delivery
/// of the same event can neither lose nor double a count.
pub trait AnalyticsStore: Send + Sync + 'static {
    /// The most counter items one [`AnalyticsStore::commit`] may move
    /// ([`Tally::split`]).
    fn max_buckets(&self) -> usize;

    /// Claims every event of `tally` for it, unless counted before or held
    /// by another tally that may still commit (the answer names those). An
    /// event already held by this very tally stays held (a retry).
    fn claim(&self, tally: &Tally) -> impl Future<Output = Result<Claimed, StoreError>> + Send;

    /// Adds each bucket's sum of `tally` (events it holds, from
    /// [`AnalyticsStore::claim`]) and records that it committed, all at
    /// once. `CommitError::Conflict` means a concurrent write touched the
    /// same items: nothing was written, try again (the claims stand).
    fn commit(&self, tally: &Tally) -> impl Future<Output = Result<Committed, CommitError>> + Send;

    /// Makes sure `tally` never commits, if it has not yet: what a tally
    /// whose commit failed does, so the next delivery of its events takes
    /// them over at once instead of waiting for its claims to age.
    /// `Committed::Counted` if it had committed after all (a commit whose
    /// answer was lost), else `Committed::Abandoned`.
    fn abandon(&self, tally: &Tally) -> impl Future<Output = Result<Committed, StoreError>> + Send;

    /// The buckets of `scope` whose hour is in `first..=last`, oldest first;
    /// hours in which nothing was counted are absent.
    fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> impl Future<Output = Result<Vec<(Timestamp, Counters)>, StoreError>> + Send;
}
