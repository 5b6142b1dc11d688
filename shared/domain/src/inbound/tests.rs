use std::collections::{BTreeMap, BTreeSet};

use crate::desk::DeskContext;
use crate::Agent;

use chrono::{Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::{
    decide_window_fire, window::window_length, PhoneNumberId, QueueId, WaId, WindowFire,
    WindowFireDecision,
};

fn key(n: u8) -> CustomerKey {
    CustomerKey::new(
        PhoneNumberId::parse("1065").unwrap(),
        WaId::parse(format!("3460000000{n}")).unwrap(),
    )
}

fn channel(bot: bool) -> Channel {
    let mut channel = Channel::unconfigured(PhoneNumberId::parse("1065").unwrap(), "+1 555".into());
    channel.bot = bot;
    channel.default_queue = QueueId::parse("sales").unwrap();
    channel
}

fn text(customer: CustomerKey, wamid: &str, at: Timestamp, body: &str) -> InboundMessage {
    InboundMessage {
        wamid: Wamid::parse(wamid).unwrap(),
        customer,
        profile_name: Some("Ana".into()),
        display_phone_number: "+1 555".into(),
        sent_at: at,
        content: MessageContent::Text { text: body.into() },
    }
}

#[test]
fn first_message_starts_an_unanswered_session_and_arms_the_window() {
    let now = Utc::now();
    let d = decide_inbound(None, &channel(false), text(key(1), "w1", now, "hola"), now);
    let ConversationChange::Started(conversation) = &d.conversation else {
        panic!("expected a new conversation");
    };
    assert_eq!(conversation.status, ConversationStatus::Unanswered);
    assert_eq!(conversation.queue.as_str(), "sales");
    assert_eq!(d.expected_customer_version, ExpectedVersion::Absent);
    assert_eq!(d.customer.version, 1);
    assert_eq!(d.customer.window_expires_at(), Some(now + window_length()));
    assert_eq!(d.arm_window_at, Some(now + window_length()));
    assert_eq!(d.customer.live.unwrap().conversation_id, conversation.id);
    let types: Vec<_> = d.events.iter().map(|e| e.type_name()).collect();
    assert_eq!(types, ["ConversationStarted", "MessageReceived"]);
}

#[test]
fn with_chat_disabled_the_message_is_kept_answered_and_not_queued() {
    let now = Utc::now();
    let mut disabled = channel(false);
    disabled.chat_enabled = false;
    let d = decide_inbound(None, &disabled, text(key(1), "w1", now, "hello?"), now);
    assert_eq!(d.conversation.status(), ConversationStatus::Finished);
    assert_eq!(d.customer.live, None, "no live session, nothing queued");
    assert!(d.auto_reply.is_some());
    assert_eq!(
        d.message.content.text(),
        Some("hello?"),
        "the message is kept"
    );
    let enabled = decide_inbound(None, &channel(false), text(key(2), "w2", now, "hi"), now);
    assert_eq!(enabled.auto_reply, None);
}

#[test]
fn a_channel_with_a_bot_starts_in_bot() {
    let now = Utc::now();
    let d = decide_inbound(None, &channel(true), text(key(1), "w1", now, "hi"), now);
    assert_eq!(d.conversation.status(), ConversationStatus::Bot);
}

#[test]
fn a_message_on_a_live_session_joins_it_without_a_scheduler_call() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let later = now + Duration::hours(2);
    let second = decide_inbound(
        Some(&first.customer),
        &channel(false),
        text(key(1), "w2", later, "b"),
        later,
    );
    assert_eq!(second.arm_window_at, None);
    assert_eq!(
        second.expected_customer_version,
        ExpectedVersion::Exactly(1)
    );
    assert_eq!(
        second.conversation.conversation_id(),
        first.conversation.conversation_id()
    );
    assert!(matches!(
        second.conversation,
        ConversationChange::Continued { received_at, .. } if received_at == later
    ));
    assert_eq!(
        second.customer.window_expires_at(),
        Some(later + window_length())
    );
    // Still armed for the first expiry: that schedule will re-arm when it fires.
    assert_eq!(second.customer.armed_expiry, Some(now + window_length()));
}

