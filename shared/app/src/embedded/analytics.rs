use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Scope, Tally};
use wadesk_domain::Timestamp;

use super::lock;
use crate::{AnalyticsStore, Claimed, CommitError, Committed, StoreError};

#[derive(Debug, Default)]
struct State {
    /// Every event id counted so far (the DynamoDB adapter's `EVENT#` markers).
    counted: HashSet<Uuid>,
    buckets: BTreeMap<(Scope, Timestamp), Counters>,
}

/// In-memory analytics counters: one lock around the event ids and the
/// buckets, so the "once per id" check and the counts of a whole tally move
/// together. Nothing dies between a claim and its commit here, so a claim
/// holds nothing: it only names the events counted before, and the commit
/// checks again under the lock (a concurrent tally may have counted one
/// since), counting only the others.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedAnalytics {
    state: Arc<Mutex<State>>,
}

impl EmbeddedAnalytics {
    pub fn new() -> Self {
        Self::default()
    }
}

impl AnalyticsStore for EmbeddedAnalytics {
    fn max_buckets(&self) -> usize {
        usize::MAX
    }

    async fn claim(&self, tally: &Tally) -> Result<Claimed, StoreError> {
        let state = lock(&self.state);
        Ok(Claimed {
            counted_before: tally
                .events()
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| state.counted.contains(id))
                .collect(),
            held_elsewhere: Vec::new(),
        })
    }

    async fn commit(&self, tally: &Tally) -> Result<Committed, CommitError> {
        let mut state = lock(&self.state);
        let since: Vec<Uuid> = tally
            .events()
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| state.counted.contains(id))
            .collect();
        let tally = tally.without(&since);
        state
            .counted
            .extend(tally.events().iter().map(|(id, _)| *id));
        for (bucket, counters) in tally.buckets() {
            *state.buckets.entry(bucket).or_default() += &counters;
        }
        Ok(Committed::Counted)
    }

    /// A commit here is one step under the lock: one that failed wrote
    /// nothing, and nothing holds its events.
    async fn abandon(&self, _: &Tally) -> Result<Committed, StoreError> {
        Ok(Committed::Abandoned)
    }

    async fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> Result<Vec<(Timestamp, Counters)>, StoreError> {
        if first > last {
            return Ok(Vec::new());
        }
        let state = lock(&self.state);
        Ok(state
            .buckets
            .range((scope.clone(), first)..=(scope.clone(), last))
            .map(|((_, hour), counters)| (*hour, *counters))
            .collect())
    }
}
