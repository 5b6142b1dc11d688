//! Every function under the IAM policy `infra/template.yaml` gives it
//! (`wadesk_tests::iam`): moto's IAM-enforcing server behind a checking proxy
//! that authorizes each request as AWS would (each transaction item as its
//! own action). A code path that calls an action its function may not call
//! is refused with `AccessDeniedException`, and the test fails naming it.
//!
//! Each function's real code paths run in-process with the AWS adapters on
//! its own key: the webhook (a new conversation, `#STOP`, a poison body), the
//! agent API (directory, take, send, transfer, conference, end, wrap-up,
//! views), reopen with an owner change and the push, window-expiry (a window
//! and an offer time-out), opt-out, the event relay reading the stream as its
//! event-source mapping does, the analytics consumer and API, and the parking
//! of unparseable events. One test runs the reopen with an owner change
//! under the policy generated without `ReopenFunction:dynamodb:DeleteItem`
//! and expects it refused, so that claim is checked on every run.

use std::collections::BTreeSet;

use chrono::Duration;
use lambda_http::Body;
use serde_json::{json, Value};
use wadesk_aws::parking::{parse_or_park, FailureQueue};
use wadesk_aws::{EventBridgePublisher, SqsPoisonQueue};
use wadesk_domain::{AgentId, Clock, EventEnvelope, ManualClock, TimerInput};
use wadesk_local_runner::stream::StreamReader;
use wadesk_tests::iam::{IamApp, IamStack};
use wadesk_tests::{now_seconds, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};

const APP_SECRET: &str = "iam-test-app-secret";

/// An API Gateway HTTP API (v2) event of the agent UI, `sub` from the JWT authorizer.
fn api_event(
    method: &str,
    path: &str,
    query: &str,
    sub: &str,
    body: Option<&Value>,
) -> lambda_http::Request {
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    let raw = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": if params.is_empty() { Value::Null } else { Value::Object(params) },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api-id", "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id", "requestId": "id", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "agent-ui"},
            "authorizer": {"jwt": {"claims": {"sub": sub}, "scopes": null}}
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&raw.to_string()).unwrap()
}

fn answer(response: &lambda_http::Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}

/// One stack, every function's application on its own key, a shared clock.
struct Desk {
    iam: IamStack,
    clock: ManualClock,
    webhook: IamApp,
    poison: SqsPoisonQueue,
    agent_api: IamApp,
    reopen: IamApp,
    window_expiry: IamApp,
    opt_out: IamApp,
    relay: EventBridgePublisher,
    stream: StreamReader,
    /// Bus entries handed to the consumers so far.
    consumed: usize,
}

impl Desk {
    async fn new(iam: IamStack) -> Self {
        let clock = ManualClock::frozen_at(now_seconds());
        let root = vec![AgentId::parse("root").unwrap()];
        let webhook_sdk = iam.sdk("WebhookFunction").await;
        let relay_sdk = iam.sdk("EventRelayFunction").await;
        let desk = Self {
            webhook: iam.app("WebhookFunction", &clock).await,
            poison: SqsPoisonQueue::new(
                aws_sdk_sqs::Client::new(&webhook_sdk),
                iam.queue_url("WebhookPoisonQueue"),
            ),
            agent_api: iam
                .app("AgentApiFunction", &clock)
                .await
                .with_bootstrap_admins(root.clone()),
            reopen: iam
                .app("ReopenFunction", &clock)
                .await
                .with_bootstrap_admins(root),
            window_expiry: iam.app("WindowExpiryFunction", &clock).await,
            opt_out: iam.app("OptOutFunction", &clock).await,
            relay: EventBridgePublisher::new(
                aws_sdk_eventbridge::Client::new(&relay_sdk),
                iam.bus(),
            ),
            stream: StreamReader::from_sdk_config(&relay_sdk, iam.table()),
            consumed: 0,
            clock,
            iam,
        };
        desk.directory().await;
        desk
    }

