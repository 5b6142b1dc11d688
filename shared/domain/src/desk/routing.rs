//! Routing's two choices (`docs/product.md#41-statuses-and-routing`): whom an unanswered
//! conversation is offered to, and which waiting conversation an agent who can
//! take one more is offered next.

use super::{offer, routing_candidates, DeskContext, DeskDecision, DeskError};
use crate::{Agent, Conversation, ConversationStatus};

/// Whether routing still has to offer `conversation`: it is unanswered and
/// offered to nobody. The caller reads the agents only then.
pub fn awaits_offer(conversation: &Conversation) -> bool {
    conversation.status == ConversationStatus::Unanswered && conversation.offered_to.is_none()
}

/// Offers the conversation to the best candidate among `ctx.agents` (every
/// agent of the directory): the customer's assigned agent if they can take it,
/// else the longest idle available agent of its queue. `Ok(None)` when it does
/// not await an offer, or when nobody can take it now (it waits in its queue).
pub fn route(ctx: &DeskContext<'_>) -> Result<Option<DeskDecision>, DeskError> {
    if !awaits_offer(ctx.conversation) {
        return Ok(None);
    }
    let assigned = ctx.customer.and_then(|c| c.assigned_agent.as_ref());
    match routing_candidates(ctx.conversation, assigned, ctx.agents.values()).first() {
        Some(candidate) => offer(ctx, candidate).map(Some),
        None => Ok(None),
    }
}