#[test]
fn a_message_after_a_finished_session_starts_a_new_linked_one() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let mut customer = first.customer.clone();
    customer.live = None; // finished
    let later = now + Duration::hours(30);
    let second = decide_inbound(
        Some(&customer),
        &channel(false),
        text(key(1), "w2", later, "b"),
        later,
    );
    let ConversationChange::Started(conversation) = &second.conversation else {
        panic!("expected a new session");
    };
    assert_eq!(conversation.status, ConversationStatus::Unanswered);
    assert_eq!(
        conversation.previous,
        Some(first.conversation.conversation_id())
    );
    // The first window's schedule already fired (its time is past): arm again.
    assert_eq!(second.arm_window_at, Some(later + window_length()));
}

#[test]
fn a_reply_to_a_reopened_conversation_makes_it_active_with_the_reopening_agent() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let mut customer = first.customer.clone();
    let id = first.conversation.conversation_id();
    let maria = AgentId::parse("maria").unwrap();
    customer.live = Some(LiveSession {
        conversation_id: id,
        status: ConversationStatus::Reopened,
        owner: Some(maria.clone()),
    });
    customer.assigned_agent = Some(maria.clone());
    let d = decide_inbound(
        Some(&customer),
        &channel(true),
        text(key(1), "w2", now, "yes"),
        now,
    );
    assert!(matches!(
        &d.conversation,
        ConversationChange::Continued { status: ConversationStatus::Active, owner: Some(agent), .. }
            if agent.as_str() == "maria"
    ));
    let live = d.customer.live.unwrap();
    assert_eq!(live.status, ConversationStatus::Active);
    assert_eq!(live.owner, Some(maria.clone()));
    // Applied to the stored conversation: active with maria, her handling
    // started, the first unanswered message kept, the version bumped.
    let ConversationChange::Started(mut stored) = first.conversation.clone() else {
        panic!("the first message starts a conversation")
    };
    stored.status = ConversationStatus::Reopened;
    let version = stored.version;
    d.conversation.apply(&mut stored);
    assert_eq!(stored.status, ConversationStatus::Active);
    assert_eq!(stored.owner, Some(maria.clone()));
    assert_eq!(stored.participants, [maria]);
    assert_eq!(stored.unanswered_since, Some(now));
    assert_eq!(stored.last_inbound_at, Some(now));
    assert_eq!(stored.version, version + 1);
    assert!(d
        .events
        .iter()
        .any(|e| e.type_name() == "ReopenedConversationReplied"));
}

/// The `owner` a `#STOP` names, when the live session is `live`.
fn stop_owner(live: Option<LiveSession>) -> Option<AgentId> {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let mut customer = first.customer.clone();
    customer.live = live.map(|l| LiveSession {
        conversation_id: first.conversation.conversation_id(),
        ..l
    });
    let d = decide_inbound(
        Some(&customer),
        &channel(false),
        text(key(1), "w2", now, "#STOP"),
        now,
    );
    let owners: Vec<_> = d
        .events
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::CustomerOptedOut { owner, .. } => Some(owner.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(owners.len(), 1);
    owners.into_iter().next().flatten()
}

#[test]
fn stop_counts_for_the_owner_of_the_live_session_from_the_mirror() {
    let ana = AgentId::parse("ana").unwrap();
    let session = |status, owner: Option<&AgentId>| {
        Some(LiveSession {
            conversation_id: ConversationId::generate(),
            status,
            owner: owner.cloned(),
        })
    };
    for status in [
        ConversationStatus::Active,
        ConversationStatus::WrapUp,
        ConversationStatus::Reopened,
    ] {
        assert_eq!(stop_owner(session(status, Some(&ana))), Some(ana.clone()));
    }
    // Queued, with the bot, or no session at all: nobody's.
    assert_eq!(
        stop_owner(session(ConversationStatus::Unanswered, None)),
        None
    );
    assert_eq!(stop_owner(session(ConversationStatus::Bot, None)), None);
    assert_eq!(stop_owner(None), None);
}

#[test]
fn stop_records_an_opt_out_and_a_later_new_session_lifts_it() {
    let now = Utc::now();
    let first = decide_inbound(
        None,
        &channel(false),
        text(key(1), "w1", now, " #Stop "),
        now,
    );
    assert!(first.customer.opt_out.is_opted_out());
    assert!(first
        .events
        .iter()
        .any(|e| e.type_name() == "CustomerOptedOut"));
    assert!(first.waits_for_send_lease(), "acknowledged after any send");

    let mut customer = first.customer.clone();
    customer.live = None;
    let later = now + Duration::hours(1);
    let again = decide_inbound(
        Some(&customer),
        &channel(false),
        text(key(1), "w2", later, "hi"),
        later,
    );
    assert!(!again.customer.opt_out.is_opted_out());
    assert!(!again.waits_for_send_lease());
    assert!(again
        .events
        .iter()
        .any(|e| e.type_name() == "CustomerOptedIn"));
}

#[test]
fn a_late_retry_does_not_pull_the_window_back() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let old = now - Duration::hours(5);
    let d = decide_inbound(
        Some(&first.customer),
        &channel(false),
        text(key(1), "w0", old, "z"),
        now,
    );
    assert_eq!(d.customer.window_expires_at(), Some(now + window_length()));
}

