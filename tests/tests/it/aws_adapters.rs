//! The Scheduler and EventBridge adapters, and store failures, against moto.

use chrono::Duration;
use wadesk_app::{EventPublisher, TimerScheduler};
use wadesk_aws::{DynamoStore, EventBridgePublisher, EventBridgeScheduler, RequestCounter};
use wadesk_domain::{DomainEvent, EventEnvelope, WindowFire};
use wadesk_tests::{customer, now_seconds, unique_name};

pub const TARGET_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-timers";
const DEAD_LETTER_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:wadesk-schedule-dlq";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/wadesk-scheduler";

/// A fresh table, event bus and schedule group on moto, named from `prefix`
/// (Scheduler only stores the target and role ARNs).
pub async fn fresh_resources(prefix: &str) -> wadesk_aws::config::Resources {
    let table = unique_name(prefix);
    wadesk_aws::dynamodb::create_table(&wadesk_tests::dynamodb_client(None).await, &table)
        .await
        .unwrap();
    let bus = unique_name(&format!("{prefix}-bus"));
    wadesk_tests::eventbridge_client(None)
        .await
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let group = schedule_group(&wadesk_tests::scheduler_client(None).await).await;
    wadesk_aws::config::Resources::new(table, bus, group, TARGET_ARN, ROLE_ARN)
}

pub async fn schedule_group(client: &aws_sdk_scheduler::Client) -> String {
    let group = unique_name("wadesk");
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .unwrap();
    group
}

#[tokio::test]
async fn a_window_schedule_is_one_time_deterministic_and_idempotent() {
    let client = wadesk_tests::scheduler_client(None).await;
    let group = schedule_group(&client).await;
    let scheduler = EventBridgeScheduler::new(client.clone(), &group, TARGET_ARN, ROLE_ARN)
        .with_dead_letter_queue(Some(DEAD_LETTER_ARN.to_owned()));
    let fire = WindowFire {
        customer: customer("34633000001"),
        armed_for: now_seconds() + Duration::hours(24),
    };
    scheduler.arm_window(&fire).await.unwrap();
    // A duplicate create (a retried webhook) is harmless.
    scheduler.arm_window(&fire).await.unwrap();

    let name = wadesk_app::ports::window_schedule_name(&fire.customer, fire.armed_for);
    let schedule = client
        .get_schedule()
        .group_name(&group)
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some(format!("at({})", fire.armed_for.format("%Y-%m-%dT%H:%M:%S")).as_str())
    );
    assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(
        schedule.action_after_completion(),
        Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete)
    );
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), TARGET_ARN);
    // A fire Scheduler cannot deliver after its retries is parked, not lost.
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(DEAD_LETTER_ARN)
    );
    let input: WindowFire = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, fire);
    let listed = client
        .list_schedules()
        .group_name(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.schedules().len(), 1);
}

#[tokio::test]
async fn events_are_published_in_chunks_of_ten() {
    let counter = RequestCounter::new();
    let client = wadesk_tests::eventbridge_client(Some(&counter)).await;
    let bus = unique_name("wadesk-bus");
    client.create_event_bus().name(&bus).send().await.unwrap();
    counter.reset();
    let publisher = EventBridgePublisher::new(client, &bus);
    let events: Vec<_> = (0..25)
        .map(|n| {
            EventEnvelope::new(
                DomainEvent::WindowClosedEarly {
                    customer: customer(&format!("3463300{n:04}")),
                    error_code: 131047,
                },
                now_seconds(),
            )
        })
        .collect();
    publisher.publish(&events).await.unwrap();
    assert_eq!(counter.count("eventbridge"), 3);
    publisher.publish(&[]).await.unwrap();
    assert_eq!(
        counter.count("eventbridge"),
        3,
        "nothing to publish costs nothing"
    );
}

#[tokio::test]
async fn a_store_failure_answers_5xx_so_whatsapp_retries() {
    let client = wadesk_tests::dynamodb_client(None).await;
    let store = DynamoStore::new(client, unique_name("no-such-table"));
    let app = wadesk_tests::services(store, now_seconds());
    let body = wadesk_whatsapp::text_message_body(
        wadesk_tests::PHONE_NUMBER_ID,
        wadesk_tests::DISPLAY_PHONE_NUMBER,
        "34633000002",
        "Ana",
        "hola",
        "wamid.FAIL",
        now_seconds().timestamp(),
    )
    .to_string();
    let request = wadesk_tests::signed_webhook_post("s", &body);
    let response = webhook::handle(
        &app,
        &wadesk_app::embedded::LocalPoisonQueue::new(),
        &webhook::WebhookSettings::new("s", "t"),
        request,
    )
    .await;
    assert_eq!(response.status(), 503);
    let text = String::from_utf8_lossy(response.body().as_ref()).to_string();
    assert!(text.contains("\"unavailable\""), "{text}");
    assert!(
        !text.to_lowercase().contains("resource"),
        "no internal error text: {text}"
    );
    assert!(app.events.published().is_empty());
}

/// An event that can never parse is parked in the function's failure queue
/// at once, in the shape of Lambda's on-failure records, with its reason.
#[tokio::test]
async fn an_unparseable_event_is_parked_in_the_failure_queue_on_sqs() {
    use wadesk_aws::parking::{parse_or_park, FailureQueue};

    let (sqs, url) = wadesk_tests::sqs_queue("wadesk-failures").await;
    let parking = FailureQueue::new(sqs.clone(), &url);
    let garbage = serde_json::json!({"customer": "nobody", "armed_for": 42});
    let parsed = parse_or_park::<wadesk_domain::TimerInput, _>(
        &parking,
        "arn:aws:lambda:us-east-1:123456789012:function:wadesk-timers",
        &garbage,
    )
    .await
    .unwrap();
    assert!(parsed.is_none(), "not handed to the handler");
    let record = wadesk_tests::the_only_sqs_record(&sqs, &url).await;
    assert_eq!(record["requestPayload"], garbage);
    assert_eq!(record["requestContext"]["condition"], "Unparseable");
    assert!(record["responsePayload"]["errorMessage"]
        .as_str()
        .unwrap()
        .starts_with("the event does not parse"));
}
