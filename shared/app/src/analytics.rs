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

use crate::error::{retry_on_conflict, Attempt};
use crate::{AnalyticsStore, AppError, CommitError, Committed, DeskStore, StoreError};

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
    /// them again (the others need not be, though they may), unless
    /// [`BatchConsumed::error`] is one no retry can fix.
    pub uncounted: Vec<Uuid>,
    /// Events another tally holds that may still commit (a concurrent or
    /// dead delivery of the same events): not counted now, and always to be
    /// delivered again, when the holder has committed or can be abandoned.
    pub held_elsewhere: Vec<Uuid>,
    /// Why, the first failure.
    pub error: Option<AppError>,
}

/// How often a tally claims its events again under a fresh id after it was
/// abandoned. Abandoning takes a tally judged dead (older than a consumer's
/// run), so a live one meets it at most once in practice.
const MAX_RENEWALS: usize = 3;

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
    if !batch.held_elsewhere.is_empty() {
        return Err(AppError::InProgress {
            what: "counting an event another tally holds",
        });
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
/// item, each item written once per tally (as many buckets as one commit may
/// move, [`AnalyticsStore::max_buckets`]). A tally claims its events one by
/// one, then commits the sums of those it holds, so each event counts once
/// however the batch is delivered again (whole, in part, cut differently, or
/// at the same time). Events a tally could not count (it failed, or another
/// tally that may still commit holds them) are left in
/// [`BatchConsumed::uncounted`]; the others are counted regardless.
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
    let tallies = Tally::split(counted, store.max_buckets());
    // Ids delivered twice within the batch.
    consumed.duplicates = candidates - tallies.iter().map(Tally::len).sum::<usize>();
    for tally in tallies {
        let (outcome, error) = record_tally(store, tally).await;
        consumed.counted += outcome.counted;
        consumed.duplicates += outcome.counted_before;
        if !outcome.held_elsewhere.is_empty() {
            tracing::info!(
                events = outcome.held_elsewhere.len(),
                "events held by another tally that may still commit: left for a later delivery"
            );
        }
        consumed.held_elsewhere.extend(outcome.held_elsewhere);
        if let Some(error) = error {
            tracing::error!(%error, events = outcome.uncounted.len(), "tally not counted");
            consumed.error.get_or_insert(error);
        }
        consumed.uncounted.extend(outcome.uncounted);
    }
    consumed
}

/// What writing one tally came to.
#[derive(Debug, Default)]
struct TallyOutcome {
    counted: usize,
    counted_before: usize,
    /// Held by another tally that may still commit.
    held_elsewhere: Vec<Uuid>,
    /// Not counted because the tally failed (with the error beside).
    uncounted: Vec<Uuid>,
}

/// Writes one tally: claims its events, then commits the sums of those it
/// holds, the commit retried with back-off on conflicts (the claims stand).
/// A tally abandoned before its commit claims its events again under a
/// fresh id and commits again; one whose commit fails abandons itself.
async fn record_tally<A: AnalyticsStore>(
    store: &A,
    mut tally: Tally,
) -> (TallyOutcome, Option<AppError>) {
    let mut outcome = TallyOutcome::default();
    for _ in 0..MAX_RENEWALS {
        let claimed = match store.claim(&tally).await {
            Ok(claimed) => claimed,
            Err(error) => {
                outcome.uncounted = ids(&tally);
                return (outcome, Some(error.into()));
            }
        };
        outcome.counted_before += claimed.counted_before.len();
        let held = tally
            .without(&claimed.counted_before)
            .without(&claimed.held_elsewhere);
        outcome.held_elsewhere.extend(claimed.held_elsewhere);
        if held.is_empty() {
            return (outcome, None);
        }
        match commit_held(store, &held).await {
            Ok(Committed::Counted) => {
                outcome.counted += held.len();
                return (outcome, None);
            }
            Ok(Committed::Abandoned) => {
                tracing::warn!(tally = %held.id(), "tally abandoned before it committed; claiming again");
                tally = held.renewed();
            }
            Err(error) => {
                // Settle it now: counted if the commit landed (its answer
                // lost), else free for the next delivery to take over.
                if let Ok(Committed::Counted) = store.abandon(&held).await {
                    outcome.counted += held.len();
                    return (outcome, None);
                }
                outcome.uncounted = ids(&held);
                return (outcome, Some(error));
            }
        }
    }
    outcome.uncounted = ids(&tally);
    let error = AppError::Contention {
        attempts: MAX_RENEWALS,
    };
    (outcome, Some(error))
}

