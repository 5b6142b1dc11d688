use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use uuid::Uuid;
use wadesk_domain::analytics::{Counters, Increment, Scope};
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
/// buckets, so the "once per id" check and the counts move together, as in
/// the DynamoDB adapter's transaction.
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
    async fn record(&self, event_id: Uuid, increment: &Increment) -> Result<Recorded, CommitError> {
        let mut state = lock(&self.state);
        if !state.counted.insert(event_id) {
            return Ok(Recorded::AlreadyCounted);
        }
        for scope in &increment.scopes {
            *state
                .buckets
                .entry((scope.clone(), increment.hour))
                .or_default() += &increment.counters;
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
