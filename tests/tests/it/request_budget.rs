//! What an inbound message and a desk action cost in AWS requests, counted at
//! the SDK: the budget (`docs/product.md#94-request-budgets`) is at most 2
//! DynamoDB, 0 Scheduler and 0 EventBridge requests for a message on a live
//! session with an armed window (its events go to the outbox in its
//! transaction), 1 Scheduler request per new window, one `BatchGetItem` for a
//! whole webhook batch, and at most 2 DynamoDB reads before a desk action
//! writes.

use chrono::Duration;
use wadesk_app::inbound::{receive_message, receive_messages, InboundOutcome};
use wadesk_app::{App, ConversationStore, DeskStore};
use wadesk_aws::{EventBridgePublisher, EventBridgeScheduler, RequestCounter};
use wadesk_domain::ManualClock;
use wadesk_tests::{customer, now_seconds, text_message, unique_name};

use crate::aws_adapters::{schedule_group, ROLE_ARN, TARGET_ARN};

#[tokio::test]
async fn inbound_messages_stay_within_the_request_budget() {
    let counter = RequestCounter::new();
    let store = wadesk_tests::dynamo_store(Some(&counter)).await;
    let scheduler_client = wadesk_tests::scheduler_client(Some(&counter)).await;
    let group = schedule_group(&scheduler_client).await;
    let events_client = wadesk_tests::eventbridge_client(Some(&counter)).await;
    let bus = unique_name("wadesk-bus");
    events_client
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let t0 = now_seconds();
    let clock = ManualClock::frozen_at(t0);
    let app = App::new(
        store,
        EventBridgePublisher::new(events_client, &bus),
        EventBridgeScheduler::new(scheduler_client, &group, TARGET_ARN, ROLE_ARN),
        clock.clone(),
        wadesk_app::embedded::LocalWhatsApp::new(clock.clone()),
    );
    let key = customer("34644000001");

    counter.reset();
    receive_message(&app, text_message(&key, "wamid.BUDGET1", t0, "first"))
        .await
        .unwrap();
    let first = (
        counter.count("dynamodb"),
        counter.count("scheduler"),
        counter.count("eventbridge"),
    );
    println!(
        "first message of a new window: dynamodb={} scheduler={} eventbridge={} {:?}",
        first.0,
        first.1,
        first.2,
        counter.requests()
    );
    assert_eq!(
        first.1, 1,
        "a new window costs exactly one Scheduler request"
    );
    assert!(first.0 <= 2);
    assert_eq!(first.2, 0, "the events are committed, not published");

    clock.advance(Duration::minutes(10));
    counter.reset();
    receive_message(
        &app,
        text_message(&key, "wamid.BUDGET2", t0 + Duration::minutes(10), "second"),
    )
    .await
    .unwrap();
    let second = (
        counter.count("dynamodb"),
        counter.count("scheduler"),
        counter.count("eventbridge"),
    );
    println!("message on a live session with an armed window: dynamodb={} scheduler={} eventbridge={} {:?}", second.0, second.1, second.2, counter.requests());
    assert!(
        second.0 <= 2,
        "at most 2 DynamoDB requests, got {}",
        second.0
    );
    assert_eq!(
        second.1, 0,
        "no Scheduler request while a schedule is armed"
    );
    assert_eq!(second.2, 0, "no EventBridge request on the request path");

    // A duplicate delivery: one read, one refused transaction (which returns the
    // recorded events), no Scheduler call.
    counter.reset();
    receive_message(
        &app,
        text_message(&key, "wamid.BUDGET2", t0 + Duration::minutes(10), "second"),
    )
    .await
    .unwrap();
    println!(
        "duplicate delivery: dynamodb={} scheduler={}",
        counter.count("dynamodb"),
        counter.count("scheduler")
    );
    assert_eq!(counter.count("scheduler"), 0);
    assert_eq!(counter.count("eventbridge"), 0, "nothing to republish");
    assert!(counter.count("dynamodb") <= 3);

    // A webhook batch: its customers are read at once (one BatchGetItem),
    // then each message is one transaction.
    let keys: Vec<_> = (2..=4)
        .map(|n| customer(&format!("3464400000{n}")))
        .collect();
    let batch = |tag: &str, at| {
        keys.iter()
            .map(|key| text_message(key, &format!("wamid.BUDGET{tag}{}", key.wa_id), at, "hi"))
            .collect::<Vec<_>>()
    };
    receive_messages(&app, batch("A", t0 + Duration::minutes(10)))
        .await
        .unwrap();
    clock.advance(Duration::minutes(1));
    counter.reset();
    let outcomes = receive_messages(&app, batch("B", t0 + Duration::minutes(11)))
        .await
        .unwrap();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Ok(InboundOutcome::Stored { .. }))));
    assert_eq!(
        counter.requests(),
        [
            "dynamodb:BatchGetItem",
            "dynamodb:TransactWriteItems",
            "dynamodb:TransactWriteItems",
            "dynamodb:TransactWriteItems",
        ],
        "a batch of 3 armed-window messages"
    );
}

