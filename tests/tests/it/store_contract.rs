//! One contract, every store adapter: the embedded store and DynamoDB (on moto)
//! must behave the same, conditions and atomicity included.

use std::sync::Arc;

use chrono::Duration;
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::{CommitError, ConversationStore};
use wadesk_domain::{
    decide_inbound, Channel, ConversationChange, ConversationStatus, Customer, CustomerChange,
    DeliveryStatus, ExpectedVersion, MessageId, PhoneNumberId, QueueId,
};
use wadesk_tests::{customer, now_seconds, services, text_message, Outbox};

fn channel() -> Channel {
    let mut channel = Channel::unconfigured(
        PhoneNumberId::parse(wadesk_tests::PHONE_NUMBER_ID).unwrap(),
        wadesk_tests::DISPLAY_PHONE_NUMBER.into(),
    );
    channel.default_queue = QueueId::parse("sales").unwrap();
    channel
}

pub async fn first_message_is_stored_whole<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000001");
    store.put_channel(&channel()).await.unwrap();
    let context = store.load_inbound_context(&key).await.unwrap();
    assert_eq!(context.customer, None);
    assert_eq!(context.channel, Some(channel()));

    let decision = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.A1", now, "hola"),
        now,
    );
    store.commit_inbound(&decision).await.unwrap();

    let context = store.load_inbound_context(&key).await.unwrap();
    assert_eq!(context.customer.as_ref(), Some(&decision.customer));
    let id = decision.conversation.conversation_id();
    let conversation = store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.status, ConversationStatus::Unanswered);
    assert_eq!(conversation.queue.as_str(), "sales");
    assert_eq!(
        store.list_messages(id).await.unwrap(),
        vec![decision.message.clone()]
    );
    let record = store
        .find_wamid(decision.message.wamid.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.conversation_id, id);
    assert_eq!(record.message_id, decision.message.id);
    assert_eq!(
        store.get_customer(&key).await.unwrap(),
        Some(decision.customer)
    );
}

pub async fn a_duplicate_wamid_is_refused_with_its_events<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000002");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.D1", now, "a"),
        now,
    );
    store.commit_inbound(&first).await.unwrap();
    // The same wamid again, decided on the current state.
    let customer_now = store.get_customer(&key).await.unwrap();
    let again = decide_inbound(
        customer_now.as_ref(),
        &channel(),
        text_message(&key, "wamid.D1", now, "a"),
        now,
    );
    match store.commit_inbound(&again).await {
        Err(CommitError::Duplicate { events }) => assert_eq!(events, first.events),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let id = first.conversation.conversation_id();
    assert_eq!(store.list_messages(id).await.unwrap().len(), 1);
    assert_eq!(store.get_customer(&key).await.unwrap().unwrap().version, 1);
}

pub async fn a_stale_customer_version_changes_nothing<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000003");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.S1", now, "a"),
        now,
    );
    store.commit_inbound(&first).await.unwrap();
    // Decided on "no customer yet": a second session must not open.
    let racing = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.S2", now, "b"),
        now,
    );
    assert!(matches!(
        racing.conversation,
        ConversationChange::Started(_)
    ));
    assert!(matches!(
        store.commit_inbound(&racing).await,
        Err(CommitError::Conflict)
    ));
    assert!(store
        .get_conversation(racing.conversation.conversation_id())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_wamid(racing.message.wamid.as_ref().unwrap())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.get_customer(&key).await.unwrap(),
        Some(first.customer.clone())
    );

    // Decided on the right version: joins the live session.
    let next = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.S3", now, "c"),
        now,
    );
    store.commit_inbound(&next).await.unwrap();
    // And the same decision again is now stale.
    let mut stale = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.S4", now, "d"),
        now,
    );
    stale.message.id = MessageId::generate();
    assert!(matches!(
        store.commit_inbound(&stale).await,
        Err(CommitError::Conflict)
    ));
    let id = first.conversation.conversation_id();
    assert_eq!(store.list_messages(id).await.unwrap().len(), 2);
}

pub async fn a_continued_conversation_must_have_its_expected_status<S: ConversationStore>(
    store: S,
) {
    let now = now_seconds();
    let key = customer("34600000004");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.C1", now, "a"),
        now,
    );
    store.commit_inbound(&first).await.unwrap();
    let mut next = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.C2", now, "b"),
        now,
    );
    if let ConversationChange::Continued {
        expected_status, ..
    } = &mut next.conversation
    {
        *expected_status = ConversationStatus::Active;
    }
    assert!(matches!(
        store.commit_inbound(&next).await,
        Err(CommitError::Conflict)
    ));
}