#[test]
fn a_late_message_moves_neither_the_last_inbound_time_nor_the_last_change_back() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", now, "a"), now);
    let ConversationChange::Started(mut conversation) = first.conversation.clone() else {
        panic!("the first message starts a conversation");
    };
    let later = now + Duration::minutes(1);
    let late = decide_inbound(
        Some(&first.customer),
        &channel(false),
        text(key(1), "w0", now - Duration::hours(5), "z"),
        later,
    );
    assert!(matches!(
        late.conversation,
        ConversationChange::Continued {
            last_inbound_at: None,
            ..
        }
    ));
    late.conversation.apply(&mut conversation);
    assert_eq!(conversation.last_inbound_at, Some(now));
    assert_eq!(conversation.updated_at, later, "changed when handled");
    assert_eq!(conversation.unanswered_since, Some(now));
    // Written in the same second as the latest: still the latest.
    let same = decide_inbound(
        Some(&late.customer),
        &channel(false),
        text(key(1), "w2", now, "b"),
        later,
    );
    assert!(matches!(
        same.conversation,
        ConversationChange::Continued { last_inbound_at: Some(at), .. } if at == now
    ));
}

proptest! {
    /// Whatever order a conversation's messages arrive in, its last inbound
    /// time is the latest of them and its last change only moves forward.
    #[test]
    fn a_conversations_times_never_move_back(
        steps in proptest::collection::vec((0i64..600, -3_600i64..60), 1..30),
    ) {
        let start = Utc::now();
        let first = decide_inbound(None, &channel(false), text(key(1), "w0", start, "a"), start);
        let ConversationChange::Started(mut conversation) = first.conversation else {
            panic!("the first message starts a conversation");
        };
        let mut customer = first.customer;
        let mut now = start;
        let mut latest = start;
        for (n, (advance, written)) in steps.into_iter().enumerate() {
            now += Duration::seconds(advance);
            let sent_at = now + Duration::seconds(written);
            let d = decide_inbound(Some(&customer), &channel(false), text(key(1), &format!("w{}", n + 1), sent_at, "x"), now);
            let before = conversation.clone();
            d.conversation.apply(&mut conversation);
            latest = latest.max(sent_at.min(now));
            prop_assert_eq!(conversation.last_inbound_at, Some(latest));
            prop_assert!(conversation.updated_at >= before.updated_at);
            prop_assert_eq!(conversation.updated_at, now);
            customer = d.customer;
        }
    }
}