/// Commits the held tally, again after a lost race on the hourly items.
async fn commit_held<A: AnalyticsStore>(store: &A, held: &Tally) -> Result<Committed, AppError> {
    retry_on_conflict(|_| async {
        match store.commit(held).await {
            Ok(committed) => Ok(Attempt::Done(committed)),
            // Another tally's transaction held the same hourly items.
            Err(CommitError::Conflict) => Ok(Attempt::Again),
            Err(CommitError::Duplicate { .. }) => {
                // Not an answer a tally gets (it is the webhook's wamid).
                Err(StoreError::new("commit_analytics", UnexpectedDuplicate).into())
            }
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// A commit answered the webhook's "duplicate" outcome, which no tally gets.
#[derive(Debug, thiserror::Error)]
#[error("the store answered a tally's commit as a duplicate message")]
struct UnexpectedDuplicate;

fn ids(tally: &Tally) -> Vec<Uuid> {
    tally.events().iter().map(|(id, _)| *id).collect()
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use wadesk_domain::{
        AgentId, ConversationId, CustomerKey, DomainEvent, PhoneNumberId, QueueId, WaId,
    };

    use super::*;
    use crate::Claimed;

    fn finished(n: u64) -> EventEnvelope {
        let customer = CustomerKey::new(
            PhoneNumberId::parse("100000000000001").unwrap(),
            WaId::parse(format!("3460000000{n}")).unwrap(),
        );
        EventEnvelope::new(
            DomainEvent::ConversationFinished {
                conversation_id: ConversationId::generate(),
                customer,
                agent: AgentId::parse("ana").unwrap(),
                queue: QueueId::parse("sales").unwrap(),
                reason: "Resolved".into(),
                handling_seconds: Some(60),
            },
            "2024-05-01T09:10:00Z".parse().unwrap(),
        )
    }

    /// Answers claims and commits as scripted, and keeps which tally ids
    /// each was asked for.
    struct Scripted {
        held_elsewhere: Vec<Uuid>,
        commits: Mutex<VecDeque<Result<Committed, CommitError>>>,
        claimed: Mutex<Vec<(Uuid, usize)>>,
        committed: Mutex<Vec<(Uuid, usize)>>,
        abandoned: Mutex<Vec<Uuid>>,
        abandon_answer: Committed,
    }

    impl Default for Scripted {
        fn default() -> Self {
            Self {
                held_elsewhere: Vec::new(),
                commits: Mutex::default(),
                claimed: Mutex::default(),
                committed: Mutex::default(),
                abandoned: Mutex::default(),
                abandon_answer: Committed::Abandoned,
            }
        }
    }

    impl AnalyticsStore for Scripted {
        fn max_buckets(&self) -> usize {
            usize::MAX
        }

        async fn claim(&self, tally: &Tally) -> Result<crate::Claimed, StoreError> {
            self.claimed.lock().unwrap().push((tally.id(), tally.len()));
            Ok(Claimed {
                counted_before: Vec::new(),
                held_elsewhere: self.held_elsewhere.clone(),
            })
        }

        async fn commit(&self, tally: &Tally) -> Result<Committed, CommitError> {
            self.committed
                .lock()
                .unwrap()
                .push((tally.id(), tally.len()));
            self.commits
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Ok(Committed::Counted))
        }

        async fn abandon(&self, tally: &Tally) -> Result<Committed, StoreError> {
            self.abandoned.lock().unwrap().push(tally.id());
            Ok(self.abandon_answer)
        }

        async fn hourly(
            &self,
            _: &Scope,
            _: wadesk_domain::Timestamp,
            _: wadesk_domain::Timestamp,
        ) -> Result<Vec<(wadesk_domain::Timestamp, analytics::Counters)>, StoreError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn a_commit_that_conflicts_is_retried_on_the_same_claims() {
        let store = Scripted {
            commits: Mutex::new(VecDeque::from([
                Err(CommitError::Conflict),
                Err(CommitError::Conflict),
            ])),
            ..Scripted::default()
        };
        let events: Vec<EventEnvelope> = (0..3).map(finished).collect();
        let consumed = consume_batch(&store, &events).await;
        assert_eq!(consumed.counted, 3);
        assert_eq!(store.claimed.lock().unwrap().len(), 1, "claimed once");
        let committed = store.committed.lock().unwrap().clone();
        assert_eq!(committed.len(), 3);
        assert!(committed.iter().all(|c| *c == committed[0]), "same tally");
    }

    #[tokio::test]
    async fn an_abandoned_tally_claims_its_events_again_under_a_fresh_id() {
        let store = Scripted {
            commits: Mutex::new(VecDeque::from([Ok(Committed::Abandoned)])),
            ..Scripted::default()
        };
        let events: Vec<EventEnvelope> = (0..3).map(finished).collect();
        let consumed = consume_batch(&store, &events).await;
        assert_eq!(consumed.counted, 3);
        assert!(consumed.error.is_none() && consumed.uncounted.is_empty());
        let claimed = store.claimed.lock().unwrap().clone();
        let committed = store.committed.lock().unwrap().clone();
        assert_eq!(claimed.len(), 2);
        assert_ne!(claimed[0].0, claimed[1].0, "a fresh id");
        assert_eq!(committed, claimed, "each id committed after its claims");
    }

    #[tokio::test]
    async fn a_tally_abandoned_again_and_again_gives_up_with_its_events_uncounted() {
        let store = Scripted {
            commits: Mutex::new(
                (0..MAX_RENEWALS)
                    .map(|_| Ok(Committed::Abandoned))
                    .collect(),
            ),
            ..Scripted::default()
        };
        let events: Vec<EventEnvelope> = (0..2).map(finished).collect();
        let consumed = consume_batch(&store, &events).await;
        assert_eq!(consumed.counted, 0);
        assert_eq!(consumed.uncounted.len(), 2);
        assert!(consumed
            .error
            .is_some_and(|e| crate::error::Retryable::is_retryable(&e)));
    }

    #[tokio::test]
    async fn events_another_tally_holds_are_left_for_a_later_delivery() {
        let events: Vec<EventEnvelope> = (0..3).map(finished).collect();
        let store = Scripted {
            held_elsewhere: vec![events[1].id],
            ..Scripted::default()
        };
        let consumed = consume_batch(&store, &events).await;
        assert_eq!(consumed.counted, 2);
        assert_eq!(consumed.held_elsewhere, [events[1].id]);
        assert!(consumed.error.is_none() && consumed.uncounted.is_empty());
        assert_eq!(store.committed.lock().unwrap()[0].1, 2, "without it");
        // A single event (a replay) held elsewhere fails, to be retried.
        let alone = consume(&store, &events[1]).await;
        assert!(matches!(alone, Err(AppError::InProgress { .. })));
    }

    #[tokio::test]
    async fn a_tally_whose_commit_fails_abandons_itself_unless_it_had_committed() {
        let refused = || {
            let error = std::io::Error::other("refused by the test");
            Err(CommitError::Store(StoreError::new(
                "commit_analytics",
                error,
            )))
        };
        let events: Vec<EventEnvelope> = (0..2).map(finished).collect();
        let failed = Scripted {
            commits: Mutex::new(VecDeque::from([refused()])),
            ..Scripted::default()
        };
        let consumed = consume_batch(&failed, &events).await;
        assert_eq!(consumed.counted, 0);
        assert_eq!(consumed.uncounted.len(), 2);
        assert!(consumed.error.is_some());
        let committed = failed.committed.lock().unwrap()[0].0;
        assert_eq!(*failed.abandoned.lock().unwrap(), [committed]);

        // The commit landed and only its answer was lost.
        let landed = Scripted {
            commits: Mutex::new(VecDeque::from([refused()])),
            abandon_answer: Committed::Counted,
            ..Scripted::default()
        };
        let consumed = consume_batch(&landed, &events).await;
        assert_eq!(consumed.counted, 2);
        assert!(consumed.error.is_none() && consumed.uncounted.is_empty());
    }
}
