//! Real Lambda payloads: an API Gateway HTTP API (2.0) request with the JWT
//! authorizer's claims, parsed by lambda_http as on Lambda; and EventBridge
//! deliveries of wadesk events, as the rule hands them to the consumer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use analytics::{consume_delivery, handle, ConsumeError};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wadesk_app::analytics::{AnalyticsReader, Consumed};
use wadesk_app::embedded::{EmbeddedAnalytics, EmbeddedStore};
use wadesk_app::AnalyticsStore;
use wadesk_domain::{
    AgentId, Clock, ConversationId, CustomerKey, DomainEvent, EventEnvelope, ManualClock,
    PhoneNumberId, QueueId, WaId,
};

fn api_event(path: &str, query: &str, claims: Option<Value>) -> String {
    let mut context = json!({
        "accountId": "123456789012", "apiId": "api-id",
        "domainName": "id.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "id",
        "requestId": "id", "routeKey": format!("GET {path}"), "stage": "$default",
        "time": "01/May/2024:10:00:00 +0000", "timeEpoch": 1_714_557_600_000_i64,
        "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "192.0.2.1", "userAgent": "agent-ui"}
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"authorization": "Bearer x.y.z", "accept": "application/json"},
        "queryStringParameters": if params.is_empty() { Value::Null } else { params.into() },
        "requestContext": context,
        "isBase64Encoded": false
    })
    .to_string()
}

fn finished_at(at: DateTime<Utc>) -> EventEnvelope {
    EventEnvelope::new(
        DomainEvent::ConversationFinished {
            conversation_id: ConversationId::derived_from("lambda-events"),
            customer: CustomerKey::new(
                PhoneNumberId::parse("100000000000001").unwrap(),
                WaId::parse("34600000001").unwrap(),
            ),
            agent: AgentId::parse("ana").unwrap(),
            queue: QueueId::parse("sales").unwrap(),
            reason: "Resolved".into(),
            handling_seconds: Some(95),
        },
        at,
    )
}

/// The envelope EventBridge wraps a published event in (`detail` is our JSON).
fn delivery(detail_type: &str, detail: Value) -> EventBridgeEvent<Value> {
    let raw = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type, "source": "wadesk", "account": "123456789012",
        "time": "2024-05-01T09:10:00Z", "region": "eu-west-1", "resources": [],
        "detail": detail
    });
    serde_json::from_value(raw).unwrap()
}

#[tokio::test]
async fn an_eventbridge_delivery_counts_once_and_skips_what_is_not_counted() {
    let at: DateTime<Utc> = "2024-05-01T09:10:00Z".parse().unwrap();
    let event = finished_at(at);
    let store = EmbeddedAnalytics::new();
    let detail = serde_json::to_value(&event).unwrap();
    let first = consume_delivery(&store, delivery("ConversationFinished", detail.clone()));
    assert_eq!(first.await.unwrap(), Consumed::Counted);
    let again = consume_delivery(&store, delivery("ConversationFinished", detail));
    assert_eq!(again.await.unwrap(), Consumed::Duplicate);
    let other = consume_delivery(&store, delivery("MessageReceived", json!({"any": "thing"})));
    assert_eq!(other.await.unwrap(), Consumed::NotCounted);
    let broken = consume_delivery(
        &store,
        delivery("AgentReplied", json!({"type": "AgentReplied"})),
    );
    assert!(matches!(broken.await, Err(ConsumeError::Malformed { .. })));

    // And the API reads it back, from a real API Gateway request.
    let conversations = EmbeddedStore::new();
    let clock = ManualClock::frozen_at("2024-05-01T12:00:00Z".parse().unwrap());
    // The role comes from the directory, not from the token's claims.
    for (id, role) in [
        ("sue", wadesk_domain::Role::Supervisor),
        ("ana", wadesk_domain::Role::Agent),
    ] {
        let agent = wadesk_domain::Agent::new(
            AgentId::parse(id).unwrap(),
            id.into(),
            role,
            Vec::new(),
            0,
            clock.now(),
        );
        wadesk_app::DeskStore::save_agent(
            &conversations,
            &wadesk_domain::AgentChange::new(None, agent),
        )
        .await
        .unwrap();
    }
    let reader = AnalyticsReader {
        counters: &store,
        conversations: &conversations,
        clock: &clock,
        bootstrap_admins: &[],
    };
    let raw = api_event(
        "/analytics/dashboard",
        "from=2024-05-01&to=2024-05-01&agent=ana",
        Some(json!({"sub": "sue", "role": "supervisor", "iss": "https://auth.example.com/"})),
    );
    let response = handle(reader, lambda_http::request::from_str(&raw).unwrap()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "JSON answer"
    );
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    let day = &body["days"][0];
    assert_eq!(day["date"], "2024-05-01");
    assert_eq!(day["finished"], 1);
    assert_eq!(day["avg_handling_seconds"], 95.0);
    assert_eq!(day["avg_response_seconds"], Value::Null);
    assert_eq!(day["active"], 0);

    let raw = api_event("/analytics/chat-statistics", "", None);
    let response = handle(reader, lambda_http::request::from_str(&raw).unwrap()).await;
    assert_eq!(response.status(), 401);
    let raw = api_event(
        "/analytics/chat-statistics",
        "agent=bob",
        Some(json!({"sub": "ana"})),
    );
    let response = handle(reader, lambda_http::request::from_str(&raw).unwrap()).await;
    assert_eq!(response.status(), 403);
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
}

