//! `aws-requests`: what each operation costs on AWS, against moto's server.
//!
//! ```text
//! aws-requests --moto-endpoint http://127.0.0.1:PORT [--out target/wadesk-bench]
//! ```
//!
//! The application runs with the real DynamoDB, EventBridge and Scheduler
//! adapters on clients carrying two interceptors: [`RequestCounter`] (requests
//! sent, by service and operation) and [`CapacityMeter`] (DynamoDB capacity,
//! events, schedules); Graph API sends are counted by [`CountingWhatsApp`].
//! Each operation is driven through its handler (the webhook's `handle`, the
//! desk services the agent API calls, the timers, opt-out and analytics
//! handlers, and the event-relay handler on the table's stream), one after
//! the other on one story: a customer writes (new window, then an armed one),
//! the agent accepts and answers, the relay publishes the answer's events
//! from the outbox (desk operations make no EventBridge request themselves),
//! the answer is counted by analytics, the offer timer fires, the conversation is finished
//! and reopened; a second customer's window expires and gets the push; a third
//! sends `#STOP`; a supervisor reads the dashboard. Analytics counts the
//! answer alone (a batch of one) and a full batch of the analytics queue
//! ([`prices::ANALYTICS_BATCH_AGENTS`]). Events are counted where the relay
//! will put them too: an operation's outbox items' events are its own.
//! `WADESK_BENCH_WRITES=1` prints every item written, with its size.

// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use lambda_http::{Body, Response};
use serde_json::json;
use wadesk_app::analytics::AnalyticsReader;
use wadesk_app::embedded::LocalWhatsApp;
use wadesk_app::{App, ConversationStore};
use wadesk_aws::dynamodb::outbox::EVENTS;
use wadesk_aws::{DynamoStore, EventBridgePublisher, EventBridgeScheduler, RequestCounter};
use wadesk_bench::args::Args;
use wadesk_bench::meter::{self, CapacityMeter, CountingWhatsApp, TableSnapshot};
use wadesk_bench::prices::ANALYTICS_BATCH_KEY;
use wadesk_bench::results::{self, AwsReport, OperationCost};
use wadesk_bench::BoxError;
use wadesk_bench::{fixtures, prices};
use wadesk_domain::analytics::COUNTED_EVENT_TYPES;
use wadesk_domain::desk::Outgoing;
use wadesk_domain::{Clock, ConversationId, EventEnvelope, ManualClock, TimerInput};
use wadesk_local_runner::relay_stream;
use wadesk_local_runner::stream::StreamReader;

const TABLE: &str = "wadesk-bench-requests";
const BUS: &str = "wadesk-bench";
const GROUP: &str = "wadesk-bench";

type MeteredApp = App<(
    DynamoStore,
    EventBridgePublisher,
    EventBridgeScheduler,
    ManualClock,
    CountingWhatsApp<LocalWhatsApp>,
)>;

/// The meters, and an unmetered client to look at the table and schedules.
struct Meters {
    counter: RequestCounter,
    capacity: CapacityMeter,
    whatsapp: CountingWhatsApp<LocalWhatsApp>,
    plain_dynamodb: aws_sdk_dynamodb::Client,
    plain_scheduler: aws_sdk_scheduler::Client,
    /// Events the last measured operation set off (put on the bus, or in
    /// its outbox items): (detail-type, detail).
    last_events: Vec<(String, String)>,
}

/// An operation about to be measured.
struct Operation {
    key: &'static str,
    description: &'static str,
    function: &'static str,
    http: bool,
}

impl Meters {
    async fn begin(&mut self) -> Result<TableSnapshot, BoxError> {
        self.counter.reset();
        self.capacity.take();
        self.whatsapp.take();
        TableSnapshot::take(&self.plain_dynamodb, TABLE).await
    }

