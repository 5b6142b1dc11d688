//! Where the local runner keeps analytics counters: in memory beside the
//! embedded store, in the same table beside DynamoDB (as on AWS).

use wadesk_app::embedded::{EmbeddedAnalytics, EmbeddedStore};
use wadesk_app::{AnalyticsStore, Claimed, CommitError, Committed, StoreError};
use wadesk_aws::DynamoStore;
use wadesk_domain::analytics::{Counters, Scope, Tally};
use wadesk_domain::Timestamp;

/// The analytics adapter the runner uses, chosen by its store.
#[derive(Debug, Clone)]
pub enum LocalAnalytics {
    Embedded(EmbeddedAnalytics),
    Dynamo(DynamoStore),
}

/// The analytics store that goes with a conversation store.
pub trait WithAnalytics {
    fn analytics_store(&self) -> LocalAnalytics;
}

impl WithAnalytics for EmbeddedStore {
    fn analytics_store(&self) -> LocalAnalytics {
        LocalAnalytics::Embedded(EmbeddedAnalytics::new())
    }
}

impl WithAnalytics for DynamoStore {
    fn analytics_store(&self) -> LocalAnalytics {
        LocalAnalytics::Dynamo(self.clone())
    }
}

impl AnalyticsStore for LocalAnalytics {
    fn max_buckets(&self) -> usize {
        match self {
            Self::Embedded(store) => store.max_buckets(),
            Self::Dynamo(store) => store.max_buckets(),
        }
    }

    async fn claim(&self, tally: &Tally) -> Result<Claimed, StoreError> {
        match self {
            Self::Embedded(store) => store.claim(tally).await,
            Self::Dynamo(store) => store.claim(tally).await,
        }
    }

    async fn commit(&self, tally: &Tally) -> Result<Committed, CommitError> {
        match self {
            Self::Embedded(store) => store.commit(tally).await,
            Self::Dynamo(store) => store.commit(tally).await,
        }
    }

    async fn abandon(&self, tally: &Tally) -> Result<Committed, StoreError> {
        match self {
            Self::Embedded(store) => store.abandon(tally).await,
            Self::Dynamo(store) => store.abandon(tally).await,
        }
    }

    async fn hourly(
        &self,
        scope: &Scope,
        first: Timestamp,
        last: Timestamp,
    ) -> Result<Vec<(Timestamp, Counters)>, StoreError> {
        match self {
            Self::Embedded(store) => store.hourly(scope, first, last).await,
            Self::Dynamo(store) => store.hourly(scope, first, last).await,
        }
    }
}
