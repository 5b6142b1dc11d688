//! Faults: DynamoDB, EventBridge and Scheduler (through a fault-injecting proxy
//! in front of moto, `wadesk_tests::fault_proxy`) and the Graph API (a failing
//! WhatsApp client) fail or time out at chosen steps of inbound, reopen, `#STOP`
//! and window expiry. Each flow then runs on with the retries the platform
//! gives it:
//!
//! - WhatsApp redelivers the same webhook body until it gets a 200;
//! - EventBridge redelivers an event to a consumer (opt-out) whose invocation failed;
//! - desk changes leave their events in the table's outbox, and the event-relay
//!   function, fed the table's stream as its event-source mapping feeds it,
//!   publishes them; Lambda retries a batch it reports failed;
//! - Scheduler re-invokes the window-expiry function with the same input;
//! - an agent whose request got a 5xx tries again.
//!
//! and ends in the state a fault-free run of the same flow (same clock, same
//! wamids) ends in: the same conversations, customers, agents, transcripts,
//! outbox and schedules; the same set of event ids on the bus (republished
//! events keep their id); and every event delivered to analytics, duplicates
//! included, gives the same counters, so each counts exactly once.
//!
//! The SDK clients run with retries disabled so a fault reaches the
//! application; `the_sdk_retry_absorbs_*` show the standard retry hiding one.
//!
//! Every fault here was once a bug found by this harness (desk events lost
//! on a failed publish, a reopen message never sent, a second `#STOP`
//! confirmation); each now has its test among the others.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, DurationRound, Utc};
use lambda_http::Body;
use serde_json::Value;
use tokio::sync::OnceCell;
use uuid::Uuid;
use wadesk_app::desk::{AgentProfile, DeskFailure};
use wadesk_app::embedded::{EmbeddedAnalytics, LocalOutbox};
use wadesk_app::{
    AnalyticsStore, App, ConversationStore, DeskStore, OutboundContent, SendError, WhatsAppClient,
};
use wadesk_aws::{DynamoStore, EventBridgePublisher, EventBridgeScheduler};
use wadesk_domain::analytics::{Counters, Scope};
use wadesk_domain::desk::Outgoing;
use wadesk_domain::{
    Actor, AgentId, AgentState, Channel, Clock, ConversationId, DomainEvent, EventEnvelope,
    ManualClock, PhoneNumberId, Queue, QueueId, Role, TemplateRef, TimerInput, WaId, Wamid,
};
use wadesk_local_runner::stream::StreamReader;
use wadesk_tests::fault_proxy::{self, Fault, FaultProxy, Matcher, Rule, SdkRetries};
use wadesk_tests::{customer, moto_endpoint, unique_name, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};

use crate::aws_adapters::{schedule_group, ROLE_ARN, TARGET_ARN};

const APP_SECRET: &str = "fault-test-app-secret";
const REOPEN_MESSAGE: &str = "We are back: how can we help?";
/// How often a retrier (WhatsApp, EventBridge, Scheduler, an agent) tries.
const DELIVERIES: usize = 6;
/// Longer than the SDK's attempt time-out: a stall this long is a time-out.
const STALL: StdDuration = StdDuration::from_millis(4000);

const BATCH_GET: Matcher = Matcher::Target("BatchGetItem");
const GET_ITEM: Matcher = Matcher::Target("GetItem");
const PUT_ITEM: Matcher = Matcher::Target("PutItem");
const TRANSACT_WRITE: Matcher = Matcher::Target("TransactWriteItems");
const PUT_EVENTS: Matcher = Matcher::Target("PutEvents");
const CREATE_SCHEDULE: Matcher = Matcher::CREATE_SCHEDULE;
/// The EventBridge adapter tries `PutEvents` 4 times itself: 4 faults in a
/// row make `publish` fail.
const PUBLISH_ATTEMPTS: usize = 4;

// ---------------------------------------------------------------------------
// The Graph API stand-in.

/// The outbox, failing the sends it is told to fail (WhatsApp unavailable:
/// nothing reaches the customer).
#[derive(Debug, Clone)]
struct FlakyWhatsApp {
    outbox: LocalOutbox,
    fail_next: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
}

impl WhatsAppClient for FlakyWhatsApp {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        let fail = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(SendError::Unavailable {
                source: "Graph API: fault injected (503)".into(),
            });
        }
        self.outbox.send(from, to, content).await
    }
}

// ---------------------------------------------------------------------------
// The stack: the AWS adapters behind the proxy, and the platform's retries.

type FaultApp =
    App<DynamoStore, EventBridgePublisher, EventBridgeScheduler, ManualClock, FlakyWhatsApp>;