    async fn end(
        &mut self,
        before: TableSnapshot,
        operation: Operation,
    ) -> Result<OperationCost, BoxError> {
        let after = TableSnapshot::take(&self.plain_dynamodb, TABLE).await?;
        let log = self.capacity.take();
        let mut requests = BTreeMap::new();
        for request in self.counter.requests() {
            *requests.entry(request).or_insert(0) += 1;
        }
        let (write_units, _) = meter::write_units(&log.writes, &before, &after);
        // Where the write units go, item by item, on request.
        if std::env::var_os("WADESK_BENCH_WRITES").is_some() {
            for write in &log.writes {
                let bytes =
                    |snapshot: &TableSnapshot| snapshot.items.get(&write.key).map(|s| s.bytes);
                eprintln!(
                    "aws-requests:   {} writes {:?}: {:?} -> {:?} bytes{}",
                    operation.key,
                    write.key,
                    bytes(&before),
                    bytes(&after).or(write.put.as_ref().map(|p| p.bytes)),
                    if write.transactional {
                        ", in a transaction"
                    } else {
                        ""
                    }
                );
            }
        }
        // Events the operation sets off: put on the bus now, or written to
        // the outbox for the relay to put (each one event on the bus either way).
        // Events the operation sets off: put on the bus now, or written for
        // the relay on an item it inserted (an outbox item, an inbound
        // message's wamid item, a desk change's first new message: each
        // one event on the bus either way).
        let mut inserted: Vec<_> = log
            .writes
            .iter()
            .filter(|w| !before.items.contains_key(&w.key))
            .map(|w| w.key.clone())
            .collect();
        inserted.sort();
        inserted.dedup();
        let relayed = relayed_items(&self.plain_dynamodb, &inserted).await?;
        let mut set_off = log.events.clone();
        for event in relayed.iter().flatten() {
            set_off.push((event.type_name().to_owned(), serde_json::to_string(&event)?));
        }
        let counted = |types: &[&str]| {
            set_off
                .iter()
                .filter(|(t, _)| types.contains(&t.as_str()))
                .count() as u64
        };
        let cost = OperationCost {
            key: operation.key.into(),
            description: operation.description.into(),
            function: operation.function.into(),
            http: operation.http,
            dynamodb_requests: self.counter.count("dynamodb") as u64,
            scheduler_requests: self.counter.count("scheduler") as u64,
            eventbridge_requests: self.counter.count("eventbridge") as u64,
            requests,
            write_units,
            read_units: log.read_units,
            events: set_off.len() as u64,
            counted_events: counted(&COUNTED_EVENT_TYPES),
            opt_out_events: counted(&["CustomerOptedOut"]),
            window_schedules: log
                .schedules
                .iter()
                .filter(|n| n.starts_with("window-"))
                .count() as u64,
            offer_schedules: log
                .schedules
                .iter()
                .filter(|n| n.starts_with("offer-"))
                .count() as u64,
            graph_sends: self.whatsapp.take(),
            outbox_items: relayed.len() as u64,
        };
        eprintln!(
            "aws-requests: {:<28} dynamodb={} ({:.1} WRU, {:.1} RRU) scheduler={} eventbridge={} ({} events) graph={} {:?}",
            cost.key,
            cost.dynamodb_requests,
            cost.write_units,
            cost.read_units,
            cost.scheduler_requests,
            cost.eventbridge_requests,
            cost.events,
            cost.graph_sends,
            cost.requests
        );
        self.last_events = set_off;
        Ok(cost)
    }

    /// The last operation's event of type `detail_type`.
    fn event(&self, detail_type: &str) -> Result<EventEnvelope, BoxError> {
        let (_, detail) = self
            .last_events
            .iter()
            .find(|(t, _)| t == detail_type)
            .ok_or_else(|| format!("no {detail_type} event was published"))?;
        Ok(serde_json::from_str(detail)?)
    }

    /// The input of the armed schedule whose name starts with `prefix` and
    /// that `select` picks.
    async fn schedule_input(
        &self,
        prefix: &str,
        select: impl Fn(&TimerInput) -> bool,
    ) -> Result<TimerInput, BoxError> {
        let listed = self
            .plain_scheduler
            .list_schedules()
            .group_name(GROUP)
            .name_prefix(prefix)
            .send()
            .await?;
        for summary in listed.schedules() {
            let schedule = self
                .plain_scheduler
                .get_schedule()
                .group_name(GROUP)
                .name(summary.name().unwrap_or_default())
                .send()
                .await?;
            let input = schedule.target().and_then(|t| t.input()).unwrap_or("{}");
            if let Ok(timer) = serde_json::from_str::<TimerInput>(input) {
                if select(&timer) {
                    return Ok(timer);
                }
            }
        }
        Err(format!("no {prefix} schedule found").into())
    }
}

