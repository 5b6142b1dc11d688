//! Every function under the IAM policy `infra/template.yaml` gives it
//! (`wadesk_tests::iam`): moto's IAM-enforcing server behind a checking proxy
//! that authorizes each request as AWS would (each transaction item as its
//! own action). A code path that calls an action its function may not call
//! is refused with `AccessDeniedException`, and the test fails naming it.
//!
//! Each function's real code paths run in-process with the AWS adapters on
//! its own key: the webhook (a new conversation, `#STOP`, a poison body), the
//! agent API (directory, take, send, transfer, conference, end, wrap-up,
//! views), reopen with an owner change and the push, timers (a window
//! and an offer time-out), opt-out, the event relay reading the stream as its
//! event-source mapping does, the analytics consumer and API, and the parking
//! of unparseable events; the media fetcher (a customer's photo fetched from
//! a Graph API stub into the bucket, a file that can never be fetched
//! parked), the agent API's files (`POST /uploads`, an upload sent, the
//! media route and its presigned read), and the erasure function taking an
//! erasure's steps (and the retention's) from its queue, the customer's
//! files deleted from the bucket. One test runs the reopen with an owner change
//! under the policy generated without `ReopenFunction:dynamodb:DeleteItem`
//! and expects it refused, so that claim is checked on every run.

use std::collections::BTreeSet;