/// Faults to install when a flow reaches a step.
#[derive(Debug, Clone, Default)]
struct Plan {
    rules: Vec<(&'static str, Rule)>,
    /// Graph API sends to fail, by step.
    sends: Vec<(&'static str, usize)>,
}

impl Plan {
    fn none() -> Self {
        Self::default()
    }

    fn at(step: &'static str, rule: Rule) -> Self {
        Self::none().and(step, rule)
    }

    fn and(mut self, step: &'static str, rule: Rule) -> Self {
        self.rules.push((step, rule));
        self
    }

    fn failing_sends(step: &'static str, count: usize) -> Self {
        Self {
            rules: Vec::new(),
            sends: vec![(step, count)],
        }
    }
}

struct Stack {
    proxy: FaultProxy,
    app: FaultApp,
    settings: webhook::WebhookSettings,
    /// Straight to moto, to read what Scheduler holds.
    scheduler: aws_sdk_scheduler::Client,
    group: String,
    analytics: EmbeddedAnalytics,
    /// Bus entries handed to the consumers so far.
    consumed: usize,
    /// The table's stream, as the event-relay's event-source mapping reads it.
    stream: StreamReader,
    /// Every retry the platform made, as `what: [attempt outcomes]`.
    retries: Vec<String>,
    customers: BTreeSet<String>,
}

fn ana() -> Actor {
    Actor {
        id: AgentId::parse("ana").unwrap(),
        role: Role::Agent,
    }
}

impl Stack {
    async fn new(t0: DateTime<Utc>, retries: SdkRetries) -> Self {
        let proxy = FaultProxy::start(&moto_endpoint()).await;
        let sdk = fault_proxy::sdk_config(&proxy, retries).await;

        let table = unique_name("wadesk-faults");
        wadesk_aws::dynamodb::create_table(&wadesk_tests::dynamodb_client(None).await, &table)
            .await
            .unwrap();
        let stream = StreamReader::new(wadesk_tests::dynamodbstreams_client().await, &table);
        let bus = unique_name("wadesk-faults-bus");
        wadesk_tests::eventbridge_client(None)
            .await
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .unwrap();
        let scheduler = wadesk_tests::scheduler_client(None).await;
        let group = schedule_group(&scheduler).await;

        let clock = ManualClock::frozen_at(t0);
        let app = App::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), &bus),
            EventBridgeScheduler::new(
                aws_sdk_scheduler::Client::new(&sdk),
                &group,
                TARGET_ARN,
                ROLE_ARN,
            ),
            clock.clone(),
            FlakyWhatsApp {
                outbox: LocalOutbox::new(clock),
                fail_next: Arc::default(),
                failed: Arc::default(),
            },
        );
        let mut stack = Self {
            proxy,
            app,
            settings: webhook::WebhookSettings::new(APP_SECRET, "verify"),
            scheduler,
            group,
            analytics: EmbeddedAnalytics::new(),
            consumed: 0,
            stream,
            retries: Vec::new(),
            customers: BTreeSet::new(),
        };
        stack.seed().await;
        stack
    }

    /// The default queue, its channel, and ana available in it.
    async fn seed(&mut self) {
        let store = &self.app.store;
        store
            .put_queue(&Queue {
                id: QueueId::default_queue(),
                name: "Default".into(),
            })
            .await
            .unwrap();
        store
            .put_wrap_up_reasons(&["Resolved".to_owned()])
            .await
            .unwrap();
        store
            .put_channel(&Channel {
                phone_number_id: PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap(),
                display_phone_number: DISPLAY_PHONE_NUMBER.into(),
                chat_enabled: true,
                default_queue: QueueId::default_queue(),
                bot: false,
                mask_sensitive_data: false,
                reopen_message: REOPEN_MESSAGE.into(),
                push_template: Some(TemplateRef {
                    name: "follow_up".into(),
                    language: "en".into(),
                }),
                retention_days: Default::default(),
            })
            .await
            .unwrap();
        let profile = AgentProfile {
            name: "Ana".into(),
            role: Role::Agent,
            queues: vec![QueueId::default_queue()],
            max_concurrent: 3,
        };
        Box::pin(wadesk_app::desk::upsert_agent(
            &self.app,
            &ana().id,
            profile,
        ))
        .await
        .unwrap();
        Box::pin(wadesk_app::desk::set_state(
            &self.app,
            &ana().id,
            AgentState::Available,
        ))
        .await
        .unwrap();
        self.pump().await;
    }

    /// Installs the faults `plan` has for `step`.
    fn step(&self, plan: &Plan, step: &str) {
        for (at, rule) in &plan.rules {
            if *at == step {
                self.proxy.add(rule.clone());
            }
        }
        for (at, count) in &plan.sends {
            if *at == step {
                self.app
                    .whatsapp
                    .fail_next
                    .fetch_add(*count, Ordering::SeqCst);
            }
        }
    }

    fn advance(&self, by: Duration) {
        self.app.clock.advance(by);
    }

    fn signed_body(&self, from: &str, wamid: &str, text: &str) -> String {
        wadesk_whatsapp::text_message_body(
            PHONE_NUMBER_ID,
            DISPLAY_PHONE_NUMBER,
            from,
            "Lucía",
            text,
            wamid,
            self.app.clock.now().timestamp(),
        )
        .to_string()
    }

    /// One delivery of `body` to the webhook handler; answers the status.
    async fn deliver(&self, body: &str) -> u16 {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/webhook")
            .header(
                "x-hub-signature-256",
                wadesk_whatsapp::signature::sign(APP_SECRET.as_bytes(), body.as_bytes()),
            )
            .body(Body::Text(body.to_owned()))
            .unwrap();
        Box::pin(webhook::handle(
            &self.app,
            &wadesk_app::embedded::LocalPoisonQueue::new(),
            &self.settings,
            request,
        ))
        .await
        .status()
        .as_u16()
    }

    /// A customer message, redelivered as WhatsApp does until it gets a 200;
    /// every event published reaches the consumers after each delivery.
    async fn customer_writes(&mut self, from: &str, wamid: &str, text: &str) -> Vec<u16> {
        self.customers.insert(from.to_owned());
        let body = self.signed_body(from, wamid, text);
        let mut statuses = Vec::new();
        for _ in 0..DELIVERIES {
            let status = self.deliver(&body).await;
            statuses.push(status);
            self.pump().await;
            if status == 200 {
                break;
            }
        }
        if statuses.len() > 1 {
            self.retries.push(format!("webhook {wamid}: {statuses:?}"));
        }
        assert_eq!(
            statuses.last(),
            Some(&200),
            "{wamid} never stored: {statuses:?}"
        );
        statuses
    }

    /// Hands every event the bus accepted since the last call to its
    /// consumers, as EventBridge rules do: each to analytics (repeats
    /// included), `CustomerOptedOut` also to the opt-out function, redelivered
    /// until it succeeds. Events the consumers publish are handed on too.
    async fn pump(&mut self) {
        loop {
            self.relay().await;
            let details = self.proxy.published_details();
            if self.consumed >= details.len() {
                return;
            }
            for detail in &details[self.consumed..] {
                let event: EventEnvelope = serde_json::from_str(detail)
                    .unwrap_or_else(|e| panic!("a bus entry is not an event ({e}): {detail}"));
                wadesk_app::analytics::consume(&self.analytics, &event)
                    .await
                    .unwrap();
                if matches!(event.event, DomainEvent::CustomerOptedOut { .. }) {
                    let mut outcomes = Vec::new();
                    for _ in 0..DELIVERIES {
                        let result =
                            Box::pin(wadesk_app::opt_out::handle_event(&self.app, &event)).await;
                        outcomes.push(match &result {
                            Ok(outcome) => format!("{outcome:?}"),
                            Err(error) => format!("error: {error}"),
                        });
                        if result.is_ok() {
                            break;
                        }
                    }
                    if outcomes.len() > 1 || outcomes[0] != "Confirmed" {
                        self.retries
                            .push(format!("opt-out of event {}: {outcomes:?}", event.id));
                    }
                }
            }
            self.consumed = details.len();
        }
    }

    /// The event-relay function on every new batch of the table's stream
    /// (inserted outbox items), its events going to the bus through the
    /// proxy; a batch it reports failed is retried from the failed record, as
    /// Lambda does.
    async fn relay(&mut self) {
        let mut outcomes = Vec::new();
        while let Some(batch) = self.stream.next_batch().await.unwrap() {
            let response = event_relay::handle(&self.app.events, batch.event.clone())
                .await
                .unwrap();
            let failed = self.stream.checkpoint(&batch, &response);
            outcomes.push(if failed { "failed" } else { "relayed" });
            assert!(
                outcomes.len() < DELIVERIES * 4,
                "the relay never got through: {outcomes:?}"
            );
            if !failed && !batch.more {
                break;
            }
        }
        if outcomes.contains(&"failed") {
            self.retries.push(format!("relay: {outcomes:?}"));
        }
    }

    /// The window schedules Scheduler holds that are due now, as it would
    /// invoke the window-expiry function with them.
    async fn due_window_fires(&self) -> Vec<TimerInput> {
        let listed = self
            .scheduler
            .list_schedules()
            .group_name(&self.group)
            .send()
            .await
            .unwrap();
        let mut due = Vec::new();
        for summary in listed.schedules() {
            let name = summary.name().unwrap_or_default();
            if !name.starts_with("window-") {
                continue;
            }
            let schedule = self
                .scheduler
                .get_schedule()
                .group_name(&self.group)
                .name(name)
                .send()
                .await
                .unwrap();
            let input: TimerInput =
                serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
            if input.due_at() <= self.app.clock.now() {
                due.push(input);
            }
        }
        due
    }

    /// Scheduler invokes the window-expiry function, and retries a failed invocation.
    async fn fire(&mut self, input: &TimerInput) -> &'static str {
        let mut outcomes = Vec::new();
        for _ in 0..DELIVERIES {
            let result = Box::pin(window_expiry::handle(&self.app, input.clone())).await;
            self.pump().await;
            match result {
                Ok(fired) => {
                    outcomes.push(fired.outcome.to_owned());
                    if outcomes.len() > 1 {
                        self.retries.push(format!("window fire: {outcomes:?}"));
                    }
                    return fired.outcome;
                }
                Err(error) => outcomes.push(format!("error: {error}")),
            }
        }
        panic!("the window fire never succeeded: {outcomes:?}");
    }

    /// Scheduler fires every due window schedule.
    async fn fire_due_windows(&mut self) -> Vec<&'static str> {
        let mut outcomes = Vec::new();
        for input in self.due_window_fires().await {
            outcomes.push(self.fire(&input).await);
        }
        outcomes
    }

    /// What analytics counted for `scope`, over every hour.
    async fn counted(&self, scope: &Scope) -> Counters {
        let (first, last) = hours_around(self.app.clock.now());
        let mut total = Counters::default();
        for (_, counters) in self.analytics.hourly(scope, first, last).await.unwrap() {
            total += &counters;
        }
        total
    }

    fn conversation_of(wamid: &str) -> ConversationId {
        ConversationId::derived_from(&format!("conversation/{wamid}"))
    }

    /// Everything the flows compare, as JSON without what is random per run
    /// (versions, outbound wamids and message ids).
    async fn outcome(&self) -> Outcome {
        // Read past any rule still installed.
        self.proxy.clear();
        let details = self.proxy.published_details();
        let mut events: BTreeMap<Uuid, String> = BTreeMap::new();
        let mut conversations = BTreeSet::new();
        for detail in &details {
            let event: EventEnvelope = serde_json::from_str(detail).unwrap();
            let json = serde_json::to_value(&event).unwrap();
            if let Some(id) = json["detail"]["conversation_id"].as_str() {
                conversations.insert(id.to_owned());
            }
            events.insert(event.id, event.type_name().to_owned());
        }
        let store = &self.app.store;
        let mut state = BTreeMap::new();
        for id in &conversations {
            let id: ConversationId = id.parse().unwrap();
            let conversation = store.get_conversation(id).await.unwrap();
            state.insert(format!("conversation {id}"), scrub(json(&conversation)));
            let transcript: Vec<Value> = store
                .list_messages(id)
                .await
                .unwrap()
                .iter()
                .map(|m| {
                    let mut m = scrub(json(m));
                    if m["direction"] != "inbound" {
                        strip(&mut m, &["id", "wamid"]);
                    }
                    m
                })
                .collect();
            // Messages of the same instant sort by id, which is random for
            // outbound ones: compare the transcript as time, then content.
            let mut transcript = transcript;
            transcript.sort_by_key(|m| (m["at"].to_string(), m.to_string()));
            state.insert(format!("transcript {id}"), Value::from(transcript));
        }
        let now = self.app.clock.now();
        for wa_id in &self.customers {
            let customer = store.get_customer(&customer(wa_id)).await.unwrap();
            let mut value = scrub(json(&customer));
            let leased = customer
                .as_ref()
                .and_then(|c| c.send_lease_until)
                .is_some_and(|until| until > now);
            strip(&mut value, &["send_lease_until"]);
            value["send_lease_held"] = Value::Bool(leased);
            state.insert(format!("customer {wa_id}"), value);
        }
        let agent = store.get_agent(&ana().id).await.unwrap();
        state.insert("agent ana".into(), scrub(json(&agent)));
        let outbox: Vec<Value> = self
            .app
            .whatsapp
            .outbox
            .entries()
            .iter()
            .map(|e| {
                let mut e = json(e);
                strip(&mut e, &["wamid"]);
                e
            })
            .collect();
        state.insert("outbox".into(), Value::from(outbox));
        let listed = self
            .scheduler
            .list_schedules()
            .group_name(&self.group)
            .send()
            .await
            .unwrap();
        let mut schedules: Vec<String> = listed
            .schedules()
            .iter()
            .filter_map(|s| s.name().map(str::to_owned))
            .collect();
        schedules.sort();
        state.insert("schedules".into(), json(&schedules));

        let mut counters = BTreeMap::new();
        let (first, last) = hours_around(now);
        for scope in scopes() {
            let hours = self.analytics.hourly(&scope, first, last).await.unwrap();
            counters.insert(scope.key(), hours);
        }
        Outcome {
            events,
            deliveries: details.len(),
            details,
            state,
            counters,
            hours: (first, last),
        }
    }
}