/// The webhook on a customer's first message when an agent is available:
/// the customer and channel read, the directory read, the window and the
/// offer time-out armed, and one transaction that stores the message with
/// the conversation already offered (no second write of the conversation,
/// no outbox item, no reads after the commit). The next message, on the
/// live session with its window armed: one read, one transaction.
#[tokio::test]
async fn the_webhook_offers_a_new_conversation_in_the_transaction_that_stores_it() {
    const SECRET: &str = "budget-secret";
    let counter = RequestCounter::new();
    let store = wadesk_tests::dynamo_store(Some(&counter)).await;
    let scheduler_client = wadesk_tests::scheduler_client(Some(&counter)).await;
    let group = schedule_group(&scheduler_client).await;
    let events_client = wadesk_tests::eventbridge_client(Some(&counter)).await;
    let t0 = now_seconds();
    let clock = ManualClock::frozen_at(t0);
    let app = App::new(
        store,
        EventBridgePublisher::new(events_client, unique_name("wadesk-bus")),
        EventBridgeScheduler::new(scheduler_client, &group, TARGET_ARN, ROLE_ARN),
        clock.clone(),
        wadesk_app::embedded::LocalWhatsApp::new(clock.clone()),
    );
    let ana = wadesk_domain::AgentId::parse("ana").unwrap();
    wadesk_tests::hire_agent(&app, &ana, "Ana", 3).await;
    wadesk_app::desk::set_state(&app, &ana, wadesk_domain::AgentState::Available)
        .await
        .unwrap();
    let settings = webhook::WebhookSettings::new(SECRET, "verify");
    let poison = wadesk_app::embedded::LocalPoisonQueue::new();
    let deliver = |wamid: &str, at: chrono::DateTime<chrono::Utc>| {
        let body = wadesk_whatsapp::text_message_body(
            wadesk_tests::PHONE_NUMBER_ID,
            wadesk_tests::DISPLAY_PHONE_NUMBER,
            "34644000009",
            "Lucía",
            "hola",
            wamid,
            at.timestamp(),
        );
        wadesk_tests::signed_webhook_post(SECRET, &body.to_string())
    };

    counter.reset();
    let answer = webhook::handle(&app, &poison, &settings, deliver("wamid.RBNEW1", t0)).await;
    assert_eq!(answer.status(), 200);
    let requests = counter.requests();
    println!("new window, offered: {requests:?}");
    assert_eq!(
        requests,
        [
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "scheduler:CreateSchedule",
            "scheduler:CreateSchedule",
            "dynamodb:TransactWriteItems",
        ],
        "a new window whose conversation is offered at once"
    );
    let customer = app
        .store
        .get_customer(&customer("34644000009"))
        .await
        .unwrap();
    let id = customer.and_then(|c| c.live).unwrap().conversation_id;
    let conversation = app.store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.offered_to, Some(ana.clone()));
    assert_eq!(app.store.get_agent(&ana).await.unwrap().unwrap().load, 1);

    clock.advance(Duration::minutes(1));
    counter.reset();
    let at = t0 + Duration::minutes(1);
    let answer = webhook::handle(&app, &poison, &settings, deliver("wamid.RBNEW2", at)).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        counter.requests(),
        ["dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"],
        "a message on the live session, its window armed"
    );
}

/// `POST {path}` with a JSON body as `sub`, as API Gateway hands it over.
fn post(path: &str, sub: &str, body: serde_json::Value) -> lambda_http::Request {
    const SECRET: &[u8] = b"request-budget-secret";
    let token = wadesk_local_runner::auth::mint(SECRET, sub, "agent", 600).unwrap();
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(body.to_string()))
        .unwrap();
    wadesk_local_runner::auth::authorize(request, SECRET)
}