    /// Queue `sales` with ana and bob available in it, the channel routing to
    /// it, wrap-up reasons and a supervisor: the admin routes of the agent API.
    async fn directory(&self) {
        self.api(
            "PUT",
            "/admin/queues/sales",
            "root",
            json!({"name": "Sales"}),
            200,
        )
        .await;
        self.api(
            "PUT",
            "/admin/wrap-up-reasons",
            "root",
            json!({"reasons": ["Resolved", "Escalated"]}),
            200,
        )
        .await;
        self.api(
            "PUT",
            &format!("/admin/channels/{PHONE_NUMBER_ID}"),
            "root",
            json!({"display_phone_number": DISPLAY_PHONE_NUMBER, "chat_enabled": true, "default_queue": "sales",
                   "bot": false, "mask_sensitive_data": true, "reopen_message": "Hi again!",
                   "push_template": {"name": "follow_up", "language": "en"}}),
            200,
        )
        .await;
        for agent in ["ana", "bob"] {
            self.api(
                "PUT",
                &format!("/admin/agents/{agent}"),
                "root",
                json!({"name": agent.to_uppercase(), "role": "agent", "queues": ["sales"], "max_concurrent": 2}),
                200,
            )
            .await;
        }
        self.api(
            "PUT",
            "/admin/agents/sue",
            "root",
            json!({"name": "SUE", "role": "supervisor", "queues": [], "max_concurrent": 0}),
            200,
        )
        .await;
    }

    async fn available(&self, agent: &str) {
        self.api(
            "PUT",
            "/me/state",
            agent,
            json!({"state": "available"}),
            200,
        )
        .await;
    }

    /// An agent API request as `sub`, expecting `status`.
    async fn api(&self, method: &str, path: &str, sub: &str, body: Value, status: u16) -> Value {
        let body = (method != "GET").then_some(body);
        let response = Box::pin(agent_api::handle(
            &self.agent_api,
            api_event(method, path, "", sub, body.as_ref()),
        ))
        .await;
        let (got, value) = answer(&response);
        assert_eq!(
            got,
            status,
            "{method} {path} as {sub}: {value}; refused: {:?}",
            self.iam.refusals()
        );
        value
    }

    async fn post(&self, id: &str, action: &str, sub: &str, body: Value) -> Value {
        self.api(
            "POST",
            &format!("/conversations/{id}/{action}"),
            sub,
            body,
            200,
        )
        .await
    }

    /// A reopen-function request (`reopen` or `push`) as `sub`.
    async fn reopen_call(&self, id: &str, action: &str, sub: &str) -> (u16, Value) {
        let path = format!("/conversations/{id}/{action}");
        let response = Box::pin(reopen::handle(
            &self.reopen,
            api_event("POST", &path, "", sub, Some(&json!({}))),
        ))
        .await;
        answer(&response)
    }

    /// A signed WhatsApp body through the webhook handler.
    async fn webhook_body(&self, body: String) -> u16 {
        let signature = wadesk_whatsapp::signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/webhook")
            .header("x-hub-signature-256", signature)
            .body(Body::Text(body))
            .unwrap();
        let settings = webhook::WebhookSettings::new(APP_SECRET, "verify");
        Box::pin(webhook::handle(
            &self.webhook,
            &self.poison,
            &settings,
            request,
        ))
        .await
        .status()
        .as_u16()
    }

