//! The webhook handler end to end on generated, correctly signed batches:
//! the parser's proptests (`shared/whatsapp/tests/proptests.rs`) stop at the
//! parsed batch; here hostile *values* in a well-formed body (any text, any
//! timestamp from year -262143 to 262142, odd ids, `#STOP` in any case,
//! statuses for unknown or inbound wamids, duplicates within the batch) go
//! through the decisions and the store. For every batch:
//!
//! - the answer is 200 (nothing in a well-formed body is worth a retry), and
//!   the handler never panics;
//! - each customer has at most one live conversation, mirrored on the customer;
//! - WhatsApp's redelivery of the same body changes nothing: same
//!   customers, conversations, transcripts and timers, and only events with
//!   ids already published.

use std::collections::BTreeSet;

use proptest::prelude::*;
use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::ConversationStore;
use wadesk_domain::{ConversationId, DomainEvent};
use wadesk_tests::{customer, now_seconds, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};
use wadesk_whatsapp::WebhookBuilder;

const SECRET: &str = "fuzz-secret";
const SENDERS: [&str; 3] = ["34677000001", "34677000002", "34677000003"];

#[derive(Debug, Clone)]
enum Item {
    Text {
        from: String,
        name: String,
        text: String,
        wamid: String,
        timestamp: i64,
    },
    Status {
        wamid: String,
        status: String,
        timestamp: i64,
        error: Option<(i64, String)>,
    },
}

fn wamid() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u8..6).prop_map(|n| format!("wamid.FUZZ{n}")),
        1 => "[ -~]{0,40}",
        1 => any::<String>(),
    ]
}

fn timestamp(now: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => now - 2 * 86_400..now + 3_600,
        1 => any::<i64>(),
        1 => Just(-8_334_601_228_800i64),
        1 => Just(8_210_266_876_799i64),
        1 => Just(0i64),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => prop::sample::select(vec!["#STOP", " #stop ", "#Stop\n", "#STOP!", "STOP", "#"])
            .prop_map(str::to_owned),
        1 => "[a-z ]{4000,4200}",
    ]
}

fn item(now: i64) -> impl Strategy<Value = Item> {
    let sender = prop_oneof![
        6 => prop::sample::select(SENDERS.to_vec()).prop_map(str::to_owned),
        1 => "[0-9]{0,25}",
        1 => any::<String>(),
    ];
    prop_oneof![
        4 => (sender, any::<String>(), text(), wamid(), timestamp(now)).prop_map(
            |(from, name, text, wamid, timestamp)| Item::Text { from, name, text, wamid, timestamp }
        ),
        1 => (
            wamid(),
            prop::sample::select(vec!["sent", "delivered", "read", "failed", "deleted", ""]).prop_map(str::to_owned),
            timestamp(now),
            prop::option::of((prop_oneof![Just(131_047i64), any::<i64>()], any::<String>())),
        )
            .prop_map(|(wamid, status, timestamp, error)| Item::Status { wamid, status, timestamp, error }),
    ]
}

fn body(items: &[Item]) -> String {
    let mut builder = WebhookBuilder::new(PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER);
    for item in items {
        builder = match item {
            Item::Text {
                from,
                name,
                text,
                wamid,
                timestamp,
            } => builder.text(from, name, text, wamid, *timestamp),
            Item::Status {
                wamid,
                status,
                timestamp,
                error,
            } => builder.status(
                wamid,
                SENDERS[0],
                status,
                *timestamp,
                error.as_ref().map(|(code, title)| (*code, title.as_str())),
            ),
        };
    }
    builder.build().to_string()
}

type FuzzApp = wadesk_tests::TestServices<EmbeddedStore>;

async fn deliver(app: &FuzzApp, body: &str) -> u16 {
    let request = wadesk_tests::signed_webhook_post(SECRET, body);
    let settings = webhook::WebhookSettings::new(SECRET, "verify");
    let status = Box::pin(webhook::handle(
        app,
        &wadesk_app::embedded::LocalPoisonQueue::new(),
        &settings,
        request,
    ))
    .await
    .status()
    .as_u16();
    // The events committed with the messages, relayed as the runner does.
    app.store.relay_outbox(&app.events).await.unwrap();
    status
}

/// Everything a redelivery must leave as it was.
async fn snapshot(app: &FuzzApp) -> String {
    let mut conversations = BTreeSet::new();
    for event in app.events.published() {
        let json = serde_json::to_value(&event).unwrap();
        if let Some(id) = json["detail"]["conversation_id"].as_str() {
            conversations.insert(id.to_owned());
        }
    }
    let mut out = String::new();
    for wa_id in SENDERS {
        let stored = app.store.get_customer(&customer(wa_id)).await.unwrap();
        out.push_str(&format!("{stored:?}\n"));
    }
    for id in conversations {
        let id: ConversationId = id.parse().unwrap();
        let conversation = app.store.get_conversation(id).await.unwrap();
        let messages = app.store.list_messages(id).await.unwrap();
        out.push_str(&format!("{conversation:?}\n{messages:?}\n"));
    }
    let mut timers: Vec<String> = app
        .timers
        .armed()
        .iter()
        .map(|t| format!("{t:?}"))
        .collect();
    timers.sort();
    out.push_str(&format!("{timers:?}\n"));
    out
}

async fn one_live_session_each(app: &FuzzApp) -> Result<(), TestCaseError> {
    // Relayed events may repeat (at least once): a set.
    let mut started: BTreeSet<(String, ConversationId)> = BTreeSet::new();
    for event in app.events.published() {
        if let DomainEvent::ConversationStarted {
            conversation_id,
            customer,
            ..
        } = &event.event
        {
            started.insert((customer.wa_id.to_string(), *conversation_id));
        }
    }
    for wa_id in SENDERS {
        let mut live = Vec::new();
        for (_, id) in started.iter().filter(|(w, _)| w == wa_id) {
            let conversation = app.store.get_conversation(*id).await.unwrap().unwrap();
            if conversation.status.is_live() {
                live.push((conversation.id, conversation.status));
            }
        }
        prop_assert!(live.len() <= 1, "{} has live sessions {:?}", wa_id, live);
        let stored = app.store.get_customer(&customer(wa_id)).await.unwrap();
        prop_assert_eq!(
            stored
                .and_then(|c| c.live)
                .map(|l| (l.conversation_id, l.status)),
            live.first().copied()
        );
    }
    Ok(())
}

async fn check(items: Vec<Item>) -> Result<(), TestCaseError> {
    let app = wadesk_tests::services(EmbeddedStore::new(), now_seconds());
    let body = body(&items);
    let status = deliver(&app, &body).await;
    prop_assert_eq!(status, 200, "{}", body);
    one_live_session_each(&app).await?;
    let before = snapshot(&app).await;
    let ids: BTreeSet<_> = app.events.published().iter().map(|e| e.id).collect();

    // WhatsApp redelivers the very same body.
    prop_assert_eq!(deliver(&app, &body).await, 200);
    prop_assert_eq!(
        snapshot(&app).await,
        before,
        "the redelivery changed the state"
    );
    let again: BTreeSet<_> = app.events.published().iter().map(|e| e.id).collect();
    prop_assert_eq!(again, ids, "the redelivery published a new event");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn any_signed_batch_is_stored_once_and_a_redelivery_changes_nothing(
        items in prop::collection::vec(item(now_seconds().timestamp()), 1..8)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(items))?;
    }
}
