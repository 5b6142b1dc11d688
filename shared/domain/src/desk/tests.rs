use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::{
    decide_inbound, Channel, ConversationChange, CustomerKey, InboundMessage, PhoneNumberId, WaId,
    Wamid,
};

fn id(s: &str) -> AgentId {
    AgentId::parse(s).unwrap()
}

fn sales() -> QueueId {
    QueueId::parse("sales").unwrap()
}

fn agent(name: &str, max: u32, now: Timestamp) -> Agent {
    let mut agent = Agent::new(
        id(name),
        name.to_uppercase(),
        Role::Agent,
        vec![sales()],
        max,
        now,
    );
    agent.state = AgentState::Available;
    agent
}

fn actor(name: &str) -> Actor {
    Actor {
        id: id(name),
        role: Role::Agent,
    }
}

/// A customer with a fresh unanswered conversation in `sales`.
fn unanswered(n: u8, now: Timestamp) -> (Customer, Conversation) {
    let mut channel = Channel::unconfigured(PhoneNumberId::parse("1").unwrap(), "+1".into());
    channel.default_queue = sales();
    let key = CustomerKey::new(
        PhoneNumberId::parse("1").unwrap(),
        WaId::parse(format!("34{n}")).unwrap(),
    );
    let d = decide_inbound(
        None,
        &channel,
        InboundMessage {
            wamid: Wamid::parse(format!("wamid.{n}")).unwrap(),
            customer: key,
            profile_name: None,
            display_phone_number: "+1".into(),
            sent_at: now,
            content: MessageContent::Text { text: "hi".into() },
        },
        now,
    );
    let ConversationChange::Started(conversation) = d.conversation else {
        unreachable!()
    };
    (d.customer, conversation)
}

struct World {
    now: Timestamp,
    agents: BTreeMap<AgentId, Agent>,
    conversation: Conversation,
    customer: Customer,
}

impl World {
    fn new(agents: &[(&str, u32)]) -> Self {
        let now = Utc::now();
        let (customer, conversation) = unanswered(1, now);
        Self {
            now,
            agents: agents
                .iter()
                .map(|(n, max)| (id(n), agent(n, *max, now)))
                .collect(),
            conversation,
            customer,
        }
    }

    fn ctx(&self) -> DeskContext<'_> {
        DeskContext {
            conversation: &self.conversation,
            agents: &self.agents,
            customer: Some(&self.customer),
            now: self.now,
        }
    }

    /// The context of an action decided without reading the customer.
    fn ctx_without_customer(&self) -> DeskContext<'_> {
        DeskContext {
            customer: None,
            ..self.ctx()
        }
    }

    fn apply(&mut self, decision: DeskDecision) -> DeskDecision {
        assert_eq!(
            decision.expected_version(),
            ExpectedVersion::Exactly(self.conversation.version)
        );
        assert_eq!(decision.before.version + 1, decision.conversation.version);
        self.conversation = decision.conversation.clone();
        for change in &decision.agents {
            assert_eq!(
                ExpectedVersion::Exactly(self.agents[&change.agent.id].version),
                change.expected_version
            );
            assert_eq!(change.expected_version.next(), change.agent.version);
            self.agents
                .insert(change.agent.id.clone(), change.agent.clone());
        }
        if let Some(change) = &decision.customer {
            assert_eq!(
                ExpectedVersion::Exactly(self.customer.version),
                change.expected_version
            );
            assert_eq!(change.expected_version.next(), change.customer.version);
            self.customer = change.customer.clone();
        }
        decision
    }

    fn load(&self, name: &str) -> u32 {
        self.agents[&id(name)].load
    }
}

#[test]
fn offer_accept_and_the_offer_counts_once() {
    let mut w = World::new(&[("ana", 2)]);
    let d = w.apply(offer(&w.ctx(), &id("ana")).unwrap());
    assert!(d.arm_offer_timeout.is_some());
    assert_eq!(w.load("ana"), 1);
    assert_eq!(accept(&w.ctx(), &actor("bob")), Err(DeskError::NotOffered));
    w.apply(accept(&w.ctx(), &actor("ana")).unwrap());
    assert_eq!(w.conversation.status, ConversationStatus::Active);
    assert_eq!(w.conversation.owner, Some(id("ana")));
    assert_eq!(w.load("ana"), 1);
    assert_eq!(w.customer.live.unwrap().status, ConversationStatus::Active);
}

#[test]
fn an_unaccepted_offer_puts_the_agent_in_rona_and_requeues() {
    let mut w = World::new(&[("ana", 2)]);
    let d = w.apply(offer(&w.ctx(), &id("ana")).unwrap());
    let timeout = d.arm_offer_timeout.unwrap();
    let d = w.apply(offer_timed_out(&w.ctx(), &timeout).unwrap());
    assert!(d.needs_routing);
    assert!(d.freed.is_empty(), "a RONA agent gets no new offer");
    assert_eq!(w.agents[&id("ana")].state, AgentState::Rona);
    assert_eq!(w.load("ana"), 0);
    assert_eq!(w.conversation.offered_to, None);
    // The same timer again (or after an accept) changes nothing.
    assert!(offer_timed_out(&w.ctx(), &timeout).is_none());
    assert!(offer(&w.ctx(), &id("ana")).is_err(), "no offers in RONA");
}

