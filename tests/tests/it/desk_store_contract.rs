//! One desk contract, every store adapter: the directory, desk commits and the
//! agents' and supervisors' lists must behave the same on the embedded store
//! and on DynamoDB (on moto), conditions and list orders included.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::ports::MAX_PAGE;
use wadesk_app::{CommitError, DeskKeys, DeskStore, PageRequest};
use wadesk_aws::DynamoStore;
use wadesk_domain::desk::{self, TransferTarget};
use wadesk_domain::{
    decide_inbound, Actor, Agent, AgentChange, AgentId, AgentState, Channel, ConversationChange,
    ConversationId, ConversationStatus, CustomerChange, CustomerKey, DeskContext, DeskDecision,
    DeskError, EventEnvelope, ExpectedVersion, LiveSession, Message, MessageContent, MessageId,
    PhoneNumberId, Queue, QueueId, Role, WaId, Wamid,
};
use wadesk_tests::{customer, now_seconds, text_message};

const REASONS: [&str; 2] = ["Sale", "No sale"];

fn sales() -> QueueId {
    QueueId::parse("sales").unwrap()
}

fn channel() -> Channel {
    let mut channel = Channel::unconfigured(
        PhoneNumberId::parse(wadesk_tests::PHONE_NUMBER_ID).unwrap(),
        wadesk_tests::DISPLAY_PHONE_NUMBER.into(),
    );
    channel.default_queue = sales();
    channel
}

fn agent_id(id: &str) -> AgentId {
    AgentId::parse(id).unwrap()
}

fn actor(id: &str) -> Actor {
    Actor {
        id: agent_id(id),
        role: Role::Agent,
    }
}

fn reasons() -> Vec<String> {
    REASONS.iter().map(|r| (*r).to_owned()).collect()
}

/// An available agent of `sales`, created through `save_agent`.
async fn hire<S: DeskStore>(store: &S, id: &str, now: DateTime<Utc>) -> Agent {
    let mut agent = Agent::new(
        agent_id(id),
        id.to_uppercase(),
        Role::Agent,
        vec![sales()],
        200,
        now,
    );
    agent.state = AgentState::Available;
    let change = AgentChange::new(None, agent);
    store.save_agent(&change).await.unwrap();
    change.agent
}

/// A customer message, decided on the stored customer and committed.
async fn inbound<S: DeskStore>(
    store: &S,
    key: &CustomerKey,
    wamid: &str,
    at: DateTime<Utc>,
) -> ConversationId {
    let current = store.get_customer(key).await.unwrap();
    let decision = decide_inbound(
        current.as_ref(),
        &channel(),
        text_message(key, wamid, at, "hola"),
        at,
    );
    store.commit_inbound(&decision).await.unwrap();
    decision.conversation.conversation_id()
}