/// The analytics scopes the flows touch.
fn scopes() -> Vec<Scope> {
    vec![
        Scope::All,
        Scope::Agent(ana().id),
        Scope::Queue(QueueId::default_queue()),
        Scope::Channel(PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap()),
        Scope::AgentInQueue(ana().id, QueueId::default_queue()),
    ]
}

/// Every hour a flow ending at `now` can have counted in.
fn hours_around(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = Duration::hours(1);
    (
        (now - Duration::days(3)).duration_trunc(hour).unwrap(),
        (now + Duration::days(1)).duration_trunc(hour).unwrap(),
    )
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn strip(value: &mut Value, fields: &[&str]) {
    if let Some(object) = value.as_object_mut() {
        for field in fields {
            object.remove(*field);
        }
    }
}

/// Without the optimistic-concurrency versions (a retried write bumps them).
fn scrub(mut value: Value) -> Value {
    strip(&mut value, &["version"]);
    value
}

#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// Distinct events on the bus, by id.
    events: BTreeMap<Uuid, String>,
    /// Bus entries, repeats included.
    deliveries: usize,
    state: BTreeMap<String, Value>,
    /// Hourly analytics counters per scope, after every delivery.
    counters: BTreeMap<String, Vec<(DateTime<Utc>, Counters)>>,
    /// The bus entries themselves (not compared).
    details: Vec<String>,
    /// The hours `counters` covers.
    hours: (DateTime<Utc>, DateTime<Utc>),
}