#[test]
fn offers_respect_capacity_but_take_does_not() {
    let now = Utc::now();
    let mut w = World::new(&[("ana", 1)]);
    w.agents.get_mut(&id("ana")).unwrap().load = 1;
    assert_eq!(offer(&w.ctx(), &id("ana")), Err(DeskError::Forbidden));
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert_eq!(w.load("ana"), 2);
    assert!(routing_candidates(&unanswered(2, now).1, None, w.agents.values()).is_empty());
}

#[test]
fn taking_a_taken_conversation_names_the_owner_and_force_overtakes() {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert_eq!(
        take(&w.ctx(), &actor("bob"), false),
        Err(DeskError::AlreadyTaken { owner: id("ana") })
    );
    let d = w.apply(take(&w.ctx(), &actor("bob"), true).unwrap());
    assert_eq!(w.conversation.owner, Some(id("bob")));
    assert_eq!((w.load("ana"), w.load("bob")), (0, 1));
    assert_eq!(d.freed, vec![id("ana")]);
    assert!(d.events.iter().any(|e| matches!(
        &e.event,
        DomainEvent::ConversationTaken { previous_owner: Some(p), .. } if *p == id("ana")
    )));
}

#[test]
fn taking_an_offered_conversation_withdraws_the_offer() {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(offer(&w.ctx(), &id("ana")).unwrap());
    w.apply(take(&w.ctx(), &actor("bob"), false).unwrap());
    assert_eq!((w.load("ana"), w.load("bob")), (0, 1));
    assert_eq!(w.conversation.offered_to, None);
}

#[test]
fn agents_take_only_from_their_queues() {
    let mut w = World::new(&[("ana", 2)]);
    w.agents.get_mut(&id("ana")).unwrap().queues = vec![QueueId::parse("billing").unwrap()];
    assert_eq!(
        take(&w.ctx(), &actor("ana"), false),
        Err(DeskError::Forbidden)
    );
}

#[test]
fn sending_takes_an_unanswered_conversation_and_records_the_response_time() {
    let mut w = World::new(&[("ana", 2)]);
    w.now += Duration::seconds(42);
    let d = w.apply(
        send(
            &w.ctx(),
            &actor("ana"),
            MessageContent::Text {
                text: "hello".into(),
            },
        )
        .unwrap(),
    );
    assert_eq!(w.conversation.status, ConversationStatus::Active);
    assert!(w.conversation.answered);
    assert_eq!(w.conversation.unanswered_since, None);
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0].status, Some(crate::DeliveryStatus::Pending));
    assert!(d.events.iter().any(|e| matches!(
        e.event,
        DomainEvent::AgentReplied {
            response_seconds: Some(42),
            first_reply: true,
            ..
        }
    )));
}

#[test]
fn free_form_messages_need_an_open_window() {
    let mut w = World::new(&[("ana", 2)]);
    w.now += Duration::hours(25);
    assert_eq!(
        send(
            &w.ctx(),
            &actor("ana"),
            MessageContent::Text {
                text: "late".into()
            }
        ),
        Err(DeskError::WindowClosed)
    );
}

#[test]
fn outgoing_messages_are_checked() {
    let text = |n: usize| Outgoing::Text("x".repeat(n));
    assert!(validate_outgoing(&text(4096)).is_ok());
    assert!(
        matches!(validate_outgoing(&text(4097)), Err(DeskError::Invalid(m)) if m.contains("4096"))
    );
    assert!(validate_outgoing(&text(0)).is_err());
    let uploaded = Attachment {
        key: Some("uploads/1".into()),
        media_id: Some("m1".into()),
        filename: Some("a.png".into()),
        ..Attachment::default()
    };
    let file = |kind, attachment: &Attachment| Outgoing::File {
        kind,
        attachment: attachment.clone(),
    };
    assert!(matches!(
        validate_outgoing(&file(FileKind::Image, &uploaded)),
        Ok(MessageContent::Image { .. })
    ));
    assert!(matches!(
        validate_outgoing(&file(FileKind::Document, &uploaded)),
        Ok(MessageContent::Document { .. })
    ));
    // A file that was not uploaded (a link) is refused.
    let linked = Attachment {
        url: Some("https://files.example.com/f.pdf".into()),
        ..Attachment::default()
    };
    assert!(
        matches!(validate_outgoing(&file(FileKind::Document, &linked)), Err(DeskError::Invalid(m)) if m.contains("/uploads"))
    );
    let long_caption = Attachment {
        caption: Some("c".repeat(MAX_CAPTION_CHARS + 1)),
        ..uploaded
    };
    assert!(validate_outgoing(&file(FileKind::Image, &long_caption)).is_err());
}

#[test]
fn transfer_to_an_available_agent_offers_it_and_the_sender_wraps_up() {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    let d = w.apply(transfer(&w.ctx(), &actor("ana"), &TransferTarget::Agent(id("bob"))).unwrap());
    assert_eq!(w.conversation.status, ConversationStatus::Unanswered);
    assert_eq!(w.conversation.offered_to, Some(id("bob")));
    assert_eq!(w.conversation.pending_wrap_up, vec![id("ana")]);
    assert_eq!((w.load("ana"), w.load("bob")), (0, 1));
    assert!(d.arm_offer_timeout.is_some());
    // Bob lets it time out: back in the queue, not lost.
    let d = w.apply(offer_timed_out(&w.ctx(), &d.arm_offer_timeout.unwrap()).unwrap());
    assert!(d.needs_routing);
    assert_eq!(w.conversation.status, ConversationStatus::Unanswered);
    // Ana wraps up her part; the conversation is untouched.
    let reasons = vec!["resolved".to_owned()];
    w.apply(wrap_up(&w.ctx(), &actor("ana"), "resolved", &reasons).unwrap());
    assert!(w.conversation.pending_wrap_up.is_empty());
    assert_eq!(w.conversation.status, ConversationStatus::Unanswered);
}

