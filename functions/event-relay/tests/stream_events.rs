//! A DynamoDB stream event as Lambda delivers it (the fixture is the JSON of
//! a real one, filtered to inserted outbox items), parsed as the runtime does
//! and fed straight to the handler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use event_relay::{handle, StreamEvent};
use serde_json::{json, Value};
use wadesk_app::embedded::LocalEventBus;
use wadesk_app::{EventPublisher, PublishError};
use wadesk_domain::EventEnvelope;

const FIXTURE: &str = include_str!("fixtures/outbox_stream_event.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

/// As `lambda_runtime` hands the payload to the handler.
fn parse(raw: &Value) -> StreamEvent {
    serde_json::from_value(raw.clone()).unwrap()
}

fn sequence_numbers(raw: &Value) -> Vec<String> {
    raw["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned())
        .collect()
}

/// A bus that fails the `fail` next publishes, then takes everything.
#[derive(Clone, Default)]
struct FlakyBus {
    bus: LocalEventBus,
    fail: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

impl EventPublisher for FlakyBus {
    async fn publish(&self, events: &[EventEnvelope]) -> Result<(), PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(PublishError {
                failed: events.len(),
                total: events.len(),
                source: None,
            });
        }
        self.bus.publish(events).await
    }
}

fn types(bus: &LocalEventBus) -> Vec<String> {
    bus.published()
        .iter()
        .map(|e| e.type_name().to_owned())
        .collect()
}

#[tokio::test]
async fn a_real_stream_event_publishes_every_outbox_event_in_order() {
    let bus = FlakyBus::default();
    let response = handle(&bus, parse(&fixture())).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        types(&bus.bus),
        ["ChatReopened", "OfferTimedOut", "AgentStateChanged"]
    );
    // Both records' events fit one PutEvents request.
    assert_eq!(bus.calls.load(Ordering::SeqCst), 1);
    // The ids are the ones the commit wrote: a retry republishes the same ones.
    let ids: Vec<String> = bus
        .bus
        .published()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(ids[0], "5d0c3b47-2a1e-5f7b-8e43-9c1d2b6a7f10");
    // The answer is the batch item failures response Lambda reads.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": []})
    );
}

#[tokio::test]
async fn a_failed_publish_reports_the_first_record_so_lambda_retries_from_it() {
    let raw = fixture();
    let bus = FlakyBus::default();
    bus.fail.store(1, Ordering::SeqCst);
    let response = handle(&bus, parse(&raw)).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": sequence_numbers(&raw)[0]}]})
    );
    assert!(bus.bus.published().is_empty());
    // Lambda's retry of the same batch publishes it.
    let retry = handle(&bus, parse(&raw)).await;
    assert!(retry.batch_item_failures.is_empty());
    assert_eq!(bus.bus.published().len(), 3);
}

