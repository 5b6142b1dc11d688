//! Poison never blocks, nothing is lost: a validly signed body, or an item of
//! one, that can never be used is answered 200 (WhatsApp stops retrying) and
//! kept with its reason; the rest of the batch is stored; only a failure to
//! keep it (or a transient store failure) answers 5xx, so WhatsApp retries.

use base64::Engine;
use serde_json::{json, Value};
use wadesk_app::embedded::{EmbeddedStore, LocalPoisonQueue};
use wadesk_app::{ConversationStore, DeskStore, KeepError, Poison, PoisonKeeper};
use wadesk_aws::SqsPoisonQueue;
use wadesk_domain::Wamid;
use wadesk_tests::{
    now_seconds, services, unique_name, TestServices, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID,
};
use wadesk_whatsapp::{signature, WebhookBuilder};
use webhook::{handle, WebhookSettings};

const SECRET: &str = "poison-app-secret";

async fn send<S: DeskStore, K: PoisonKeeper>(
    app: &TestServices<S>,
    poison: &K,
    body: &str,
) -> (u16, Value) {
    let settings = WebhookSettings::new(SECRET, "verify");
    let response = handle(
        app,
        poison,
        &settings,
        wadesk_tests::signed_webhook_post(SECRET, body),
    )
    .await;
    let status = response.status().as_u16();
    let answer = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, answer)
}

/// Three texts from three customers; the second's timestamp is not a time, so
/// it can never be stored.
fn batch_with_one_poison_item() -> String {
    let t = now_seconds().timestamp();
    let mut body = WebhookBuilder::new(PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER)
        .text("34622000001", "Ana", "one", "wamid.POISON1", t)
        .text("34622000002", "Luis", "two", "wamid.POISON2", t)
        .text("34622000003", "Eva", "three", "wamid.POISON3", t)
        .build();
    body["entry"][0]["changes"][0]["value"]["messages"][1]["timestamp"] = json!("yesterday");
    body.to_string()
}

async fn stored<S: ConversationStore>(app: &TestServices<S>, wamid: &str) -> bool {
    let wamid = Wamid::parse(wamid).unwrap();
    app.store.find_wamid(&wamid).await.unwrap().is_some()
}

/// The batch answered 200 with its first and third messages stored and its
/// second (`{wamid}2`) rejected and kept as poison.
async fn only_the_second_is_poison<S: DeskStore>(
    app: &TestServices<S>,
    status: u16,
    summary: &Value,
    wamid: &str,
) {
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (
            &summary["messages_stored"],
            &summary["rejected"],
            &summary["poison_kept"]
        ),
        (&json!(2), &json!(1), &json!(true)),
        "{summary}"
    );
    assert!(stored(app, &format!("{wamid}1")).await);
    assert!(stored(app, &format!("{wamid}3")).await);
    assert!(!stored(app, &format!("{wamid}2")).await);
}

/// A keeper that is down (the queue unreachable).
struct Unreachable;

impl PoisonKeeper for Unreachable {
    async fn keep(&self, _: &Poison) -> Result<(), KeepError> {
        Err(KeepError::new("the poison queue is unreachable"))
    }
}

#[tokio::test]
async fn a_signed_batch_with_one_poison_item_stores_the_others_and_keeps_it_with_its_reason() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let poison = LocalPoisonQueue::new();
    let body = batch_with_one_poison_item();

    let (status, summary) = send(&app, &poison, &body).await;

    only_the_second_is_poison(&app, status, &summary, "wamid.POISON").await;

    let kept = poison.kept();
    assert_eq!(kept.len(), 1);
    let kept = &kept[0];
    assert_eq!(kept.reason, "1 item(s) of the batch can never be stored");
    assert_eq!(kept.items.len(), 1);
    let item = &kept.items[0];
    assert_eq!(item.pointer, "/entry/0/changes/0/value/messages/1");
    assert_eq!(item.reason, "`timestamp` is missing or not a time");
    assert_eq!(item.item.as_ref().unwrap()["id"], "wamid.POISON2");
    // The body exactly as signed, with its signature: verifiable and replayable.
    assert_eq!(kept.body, body.as_bytes());
    let header = kept.signature.as_deref();
    assert!(signature::verify(SECRET.as_bytes(), &kept.body, header).is_ok());
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_webhook_is_taken_and_kept_with_its_reason() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let poison = LocalPoisonQueue::new();
    let cases = [
        ("{not json", "the body is not valid JSON"),
        ("[]", "the body is not a JSON object"),
        (
            r#"{"object":"page","entry":[]}"#,
            r#"`object` is "page", expected "whatsapp_business_account""#,
        ),
        (
            r#"{"object":"whatsapp_business_account"}"#,
            "`entry` is missing or not an array",
        ),
    ];
    for (body, reason) in cases {
        let (status, summary) = send(&app, &poison, body).await;
        assert_eq!(
            (status, &summary["poison_kept"]),
            (200, &json!(true)),
            "{body}"
        );
        let kept = poison.kept().pop().unwrap();
        assert!(kept.reason.starts_with(reason), "{body}: {}", kept.reason);
        assert!(kept.items.is_empty());
        assert_eq!(kept.body, body.as_bytes());
    }
    assert_eq!(poison.kept().len(), cases.len());
    assert!(app.store.conversations().is_empty());
}

#[tokio::test]
async fn a_clean_batch_keeps_nothing() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let poison = LocalPoisonQueue::new();
    let body = wadesk_whatsapp::text_message_body(
        PHONE_NUMBER_ID,
        DISPLAY_PHONE_NUMBER,
        "34622000009",
        "Ana",
        "hola",
        "wamid.CLEAN1",
        now_seconds().timestamp(),
    )
    .to_string();
    let (status, summary) = send(&app, &poison, &body).await;
    assert_eq!((status, &summary["poison_kept"]), (200, &json!(false)));
    assert!(poison.kept().is_empty());
}