/// A desk action decided on the stored state, as the app would (not committed).
async fn decide<S, F>(store: &S, id: ConversationId, now: DateTime<Utc>, action: F) -> DeskDecision
where
    S: DeskStore,
    F: FnOnce(&DeskContext<'_>) -> Result<DeskDecision, DeskError>,
{
    let conversation = store.get_conversation(id).await.unwrap().unwrap();
    let agents: BTreeMap<_, _> = store
        .list_agents()
        .await
        .unwrap()
        .into_iter()
        .map(|agent| (agent.id.clone(), agent))
        .collect();
    let customer = store.get_customer(&conversation.customer).await.unwrap();
    let ctx = DeskContext {
        conversation: &conversation,
        agents: &agents,
        customer: customer.as_ref(),
        now,
    };
    action(&ctx).unwrap()
}

/// Decides, commits and checks that every read agrees with the decision.
async fn act<S, F>(store: &S, id: ConversationId, now: DateTime<Utc>, action: F) -> DeskDecision
where
    S: DeskStore,
    F: FnOnce(&DeskContext<'_>) -> Result<DeskDecision, DeskError>,
{
    let decision = decide(store, id, now, action).await;
    store.commit_desk(&decision).await.unwrap();
    assert_agrees(store, &decision).await;
    decision
}

/// Everything in an agent's lists: the live ones and the archive.
async fn lists_of<S: DeskStore>(store: &S, agent: &AgentId) -> Vec<wadesk_domain::Conversation> {
    let mut list = store.list_live_for_agent(agent).await.unwrap();
    let mut page = PageRequest::first(MAX_PAGE);
    loop {
        let archive = store
            .list_archive(agent, DateTime::UNIX_EPOCH, &page)
            .await
            .unwrap();
        list.extend(archive.items);
        match archive.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    list.sort_by_key(|c| (c.created_at, c.id));
    list
}

fn ids(list: &[wadesk_domain::Conversation]) -> Vec<ConversationId> {
    list.iter().map(|c| c.id).collect()
}

/// Ana takes `id`, ends it and wraps it up as a sale, at the three `moments`;
/// the wrap-up's decision.
async fn finish_as_ana<S: DeskStore>(
    store: &S,
    id: ConversationId,
    moments: [DateTime<Utc>; 3],
) -> DeskDecision {
    let ana = actor("ana");
    act(store, id, moments[0], |ctx| desk::take(ctx, &ana, false)).await;
    act(store, id, moments[1], |ctx| desk::end(ctx, &ana)).await;
    act(store, id, moments[2], |ctx| {
        desk::wrap_up(ctx, &ana, "Sale", &reasons())
    })
    .await
}

/// A list holds each conversation as the store has it, not a stale copy.
async fn assert_listed_as_stored<S: DeskStore>(store: &S, list: &[wadesk_domain::Conversation]) {
    for conversation in list {
        let stored = store.get_conversation(conversation.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(conversation));
    }
}

/// After a commit: the conversation, the agents' lists, the status lists, the
/// agents, the customer's mirror and the transcript all show the decision.
async fn assert_agrees<S: DeskStore>(store: &S, decision: &DeskDecision) {
    let after = &decision.conversation;
    assert_eq!(
        store.get_conversation(after.id).await.unwrap().as_ref(),
        Some(after)
    );
    let linked: Vec<_> = after.agent_links().into_iter().map(|(a, _)| a).collect();
    for agent in &linked {
        let list = lists_of(store, agent).await;
        let found: Vec<_> = list.iter().filter(|c| c.id == after.id).collect();
        assert_eq!(found, [after], "{agent} sees the conversation as it is");
    }
    for (agent, _) in decision.before.agent_links() {
        if !linked.contains(&agent) {
            let list = lists_of(store, &agent).await;
            assert!(!ids(&list).contains(&after.id), "{agent} no longer sees it");
        }
    }
    let by_status = store.list_by_status(after.status).await.unwrap();
    let found: Vec<_> = by_status.iter().filter(|c| c.id == after.id).collect();
    assert_eq!(found, [after], "listed under {}", after.status.as_str());
    if decision.before.status != after.status {
        let old = store.list_by_status(decision.before.status).await.unwrap();
        assert!(
            !ids(&old).contains(&after.id),
            "left {}",
            decision.before.status.as_str()
        );
    }
    for change in &decision.agents {
        assert_eq!(
            store.get_agent(&change.agent.id).await.unwrap().as_ref(),
            Some(&change.agent)
        );
    }
    if let Some(change) = &decision.customer {
        assert_eq!(
            store
                .get_customer(&change.customer.key)
                .await
                .unwrap()
                .as_ref(),
            Some(&change.customer)
        );
    }
    let transcript = store.list_messages(after.id).await.unwrap();
    for message in &decision.messages {
        assert!(transcript.contains(message), "stored: {message:?}");
    }
}

pub async fn agents_are_saved_under_their_version<S: DeskStore>(store: S) {
    let now = now_seconds();
    assert_eq!(store.get_agent(&agent_id("ana")).await.unwrap(), None);
    assert_eq!(store.list_agents().await.unwrap(), []);
    let zoe = hire(&store, "zoe", now).await;
    let mut ana = hire(&store, "ana", now).await;
    let mia = hire(&store, "mia", now).await;

    // The one version convention (`wadesk_domain::version`): created at
    // version 1, once; a second create of the same id conflicts.
    assert_eq!(ana.version, 1);
    let mut again = ana.clone();
    again.name = "Another Ana".into();
    let again = AgentChange::new(None, again);
    assert_eq!(again.expected_version, ExpectedVersion::Absent);
    assert!(matches!(
        store.save_agent(&again).await,
        Err(CommitError::Conflict)
    ));

    let mut next = ana.clone();
    next.state = AgentState::NotReady;
    let stale = AgentChange::new(Some(&ana), next);
    assert_eq!(stale.expected_version, ExpectedVersion::Exactly(1));
    assert_eq!(stale.agent.version, 2);
    store.save_agent(&stale).await.unwrap();
    ana = stale.agent.clone();
    // The same change again is now stale; so is a version from the future.
    assert!(matches!(
        store.save_agent(&stale).await,
        Err(CommitError::Conflict)
    ));
    let mut future = stale.clone();
    future.expected_version = ExpectedVersion::Exactly(5);
    assert!(matches!(
        store.save_agent(&future).await,
        Err(CommitError::Conflict)
    ));
    // An agent that does not exist has no version to match.
    let mut ghost = Agent::new(
        agent_id("ghost"),
        "Ghost".into(),
        Role::Agent,
        vec![],
        1,
        now,
    );
    ghost.version = 4;
    assert!(matches!(
        store
            .save_agent(&AgentChange {
                agent: ghost,
                expected_version: ExpectedVersion::Exactly(3)
            })
            .await,
        Err(CommitError::Conflict)
    ));

    assert_eq!(store.get_agent(&ana.id).await.unwrap(), Some(ana.clone()));
    assert_eq!(store.get_agent(&agent_id("ghost")).await.unwrap(), None);
    assert_eq!(store.list_agents().await.unwrap(), [ana, mia, zoe], "by id");
}

pub async fn queues_and_wrap_up_reasons_round_trip<S: DeskStore>(store: S) {
    assert_eq!(store.get_queue(&sales()).await.unwrap(), None);
    let mut queue = Queue {
        id: sales(),
        name: "Sales".into(),
    };
    store.put_queue(&queue).await.unwrap();
    assert_eq!(
        store.get_queue(&sales()).await.unwrap(),
        Some(queue.clone())
    );
    queue.name = "Sales (EMEA)".into();
    store.put_queue(&queue).await.unwrap();
    assert_eq!(store.get_queue(&sales()).await.unwrap(), Some(queue));
    let other = QueueId::parse("support").unwrap();
    assert_eq!(store.get_queue(&other).await.unwrap(), None);

    assert_eq!(
        store.get_wrap_up_reasons().await.unwrap(),
        Vec::<String>::new()
    );
    store.put_wrap_up_reasons(&reasons()).await.unwrap();
    assert_eq!(store.get_wrap_up_reasons().await.unwrap(), reasons());
    let replaced = vec!["Callback".to_owned()];
    store.put_wrap_up_reasons(&replaced).await.unwrap();
    assert_eq!(store.get_wrap_up_reasons().await.unwrap(), replaced);
    store.put_wrap_up_reasons(&[]).await.unwrap();
    assert_eq!(
        store.get_wrap_up_reasons().await.unwrap(),
        Vec::<String>::new()
    );
}

/// Offer, accept, transfer, accept, the sender's wrap-up, end and the owner's
/// wrap-up: after each commit every read agrees.
pub async fn a_conversation_moves_through_the_desk<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    let reasons = reasons();
    let (ana, ben) = (agent_id("ana"), agent_id("ben"));
    hire(&store, "ana", t0).await;
    hire(&store, "ben", t0).await;
    let key = customer("34610000001");
    let id = inbound(&store, &key, "wamid.DF1", t0).await;
    // A second message continues it: the version moves, the status list keeps it.
    assert_eq!(inbound(&store, &key, "wamid.DF2", at(1)).await, id);
    let stored = store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        store
            .list_by_status(ConversationStatus::Unanswered)
            .await
            .unwrap(),
        [stored]
    );

    let offered = act(&store, id, at(2), |ctx| desk::offer(ctx, &ana)).await;
    assert_eq!(ids(&lists_of(&store, &ana).await), [id]);
    assert_eq!(lists_of(&store, &ben).await, []);

    let accepted = act(&store, id, at(3), |ctx| desk::accept(ctx, &actor("ana"))).await;
    assert_eq!(accepted.conversation.status, ConversationStatus::Active);
    let live = store.get_customer(&key).await.unwrap().unwrap().live;
    assert_eq!(
        live,
        Some(LiveSession {
            conversation_id: id,
            status: ConversationStatus::Active,
            owner: Some(ana.clone()),
        })
    );
    assert!(offered.conversation.offered_to.is_some());

    let transferred = act(&store, id, at(4), |ctx| {
        desk::transfer(ctx, &actor("ana"), &TransferTarget::Agent(ben.clone()))
    })
    .await;
    let c = &transferred.conversation;
    assert_eq!(c.status, ConversationStatus::Unanswered);
    assert_eq!(c.offered_to.as_ref(), Some(&ben));
    assert_eq!(c.pending_wrap_up, std::slice::from_ref(&ana));
    // The sender still sees it (they owe a wrap-up), the target is offered it.
    assert_eq!(ids(&lists_of(&store, &ana).await), [id]);
    assert_eq!(ids(&lists_of(&store, &ben).await), [id]);

    act(&store, id, at(5), |ctx| desk::accept(ctx, &actor("ben"))).await;
    act(&store, id, at(6), |ctx| {
        desk::wrap_up(ctx, &actor("ana"), "Sale", &reasons)
    })
    .await;
    assert_eq!(lists_of(&store, &ana).await, []);
    assert_eq!(ids(&lists_of(&store, &ben).await), [id]);

    act(&store, id, at(7), |ctx| desk::end(ctx, &actor("ben"))).await;
    let finished = act(&store, id, at(8), |ctx| {
        desk::wrap_up(ctx, &actor("ben"), "Sale", &reasons)
    })
    .await;
    assert_eq!(finished.conversation.status, ConversationStatus::Finished);
    let customer = store.get_customer(&key).await.unwrap().unwrap();
    assert_eq!(customer.live, None);
    assert_eq!(customer.assigned_agent.as_ref(), Some(&ben));
    for status in [
        ConversationStatus::Unanswered,
        ConversationStatus::Active,
        ConversationStatus::WrapUp,
    ] {
        assert_eq!(store.list_by_status(status).await.unwrap(), []);
    }
    let agents = store.list_agents().await.unwrap();
    assert!(agents.iter().all(|a| a.load == 0), "{agents:?}");
    // Two customer messages and the transfer's system message.
    assert_eq!(store.list_messages(id).await.unwrap().len(), 3);
}

/// Decisions made on a state that has moved on are refused whole.
pub async fn stale_desk_decisions_change_nothing<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    let (ana, ben) = (agent_id("ana"), agent_id("ben"));
    hire(&store, "ana", t0).await;
    let ben_agent = hire(&store, "ben", t0).await;
    let key = customer("34610000002");
    let id = inbound(&store, &key, "wamid.ST1", t0).await;

    // Two offers decided on the same conversation version: one wins.
    let to_ana = decide(&store, id, at(1), |ctx| desk::offer(ctx, &ana)).await;
    let to_ben = decide(&store, id, at(1), |ctx| desk::offer(ctx, &ben)).await;
    assert_eq!(to_ana.before.version, to_ben.before.version);
    store.commit_desk(&to_ana).await.unwrap();
    assert!(matches!(
        store.commit_desk(&to_ben).await,
        Err(CommitError::Conflict)
    ));
    assert!(matches!(
        store.commit_desk(&to_ana).await,
        Err(CommitError::Conflict)
    ));
    assert_agrees(&store, &to_ana).await;
    assert_eq!(
        store.get_agent(&ben).await.unwrap(),
        Some(ben_agent.clone())
    );
    assert_eq!(lists_of(&store, &ben).await, []);

    // A stale agent: ben changed state after the take was decided.
    let other = customer("34610000003");
    let id2 = inbound(&store, &other, "wamid.ST2", at(2)).await;
    let take = decide(&store, id2, at(3), |ctx| {
        desk::take(ctx, &actor("ben"), false)
    })
    .await;
    let (change, _) = desk::change_state(&ben_agent, AgentState::NotReady, at(3)).unwrap();
    store.save_agent(&change).await.unwrap();
    let before = store.get_conversation(id2).await.unwrap();
    assert!(matches!(
        store.commit_desk(&take).await,
        Err(CommitError::Conflict)
    ));
    assert_eq!(store.get_conversation(id2).await.unwrap(), before);
    assert_eq!(store.get_agent(&ben).await.unwrap(), Some(change.agent));
    assert_eq!(lists_of(&store, &ben).await, []);
    assert_eq!(
        ids(&store
            .list_by_status(ConversationStatus::Unanswered)
            .await
            .unwrap()),
        [id, id2]
    );

    // A customer message after the decision bumps the conversation's version.
    // (An offer leaves the customer as it is: only the version can refuse it.)
    let offer = decide(&store, id2, at(4), |ctx| desk::offer(ctx, &ana)).await;
    assert!(offer.customer.is_none());
    inbound(&store, &other, "wamid.ST3", at(5)).await;
    assert!(matches!(
        store.commit_desk(&offer).await,
        Err(CommitError::Conflict)
    ));
    assert_eq!(
        store.get_conversation(id2).await.unwrap().unwrap().status,
        ConversationStatus::Unanswered
    );
    assert_eq!(ids(&lists_of(&store, &ana).await), [id]);
    assert_eq!(store.get_agent(&ana).await.unwrap().unwrap().load, 1);

    // A stale customer mirror.
    let take = decide(&store, id2, at(6), |ctx| {
        desk::take(ctx, &actor("ana"), false)
    })
    .await;
    assert!(take.customer.is_some());
    let customer_then = store.get_customer(&other).await.unwrap().unwrap();
    let customer_now = CustomerChange::new(Some(&customer_then), customer_then.clone());
    store.save_customer(&customer_now).await.unwrap();
    let conversation_now = store.get_conversation(id2).await.unwrap();
    let messages_now = store.list_messages(id2).await.unwrap();
    assert!(matches!(
        store.commit_desk(&take).await,
        Err(CommitError::Conflict)
    ));
    assert_eq!(store.get_conversation(id2).await.unwrap(), conversation_now);
    assert_eq!(store.list_messages(id2).await.unwrap(), messages_now);
    assert_eq!(
        store.get_customer(&other).await.unwrap(),
        Some(customer_now.customer)
    );
    assert_eq!(ids(&lists_of(&store, &ana).await), [id]);
}

