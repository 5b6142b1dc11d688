//! The one optimistic-version convention, for every stored customer, agent
//! and conversation:
//!
//! - An item's `version` is 1 when it is first written and one more on every
//!   write after that; 0 only on an item never stored (built in memory).
//! - A conditional write carries the [`ExpectedVersion`] the stored item must
//!   still have: [`ExpectedVersion::Absent`] (it must not exist yet) or
//!   [`ExpectedVersion::Exactly`]. Otherwise the store refuses it as a
//!   conflict, and the caller reads again and decides again. DynamoDB writes
//!   it as `attribute_not_exists(pk)` or `version = :expected_version`; the
//!   embedded store compares the same ([`ExpectedVersion::admits`]).
//! - The domain computes the next version, once, from what it read
//!   ([`ExpectedVersion::of`], [`ExpectedVersion::next`]); adapters never add
//!   to a version they were handed.
//! - A decision folded into another that writes the same item writes it
//!   once, at the version of that one write: a conversation a customer's
//!   message starts and routing offers at once is created at 1, and the
//!   offer's events are keyed to 1 ([`crate::InboundDecision::offered`]).
//!
//! A write conditioned on something other than the version (an inbound
//! message continuing a conversation is conditioned on its status; a reply
//! to a reopen adds to its agent's load unconditioned) still bumps the stored
//! version by one, so a decision made on the old version conflicts. It
//! expects nothing, and the one who writes it knows no stored version: the
//! embedded store applies it through the domain
//! ([`crate::ConversationChange::apply`]), DynamoDB in its update expression.

/// The version a conditional write expects the stored item to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// The item must not be stored yet: the write creates it.
    Absent,
    /// The item must be stored with exactly this version.
    Exactly(u64),
}

impl ExpectedVersion {
    /// What a write decided on `stored` (the version read, `None` when the
    /// item was not found) expects.
    pub fn of(stored: Option<u64>) -> Self {
        stored.map_or(Self::Absent, Self::Exactly)
    }

    /// The version the written item gets: 1 for a new item, one more than
    /// the expected one otherwise.
    pub fn next(self) -> u64 {
        match self {
            Self::Absent => 1,
            Self::Exactly(version) => version + 1,
        }
    }

    /// Whether a store holding `stored` (`None`: no item) takes the write.
    pub fn admits(self, stored: Option<u64>) -> bool {
        match self {
            Self::Absent => stored.is_none(),
            Self::Exactly(version) => stored == Some(version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_item_starts_at_one_and_each_write_adds_one() {
        assert_eq!(ExpectedVersion::of(None), ExpectedVersion::Absent);
        assert_eq!(ExpectedVersion::of(None).next(), 1);
        assert_eq!(ExpectedVersion::of(Some(1)), ExpectedVersion::Exactly(1));
        assert_eq!(ExpectedVersion::of(Some(7)).next(), 8);
    }

    #[test]
    fn a_write_is_admitted_only_on_what_it_was_decided_on() {
        assert!(ExpectedVersion::Absent.admits(None));
        assert!(!ExpectedVersion::Absent.admits(Some(0)));
        assert!(!ExpectedVersion::Absent.admits(Some(1)));
        assert!(ExpectedVersion::Exactly(3).admits(Some(3)));
        assert!(!ExpectedVersion::Exactly(3).admits(Some(4)));
        assert!(!ExpectedVersion::Exactly(3).admits(Some(2)));
        assert!(!ExpectedVersion::Exactly(3).admits(None));
    }
}