#[tokio::test]
async fn when_poison_cannot_be_kept_the_answer_is_5xx_so_whatsapp_retries() {
    let app = services(EmbeddedStore::new(), now_seconds());

    let (status, answer) = send(&app, &Unreachable, "{not json").await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (503, &json!("unavailable"))
    );

    // The storable items are stored meanwhile; WhatsApp's retry finds them
    // stored and keeps the poison once the queue is back.
    let body = batch_with_one_poison_item();
    let (status, _) = send(&app, &Unreachable, &body).await;
    assert_eq!(status, 503);
    assert!(stored(&app, "wamid.POISON1").await);
    assert!(stored(&app, "wamid.POISON3").await);

    let poison = LocalPoisonQueue::new();
    let (status, summary) = send(&app, &poison, &body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (&summary["duplicates"], &summary["poison_kept"]),
        (&json!(2), &json!(true))
    );
    assert_eq!(poison.kept().len(), 1);
}

/// The SQS adapter on moto: the message is the record, with the reason, the
/// item and the body (base64) exactly as signed.
#[tokio::test]
async fn the_sqs_poison_queue_holds_the_record_with_its_reason() {
    let (sqs, url) = wadesk_tests::sqs_queue("wadesk-poison").await;
    let app = services(EmbeddedStore::new(), now_seconds());
    let body = batch_with_one_poison_item();

    let (status, summary) = send(&app, &SqsPoisonQueue::new(sqs.clone(), &url), &body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["messages_stored"], 2);

    let record = wadesk_tests::the_only_sqs_record(&sqs, &url).await;
    assert_eq!(record["source"], "wadesk-webhook");
    assert_eq!(
        record["reason"],
        "1 item(s) of the batch can never be stored"
    );
    assert_eq!(
        record["items"][0]["pointer"],
        "/entry/0/changes/0/value/messages/1"
    );
    assert_eq!(
        record["items"][0]["reason"],
        "`timestamp` is missing or not a time"
    );
    assert_eq!(record["items"][0]["item"]["id"], "wamid.POISON2");
    assert_eq!(record["body_truncated"], false);
    assert_eq!(record["body_bytes"], body.len());
    let kept = base64::engine::general_purpose::STANDARD
        .decode(record["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(kept, body.as_bytes());
    assert!(signature::verify(SECRET.as_bytes(), &kept, record["signature"].as_str()).is_ok());
}

/// A body larger than the queue's message size keeps its first part, with
/// the whole body's size and SHA-256 (and says so).
#[tokio::test]
async fn a_body_too_large_for_one_sqs_message_is_kept_truncated_and_says_so() {
    let (sqs, url) = wadesk_tests::sqs_queue("wadesk-poison").await;
    let app = services(EmbeddedStore::new(), now_seconds());
    let body = format!("{{not json {}", "x".repeat(20_000));
    let queue = SqsPoisonQueue::new(sqs.clone(), &url).with_max_message_bytes(4_096);

    let (status, _) = send(&app, &queue, &body).await;
    assert_eq!(status, 200);

    let received = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let text = received.messages()[0].body().unwrap();
    assert!(text.len() <= 4_096, "{}", text.len());
    let record: Value = serde_json::from_str(text).unwrap();
    assert_eq!(record["body_truncated"], true);
    assert_eq!(record["body_bytes"], body.len());
    let kept_bytes = usize::try_from(record["body_kept_bytes"].as_u64().unwrap()).unwrap();
    let kept = base64::engine::general_purpose::STANDARD
        .decode(record["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(kept.len(), kept_bytes);
    assert_eq!(kept, &body.as_bytes()[..kept_bytes]);
    use sha2::Digest;
    assert_eq!(
        record["body_sha256"],
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
}

/// SQS unreachable (no such queue): 5xx, WhatsApp retries, nothing lost.
#[tokio::test]
async fn a_poison_queue_that_refuses_the_message_answers_5xx() {
    let sqs = wadesk_tests::sqs_client().await;
    let url = format!(
        "{}/123456789012/{}",
        wadesk_tests::moto_endpoint(),
        unique_name("no-such-queue")
    );
    let app = services(EmbeddedStore::new(), now_seconds());
    let (status, _) = send(&app, &SqsPoisonQueue::new(sqs, url), "{not json").await;
    assert_eq!(status, 503);
}

/// DynamoDB on moto refuses an item over 400 KB: that message can never be
/// stored, so it is kept as poison and the batch's others are stored.
#[tokio::test]
async fn a_message_the_store_refuses_is_kept_and_the_others_stored() {
    let app = services(wadesk_tests::dynamo_store(None).await, now_seconds());
    let poison = LocalPoisonQueue::new();
    let t = now_seconds().timestamp();
    let huge = "x".repeat(450 * 1024);
    let body = WebhookBuilder::new(PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER)
        .text("34622000011", "Ana", "one", "wamid.HUGE1", t)
        .text("34622000012", "Luis", &huge, "wamid.HUGE2", t)
        .text("34622000013", "Eva", "three", "wamid.HUGE3", t)
        .build()
        .to_string();

    let (status, summary) = send(&app, &poison, &body).await;

    only_the_second_is_poison(&app, status, &summary, "wamid.HUGE").await;
    let kept = poison.kept().pop().unwrap();
    let item = &kept.items[0];
    assert_eq!(item.pointer, "/entry/0/changes/0/value/messages/1");
    assert!(
        item.reason.contains("the store refuses the item"),
        "{}",
        item.reason
    );
    assert_eq!(item.item.as_ref().unwrap()["id"], "wamid.HUGE2");
}