    /// `from` writes `text`; answers the conversation it landed in.
    async fn customer_writes(&self, from: &str, wamid: &str, text: &str) -> String {
        let body = wadesk_whatsapp::text_message_body(
            PHONE_NUMBER_ID,
            DISPLAY_PHONE_NUMBER,
            from,
            "Lucía",
            text,
            wamid,
            self.clock.now().timestamp(),
        )
        .to_string();
        assert_eq!(
            self.webhook_body(body).await,
            200,
            "refused: {:?}",
            self.iam.refusals()
        );
        let listed = self
            .api("GET", "/supervise/conversations", "sue", Value::Null, 200)
            .await;
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer"]["wa_id"] == from)
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Ana takes, answers, ends and wraps up a new conversation of `from`.
    async fn finished_by_ana(&self, from: &str) -> String {
        let id = self
            .customer_writes(from, &format!("wamid.IAM{from}"), "Hello")
            .await;
        assert!(!id.is_empty(), "no conversation for {from}");
        self.post(&id, "take", "ana", json!({})).await;
        self.api(
            "POST",
            &format!("/conversations/{id}/messages"),
            "ana",
            json!({"text": "Done?"}),
            201,
        )
        .await;
        self.post(&id, "end", "ana", json!({})).await;
        self.post(&id, "wrap-up", "ana", json!({"reason": "Resolved"}))
            .await;
        id
    }

    /// The event-relay function on every new batch of the table's stream,
    /// reading it and publishing with its own key.
    async fn relay(&mut self) {
        while let Some(batch) = self.stream.next_batch().await.unwrap() {
            let response = Box::pin(event_relay::handle(&self.relay, batch.event.clone()))
                .await
                .unwrap();
            assert!(
                !self.stream.checkpoint(&batch, &response),
                "relay failed; refused: {:?}",
                self.iam.refusals()
            );
            if !batch.more {
                break;
            }
        }
    }

    /// Relays, then answers the bus entries not handed on yet.
    async fn new_events(&mut self) -> Vec<(String, String)> {
        self.relay().await;
        let published = self.iam.proxy.published();
        let fresh = published[self.consumed..].to_vec();
        self.consumed = published.len();
        fresh
    }

    /// The timers Scheduler holds that are due now.
    fn due_timers(&self) -> Vec<TimerInput> {
        self.iam
            .proxy
            .scheduled_inputs()
            .iter()
            .filter_map(|input| serde_json::from_str::<TimerInput>(input).ok())
            .filter(|t| t.due_at() <= self.clock.now())
            .collect()
    }

    fn assert_nothing_refused(&self) {
        assert_eq!(
            self.iam.refusals(),
            Vec::<String>::new(),
            "refused under the generated policies"
        );
    }

    fn actions_of(&self, function: &str) -> BTreeSet<String> {
        self.iam
            .actions_by_function()
            .remove(function)
            .unwrap_or_default()
    }
}

/// An EventBridge delivery of a bus entry, as a rule hands it to its target.
fn delivery(kind: &str, detail: &str) -> Value {
    json!({
        "version": "0", "id": uuid::Uuid::new_v4().to_string(), "detail-type": kind,
        "source": "wadesk", "account": "123456789012", "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": serde_json::from_str::<Value>(detail).unwrap(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_runs_under_its_generated_policy() {
    let desk = Box::pin(Desk::new(IamStack::new().await)).await;
    desk.available("ana").await;
    let id = desk
        .customer_writes("34650000001", "wamid.IAMW1", "Hola")
        .await;
    assert!(!id.is_empty());
    desk.customer_writes("34650000001", "wamid.IAMW2", "¿Hay alguien?")
        .await;
    desk.customer_writes("34650000002", "wamid.IAMW3", "#STOP")
        .await;
    // A validly signed body that can never be used: kept in the poison queue.
    assert_eq!(desk.webhook_body("{not json".into()).await, 200);

    desk.assert_nothing_refused();
    let actions = desk.actions_of("WebhookFunction");
    for action in [
        "dynamodb:PutItem",
        "scheduler:CreateSchedule",
        "iam:PassRole",
        "sqs:SendMessage",
    ] {
        assert!(
            actions.contains(action),
            "the webhook never used {action}: {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_api_runs_under_its_generated_policy() {
    let desk = Box::pin(Desk::new(IamStack::new().await)).await;
    desk.available("ana").await;
    desk.available("bob").await;
    let id = desk
        .customer_writes("34650000011", "wamid.IAMA1", "Hello")
        .await;
    desk.post(&id, "take", "ana", json!({})).await;
    desk.api(
        "POST",
        &format!("/conversations/{id}/messages"),
        "ana",
        json!({"text": "Hi!"}),
        201,
    )
    .await;
    desk.post(&id, "transfer", "ana", json!({"agent": "bob"}))
        .await;
    desk.post(&id, "accept", "bob", json!({})).await;
    desk.post(&id, "wrap-up", "ana", json!({"reason": "Escalated"}))
        .await;
    desk.post(&id, "conference", "bob", json!({"agent": "ana"}))
        .await;
    desk.post(&id, "conference/accept", "ana", json!({})).await;
    desk.post(&id, "conference/exit", "ana", json!({})).await;
    desk.post(&id, "wrap-up", "ana", json!({"reason": "Resolved"}))
        .await;
    desk.post(&id, "end", "bob", json!({})).await;
    desk.post(&id, "wrap-up", "bob", json!({"reason": "Resolved"}))
        .await;
    desk.api(
        "GET",
        &format!("/conversations/{id}"),
        "bob",
        Value::Null,
        200,
    )
    .await;
    desk.api(
        "GET",
        &format!("/conversations/{id}/messages"),
        "bob",
        Value::Null,
        200,
    )
    .await;
    desk.api(
        "GET",
        "/customers/34650000011/history",
        "bob",
        Value::Null,
        200,
    )
    .await;
    desk.api("GET", "/me", "ana", Value::Null, 200).await;
    desk.api("GET", "/admin/agents", "root", Value::Null, 200)
        .await;

    desk.assert_nothing_refused();
    assert!(desk
        .actions_of("AgentApiFunction")
        .contains("dynamodb:UpdateItem"));
}

/// A conversation finished by ana, reopened by bob of the same queue: the
/// owner changes, which deletes ana's entry (`dynamodb:DeleteItem`).
async fn reopen_with_an_owner_change(desk: &Desk) -> (u16, Value) {
    desk.available("ana").await;
    let id = desk.finished_by_ana("34650000021").await;
    desk.clock.advance(Duration::hours(1));
    desk.reopen_call(&id, "reopen", "bob").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_with_an_owner_change_and_the_push_run_under_its_generated_policy() {
    let desk = Box::pin(Desk::new(IamStack::new().await)).await;
    let (status, reopened) = Box::pin(reopen_with_an_owner_change(&desk)).await;
    assert_eq!(
        status,
        200,
        "{reopened}; refused: {:?}",
        desk.iam.refusals()
    );
    assert_eq!(reopened["owner"], "bob", "{reopened}");
    assert!(
        desk.actions_of("ReopenFunction")
            .contains("dynamodb:DeleteItem"),
        "the owner change is the path that needs DeleteItem: {:?}",
        desk.actions_of("ReopenFunction")
    );

    // The utility push after the window: a template.
    let id = desk.finished_by_ana("34650000022").await;
    desk.clock.advance(Duration::hours(25));
    let (status, pushed) = desk.reopen_call(&id, "push", "ana").await;
    assert_eq!(status, 200, "{pushed}; refused: {:?}", desk.iam.refusals());
    desk.assert_nothing_refused();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_without_delete_item_in_its_policy_is_access_denied() {
    let desk = Box::pin(Desk::new(
        IamStack::without(&["ReopenFunction:dynamodb:DeleteItem"]).await,
    ))
    .await;
    let (status, body) = Box::pin(reopen_with_an_owner_change(&desk)).await;
    assert!(
        status >= 500,
        "the reopen went through without DeleteItem: {status} {body}"
    );
    let refusals = desk.iam.refusals();
    assert!(
        refusals
            .iter()
            .any(|r| r.starts_with("ReopenFunction: dynamodb:DeleteItem on arn:aws:dynamodb:")),
        "{refusals:?}"
    );
    println!(
        "reopen with an owner change without DeleteItem: {status} {body}; refused: {refusals:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_opt_out_relay_and_analytics_run_under_their_generated_policies() {
    let mut desk = Box::pin(Desk::new(IamStack::new().await)).await;
    let t0 = desk.clock.now();
    desk.available("ana").await;
    // An offer ana lets time out: window-expiry's offer path.
    desk.customer_writes("34650000031", "wamid.IAMT1", "Hello")
        .await;
    desk.clock.advance(Duration::seconds(120));
    let offers: Vec<TimerInput> = desk
        .due_timers()
        .into_iter()
        .filter(|t| matches!(t, TimerInput::Offer(_)))
        .collect();
    assert!(!offers.is_empty(), "no offer timer was scheduled");
    for offer in offers {
        Box::pin(window_expiry::handle(&desk.window_expiry, offer))
            .await
            .unwrap();
    }
    // The window closes after 24 hours: its fire.
    desk.clock
        .advance(t0 + Duration::hours(24) + Duration::minutes(1) - desk.clock.now());
    let windows: Vec<TimerInput> = desk
        .due_timers()
        .into_iter()
        .filter(|t| matches!(t, TimerInput::Window(_)))
        .collect();
    assert!(!windows.is_empty(), "no window timer was scheduled");
    for window in windows {
        Box::pin(window_expiry::handle(&desk.window_expiry, window))
            .await
            .unwrap();
    }
    // #STOP: the opt-out function gets CustomerOptedOut from the bus.
    desk.customer_writes("34650000032", "wamid.IAMT2", "#STOP")
        .await;

    let analytics_sdk = desk.iam.sdk("AnalyticsConsumerFunction").await;
    let counters = wadesk_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&analytics_sdk),
        desk.iam.table(),
    );
    let events = desk.new_events().await;
    assert!(!events.is_empty(), "nothing reached the bus");
    let mut opted_out = 0;
    for (kind, detail) in &events {
        let delivered = serde_json::from_value(delivery(kind, detail)).unwrap();
        Box::pin(analytics::consume_delivery(&counters, delivered))
            .await
            .unwrap();
        if kind == "CustomerOptedOut" {
            let event: EventEnvelope = serde_json::from_str(detail).unwrap();
            Box::pin(wadesk_app::opt_out::handle_event(&desk.opt_out, &event))
                .await
                .unwrap();
            opted_out += 1;
        }
    }
    assert_eq!(
        opted_out,
        1,
        "{:?}",
        events.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    desk.new_events().await;

    // Events that never parse are parked in each function's failure queue.
    for (function, queue) in [
        ("OptOutFunction", "OptOutFailureQueue"),
        ("WindowExpiryFunction", "WindowExpiryFailureQueue"),
        ("AnalyticsConsumerFunction", "AnalyticsConsumerFailureQueue"),
    ] {
        let sdk = desk.iam.sdk(function).await;
        let parking = FailureQueue::new(aws_sdk_sqs::Client::new(&sdk), desk.iam.queue_url(queue));
        let parsed = parse_or_park::<TimerInput, _>(&parking, function, &json!({"garbage": true}))
            .await
            .unwrap();
        assert!(parsed.is_none());
    }

    // The analytics API reads the figures as the supervisor.
    let api_sdk = desk.iam.sdk("AnalyticsApiFunction").await;
    let store =
        wadesk_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&api_sdk), desk.iam.table());
    let admins = vec![AgentId::parse("root").unwrap()];
    let reader = || wadesk_app::analytics::AnalyticsReader {
        counters: &store,
        conversations: &store,
        clock: &desk.clock,
        bootstrap_admins: &admins,
    };
    for (path, query) in [
        ("/analytics/dashboard", "queue=sales"),
        ("/analytics/chat-statistics", "agent=ana"),
    ] {
        let response = Box::pin(analytics::handle(
            reader(),
            api_event("GET", path, query, "sue", None),
        ))
        .await;
        let (status, figures) = answer(&response);
        assert_eq!(
            status,
            200,
            "{path}: {figures}; refused: {:?}",
            desk.iam.refusals()
        );
    }

    desk.assert_nothing_refused();
    let seen = desk.iam.actions_by_function();
    println!("functions run under their generated policy, with the actions each used: {seen:#?}");
    for function in [
        "WebhookFunction",
        "AgentApiFunction",
        "WindowExpiryFunction",
        "OptOutFunction",
        "EventRelayFunction",
        "AnalyticsConsumerFunction",
        "AnalyticsApiFunction",
    ] {
        assert!(
            seen.contains_key(function),
            "{function} made no request: {seen:?}"
        );
    }
}