pub async fn listing_by_status_is_oldest_first<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    hire(&store, "ana", t0).await;
    // Stored out of order.
    let a = inbound(&store, &customer("34610000011"), "wamid.LA", at(2)).await;
    let b = inbound(&store, &customer("34610000012"), "wamid.LB", at(0)).await;
    let c = inbound(&store, &customer("34610000013"), "wamid.LC", at(1)).await;
    let unanswered = || store.list_by_status(ConversationStatus::Unanswered);
    assert_eq!(ids(&unanswered().await.unwrap()), [b, c, a]);

    act(&store, b, at(3), |ctx| {
        desk::take(ctx, &actor("ana"), false)
    })
    .await;
    assert_eq!(ids(&unanswered().await.unwrap()), [c, a]);
    assert_eq!(
        ids(&store
            .list_by_status(ConversationStatus::Active)
            .await
            .unwrap()),
        [b]
    );
    // Back to the queue: it waits since the transfer, behind the others.
    act(&store, b, at(4), |ctx| {
        desk::transfer(ctx, &actor("ana"), &TransferTarget::Queue(sales()))
    })
    .await;
    let list = unanswered().await.unwrap();
    assert_eq!(ids(&list), [c, a, b]);
    assert_listed_as_stored(&store, &list).await;
    assert_eq!(
        store
            .list_by_status(ConversationStatus::Active)
            .await
            .unwrap(),
        []
    );
}