impl Outcome {
    fn assert_same_as(&self, baseline: &Self, what: &str) {
        let missing: Vec<_> = baseline
            .events
            .iter()
            .filter(|(id, _)| !self.events.contains_key(id))
            .collect();
        let extra: Vec<_> = self
            .events
            .iter()
            .filter(|(id, _)| !baseline.events.contains_key(id))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{what}: events lost {missing:?}, events not in the fault-free run {extra:?}"
        );
        for (key, expected) in &baseline.state {
            let got = self.state.get(key).unwrap_or(&Value::Null);
            assert_eq!(
                got, expected,
                "{what}: `{key}` differs from the fault-free run"
            );
        }
        assert_eq!(
            self.state.keys().collect::<Vec<_>>(),
            baseline.state.keys().collect::<Vec<_>>(),
            "{what}"
        );
        assert_eq!(
            self.counters, baseline.counters,
            "{what}: analytics counted differently from the fault-free run"
        );
    }
}

// ---------------------------------------------------------------------------
// The flows. Each names its steps; a plan installs faults when a step starts.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flow {
    /// A first message (new session, new window, offered to ana), a second
    /// one (live session, armed window), ana accepts and answers, a third.
    Inbound,
    /// A finished conversation; ana reopens it; a minute later the customer
    /// replies; ana ends and wraps it up again.
    Reopen,
    /// A reopened conversation the customer answers with `#STOP` (a decline),
    /// an active one whose customer sends `#STOP`; later both write again (opt-in).
    Stop,
    /// A message; 24 h later Scheduler fires the window schedule (expired),
    /// then fires it again (at least once: the same `WindowExpired`).
    Window,
    /// Nobody available: a first message (new session, new window) and a
    /// second wait in the queue; ana becomes available, is offered it, accepts.
    Queued,
}

const C_INBOUND: &str = "34655000001";
const C_REOPEN: &str = "34655000002";
const C_DECLINE: &str = "34655000003";
const C_STOP: &str = "34655000004";
const C_WINDOW: &str = "34655000005";
const C_QUEUED: &str = "34655000006";

/// Ana does `action`, trying again after a 5xx (up to `DELIVERIES` times).
macro_rules! agent_does {
    ($stack:expr, $what:expr, $action:expr) => {{
        let mut outcomes: Vec<String> = Vec::new();
        let result = loop {
            let result = Box::pin($action).await;
            $stack.pump().await;
            match result {
                Err(DeskFailure::App(error)) if outcomes.len() + 1 < DELIVERIES => {
                    outcomes.push(format!("5xx: {error}"));
                }
                other => break other,
            }
        };
        if !outcomes.is_empty() {
            outcomes.push(match &result {
                Ok(_) => "ok".to_owned(),
                Err(error) => format!("{error:?}"),
            });
            $stack.retries.push(format!("{}: {outcomes:?}", $what));
        }
        result
    }};
}

/// A conversation of `from` (first wamid `wamid`) that ana accepts, answers,
/// ends and wraps up.
async fn finished_conversation(stack: &mut Stack, from: &str, wamid: &str) -> ConversationId {
    stack
        .customer_writes(from, wamid, "Hello, I need help")
        .await;
    let id = Stack::conversation_of(wamid);
    let app = &stack.app;
    Box::pin(wadesk_app::desk::accept(app, &ana(), id))
        .await
        .unwrap();
    stack.advance(Duration::seconds(40));
    let app = &stack.app;
    wadesk_app::desk::send(
        app,
        &ana(),
        id,
        Outgoing::Text("Done, anything else?".into()),
    )
    .await
    .unwrap();
    Box::pin(wadesk_app::desk::end(app, &ana(), id))
        .await
        .unwrap();
    Box::pin(wadesk_app::desk::wrap_up(app, &ana(), id, "Resolved"))
        .await
        .unwrap();
    stack.pump().await;
    id
}

async fn run(flow: Flow, stack: &mut Stack, plan: &Plan) {
    match flow {
        Flow::Inbound => {
            stack.step(plan, "first");
            stack.customer_writes(C_INBOUND, "wamid.IN1", "Hola").await;
            stack.advance(Duration::minutes(2));
            stack.step(plan, "second");
            stack
                .customer_writes(C_INBOUND, "wamid.IN2", "¿hay alguien?")
                .await;
            stack.advance(Duration::minutes(1));
            let id = Stack::conversation_of("wamid.IN1");
            stack.step(plan, "accept");
            agent_does!(
                stack,
                "accept",
                wadesk_app::desk::accept(&stack.app, &ana(), id)
            )
            .unwrap();
            agent_does!(
                stack,
                "send",
                wadesk_app::desk::send(
                    &stack.app,
                    &ana(),
                    id,
                    Outgoing::Text("Hola, soy Ana".into())
                )
            )
            .unwrap();
            stack.advance(Duration::minutes(1));
            stack.step(plan, "third");
            stack
                .customer_writes(C_INBOUND, "wamid.IN3", "gracias")
                .await;
        }
        Flow::Reopen => {
            let id = finished_conversation(stack, C_REOPEN, "wamid.RE1").await;
            stack.advance(Duration::hours(1));
            stack.step(plan, "reopen");
            let reopened = agent_does!(
                stack,
                "reopen",
                wadesk_app::desk::reopen(&stack.app, &ana(), id)
            );
            reopened.unwrap();
            stack.advance(Duration::minutes(1));
            stack.step(plan, "reply");
            stack
                .customer_writes(C_REOPEN, "wamid.RE2", "yes, one more thing")
                .await;
            stack.advance(Duration::minutes(5));
            stack.step(plan, "finish");
            agent_does!(stack, "end", wadesk_app::desk::end(&stack.app, &ana(), id)).unwrap();
            agent_does!(
                stack,
                "wrap-up",
                wadesk_app::desk::wrap_up(&stack.app, &ana(), id, "Resolved")
            )
            .unwrap();
        }
        Flow::Stop => {
            let declined = finished_conversation(stack, C_DECLINE, "wamid.ST1").await;
            stack.advance(Duration::minutes(30));
            Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), declined))
                .await
                .unwrap();
            stack.pump().await;
            stack.advance(Duration::minutes(1));
            stack.step(plan, "decline");
            stack.customer_writes(C_DECLINE, "wamid.ST2", "#STOP").await;

            stack
                .customer_writes(C_STOP, "wamid.ST3", "I have a question")
                .await;
            let active = Stack::conversation_of("wamid.ST3");
            Box::pin(wadesk_app::desk::accept(&stack.app, &ana(), active))
                .await
                .unwrap();
            stack.pump().await;
            stack.advance(Duration::minutes(1));
            stack.step(plan, "stop");
            stack.customer_writes(C_STOP, "wamid.ST4", " #stop ").await;

            // Opted out: no reopen, no push.
            for id in [declined, active] {
                let reopen = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
                assert!(
                    matches!(
                        reopen,
                        Err(DeskFailure::Rule(wadesk_domain::DeskError::OptedOut))
                    ),
                    "{reopen:?}"
                );
            }
            stack.advance(Duration::hours(1));
            stack.step(plan, "opt-in");
            stack
                .customer_writes(C_DECLINE, "wamid.ST5", "hello again")
                .await;
        }
        Flow::Window => {
            stack.step(plan, "message");
            stack.customer_writes(C_WINDOW, "wamid.WI1", "hi").await;
            stack.advance(Duration::hours(24) + Duration::seconds(1));
            stack.step(plan, "fire");
            // `expired`, or `ignored` when a retry only had to republish.
            let fired = stack.fire_due_windows().await;
            assert_eq!(fired.len(), 1, "one window schedule is due");
            // Scheduler delivers at least once: the very same fire again.
            stack.proxy.clear();
            let again = stack.due_window_fires().await;
            assert_eq!(again.len(), 1);
            assert_eq!(stack.fire(&again[0]).await, "ignored");
        }
        Flow::Queued => {
            Box::pin(wadesk_app::desk::set_state(
                &stack.app,
                &ana().id,
                AgentState::NotReady,
            ))
            .await
            .unwrap();
            stack.pump().await;
            stack.step(plan, "first");
            stack.customer_writes(C_QUEUED, "wamid.QU1", "Hola").await;
            stack.advance(Duration::minutes(1));
            stack.step(plan, "second");
            stack.customer_writes(C_QUEUED, "wamid.QU2", "¿hola?").await;
            stack.advance(Duration::minutes(1));
            stack.step(plan, "available");
            agent_does!(
                stack,
                "available",
                wadesk_app::desk::set_state(&stack.app, &ana().id, AgentState::Available)
            )
            .unwrap();
            let id = Stack::conversation_of("wamid.QU1");
            agent_does!(
                stack,
                "accept",
                wadesk_app::desk::accept(&stack.app, &ana(), id)
            )
            .unwrap();
        }
    }
}