/// The events of each item among `keys` that carries some for the relay
/// (the stream's mapping passes on exactly those inserts).
async fn relayed_items(
    dynamodb: &aws_sdk_dynamodb::Client,
    keys: &[(String, String)],
) -> Result<Vec<Vec<EventEnvelope>>, BoxError> {
    let mut relayed = Vec::new();
    for (pk, sk) in keys {
        let item = dynamodb
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(sk.clone()))
            .consistent_read(true)
            .send()
            .await?;
        if let Some(AttributeValue::S(json)) = item.item().and_then(|i| i.get(EVENTS)) {
            relayed.push(serde_json::from_str::<Vec<EventEnvelope>>(json)?);
        }
    }
    Ok(relayed)
}

/// The analytics batch the cost model assumes (see
/// [`prices::ANALYTICS_BATCH_AGENTS`]), as wadesk events at `at`.
fn analytics_batch(at: chrono::DateTime<chrono::Utc>) -> Result<Vec<EventEnvelope>, BoxError> {
    use wadesk_domain::{AgentId, DomainEvent, MessageId, PhoneNumberId, QueueId};
    let channel = |n: usize| {
        PhoneNumberId::parse(format!(
            "10000000000000{}",
            n % prices::ANALYTICS_BATCH_CHANNELS
        ))
    };
    let mut events = Vec::new();
    for n in 0..prices::ANALYTICS_BATCH_AGENTS {
        let agent = AgentId::parse(format!("bench-agent-{n}"))?;
        let queue = QueueId::parse(format!(
            "bench-queue-{}",
            n % prices::ANALYTICS_BATCH_QUEUES
        ))?;
        for _ in 0..prices::ANALYTICS_REPLIES_PER_AGENT {
            events.push(EventEnvelope::new(
                DomainEvent::AgentReplied {
                    conversation_id: ConversationId::generate(),
                    agent: agent.clone(),
                    queue: queue.clone(),
                    channel: channel(n)?,
                    message_id: MessageId::generate(),
                    response_seconds: Some(40),
                    first_reply: true,
                },
                at,
            ));
        }
        let customer = fixtures::customer_key(900_000 + n as u64)?;
        let customer = wadesk_domain::CustomerKey::new(channel(n)?, customer.wa_id.clone());
        events.push(EventEnvelope::new(
            DomainEvent::WindowExpired {
                customer: customer.clone(),
                expired_at: at,
                last_conversation: None,
            },
            at,
        ));
        if n % 2 == 0 {
            events.push(EventEnvelope::new(
                DomainEvent::ConversationFinished {
                    conversation_id: ConversationId::generate(),
                    customer,
                    agent,
                    queue,
                    reason: "Resolved".into(),
                    handling_seconds: Some(300),
                },
                at,
            ));
        }
    }
    Ok(events)
}

