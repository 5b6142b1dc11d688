//! Events counted in one write: the tally that claims them and the summed
//! buckets it commits, within a transaction's limit; and the rule for an
//! event another tally claimed first.

use std::collections::BTreeMap;

use chrono::Duration;
use uuid::Uuid;

use super::{Counters, Increment, Scope};
use crate::Timestamp;

/// One counter item: a scope's bucket for one UTC hour.
pub type Bucket = (Scope, Timestamp);

/// Events counted in one write: the tally's own id (what its events' markers
/// name once it claims them), each event's id and what it adds. The buckets
/// are summed over the events, so a bucket that several events move is
/// written once, with the sum.
///
/// Idempotency rests on the ids, not on how a delivery was batched: an event
/// counts iff its marker names a tally that committed, and a tally commits
/// its sums and its outcome together or not at all, so a batch delivered
/// again, whole, in part or cut differently, finds the markers of the events
/// already counted and counts only the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    id: Uuid,
    events: Vec<(Uuid, Increment)>,
}

impl Tally {
    /// A tally of no events yet, with a fresh id.
    fn fresh() -> Self {
        Self {
            id: Uuid::new_v4(),
            events: Vec::new(),
        }
    }

    /// The id its events' markers name while it holds them.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The same events under a fresh id: what a tally that was abandoned
    /// (judged dead, see [`claim_verdict`]) claims its events again as,
    /// since its own id can never commit.
    pub fn renewed(&self) -> Tally {
        Tally {
            id: Uuid::new_v4(),
            events: self.events.clone(),
        }
    }

    /// The events, each id once.
    pub fn events(&self) -> &[(Uuid, Increment)] {
        &self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// The sum of the events' increments per bucket.
    pub fn buckets(&self) -> BTreeMap<Bucket, Counters> {
        let mut buckets = BTreeMap::<Bucket, Counters>::new();
        for (_, increment) in &self.events {
            for scope in &increment.scopes {
                *buckets.entry((scope.clone(), increment.hour)).or_default() += &increment.counters;
            }
        }
        buckets
    }

    /// `counted` cut into tallies that each move at most `max_buckets`
    /// counter items (DynamoDB: 99 per commit, the 100th item of the
    /// transaction being the tally's outcome; the events are claimed one by
    /// one beforehand, so their number is not limited). Events that share
    /// buckets go into the same tally (ordered by hour, then agent, queue and
    /// channel), so a bucket is written as few times as the limit allows;
    /// the order of delivery does not matter to sums. An id seen twice in one
    /// delivery is kept once; an increment that moves nothing needs no write
    /// and is left out. Every tally holds at least one event, whatever
    /// `max_buckets`.
    pub fn split(
        counted: impl IntoIterator<Item = (Uuid, Increment)>,
        max_buckets: usize,
    ) -> Vec<Tally> {
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<(Uuid, Increment)> = counted
            .into_iter()
            .filter(|(id, increment)| {
                !increment.counters.is_zero() && !increment.scopes.is_empty() && seen.insert(*id)
            })
            .collect();
        unique.sort_by(|(_, a), (_, b)| (a.hour, &a.scopes).cmp(&(b.hour, &b.scopes)));
        let mut tallies = Vec::new();
        let mut current = Tally::fresh();
        let mut buckets = std::collections::HashSet::<Bucket>::new();
        for (id, increment) in unique {
            let new_buckets = increment
                .scopes
                .iter()
                .filter(|scope| !buckets.contains(&((*scope).clone(), increment.hour)))
                .count();
            if !current.is_empty() && buckets.len() + new_buckets > max_buckets {
                tallies.push(std::mem::replace(&mut current, Tally::fresh()));
                buckets.clear();
            }
            buckets.extend(increment.scopes.iter().map(|s| (s.clone(), increment.hour)));
            current.events.push((id, increment));
        }
        if !current.is_empty() {
            tallies.push(current);
        }
        tallies
    }

    /// The same tally (same id) without the events `ids` names (counted
    /// before, or held by another tally).
    pub fn without(&self, ids: &[Uuid]) -> Tally {
        Tally {
            id: self.id,
            events: self
                .events
                .iter()
                .filter(|(id, _)| !ids.contains(id))
                .cloned()
                .collect(),
        }
    }
}

/// How long a claim may still be followed by its tally's commit: the analytics
/// consumer's whole run (its Lambda `Timeout`, 10 s, Globals in
/// `infra/template.yaml`; infra/tests checks it stays shorter) with room for
/// clocks that differ a little. Only timing rests on it, never the count: a
/// tally judged dead too early is abandoned by an item its own commit cannot
/// get past (see [`claim_verdict`]).
pub const CLAIM_HELD_SECONDS: i64 = 30;

/// What is known of the tally whose claim an event's marker bears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// It committed: the event was counted.
    Committed,
    /// Someone judged it dead and abandoned it: it can never commit.
    Abandoned,
    /// No outcome yet: it is still running, or its run died.
    Undecided,
}

