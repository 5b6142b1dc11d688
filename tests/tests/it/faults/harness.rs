//! The fault harness: a stack on moto behind the fault-injecting proxy, the
//! flows it runs, the platform's retries, and the comparison with a
//! fault-free run of the same flow (see the module above for what it proves).

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
use wadesk_app::embedded::{EmbeddedAnalytics, LocalWhatsApp};
use wadesk_app::{
    AnalyticsStore, ConversationStore, DeskStore, OutboundContent, SendError, WhatsAppClient,
};
use wadesk_domain::analytics::{Counters, Scope};
use wadesk_domain::desk::Outgoing;
use wadesk_domain::{
    Actor, AgentId, AgentState, Channel, Clock, ConversationId, DomainEvent, EventEnvelope,
    ManualClock, PhoneNumberId, Queue, QueueId, Role, TemplateRef, TimerInput, WaId, Wamid,
};
use wadesk_local_runner::stream::StreamReader;
use wadesk_tests::fault_proxy::{self, FaultProxy, Matcher, Rule, SdkRetries};
use wadesk_tests::{customer, moto_endpoint, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};

use crate::aws_adapters::fresh_resources;
use wadesk_aws::lambda::{aws_app, AwsApp};

pub(super) const APP_SECRET: &str = "fault-test-app-secret";
pub(super) const REOPEN_MESSAGE: &str = "We are back: how can we help?";
/// How often a retrier (WhatsApp, EventBridge, Scheduler, an agent) tries.
pub(super) const DELIVERIES: usize = 6;
/// Longer than the SDK's attempt time-out: a stall this long is a time-out.
pub(super) const STALL: StdDuration = StdDuration::from_millis(4000);

pub(super) const BATCH_GET: Matcher = Matcher::Target("BatchGetItem");
pub(super) const GET_ITEM: Matcher = Matcher::Target("GetItem");
pub(super) const PUT_ITEM: Matcher = Matcher::Target("PutItem");
pub(super) const TRANSACT_WRITE: Matcher = Matcher::Target("TransactWriteItems");
pub(super) const PUT_EVENTS: Matcher = Matcher::Target("PutEvents");
pub(super) const CREATE_SCHEDULE: Matcher = Matcher::CREATE_SCHEDULE;
/// The EventBridge adapter tries `PutEvents` 4 times itself: 4 faults in a
/// row make `publish` fail.
pub(super) const PUBLISH_ATTEMPTS: usize = 4;

// ---------------------------------------------------------------------------
// The Graph API stand-in.

/// The local WhatsApp, failing the sends it is told to fail (WhatsApp unavailable:
/// nothing reaches the customer).
#[derive(Debug, Clone)]
pub(super) struct FlakyWhatsApp {
    pub(super) local: LocalWhatsApp,
    pub(super) fail_next: Arc<AtomicUsize>,
    pub(super) failed: Arc<AtomicUsize>,
    /// Sends that go out but whose answer is lost (a time-out after WhatsApp
    /// took the message).
    pub(super) lose_next: Arc<AtomicUsize>,
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
        let sent = self.local.send(from, to, content).await?;
        let lose = self
            .lose_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lose {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(SendError::OutcomeUnknown {
                source: format!("Graph API: answer lost after sending {sent}").into(),
            });
        }
        Ok(sent)
    }
}

// ---------------------------------------------------------------------------
// The stack: the AWS adapters behind the proxy, and the platform's retries.

pub(super) type FaultApp = AwsApp<ManualClock, FlakyWhatsApp>;