/// The flow without faults, run once per test binary (every test of a flow
/// compares against it; the clock starts at the same instant for all).
async fn baseline(flow: Flow) -> &'static Outcome {
    static CELLS: OnceLock<BTreeMap<Flow, OnceCell<Outcome>>> = OnceLock::new();
    let cells = CELLS.get_or_init(|| {
        [
            Flow::Inbound,
            Flow::Reopen,
            Flow::Stop,
            Flow::Window,
            Flow::Queued,
        ]
        .into_iter()
        .map(|f| (f, OnceCell::new()))
        .collect()
    });
    cells[&flow]
        .get_or_init(|| async move {
            let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
            Box::pin(run(flow, &mut stack, &Plan::none())).await;
            assert!(
                stack.retries.is_empty(),
                "the fault-free run retried: {:?}",
                stack.retries
            );
            stack.outcome().await
        })
        .await
}

/// The start of every flow: five minutes into an hour, so no flow's steps
/// straddle an analytics hour differently from its baseline.
fn t0() -> DateTime<Utc> {
    static T0: OnceLock<DateTime<Utc>> = OnceLock::new();
    *T0.get_or_init(|| {
        let now = wadesk_tests::now_seconds();
        now.duration_trunc(Duration::hours(1)).unwrap() + Duration::minutes(5)
    })
}

/// Runs `flow` with `plan`'s faults and checks it against the fault-free run;
/// answers the retries the platform made.
async fn check(flow: Flow, plan: Plan) -> (Stack, Outcome) {
    let baseline = baseline(flow).await;
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    Box::pin(run(flow, &mut stack, &plan)).await;
    let fired = stack.proxy.faults_fired() + stack.app.whatsapp.failed.load(Ordering::SeqCst);
    let outcome = stack.outcome().await;
    let what = format!("{flow:?} with {plan:?} (retries: {:?})", stack.retries);
    assert!(fired > 0, "{what}: the fault never fired");
    outcome.assert_same_as(baseline, &what);
    let exchanges = stack.proxy.exchanges();
    let faulted: Vec<String> = exchanges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.fault.is_some())
        .map(|(n, e)| {
            let before: Vec<&str> = exchanges[n.saturating_sub(3)..n]
                .iter()
                .map(|e| e.operation.as_str())
                .collect();
            format!("{} {:?} (after {before:?})", e.operation, e.fault)
        })
        .collect();
    println!("  faulted: {faulted:?}");
    println!(
        "{what}\n  → same as fault-free: {} distinct events from {} bus entries (fault-free: {} from {})",
        outcome.events.len(),
        outcome.deliveries,
        baseline.events.len(),
        baseline.deliveries
    );
    (stack, outcome)
}

/// Asserts that the platform retried (the fault reached the application).
fn retried(stack: &Stack, what: &str) {
    assert!(
        stack.retries.iter().any(|r| r.starts_with(what)),
        "expected a retry of `{what}`, got {:?}",
        stack.retries
    );
}

// ---------------------------------------------------------------------------
// Inbound.

#[tokio::test]
async fn inbound_read_fails_and_the_redelivery_stores_it_once() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("first", Rule::first(BATCH_GET, Fault::Status(500))),
    )
    .await;
    retried(&stack, "webhook wamid.IN1");
}

#[tokio::test]
async fn inbound_read_times_out_and_the_redelivery_stores_it_once() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("second", Rule::first(BATCH_GET, Fault::Stall(STALL))),
    )
    .await;
    retried(&stack, "webhook wamid.IN2");
}

#[tokio::test]
async fn inbound_commit_fails_and_the_redelivery_stores_it_once() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("first", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
            .and("second", Rule::first(TRANSACT_WRITE, Fault::Drop)),
    )
    .await;
    retried(&stack, "webhook wamid.IN1");
    retried(&stack, "webhook wamid.IN2");
}

#[tokio::test]
async fn inbound_commit_lost_on_a_live_session_is_a_duplicate_on_redelivery() {
    // The transaction commits, its answer never arrives: the redelivery is a
    // duplicate; the events committed with the message (its outbox item) are
    // relayed once.
    let (stack, outcome) = check(
        Flow::Inbound,
        Plan::at(
            "second",
            Rule::first(TRANSACT_WRITE, Fault::StallAfterForward(STALL)),
        ),
    )
    .await;
    retried(&stack, "webhook wamid.IN2");
    assert!(outcome.deliveries >= baseline(Flow::Inbound).await.deliveries);
}

#[tokio::test]
async fn inbound_schedule_fails_and_the_redelivery_arms_it_once() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("first", Rule::first(CREATE_SCHEDULE, Fault::Status(500))),
    )
    .await;
    retried(&stack, "webhook wamid.IN1");
}

