//! Every event-driven entry point tells a failure no retry can fix from one a
//! retry may (`wadesk_app::error::Retryable`): an event that does not parse
//! is acknowledged (parked in the failure queue, or logged), so Lambda does
//! not retry it into a dead-letter queue; a store out of reach is reported
//! (the invocation fails, or its batch item is named), so the event is
//! delivered again and nothing is lost. "Out of reach" here is a closed port
//! with the SDK's retries off: each store call fails at once, as in an
//! outage. The stream relay's cases are in `functions/event-relay/tests`.

use std::sync::Mutex;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::{json, Value};
use wadesk_app::embedded::LocalMedia;
use wadesk_aws::parking::{ParkError, Parking};
use wadesk_aws::DynamoStore;
use wadesk_domain::{
    ConversationId, DomainEvent, EventEnvelope, ManualClock, TimerInput, Wamid, WindowFire,
};
use wadesk_tests::{customer, embedded_store, now_seconds, services};

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:under-test";

/// A DynamoDB store nothing answers for.
async fn unreachable_store() -> DynamoStore {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "wadesk-out-of-reach")
}

/// The function's failure queue, in memory.
#[derive(Default)]
struct Parked(Mutex<Vec<Value>>);

impl Parking for Parked {
    async fn park(&self, record: String) -> Result<(), ParkError> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_str(&record).unwrap());
        Ok(())
    }
}

impl Parked {
    fn reasons(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|record| record["responsePayload"]["errorMessage"].to_string())
            .collect()
    }
}

/// `event` as an EventBridge rule hands it to its target.
fn delivered(event: &EventEnvelope) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": event.type_name(),
        "source": "wadesk",
        "account": "123456789012",
        "time": "2026-12-06T02:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event,
    })
}

#[tokio::test]
async fn a_timer_fire_that_does_not_parse_is_parked_and_one_the_store_fails_is_retried() {
    let now = now_seconds();
    let app = services(unreachable_store().await, now);
    let parked = Parked::default();

    let garbage = json!({"customer": "not a customer", "armed_for": 7});
    let answer = timers::invoke(&app, &parked, FUNCTION, &garbage)
        .await
        .unwrap();
    assert_eq!(answer.outcome, "parked");
    assert_eq!(parked.reasons().len(), 1);

    let fire = serde_json::to_value(TimerInput::Window(WindowFire {
        customer: customer("34611000951"),
        armed_for: now,
    }))
    .unwrap();
    let failed = timers::invoke(&app, &parked, FUNCTION, &fire).await;
    assert!(failed.is_err(), "Scheduler must retry it: {failed:?}");
    assert_eq!(
        parked.reasons().len(),
        1,
        "Lambda parks it after its retries"
    );

    // The same fire on a store that answers: nothing to expire, acknowledged.
    let answering = services(embedded_store(), now);
    let answer = timers::invoke(&answering, &parked, FUNCTION, &fire)
        .await
        .unwrap();
    assert_eq!(answer.outcome, "ignored");
}

#[tokio::test]
async fn an_opt_out_event_that_does_not_parse_is_parked_and_one_the_store_fails_is_retried() {
    let now = now_seconds();
    let app = services(unreachable_store().await, now);
    let parked = Parked::default();

    let garbage = json!({"detail-type": "CustomerOptedOut", "detail": {"not": "an event"}});
    let answer = opt_out::invoke(&app, &parked, FUNCTION, &garbage)
        .await
        .unwrap();
    assert_eq!(answer, "parked");
    assert_eq!(parked.reasons().len(), 1);

    let stop = EventEnvelope::new(
        DomainEvent::CustomerOptedOut {
            customer: customer("34611000952"),
            wamid: Wamid::parse("wamid.STOP1").unwrap(),
            conversation_id: None,
            session_status: None,
            owner: None,
        },
        now,
    );
    let failed = opt_out::invoke(&app, &parked, FUNCTION, &delivered(&stop)).await;
    assert!(failed.is_err(), "Lambda must retry it: {failed:?}");
    assert_eq!(parked.reasons().len(), 1);
}

#[tokio::test]
async fn an_erasure_queue_message_that_does_not_parse_is_acknowledged_and_one_the_store_fails_is_reported(
) {
    let now = now_seconds();
    let media = LocalMedia::new(ManualClock::following_wall_time());
    let expiry = EventEnvelope::new(
        DomainEvent::ConversationExpiryChanged {
            conversation_id: ConversationId::generate(),
            expires_at: Some(now),
        },
        now,
    );
    let batch = json!({"Records": [
        {"eventSource": "aws:sqs", "messageId": "garbage", "body": "not an event"},
        {"eventSource": "aws:sqs", "messageId": "expiry", "body": delivered(&expiry).to_string()},
    ]});

    let app = services(unreachable_store().await, now);
    let answer = erasure::invoke_payload(&app, &media, batch.clone()).await;
    // Only the message a retry may handle is delivered again; the other
    // would only end in the dead-letter queue.
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "expiry"}]})
    );

    let answering = services(embedded_store(), now);
    let answer = erasure::invoke_payload(&answering, &media, batch).await;
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"batchItemFailures": []})
    );

    // Neither of the function's two deliveries: acknowledged, not retried.
    let neither = json!({"Records": [{"eventSource": "aws:s3"}]});
    let answer = erasure::invoke_payload(&app, &media, neither).await;
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"batchItemFailures": []})
    );
}