#[test]
fn fires_rearm_for_an_extended_window_and_expire_once() {
    let t0 = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "w1", t0, "a"), t0);
    let t1 = t0 + Duration::hours(10);
    let second = decide_inbound(
        Some(&first.customer),
        &channel(false),
        text(key(1), "w2", t1, "b"),
        t1,
    );
    let fire = WindowFire {
        customer: key(1),
        armed_for: t0 + window_length(),
    };
    let WindowFireDecision::Rearm { customer, at } =
        decide_window_fire(Some(&second.customer), &fire, t0 + window_length())
    else {
        panic!("an early fire must re-arm");
    };
    assert_eq!(at, t1 + window_length());
    assert_eq!(
        customer.expected_version,
        ExpectedVersion::Exactly(second.customer.version)
    );
    let customer = customer.customer;
    // The same fire delivered again is stale now.
    assert_eq!(
        decide_window_fire(Some(&customer), &fire, t0 + window_length()),
        WindowFireDecision::Ignore
    );
    let due = WindowFire {
        customer: key(1),
        armed_for: at,
    };
    let WindowFireDecision::Expire {
        customer: expired,
        events,
    } = decide_window_fire(Some(&customer), &due, at)
    else {
        panic!("the due fire must expire the window");
    };
    let expired = expired.customer;
    assert_eq!(events.len(), 1);
    assert_eq!(expired.armed_expiry, None);
    assert!(!expired.window_is_open(at));
    // Redelivered after it closed: the same event again, nothing changed.
    let WindowFireDecision::Republish { events: again } =
        decide_window_fire(Some(&expired), &due, at)
    else {
        panic!("a redelivered fire republishes");
    };
    assert_eq!(again, events);
}

/// Commands of a random scenario for the property test.
#[derive(Debug, Clone)]
enum Step {
    Inbound { customer: u8, delay_secs: i64 },
    Finish { customer: u8 },
    Advance { secs: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..3, -3_600i64..3_600).prop_map(|(customer, delay_secs)| Step::Inbound { customer, delay_secs }),
        1 => (0u8..3).prop_map(|customer| Step::Finish { customer }),
        2 => (1i64..(40 * 3_600)).prop_map(|secs| Step::Advance { secs }),
    ]
}

/// A sequential model of the store and scheduler, applying decisions as the
/// application does.
#[derive(Default)]
struct World {
    customers: BTreeMap<u8, Customer>,
    statuses: BTreeMap<ConversationId, (u8, ConversationStatus)>,
    schedules: BTreeSet<(Timestamp, u8)>,
    scheduler_calls: usize,
    expired_events: Vec<(u8, Timestamp)>,
}