pub async fn unanswered_since_is_kept_and_last_inbound_moves<S: ConversationStore>(store: S) {
    let t0 = now_seconds();
    let key = customer("34600000005");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.U1", t0, "a"),
        t0,
    );
    store.commit_inbound(&first).await.unwrap();
    let t1 = t0 + Duration::minutes(5);
    let next = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.U2", t1, "b"),
        t1,
    );
    store.commit_inbound(&next).await.unwrap();
    let conversation = store
        .get_conversation(first.conversation.conversation_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.unanswered_since, Some(t0));
    assert_eq!(conversation.last_inbound_at, Some(t1));
    // Every adapter writes exactly the domain's update of a continued
    // conversation (`ConversationChange::apply`), nothing more or less.
    let ConversationChange::Started(mut expected) = first.conversation.clone() else {
        panic!("the first message starts a conversation")
    };
    next.conversation.apply(&mut expected);
    assert_eq!(conversation, expected);
    let transcript = store.list_messages(conversation.id).await.unwrap();
    let texts: Vec<_> = transcript
        .iter()
        .map(|m| m.content.text().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["a", "b"], "oldest first");
}

/// A message delivered late (a retried webhook, written before the latest)
/// moves neither the conversation's last inbound time nor its last change
/// back, in every store alike (`ConversationChange::apply`).
pub async fn a_late_message_moves_no_conversation_time_back<S: ConversationStore>(store: S) {
    let t0 = now_seconds();
    let key = customer("34600000015");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.L1", t0, "a"),
        t0,
    );
    store.commit_inbound(&first).await.unwrap();
    let t1 = t0 + Duration::minutes(5);
    let latest = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.L2", t1, "b"),
        t1,
    );
    store.commit_inbound(&latest).await.unwrap();
    let t2 = t1 + Duration::minutes(1);
    let late = decide_inbound(
        Some(&latest.customer),
        &channel(),
        text_message(&key, "wamid.L0", t0 - Duration::minutes(30), "z"),
        t2,
    );
    store.commit_inbound(&late).await.unwrap();
    let conversation = store
        .get_conversation(first.conversation.conversation_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.last_inbound_at, Some(t1));
    assert_eq!(conversation.updated_at, t2, "changed when handled");
    let ConversationChange::Started(mut expected) = first.conversation.clone() else {
        panic!("the first message starts a conversation")
    };
    latest.conversation.apply(&mut expected);
    late.conversation.apply(&mut expected);
    assert_eq!(conversation, expected);
}

pub async fn statuses_move_forward_only<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000006");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.O1", now, "a"),
        now,
    );
    store.commit_inbound(&first).await.unwrap();
    let outbound = wadesk_tests::outbound_hello(
        first.conversation.conversation_id(),
        "wamid.OUT1",
        now + Duration::seconds(1),
    );
    store.record_outbound(&key, &outbound).await.unwrap();
    assert!(matches!(
        store.record_outbound(&key, &outbound).await,
        Err(CommitError::Duplicate { .. })
    ));
    let record = store
        .find_wamid(outbound.wamid.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let context = store.load_status_context(&record).await.unwrap().unwrap();
    assert_eq!(context.message, outbound);
    assert_eq!(context.customer.as_ref().map(|c| c.version), Some(1));

    let mut delivered = outbound.clone();
    delivered.status = Some(DeliveryStatus::Delivered);
    store
        .commit_status(&delivered, Some(DeliveryStatus::Pending), None)
        .await
        .unwrap();
    // A writer that still believes it is pending loses.
    let mut sent = outbound.clone();
    sent.status = Some(DeliveryStatus::Sent);
    assert!(matches!(
        store
            .commit_status(&sent, Some(DeliveryStatus::Pending), None)
            .await,
        Err(CommitError::Conflict)
    ));
    let transcript = store.list_messages(outbound.conversation_id).await.unwrap();
    assert_eq!(
        transcript.last().unwrap().status,
        Some(DeliveryStatus::Delivered)
    );
}

