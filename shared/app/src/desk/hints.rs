//! What a warm instance remembers of the conversations its callers acted on:
//! each one's customer (which never changes) and the agents it named last,
//! so the next request on it reads them with the caller's entry and the
//! conversation, in one round trip instead of two.
//!
//! Only ever a guess of what to read: every decision is still made on what
//! was read, the conversation as read says which customer and agents count
//! (one it names that the hint missed is read after it, one the hint named
//! that it no longer does is ignored), and the commit's expected versions
//! refuse anything stale. Nothing is remembered of a conversation that was
//! not read, acted on and committed.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use wadesk_domain::{AgentId, Conversation, ConversationId, CustomerKey};

/// What a request on a conversation will read besides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hint {
    pub customer: CustomerKey,
    pub agents: Vec<AgentId>,
}

/// A bounded, per-process least-recently-used map of [`Hint`]s, shared by the
/// clones of an [`App`](crate::App) (one per instance, wired with it). The
/// map is made on the first conversation remembered (`lru` sizes its table
/// for the whole capacity up front), so an instance that never serves a
/// desk action allocates nothing for it.
#[derive(Clone)]
pub struct SnapshotHints {
    capacity: Option<NonZeroUsize>,
    remembered: Arc<Mutex<Option<LruCache<ConversationId, Hint>>>>,
}

impl SnapshotHints {
    /// A Lambda instance serves one request at a time: a few thousand
    /// conversations are hours of an agent desk's work, at about 200 bytes each.
    pub const DEFAULT_CAPACITY: usize = 4096;

    /// Remembers at most `capacity` conversations (0: none, every request
    /// reads as on a cold instance).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: NonZeroUsize::new(capacity),
            remembered: Arc::default(),
        }
    }

    /// Remembers nothing: every request reads as on a cold instance.
    pub fn disabled() -> Self {
        Self::new(0)
    }

    /// How many conversations it remembers now.
    pub fn len(&self) -> usize {
        self.lock().as_ref().map_or(0, LruCache::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hint for conversation `id`, if remembered (it counts as used).
    pub(crate) fn get(&self, id: ConversationId) -> Option<Hint> {
        self.lock().as_mut()?.get(&id).cloned()
    }

    /// Remembers `conversation`'s customer and the agents it names, as
    /// committed.
    pub(crate) fn remember(&self, conversation: &Conversation) {
        let hint = Hint {
            customer: conversation.customer.clone(),
            agents: conversation
                .agent_links()
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        };
        self.put(conversation.id, hint);
    }

    fn put(&self, id: ConversationId, hint: Hint) {
        let Some(capacity) = self.capacity else {
            return;
        };
        self.lock()
            .get_or_insert_with(|| LruCache::new(capacity))
            .put(id, hint);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<LruCache<ConversationId, Hint>>> {
        // A panic elsewhere leaves nothing half-done in a map of guesses.
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for SnapshotHints {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for SnapshotHints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotHints")
            .field("capacity", &self.capacity.map_or(0, NonZeroUsize::get))
            .field("remembered", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wadesk_domain::{PhoneNumberId, WaId};

    fn id(n: u32) -> ConversationId {
        ConversationId::derived_from(&n.to_string())
    }

    fn hint(agent: &str) -> Hint {
        Hint {
            customer: CustomerKey::new(
                PhoneNumberId::parse("106540352242922").unwrap(),
                WaId::parse("34600000001").unwrap(),
            ),
            agents: vec![AgentId::parse(agent).unwrap()],
        }
    }

    #[test]
    fn the_last_hint_remembered_wins() {
        let hints = SnapshotHints::new(8);
        assert_eq!(hints.get(id(1)), None);
        hints.put(id(1), hint("ana"));
        assert_eq!(hints.get(id(1)), Some(hint("ana")));
        hints.put(id(1), hint("bob"));
        assert_eq!(hints.get(id(1)), Some(hint("bob")));
        assert_eq!(hints.len(), 1);
    }

    #[test]
    fn it_never_holds_more_than_its_capacity_and_keeps_what_is_used() {
        let hints = SnapshotHints::new(8);
        hints.put(id(0), hint("ana"));
        for n in 1..100 {
            hints.put(id(n), hint("bob"));
            assert!(hints.get(id(0)).is_some(), "used on every request: kept");
            assert!(hints.len() <= 8, "{} remembered", hints.len());
        }
        assert!(hints.get(id(98)).is_some() && hints.get(id(99)).is_some());
        assert_eq!(hints.get(id(1)), None, "long unused: dropped");
        assert_eq!(hints.len(), 8, "full, not emptied");
    }

    #[test]
    fn disabled_it_remembers_nothing() {
        let hints = SnapshotHints::disabled();
        hints.put(id(1), hint("ana"));
        assert_eq!(hints.get(id(1)), None);
        assert!(hints.is_empty());
    }
}