#[test]
fn transfer_to_a_busy_agent_waits_in_the_queue() {
    let mut w = World::new(&[("ana", 2), ("bob", 1)]);
    w.agents.get_mut(&id("bob")).unwrap().state = AgentState::NotReady;
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    let d = w.apply(transfer(&w.ctx(), &actor("ana"), &TransferTarget::Queue(sales())).unwrap());
    assert!(d.needs_routing);
    assert_eq!(w.conversation.offered_to, None);
}

#[test]
fn conference_invite_accept_exit_and_end() {
    let mut w = World::new(&[("ana", 2), ("bob", 2), ("eve", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    w.apply(conference_invite(&w.ctx(), &actor("ana"), &id("bob")).unwrap());
    assert_eq!(
        conference_accept(&w.ctx(), &actor("eve")),
        Err(DeskError::NotOffered)
    );
    let d = w.apply(conference_accept(&w.ctx(), &actor("bob")).unwrap());
    assert!(d.messages[0].content.text().unwrap().contains("BOB joined"));
    assert_eq!(w.conversation.participants, vec![id("ana"), id("bob")]);
    assert_eq!(w.load("bob"), 1);
    w.apply(conference_exit(&w.ctx(), &actor("bob")).unwrap());
    assert_eq!(w.load("bob"), 0);
    assert_eq!(w.conversation.pending_wrap_up, vec![id("bob")]);
    w.apply(conference_invite(&w.ctx(), &actor("ana"), &id("eve")).unwrap());
    w.apply(conference_accept(&w.ctx(), &actor("eve")).unwrap());
    w.apply(conference_end(&w.ctx(), &actor("ana")).unwrap());
    assert_eq!(w.conversation.participants, vec![id("ana")]);
    assert_eq!(w.load("eve"), 0);
}

#[test]
fn end_then_wrap_up_finishes_and_assigns_the_customer() {
    let mut w = World::new(&[("ana", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    w.now += Duration::seconds(300);
    w.apply(end(&w.ctx(), &actor("ana")).unwrap());
    assert_eq!(w.conversation.status, ConversationStatus::WrapUp);
    assert_eq!(w.load("ana"), 0);
    let reasons = vec!["resolved".to_owned(), "spam".to_owned()];
    assert!(matches!(
        wrap_up(&w.ctx(), &actor("ana"), "bored", &reasons),
        Err(DeskError::Invalid(_))
    ));
    let d = w.apply(wrap_up(&w.ctx(), &actor("ana"), "resolved", &reasons).unwrap());
    assert_eq!(w.conversation.status, ConversationStatus::Finished);
    assert_eq!(w.customer.live, None);
    assert_eq!(w.customer.assigned_agent, Some(id("ana")));
    assert!(d.events.iter().any(|e| matches!(
        e.event,
        DomainEvent::ConversationFinished {
            handling_seconds: Some(300),
            ..
        }
    )));
    w.apply(done(&w.ctx(), &actor("ana")).unwrap());
    assert!(w.conversation.done);
}

/// The retention expiries a decision announces.
fn expiry_changes(d: &DeskDecision) -> Vec<Option<Timestamp>> {
    d.events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::ConversationExpiryChanged { expires_at, .. } => Some(*expires_at),
            _ => None,
        })
        .collect()
}

#[test]
fn every_change_that_moves_the_retention_expiry_says_so() {
    let year = Duration::days(365);
    // `#STOP` ends an unanswered chat nobody owns: finished and expiring.
    let mut w = World::new(&[("ana", 2)]);
    let d = w.apply(end_for_opt_out(&w.ctx()).unwrap());
    assert_eq!(w.conversation.finished_at, Some(w.now));
    assert_eq!(expiry_changes(&d), [Some(w.now + year)]);

    // A wrap-up starts the retention at the finish; done keeps it.
    let mut w = World::new(&[("ana", 2)]);
    let reasons = vec!["resolved".to_owned()];
    let d = w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert!(expiry_changes(&d).is_empty());
    let d = w.apply(end(&w.ctx(), &actor("ana")).unwrap());
    assert!(expiry_changes(&d).is_empty(), "wrap-up is still live");
    w.now += Duration::seconds(60);
    let d = w.apply(wrap_up(&w.ctx(), &actor("ana"), "resolved", &reasons).unwrap());
    assert_eq!(expiry_changes(&d), [Some(w.now + year)]);
    assert_eq!(w.conversation.expires_at(), Some(w.now + year));
    w.now += Duration::seconds(60);
    let d = w.apply(done(&w.ctx(), &actor("ana")).unwrap());
    assert!(expiry_changes(&d).is_empty());

    // Reopened, it is live again: no expiry, and it says so.
    let d = w.apply(reopen(&w.ctx(), &actor("ana"), "Hello again").unwrap());
    assert_eq!(w.conversation.finished_at, None);
    assert_eq!(w.conversation.expires_at(), None);
    assert_eq!(expiry_changes(&d), [None]);
}

#[test]
fn only_the_owner_acts_on_an_active_conversation() {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert_eq!(end(&w.ctx(), &actor("bob")), Err(DeskError::Forbidden));
    assert_eq!(
        transfer(&w.ctx(), &actor("bob"), &TransferTarget::Queue(sales())),
        Err(DeskError::Forbidden)
    );
    assert_eq!(
        send(
            &w.ctx(),
            &actor("bob"),
            MessageContent::Text { text: "x".into() }
        ),
        Err(DeskError::AlreadyTaken { owner: id("ana") })
    );
    assert_eq!(
        note(&w.ctx(), &actor("bob"), "psst"),
        Err(DeskError::Forbidden)
    );
    let supervisor = Actor {
        id: id("sue"),
        role: Role::Supervisor,
    };
    let d = note(&w.ctx(), &supervisor, "offer the discount").unwrap();
    assert_eq!(d.messages[0].direction, Direction::Note);
}

#[test]
fn rona_is_left_only_by_the_agent_and_not_to_rona() {
    let now = Utc::now();
    let mut a = agent("ana", 2, now);
    a.state = AgentState::Rona;
    assert!(change_state(&a, AgentState::Rona, now).is_err());
    let (change, _) = change_state(&a, AgentState::Available, now).unwrap();
    assert_eq!(change.agent.state, AgentState::Available);
    assert_eq!(change.expected_version, ExpectedVersion::Exactly(a.version));
    assert_eq!(change.agent.version, a.version + 1);
}

#[test]
fn routing_prefers_the_assigned_agent_then_the_longest_idle() {
    let now = Utc::now();
    let (_, conversation) = unanswered(1, now);
    let mut ana = agent("ana", 2, now);
    let mut bob = agent("bob", 2, now - Duration::minutes(10));
    let mut cid = agent("cid", 2, now - Duration::minutes(5));
    assert_eq!(
        routing_candidates(&conversation, None, [&ana, &bob, &cid]),
        vec![id("bob"), id("cid"), id("ana")]
    );
    assert_eq!(
        routing_candidates(&conversation, Some(&id("ana")), [&ana, &bob, &cid])[0],
        id("ana")
    );
    ana.state = AgentState::NotReady;
    bob.load = 2;
    cid.queues.clear();
    assert!(routing_candidates(&conversation, Some(&id("ana")), [&ana, &bob, &cid]).is_empty());
}

#[derive(Debug, Clone)]
enum Step {
    Offer(usize, usize),
    Timeout(usize),
    Accept(usize, usize),
    Take(usize, usize, bool),
    End(usize, usize),
    Transfer(usize, usize, usize),
    Invite(usize, usize, usize),
    JoinConference(usize, usize),
    Exit(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0usize..3;
    let a = 0usize..3;
    prop_oneof![
        (c.clone(), a.clone()).prop_map(|(c, a)| Step::Offer(c, a)),
        c.clone().prop_map(Step::Timeout),
        (c.clone(), a.clone()).prop_map(|(c, a)| Step::Accept(c, a)),
        (c.clone(), a.clone(), any::<bool>()).prop_map(|(c, a, f)| Step::Take(c, a, f)),
        (c.clone(), a.clone()).prop_map(|(c, a)| Step::End(c, a)),
        (c.clone(), a.clone(), a.clone()).prop_map(|(c, a, b)| Step::Transfer(c, a, b)),
        (c.clone(), a.clone(), a.clone()).prop_map(|(c, a, b)| Step::Invite(c, a, b)),
        (c.clone(), a.clone()).prop_map(|(c, a)| Step::JoinConference(c, a)),
        (c, a).prop_map(|(c, a)| Step::Exit(c, a)),
    ]
}

proptest! {
    /// Under any sequence of desk actions, each agent's load is exactly the
    /// conversations offered to them or active with them, and offers never
    /// push an agent past their limit.
    #[test]
    fn load_always_matches_what_agents_hold(steps in proptest::collection::vec(step(), 1..60)) {
        let now = Utc::now();
        let names = ["ana", "bob", "cid"];
        let mut agents: BTreeMap<AgentId, Agent> = names.iter().map(|n| (id(n), agent(n, 2, now))).collect();
        let mut world: Vec<(Customer, Conversation)> = (0..3u8).map(|n| unanswered(n, now)).collect();
        let mut timeouts: Vec<Option<OfferTimeout>> = vec![None; 3];
        for step in steps {
            let (c, result) = {
                let run = |c: usize, f: &dyn Fn(&DeskContext<'_>) -> Result<DeskDecision, DeskError>| {
                    let ctx = DeskContext { conversation: &world[c].1, agents: &agents, customer: Some(&world[c].0), now };
                    (c, f(&ctx))
                };
                match step {
                    Step::Offer(c, a) => {
                        let before: u32 = agents[&id(names[a])].load;
                        let r = run(c, &|ctx| offer(ctx, &id(names[a])));
                        if r.1.is_ok() { prop_assert!(before < 2); }
                        r
                    }
                    Step::Timeout(c) => match timeouts[c].clone() {
                        Some(t) => {
                            let ctx = DeskContext { conversation: &world[c].1, agents: &agents, customer: Some(&world[c].0), now };
                            (c, offer_timed_out(&ctx, &t).ok_or(DeskError::NotOffered))
                        }
                        None => (c, Err(DeskError::NotOffered)),
                    },
                    Step::Accept(c, a) => run(c, &|ctx| accept(ctx, &actor(names[a]))),
                    Step::Take(c, a, f) => run(c, &|ctx| take(ctx, &actor(names[a]), f)),
                    Step::End(c, a) => run(c, &|ctx| end(ctx, &actor(names[a]))),
                    Step::Transfer(c, a, b) => run(c, &|ctx| transfer(ctx, &actor(names[a]), &TransferTarget::Agent(id(names[b])))),
                    Step::Invite(c, a, b) => run(c, &|ctx| conference_invite(ctx, &actor(names[a]), &id(names[b]))),
                    Step::JoinConference(c, a) => run(c, &|ctx| conference_accept(ctx, &actor(names[a]))),
                    Step::Exit(c, a) => run(c, &|ctx| conference_exit(ctx, &actor(names[a]))),
                }
            };
            if let Ok(decision) = result {
                if decision.arm_offer_timeout.is_some() {
                    timeouts[c] = decision.arm_offer_timeout.clone();
                }
                world[c].1 = decision.conversation;
                if let Some(change) = decision.customer { world[c].0 = change.customer; }
                for change in decision.agents { agents.insert(change.agent.id.clone(), change.agent); }
            }
            for name in names {
                let held = world.iter().filter(|(_, conv)| {
                    conv.offered_to == Some(id(name))
                        || (conv.status == ConversationStatus::Active && conv.participants.contains(&id(name)))
                }).count();
                prop_assert_eq!(agents[&id(name)].load as usize, held, "agent {}", name);
            }
            for (customer, conv) in &world {
                // The customer's mirror always matches a live conversation.
                if conv.status.is_live() {
                    prop_assert_eq!(customer.live.clone(), LiveSession::of(conv));
                }
                if conv.status == ConversationStatus::Active {
                    prop_assert!(conv.owner.is_some());
                    prop_assert!(conv.participants.contains(conv.owner.as_ref().unwrap()));
                }
            }
        }
    }
}

/// A conversation ana took, ended and wrapped up.
fn finished(w: &mut World) {
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    w.apply(end(&w.ctx(), &actor("ana")).unwrap());
    let reasons = vec!["resolved".to_owned()];
    w.apply(wrap_up(&w.ctx(), &actor("ana"), "resolved", &reasons).unwrap());
    w.now += Duration::minutes(10);
}

#[test]
fn a_retried_reopen_sends_its_unsent_message_once_the_lease_is_free() {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    finished(&mut w);
    let d = w.apply(reopen(&w.ctx(), &actor("ana"), "back").unwrap());
    let transcript = d.messages.clone();
    let lease = w.customer.send_lease_until;
    assert!(lease.is_some_and(|until| until > w.now));
    // The retry itself is refused; what it may finish is a separate question.
    assert_eq!(
        reopen(&w.ctx(), &actor("ana"), "back"),
        Err(DeskError::SessionActiveElsewhere)
    );
    // The first attempt may still be sending: the lease says so.
    assert_eq!(
        resume_reopen(&w.ctx(), &actor("ana"), &transcript),
        Some(Unfinished::Sending)
    );
    // Its send failed and it released the lease: the retry sends the same message.
    w.customer.send_lease_until = None;
    w.customer.version += 1;
    w.now += Duration::seconds(5);
    let Some(Unfinished::Resume(resumption)) = resume_reopen(&w.ctx(), &actor("ana"), &transcript)
    else {
        panic!("nothing to resume");
    };
    let Resumption {
        customer: CustomerChange {
            customer,
            expected_version,
        },
        message,
    } = *resumption;
    assert_eq!(message.id, transcript[0].id);
    assert_eq!(
        expected_version,
        ExpectedVersion::Exactly(w.customer.version)
    );
    assert_eq!(customer.version, w.customer.version + 1);
    assert_eq!(
        customer.send_lease_until,
        Some(w.now + Duration::seconds(SEND_LEASE_SECONDS))
    );
    // A lease that expired (its holder died) no longer holds it up.
    let mut expired = w.customer.clone();
    expired.send_lease_until = Some(w.now - Duration::seconds(1));
    let ctx = DeskContext {
        customer: Some(&expired),
        ..w.ctx()
    };
    assert!(matches!(
        resume_reopen(&ctx, &actor("ana"), &transcript),
        Some(Unfinished::Resume(_))
    ));
    // Someone else, or a push retry, finishes nothing.
    assert_eq!(resume_reopen(&w.ctx(), &actor("bob"), &transcript), None);
    assert_eq!(resume_push(&w.ctx(), &actor("ana"), &transcript), None);
}

#[test]
fn nothing_is_resumed_once_sent_failed_opted_out_or_answered() {
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    assert!(
        !may_resume(&w.conversation),
        "a finished one is no reopen to finish"
    );
    let d = w.apply(reopen(&w.ctx(), &actor("ana"), "back").unwrap());
    assert!(may_resume(&w.conversation));
    w.customer.send_lease_until = None;
    let unsent = d.messages.clone();
    let mut sent = unsent.clone();
    sent[0].wamid = Some(Wamid::parse("wamid.out").unwrap());
    assert_eq!(resume_reopen(&w.ctx(), &actor("ana"), &sent), None);
    let mut failed = unsent.clone();
    failed[0].status = Some(crate::DeliveryStatus::Failed);
    assert_eq!(resume_reopen(&w.ctx(), &actor("ana"), &failed), None);
    // A note after it changes nothing; an older cycle's unsent message is not it.
    let mut noted = sent.clone();
    let mut older = unsent[0].clone();
    older.at = w.now - Duration::hours(1);
    noted.insert(0, older);
    let mut note = unsent[0].clone();
    note.direction = Direction::Note;
    note.status = None;
    note.at = w.now + Duration::seconds(1);
    noted.push(note.clone());
    assert_eq!(resume_reopen(&w.ctx(), &actor("ana"), &noted), None);
    let mut unsent_noted = unsent.clone();
    unsent_noted.push(note);
    assert!(matches!(
        resume_reopen(&w.ctx(), &actor("ana"), &unsent_noted),
        Some(Unfinished::Resume(_))
    ));
    // A #STOP in between wins.
    let mut stopped = w.customer.clone();
    stopped.opt_out.record_opt_out(w.now);
    let ctx = DeskContext {
        customer: Some(&stopped),
        ..w.ctx()
    };
    assert_eq!(resume_reopen(&ctx, &actor("ana"), &unsent), None);
    // The customer answered: the conversation is active, nothing to finish.
    let mut active = w.conversation.clone();
    active.status = ConversationStatus::Active;
    let ctx = DeskContext {
        conversation: &active,
        ..w.ctx()
    };
    assert_eq!(resume_reopen(&ctx, &actor("ana"), &unsent), None);
}

#[test]
fn a_retried_push_sends_its_template_never_a_second_push() {
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    w.now += Duration::hours(25);
    let template = crate::TemplateRef {
        name: "follow_up".into(),
        language: "en".into(),
    };
    let d = w.apply(push(&w.ctx(), &actor("ana"), Some(&template)).unwrap());
    w.customer.send_lease_until = None;
    assert_eq!(
        push(&w.ctx(), &actor("ana"), Some(&template)),
        Err(DeskError::PushAlreadySent)
    );
    let Some(Unfinished::Resume(resumption)) = resume_push(&w.ctx(), &actor("ana"), &d.messages)
    else {
        panic!("nothing to resume");
    };
    let message = resumption.message;
    assert_eq!(message.id, d.messages[0].id);
    assert!(matches!(message.content, MessageContent::Template { .. }));
    assert_eq!(resume_reopen(&w.ctx(), &actor("ana"), &d.messages), None);
}

/// The customer's mirror: the live session's status and owner.
fn mirror(w: &World) -> Option<(ConversationStatus, Option<AgentId>)> {
    w.customer.live.as_ref().map(|l| {
        assert_eq!(l.conversation_id, w.conversation.id);
        (l.status, l.owner.clone())
    })
}

/// The customer writes `text`, applied as the inbound path stores it.
fn customer_writes(w: &mut World, wamid: &str, text: &str) -> Vec<DomainEvent> {
    let mut channel = Channel::unconfigured(PhoneNumberId::parse("1").unwrap(), "+1".into());
    channel.default_queue = sales();
    let d = decide_inbound(
        Some(&w.customer),
        &channel,
        InboundMessage {
            wamid: Wamid::parse(wamid).unwrap(),
            customer: w.customer.key.clone(),
            profile_name: None,
            display_phone_number: "+1".into(),
            sent_at: w.now,
            content: MessageContent::Text { text: text.into() },
        },
        w.now,
    );
    let ConversationChange::Continued { status, owner, .. } = d.conversation else {
        panic!("expected the live session to continue");
    };
    w.conversation.status = status;
    if let Some(owner) = owner {
        w.conversation.participants = vec![owner.clone()];
        w.conversation.owner = Some(owner);
    }
    w.conversation.version += 1;
    if let Some(agent) = d.agent_load {
        w.agents.get_mut(&agent).unwrap().load += 1;
    }
    w.customer = d.customer;
    d.events.into_iter().map(|e| e.event).collect()
}

fn stop_owner(events: &[DomainEvent]) -> Option<AgentId> {
    events
        .iter()
        .find_map(|e| match e {
            DomainEvent::CustomerOptedOut { owner, .. } => Some(owner.clone()),
            _ => None,
        })
        .expect("a CustomerOptedOut event")
}

#[test]
fn the_mirror_follows_the_owner_through_accept_overtake_transfer_and_time_out() {
    use ConversationStatus::{Active, Unanswered};
    let mut w = World::new(&[("ana", 2), ("bob", 2), ("cid", 2)]);
    assert_eq!(mirror(&w), Some((Unanswered, None)));
    // An offer is no ownership: nothing to write on the customer.
    let d = w.apply(offer(&w.ctx(), &id("ana")).unwrap());
    assert_eq!(d.customer, None);
    w.apply(accept(&w.ctx(), &actor("ana")).unwrap());
    assert_eq!(mirror(&w), Some((Active, Some(id("ana")))));
    // An overtake changes only the owner, and the customer is written for it.
    let d = w.apply(take(&w.ctx(), &actor("bob"), true).unwrap());
    assert!(d.customer.is_some());
    assert_eq!(mirror(&w), Some((Active, Some(id("bob")))));
    // Transferred to cid: offered, owned by nobody until accepted.
    let d = w.apply(transfer(&w.ctx(), &actor("bob"), &TransferTarget::Agent(id("cid"))).unwrap());
    assert_eq!(mirror(&w), Some((Unanswered, None)));
    w.apply(offer_timed_out(&w.ctx(), &d.arm_offer_timeout.unwrap()).unwrap());
    assert_eq!(mirror(&w), Some((Unanswered, None)));
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert_eq!(mirror(&w), Some((Active, Some(id("ana")))));
    // A #STOP now counts for ana.
    let events = customer_writes(&mut w, "wamid.stop", "#STOP");
    assert_eq!(stop_owner(&events), Some(id("ana")));
}

#[test]
fn the_mirror_keeps_the_owner_through_conference_and_wrap_up_and_clears_at_the_end() {
    use ConversationStatus::{Active, WrapUp};
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    w.apply(conference_invite(&w.ctx(), &actor("ana"), &id("bob")).unwrap());
    // A guest joins and leaves: the owner stays, the customer is not written.
    let d = w.apply(conference_accept(&w.ctx(), &actor("bob")).unwrap());
    assert_eq!(d.customer, None);
    w.apply(conference_exit(&w.ctx(), &actor("bob")).unwrap());
    assert_eq!(mirror(&w), Some((Active, Some(id("ana")))));
    w.apply(end(&w.ctx(), &actor("ana")).unwrap());
    assert_eq!(mirror(&w), Some((WrapUp, Some(id("ana")))));
    let reasons = vec!["resolved".to_owned()];
    w.apply(wrap_up(&w.ctx(), &actor("ana"), "resolved", &reasons).unwrap());
    assert_eq!(mirror(&w), None);
}

#[test]
fn the_mirror_names_who_reopened_or_pushed_and_the_reply_keeps_them() {
    use ConversationStatus::{Active, Reopened};
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    finished(&mut w);
    w.apply(reopen(&w.ctx(), &actor("bob"), "back").unwrap());
    assert_eq!(mirror(&w), Some((Reopened, Some(id("bob")))));
    customer_writes(&mut w, "wamid.reply", "yes");
    assert_eq!(mirror(&w), Some((Active, Some(id("bob")))));
    w.apply(end(&w.ctx(), &actor("bob")).unwrap());
    let reasons = vec!["resolved".to_owned()];
    w.apply(wrap_up(&w.ctx(), &actor("bob"), "resolved", &reasons).unwrap());
    // After the window: ana's push, declined with #STOP, counts for ana.
    w.now += Duration::hours(25);
    let template = crate::TemplateRef {
        name: "follow_up".into(),
        language: "en".into(),
    };
    w.apply(push(&w.ctx(), &actor("ana"), Some(&template)).unwrap());
    assert_eq!(mirror(&w), Some((Reopened, Some(id("ana")))));
    let events = customer_writes(&mut w, "wamid.stop", "#STOP");
    assert_eq!(stop_owner(&events), Some(id("ana")));
    assert_eq!(mirror(&w), Some((Reopened, Some(id("ana")))));
    w.apply(end_for_opt_out(&w.ctx()).unwrap());
    assert_eq!(mirror(&w), None);
    assert_eq!(w.customer.assigned_agent, Some(id("ana")));
}

#[test]
fn a_mirror_stored_without_its_owner_is_completed_by_the_next_change() {
    let mut w = World::new(&[("ana", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    // As an item written before the mirror had an owner reads.
    w.customer.live.as_mut().unwrap().owner = None;
    let d = w.apply(
        send(
            &w.ctx(),
            &actor("ana"),
            MessageContent::Text { text: "hi".into() },
        )
        .unwrap(),
    );
    assert!(d.customer.is_some());
    assert_eq!(
        mirror(&w),
        Some((ConversationStatus::Active, Some(id("ana"))))
    );
}

#[test]
fn the_archive_offers_exactly_what_reopen_and_push_allow() {
    let template = crate::TemplateRef {
        name: "follow_up".into(),
        language: "en".into(),
    };
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    let offered = |w: &World| archive_actions(&w.conversation, Some(&w.customer), w.now);
    let allowed = |w: &World| {
        (
            reopen(&w.ctx(), &actor("ana"), "back").is_ok(),
            push(&w.ctx(), &actor("ana"), Some(&template)).is_ok(),
        )
    };
    // Inside the window: reopen only.
    assert_eq!(offered(&w), (true, false));
    assert_eq!(offered(&w), allowed(&w));
    // After it: the push only.
    w.now += Duration::hours(25);
    assert_eq!(offered(&w), (false, true));
    assert_eq!(offered(&w), allowed(&w));
    // Pushed: nothing more (a live session, and the window's push is spent).
    w.apply(push(&w.ctx(), &actor("ana"), Some(&template)).unwrap());
    assert_eq!(offered(&w), (false, false));
    assert_eq!(offered(&w), allowed(&w));
    // Opted out: nothing either.
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    w.customer.opt_out.record_opt_out(w.now);
    assert_eq!(offered(&w), (false, false));
    assert_eq!(offered(&w), allowed(&w));
}

#[test]
fn a_message_to_a_finished_conversation_is_one_reopen_then_send() {
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    let text = MessageContent::Text {
        text: "one more thing".into(),
    };
    let d = w.apply(reopen_and_send(&w.ctx(), &actor("ana"), "Hi again!", text).unwrap());
    assert_eq!(d.conversation.status, ConversationStatus::Reopened);
    let kinds: Vec<_> = d
        .messages
        .iter()
        .map(|m| (m.direction, m.content.text()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Direction::System, Some("Hi again!")),
            (Direction::Outbound, Some("one more thing"))
        ]
    );
    let events: Vec<_> = d.events.iter().map(EventEnvelope::type_name).collect();
    assert_eq!(
        events,
        ["ChatReopened", "AgentReplied", "ConversationExpiryChanged"],
        "counted once as agent-initiated (live again: its expiry is gone)"
    );
    // The reopening agent follows up at once; nobody else may.
    let again = MessageContent::Text {
        text: "and another".into(),
    };
    w.customer.send_lease_until = None;
    assert!(send(&w.ctx(), &actor("ana"), again.clone()).is_ok());
    w.agents.insert(id("bob"), agent("bob", 2, w.now));
    assert!(matches!(
        send(&w.ctx(), &actor("bob"), again),
        Err(DeskError::AlreadyTaken { .. })
    ));
}

#[test]
fn an_agents_message_reopens_only_a_finished_conversation() {
    let text = || MessageContent::Text {
        text: "one more thing".into(),
    };
    let mut w = World::new(&[("ana", 2)]);
    assert!(!send_reopens(&w.conversation));
    let d = w.apply(send_or_reopen(&w.ctx(), &actor("ana"), text(), "Hi again!").unwrap());
    assert_eq!(
        d.messages.len(),
        1,
        "an unanswered one is taken, not reopened"
    );
    assert_eq!(d.conversation.status, ConversationStatus::Active);
    let mut w = World::new(&[("ana", 2)]);
    finished(&mut w);
    assert!(send_reopens(&w.conversation));
    assert_eq!(
        send(&w.ctx(), &actor("ana"), text()),
        Err(DeskError::InvalidState(ConversationStatus::Finished))
    );
    let d = send_or_reopen(&w.ctx(), &actor("ana"), text(), "Hi again!").unwrap();
    assert_eq!(d.conversation.status, ConversationStatus::Reopened);
    assert_eq!(
        d.messages
            .iter()
            .map(|m| m.content.text())
            .collect::<Vec<_>>(),
        [Some("Hi again!"), Some("one more thing")]
    );
    // Outside the window the reopen's own refusal is answered.
    w.now += Duration::hours(25);
    assert_eq!(
        send_or_reopen(&w.ctx(), &actor("ana"), text(), "Hi again!"),
        Err(DeskError::WindowClosed)
    );
}

/// The conversation's agent in it, active: a reply of theirs needs no customer.
fn active_with_ana() -> World {
    let mut w = World::new(&[("ana", 2), ("bob", 2)]);
    w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    w
}

fn text(body: &str) -> MessageContent {
    MessageContent::Text { text: body.into() }
}

#[test]
fn a_started_conversation_keeps_the_customers_window() {
    let w = World::new(&[]);
    assert!(w.customer.window.is_some());
    assert_eq!(w.conversation.customer_window, w.customer.window);
}

#[test]
fn only_the_conversations_own_agent_replies_without_reading_the_customer() {
    let w = active_with_ana();
    assert!(!send_needs_customer(&w.conversation, &id("ana")));
    // Someone else's reply takes or is refused: decided on the customer too.
    assert!(send_needs_customer(&w.conversation, &id("bob")));
    // Unanswered: the reply takes it (the customer's live session changes).
    let fresh = World::new(&[("ana", 2)]);
    assert!(send_needs_customer(&fresh.conversation, &id("ana")));
    // Stored before the copy was kept: the customer is read.
    let mut old = w.conversation.clone();
    old.customer_window = None;
    assert!(send_needs_customer(&old, &id("ana")));
    // Finished: the reply reopens it.
    let mut finished = w.conversation.clone();
    finished.status = ConversationStatus::Finished;
    assert!(send_needs_customer(&finished, &id("ana")));
}

#[test]
fn a_reply_without_the_customer_decides_on_the_conversations_window() {
    let mut w = active_with_ana();
    let decision = send(&w.ctx_without_customer(), &actor("ana"), text("hello")).unwrap();
    assert!(decision.customer.is_none(), "the customer is not written");
    assert_eq!(decision.conversation.customer_window, w.customer.window);
    // Expired, or closed early by WhatsApp: refused as with the customer read.
    w.now += Duration::hours(25);
    assert_eq!(
        send(&w.ctx_without_customer(), &actor("ana"), text("late")),
        Err(DeskError::WindowClosed)
    );
    w.now -= Duration::hours(25);
    w.conversation.customer_window = w.customer.window.map(|win| win.closed_early(w.now));
    assert_eq!(
        send(&w.ctx_without_customer(), &actor("ana"), text("closed")),
        Err(DeskError::WindowClosed)
    );
}

#[test]
fn a_change_that_read_the_customer_refreshes_the_conversations_copy() {
    let mut w = World::new(&[("ana", 2)]);
    // A copy gone stale (or never kept): the next change that reads the
    // customer writes the customer's window onto the conversation.
    w.conversation.customer_window = None;
    let d = w.apply(take(&w.ctx(), &actor("ana"), false).unwrap());
    assert_eq!(d.conversation.customer_window, w.customer.window);
}

#[test]
fn an_early_close_names_the_live_conversations_copy() {
    let w = active_with_ana();
    let closed = w.customer.window.map(|win| win.closed_early(w.now));
    let mut next = w.customer.clone();
    next.window = closed;
    let change = CustomerChange::new(Some(&w.customer), next.clone());
    assert_eq!(change.live_window(), Some((w.conversation.id, closed)));
    next.live = None;
    assert_eq!(
        CustomerChange::new(Some(&w.customer), next).live_window(),
        None
    );
}