/// `events` as the analytics queue hands them to the consumer: Lambda's SQS
/// event, each body the EventBridge event the rule put on the queue.
fn queue_delivery(events: &[EventEnvelope]) -> Result<analytics::SqsEvent, BoxError> {
    let records = events
        .iter()
        .map(|event| {
            let body = json!({
                "version": "0", "id": event.id.to_string(), "detail-type": event.type_name(),
                "source": "wadesk", "account": "123456789012", "time": event.at.to_rfc3339(),
                "region": "us-east-1", "resources": [], "detail": serde_json::to_value(event)?,
            });
            Ok(json!({
                "messageId": event.id.to_string(), "receiptHandle": "bench",
                "body": body.to_string(), "attributes": {}, "messageAttributes": {},
                "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wadesk-analytics",
                "awsRegion": "us-east-1",
            }))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    Ok(serde_json::from_value(json!({ "Records": records }))?)
}

/// The consumer parks nothing here: every event of the bench parses.
struct NoParking;

impl wadesk_aws::parking::Parking for NoParking {
    async fn park(&self, _record: String) -> Result<(), wadesk_aws::parking::ParkError> {
        Err(wadesk_aws::parking::ParkError(
            "the bench parks nothing".into(),
        ))
    }
}

/// The webhook function takes a signed delivery of `body` (200).
async fn webhook_accepts(
    app: &MeteredApp,
    poison: &wadesk_app::embedded::LocalPoisonQueue,
    settings: &webhook::WebhookSettings,
    body: String,
    what: &str,
) -> Result<(), BoxError> {
    let response =
        webhook::handle(app, poison, settings, fixtures::signed_webhook_post(body)?).await;
    expect_status(&response, 200, what)
}

fn expect_status(response: &Response<Body>, status: u16, what: &str) -> Result<(), BoxError> {
    if response.status().as_u16() == status {
        Ok(())
    } else {
        Err(format!(
            "{what}: answered {} ({:?}), not {status}",
            response.status(),
            String::from_utf8_lossy(response.body().as_ref())
        )
        .into())
    }
}

async fn moto_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .load()
        .await
}

/// The live conversation of customer number `customer`.
async fn live_conversation(app: &MeteredApp, customer: u64) -> Result<ConversationId, BoxError> {
    let key = fixtures::customer_key(customer)?;
    app.store
        .get_customer(&key)
        .await?
        .and_then(|c| c.live)
        .map(|live| live.conversation_id)
        .ok_or_else(|| format!("customer {customer} has no live conversation").into())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let endpoint = args.moto_endpoint()?;
    let out = PathBuf::from(args.text("out").unwrap_or(results::DEFAULT_DIR));
    let report = measure(&endpoint).await?;
    let path = results::write_json(&out, results::AWS_FILE, &report)?;
    eprintln!("aws-requests: wrote {}", path.display());
    Ok(())
}

async fn measure(endpoint: &str) -> Result<AwsReport, BoxError> {
    let sdk = moto_config(endpoint).await;
    let counter = RequestCounter::new();
    let capacity = CapacityMeter::new();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let eventbridge = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let scheduler = aws_sdk_scheduler::Client::from_conf(
        aws_sdk_scheduler::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let plain_dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let plain_scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let plain_eventbridge = aws_sdk_eventbridge::Client::new(&sdk);

    // Resources, as the template creates them (a rerun on the same moto reuses them).
    wadesk_aws::dynamodb::create_table(&plain_dynamodb, TABLE).await?;
    let _ = plain_scheduler
        .create_schedule_group()
        .name(GROUP)
        .send()
        .await;
    let _ = plain_eventbridge.create_event_bus().name(BUS).send().await;

    let t0 = fixtures::now_seconds();
    let clock = ManualClock::frozen_at(t0);
    let whatsapp = CountingWhatsApp::new(LocalWhatsApp::new(clock.clone()));
    let app: MeteredApp = App::new(
        DynamoStore::new(dynamodb, TABLE),
        EventBridgePublisher::new(eventbridge, BUS),
        EventBridgeScheduler::new(scheduler, GROUP, fixtures::TARGET_ARN, fixtures::ROLE_ARN),
        clock.clone(),
        whatsapp.clone(),
    );
    // Lambda's side of the event-relay's event-source mapping (stream reads
    // by a Lambda trigger are not billed, so they are not metered).
    let mut stream = StreamReader::from_sdk_config(&sdk, TABLE);
    let mut meters = Meters {
        counter,
        capacity,
        whatsapp,
        plain_dynamodb,
        plain_scheduler,
        last_events: Vec::new(),
    };
    fixtures::seed_directory(&app.store).await?;
    let actor = fixtures::seed_agent(&app, true).await?;
    let settings = fixtures::webhook_settings();
    let poison = wadesk_app::embedded::LocalPoisonQueue::new();
    // Customers of this run: distinct from any earlier run on the same moto.
    let base = u64::try_from(t0.timestamp()).unwrap_or_default() % 10_000 * 10_000;
    let (ana, luis, sara) = (base + 1, base + 2, base + 3);
    let mut ops = Vec::new();

    // 1. A customer writes: a new window (and a new conversation, offered to the agent).
    let before = meters.begin().await?;
    let body = fixtures::message_body(ana, &format!("wamid.BENCH{ana}.1"), t0.timestamp(), "Hola");
    webhook_accepts(&app, &poison, &settings, body, "first message").await?;
    ops.push(meters.end(before, Operation {
        key: "inbound_new_window",
        description: "inbound message, new window (new conversation, offered to the available agent)",
        function: "webhook",
        http: true,
    }).await?);
    let conversation = live_conversation(&app, ana).await?;
    wadesk_app::desk::accept(&app, &actor, conversation).await?;

    // 2. The same customer writes again a minute later: the window is armed.
    clock.advance(Duration::minutes(1));
    let before = meters.begin().await?;
    let at = clock.now().timestamp();
    let body = fixtures::message_body(ana, &format!("wamid.BENCH{ana}.2"), at, "¿Seguís ahí?");
    webhook_accepts(&app, &poison, &settings, body, "second message").await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "inbound_armed_window",
                    description: "inbound message, live conversation with an armed window",
                    function: "webhook",
                    http: true,
                },
            )
            .await?,
    );

    // 3. The agent answers (the desk changes so far relayed first, unmeasured).
    relay_stream(&mut stream, &app.events).await?;
    let before = meters.begin().await?;
    wadesk_app::desk::send(
        &app,
        &actor,
        conversation,
        Outgoing::Text("¡Hola! Sí, dime.".into()),
    )
    .await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "agent_send",
                    description: "agent sends a text (store pending, Graph API send, record wamid)",
                    function: "agent-api",
                    http: true,
                },
            )
            .await?,
    );
    let before = meters.begin().await?;
    relay_stream(&mut stream, &app.events).await?;
    ops.push(meters.end(before, Operation {
        key: "event_relay",
        description: "event-relay publishes one desk change's events from the table's stream (the answer's AgentReplied)",
        function: "event-relay",
        http: false,
    }).await?);
    let replied = meters.event("AgentReplied")?;

    // 4. Analytics counts: the answer alone (a quiet hour's batch of one),
    // then a full batch (what the queue gathers from a busy center).
    let consumer = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-analytics-consumer";
    let before = meters.begin().await?;
    let answer = analytics::consume_queue(
        &app.store,
        &NoParking,
        consumer,
        queue_delivery(&[replied])?,
    )
    .await;
    if !answer.batch_item_failures.is_empty() {
        return Err("the analytics consumer failed on the answer".into());
    }
    ops.push(meters.end(before, Operation {
        key: "analytics_single",
        description: "analytics consumer counts a batch of one event (AgentReplied: a quiet hour)",
        function: "analytics-consumer",
        http: false,
    }).await?);
    let batch = analytics_batch(clock.now())?;
    let before = meters.begin().await?;
    let answer =
        analytics::consume_queue(&app.store, &NoParking, consumer, queue_delivery(&batch)?).await;
    if !answer.batch_item_failures.is_empty() {
        return Err("the analytics consumer failed on the batch".into());
    }
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: ANALYTICS_BATCH_KEY,
                    description: "analytics consumer counts a full batch (per event below)",
                    function: "analytics-consumer",
                    http: false,
                },
            )
            .await?,
    );

    // 5. The offer's timer fires after the agent accepted: nothing to do.
    let offer = meters
        .schedule_input(
            "offer-",
            |t| matches!(t, TimerInput::Offer(o) if o.conversation_id == conversation),
        )
        .await?;
    let before = meters.begin().await?;
    timers::handle(&app, offer).await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "offer_timer_fire",
                    description: "offer time-out fires after the offer was accepted (no-op)",
                    function: "timers",
                    http: false,
                },
            )
            .await?,
    );

    // 6. Finished, then reopened inside the window.
    fixtures::finish(&app, &actor, conversation).await?;
    clock.advance(Duration::minutes(10));
    let before = meters.begin().await?;
    wadesk_app::desk::reopen(&app, &actor, conversation).await?;
    ops.push(meters.end(before, Operation {
        key: "reopen",
        description: "agent reopens a finished conversation inside the window (sends the reopen message)",
        function: "reopen",
        http: true,
    }).await?);

    // 7. A second customer's window expires; the agent sends the one push.
    let pushed =
        fixtures::finished_conversation(&app, &actor, luis, &format!("wamid.BENCH{luis}.1"))
            .await?;
    let luis_key = fixtures::customer_key(luis)?;
    let fire = meters
        .schedule_input(
            "window-",
            |t| matches!(t, TimerInput::Window(w) if w.customer == luis_key),
        )
        .await?;
    clock.advance(Duration::hours(24) + Duration::minutes(1));
    let before = meters.begin().await?;
    timers::handle(&app, fire).await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "window_timer_fire",
                    description:
                        "window schedule fires at expiry: window closed, WindowExpired published",
                    function: "timers",
                    http: false,
                },
            )
            .await?,
    );
    let before = meters.begin().await?;
    wadesk_app::desk::push(&app, &actor, pushed).await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "push",
                    description: "agent sends the utility template push after the window closed",
                    function: "reopen",
                    http: true,
                },
            )
            .await?,
    );

    // 8. A third customer, with an active conversation, sends #STOP.
    let at = clock.now();
    let stopping = fixtures::receive(
        &app,
        fixtures::inbound_text(sara, &format!("wamid.BENCH{sara}.1"), at, "hola")?,
    )
    .await?;
    fixtures::take_and_answer(&app, &actor, stopping).await?;
    let before = meters.begin().await?;
    let body = fixtures::message_body(
        sara,
        &format!("wamid.BENCH{sara}.2"),
        at.timestamp(),
        "#STOP",
    );
    webhook_accepts(&app, &poison, &settings, body, "#STOP").await?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "stop_webhook",
                    description: "#STOP through the webhook (opt-out recorded with the message)",
                    function: "webhook",
                    http: true,
                },
            )
            .await?,
    );
    let opted_out = meters.event("CustomerOptedOut")?;
    let before = meters.begin().await?;
    opt_out::handle(&app, &opted_out).await?;
    ops.push(meters.end(before, Operation {
        key: "stop_opt_out",
        description: "#STOP consequences in the opt-out function (session ended, one confirmation)",
        function: "opt-out",
        http: false,
    }).await?);

    // 9. A supervisor reads today's dashboard (her role from the directory).
    wadesk_app::desk::upsert_agent(
        &app,
        &wadesk_domain::AgentId::parse("sue")?,
        wadesk_app::desk::AgentProfile {
            name: "Sue".into(),
            role: wadesk_domain::Role::Supervisor,
            queues: Vec::new(),
            max_concurrent: 0,
        },
    )
    .await?;
    let reader = AnalyticsReader {
        counters: &app.store,
        conversations: &app.store,
        clock: &app.clock,
        bootstrap_admins: &[],
    };
    let today = clock.now().date_naive().to_string();
    let request = fixtures::with_claims(
        fixtures::http_get("/analytics/dashboard", &[("from", &today), ("to", &today)])?,
        "sue",
        "supervisor",
    );
    let before = meters.begin().await?;
    let response = analytics::handle(reader, request).await;
    expect_status(&response, 200, "dashboard")?;
    ops.push(
        meters
            .end(
                before,
                Operation {
                    key: "dashboard_read",
                    description: "supervisor reads today's dashboard (all scopes)",
                    function: "analytics-api",
                    http: true,
                },
            )
            .await?,
    );

    let snapshot = TableSnapshot::take(&meters.plain_dynamodb, TABLE).await?;
    let sizes: Vec<u64> = snapshot.items.values().map(|s| s.bytes).collect();
    Ok(AwsReport {
        operations: ops,
        largest_item_bytes: sizes.iter().copied().max().unwrap_or(0),
        items_over_1kb: sizes.iter().filter(|&&b| b > 1024).count() as u64,
        items: sizes.len() as u64,
    })
}