/// The DynamoDB reads a request made before its first write. Counted
/// one by one: two reads sent at once would count as two round trips.
fn reads_before_writes(requests: &[String]) -> Vec<&str> {
    const READS: [&str; 3] = [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
    ];
    requests
        .iter()
        .map(String::as_str)
        .take_while(|r| READS.contains(r))
        .collect()
}

/// An agent's text to a conversation they own, on a cold instance as on a
/// warm one: the caller with the conversation in one read (the text is
/// decided on the conversation's copy of the customer's window, so neither
/// the customer nor the other agents are read), the transaction that records
/// it pending, the Graph API call, then its wamid recorded in two single
/// writes sent side by side (the wamid item, the message: one round trip, in
/// no set order, sorted here); nothing else sequential.
const TEXT: [&str; 4] = [
    "dynamodb:BatchGetItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// A supervisor's note (decided on the customer and the conversation's
/// agents too) on a warm instance, one that committed an action on the
/// conversation before: the caller, the conversation, its customer and
/// agents in one read, then the transaction.
const WARM_NOTE: [&str; 2] = ["dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"];

/// The same when the instance's hint misses an agent the conversation names
/// (a change made on another instance): that agent is read after.
const COLD_NOTE: [&str; 3] = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:TransactWriteItems",
];

/// A text's requests with the last two, `record_sent`'s writes sent side by
/// side, in sorted order.
fn side_by_side_sorted(mut requests: Vec<String>) -> Vec<String> {
    let start = requests.len().saturating_sub(2);
    requests[start..].sort();
    requests
}

type Instance = std::sync::Arc<wadesk_tests::TestServices<wadesk_aws::DynamoStore>>;

/// One answer of the API, with the AWS requests it made.
struct Answer {
    status: lambda_http::http::StatusCode,
    requests: Vec<String>,
    body: String,
}

/// A desk on moto for the desk actions' budgets: the default queue with a
/// wrap-up reason, a channel with a push template, a bot's channel, agents
/// ana, bob and cleo (available), supervisor sue, bot botty, and one
/// customer's conversation, waiting.
struct Desk {
    counter: RequestCounter,
    app: Instance,
    key: wadesk_domain::CustomerKey,
    id: wadesk_domain::ConversationId,
    queue: wadesk_domain::QueueId,
    bot_number: wadesk_domain::PhoneNumberId,
}

impl Desk {
    /// Requests go through `app`, an instance with `hints`.
    async fn new(hints: wadesk_app::desk::SnapshotHints) -> Self {
        use wadesk_app::desk as service;
        use wadesk_app::{ConversationStore, DeskStore};
        use wadesk_domain::{
            Agent, AgentChange, AgentId, AgentState, Channel, PhoneNumberId, QueueId, Role,
            TemplateRef,
        };

        let counter = RequestCounter::new();
        let store = wadesk_tests::dynamo_store(Some(&counter)).await;
        let t0 = now_seconds();
        let app = wadesk_tests::services(store, t0);
        let app = std::sync::Arc::new((*app).clone().with_snapshot_hints(hints));
        let queue = QueueId::default_queue();
        wadesk_tests::open_default_queue(&app.store).await;
        let key = customer("34644100001");
        let mut channel = Channel::unconfigured(key.phone_number_id.clone(), "+1 555 0100".into());
        channel.push_template = Some(TemplateRef {
            name: "follow_up".into(),
            language: "en".into(),
        });
        app.store.put_channel(&channel).await.unwrap();
        // A second number run by a bot, for the hand-off.
        let bot_number = PhoneNumberId::parse("106540352242923").unwrap();
        let mut bot_channel = Channel::unconfigured(bot_number.clone(), "+1 555 0101".into());
        bot_channel.bot = true;
        app.store.put_channel(&bot_channel).await.unwrap();
        for (name, role) in [
            ("ana", Role::Agent),
            ("bob", Role::Agent),
            ("cleo", Role::Agent),
            ("sue", Role::Supervisor),
            ("botty", Role::Bot),
        ] {
            let id = AgentId::parse(name).unwrap();
            let agent = Agent::new(id.clone(), name.into(), role, vec![queue.clone()], 5, t0);
            app.store
                .save_agent(&AgentChange::new(None, agent))
                .await
                .unwrap();
            if role == Role::Agent {
                service::set_state(&*app, &id, AgentState::Available)
                    .await
                    .unwrap();
            }
        }
        let InboundOutcome::Stored {
            conversation_id: id,
            ..
        } = receive_message(&*app, text_message(&key, "wamid.RB1", t0, "hello"))
            .await
            .unwrap()
        else {
            panic!("not stored")
        };
        Self {
            counter,
            app,
            key,
            id,
            queue,
            bot_number,
        }
    }

