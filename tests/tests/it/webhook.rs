//! The webhook handler, fed real Cloud API payload shapes.

use chrono::Duration;
use lambda_http::{Body, Request};
use wadesk_app::embedded::{EmbeddedStore, LocalPoisonQueue};
use wadesk_app::ConversationStore;
use wadesk_domain::{DeliveryStatus, Message, MessageContent};
use wadesk_tests::{
    customer, now_seconds, services, TestServices, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID,
};
use wadesk_whatsapp::{signature, WebhookBuilder};
use webhook::{handle, WebhookSettings};

const SECRET: &str = "test-app-secret";

fn settings() -> WebhookSettings {
    WebhookSettings::new(SECRET, "test-verify-token")
}

fn post(body: &str, signature: Option<String>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhook")
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        builder = builder.header("x-hub-signature-256", signature);
    }
    builder.body(Body::Text(body.to_owned())).unwrap()
}

fn signed(body: &str) -> Request {
    post(
        body,
        Some(signature::sign(SECRET.as_bytes(), body.as_bytes())),
    )
}

async fn send(app: &TestServices<EmbeddedStore>, request: Request) -> (u16, serde_json::Value) {
    // What a signed body cannot be used for is kept: `webhook_poison.rs`.
    let response = handle(app, &LocalPoisonQueue::new(), &settings(), request).await;
    let status = response.status().as_u16();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (status, body)
}

fn one_text(wa_id: &str, wamid: &str, at: i64) -> String {
    wadesk_whatsapp::text_message_body(
        PHONE_NUMBER_ID,
        DISPLAY_PHONE_NUMBER,
        wa_id,
        "Ana",
        "hola",
        wamid,
        at,
    )
    .to_string()
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_401_and_stores_nothing() {
    let now = now_seconds();
    let app = services(EmbeddedStore::new(), now);
    let body = one_text("34611000001", "wamid.SIG1", now.timestamp());
    let wrong = signature::sign(b"another secret", body.as_bytes());
    for request in [
        post(&body, None),
        post(&body, Some(wrong)),
        post(&body, Some("sha256=zz".into())),
        post(
            &format!("{body} "),
            Some(signature::sign(SECRET.as_bytes(), body.as_bytes())),
        ),
    ] {
        let (status, answer) = send(&app, request).await;
        assert_eq!(status, 401);
        assert_eq!(answer["error"]["code"], "unauthenticated");
    }
    assert!(app.store.conversations().is_empty());
    assert!(app.events.published().is_empty());
    assert!(app
        .store
        .get_customer(&customer("34611000001"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn every_message_and_status_of_a_batch_is_processed_once() {
    let now = now_seconds();
    let app = services(EmbeddedStore::new(), now);
    let t = now.timestamp();
    let body = WebhookBuilder::new(PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER)
        .text("34611000002", "Ana", "one", "wamid.B1", t)
        .text("34611000003", "Luis", "two", "wamid.B2", t)
        .text("34611000002", "Ana", "three", "wamid.B3", t)
        .status("wamid.UNKNOWN", "34611000002", "delivered", t, None)
        .build()
        .to_string();
    let (status, summary) = send(&app, signed(&body)).await;
    assert_eq!(status, 200);
    assert_eq!(summary["messages_stored"], 3);
    assert_eq!(summary["statuses_ignored"], 1);
    let conversations = app.store.conversations();
    assert_eq!(conversations.len(), 2);
    let ana = conversations
        .iter()
        .find(|c| c.customer == customer("34611000002"))
        .unwrap();
    assert_eq!(app.store.list_messages(ana.id).await.unwrap().len(), 2);

    // The events were committed with the messages (the outbox), none published
    // in the request: two conversations started, three messages received.
    let committed = app.store.outbox();
    let count = |kind: &str| committed.iter().filter(|e| e.type_name() == kind).count();
    assert_eq!(count("ConversationStarted"), 2);
    assert_eq!(count("MessageReceived"), 3);
    assert!(app.events.published().is_empty());

    // WhatsApp delivers the same batch again: nothing new, no event.
    let (status, summary) = send(&app, signed(&body)).await;
    assert_eq!(status, 200);
    assert_eq!(summary["duplicates"], 3);
    assert_eq!(summary["messages_stored"], 0);
    assert_eq!(app.store.list_messages(ana.id).await.unwrap().len(), 2);
    assert_eq!(app.store.outbox(), committed);
    assert!(app.events.published().is_empty());
}

#[tokio::test]
async fn unknown_message_types_are_stored_as_such() {
    let now = now_seconds();
    let app = services(EmbeddedStore::new(), now);
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "34611000004"}],
            "messages": [{"from": "34611000004", "id": "wamid.HOLO", "timestamp": now.timestamp().to_string(),
                          "type": "hologram", "hologram": {"depth": 3}}]
        }}]}]
    })
    .to_string();
    let (status, _) = send(&app, signed(&body)).await;
    assert_eq!(status, 200);
    let conversation = &app.store.conversations()[0];
    let messages = app.store.list_messages(conversation.id).await.unwrap();
    assert_eq!(
        messages[0].content,
        MessageContent::Unsupported {
            whatsapp_type: "hologram".into()
        }
    );
}