/// The conversation's copy of its customer's window
/// (`Conversation::customer_window`), as both stores keep it: written by
/// every customer message, and by WhatsApp's early close (131047) with the
/// customer, bumping the conversation's version so a desk decision read
/// before cannot write the old copy back.
pub async fn the_live_conversation_keeps_the_customers_window<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000009");
    let first = decide_inbound(
        None,
        &channel(),
        text_message(&key, "wamid.W1", now, "a"),
        now,
    );
    store.commit_inbound(&first).await.unwrap();
    let id = first.conversation.conversation_id();
    let later = now + Duration::minutes(5);
    let second = decide_inbound(
        Some(&first.customer),
        &channel(),
        text_message(&key, "wamid.W2", later, "b"),
        later,
    );
    store.commit_inbound(&second).await.unwrap();
    let conversation = store.get_conversation(id).await.unwrap().unwrap();
    assert_ne!(first.customer.window, second.customer.window);
    assert_eq!(conversation.customer_window, second.customer.window);

    let outbound = wadesk_tests::outbound_hello(id, "wamid.OUTW", later + Duration::seconds(1));
    store.record_outbound(&key, &outbound).await.unwrap();
    let failed = wadesk_domain::StatusUpdate {
        wamid: outbound.wamid.clone().unwrap(),
        status: DeliveryStatus::Failed,
        at: later + Duration::seconds(2),
        error: Some(wadesk_domain::message::DeliveryError {
            code: 131047,
            title: "Re-engagement message".into(),
        }),
    };
    let stored = store.get_customer(&key).await.unwrap().unwrap();
    let wadesk_domain::StatusDecision::Apply {
        expected,
        message,
        customer: Some(closed),
        ..
    } = wadesk_domain::decide_status(&outbound, Some(&stored), &failed, failed.at)
    else {
        panic!("131047 closes the window")
    };
    store
        .commit_status(&message, expected, Some(&closed))
        .await
        .unwrap();
    let after = store.get_conversation(id).await.unwrap().unwrap();
    assert!(!after.customer_window.unwrap().is_open(failed.at));
    assert_eq!(after.customer_window, closed.customer.window);
    assert_eq!(after.version, conversation.version + 1);
}

/// The one version convention (`wadesk_domain::version`), as both stores
/// hold it: a write expecting the customer absent creates it at version 1
/// and only once; one expecting a version takes only that version, and its
/// customer gets the next one.
pub async fn save_customer_is_conditional<S: ConversationStore>(store: S) {
    let now = now_seconds();
    let key = customer("34600000007");
    let mut new = Customer::new(key.clone());
    new.profile_name = Some("Lucía".into());
    let created = CustomerChange::new(None, new);
    assert_eq!(created.expected_version, ExpectedVersion::Absent);
    assert_eq!(created.customer.version, 1);
    // Not stored yet: no version to match.
    let not_yet = CustomerChange {
        customer: created.customer.clone(),
        expected_version: ExpectedVersion::Exactly(0),
    };
    assert!(matches!(
        store.save_customer(&not_yet).await,
        Err(CommitError::Conflict)
    ));
    store.save_customer(&created).await.unwrap();
    assert_eq!(
        store.get_customer(&key).await.unwrap(),
        Some(created.customer.clone())
    );
    // Created once only.
    assert!(matches!(
        store.save_customer(&created).await,
        Err(CommitError::Conflict)
    ));

    let first = decide_inbound(
        Some(&created.customer),
        &channel(),
        text_message(&key, "wamid.V1", now, "a"),
        now,
    );
    assert_eq!(first.expected_customer_version, ExpectedVersion::Exactly(1));
    assert_eq!(first.customer.version, 2);
    store.commit_inbound(&first).await.unwrap();
    let mut next = first.customer.clone();
    next.armed_expiry = None;
    let change = CustomerChange::new(Some(&first.customer), next);
    assert_eq!(change.customer.version, 3);
    let stale = CustomerChange {
        customer: change.customer.clone(),
        expected_version: ExpectedVersion::Exactly(7),
    };
    assert!(matches!(
        store.save_customer(&stale).await,
        Err(CommitError::Conflict)
    ));
    let absent = CustomerChange {
        customer: change.customer.clone(),
        expected_version: ExpectedVersion::Absent,
    };
    assert!(matches!(
        store.save_customer(&absent).await,
        Err(CommitError::Conflict)
    ));
    store.save_customer(&change).await.unwrap();
    assert_eq!(
        store.get_customer(&key).await.unwrap(),
        Some(change.customer.clone())
    );
    assert!(matches!(
        store.save_customer(&change).await,
        Err(CommitError::Conflict)
    ));
}

