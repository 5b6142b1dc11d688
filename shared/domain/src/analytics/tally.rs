//! Events counted in one write: markers and summed buckets within a
//! transaction's limit.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::{Counters, Increment, Scope};
use crate::Timestamp;

/// One counter item: a scope's bucket for one UTC hour.
pub type Bucket = (Scope, Timestamp);

/// Events counted in one write: each event's id (its marker, so it counts once)
/// and what it adds. The buckets are summed over the events, so a bucket that
/// several events move is written once, with the sum.
///
/// Idempotency rests on the ids, not on how a delivery was batched: a tally
/// commits its markers and its sums together or not at all, so a batch
/// delivered again, whole, in part or cut differently, finds the markers of
/// the events already counted and counts only the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    events: Vec<(Uuid, Increment)>,
}

impl Tally {
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

    /// Items one commit of this tally writes: a marker per event, one item
    /// per bucket.
    pub fn writes(&self) -> usize {
        self.events.len() + self.buckets().len()
    }

    /// `counted` cut into tallies that each write at most `max_writes` items
    /// (DynamoDB: 100 per transaction). Events that share buckets go into the
    /// same tally (ordered by hour, then agent, queue and channel), so a
    /// bucket is written as few times as the limit allows; the order of
    /// delivery does not matter to sums. An id seen twice in one delivery is
    /// kept once; an increment that moves nothing needs no write and is left
    /// out. Every tally holds at least one event, whatever `max_writes`.
    pub fn split(
        counted: impl IntoIterator<Item = (Uuid, Increment)>,
        max_writes: usize,
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
        let mut current = Tally::default();
        let mut buckets = std::collections::HashSet::<Bucket>::new();
        for (id, increment) in unique {
            let new_buckets = increment
                .scopes
                .iter()
                .filter(|scope| !buckets.contains(&((*scope).clone(), increment.hour)))
                .count();
            let writes = current.events.len() + buckets.len() + 1 + new_buckets;
            if !current.is_empty() && writes > max_writes {
                tallies.push(std::mem::take(&mut current));
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

    /// The same tally without the events `ids` names (counted before).
    pub fn without(&self, ids: &[Uuid]) -> Tally {
        Tally {
            events: self
                .events
                .iter()
                .filter(|(id, _)| !ids.contains(id))
                .cloned()
                .collect(),
        }
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
        assert_eq!(tally.writes(), 3 + 7);
        let hour = at("2024-05-01T08:00:00Z");
        let all = buckets[&(Scope::All, hour)];
        assert_eq!((all.responses, all.response_seconds), (3, 45));
        let ana = buckets[&(Scope::Agent(agent("ana")), hour)];
        assert_eq!((ana.responses, ana.response_seconds), (2, 40));
    }

    #[test]
    fn events_that_share_buckets_share_a_tally_whatever_the_delivery_order() {
        // Two agents' replies, interleaved: cut by agent, each agent's
        // buckets are written once, not in every tally.
        let events: Vec<(Uuid, Increment)> = (0..20)
            .map(|n| {
                let agent = if n % 2 == 0 { "ana" } else { "bob" };
                reply(agent, "sales", "2024-05-01T08:10:00Z", n)
            })
            .collect();
        let tallies = Tally::split(events, 16);
        let agents_written: usize = tallies
            .iter()
            .map(|t| {
                t.buckets()
                    .keys()
                    .filter(|(scope, _)| matches!(scope, Scope::Agent(_)))
                    .count()
            })
            .sum();
        // Delivered as they came, each tally would hold both agents (6 agent
        // items in 3 tallies).
        assert_eq!(tallies.len(), 2);
        assert_eq!(agents_written, 2, "each agent's item once");
        assert!(tallies.iter().all(|t| t.writes() <= 16));
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
        assert!(rest
            .buckets()
            .keys()
            .all(|(_, hour)| *hour == at("2024-05-01T09:00:00Z")));
        assert!(tally.without(&[first.0, rest.events()[0].0]).is_empty());
    }

    proptest::proptest! {
        /// However a delivery is cut, every event lands in exactly one tally,
        /// no tally writes more than it may, and the tallies' sums add up to
        /// the sum of the events one by one.
        #[test]
        fn split_tallies_keep_every_event_once_within_the_limit(
            events in proptest::collection::vec((0usize..6, 0usize..3, 0i64..3, 1i64..100), 0..80),
            max_writes in 6usize..120,
        ) {
            let agents = ["ana", "bob", "cy", "dee", "eve", "fay"];
            let queues = ["sales", "care", "vip"];
            let counted: Vec<(Uuid, Increment)> = events
                .iter()
                .map(|&(a, q, h, s)| reply(agents[a], queues[q], &format!("2024-05-01T0{h}:10:00Z"), s))
                .collect();
            let tallies = Tally::split(counted.clone(), max_writes);
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
                proptest::prop_assert!(tally.writes() <= max_writes);
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