#[tokio::test]
async fn inbound_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    // The message commits its events to the outbox in its own transaction and
    // the webhook makes no PutEvents call (it answers 200 at once); the
    // relay's publish fails (every retry of the publisher), it reports the
    // record failed, and Lambda's retry of the batch publishes them with the
    // ids the commit gave them.
    let (stack, outcome) = check(
        Flow::Inbound,
        Plan::at(
            "second",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(
        stack.retries.iter().all(|r| r.starts_with("relay")),
        "the webhook was not retried: {:?}",
        stack.retries
    );
    assert_eq!(
        outcome.deliveries,
        baseline(Flow::Inbound).await.deliveries,
        "nothing reached the bus before the relay's retry published it"
    );
}

#[tokio::test]
async fn inbound_events_time_out_after_reaching_the_bus_and_are_counted_once() {
    // EventBridge took the relayed events but the answer was lost: the
    // relay's retry publishes them again (same ids); analytics counts once.
    let (stack, outcome) = check(
        Flow::Inbound,
        Plan::at(
            "third",
            Rule::first(PUT_EVENTS, Fault::StallAfterForward(STALL)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(
        outcome.deliveries > baseline(Flow::Inbound).await.deliveries,
        "the same events reached the bus more than once"
    );
}

#[tokio::test]
async fn a_single_put_events_failure_is_absorbed_by_the_publisher() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("first", Rule::first(PUT_EVENTS, Fault::Status(500))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

#[tokio::test]
async fn the_sdk_retry_absorbs_a_single_transient_fault() {
    let baseline = baseline(Flow::Inbound).await;
    let mut stack = Stack::new(t0(), SdkRetries::Standard).await;
    // One transient fault per request kind: a 503 from Scheduler, a 500 from
    // DynamoDB's transaction, a dropped connection, a 500 from EventBridge.
    let plan = Plan::at("first", Rule::first(CREATE_SCHEDULE, Fault::Status(503)))
        .and("first", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
        .and("second", Rule::first(BATCH_GET, Fault::Drop))
        .and("third", Rule::first(PUT_EVENTS, Fault::Status(500)));
    Box::pin(run(Flow::Inbound, &mut stack, &plan)).await;
    assert_eq!(stack.proxy.faults_fired(), 4);
    assert!(
        stack.retries.is_empty(),
        "no fault reached the application: {:?}",
        stack.retries
    );
    stack
        .outcome()
        .await
        .assert_same_as(baseline, "standard SDK retry");
}

// ---------------------------------------------------------------------------
// Reopen.

#[tokio::test]
async fn reopen_commit_fails_and_the_agents_retry_reopens_once() {
    let (stack, _) = check(
        Flow::Reopen,
        Plan::at("reopen", Rule::first(TRANSACT_WRITE, Fault::Status(500))),
    )
    .await;
    retried(&stack, "reopen");
}

#[tokio::test]
async fn reopen_lease_release_fails_and_the_lease_expires() {
    // The reopen stands and its message went out once; the lease is left to
    // expire by itself (checked a minute later, when the customer replies).
    let (stack, _) = check(
        Flow::Reopen,
        Plan::at("reopen", Rule::first(PUT_ITEM, Fault::Status(500))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

#[tokio::test]
async fn reopen_lease_read_times_out_and_the_lease_expires() {
    // The release reads the customer first (GetItem); the reopen's own
    // snapshot comes before: the conversation (GetItem), then its customer,
    // agents, the caller's entry and the channel (one BatchGetItem).
    let (stack, _) = check(
        Flow::Reopen,
        Plan::at("reopen", Rule::nth(GET_ITEM, 2, Fault::Stall(STALL))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

// ---------------------------------------------------------------------------
// #STOP.

#[tokio::test]
async fn stop_confirmation_send_fails_and_the_redelivered_event_confirms_once() {
    let (stack, outcome) = check(Flow::Stop, Plan::failing_sends("stop", 1)).await;
    retried(&stack, "opt-out");
    let confirmations = outcome.state["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == C_STOP && m["text"] == wadesk_app::opt_out::OPT_OUT_CONFIRMATION)
        .count();
    assert_eq!(confirmations, 1);
}

#[tokio::test]
async fn stop_session_end_fails_and_the_redelivered_event_ends_it_once() {
    // The first TransactWriteItems is the #STOP itself; the second the opt-out
    // consumer ending the reopened conversation.
    let (stack, _) = check(
        Flow::Stop,
        Plan::at("decline", Rule::nth(TRANSACT_WRITE, 2, Fault::Status(500))),
    )
    .await;
    retried(&stack, "opt-out");
}

#[tokio::test]
async fn stop_claim_fails_and_the_redelivered_event_confirms_once() {
    // The consumer's first PutItem claims the confirmation.
    let (stack, _) = check(
        Flow::Stop,
        Plan::at("stop", Rule::first(PUT_ITEM, Fault::Drop)),
    )
    .await;
    retried(&stack, "opt-out");
}

#[tokio::test]
async fn stop_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    let (stack, _) = check(
        Flow::Stop,
        Plan::at(
            "stop",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        )
        .and(
            "decline",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    // Both `#STOP`s answered at once; their events reach opt-out through the
    // relay's retries.
    retried(&stack, "relay");
    assert!(
        stack.retries.iter().all(|r| r.starts_with("relay")),
        "{:?}",
        stack.retries
    );
}

#[tokio::test]
async fn stop_commit_fails_and_the_redelivery_opts_out_once() {
    let (stack, _) = check(
        Flow::Stop,
        Plan::at("stop", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
            .and("opt-in", Rule::first(BATCH_GET, Fault::Status(500))),
    )
    .await;
    retried(&stack, "webhook wamid.ST4");
    retried(&stack, "webhook wamid.ST5");
}

// ---------------------------------------------------------------------------
// Window expiry.

#[tokio::test]
async fn window_events_fail_after_the_save_and_the_refire_republishes_the_same_id() {
    let (stack, outcome) = check(
        Flow::Window,
        Plan::at(
            "fire",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "window fire");
    let expired: Vec<Uuid> = outcome
        .details
        .iter()
        .map(|d| serde_json::from_str::<EventEnvelope>(d).unwrap())
        .filter(|e| e.type_name() == "WindowExpired")
        .map(|e| e.id)
        .collect();
    assert!(
        expired.len() >= 2,
        "the retried fire and the duplicate fire both published it"
    );
    assert!(
        expired.iter().all(|id| *id == expired[0]),
        "always with the same id: {expired:?}"
    );
    assert_eq!(stack.counted(&Scope::All).await.window_expiries, 1);
}

#[tokio::test]
async fn window_save_is_lost_and_the_refire_republishes_the_same_id() {
    let (stack, _) = check(
        Flow::Window,
        Plan::at("fire", Rule::first(PUT_ITEM, Fault::DropAfterForward)),
    )
    .await;
    retried(&stack, "window fire");
}

#[tokio::test]
async fn window_read_fails_and_the_refire_expires_it_once() {
    let (stack, _) = check(
        Flow::Window,
        Plan::at("fire", Rule::first(GET_ITEM, Fault::Status(500))),
    )
    .await;
    retried(&stack, "window fire");
}

#[tokio::test]
async fn window_schedule_fails_and_the_redelivery_arms_it() {
    let (stack, _) = check(
        Flow::Window,
        Plan::at("message", Rule::first(CREATE_SCHEDULE, Fault::Drop)),
    )
    .await;
    retried(&stack, "webhook wamid.WI1");
}

// ---------------------------------------------------------------------------
// A first message that waits in the queue (nobody available to offer it to).

#[tokio::test]
async fn first_message_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    let (stack, outcome) = check(
        Flow::Queued,
        Plan::at(
            "first",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert_eq!(outcome.deliveries, baseline(Flow::Queued).await.deliveries);
}

#[tokio::test]
async fn first_message_commit_answer_lost_is_a_duplicate_on_redelivery() {
    let (stack, _) = check(
        Flow::Queued,
        Plan::at(
            "first",
            Rule::first(TRANSACT_WRITE, Fault::DropAfterForward),
        ),
    )
    .await;
    retried(&stack, "webhook wamid.QU1");
}

#[tokio::test]
async fn first_message_schedule_times_out_and_the_redelivery_arms_it_once() {
    // The schedule is created, its answer lost: the redelivery's create is a
    // conflict on the deterministic name, which counts as armed.
    let (stack, _) = check(
        Flow::Queued,
        Plan::at(
            "first",
            Rule::first(CREATE_SCHEDULE, Fault::StallAfterForward(STALL)),
        ),
    )
    .await;
    retried(&stack, "webhook wamid.QU1");
}

// ---------------------------------------------------------------------------
// Reopen: what a Graph API failure and a stuck send lease leave behind.

#[tokio::test]
async fn reopen_send_fails_is_a_5xx_and_the_retry_sends_the_same_message_once() {
    // What a Graph API failure leaves, and what the agent's retry does with it
    // (`reopen_send_fails_and_the_agents_retry_sends_it_once` runs it in the flow).
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.RS1").await;
    stack.advance(Duration::hours(1));
    let before = stack.app.whatsapp.outbox.entries().len();
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(
        matches!(first, Err(DeskFailure::App(_))),
        "the agent is told it failed (5xx): {first:?}"
    );
    // Nothing is hidden: the reopen stands and its message waits, unsent.
    let store = &stack.app.store;
    let conversation = store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(
        conversation.status,
        wadesk_domain::ConversationStatus::Reopened
    );
    let reopen_message = |transcript: &[wadesk_domain::Message]| {
        let found: Vec<_> = transcript
            .iter()
            .filter(|m| m.content.text() == Some(REOPEN_MESSAGE))
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "one reopen message in the transcript");
        found[0].clone()
    };
    let unsent = reopen_message(&store.list_messages(id).await.unwrap());
    assert_eq!(unsent.status, Some(wadesk_domain::DeliveryStatus::Pending));
    assert_eq!(unsent.wamid, None);
    let customer = store
        .get_customer(&customer(C_REOPEN))
        .await
        .unwrap()
        .unwrap();
    assert!(
        customer
            .send_lease_until
            .is_none_or(|until| until <= stack.app.clock.now()),
        "the send lease is released after the failed send"
    );
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before);
    // The agent's retry sends that very message, and reopens nothing twice.
    let retry = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(retry.is_ok(), "{retry:?}");
    stack.pump().await;
    let sent = reopen_message(&stack.app.store.list_messages(id).await.unwrap());
    assert_eq!(sent.id, unsent.id);
    assert!(sent.wamid.is_some(), "its wamid is recorded");
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before + 1);
    // Once it went out, a further retry is refused as before.
    let again = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            again,
            Err(DeskFailure::Rule(
                wadesk_domain::DeskError::SessionActiveElsewhere
            ))
        ),
        "{again:?}"
    );
    stack.pump().await;
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before + 1);
    assert_eq!(
        stack.counted(&Scope::Agent(ana().id)).await.agent_initiated,
        1
    );
}

#[tokio::test]
async fn push_send_fails_and_the_retry_sends_its_template_never_a_second_push() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.PS1").await;
    stack.advance(Duration::hours(25));
    let before = stack.app.whatsapp.outbox.entries().len();
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(matches!(first, Err(DeskFailure::App(_))), "{first:?}");
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before);
    let retry = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    assert!(retry.is_ok(), "{retry:?}");
    stack.pump().await;
    let pushes = |stack: &Stack| {
        stack
            .app
            .whatsapp
            .outbox
            .entries()
            .iter()
            .filter(|e| e.kind == "template")
            .count()
    };
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before + 1);
    assert_eq!(
        pushes(&stack),
        1,
        "{:?}",
        stack.app.whatsapp.outbox.entries()
    );
    let again = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            again,
            Err(DeskFailure::Rule(wadesk_domain::DeskError::PushAlreadySent))
        ),
        "{again:?}"
    );
    assert_eq!(stack.app.whatsapp.outbox.entries().len(), before + 1);
    let transcript = stack.app.store.list_messages(id).await.unwrap();
    let templates: Vec<_> = transcript
        .iter()
        .filter(|m| matches!(m.content, wadesk_domain::MessageContent::Template { .. }))
        .collect();
    assert_eq!(templates.len(), 1);
    assert!(templates[0].wamid.is_some());
}

#[tokio::test]
async fn a_stop_after_a_failed_reopen_send_wins_over_the_agents_retry() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.SR1").await;
    stack.advance(Duration::hours(1));
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(matches!(first, Err(DeskFailure::App(_))), "{first:?}");
    let before = stack.app.whatsapp.outbox.entries().len();
    stack.customer_writes(C_REOPEN, "wamid.SR2", "#STOP").await;
    // The #STOP was acknowledged and its consumer ran: every retry is refused.
    for _ in 0..2 {
        let retry = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
        assert!(
            matches!(
                retry,
                Err(DeskFailure::Rule(wadesk_domain::DeskError::OptedOut))
            ),
            "{retry:?}"
        );
        stack.pump().await;
    }
    let sent = stack.app.whatsapp.outbox.entries();
    let texts: Vec<&str> = sent[before..]
        .iter()
        .filter_map(|e| e.text.as_deref())
        .collect();
    assert_eq!(
        texts,
        [wadesk_app::opt_out::OPT_OUT_CONFIRMATION],
        "only the confirmation went out after the #STOP"
    );
}

#[tokio::test]
async fn a_stuck_send_lease_holds_the_stop_acknowledgement_until_it_expires() {
    // The lease release fails: the reopen still answers 200 (its message went
    // out once), and a #STOP is acknowledged only once the lease has expired,
    // so nothing of the reopen can go out after the acknowledgement.
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.LS1").await;
    stack.advance(Duration::hours(1));
    stack.proxy.add(Rule::first(PUT_ITEM, Fault::Status(500)));
    Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id))
        .await
        .unwrap();
    stack.pump().await;
    assert_eq!(stack.proxy.faults_fired(), 1);
    let held = stack
        .app
        .store
        .get_customer(&customer(C_REOPEN))
        .await
        .unwrap()
        .unwrap()
        .send_lease_until
        .unwrap();
    assert!(held > stack.app.clock.now(), "the lease was not released");

    let body = stack.signed_body(C_REOPEN, "wamid.LS2", "#STOP");
    let clock = stack.app.clock.clone();
    let expiry = tokio::spawn(async move {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        clock.advance(Duration::seconds(
            wadesk_domain::desk::SEND_LEASE_SECONDS + 1,
        ));
        std::time::Instant::now()
    });
    let status = stack.deliver(&body).await;
    let acknowledged = std::time::Instant::now();
    let expired = expiry.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        acknowledged >= expired,
        "the #STOP was acknowledged while the lease was held"
    );
    stack.pump().await;
    let reopen = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            reopen,
            Err(DeskFailure::Rule(wadesk_domain::DeskError::OptedOut))
        ),
        "{reopen:?}"
    );
    let sent = stack.app.whatsapp.outbox.entries();
    let texts: Vec<&str> = sent.iter().filter_map(|e| e.text.as_deref()).collect();
    assert_eq!(
        texts.iter().filter(|t| **t == REOPEN_MESSAGE).count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| **t == wadesk_app::opt_out::OPT_OUT_CONFIRMATION)
            .count(),
        1,
        "{texts:?}"
    );
}