/// Many first messages of one customer at once: one session, every message in it.
pub async fn racing_first_messages_open_one_session<S: ConversationStore + Outbox>(store: S) {
    let now = now_seconds();
    let key = customer("34600000008");
    let app = services(store, now);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let app = Arc::clone(&app);
        let msg = text_message(&key, &format!("wamid.R{n}"), now, "hi");
        tasks.spawn(async move { receive_message(&app, msg).await });
    }
    let mut conversations = std::collections::BTreeSet::new();
    while let Some(result) = tasks.join_next().await {
        match result.unwrap().unwrap() {
            InboundOutcome::Stored {
                conversation_id, ..
            } => {
                conversations.insert(conversation_id);
            }
            InboundOutcome::Duplicate { .. } => panic!("distinct wamids are not duplicates"),
        }
    }
    assert_eq!(conversations.len(), 1, "one live session per customer");
    let id = *conversations.first().unwrap();
    assert_eq!(app.store.list_messages(id).await.unwrap().len(), 8);
    // The events, committed with the messages: one start, one event per message.
    let committed = app.store.committed(id).await;
    let count = |kind: &str| committed.iter().filter(|e| e.type_name() == kind).count();
    assert_eq!(count("ConversationStarted"), 1);
    assert_eq!(count("MessageReceived"), 8);
    assert_eq!(app.timers.armed().len(), 1, "one window schedule");
}

/// The same wamid delivered many times at once is stored once.
pub async fn racing_duplicates_store_once<S: ConversationStore + Outbox>(store: S) {
    let now = now_seconds();
    let key = customer("34600000009");
    let app = services(store, now);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let app = Arc::clone(&app);
        let msg = text_message(&key, "wamid.SAME", now, "hi");
        tasks.spawn(async move { receive_message(&app, msg).await });
    }
    let (mut stored, mut duplicates) = (0, 0);
    let mut conversation = None;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap().unwrap() {
            InboundOutcome::Stored {
                conversation_id, ..
            } => {
                stored += 1;
                conversation = Some(conversation_id);
            }
            InboundOutcome::Duplicate { .. } => duplicates += 1,
        }
    }
    assert_eq!((stored, duplicates), (1, 7));
    let messages = app
        .store
        .list_messages(conversation.unwrap())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    // Committed once, with the one delivery that stored it.
    let committed = app.store.committed(conversation.unwrap()).await;
    let kinds: Vec<&str> = committed.iter().map(|e| e.type_name()).collect();
    assert_eq!(kinds, ["ConversationStarted", "MessageReceived"]);
}

macro_rules! contract_suite {
    ($adapter:ident, $make:expr) => {
        mod $adapter {

            #[tokio::test]
            async fn first_message_is_stored_whole() {
                super::first_message_is_stored_whole($make).await;
            }
            #[tokio::test]
            async fn a_duplicate_wamid_is_refused_with_its_events() {
                super::a_duplicate_wamid_is_refused_with_its_events($make).await;
            }
            #[tokio::test]
            async fn a_stale_customer_version_changes_nothing() {
                super::a_stale_customer_version_changes_nothing($make).await;
            }
            #[tokio::test]
            async fn a_continued_conversation_must_have_its_expected_status() {
                super::a_continued_conversation_must_have_its_expected_status($make).await;
            }
            #[tokio::test]
            async fn unanswered_since_is_kept_and_last_inbound_moves() {
                super::unanswered_since_is_kept_and_last_inbound_moves($make).await;
            }
            #[tokio::test]
            async fn a_late_message_moves_no_conversation_time_back() {
                super::a_late_message_moves_no_conversation_time_back($make).await;
            }
            #[tokio::test]
            async fn statuses_move_forward_only() {
                super::statuses_move_forward_only($make).await;
            }
            #[tokio::test]
            async fn the_live_conversation_keeps_the_customers_window() {
                super::the_live_conversation_keeps_the_customers_window($make).await;
            }
            #[tokio::test]
            async fn save_customer_is_conditional() {
                super::save_customer_is_conditional($make).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_first_messages_open_one_session() {
                super::racing_first_messages_open_one_session($make).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn racing_duplicates_store_once() {
                super::racing_duplicates_store_once($make).await;
            }
        }
    };
}

contract_suite!(embedded, wadesk_tests::embedded_store());
contract_suite!(dynamodb, wadesk_tests::dynamo_store(None).await);