    /// Another instance of the same function: the same table, hints of its own.
    fn instance(&self, hints: wadesk_app::desk::SnapshotHints) -> Instance {
        std::sync::Arc::new((*self.app).clone().with_snapshot_hints(hints))
    }

    /// `POST /conversations/{id}/{action}` on the desk's conversation.
    async fn act(&self, on: &Instance, sub: &str, action: &str, body: serde_json::Value) -> Answer {
        let path = format!("/conversations/{}/{action}", self.id);
        self.post(on, sub, &path, body).await
    }

    /// `POST {path}` as `sub` through instance `on`, its requests counted.
    async fn post(&self, on: &Instance, sub: &str, path: &str, body: serde_json::Value) -> Answer {
        let request = post(path, sub, body);
        self.counter.reset();
        let response = if agent_api::reopen_serves(path) {
            agent_api::handle_surface(&**on, request, agent_api::Surface::Reopen).await
        } else {
            agent_api::handle(&**on, request).await
        };
        Answer {
            status: response.status(),
            requests: self.counter.requests(),
            body: String::from_utf8_lossy(response.body()).into_owned(),
        }
    }

    /// `sub`'s `text` posted to `action` (messages, notes), which must be
    /// created (201); its requests.
    async fn created(&self, on: &Instance, sub: &str, action: &str, text: &str) -> Vec<String> {
        let answer = self
            .act(on, sub, action, serde_json::json!({ "text": text }))
            .await;
        assert_eq!(
            answer.status,
            lambda_http::http::StatusCode::CREATED,
            "{sub}'s {action}: {}",
            answer.body
        );
        answer.requests
    }

    /// `sub`'s text, which must be sent; its requests.
    async fn text(&self, on: &Instance, sub: &str, text: &str) -> Vec<String> {
        side_by_side_sorted(self.created(on, sub, "messages", text).await)
    }

    /// `sub`'s note, which must be kept; its requests.
    async fn note(&self, on: &Instance, sub: &str, text: &str) -> Vec<String> {
        self.created(on, sub, "notes", text).await
    }

    /// `sub`'s action, which must succeed (200).
    async fn ok(&self, on: &Instance, sub: &str, action: &str, body: serde_json::Value) {
        let answer = self.act(on, sub, action, body).await;
        assert_eq!(
            answer.status,
            lambda_http::http::StatusCode::OK,
            "{sub}'s {action}: {}",
            answer.body
        );
    }

    /// The texts agents sent on the conversation: each recorded with its wamid.
    async fn sent_texts(&self) -> Vec<String> {
        use wadesk_app::ConversationStore;
        let messages = self.app.store.list_messages(self.id).await.unwrap();
        messages
            .iter()
            .filter(|m| m.direction == wadesk_domain::Direction::Outbound)
            .map(|m| {
                assert!(m.wamid.is_some(), "not recorded as sent: {m:?}");
                m.content.text().unwrap_or_default().to_owned()
            })
            .collect()
    }
}

