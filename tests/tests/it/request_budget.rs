//! What an inbound message costs in AWS requests, counted at the SDK: the
//! budget (`docs/product.md#94-request-budgets`) is at most 2 DynamoDB and 0
//! Scheduler requests for a message on a live session with an armed window, and
//! 1 Scheduler request per new window.

use chrono::Duration;
use wadesk_app::inbound::receive_message;
use wadesk_app::App;
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
        wadesk_app::embedded::LocalOutbox::new(clock.clone()),
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
    assert!(counter.count("dynamodb") <= 3);
}