use chrono::Duration;
use lambda_http::Body;
use serde_json::{json, Value};
use wadesk_aws::parking::{parse_or_park, FailureQueue};
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_aws::{EventBridgePublisher, SqsPoisonQueue};
use wadesk_domain::{AgentId, Clock, EventEnvelope, ManualClock, TimerInput};
use wadesk_local_runner::stream::StreamReader;
use wadesk_tests::iam::{IamApp, IamStack};
use wadesk_tests::{now_seconds, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    /// The agent API's media bucket, on its key (as its `main` wires it).
    media: agent_api::Media<SignedS3MediaStore>,
    reopen: IamApp,
    timers: IamApp,
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
            media: agent_api::Media::new(iam.media_store("AgentApiFunction").await),
            reopen: iam
                .app("ReopenFunction", &clock)
                .await
                .with_bootstrap_admins(root),
            timers: iam.app("TimersFunction", &clock).await,
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
        let response = self.api_response(method, path, sub, body.as_ref()).await;
        let (got, value) = answer(&response);
        assert_eq!(
            got,
            status,
            "{method} {path} as {sub}: {value}; refused: {:?}",
            self.iam.refusals()
        );
        value
    }

    /// An agent API request as `sub`, its response as it is.
    async fn api_response(
        &self,
        method: &str,
        path: &str,
        sub: &str,
        body: Option<&Value>,
    ) -> lambda_http::Response<Body> {
        Box::pin(agent_api::handle_with_media(
            &self.agent_api,
            &self.media,
            api_event(method, path, "", sub, body),
        ))
        .await
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

    /// Sends `body` (a text or an attachment) into conversation `id` as `sub`.
    async fn send_message(&self, id: &str, sub: &str, body: Value, status: u16) -> Value {
        let path = format!("/conversations/{id}/messages");
        self.api("POST", &path, sub, body, status).await
    }

    /// Ana asks for an upload target but never uploads the file, then sends
    /// it into conversation `id`; the answer, which must be `status`.
    async fn send_never_uploaded_file(&self, id: &str, status: u16) -> Value {
        let file =
            json!({"filename": "Nada.pdf", "mime_type": "application/pdf", "size_bytes": 10});
        let target = self.api("POST", "/uploads", "ana", file, 201).await;
        let attachment = json!({"attachment": {"upload_id": target["upload_id"]}});
        self.send_message(id, "ana", attachment, status).await
    }

    /// The owner `sub` ends conversation `id` and wraps it up as resolved.
    async fn finish(&self, id: &str, sub: &str) {
        self.post(id, "end", sub, json!({})).await;
        self.post(id, "wrap-up", sub, json!({"reason": "Resolved"}))
            .await;
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
        let request = wadesk_tests::signed_webhook_post(APP_SECRET, &body);
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
        );
        self.customer_sends(from, body).await
    }

    /// `from` sends a photo WhatsApp keeps as `media_id`; answers the conversation.
    async fn customer_sends_photo(&self, from: &str, wamid: &str, media_id: &str) -> String {
        let mut body = wadesk_whatsapp::text_message_body(
            PHONE_NUMBER_ID,
            DISPLAY_PHONE_NUMBER,
            from,
            "Lucía",
            "",
            wamid,
            self.clock.now().timestamp(),
        );
        let message = &mut body["entry"][0]["changes"][0]["value"]["messages"][0];
        message["type"] = json!("image");
        message["image"] =
            json!({"id": media_id, "mime_type": "image/png", "caption": "Así llegó"});
        if let Some(fields) = message.as_object_mut() {
            fields.remove("text");
        }
        self.customer_sends(from, body).await
    }

    async fn customer_sends(&self, from: &str, body: Value) -> String {
        let body = body.to_string();
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
        self.send_message(&id, "ana", json!({"text": "Done?"}), 201)
            .await;
        self.finish(&id, "ana").await;
        id
    }

    /// The event-relay function on every new batch of the table's stream,
    /// reading it and publishing with its own key.
    async fn relay(&mut self) {
        while let Some(batch) = self.stream.next_batch().await.unwrap() {
            let response = Box::pin(event_relay::handle(&self.relay, batch.event.clone())).await;
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
    desk.send_message(&id, "ana", json!({"text": "Hi!"}), 201)
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
    desk.finish(&id, "bob").await;
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
    // An offer ana lets time out: the timers function's offer path.
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
        Box::pin(timers::handle(&desk.timers, offer)).await.unwrap();
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
        Box::pin(timers::handle(&desk.timers, window))
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
    // Delivered again: each claim finds its event's marker and reads the
    // outcome of the tally it names (GetItem): counted before.
    let mut counted = Vec::new();
    for (kind, detail) in &events {
        let event: EventEnvelope = serde_json::from_str(detail).unwrap();
        if wadesk_domain::analytics::increment_for(&event).is_none() {
            continue;
        }
        let delivered = serde_json::from_value(delivery(kind, detail)).unwrap();
        let consumed = Box::pin(analytics::consume_delivery(&counters, delivered))
            .await
            .unwrap();
        assert_eq!(consumed, wadesk_app::analytics::Consumed::Duplicate);
        counted.push(event);
    }
    // A run that claimed an event and died before its commit: once the
    // claim is old, the next delivery abandons its tally (PutItem) and takes
    // the event over (UpdateItem), then counts it.
    let mut orphan = counted.first().expect("a counted event").clone();
    orphan.id = uuid::Uuid::new_v4();
    let increment = wadesk_domain::analytics::increment_for(&orphan).unwrap();
    let tallies = wadesk_domain::analytics::Tally::split(
        [(orphan.id, increment)],
        wadesk_app::AnalyticsStore::max_buckets(&counters),
    );
    let held = wadesk_domain::analytics::CLAIM_HELD_SECONDS + 1;
    let long_ago = chrono::Utc::now() - Duration::seconds(held);
    counters.claim_at(&tallies[0], long_ago).await.unwrap();
    let consumed = Box::pin(wadesk_app::analytics::consume(&counters, &orphan))
        .await
        .unwrap();
    assert_eq!(consumed, wadesk_app::analytics::Consumed::Counted);

    // Events that never parse are parked in each function's failure queue.
    for (function, queue) in [
        ("OptOutFunction", "OptOutFailureQueue"),
        ("TimersFunction", "TimersFailureQueue"),
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
        "TimersFunction",
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

// ---- files: the media fetcher, the agent API's files, the erasure function ----

/// A customer's photo, PNG by its bytes.
fn photo() -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
    ];
    bytes.extend_from_slice(b"IHDR broken product photo");
    bytes
}

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";

/// The Graph API's media endpoints, a stub as in media.rs: `7001` (and
/// `7003`) a photo, `7002` a file WhatsApp will never hand over.
async fn graph_stub(png: &[u8]) -> MockServer {
    let graph = MockServer::start().await;
    for id in ["7001", "7003"] {
        crate::media::serve_media(&graph, id, "image/png", png).await;
    }
    Mock::given(method("GET"))
        .and(path("/v21.0/7002"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": {"message": "Unsupported get request", "code": 100}}),
            ),
        )
        .mount(&graph)
        .await;
    graph
}

/// The media fetcher on its own key: the Graph API stub, the bucket, its
/// failure queue.
struct Fetcher {
    graph: wadesk_graph::GraphApiClient,
    store: SignedS3MediaStore,
    parking: FailureQueue,
    arn: String,
}

impl Fetcher {
    async fn new(iam: &IamStack, graph: &MockServer) -> Self {
        let sdk = iam.sdk("MediaFetcherFunction").await;
        Self {
            graph: crate::media::graph_client(graph),
            store: iam.media_store("MediaFetcherFunction").await,
            parking: FailureQueue::new(
                aws_sdk_sqs::Client::new(&sdk),
                iam.queue_url("MediaFetcherFailureQueue"),
            ),
            arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}-media-fetcher",
                iam.stack
            ),
        }
    }

    /// Each bus entry the fetcher's rule matches (`MessageReceived` with a
    /// `media_id`), invoked as Lambda does; answers the outcomes.
    async fn deliver(&self, events: &[(String, String)]) -> Vec<&'static str> {
        let mut outcomes = Vec::new();
        for (kind, detail) in events {
            let envelope: Value = serde_json::from_str(detail).unwrap();
            if kind != "MessageReceived" || !envelope["detail"]["media_id"].is_string() {
                continue;
            }
            let payload = delivery(kind, detail);
            let outcome = Box::pin(media_fetcher::handle_invocation(
                &self.graph,
                &self.store,
                &self.parking,
                &self.arn,
                &payload,
            ))
            .await
            .unwrap_or_else(|e| panic!("the fetch failed: {e}"));
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// The transcript's messages of conversation `id`, as `sub` sees them.
async fn transcript(desk: &Desk, id: &str, sub: &str) -> Vec<Value> {
    desk.api(
        "GET",
        &format!("/conversations/{id}/messages"),
        sub,
        Value::Null,
        200,
    )
    .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `POST /uploads` as `sub`, then the file put where the target says, as the
/// browser's form post does (S3 checks that post against the target's
/// policy, signed with the agent API's key); answers the upload id.
async fn upload(desk: &Desk, sub: &str, filename: &str, file: &[u8]) -> String {
    let target = desk
        .api(
            "POST",
            "/uploads",
            sub,
            json!({"filename": filename, "mime_type": "application/pdf", "size_bytes": file.len()}),
            201,
        )
        .await;
    let fields = &target["fields"];
    let admin = desk.iam.admin_media_store();
    let mut put = admin
        .client()
        .put_object()
        .bucket(admin.bucket())
        .key(fields["key"].as_str().unwrap())
        .content_type(fields["Content-Type"].as_str().unwrap())
        .body(file.to_vec().into());
    for (name, value) in fields.as_object().unwrap() {
        if let Some(meta) = name.strip_prefix("x-amz-meta-") {
            put = put.metadata(meta, value.as_str().unwrap());
        }
    }
    put.send().await.unwrap();
    target["upload_id"].as_str().unwrap().to_owned()
}

/// The keys the media bucket holds.
async fn bucket_keys(iam: &IamStack) -> Vec<String> {
    use crate::erasure::MediaKeys as _;
    iam.admin_media_store().media_keys().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_media_fetcher_and_the_agent_apis_files_run_under_their_generated_policies() {
    let mut desk = Box::pin(Desk::new(IamStack::new().await)).await;
    let png = photo();
    let graph = graph_stub(&png).await;
    let fetcher = Fetcher::new(&desk.iam, &graph).await;
    desk.available("ana").await;
    let id = desk
        .customer_sends_photo("34650000041", "wamid.IAMM1", "7001")
        .await;
    assert!(!id.is_empty());
    desk.customer_sends_photo("34650000041", "wamid.IAMM2", "7002")
        .await;

    // The fetcher's rule: the photo kept, the refused file parked.
    let events = desk.new_events().await;
    let mut outcomes = fetcher.deliver(&events).await;
    outcomes.sort_unstable();
    assert_eq!(
        outcomes,
        ["parked", "stored"],
        "refused: {:?}",
        desk.iam.refusals()
    );
    let parked = aws_sdk_sqs::Client::new(&desk.iam.admin)
        .receive_message()
        .queue_url(desk.iam.queue_url("MediaFetcherFailureQueue"))
        .send()
        .await
        .unwrap();
    let record: Value = serde_json::from_str(parked.messages()[0].body().unwrap()).unwrap();
    assert_eq!(record["requestContext"]["condition"], "PermanentFailure");
    assert!(
        record["responsePayload"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("HTTP 404"),
        "{record}"
    );

    // The media route: ana's chat's photo, a presigned read signed by the agent API.
    desk.post(&id, "take", "ana", json!({})).await;
    let photos: Vec<Value> = transcript(&desk, &id, "ana")
        .await
        .into_iter()
        .filter(|m| m["type"] == "image")
        .collect();
    assert_eq!(photos.len(), 2, "{photos:?}");
    let media_url = photos[0]["media_url"].as_str().unwrap();
    let response = desk.api_response("GET", media_url, "ana", None).await;
    assert_eq!(
        response.status(),
        302,
        "{media_url}; refused: {:?}",
        desk.iam.refusals()
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let read = http.get(&location).send().await.unwrap();
    let status = read.status();
    let bytes = read.bytes().await.unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "{location}: {}; refused: {:?}",
        String::from_utf8_lossy(&bytes),
        desk.iam.refusals()
    );
    assert_eq!(bytes, png);
    // The parked one was never fetched: 404, as the contract says (S3 says
    // 404 for a missing key only to a reader allowed s3:ListBucket).
    let pending = photos[1]["media_url"].as_str().unwrap();
    let (status, body) = answer(&desk.api_response("GET", pending, "ana", None).await);
    assert_eq!(status, 404, "{body}; refused: {:?}", desk.iam.refusals());

    // An agent's file: an upload target (no S3 call), the file sent by its id.
    let upload_id = upload(&desk, "ana", "Factura.pdf", PDF).await;
    let sent = desk
        .send_message(
            &id,
            "ana",
            json!({"attachment": {"upload_id": upload_id, "caption": "Su factura"}}),
            201,
        )
        .await;
    assert_eq!(sent["type"], "document", "{sent}");
    // An upload target whose file never came: 400, no such upload (S3 says
    // 404 for it only to a reader allowed s3:ListBucket).
    let refused = desk.send_never_uploaded_file(&id, 400).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no such upload"),
        "{refused}"
    );

    desk.assert_nothing_refused();
    let fetcher_actions = desk.actions_of("MediaFetcherFunction");
    for action in ["s3:PutObject", "sqs:SendMessage"] {
        assert!(
            fetcher_actions.contains(action),
            "the fetcher never used {action}: {fetcher_actions:?}"
        );
    }
    assert!(
        desk.actions_of("AgentApiFunction").contains("s3:GetObject"),
        "{:?}",
        desk.actions_of("AgentApiFunction")
    );
}

/// The rule's detail types that go to the erasure queue.
const ERASURE_RULE: &[&str] = &[
    "CustomerErasureRequested",
    "RetentionContinues",
    "ConversationExpiryChanged",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_runs_under_the_agent_apis_and_the_erasure_functions_generated_policies() {
    let mut desk = Box::pin(Desk::new(IamStack::new().await)).await;
    let png = photo();
    let graph = graph_stub(&png).await;
    let fetcher = Fetcher::new(&desk.iam, &graph).await;
    desk.available("ana").await;
    let from = "34650000051";
    // Finished chats enough that the request's own steps leave the rest to
    // the queue: the first with the customer's photo and an upload ana sent
    // them, four more, and a live chat with a photo, which the erasure ends
    // first. The request's steps take the live chat's photo (the agent API
    // deletes it), the queue's the first chat's files (the erasure function).
    let first = desk.customer_sends_photo(from, "wamid.IAME0", "7001").await;
    desk.post(&first, "take", "ana", json!({})).await;
    let upload_id = upload(&desk, "ana", "Factura.pdf", PDF).await;
    desk.send_message(
        &first,
        "ana",
        json!({"attachment": {"upload_id": upload_id}}),
        201,
    )
    .await;
    desk.finish(&first, "ana").await;
    for n in 1..=4 {
        let id = desk
            .customer_writes(from, &format!("wamid.IAME{n}"), "Hello")
            .await;
        desk.post(&id, "take", "ana", json!({})).await;
        desk.finish(&id, "ana").await;
    }
    let live = desk.customer_sends_photo(from, "wamid.IAME9", "7003").await;
    desk.post(&live, "take", "ana", json!({})).await;
    // Someone else's photo stays.
    desk.customer_sends_photo("34650000052", "wamid.IAME10", "7001")
        .await;
    let mut pending = desk.new_events().await;
    assert_eq!(
        fetcher.deliver(&pending).await,
        ["stored", "stored", "stored"]
    );
    let files = bucket_keys(&desk.iam).await;
    assert_eq!(files.len(), 4, "{files:?}");

    // The admin's request runs the first steps (the agent API's policy) ...
    let erased = desk
        .api(
            "DELETE",
            &format!("/admin/customers/{PHONE_NUMBER_ID}/{from}"),
            "root",
            Value::Null,
            202,
        )
        .await;
    assert_eq!(erased["status"], "in_progress", "{erased}");

    // ... the rule puts the rest on the erasure queue, and the erasure
    // function takes each step from it (its event-source mapping receives
    // and deletes with the function's role) and publishes the next.
    let erasure = desk.iam.app("ErasureFunction", &desk.clock).await;
    let erasure_media = desk.iam.media_store("ErasureFunction").await;
    let erasure_sqs = aws_sdk_sqs::Client::new(&desk.iam.sdk("ErasureFunction").await);
    let rule = aws_sdk_sqs::Client::new(&desk.iam.admin);
    let queue = desk.iam.queue_url("ErasureQueue");
    let mut outcomes = Vec::new();
    let mut completed = None;
    for _ in 0..100 {
        pending.extend(desk.new_events().await);
        for (kind, detail) in pending.drain(..) {
            if kind == "CustomerErased" {
                completed = Some(detail.clone());
            }
            if ERASURE_RULE.contains(&kind.as_str()) {
                rule.send_message()
                    .queue_url(&queue)
                    .message_body(delivery(&kind, &detail).to_string())
                    .send()
                    .await
                    .unwrap();
            }
        }
        let received = erasure_sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receiving: {e:?}; refused: {:?}", desk.iam.refusals()));
        if received.messages().is_empty() {
            break;
        }
        for message in received.messages() {
            let event = erasure::parse(message.body().unwrap()).unwrap();
            let outcome = Box::pin(erasure::handle(&erasure, &erasure_media, &event))
                .await
                .unwrap_or_else(|e| panic!("{e:?}; refused: {:?}", desk.iam.refusals()));
            outcomes.push(outcome);
            erasure_sqs
                .delete_message()
                .queue_url(&queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let completed: Value =
        serde_json::from_str(&completed.expect("the erasure completes")).unwrap();
    assert!(
        outcomes.contains(&"erasure continues") && outcomes.contains(&"erased"),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&"retention applied"), "{outcomes:?}");
    // The customer's three files are gone; someone else's photo stays.
    assert_eq!(completed["detail"]["erased"]["media"], 3, "{completed}");
    let left = bucket_keys(&desk.iam).await;
    assert_eq!(left.len(), 1, "{left:?}");

    desk.assert_nothing_refused();
    assert!(
        desk.actions_of("AgentApiFunction")
            .contains("s3:DeleteObject"),
        "the request's steps deleted no file: {:?}",
        desk.actions_of("AgentApiFunction")
    );
    let actions = desk.actions_of("ErasureFunction");
    for action in [
        "s3:DeleteObject",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "dynamodb:BatchWriteItem",
        "events:PutEvents",
    ] {
        assert!(
            actions.contains(action),
            "the erasure function never used {action}: {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_list_bucket_a_missing_upload_is_access_denied_not_404() {
    let desk = Box::pin(Desk::new(
        IamStack::without(&["AgentApiFunction:s3:ListBucket"]).await,
    ))
    .await;
    desk.available("ana").await;
    let id = desk
        .customer_writes("34650000061", "wamid.IAML1", "Hello")
        .await;
    desk.post(&id, "take", "ana", json!({})).await;
    // S3 answers the read of the missing file 403: the send is a 503.
    desk.send_never_uploaded_file(&id, 503).await;
    let refusals = desk.iam.refusals();
    assert!(
        refusals
            .iter()
            .any(|r| r.starts_with("AgentApiFunction: s3:ListBucket on arn:aws:s3:::")),
        "{refusals:?}"
    );
}

/// The live function under its policy: `$connect` reads the caller's entry
/// and registers the socket, a desk event reads the registry and the
/// conversation (two agents of its queue and a supervisor told), a socket
/// the management API answers gone is deleted, `$disconnect` deletes, an
/// event that does not parse is parked in its failure queue. The management
/// API and the issuer are a local stub (moto's IAM mode does not serve
/// them); the push is SigV4-signed with the function's key all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_function_runs_under_its_generated_policy() {
    use crate::live::{
        delivered, issuer_stub, offered, pushed, route_event, socket_answers, valid_token, AUDIENCE,
    };
    use wadesk_aws::jwks::JwksVerifier;
    use wadesk_aws::live_push::ManagementApi;

    let desk = Box::pin(Desk::new(IamStack::new().await)).await;
    let id = desk
        .customer_writes("34650000077", "wamid.IAMLIVE1", "Hola")
        .await;
    assert!(!id.is_empty());
    let stub = issuer_stub().await;
    let sdk = desk.iam.sdk("LiveFunction").await;
    let app = desk.iam.app("LiveFunction", &desk.clock).await;
    let tokens = JwksVerifier::new(stub.uri(), AUDIENCE);
    let pusher = ManagementApi::new(&sdk, format!("{}/live", stub.uri())).unwrap();
    let parking = FailureQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        desk.iam.queue_url("LiveFailureQueue"),
    );
    let ports = live::Wiring {
        app: &app,
        tokens: &tokens,
        pusher: &pusher,
        parking: &parking,
    };
    let function = "arn:aws:lambda:us-east-1:123456789012:function:live";
    for (connection, sub, status) in [
        ("ana-1=", "ana", 200),
        ("bob-1=", "bob", 200),
        ("sue-1=", "sue", 200),
        ("eve-1=", "eve", 403),
    ] {
        let token = valid_token(&stub, sub);
        let event = route_event(
            "$connect",
            "CONNECT",
            connection,
            json!({ "token": token }),
            None,
        );
        let answer = live::invoke(&ports, function, &event).await.unwrap();
        assert_eq!(
            answer["statusCode"],
            status,
            "{sub}; refused: {:?}",
            desk.iam.refusals()
        );
    }
    socket_answers(&stub, "ana-1=", 200).await;
    socket_answers(&stub, "bob-1=", 410).await;
    socket_answers(&stub, "sue-1=", 200).await;
    let conversation = id.parse().unwrap();
    let answer = live::invoke(&ports, function, &delivered(&offered(conversation, "zoe")))
        .await
        .unwrap();
    assert_eq!(answer, json!({"delivered": 2, "gone": 1}));
    let to: Vec<String> = pushed(&stub).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(to, ["ana-1%3D", "bob-1%3D", "sue-1%3D"]);
    let disconnect = route_event("$disconnect", "DISCONNECT", "ana-1=", Value::Null, None);
    live::invoke(&ports, function, &disconnect).await.unwrap();
    let parked = live::invoke(
        &ports,
        function,
        &json!({"detail-type": "ConversationOffered", "detail": "not an event"}),
    )
    .await
    .unwrap();
    assert_eq!(parked, "parked");

    desk.assert_nothing_refused();
    let actions = desk.actions_of("LiveFunction");
    for action in [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
    ] {
        assert!(
            actions.contains(action),
            "live never used {action}: {actions:?}"
        );
    }
}
