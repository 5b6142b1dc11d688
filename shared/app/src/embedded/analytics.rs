use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Scope, Tally};
use wadesk_domain::Timestamp;

use super::lock;
use crate::{AnalyticsStore, CommitError, Recorded, StoreError};

#[derive(Debug, Default)]
struct State {
    /// Every event id counted so far (the DynamoDB adapter's `EVENT#` markers).
    counted: HashSet<Uuid>,
    buckets: BTreeMap<(Scope, Timestamp), Counters>,
}

/// In-memory analytics counters: one lock around the event ids and the
/// buckets, so the "once per id" check and the counts of a whole tally move
/// together, as in the DynamoDB adapter's transaction.
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
    fn max_writes(&self) -> usize {
        usize::MAX
    }

    async fn record(&self, tally: &Tally) -> Result<Recorded, CommitError> {
        let mut state = lock(&self.state);
        let before: Vec<Uuid> = tally
            .events()
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| state.counted.contains(id))
            .collect();
        if !before.is_empty() {
            return Ok(Recorded::AlreadyCounted(before));
        }
        state
            .counted
            .extend(tally.events().iter().map(|(id, _)| *id));
        for (bucket, counters) in tally.buckets() {
            *state.buckets.entry(bucket).or_default() += &counters;
        }
        Ok(Recorded::Counted)
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