async fn outbound_in_new_conversation(
    app: &TestServices<EmbeddedStore>,
    wa_id: &str,
    wamid: &str,
) -> Message {
    let now = app.clock_now();
    let (status, _) = send(
        app,
        signed(&one_text(wa_id, &format!("{wamid}.in"), now.timestamp())),
    )
    .await;
    assert_eq!(status, 200);
    let conversation = app.store.conversations()[0].clone();
    let message = wadesk_tests::outbound_hello(conversation.id, wamid, now + Duration::seconds(1));
    app.store
        .record_outbound(&customer(wa_id), &message)
        .await
        .unwrap();
    message
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}
impl ClockNow for TestServices<EmbeddedStore> {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use wadesk_domain::Clock;
        self.clock.now()
    }
}

fn status(wamid: &str, wa_id: &str, status: &str, at: i64, error: Option<(i64, &str)>) -> String {
    wadesk_whatsapp::status_body(
        PHONE_NUMBER_ID,
        DISPLAY_PHONE_NUMBER,
        wamid,
        wa_id,
        status,
        at,
        error,
    )
    .to_string()
}

#[tokio::test]
async fn a_delivery_status_never_moves_backward() {
    let now = now_seconds();
    let app = services(EmbeddedStore::new(), now);
    let sent = outbound_in_new_conversation(&app, "34611000005", "wamid.OUT5").await;
    let t = now.timestamp();
    for (name, expected) in [
        ("sent", DeliveryStatus::Sent),
        ("read", DeliveryStatus::Read),
        ("delivered", DeliveryStatus::Read),
        ("sent", DeliveryStatus::Read),
        ("failed", DeliveryStatus::Read),
    ] {
        let (code, _) = send(
            &app,
            signed(&status("wamid.OUT5", "34611000005", name, t, None)),
        )
        .await;
        assert_eq!(code, 200);
        let messages = app.store.list_messages(sent.conversation_id).await.unwrap();
        let stored = messages.iter().find(|m| m.id == sent.id).unwrap();
        assert_eq!(stored.status, Some(expected), "after {name}");
    }
}

#[tokio::test]
async fn reengagement_failure_closes_the_window_at_once() {
    let now = now_seconds();
    let app = services(EmbeddedStore::new(), now);
    outbound_in_new_conversation(&app, "34611000006", "wamid.OUT6").await;
    let key = customer("34611000006");
    assert!(app
        .store
        .get_customer(&key)
        .await
        .unwrap()
        .unwrap()
        .window_is_open(now));
    let body = status(
        "wamid.OUT6",
        "34611000006",
        "failed",
        now.timestamp(),
        Some((131047, "Re-engagement message")),
    );
    let (code, summary) = send(&app, signed(&body)).await;
    assert_eq!(code, 200);
    assert_eq!(summary["statuses_applied"], 1);
    let stored = app.store.get_customer(&key).await.unwrap().unwrap();
    assert!(!stored.window_is_open(now));
    assert!(app
        .events
        .published()
        .iter()
        .any(|e| e.type_name() == "WindowClosedEarly"));
}

#[tokio::test]
async fn subscription_check_answers_the_challenge_only_to_the_right_token() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let get = |token: &str| {
        use lambda_http::RequestExt;
        let query = std::collections::HashMap::from([
            ("hub.mode".to_owned(), vec!["subscribe".to_owned()]),
            ("hub.verify_token".to_owned(), vec![token.to_owned()]),
            ("hub.challenge".to_owned(), vec!["1158201444".to_owned()]),
        ]);
        lambda_http::http::Request::builder()
            .method("GET")
            .uri("/webhook")
            .body(Body::Empty)
            .unwrap()
            .with_query_string_parameters(query)
    };
    let ok = handle(
        &app,
        &LocalPoisonQueue::new(),
        &settings(),
        get("test-verify-token"),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body().as_ref(), b"1158201444");
    let refused = handle(&app, &LocalPoisonQueue::new(), &settings(), get("guess")).await;
    assert_eq!(refused.status(), 403);
}
