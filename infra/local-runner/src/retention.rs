//! Retention on the runner's store (`docs/product.md#11-data-protection`):
//! whenever the clock moves, finished conversations past their expiry are
//! forgotten, as DynamoDB's TTL forgets them on AWS.

use std::sync::Arc;

use wadesk_app::embedded::EmbeddedStore;
use wadesk_aws::DynamoStore;
use wadesk_domain::{Message, Timestamp};

/// Forgets what expired by the given time; answers the messages forgotten
/// (their files go with them).
pub type Purge = Arc<dyn Fn(Timestamp) -> Vec<Message> + Send + Sync>;

/// A store the runner can purge of expired conversations.
pub trait WithRetention {
    fn retention_purge(&self) -> Purge;
}

impl WithRetention for EmbeddedStore {
    fn retention_purge(&self) -> Purge {
        let store = self.clone();
        Arc::new(move |now| store.purge_expired(now))
    }
}

impl WithRetention for DynamoStore {
    /// The table's own TTL deletes expired items (the template enables it on
    /// `ttl`), and the erasure function deletes their files from the stream;
    /// moto keeps them, carrying the attribute.
    fn retention_purge(&self) -> Purge {
        Arc::new(|_| Vec::new())
    }
}