/// Every desk action through the agent API (and reopen and the push through
/// the reopen function) reads the caller, the conversation, its customer and
/// agents in at most 2 DynamoDB round trips before it writes
/// (`docs/product.md#94-request-budgets`); the requests of each, and the
/// agent's text (after a take on the same instance) last.
async fn desk_actions_budget(hints: wadesk_app::desk::SnapshotHints) -> Vec<String> {
    use lambda_http::http::StatusCode;
    use serde_json::json;
    use wadesk_domain::{CustomerKey, WaId};

    let desk = Desk::new(hints).await;
    let (app, key, id) = (&desk.app, &desk.key, desk.id);
    let t0 = wadesk_domain::Clock::now(&app.clock);
    let (a, b) = ("ana".to_owned(), "bob".to_owned());

    let conversation = |action: &str| format!("/conversations/{id}/{action}");
    let steps: Vec<(&str, String, serde_json::Value, StatusCode)> = vec![
        (a.as_str(), conversation("take"), json!({}), StatusCode::OK),
        (
            a.as_str(),
            conversation("messages"),
            json!({"text": "Hi, how can I help?"}),
            StatusCode::CREATED,
        ),
        (
            "sue",
            conversation("notes"),
            json!({"text": "VIP"}),
            StatusCode::CREATED,
        ),
        (
            a.as_str(),
            conversation("conference"),
            json!({"agent": b}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("conference/accept"),
            json!({}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("conference/exit"),
            json!({}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
        (
            a.as_str(),
            conversation("conference"),
            json!({"agent": b}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("conference/accept"),
            json!({}),
            StatusCode::OK,
        ),
        (
            a.as_str(),
            conversation("conference/end"),
            json!({}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
        (
            a.as_str(),
            conversation("transfer"),
            json!({"agent": b}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("accept"),
            json!({}),
            StatusCode::OK,
        ),
        (
            a.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
        (b.as_str(), conversation("end"), json!({}), StatusCode::OK),
        (
            b.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
        (b.as_str(), conversation("done"), json!({}), StatusCode::OK),
        // To the finished conversation inside the window: reopen, then send.
        (
            b.as_str(),
            conversation("messages"),
            json!({"text": "One more thing"}),
            StatusCode::CREATED,
        ),
        // The customer answers (not measured): active again.
        ("customer", String::new(), json!(null), StatusCode::OK),
        (b.as_str(), conversation("end"), json!({}), StatusCode::OK),
        (
            b.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
        (
            b.as_str(),
            conversation("reopen"),
            json!({}),
            StatusCode::OK,
        ),
        ("customer", String::new(), json!(null), StatusCode::OK),
        (b.as_str(), conversation("end"), json!({}), StatusCode::OK),
        (
            b.as_str(),
            conversation("wrap-up"),
            json!({"reason": "Resolved"}),
            StatusCode::OK,
        ),
    ];
    let mut measured = Vec::new();
    for (n, (sub, path, body, expected)) in steps.into_iter().enumerate() {
        if sub == "customer" {
            let reply = text_message(key, &format!("wamid.RBR{n}"), t0, "thanks");
            receive_message(&**app, reply).await.unwrap();
            continue;
        }
        let answer = desk.post(app, sub, &path, body).await;
        assert_eq!(answer.status, expected, "{path} as {sub}: {}", answer.body);
        measured.push((path, answer.requests));
    }
    // The push: after the window closed, on the finished conversation.
    app.clock.advance(Duration::hours(25));
    let path = conversation("push");
    let answer = desk.post(app, &b, &path, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    measured.push((path, answer.requests));
    // A bot hands its conversation over to a queue.
    let bot_customer =
        CustomerKey::new(desk.bot_number.clone(), WaId::parse("34644100002").unwrap());
    let bot_message = text_message(
        &bot_customer,
        "wamid.RB2",
        t0 + Duration::hours(25),
        "hello bot",
    );
    let InboundOutcome::Stored {
        conversation_id: bot_conversation,
        ..
    } = receive_message(&**app, bot_message).await.unwrap()
    else {
        panic!("not stored")
    };
    let path = format!("/conversations/{bot_conversation}/handoff");
    let answer = desk
        .post(
            app,
            "botty",
            &path,
            json!({"queue": desk.queue.to_string()}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    measured.push((path, answer.requests));

    for (path, requests) in &measured {
        let reads = reads_before_writes(requests);
        println!("{path}: {} reads, then {requests:?}", reads.len());
        assert!(
            reads.len() < requests.len(),
            "{path} wrote nothing: {requests:?}"
        );
        assert!(
            reads.len() <= 2,
            "{path}: {} DynamoDB round trips before the writes: {requests:?}",
            reads.len()
        );
    }
    side_by_side_sorted(measured.swap_remove(1).1)
}

#[tokio::test]
async fn desk_actions_read_in_at_most_two_round_trips_before_they_write_on_a_cold_instance() {
    let text = desk_actions_budget(wadesk_app::desk::SnapshotHints::disabled()).await;
    assert_eq!(text, TEXT, "an agent's text on a cold instance");
}

#[tokio::test]
async fn desk_actions_read_in_at_most_two_round_trips_before_they_write_on_a_warm_instance() {
    let text = desk_actions_budget(wadesk_app::desk::SnapshotHints::default()).await;
    assert_eq!(
        text, TEXT,
        "an agent's text after their take on the same instance"
    );
}

/// An owner's text reads once whatever the instance knows; a warm instance
/// reads a note's snapshot in one round trip, and when the conversation
/// names an agent its hint missed (a change made on another instance), it
/// reads that agent after, and the note is still kept.
#[tokio::test]
async fn a_warm_instance_reads_what_its_hint_missed_after_the_conversation() {
    use serde_json::json;
    use wadesk_app::desk::SnapshotHints;

    let desk = Desk::new(SnapshotHints::default()).await;
    let elsewhere = desk.instance(SnapshotHints::default());
    desk.ok(&elsewhere, "ana", "take", json!({})).await;
    assert_eq!(
        desk.text(&desk.app, "ana", "1").await,
        TEXT,
        "the owner's text on an instance that knew nothing of it"
    );
    assert_eq!(
        desk.note(&desk.app, "sue", "n1").await,
        WARM_NOTE,
        "a note after the text on the same instance"
    );

    // Transferred on another instance: the hint still names ana (she owes a
    // wrap-up), not bob.
    desk.ok(&elsewhere, "ana", "transfer", json!({"agent": "bob"}))
        .await;
    desk.ok(&elsewhere, "bob", "accept", json!({})).await;
    assert_eq!(
        desk.note(&desk.app, "sue", "n2").await,
        COLD_NOTE,
        "one read more for the new owner the hint missed"
    );
    assert_eq!(
        desk.note(&desk.app, "sue", "n3").await,
        WARM_NOTE,
        "and the next in one again"
    );

    // cleo joins on another instance: nothing here knew of her.
    desk.ok(&elsewhere, "bob", "conference", json!({"agent": "cleo"}))
        .await;
    desk.ok(&elsewhere, "cleo", "conference/accept", json!({}))
        .await;
    assert_eq!(
        desk.note(&desk.app, "sue", "n4").await,
        COLD_NOTE,
        "one read more for the agent the hint missed"
    );
    assert_eq!(
        desk.text(&desk.app, "bob", "2").await,
        TEXT,
        "the new owner's text"
    );
    assert_eq!(desk.sent_texts().await, ["1", "2"]);
}

/// A hint that no longer tells the truth (the conversation was transferred
/// on another instance) changes nothing of the answers: the old owner, a
/// stranger and a supervisor are answered on a warm instance exactly as on
/// a cold one, and the new owner's text is sent.
#[tokio::test]
async fn a_stale_hint_refuses_and_accepts_exactly_as_a_cold_instance() {
    use lambda_http::http::StatusCode;
    use serde_json::json;
    use wadesk_app::desk::SnapshotHints;

    let desk = Desk::new(SnapshotHints::default()).await;
    let elsewhere = desk.instance(SnapshotHints::default());
    let cold = desk.instance(SnapshotHints::disabled());
    desk.ok(&desk.app, "ana", "take", json!({})).await;
    desk.text(&desk.app, "ana", "1").await;
    desk.ok(&elsewhere, "ana", "transfer", json!({"agent": "bob"}))
        .await;
    desk.ok(&elsewhere, "bob", "accept", json!({})).await;

    for (sub, action, body) in [
        ("ana", "messages", json!({"text": "still mine?"})),
        ("cleo", "messages", json!({"text": "not mine"})),
        ("ana", "transfer", json!({"agent": "cleo"})),
        ("sue", "messages", json!({"text": "a supervisor"})),
    ] {
        let on_cold = desk.act(&cold, sub, action, body.clone()).await;
        let on_warm = desk.act(&desk.app, sub, action, body).await;
        assert!(
            on_cold.status.is_client_error(),
            "{sub}'s {action} is refused: {} {}",
            on_cold.status,
            on_cold.body
        );
        assert_eq!(
            (on_warm.status, &on_warm.body),
            (on_cold.status, &on_cold.body),
            "{sub}'s {action}: warm as cold"
        );
        assert!(
            reads_before_writes(&on_warm.requests).len() <= 2,
            "{sub}'s {action}: {:?}",
            on_warm.requests
        );
    }
    assert_eq!(
        desk.act(&desk.app, "bob", "messages", json!({"text": "2"}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(desk.sent_texts().await, ["1", "2"]);
}