/// What a tally does about an event that another tally claimed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// Counted by the holder: nothing to do.
    CountedBefore,
    /// The holder can no longer commit: take the event over and count it.
    TakeOver,
    /// The holder's run must have ended without a commit: abandon it (so it
    /// can never commit), then take the event over.
    Abandon,
    /// The holder may still commit: leave the event uncounted for now, to be
    /// delivered again once the holder has committed or is dead.
    Wait,
}

/// The rule for an event claimed (at `claimed_at`) by another tally, seen at
/// `now`: an undecided holder is waited for while its run may still go on,
/// and abandoned after.
pub fn claim_verdict(holder: Holder, claimed_at: Timestamp, now: Timestamp) -> ClaimVerdict {
    match holder {
        Holder::Committed => ClaimVerdict::CountedBefore,
        Holder::Abandoned => ClaimVerdict::TakeOver,
        Holder::Undecided if now - claimed_at < Duration::seconds(CLAIM_HELD_SECONDS) => {
            ClaimVerdict::Wait
        }
        Holder::Undecided => ClaimVerdict::Abandon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::fixtures::{agent, at, channel, queue};
    use crate::analytics::increment_for;
    use crate::{ConversationId, DomainEvent, EventEnvelope, MessageId};

    fn reply(agent_id: &str, queue_id: &str, hour: &str, seconds: i64) -> (Uuid, Increment) {
        let event = EventEnvelope::new(
            DomainEvent::AgentReplied {
                conversation_id: ConversationId::generate(),
                message_id: MessageId::generate(),
                agent: agent(agent_id),
                queue: queue(queue_id),
                channel: channel(),
                response_seconds: Some(seconds),
                first_reply: true,
            },
            at(hour),
        );
        (event.id, increment_for(&event).unwrap())
    }

    #[test]
    fn a_tally_writes_each_bucket_once_with_the_sum_of_its_events() {
        let events = vec![
            reply("ana", "sales", "2024-05-01T08:10:00Z", 10),
            reply("ana", "sales", "2024-05-01T08:20:00Z", 30),
            reply("bob", "sales", "2024-05-01T08:30:00Z", 5),
        ];
        let [tally] = <[Tally; 1]>::try_from(Tally::split(events, 100)).unwrap();
        let buckets = tally.buckets();
        // all, queue and channel shared; ana, bob and each agent-in-queue.
        assert_eq!(buckets.len(), 7);
        let hour = at("2024-05-01T08:00:00Z");
        let all = buckets[&(Scope::All, hour)];
        assert_eq!((all.responses, all.response_seconds), (3, 45));
        let ana = buckets[&(Scope::Agent(agent("ana")), hour)];
        assert_eq!((ana.responses, ana.response_seconds), (2, 40));
    }

    #[test]
    fn events_that_share_buckets_share_a_tally_whatever_the_delivery_order() {
        // Two agents' replies, interleaved, 7 buckets in all (all, queue,
        // channel, and each agent's own two): cut at 6 buckets by agent, each
        // agent's buckets are written once, not in every tally.
        let events: Vec<(Uuid, Increment)> = (0..20)
            .map(|n| {
                let agent = if n % 2 == 0 { "ana" } else { "bob" };
                reply(agent, "sales", "2024-05-01T08:10:00Z", n)
            })
            .collect();
        let tallies = Tally::split(events, 6);
        let agents_written: usize = tallies
            .iter()
            .map(|t| {
                t.buckets()
                    .keys()
                    .filter(|(scope, _)| matches!(scope, Scope::Agent(_)))
                    .count()
            })
            .sum();
        // Cut as they came, every tally but the last would hold one event.
        assert_eq!(tallies.len(), 2);
        assert_eq!(agents_written, 2, "each agent's item once");
        assert!(tallies.iter().all(|t| t.buckets().len() <= 6));
        assert_ne!(tallies[0].id(), tallies[1].id(), "each tally its own id");
    }

    #[test]
    fn an_id_delivered_twice_in_one_batch_is_tallied_once() {
        let once = reply("ana", "sales", "2024-05-01T08:10:00Z", 10);
        let tallies = Tally::split(vec![once.clone(), once.clone()], 100);
        assert_eq!(tallies.len(), 1);
        assert_eq!(tallies[0].events(), &[once]);
        assert_eq!(
            tallies[0].buckets()[&(Scope::All, at("2024-05-01T08:00:00Z"))].responses,
            1
        );
    }

    #[test]
    fn without_the_ids_counted_before_the_sums_are_of_the_others() {
        let first = reply("ana", "sales", "2024-05-01T08:10:00Z", 10);
        let second = reply("ana", "sales", "2024-05-01T09:10:00Z", 20);
        let [tally] =
            <[Tally; 1]>::try_from(Tally::split(vec![first.clone(), second.clone()], 100)).unwrap();
        let rest = tally.without(&[first.0]);
        assert_eq!(rest.events(), &[second]);
        assert_eq!(rest.id(), tally.id(), "still the same tally's claims");
        assert!(rest
            .buckets()
            .keys()
            .all(|(_, hour)| *hour == at("2024-05-01T09:00:00Z")));
        assert!(tally.without(&[first.0, rest.events()[0].0]).is_empty());
    }

    #[test]
    fn a_renewed_tally_holds_the_same_events_under_another_id() {
        let [tally] = <[Tally; 1]>::try_from(Tally::split(
            vec![reply("ana", "sales", "2024-05-01T08:10:00Z", 10)],
            100,
        ))
        .unwrap();
        let renewed = tally.renewed();
        assert_ne!(renewed.id(), tally.id());
        assert_eq!(renewed.events(), tally.events());
    }

    #[test]
    fn an_event_claimed_by_another_tally_is_left_to_it_only_while_it_may_still_commit() {
        let claimed_at = at("2024-05-01T08:10:00Z");
        let held = Duration::seconds(CLAIM_HELD_SECONDS);
        let verdict =
            |holder, after: Duration| claim_verdict(holder, claimed_at, claimed_at + after);
        assert_eq!(
            verdict(Holder::Undecided, Duration::zero()),
            ClaimVerdict::Wait
        );
        assert_eq!(
            verdict(Holder::Undecided, held - Duration::seconds(1)),
            ClaimVerdict::Wait
        );
        assert_eq!(verdict(Holder::Undecided, held), ClaimVerdict::Abandon);
        assert_eq!(
            verdict(Holder::Undecided, Duration::days(2)),
            ClaimVerdict::Abandon
        );
        // A decided holder settles it whatever the age of the claim.
        for after in [Duration::zero(), Duration::days(2)] {
            assert_eq!(
                verdict(Holder::Committed, after),
                ClaimVerdict::CountedBefore
            );
            assert_eq!(verdict(Holder::Abandoned, after), ClaimVerdict::TakeOver);
        }
    }

    proptest::proptest! {
        /// However a delivery is cut, every event lands in exactly one tally,
        /// no tally moves more buckets than it may, and the tallies' sums add up to
        /// the sum of the events one by one.
        #[test]
        fn split_tallies_keep_every_event_once_within_the_limit(
            events in proptest::collection::vec((0usize..6, 0usize..3, 0i64..3, 1i64..100), 0..80),
            max_buckets in 5usize..120,
        ) {
            let agents = ["ana", "bob", "cy", "dee", "eve", "fay"];
            let queues = ["sales", "care", "vip"];
            let counted: Vec<(Uuid, Increment)> = events
                .iter()
                .map(|&(a, q, h, s)| reply(agents[a], queues[q], &format!("2024-05-01T0{h}:10:00Z"), s))
                .collect();
            let tallies = Tally::split(counted.clone(), max_buckets);
            let mut expected = BTreeMap::<Bucket, Counters>::new();
            for (_, increment) in &counted {
                for scope in &increment.scopes {
                    *expected.entry((scope.clone(), increment.hour)).or_default() += &increment.counters;
                }
            }
            let mut summed = BTreeMap::<Bucket, Counters>::new();
            let mut ids = Vec::new();
            for tally in &tallies {
                proptest::prop_assert!(!tally.is_empty());
                proptest::prop_assert!(tally.buckets().len() <= max_buckets);
                ids.extend(tally.events().iter().map(|(id, _)| *id));
                for (bucket, counters) in tally.buckets() {
                    *summed.entry(bucket).or_default() += &counters;
                }
            }
            ids.sort();
            let mut delivered: Vec<Uuid> = counted.iter().map(|(id, _)| *id).collect();
            delivered.sort();
            proptest::prop_assert_eq!(ids, delivered);
            proptest::prop_assert_eq!(summed, expected);
        }
    }
}