impl World {
    fn fire_due(&mut self, now: Timestamp) {
        while let Some(&(at, n)) = self.schedules.iter().next() {
            if at > now {
                break;
            }
            self.schedules.remove(&(at, n));
            let fire = WindowFire {
                customer: key(n),
                armed_for: at,
            };
            match decide_window_fire(self.customers.get(&n), &fire, at) {
                WindowFireDecision::Ignore | WindowFireDecision::Republish { .. } => {}
                WindowFireDecision::Rearm { customer, at } => {
                    self.schedules.insert((at, n));
                    self.scheduler_calls += 1;
                    self.customers.insert(n, customer.customer);
                }
                WindowFireDecision::Expire { customer, .. } => {
                    self.expired_events.push((n, at));
                    self.customers.insert(n, customer.customer);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_under_random_scenarios(steps in proptest::collection::vec(step(), 1..60)) {
        let mut now = Utc::now();
        let mut world = World::default();
        let channel = channel(false);
        let mut seq = 0u32;
        for step in steps {
            match step {
                Step::Inbound { customer: n, delay_secs } => {
                    seq += 1;
                    let before = world.customers.get(&n).cloned();
                    let msg = text(key(n), &format!("w{seq}"), now - Duration::seconds(delay_secs.abs()), "x");
                    let d = decide_inbound(before.as_ref(), &channel, msg, now);
                    // The window never moves backwards.
                    if let (Some(old), Some(new)) = (before.as_ref().and_then(|c| c.window), d.customer.window) {
                        prop_assert!(new.expires_at >= old.expires_at);
                    }
                    // A scheduler call only when nothing is armed for the future.
                    let armed_before = before.as_ref().and_then(|c| c.armed_expiry).is_some_and(|at| at > now);
                    prop_assert_eq!(d.arm_window_at.is_some(), !armed_before);
                    if let Some(at) = d.arm_window_at {
                        world.schedules.insert((at, n));
                        world.scheduler_calls += 1;
                    }
                    if let ConversationChange::Started(c) = &d.conversation {
                        prop_assert!(before.as_ref().and_then(|c| c.live.as_ref()).is_none());
                        world.statuses.insert(c.id, (n, c.status));
                    }
                    world.customers.insert(n, d.customer);
                }
                Step::Finish { customer: n } => {
                    if let Some(customer) = world.customers.get_mut(&n) {
                        if let Some(live) = customer.live.take() {
                            world.statuses.insert(live.conversation_id, (n, ConversationStatus::Finished));
                        }
                    }
                }
                Step::Advance { secs } => {
                    now += Duration::seconds(secs);
                    world.fire_due(now);
                }
            }
            // One live session per customer.
            for n in 0..3u8 {
                let live = world.statuses.values().filter(|(c, s)| *c == n && s.is_live()).count();
                prop_assert!(live <= 1, "customer {} has {} live sessions", n, live);
            }
            // An open window always has a schedule that will see it close.
            for (n, customer) in &world.customers {
                if customer.window_is_open(now) {
                    let armed = customer.armed_expiry;
                    prop_assert!(armed.is_some());
                    prop_assert!(world.schedules.contains(&(armed.unwrap(), *n)));
                }
            }
        }
        // Let every window run out: each customer's last window expires exactly once.
        now += Duration::hours(100);
        world.fire_due(now);
        for (n, customer) in &world.customers {
            prop_assert!(!customer.window_is_open(now));
            prop_assert_eq!(customer.armed_expiry, None);
            let expiry = customer.window.unwrap().expires_at;
            let times = world.expired_events.iter().filter(|(c, at)| c == n && *at >= expiry).count();
            prop_assert_eq!(times, 1);
        }
        prop_assert!(world.schedules.is_empty());
    }
}

fn available_agents(names: &[&str], now: Timestamp) -> BTreeMap<AgentId, Agent> {
    names
        .iter()
        .enumerate()
        .map(|(idle, name)| {
            let mut agent = crate::fixtures::agent(name, crate::Role::Agent, "sales");
            agent.state = crate::AgentState::Available;
            agent.idle_since = now - Duration::minutes(10 - idle as i64);
            agent.version = 4;
            (agent.id.clone(), agent)
        })
        .collect()
}

#[test]
fn a_started_conversation_is_offered_in_the_decision_that_stores_its_message() {
    let now = Utc::now();
    let plain = decide_inbound(None, &channel(false), text(key(1), "w1", now, "hola"), now);
    let directory = available_agents(&["ana", "bob"], now);
    let offer = plain.route_started(&directory, now).unwrap().unwrap();
    let ana = AgentId::parse("ana").unwrap();
    // Today's path: routing decides on the stored conversation and writes it again.
    let ConversationChange::Started(started) = plain.conversation.clone() else {
        panic!("expected a new conversation");
    };
    let two_steps = crate::desk::route(&DeskContext {
        conversation: &started,
        agents: &directory,
        customer: Some(&plain.customer),
        now,
    })
    .unwrap()
    .unwrap();

    let merged = plain.clone().offered(offer);
    let ConversationChange::Started(conversation) = &merged.conversation else {
        panic!("still a new conversation");
    };
    assert_eq!(
        conversation.offered_to.as_ref(),
        Some(&ana),
        "the longest idle"
    );
    assert_eq!(conversation.offered_at, Some(now));
    assert_eq!(conversation.version, 1, "written once: its first version");
    let mut expected = two_steps.conversation.clone();
    expected.version = 1;
    assert_eq!(
        conversation, &expected,
        "the conversation routing would store"
    );
    assert!(conversation
        .agent_links()
        .contains(&(ana.clone(), "offered")));

    let offer = merged.offer.as_ref().unwrap();
    assert_eq!(offer.agent.agent.id, ana);
    assert_eq!(offer.agent.agent.load, 1, "the offer counts");
    assert_eq!(offer.agent.expected_version, ExpectedVersion::Exactly(4));
    assert_eq!(offer.agent.agent.version, 5);
    assert_eq!(offer.timeout.agent, ana);
    assert_eq!(offer.timeout.conversation_id, conversation.id);
    assert_eq!(offer.timeout.offered_at, now);

    let types: Vec<_> = offer.events.iter().map(|e| e.type_name()).collect();
    assert_eq!(types, ["ConversationOffered"]);
    let offered = &offer.events[0];
    assert_eq!(
        offered.event, two_steps.events[0].event,
        "the event routing would emit"
    );
    assert_eq!(
        offered.id,
        EventEnvelope::for_change(offered.event.clone(), conversation.id, 1, now).id,
        "keyed to the version that carries the offer"
    );
    // The rest of the decision is the message's as decided.
    assert_eq!(merged.customer, plain.customer, "the mirror does not move");
    assert_eq!(merged.message, plain.message);
    assert_eq!(merged.arm_window_at, plain.arm_window_at);
    assert_eq!(merged.events, plain.events);
}

#[test]
fn nothing_is_offered_with_the_message_when_nobody_can_take_it_or_it_awaits_no_offer() {
    let now = Utc::now();
    let directory = available_agents(&["ana"], now);
    let started = decide_inbound(None, &channel(false), text(key(1), "w1", now, "hola"), now);
    assert!(started.awaiting_offer().is_some());
    // Nobody available: it waits in its queue, as routing leaves it.
    let mut busy = directory.clone();
    busy.values_mut()
        .for_each(|a| a.state = crate::AgentState::NotReady);
    assert_eq!(started.route_started(&busy, now).unwrap(), None);
    assert_eq!(started.route_started(&BTreeMap::new(), now).unwrap(), None);
    assert_eq!(started.offer, None);

    // With the bot, chat disabled, or a live session: no offer to make.
    let bot = decide_inbound(None, &channel(true), text(key(2), "w2", now, "hi"), now);
    let mut disabled = channel(false);
    disabled.chat_enabled = false;
    let archived = decide_inbound(None, &disabled, text(key(3), "w3", now, "hi"), now);
    let continued = decide_inbound(
        Some(&started.customer),
        &channel(false),
        text(key(1), "w4", now, "again"),
        now,
    );
    for decision in [&bot, &archived, &continued] {
        assert_eq!(decision.awaiting_offer(), None);
        assert_eq!(decision.route_started(&directory, now).unwrap(), None);
    }

    // An offer of another conversation is not folded in.
    let offer = started.route_started(&directory, now).unwrap().unwrap();
    let other = decide_inbound(None, &channel(false), text(key(4), "w5", now, "hey"), now);
    assert_eq!(other.clone().offered(offer.clone()), other);
    assert_eq!(continued.clone().offered(offer), continued);
}

#[test]
fn a_message_to_the_live_conversation_moves_its_copy_of_the_window() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(true), text(key(1), "w1", now, "a"), now);
    let ConversationChange::Started(mut stored) = first.conversation.clone() else {
        panic!("the first message starts a conversation")
    };
    assert_eq!(stored.customer_window, first.customer.window);
    let later = now + Duration::hours(1);
    let d = decide_inbound(
        Some(&first.customer),
        &channel(true),
        text(key(1), "w2", later, "b"),
        later,
    );
    assert_ne!(d.customer.window, first.customer.window);
    d.conversation.apply(&mut stored);
    assert_eq!(stored.customer_window, d.customer.window);
}

#[test]
fn whether_a_message_starts_a_conversation_to_offer_is_told_before_deciding_it() {
    let now = Utc::now();
    let first = decide_inbound(None, &channel(false), text(key(1), "s1", now, "a"), now);
    let mut finished = first.customer.clone();
    finished.live = None;
    let mut disabled = channel(false);
    disabled.chat_enabled = false;
    let cases = [
        (None, channel(false), true),
        (Some(&first.customer), channel(false), false),
        (Some(&finished), channel(false), true),
        (None, disabled, false),
        (None, channel(true), false),
    ];
    for (customer, channel, expected) in cases {
        let decided = decide_inbound(customer, &channel, text(key(1), "s2", now, "b"), now);
        assert_eq!(decided.awaiting_offer().is_some(), expected);
        assert_eq!(
            starts_awaiting_offer(customer, &channel),
            expected,
            "{customer:?} on {channel:?}"
        );
    }
}