// ---------------------------------------------------------------------------
// Analytics' own store failing: EventBridge retries the consumer.

#[tokio::test]
async fn analytics_store_faults_still_count_every_event_once() {
    // The bus entries of the fault-free #STOP flow (reopens, replies,
    // finishes, declines, opt-outs), each delivered twice to the consumer on
    // DynamoDB behind the proxy, whose counting transaction fails (500),
    // drops, or commits and loses its answer on successive events; a failed
    // delivery is retried as EventBridge does. The counters must equal what
    // the fault-free flow counted.
    let baseline = baseline(Flow::Stop).await;
    let proxy = FaultProxy::start(&moto_endpoint()).await;
    let sdk = fault_proxy::sdk_config(&proxy, SdkRetries::Disabled).await;
    let table = unique_name("wadesk-faults-analytics");
    wadesk_aws::dynamodb::create_table(&wadesk_tests::dynamodb_client(None).await, &table)
        .await
        .unwrap();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let faults = [
        None,
        Some(Fault::Status(500)),
        Some(Fault::DropAfterForward),
        Some(Fault::Drop),
    ];
    let mut counted = 0;
    let mut retries = 0;
    for detail in &baseline.details {
        let event: EventEnvelope = serde_json::from_str(detail).unwrap();
        if wadesk_domain::analytics::increment_for(&event).is_none() {
            continue;
        }
        if let Some(fault) = faults[counted % faults.len()] {
            proxy.add(Rule::first(TRANSACT_WRITE, fault));
        }
        counted += 1;
        for _delivery in 0..2 {
            let mut attempts = 0;
            while let Err(error) = wadesk_app::analytics::consume(&store, &event).await {
                attempts += 1;
                assert!(attempts < DELIVERIES, "never counted: {error}");
            }
            retries += attempts;
        }
    }
    assert!(counted >= faults.len(), "only {counted} counted events");
    assert!(retries > 0 && proxy.faults_fired() > 0);
    let (first, last) = baseline.hours;
    for scope in scopes() {
        let hours = store.hourly(&scope, first, last).await.unwrap();
        assert_eq!(
            hours,
            baseline.counters[&scope.key()],
            "{scope}: counted differently from the fault-free run"
        );
    }
}