#[tokio::test]
async fn records_that_are_not_inserted_outbox_items_are_skipped() {
    // A broad mapping (no filter) would deliver every change of the table.
    let mut raw = fixture();
    let mut conversation = raw["Records"][0].clone();
    conversation["eventName"] = json!("MODIFY");
    conversation["dynamodb"]["NewImage"] = json!({
        "pk": {"S": "CONV#0b5cd1f2-6a4e-4d1b-9c57-3f0a8e2d41a7"}, "sk": {"S": "META"},
        "status": {"S": "reopened"}, "version": {"N": "7"}
    });
    conversation["dynamodb"]["SequenceNumber"] = json!("4421584400000000017450439090");
    let mut removed = raw["Records"][1].clone();
    removed["eventName"] = json!("REMOVE");
    removed["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("NewImage");
    removed["dynamodb"]["SequenceNumber"] = json!("4421584700000000017450439093");
    let records = raw["Records"].as_array_mut().unwrap();
    records.insert(0, conversation);
    records.push(removed);
    let bus = FlakyBus::default();
    let response = handle(&bus, parse(&raw)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(bus.bus.published().len(), 3);
}

#[tokio::test]
async fn unreadable_events_are_logged_and_acknowledged_and_the_records_after_them_relayed() {
    let mut raw = fixture();
    raw["Records"][0]["dynamodb"]["NewImage"]["events"] = json!({"S": "not json"});
    let bus = FlakyBus::default();
    let response = handle(&bus, parse(&raw)).await;
    // No retry can read them: reported, they would hold back the shard.
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(types(&bus.bus), ["OfferTimedOut", "AgentStateChanged"]);
}

#[tokio::test]
async fn a_record_without_a_sequence_number_is_acknowledged() {
    let mut raw = fixture();
    raw["Records"][0]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let bus = FlakyBus::default();
    let response = handle(&bus, parse(&raw)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(types(&bus.bus), ["OfferTimedOut", "AgentStateChanged"]);
}

#[tokio::test]
async fn a_publish_failure_after_unreadable_events_is_still_reported_from_its_group() {
    let mut raw = fixture();
    raw["Records"][0]["dynamodb"]["NewImage"]["events"] = json!({"S": "not json"});
    let bus = FlakyBus::default();
    bus.fail.store(1, Ordering::SeqCst);
    let response = handle(&bus, parse(&raw)).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": sequence_numbers(&raw)[1]}]})
    );
    assert!(bus.bus.published().is_empty());
}

#[tokio::test]
async fn events_on_a_wamid_item_or_a_message_are_relayed_like_an_outbox_items() {
    // An inbound message's events ride on its wamid item, a desk change's on
    // its first new message: the same `events` attribute, other keys. Items
    // of the same kinds without events (an outbound message's wamid item, a
    // message after the first) are skipped.
    let raw = fixture();
    let events_of = |index: usize| raw["Records"][index]["dynamodb"]["NewImage"]["events"].clone();
    let record = |index: usize, sequence: &str, image: Value| {
        let mut record = raw["Records"][index].clone();
        let keys = json!({"pk": image["pk"].clone(), "sk": image["sk"].clone()});
        record["dynamodb"]["Keys"] = keys;
        record["dynamodb"]["NewImage"] = image;
        record["dynamodb"]["SequenceNumber"] = json!(sequence);
        record
    };
    let inbound_wamid = json!({
        "pk": {"S": "WAMID#wamid.HBgLMzQ2MDAxMTEyMjIVAgASGBQzQTg"}, "sk": {"S": "WAMID"},
        "conversation_id": {"S": "0b5cd1f2-6a4e-4d1b-9c57-3f0a8e2d41a7"},
        "events": events_of(0)
    });
    let outbound_wamid = json!({
        "pk": {"S": "WAMID#wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI5QjE"}, "sk": {"S": "WAMID"},
        "conversation_id": {"S": "0b5cd1f2-6a4e-4d1b-9c57-3f0a8e2d41a7"}
    });
    let message = json!({
        "pk": {"S": "CONV#0b5cd1f2-6a4e-4d1b-9c57-3f0a8e2d41a7"},
        "sk": {"S": "MSG#2024-05-01T10:00:01.000000Z#7d1f0c52-2f7e-4f5e-9a7a-6b1c2d3e4f50"},
        "direction": {"S": "outbound"},
        "events": events_of(1), "events_version": {"N": "8"}
    });
    let second_message = json!({
        "pk": {"S": "CONV#0b5cd1f2-6a4e-4d1b-9c57-3f0a8e2d41a7"},
        "sk": {"S": "MSG#2024-05-01T10:00:01.000000Z#8e2a1d63-3a8f-4a6f-8b8b-7c2d3e4f5a61"},
        "direction": {"S": "outbound"}
    });
    let relayed = json!({"Records": [
        record(0, "4421584500000000017450439101", inbound_wamid),
        record(0, "4421584500000000017450439102", outbound_wamid),
        record(1, "4421584500000000017450439103", message),
        record(1, "4421584500000000017450439104", second_message),
    ]});
    let bus = FlakyBus::default();
    let response = handle(&bus, parse(&relayed)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        types(&bus.bus),
        ["ChatReopened", "OfferTimedOut", "AgentStateChanged"]
    );
}