/// A reply to a reopened conversation: the inbound write moves its status list
/// and the reopening agent keeps it.
pub async fn a_reply_to_a_reopened_conversation_is_listed_as_active<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    let (ana, ben) = (agent_id("ana"), agent_id("ben"));
    hire(&store, "ana", t0).await;
    hire(&store, "ben", t0).await;
    let key = customer("34610000021");
    let id = inbound(&store, &key, "wamid.RO1", t0).await;
    finish_as_ana(&store, id, [at(1), at(2), at(3)]).await;

    // Ben reopens it (as the reopen service will decide it).
    let before = store.get_conversation(id).await.unwrap().unwrap();
    let mut reopened = before.clone();
    reopened.status = ConversationStatus::Reopened;
    reopened.owner = Some(ben.clone());
    reopened.reopened_by = Some(ben.clone());
    reopened.participants = vec![ben.clone()];
    reopened.version += 1;
    reopened.updated_at = at(4);
    let stored_customer = store.get_customer(&key).await.unwrap().unwrap();
    let mut customer_before = stored_customer.clone();
    customer_before.live = Some(LiveSession {
        conversation_id: id,
        status: ConversationStatus::Reopened,
        owner: Some(ben.clone()),
    });
    customer_before.assigned_agent = Some(ben.clone());
    let reopen = DeskDecision {
        before,
        conversation: reopened,
        agents: Vec::new(),
        customer: Some(CustomerChange::new(Some(&stored_customer), customer_before)),
        messages: Vec::new(),
        events: Vec::new(),
        arm_offer_timeout: None,
        needs_routing: false,
        freed: Vec::new(),
    };
    store.commit_desk(&reopen).await.unwrap();
    assert_agrees(&store, &reopen).await;
    assert_eq!(lists_of(&store, &ana).await, []);

    // The customer replies.
    let current = store.get_customer(&key).await.unwrap();
    let reply = decide_inbound(
        current.as_ref(),
        &channel(),
        text_message(&key, "wamid.RO2", at(5), "yes?"),
        at(5),
    );
    assert!(matches!(
        &reply.conversation,
        ConversationChange::Continued {
            status: ConversationStatus::Active,
            owner: Some(owner),
            ..
        } if *owner == ben
    ));
    store.commit_inbound(&reply).await.unwrap();
    let stored = store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.status, ConversationStatus::Active);
    assert_eq!(stored.owner.as_ref(), Some(&ben));
    assert_eq!(stored.version, reopen.conversation.version + 1);
    assert_eq!(
        store
            .list_by_status(ConversationStatus::Active)
            .await
            .unwrap(),
        std::slice::from_ref(&stored)
    );
    assert_eq!(
        store
            .list_by_status(ConversationStatus::Reopened)
            .await
            .unwrap(),
        []
    );
    assert_eq!(lists_of(&store, &ben).await, [stored]);
    assert_eq!(lists_of(&store, &ana).await, []);
}

/// What a store's outbox holds for one conversation, oldest change first: the
/// embedded store's pending events, the DynamoDB table's outbox items.
pub trait OutboxReader {
    async fn outbox_of(&self, id: ConversationId) -> Vec<EventEnvelope>;
}

impl OutboxReader for EmbeddedStore {
    async fn outbox_of(&self, id: ConversationId) -> Vec<EventEnvelope> {
        self.outbox()
            .into_iter()
            .filter(|e| {
                serde_json::to_value(e).unwrap()["detail"]["conversation_id"]
                    == id.to_string().as_str()
            })
            .collect()
    }
}

impl OutboxReader for DynamoStore {
    async fn outbox_of(&self, id: ConversationId) -> Vec<EventEnvelope> {
        self.outbox(id).await.unwrap()
    }
}

fn event_ids(events: &[EventEnvelope]) -> Vec<uuid::Uuid> {
    events.iter().map(|e| e.id).collect()
}

pub async fn desk_events_are_in_the_outbox_with_their_commit<S: DeskStore + OutboxReader>(
    store: S,
) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    let ana = agent_id("ana");
    hire(&store, "ana", t0).await;
    let ben = hire(&store, "ben", t0).await;
    let key = customer("34610000041");
    let id = inbound(&store, &key, "wamid.OB1", t0).await;
    // The inbound message's events are committed with it, in the outbox too.
    let mut expected = store.outbox_of(id).await;
    let kinds: Vec<&str> = expected.iter().map(|e| e.type_name()).collect();
    assert_eq!(kinds, ["ConversationStarted", "MessageReceived"]);

    // Two offers decided on the same version: the winner's events are in the
    // outbox, the loser's are not.
    let to_ana = decide(&store, id, at(1), |ctx| desk::offer(ctx, &ana)).await;
    let to_ben = decide(&store, id, at(1), |ctx| desk::offer(ctx, &ben.id)).await;
    assert!(!to_ana.events.is_empty());
    store.commit_desk(&to_ana).await.unwrap();
    assert!(matches!(
        store.commit_desk(&to_ben).await,
        Err(CommitError::Conflict)
    ));
    expected.extend(to_ana.events.iter().cloned());
    assert_eq!(store.outbox_of(id).await, expected);

    // Each commit adds its own events, with the ids the decision gave them.
    let accepted = act(&store, id, at(2), |ctx| desk::accept(ctx, &actor("ana"))).await;
    expected.extend(accepted.events.iter().cloned());
    let sent = act(&store, id, at(3), |ctx| {
        desk::send(
            ctx,
            &actor("ana"),
            MessageContent::Text {
                text: "Hello".into(),
            },
        )
    })
    .await;
    expected.extend(sent.events.iter().cloned());
    assert_eq!(event_ids(&store.outbox_of(id).await), event_ids(&expected));

    // A decision refused on a stale agent writes no events either.
    let end = decide(&store, id, at(4), |ctx| desk::end(ctx, &actor("ana"))).await;
    assert!(!end.events.is_empty());
    let stored = store.get_agent(&ana).await.unwrap().unwrap();
    let (change, _) = desk::change_state(&stored, AgentState::NotReady, at(4)).unwrap();
    store.save_agent(&change).await.unwrap();
    assert!(matches!(
        store.commit_desk(&end).await,
        Err(CommitError::Conflict)
    ));
    assert_eq!(event_ids(&store.outbox_of(id).await), event_ids(&expected));
}