// ---------------------------------------------------------------------------
// Faults that were bugs until the outbox, the reopen resend and the
// at-most-once confirmation.

#[tokio::test]
async fn first_message_events_fail_to_publish_and_the_offer_is_made_anyway() {
    // The events wait in the outbox for the relay's retry; the offer is made
    // in the request, as without a fault.
    check(
        Flow::Inbound,
        Plan::at(
            "first",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
}

#[tokio::test]
async fn first_message_commit_answer_lost_and_the_redelivery_offers_it() {
    check(
        Flow::Inbound,
        Plan::at(
            "first",
            Rule::first(TRANSACT_WRITE, Fault::DropAfterForward),
        ),
    )
    .await;
}

#[tokio::test]
async fn offer_timer_fails_and_whatsapps_redelivery_offers_it() {
    // The second CreateSchedule of the first message is the offer's time-out.
    check(
        Flow::Inbound,
        Plan::at("first", Rule::nth(CREATE_SCHEDULE, 2, Fault::Status(500))),
    )
    .await;
}

#[tokio::test]
async fn reopen_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    // The reopen commits its events to the outbox in its own transaction and
    // makes no PutEvents call; the relay's publish fails (every retry of
    // the publisher), it reports the record failed, and Lambda's retry of the
    // batch publishes ChatReopened with the id the commit gave it.
    let (stack, outcome) = check(
        Flow::Reopen,
        Plan::at(
            "reopen",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(
        stack.retries.iter().all(|r| r.starts_with("relay")),
        "{:?}",
        stack.retries
    );
    assert!(outcome.events.values().any(|t| t == "ChatReopened"));
    assert_eq!(
        stack.counted(&Scope::Agent(ana().id)).await.agent_initiated,
        1
    );
}

#[tokio::test]
async fn desk_events_time_out_after_reaching_the_bus_and_are_counted_once() {
    // EventBridge took the relayed events but the answer was lost: the retry
    // of the batch publishes them again (same ids); analytics counts once.
    let (stack, outcome) = check(
        Flow::Reopen,
        Plan::at(
            "finish",
            Rule::first(PUT_EVENTS, Fault::StallAfterForward(STALL)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(outcome.deliveries > baseline(Flow::Reopen).await.deliveries);
}

#[tokio::test]
async fn reopen_commit_answer_lost_and_the_reopen_message_goes_out_once() {
    // The request finds its commit stored after all and finishes it.
    check(
        Flow::Reopen,
        Plan::at(
            "reopen",
            Rule::first(TRANSACT_WRITE, Fault::DropAfterForward),
        ),
    )
    .await;
}

#[tokio::test]
async fn reopen_send_fails_and_the_agents_retry_sends_it_once() {
    let (stack, _) = check(Flow::Reopen, Plan::failing_sends("reopen", 1)).await;
    retried(&stack, "reopen");
}

#[tokio::test]
async fn stop_confirmation_mark_fails_and_the_customer_is_told_once() {
    // The consumer's PutItems: the claim, then the mark after the send.
    check(
        Flow::Stop,
        Plan::at("stop", Rule::nth(PUT_ITEM, 2, Fault::Status(500))),
    )
    .await;
}