/// The conversation `agent` is offered next when they become available or
/// free capacity: the oldest of `waiting` in their queues that awaits an
/// offer (by [`Conversation::queue_order`]). `None` when they can take none.
pub fn next_for_agent<'a>(agent: &Agent, waiting: &'a [Conversation]) -> Option<&'a Conversation> {
    waiting
        .iter()
        .filter(|c| awaits_offer(c) && agent.can_be_offered(&c.queue))
        .min_by_key(|c| c.queue_order())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, TimeZone, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::fixtures;
    use crate::{AgentId, AgentState, Customer, QueueId, Role, Timestamp};

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn available(name: &str, idle_minutes: i64) -> Agent {
        let mut agent = fixtures::agent(name, Role::Agent, "sales");
        agent.state = AgentState::Available;
        agent.idle_since = t0() - Duration::minutes(idle_minutes);
        agent
    }

    fn directory(agents: &[Agent]) -> BTreeMap<AgentId, Agent> {
        agents.iter().map(|a| (a.id.clone(), a.clone())).collect()
    }

    fn customer_of(conversation: &Conversation, assigned: Option<&str>) -> Customer {
        let mut customer = Customer::new(conversation.customer.clone());
        customer.assigned_agent = assigned.map(|a| AgentId::parse(a).unwrap());
        customer
    }

    fn routed(
        conversation: &Conversation,
        agents: &BTreeMap<AgentId, Agent>,
        customer: &Customer,
    ) -> Option<AgentId> {
        let ctx = DeskContext {
            conversation,
            agents,
            customer: Some(customer),
            now: t0(),
        };
        route(&ctx)
            .unwrap()
            .map(|d| d.conversation.offered_to.unwrap())
    }

    #[test]
    fn routing_offers_the_assigned_agent_else_the_longest_idle() {
        let conversation = fixtures::conversation(ConversationStatus::Unanswered, None);
        let agents = directory(&[
            available("ana", 1),
            available("bob", 10),
            available("cid", 5),
        ]);
        let nobody = customer_of(&conversation, None);
        let ctx = DeskContext {
            conversation: &conversation,
            agents: &agents,
            customer: Some(&nobody),
            now: t0(),
        };
        let decision = route(&ctx).unwrap().unwrap();
        let bob = AgentId::parse("bob").unwrap();
        assert_eq!(decision.conversation.offered_to.as_ref(), Some(&bob));
        assert_eq!(decision.agents.len(), 1);
        assert_eq!(decision.agents[0].agent.load, 1, "the offer counts");
        assert!(decision.arm_offer_timeout.is_some());
        let sticky = customer_of(&conversation, Some("ana"));
        assert_eq!(
            routed(&conversation, &agents, &sticky),
            Some(AgentId::parse("ana").unwrap())
        );
        // The assigned agent busy: the longest idle after all.
        let mut busy = agents.clone();
        busy.get_mut(&AgentId::parse("ana").unwrap()).unwrap().state = AgentState::NotReady;
        assert_eq!(routed(&conversation, &busy, &sticky), Some(bob));
    }

    #[test]
    fn routing_offers_nothing_when_it_waits_for_nobody_or_nobody_can_take_it() {
        let agents = directory(&[available("ana", 1)]);
        let unanswered = fixtures::conversation(ConversationStatus::Unanswered, None);
        let customer = customer_of(&unanswered, None);
        let mut offered = unanswered.clone();
        offered.offered_to = Some(AgentId::parse("bob").unwrap());
        let active = fixtures::conversation(ConversationStatus::Active, Some("bob"));
        for conversation in [&offered, &active] {
            assert!(!awaits_offer(conversation));
            assert_eq!(routed(conversation, &agents, &customer), None);
        }
        assert!(awaits_offer(&unanswered));
        let mut full = agents.clone();
        full.values_mut().for_each(|a| a.load = a.max_concurrent);
        assert_eq!(routed(&unanswered, &full, &customer), None);
        let mut elsewhere = unanswered.clone();
        elsewhere.queue = QueueId::parse("support").unwrap();
        assert_eq!(routed(&elsewhere, &agents, &customer), None);
    }

    fn waiting(minutes_ago: i64, queue: &str) -> Conversation {
        let mut conversation = fixtures::conversation(ConversationStatus::Unanswered, None);
        conversation.queue = QueueId::parse(queue).unwrap();
        conversation.queued_at = Some(t0() - Duration::minutes(minutes_ago));
        conversation
    }

    #[test]
    fn an_agent_is_offered_the_oldest_waiting_conversation_of_their_queues() {
        let ana = available("ana", 0);
        let mut offered = waiting(30, "sales");
        offered.offered_to = Some(AgentId::parse("bob").unwrap());
        let other_queue = waiting(20, "support");
        let oldest = waiting(10, "sales");
        let newer = waiting(5, "sales");
        let queue = [newer, offered, other_queue, oldest.clone()];
        assert_eq!(next_for_agent(&ana, &queue).map(|c| c.id), Some(oldest.id));
        let mut not_ready = ana.clone();
        not_ready.state = AgentState::NotReady;
        assert_eq!(next_for_agent(&not_ready, &queue), None);
        let mut full = ana;
        full.load = full.max_concurrent;
        assert_eq!(next_for_agent(&full, &queue), None);
    }

    #[derive(Debug, Clone)]
    struct AgentSpec {
        state: AgentState,
        load: u32,
        serves: bool,
        idle_minutes: i64,
    }

    fn agent_spec() -> impl Strategy<Value = AgentSpec> {
        (
            prop_oneof![
                Just(AgentState::Available),
                Just(AgentState::NotReady),
                Just(AgentState::Rona)
            ],
            0u32..3,
            any::<bool>(),
            0i64..4,
        )
            .prop_map(|(state, load, serves, idle_minutes)| AgentSpec {
                state,
                load,
                serves,
                idle_minutes,
            })
    }

    fn build(specs: &[AgentSpec]) -> BTreeMap<AgentId, Agent> {
        let agents: Vec<Agent> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let mut agent = available(&format!("agent{i}"), spec.idle_minutes);
                agent.state = spec.state;
                agent.load = spec.load;
                if !spec.serves {
                    agent.queues = vec![QueueId::parse("support").unwrap()];
                }
                agent
            })
            .collect();
        directory(&agents)
    }

    proptest! {
        /// Whoever routing picks can be offered the conversation; the
        /// assigned agent comes first when they can; otherwise nobody who
        /// could be offered it has been idle longer. Nobody is picked only
        /// when nobody can be offered it.
        #[test]
        fn routing_picks_an_agent_who_can_take_it_by_the_rules(
            specs in proptest::collection::vec(agent_spec(), 0..6),
            assigned in proptest::option::of(0usize..6),
        ) {
            let agents = build(&specs);
            let conversation = fixtures::conversation(ConversationStatus::Unanswered, None);
            let assigned_name = assigned.map(|i| format!("agent{i}"));
            let customer = customer_of(&conversation, assigned_name.as_deref());
            let eligible: Vec<&Agent> = agents.values().filter(|a| a.can_be_offered(&conversation.queue)).collect();
            match routed(&conversation, &agents, &customer) {
                None => prop_assert!(eligible.is_empty()),
                Some(picked) => {
                    let picked = &agents[&picked];
                    prop_assert!(picked.can_be_offered(&conversation.queue));
                    match eligible.iter().find(|a| Some(&a.id) == customer.assigned_agent.as_ref()) {
                        Some(assigned) => prop_assert_eq!(&picked.id, &assigned.id),
                        None => prop_assert!(eligible.iter().all(|a| (a.idle_since, &a.id) >= (picked.idle_since, &picked.id))),
                    }
                }
            }
        }

        /// What an agent is offered next is a conversation they can be
        /// offered, and none they could be offered waited longer.
        #[test]
        fn an_agent_gets_the_longest_waiting_conversation_they_can_take(
            spec in agent_spec(),
            queue in proptest::collection::vec((0i64..5, any::<bool>(), any::<bool>(), any::<bool>()), 0..8),
        ) {
            let agent = build(std::slice::from_ref(&spec)).into_values().next().unwrap();
            let conversations: Vec<Conversation> = queue
                .iter()
                .map(|(minutes, in_sales, offered, unanswered)| {
                    let mut c = waiting(*minutes, if *in_sales { "sales" } else { "support" });
                    if *offered {
                        c.offered_to = Some(AgentId::parse("someone").unwrap());
                    }
                    if !*unanswered {
                        c.status = ConversationStatus::Active;
                    }
                    c
                })
                .collect();
            let takeable: Vec<&Conversation> = conversations
                .iter()
                .filter(|c| c.status == ConversationStatus::Unanswered && c.offered_to.is_none() && agent.can_be_offered(&c.queue))
                .collect();
            match next_for_agent(&agent, &conversations) {
                None => prop_assert!(takeable.is_empty()),
                Some(next) => {
                    prop_assert!(takeable.iter().any(|c| c.id == next.id));
                    prop_assert!(takeable.iter().all(|c| c.queue_order() >= next.queue_order()));
                }
            }
        }
    }
}