pub async fn a_sent_message_records_its_wamid_once<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    hire(&store, "ana", t0).await;
    let key = customer("34610000031");
    let id = inbound(&store, &key, "wamid.RS1", t0).await;
    let sent = act(&store, id, at(1), |ctx| {
        desk::send(
            ctx,
            &actor("ana"),
            MessageContent::Text {
                text: "Hello, how can I help?".into(),
            },
        )
    })
    .await;
    let mut message = sent.messages.last().unwrap().clone();
    assert_eq!(message.wamid, None);
    let wamid = Wamid::parse("wamid.OUT-RS1").unwrap();
    message.wamid = Some(wamid.clone());
    store.record_sent(&key, &message).await.unwrap();

    let transcript = store.list_messages(id).await.unwrap();
    assert_eq!(transcript.last(), Some(&message));
    let record = store.find_wamid(&wamid).await.unwrap().unwrap();
    assert_eq!(record.conversation_id, id);
    assert_eq!(record.message_id, message.id);
    assert_eq!(record.message_at, message.at);
    assert_eq!(record.customer, key);

    // The same send recorded twice, or its wamid on another message: a duplicate.
    assert!(matches!(
        store.record_sent(&key, &message).await,
        Err(CommitError::Duplicate { events }) if events.is_empty()
    ));
    let mut other = message.clone();
    other.id = MessageId::generate();
    assert!(matches!(
        store.record_sent(&key, &other).await,
        Err(CommitError::Duplicate { .. })
    ));
    // A message that already has a wamid, or that was never stored: a conflict.
    let mut resent = message.clone();
    resent.wamid = Some(Wamid::parse("wamid.OUT-RS2").unwrap());
    assert!(matches!(
        store.record_sent(&key, &resent).await,
        Err(CommitError::Conflict)
    ));
    let mut unknown: Message = message.clone();
    unknown.id = MessageId::generate();
    unknown.wamid = Some(Wamid::parse("wamid.OUT-RS3").unwrap());
    assert!(matches!(
        store.record_sent(&key, &unknown).await,
        Err(CommitError::Conflict)
    ));
    for refused in ["wamid.OUT-RS2", "wamid.OUT-RS3"] {
        let wamid = Wamid::parse(refused).unwrap();
        assert_eq!(store.find_wamid(&wamid).await.unwrap(), None);
    }
    assert_eq!(store.list_messages(id).await.unwrap(), transcript);
}

pub async fn customer_history_is_newest_first<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    hire(&store, "ana", t0).await;
    let key = customer("34610000041");
    let first = inbound(&store, &key, "wamid.H1", t0).await;
    finish_as_ana(&store, first, [at(1), at(2), at(3)]).await;
    // Someone else in between, then the customer again, then on another number.
    let stranger = inbound(&store, &customer("34610000042"), "wamid.H2", at(4)).await;
    let second = inbound(&store, &key, "wamid.H3", at(5)).await;
    assert_ne!(second, first, "a finished conversation is not continued");
    let elsewhere = CustomerKey::new(
        PhoneNumberId::parse("106540352242999").unwrap(),
        key.wa_id.clone(),
    );
    let third = inbound(&store, &elsewhere, "wamid.H4", at(6)).await;

    let history = store.list_customer_history(&key.wa_id).await.unwrap();
    assert_eq!(ids(&history), [third, second, first]);
    assert_listed_as_stored(&store, &history).await;
    assert_eq!(
        ids(&store
            .list_customer_history(&WaId::parse("34610000042").unwrap())
            .await
            .unwrap()),
        [stranger]
    );
    assert_eq!(
        store
            .list_customer_history(&WaId::parse("34610000049").unwrap())
            .await
            .unwrap(),
        []
    );
}

/// More conversations than one BatchGetItem reads.
pub async fn an_agent_list_spans_many_conversations<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    hire(&store, "ana", t0).await;
    let mut expected = Vec::new();
    for n in 0..105 {
        let at = t0 + Duration::seconds(n);
        let key = customer(&format!("3462{n:08}"));
        let id = inbound(&store, &key, &format!("wamid.M{n}"), at).await;
        let decision = decide(&store, id, at, |ctx| desk::take(ctx, &actor("ana"), false)).await;
        store.commit_desk(&decision).await.unwrap();
        expected.push(decision.conversation);
    }
    assert_eq!(lists_of(&store, &agent_id("ana")).await, expected);
    assert_eq!(
        store
            .list_by_status(ConversationStatus::Active)
            .await
            .unwrap(),
        expected
    );
}

/// Reads every page of a paged list, checking each respects its limit.
async fn all_pages<T, F, Fut>(limit: usize, mut read: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = wadesk_app::Page<T>>,
{
    let mut items = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = read(page.clone()).await;
        assert!(got.items.len() <= limit);
        items.extend(got.items);
        match got.next {
            Some(next) => page.after = Some(next),
            None => return items,
        }
    }
}