#[test]
fn every_routed_path_is_served() {
    for (method, path) in analytics::ROUTES {
        assert_eq!(*method, "GET");
        assert!(analytics::serves(path), "{path}");
    }
    assert!(!analytics::serves("/analyticsx"));
    assert!(!analytics::serves("/conversations"));
}

/// Refuses the first tally it is asked to write, once; writes at most 12
/// items at a time, so a batch of the analytics queue takes several.
struct RefusesFirstTally {
    inner: EmbeddedAnalytics,
    refused: std::sync::atomic::AtomicBool,
}

impl wadesk_app::AnalyticsStore for RefusesFirstTally {
    fn max_buckets(&self) -> usize {
        12
    }

    async fn claim(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Claimed, wadesk_app::StoreError> {
        self.inner.claim(tally).await
    }

    async fn commit(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::CommitError> {
        if !self.refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let refused = std::io::Error::other("refused by the test");
            return Err(wadesk_app::StoreError::new("commit_analytics", refused).into());
        }
        self.inner.commit(tally).await
    }

    async fn abandon(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::StoreError> {
        self.inner.abandon(tally).await
    }

    async fn hourly(
        &self,
        scope: &wadesk_domain::analytics::Scope,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, wadesk_domain::analytics::Counters)>, wadesk_app::StoreError>
    {
        self.inner.hourly(scope, first, last).await
    }
}

#[derive(Default)]
struct Parked(std::sync::Mutex<Vec<String>>);

impl wadesk_aws::parking::Parking for Parked {
    async fn park(&self, record: String) -> Result<(), wadesk_aws::parking::ParkError> {
        self.0.lock().unwrap().push(record);
        Ok(())
    }
}

/// Lambda's SQS event: each message's body an EventBridge event.
fn queue_batch(messages: &[(String, Value)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id, "receiptHandle": format!("handle-{id}"),
                "body": body.to_string(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1714557600000",
                               "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1714557600001"},
                "messageAttributes": {}, "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:wadesk-AnalyticsQueue",
                "awsRegion": "eu-west-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn finished_by(agent: &str, at: DateTime<Utc>, n: usize) -> EventEnvelope {
    EventEnvelope::new(
        DomainEvent::ConversationFinished {
            conversation_id: ConversationId::derived_from(&format!("batch-{agent}-{n}")),
            customer: CustomerKey::new(
                PhoneNumberId::parse("100000000000001").unwrap(),
                WaId::parse("34600000001").unwrap(),
            ),
            agent: AgentId::parse(agent).unwrap(),
            queue: QueueId::parse("sales").unwrap(),
            reason: "Resolved".into(),
            handling_seconds: Some(10),
        },
        at,
    )
}

#[tokio::test]
async fn a_queue_batch_reports_only_what_was_not_counted_and_counts_once_when_delivered_again() {
    let at: DateTime<Utc> = "2024-05-01T09:10:00Z".parse().unwrap();
    // Six agents' finishes: more counter items than one 12-item tally holds.
    let events: Vec<EventEnvelope> = ["ana", "bob", "cy", "dee", "eve", "fay"]
        .iter()
        .enumerate()
        .map(|(n, agent)| finished_by(agent, at, n))
        .collect();
    let mut messages: Vec<(String, Value)> = events
        .iter()
        .enumerate()
        .map(|(n, event)| {
            let body = serde_json::to_value(delivery(
                "ConversationFinished",
                serde_json::to_value(event).unwrap(),
            ))
            .unwrap();
            (format!("m{n}"), body)
        })
        .collect();
    // Not counted (acknowledged), and never countable (parked, acknowledged).
    messages.push((
        "other".into(),
        serde_json::to_value(delivery("MessageReceived", json!({"any": "thing"}))).unwrap(),
    ));
    messages.push(("broken".into(), json!({"not": "an EventBridge event"})));
    let store = RefusesFirstTally {
        inner: EmbeddedAnalytics::new(),
        refused: std::sync::atomic::AtomicBool::new(false),
    };
    let parked = Parked::default();
    let function = "arn:aws:lambda:eu-west-1:123456789012:function:wadesk-analytics-consumer";

    let answer = analytics::invoke_consumer(&store, &parked, function, &queue_batch(&messages))
        .await
        .unwrap();
    let failed: Vec<String> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    assert!(!failed.is_empty(), "the refused tally's messages: {answer}");
    assert!(
        failed.len() < events.len(),
        "the other tallies were counted"
    );
    assert!(failed.iter().all(|id| id.starts_with('m')), "{failed:?}");
    assert_eq!(
        parked.0.lock().unwrap().len(),
        1,
        "the broken message is parked"
    );

    let hour = wadesk_domain::analytics::hour_of(at);
    let finished = || async {
        store
            .hourly(&wadesk_domain::analytics::Scope::All, hour, hour)
            .await
            .unwrap()
            .iter()
            .map(|(_, c)| c.finished)
            .sum::<u64>()
    };
    assert_eq!(finished().await as usize, events.len() - failed.len());
    // The queue delivers the failed messages again, in a batch with one that
    // was counted (a batch cut differently): each counts once.
    let mut again: Vec<(String, Value)> = messages
        .iter()
        .filter(|(id, _)| failed.contains(id) || id == "m0")
        .cloned()
        .collect();
    again.reverse();
    let answer = analytics::invoke_consumer(&store, &parked, function, &queue_batch(&again))
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(finished().await as usize, events.len());
    // And the whole batch once more: nothing moves.
    analytics::invoke_consumer(&store, &parked, function, &queue_batch(&messages))
        .await
        .unwrap();
    assert_eq!(finished().await as usize, events.len());
}

/// Reports the event `held` as held by another tally that may still commit
/// (a concurrent or dead delivery of it), whenever asked to claim it.
struct HoldsOne {
    inner: EmbeddedAnalytics,
    held: EventEnvelope,
}

impl wadesk_app::AnalyticsStore for HoldsOne {
    fn max_buckets(&self) -> usize {
        self.inner.max_buckets()
    }

    async fn claim(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Claimed, wadesk_app::StoreError> {
        let mut claimed = self.inner.claim(tally).await?;
        if tally.events().iter().any(|(id, _)| *id == self.held.id) {
            claimed.held_elsewhere.push(self.held.id);
        }
        Ok(claimed)
    }

    async fn commit(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::CommitError> {
        assert!(tally.events().iter().all(|(id, _)| *id != self.held.id));
        self.inner.commit(tally).await
    }

    async fn abandon(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::StoreError> {
        self.inner.abandon(tally).await
    }

    async fn hourly(
        &self,
        scope: &wadesk_domain::analytics::Scope,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, wadesk_domain::analytics::Counters)>, wadesk_app::StoreError>
    {
        self.inner.hourly(scope, first, last).await
    }
}

#[tokio::test]
async fn an_event_another_tally_holds_is_reported_failed_and_the_others_counted() {
    let at: DateTime<Utc> = "2024-05-01T09:10:00Z".parse().unwrap();
    let events: Vec<EventEnvelope> = (0..3).map(|n| finished_by("ana", at, n)).collect();
    let messages: Vec<(String, Value)> = events
        .iter()
        .enumerate()
        .map(|(n, event)| {
            let body = serde_json::to_value(delivery(
                "ConversationFinished",
                serde_json::to_value(event).unwrap(),
            ))
            .unwrap();
            (format!("m{n}"), body)
        })
        .collect();
    let store = HoldsOne {
        inner: EmbeddedAnalytics::new(),
        held: events[1].clone(),
    };
    let parked = Parked::default();
    let function = "arn:aws:lambda:eu-west-1:123456789012:function:wadesk-analytics-consumer";
    let answer = analytics::invoke_consumer(&store, &parked, function, &queue_batch(&messages))
        .await
        .unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{ "itemIdentifier": "m1" }])
    );
    let hour = wadesk_domain::analytics::hour_of(at);
    let hours = store
        .hourly(&wadesk_domain::analytics::Scope::All, hour, hour)
        .await
        .unwrap();
    assert_eq!(hours[0].1.finished, 2);
    // Replayed on its own (an EventBridge event): the invocation fails, to
    // be retried, and nothing is parked.
    let single = serde_json::to_value(delivery(
        "ConversationFinished",
        serde_json::to_value(&events[1]).unwrap(),
    ))
    .unwrap();
    assert!(
        analytics::invoke_consumer(&store, &parked, function, &single)
            .await
            .is_err()
    );
    assert!(parked.0.lock().unwrap().is_empty());
}