/// Faults to install when a flow reaches a step.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    pub(super) rules: Vec<(&'static str, Rule)>,
    /// Graph API sends to fail, by step.
    pub(super) sends: Vec<(&'static str, usize)>,
    /// Graph API sends whose answer is lost, by step.
    pub(super) lost_answers: Vec<(&'static str, usize)>,
}

impl Plan {
    pub(super) fn none() -> Self {
        Self::default()
    }

    pub(super) fn at(step: &'static str, rule: Rule) -> Self {
        Self::none().and(step, rule)
    }

    pub(super) fn and(mut self, step: &'static str, rule: Rule) -> Self {
        self.rules.push((step, rule));
        self
    }

    pub(super) fn failing_sends(step: &'static str, count: usize) -> Self {
        Self {
            sends: vec![(step, count)],
            ..Self::none()
        }
    }

    pub(super) fn losing_answers(step: &'static str, count: usize) -> Self {
        Self {
            lost_answers: vec![(step, count)],
            ..Self::none()
        }
    }
}

pub(super) struct Stack {
    pub(super) proxy: FaultProxy,
    pub(super) app: FaultApp,
    pub(super) settings: webhook::WebhookSettings,
    /// Straight to moto, to read what Scheduler holds.
    pub(super) scheduler: aws_sdk_scheduler::Client,
    pub(super) group: String,
    pub(super) analytics: EmbeddedAnalytics,
    /// Bus entries handed to the consumers so far.
    pub(super) consumed: usize,
    /// The table's stream, as the event-relay's event-source mapping reads it.
    pub(super) stream: StreamReader,
    /// Every retry the platform made, as `what: [attempt outcomes]`.
    pub(super) retries: Vec<String>,
    pub(super) customers: BTreeSet<String>,
}

pub(super) fn ana() -> Actor {
    Actor {
        id: AgentId::parse("ana").unwrap(),
        role: Role::Agent,
    }
}

impl Stack {
    pub(super) async fn new(t0: DateTime<Utc>, retries: SdkRetries) -> Self {
        let proxy = FaultProxy::start(&moto_endpoint()).await;
        let sdk = fault_proxy::sdk_config(&proxy, retries).await;

        let resources = fresh_resources("wadesk-faults").await;
        let stream = StreamReader::new(
            wadesk_tests::dynamodbstreams_client().await,
            &resources.table,
        );
        let scheduler = wadesk_tests::scheduler_client(None).await;
        let group = resources.schedule_group.clone();

        let clock = ManualClock::frozen_at(t0);
        let app = aws_app(
            &sdk,
            &resources,
            clock.clone(),
            FlakyWhatsApp {
                local: LocalWhatsApp::new(clock),
                fail_next: Arc::default(),
                failed: Arc::default(),
                lose_next: Arc::default(),
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
    pub(super) async fn seed(&mut self) {
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
    pub(super) fn step(&self, plan: &Plan, step: &str) {
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
        for (at, count) in &plan.lost_answers {
            if *at == step {
                self.app
                    .whatsapp
                    .lose_next
                    .fetch_add(*count, Ordering::SeqCst);
            }
        }
    }

    pub(super) fn advance(&self, by: Duration) {
        self.app.clock.advance(by);
    }

    pub(super) fn signed_body(&self, from: &str, wamid: &str, text: &str) -> String {
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
    pub(super) async fn deliver(&self, body: &str) -> u16 {
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
    pub(super) async fn customer_writes(
        &mut self,
        from: &str,
        wamid: &str,
        text: &str,
    ) -> Vec<u16> {
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
    pub(super) async fn pump(&mut self) {
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
    pub(super) async fn relay(&mut self) {
        let mut outcomes = Vec::new();
        while let Some(batch) = self.stream.next_batch().await.unwrap() {
            let response = event_relay::handle(&self.app.events, batch.event.clone()).await;
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
    /// invoke the timers function with them.
    pub(super) async fn due_window_fires(&self) -> Vec<TimerInput> {
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

    /// Scheduler invokes the timers function, and retries a failed invocation.
    pub(super) async fn fire(&mut self, input: &TimerInput) -> &'static str {
        let mut outcomes = Vec::new();
        for _ in 0..DELIVERIES {
            let result = Box::pin(timers::handle(&self.app, input.clone())).await;
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
    pub(super) async fn fire_due_windows(&mut self) -> Vec<&'static str> {
        let mut outcomes = Vec::new();
        for input in self.due_window_fires().await {
            outcomes.push(self.fire(&input).await);
        }
        outcomes
    }

    /// What analytics counted for `scope`, over every hour.
    pub(super) async fn counted(&self, scope: &Scope) -> Counters {
        let (first, last) = hours_around(self.app.clock.now());
        let mut total = Counters::default();
        for (_, counters) in self.analytics.hourly(scope, first, last).await.unwrap() {
            total += &counters;
        }
        total
    }

    pub(super) fn conversation_of(wamid: &str) -> ConversationId {
        ConversationId::derived_from(&format!("conversation/{wamid}"))
    }

    /// Everything the flows compare, as JSON without what is random per run
    /// (versions, outbound wamids and message ids).
    pub(super) async fn outcome(&self) -> Outcome {
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
        let sent: Vec<Value> = self
            .app
            .whatsapp
            .local
            .sent()
            .iter()
            .map(|e| {
                let mut e = json(e);
                strip(&mut e, &["wamid"]);
                e
            })
            .collect();
        state.insert("sent".into(), Value::from(sent));
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
pub(super) fn scopes() -> Vec<Scope> {
    vec![
        Scope::All,
        Scope::Agent(ana().id),
        Scope::Queue(QueueId::default_queue()),
        Scope::Channel(PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap()),
        Scope::AgentInQueue(ana().id, QueueId::default_queue()),
    ]
}

/// Every hour a flow ending at `now` can have counted in.
pub(super) fn hours_around(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = Duration::hours(1);
    (
        (now - Duration::days(3)).duration_trunc(hour).unwrap(),
        (now + Duration::days(1)).duration_trunc(hour).unwrap(),
    )
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

pub(super) fn strip(value: &mut Value, fields: &[&str]) {
    if let Some(object) = value.as_object_mut() {
        for field in fields {
            object.remove(*field);
        }
    }
}

/// Without the optimistic-concurrency versions (a retried write bumps them).
pub(super) fn scrub(mut value: Value) -> Value {
    strip(&mut value, &["version"]);
    value
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Outcome {
    /// Distinct events on the bus, by id.
    pub(super) events: BTreeMap<Uuid, String>,
    /// Bus entries, repeats included.
    pub(super) deliveries: usize,
    pub(super) state: BTreeMap<String, Value>,
    /// Hourly analytics counters per scope, after every delivery.
    pub(super) counters: BTreeMap<String, Vec<(DateTime<Utc>, Counters)>>,
    /// The bus entries themselves (not compared).
    pub(super) details: Vec<String>,
    /// The hours `counters` covers.
    pub(super) hours: (DateTime<Utc>, DateTime<Utc>),
}

impl Outcome {
    pub(super) fn assert_same_as(&self, baseline: &Self, what: &str) {
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
pub(super) enum Flow {
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

pub(super) const C_INBOUND: &str = "34655000001";
pub(super) const C_REOPEN: &str = "34655000002";
pub(super) const C_DECLINE: &str = "34655000003";
pub(super) const C_STOP: &str = "34655000004";
pub(super) const C_WINDOW: &str = "34655000005";
pub(super) const C_QUEUED: &str = "34655000006";

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
pub(super) async fn finished_conversation(
    stack: &mut Stack,
    from: &str,
    wamid: &str,
) -> ConversationId {
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

pub(super) async fn run(flow: Flow, stack: &mut Stack, plan: &Plan) {
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
pub(super) async fn baseline(flow: Flow) -> &'static Outcome {
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
pub(super) fn t0() -> DateTime<Utc> {
    static T0: OnceLock<DateTime<Utc>> = OnceLock::new();
    *T0.get_or_init(|| {
        let now = wadesk_tests::now_seconds();
        now.duration_trunc(Duration::hours(1)).unwrap() + Duration::minutes(5)
    })
}

/// Runs `flow` with `plan`'s faults and checks it against the fault-free run;
/// answers the retries the platform made.
pub(super) async fn check(flow: Flow, plan: Plan) -> (Stack, Outcome) {
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
pub(super) fn retried(stack: &Stack, what: &str) {
    assert!(
        stack.retries.iter().any(|r| r.starts_with(what)),
        "expected a retry of `{what}`, got {:?}",
        stack.retries
    );
}

// ---------------------------------------------------------------------------
// Inbound.