/// The paged lists agree with the whole lists, page after page: the archive
/// (newest first, not in the live list), a status, a customer's history and
/// a transcript; and an id holding the key separator stays its own.
pub async fn paged_lists_agree_with_the_whole_lists<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    hire(&store, "ana", t0).await;
    hire(&store, "ana#1", t0).await;
    store.put_wrap_up_reasons(&reasons()).await.unwrap();
    let key = customer("34630000001");
    let mut finished = Vec::new();
    for n in 0..5 {
        let at = t0 + Duration::seconds(n * 10);
        let id = inbound(&store, &key, &format!("wamid.PG{n}"), at).await;
        let done = finish_as_ana(&store, id, [at, at, at]).await;
        finished.push(done.conversation);
    }
    // One live conversation, owned by `ana#1`.
    let at = t0 + Duration::seconds(60);
    let live = inbound(&store, &key, "wamid.PGLIVE", at).await;
    act(&store, live, at, |ctx| {
        desk::take(ctx, &actor("ana#1"), false)
    })
    .await;

    assert_eq!(
        store.list_live_for_agent(&agent_id("ana")).await.unwrap(),
        []
    );
    assert_eq!(
        ids(&store.list_live_for_agent(&agent_id("ana#1")).await.unwrap()),
        [live]
    );
    let archive = all_pages(2, |page| {
        let store = &store;
        async move {
            store
                .list_archive(&agent_id("ana"), DateTime::UNIX_EPOCH, &page)
                .await
                .unwrap()
        }
    })
    .await;
    let mut newest_first = finished.clone();
    newest_first.reverse();
    assert_eq!(archive, newest_first);
    assert!(store
        .list_archive(
            &agent_id("ana#1"),
            DateTime::UNIX_EPOCH,
            &PageRequest::first(10)
        )
        .await
        .unwrap()
        .items
        .is_empty());
    // `since` bounds the archive in time.
    let recent = store
        .list_archive(
            &agent_id("ana"),
            t0 + Duration::seconds(25),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(ids(&recent.items), ids(&newest_first[..2]));

    let history = all_pages(4, |page| {
        let (store, key) = (&store, &key);
        async move {
            store
                .list_customer_history_page(&key.wa_id, &page)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(
        history,
        store.list_customer_history(&key.wa_id).await.unwrap()
    );
    let by_status = all_pages(3, |page| {
        let store = &store;
        async move {
            store
                .list_by_status_page(ConversationStatus::Finished, DateTime::UNIX_EPOCH, &page)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(
        by_status,
        store
            .list_by_status(ConversationStatus::Finished)
            .await
            .unwrap()
    );
    let first = finished[0].id;
    let transcript = all_pages(1, |page| {
        let store = &store;
        async move { store.list_messages_page(first, &page).await.unwrap() }
    })
    .await;
    assert_eq!(transcript, store.list_messages(first).await.unwrap());
}

/// The audit trail: a day's records newest first, a page at a time, and
/// another day's apart.
pub async fn the_audit_trail_reads_back_by_day<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let ana = actor("ana");
    let mut recorded = Vec::new();
    for n in 0..5 {
        let mut record = wadesk_domain::AuditRecord::new(
            &ana,
            wadesk_domain::AuditAction::TranscriptRead,
            "GET /conversations/{id}/messages".into(),
            t0 + Duration::seconds(n),
        );
        record.customer = Some(customer("34631000001").wa_id);
        store.record_audit(&record).await.unwrap();
        recorded.push(record);
    }
    let yesterday = wadesk_domain::AuditRecord::new(
        &ana,
        wadesk_domain::AuditAction::HistorySearch,
        "GET /customers/{wa_id}/history".into(),
        t0 - Duration::days(1),
    );
    store.record_audit(&yesterday).await.unwrap();
    let today = all_pages(2, |page| {
        let store = &store;
        async move { store.list_audit(t0.date_naive(), &page).await.unwrap() }
    })
    .await;
    recorded.reverse();
    assert_eq!(today, recorded);
    let before = store
        .list_audit(
            (t0 - Duration::days(1)).date_naive(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(before.items, [yesterday]);
}

/// A desk read (`read_desk`: one round trip) answers what was asked, as the
/// single reads would, and leaves out what is missing or was not asked for.
pub async fn a_desk_read_finds_what_it_asks_for<S: DeskStore>(store: S) {
    let t0 = now_seconds();
    let ana = hire(&store, "ana", t0).await;
    let ben = hire(&store, "ben", t0).await;
    let queue = Queue {
        id: sales(),
        name: "Sales".into(),
    };
    store.put_queue(&queue).await.unwrap();
    store.put_wrap_up_reasons(&reasons()).await.unwrap();
    store.put_channel(&channel()).await.unwrap();
    let key = customer("34610000061");
    let id = inbound(&store, &key, "wamid.RD1", t0).await;
    let support = QueueId::parse("support").unwrap();

    let found = store
        .read_desk(&DeskKeys {
            conversation: Some(id),
            customer: Some(key.clone()),
            agents: vec![ana.id.clone(), ben.id.clone(), agent_id("ghost")],
            queues: vec![sales(), support],
            channel: Some(channel().phone_number_id),
            wrap_up_reasons: true,
        })
        .await
        .unwrap();
    assert_eq!(
        found.conversation,
        store.get_conversation(id).await.unwrap()
    );
    assert!(found.conversation.is_some());
    assert_eq!(found.customer, store.get_customer(&key).await.unwrap());
    assert!(found.customer.is_some());
    let stored_ana = store.get_agent(&ana.id).await.unwrap().unwrap();
    let stored_ben = store.get_agent(&ben.id).await.unwrap().unwrap();
    assert_eq!(
        found.agents,
        BTreeMap::from([
            (ana.id.clone(), stored_ana.clone()),
            (ben.id.clone(), stored_ben)
        ])
    );
    assert_eq!(found.queues, BTreeMap::from([(sales(), queue)]));
    let number = channel().phone_number_id;
    assert_eq!(found.channel, store.get_channel(&number).await.unwrap());
    assert!(found.channel.is_some());
    assert_eq!(found.wrap_up_reasons, reasons());

    // Only what is asked for: no reasons unless asked, a missing conversation left out.
    let found = store
        .read_desk(&DeskKeys {
            conversation: Some(ConversationId::generate()),
            agents: vec![ana.id.clone()],
            ..DeskKeys::default()
        })
        .await
        .unwrap();
    assert_eq!(found.conversation, None);
    assert_eq!(found.customer, None);
    assert_eq!(found.agents, BTreeMap::from([(ana.id.clone(), stored_ana)]));
    assert!(found.queues.is_empty());
    assert_eq!(found.channel, None);
    assert!(found.wrap_up_reasons.is_empty());
}

/// A customer's first message, decided on the stored directory and offered
/// in the same decision, as the webhook does; not committed.
async fn inbound_offered<S: DeskStore>(
    store: &S,
    key: &CustomerKey,
    wamid: &str,
    at: DateTime<Utc>,
) -> wadesk_domain::InboundDecision {
    let decision = decide_inbound(None, &channel(), text_message(key, wamid, at, "hola"), at);
    let directory: BTreeMap<_, _> = store
        .list_agents()
        .await
        .unwrap()
        .into_iter()
        .map(|agent| (agent.id.clone(), agent))
        .collect();
    let offer = decision.route_started(&directory, at).unwrap().unwrap();
    decision.offered(offer)
}

pub async fn a_message_and_the_offer_of_its_conversation_commit_together<
    S: DeskStore + OutboxReader,
>(
    store: S,
) {
    let t0 = now_seconds();
    let ana = hire(&store, "ana", t0).await;
    let decision = inbound_offered(&store, &customer("34610000051"), "wamid.MO1", t0).await;
    let ConversationChange::Started(offered) = &decision.conversation else {
        panic!("a new conversation");
    };
    assert_eq!(offered.offered_to.as_ref(), Some(&ana.id));
    store.commit_inbound(&decision).await.unwrap();

    // The conversation as offered, in ana's offered list and the queue's;
    // ana with the offer counted; the events of both with the message's.
    let id = offered.id;
    assert_eq!(
        store.get_conversation(id).await.unwrap().as_ref(),
        Some(offered)
    );
    let listed = lists_of(&store, &ana.id).await;
    assert_eq!(ids(&listed), [id], "linked to the offered agent");
    assert_listed_as_stored(&store, &listed).await;
    let queued = store
        .list_by_status(ConversationStatus::Unanswered)
        .await
        .unwrap();
    assert_eq!(ids(&queued), [id]);
    let offer = decision.offer.as_ref().unwrap();
    let stored_ana = store.get_agent(&ana.id).await.unwrap().unwrap();
    assert_eq!(stored_ana, offer.agent.agent);
    assert_eq!((stored_ana.load, stored_ana.version), (1, ana.version + 1));
    let kinds: Vec<&str> = store
        .outbox_of(id)
        .await
        .iter()
        .map(|e| e.type_name())
        .collect();
    assert_eq!(
        kinds,
        [
            "ConversationStarted",
            "MessageReceived",
            "ConversationOffered"
        ]
    );
    let mut committed = decision.events.clone();
    committed.extend(offer.events.iter().cloned());
    assert_eq!(event_ids(&store.outbox_of(id).await), event_ids(&committed));

    // An offer decided on an agent version another offer replaced first:
    // refused whole, the message with it.
    let stale = {
        let directory = BTreeMap::from([(ana.id.clone(), ana.clone())]);
        let key = customer("34610000052");
        let at = t0 + Duration::seconds(1);
        let plain = decide_inbound(
            None,
            &channel(),
            text_message(&key, "wamid.MO2", at, "hi"),
            at,
        );
        let offer = plain.route_started(&directory, at).unwrap().unwrap();
        plain.offered(offer)
    };
    assert!(matches!(
        store.commit_inbound(&stale).await,
        Err(CommitError::Conflict)
    ));
    let refused = stale.conversation.conversation_id();
    assert_eq!(store.get_conversation(refused).await.unwrap(), None);
    assert_eq!(store.list_messages(refused).await.unwrap(), []);
    assert_eq!(store.outbox_of(refused).await, []);
    assert_eq!(store.get_customer(&stale.customer.key).await.unwrap(), None);
    assert_eq!(store.get_agent(&ana.id).await.unwrap(), Some(stored_ana));
    assert_eq!(ids(&lists_of(&store, &ana.id).await), [id]);
}

macro_rules! desk_store_suite {
    ($adapter:ident, $make:expr) => {
        mod $adapter {
            #[tokio::test]
            async fn agents_are_saved_under_their_version() {
                super::agents_are_saved_under_their_version($make).await;
            }
            #[tokio::test]
            async fn a_desk_read_finds_what_it_asks_for() {
                super::a_desk_read_finds_what_it_asks_for($make).await;
            }
            #[tokio::test]
            async fn queues_and_wrap_up_reasons_round_trip() {
                super::queues_and_wrap_up_reasons_round_trip($make).await;
            }
            #[tokio::test]
            async fn a_conversation_moves_through_the_desk() {
                super::a_conversation_moves_through_the_desk($make).await;
            }
            #[tokio::test]
            async fn stale_desk_decisions_change_nothing() {
                super::stale_desk_decisions_change_nothing($make).await;
            }
            #[tokio::test]
            async fn listing_by_status_is_oldest_first() {
                super::listing_by_status_is_oldest_first($make).await;
            }
            #[tokio::test]
            async fn a_reply_to_a_reopened_conversation_is_listed_as_active() {
                super::a_reply_to_a_reopened_conversation_is_listed_as_active($make).await;
            }
            #[tokio::test]
            async fn desk_events_are_in_the_outbox_with_their_commit() {
                super::desk_events_are_in_the_outbox_with_their_commit($make).await;
            }
            #[tokio::test]
            async fn a_sent_message_records_its_wamid_once() {
                super::a_sent_message_records_its_wamid_once($make).await;
            }
            #[tokio::test]
            async fn customer_history_is_newest_first() {
                super::customer_history_is_newest_first($make).await;
            }
            #[tokio::test]
            async fn an_agent_list_spans_many_conversations() {
                super::an_agent_list_spans_many_conversations($make).await;
            }
            #[tokio::test]
            async fn the_audit_trail_reads_back_by_day() {
                super::the_audit_trail_reads_back_by_day($make).await;
            }
            #[tokio::test]
            async fn paged_lists_agree_with_the_whole_lists() {
                super::paged_lists_agree_with_the_whole_lists($make).await;
            }
            #[tokio::test]
            async fn a_message_and_the_offer_of_its_conversation_commit_together() {
                super::a_message_and_the_offer_of_its_conversation_commit_together($make).await;
            }
        }
    };
}

desk_store_suite!(embedded, wadesk_tests::embedded_store());
desk_store_suite!(dynamodb, wadesk_tests::dynamo_store(None).await);

/// The items of a DynamoDB store's table that carry events for the relay.
async fn items_with_events(store: &DynamoStore) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
        item.get(name).unwrap().as_s().unwrap().clone()
    };
    let mut found: Vec<(String, String)> = store
        .client()
        .scan()
        .table_name(store.table())
        .filter_expression("attribute_exists(events)")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|item| (text(item, "pk"), text(item, "sk")))
        .collect();
    found.sort();
    found
}

/// On DynamoDB each change's events reach the table's stream in exactly one
/// insert, on an item the change writes anyway where it has one: an inbound
/// message's wamid item, a desk change's first new message; only a change
/// that stores no message writes an `OUTBOX#` item. Fed the stream as the
/// event-source mapping feeds it, the relay publishes every committed event
/// once; an outbound message's wamid item carries none.
#[tokio::test]
async fn dynamodb_events_ride_on_one_inserted_item_per_change() {
    let store = wadesk_tests::dynamo_store(None).await;
    let mut stream = wadesk_local_runner::stream::StreamReader::new(
        wadesk_tests::dynamodbstreams_client().await,
        store.table(),
    );
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    hire(&store, "ana", t0).await;
    let key = customer("34610000051");
    let id = inbound(&store, &key, "wamid.EV1", t0).await;
    let offered = act(&store, id, at(1), |ctx| desk::offer(ctx, &agent_id("ana"))).await;
    let accepted = act(&store, id, at(2), |ctx| desk::accept(ctx, &actor("ana"))).await;
    let sent = act(&store, id, at(3), |ctx| {
        desk::send(
            ctx,
            &actor("ana"),
            MessageContent::Text {
                text: "How can I help?".into(),
            },
        )
    })
    .await;
    let mut message = sent.messages[0].clone();
    message.wamid = Some(Wamid::parse("wamid.OUT-EV1").unwrap());
    store.record_sent(&key, &message).await.unwrap();
    inbound(&store, &key, "wamid.EV2", at(4)).await;
    assert!(!offered.events.is_empty() && !accepted.events.is_empty() && !sent.events.is_empty());

    use wadesk_aws::dynamodb::keys;
    let outbox = |version: u64| (keys::outbox_pk(id), keys::outbox_sk(version));
    let mut expected = vec![
        (
            keys::conversation_pk(id),
            keys::message_sk(message.at, message.id),
        ),
        outbox(offered.conversation.version),
        outbox(accepted.conversation.version),
        (
            keys::wamid_pk(&Wamid::parse("wamid.EV1").unwrap()),
            keys::WAMID_SK.to_owned(),
        ),
        (
            keys::wamid_pk(&Wamid::parse("wamid.EV2").unwrap()),
            keys::WAMID_SK.to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(items_with_events(&store).await, expected);

    let bus = wadesk_app::embedded::LocalEventBus::new();
    wadesk_local_runner::relay_stream(&mut stream, &bus)
        .await
        .unwrap();
    let mut published = event_ids(&bus.published());
    let mut committed = event_ids(&store.outbox(id).await.unwrap());
    // The first message's 2 (started, received), the desk changes', the reply's 1.
    let desk_events = offered.events.len() + accepted.events.len() + sent.events.len();
    assert_eq!(committed.len(), 2 + desk_events + 1);
    published.sort();
    committed.sort();
    assert_eq!(published, committed, "each committed event relayed once");
}

/// `record_sent` on DynamoDB writes the wamid item and the message's wamid
/// side by side (not in one transaction): either may fail alone. Neither
/// half resends anything, and recording the same wamid again completes the
/// half that was lost.
#[tokio::test]
async fn dynamodb_a_sent_messages_lost_half_is_completed_by_recording_it_again() {
    use wadesk_app::ConversationStore;
    use wadesk_tests::fault_proxy::{self, Fault, FaultProxy, Matcher, Rule, SdkRetries};

    let proxy = FaultProxy::start(&wadesk_tests::moto_endpoint()).await;
    let sdk = fault_proxy::sdk_config(&proxy, SdkRetries::Disabled).await;
    let plain = wadesk_tests::dynamo_store(None).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), plain.table());
    let t0 = now_seconds();
    let at = |s: i64| t0 + Duration::seconds(s);
    hire(&store, "ana", t0).await;
    let key = customer("34610000052");
    let id = inbound(&store, &key, "wamid.SP1", t0).await;
    act(&store, id, at(1), |ctx| desk::offer(ctx, &agent_id("ana"))).await;
    act(&store, id, at(2), |ctx| desk::accept(ctx, &actor("ana"))).await;
    let send = |s: i64, wamid: &'static str| {
        let store = &store;
        async move {
            let sent = act(store, id, at(s), |ctx| {
                desk::send(
                    ctx,
                    &actor("ana"),
                    MessageContent::Text {
                        text: format!("answer {s}"),
                    },
                )
            })
            .await;
            let mut message = sent.messages[0].clone();
            message.wamid = Some(Wamid::parse(wamid).unwrap());
            message
        }
    };

    // The wamid item's write fails: the message is marked sent (nothing
    // resends it), its statuses find nothing yet.
    let first = send(3, "wamid.OUT-SP1").await;
    let first_wamid = first.wamid.clone().unwrap();
    proxy.add(Rule::first(Matcher::Target("PutItem"), Fault::Status(500)));
    assert!(matches!(
        store.record_sent(&key, &first).await,
        Err(CommitError::Store(_))
    ));
    assert_eq!(
        transcript_wamid(&store, id, &first).await,
        Some(first_wamid.clone())
    );
    assert_eq!(store.find_wamid(&first_wamid).await.unwrap(), None);
    store.record_sent(&key, &first).await.unwrap();
    let record = store.find_wamid(&first_wamid).await.unwrap().unwrap();
    assert_eq!(record.message_id, first.id);

    // The message's write fails: the wamid item leads statuses to it; the
    // message is completed when the same wamid is recorded again.
    let second = send(4, "wamid.OUT-SP2").await;
    let second_wamid = second.wamid.clone().unwrap();
    proxy.add(Rule::first(
        Matcher::Target("UpdateItem"),
        Fault::Status(500),
    ));
    assert!(matches!(
        store.record_sent(&key, &second).await,
        Err(CommitError::Store(_))
    ));
    assert_eq!(transcript_wamid(&store, id, &second).await, None);
    assert_eq!(
        store
            .find_wamid(&second_wamid)
            .await
            .unwrap()
            .unwrap()
            .message_id,
        second.id
    );
    assert!(matches!(
        store.record_sent(&key, &second).await,
        Err(CommitError::Duplicate { .. })
    ));
    assert_eq!(
        transcript_wamid(&store, id, &second).await,
        Some(second_wamid)
    );
    assert_eq!(proxy.faults_fired(), 2);
}

/// The wamid stored on a conversation's message.
async fn transcript_wamid(
    store: &DynamoStore,
    id: ConversationId,
    message: &Message,
) -> Option<Wamid> {
    use wadesk_app::ConversationStore;
    store
        .list_messages(id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == message.id)
        .unwrap()
        .wamid
}

/// A webhook batch's read on DynamoDB: more keys than one `BatchGetItem`
/// takes (150 customers and their channel) are read in chunks sent side by
/// side, and every customer stored, and the channel, is found whichever
/// chunk it fell in.
#[tokio::test]
async fn dynamodb_a_batch_read_over_100_keys_finds_every_customer_in_side_by_side_chunks() {
    use wadesk_app::ConversationStore;

    let counter = wadesk_aws::RequestCounter::new();
    let store = wadesk_tests::dynamo_store(Some(&counter)).await;
    store.put_channel(&channel()).await.unwrap();
    let t0 = now_seconds();
    let keys: Vec<CustomerKey> = (0..150)
        .map(|n| customer(&format!("346120{n:05}")))
        .collect();
    let stored: Vec<&CustomerKey> = keys.iter().step_by(10).collect();
    for (n, key) in stored.iter().enumerate() {
        inbound(&store, key, &format!("wamid.BR{n}"), t0).await;
    }
    counter.reset();
    let contexts = store.load_inbound_contexts(&keys).await.unwrap();
    assert_eq!(
        counter.requests(),
        ["dynamodb:BatchGetItem", "dynamodb:BatchGetItem"]
    );
    assert_eq!(contexts.len(), keys.len());
    for key in &keys {
        let context = &contexts[key];
        assert_eq!(
            context.channel.as_ref().map(|c| &c.phone_number_id),
            Some(&key.phone_number_id)
        );
        let found = context.customer.as_ref().map(|c| &c.key);
        assert_eq!(found.is_some(), stored.contains(&key), "{key:?}");
        if let Some(found) = found {
            assert_eq!(found, key);
        }
    }
}
