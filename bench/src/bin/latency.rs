//! `latency`: a handler's wall time on AWS, modelled: the real adapters on
//! moto behind `wadesk_proxy::LatencyProxy`, which gives every AWS request a
//! fixed round trip (5 ms by default).
//!
//! ```text
//! latency --moto-endpoint http://127.0.0.1:PORT [--round-trip-ms 5]
//!         [--model floor|added] [--runs 31] [--batch-runs 11] [--out target/wadesk-bench]
//! ```
//!
//! `floor` (the default) answers each request at the round trip, or when moto
//! does if moto is slower (counted as `slow`): the round trip stands for
//! network and service time together. `added` puts the round trip on top of
//! moto's own (Python) time: a pessimistic bound. Either way moto's time
//! shows in the wall time (it handles one request at a time: a 100-message
//! batch waits on it for far longer than on DynamoDB), so each run's trace is
//! also replayed with every request taking exactly the round trip
//! (`LatencyProxy::replay`: the client's own time between answers and
//! requests as measured): the `modelled` figure, what the targets are about.
//!
//! Scenarios, each run on fresh customers so every run does the same work:
//! - `inbound_armed`: one message from a customer whose window is armed (their
//!   second message, a minute after the first);
//! - `inbound_batch_armed`: one webhook batch of 100 messages from 100 such
//!   customers;
//! - `agent_text`: an agent's text through the agent API, on a conversation
//!   they hold, on an instance that remembers nothing of it (the Graph API in
//!   process).
//!
//! To time another handler, build its app on [`sdk_config`] with the proxy's
//! URL ([`aws_app`]), `reset` the proxy, time the call as [`time_webhook`]
//! does and `replay` the trace between its start and end.

// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use wadesk_app::embedded::{LocalPoisonQueue, LocalWhatsApp};
use wadesk_aws::config::Resources;
use wadesk_bench::args::Args;
use wadesk_bench::fixtures;
use wadesk_bench::results::{self, LatencyReport, LatencyScenario};
use wadesk_bench::stats::Summary;
use wadesk_bench::BoxError;
use wadesk_domain::ManualClock;
use wadesk_proxy::{LatencyProxy, Model};

const TABLE: &str = "wadesk-bench-latency";
const BUS: &str = "wadesk-bench-latency";
const GROUP: &str = "wadesk-bench-latency";
const BATCH: u64 = 100;

type AwsApp = wadesk_aws::lambda::AwsApp<ManualClock, LocalWhatsApp>;

/// Clients for `endpoint`: the proxy for what is timed, moto for set-up.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .load()
        .await
}

struct Bench {
    /// Through the proxy: what is timed.
    app: AwsApp,
    /// Straight to moto: the set-up of each run.
    direct: AwsApp,
    /// The configurations `app` and `direct` are built on.
    timed_sdk: SdkConfig,
    admin_sdk: SdkConfig,
    /// Tables made so far (each batch run gets its own).
    tables: usize,
    clock: ManualClock,
    proxy: LatencyProxy,
    poison: LocalPoisonQueue,
    settings: webhook::WebhookSettings,
    /// The next unused customer number.
    next_customer: u64,
}

impl Bench {
    /// Moves both apps to a new, empty table with the directory seeded.
    /// moto copies a whole table on every transaction, so a batch run on the
    /// table earlier runs filled would time moto's copying, not the handler.
    async fn fresh_table(&mut self) -> Result<(), BoxError> {
        self.tables += 1;
        let table = format!("{TABLE}-{}", self.tables);
        wadesk_aws::dynamodb::create_table(&aws_sdk_dynamodb::Client::new(&self.admin_sdk), &table)
            .await?;
        self.app = aws_app(&self.timed_sdk, &self.clock, &table);
        self.direct = aws_app(&self.admin_sdk, &self.clock, &table);
        fixtures::seed_directory(&self.app.store).await
    }

    fn customers(&mut self, n: u64) -> Vec<u64> {
        let first = self.next_customer;
        self.next_customer += n;
        (first..first + n).collect()
    }

    /// A message from each customer, stored straight through the inbound
    /// service on moto (no routing: what follows does not depend on it), so
    /// that each has a live conversation and an armed window.
    async fn arm(&self, customers: &[u64]) -> Result<(), BoxError> {
        let at = wadesk_domain::Clock::now(&self.clock);
        let messages = customers
            .iter()
            .map(|&c| fixtures::inbound_text(c, &format!("wamid.LAT{c}a"), at, "hola"))
            .collect::<Result<Vec<_>, _>>()?;
        for outcome in wadesk_app::inbound::receive_messages(&self.direct, messages).await? {
            outcome?;
        }
        Ok(())
    }

    /// One webhook POST of a message from each customer, at the clock's
    /// time, through `app`.
    async fn post(
        &self,
        app: &AwsApp,
        customers: &[u64],
        tag: &str,
    ) -> Result<(Instant, Instant), BoxError> {
        let at = wadesk_domain::Clock::now(&self.clock).timestamp();
        let body = fixtures::batch_body(
            customers.iter().copied(),
            &format!("wamid.LAT{}{tag}", customers[0]),
            at,
        );
        time_webhook(app, &self.poison, &self.settings, body).await
    }
}

/// When one signed `POST /webhook` through the handler started and ended; an
/// answer other than 200 is an error.
pub async fn time_webhook(
    app: &AwsApp,
    poison: &LocalPoisonQueue,
    settings: &webhook::WebhookSettings,
    body: String,
) -> Result<(Instant, Instant), BoxError> {
    let request = fixtures::signed_webhook_post(body)?;
    let started = Instant::now();
    let response = webhook::handle(app, poison, settings, request).await;
    let ended = Instant::now();
    if response.status().as_u16() != 200 {
        return Err(format!(
            "webhook answered {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body().as_ref())
        )
        .into());
    }
    Ok((started, ended))
}

/// The measured runs of one scenario: wall and modelled times, the most
/// requests and requests in flight in a run, and the requests slower than the
/// round trip in all.
struct Measured {
    wall: Vec<f64>,
    modelled: Vec<f64>,
    requests: usize,
    max_in_flight: usize,
    slow: usize,
}

impl Measured {
    fn with_capacity(runs: usize) -> Self {
        Self {
            wall: Vec::with_capacity(runs),
            modelled: Vec::with_capacity(runs),
            requests: 0,
            max_in_flight: 0,
            slow: 0,
        }
    }

    /// One run that started and ended at these instants, with what the proxy saw.
    fn record(&mut self, proxy: &LatencyProxy, started: Instant, ended: Instant) {
        let stats = proxy.stats();
        self.wall.push((ended - started).as_secs_f64() * 1000.0);
        self.modelled
            .push(proxy.replay(started, ended).as_secs_f64() * 1000.0);
        self.requests = self.requests.max(stats.requests);
        self.max_in_flight = self.max_in_flight.max(stats.max_in_flight);
        self.slow += stats.slow;
    }

    /// The scenario's summary, also printed.
    fn scenario(
        self,
        key: &str,
        description: impl Into<String>,
        target_ms: Option<f64>,
    ) -> Result<LatencyScenario, BoxError> {
        let wall_ms = Summary::of(&self.wall).ok_or("no runs")?;
        let modelled_ms = Summary::of(&self.modelled).ok_or("no runs")?;
        eprintln!(
            "latency: {key:<22} modelled median {:.2} ms (p99 {:.2}); through moto median {:.2} ms (p99 {:.2}); {} requests, {} in flight at most, {} slower than the round trip in all",
            modelled_ms.median, modelled_ms.p99, wall_ms.median, wall_ms.p99, self.requests, self.max_in_flight, self.slow
        );
        Ok(LatencyScenario {
            key: key.into(),
            description: description.into(),
            requests: self.requests,
            max_in_flight: self.max_in_flight,
            slow_requests: self.slow,
            wall_ms,
            modelled_ms,
            target_ms,
        })
    }
}

/// `runs` times: `size` fresh customers write (unmeasured: new windows), a
/// minute passes, and one webhook batch of their second messages is timed.
async fn armed(
    bench: &mut Bench,
    key: &str,
    description: &str,
    size: u64,
    runs: usize,
    target_ms: Option<f64>,
) -> Result<LatencyScenario, BoxError> {
    let mut measured = Measured::with_capacity(runs);
    // One run more than measured: the first warms the connections.
    for run in 0..=runs {
        if size > 1 {
            bench.fresh_table().await?;
        }
        let customers = bench.customers(size);
        bench.arm(&customers).await?;
        bench.clock.advance(chrono::Duration::minutes(1));
        bench.proxy.reset();
        let (started, ended) = bench.post(&bench.app, &customers, "b").await?;
        if run > 0 {
            measured.record(&bench.proxy, started, ended);
        }
    }
    measured.scenario(key, description, target_ms)
}

/// `runs` texts of the agent on one conversation they hold, each a `POST
/// /conversations/{id}/messages` through the agent API's handler on an
/// instance that remembers nothing of the conversation (its snapshot hints
/// off: every text is the cold case): the caller with the conversation (one
/// read: the text decides on the conversation's copy of the window), the
/// transaction that stores it `pending`, the Graph API send, the two writes
/// that record its wamid, side by side. The Graph API is `LocalWhatsApp`
/// here, in process: its own time is microseconds, so the figure is what the
/// handler adds to the Graph API's time.
async fn agent_text(
    bench: &mut Bench,
    runs: usize,
    target_ms: Option<f64>,
) -> Result<LatencyScenario, BoxError> {
    let key = "agent_text";
    // Set up straight on moto: an agent holding a fresh conversation.
    let actor = fixtures::seed_agent(&bench.direct, false).await?;
    let customer = bench.customers(1)[0];
    let at = wadesk_domain::Clock::now(&bench.clock);
    let message = fixtures::inbound_text(customer, &format!("wamid.LATT{customer}"), at, "hi")?;
    let id = fixtures::receive(&bench.direct, message).await?;
    wadesk_app::desk::take(&bench.direct, &actor, id, false).await?;
    let cold = bench
        .app
        .clone()
        .with_snapshot_hints(wadesk_app::desk::SnapshotHints::disabled());
    let mut measured = Measured::with_capacity(runs);
    // One run more than measured: the first warms the connections.
    for run in 0..=runs {
        let body = serde_json::json!({ "text": format!("Answer {run}") }).to_string();
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("/conversations/{id}/messages"))
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(body))?;
        let request = fixtures::with_claims(request, fixtures::AGENT, "agent");
        bench.proxy.reset();
        let started = Instant::now();
        let response = agent_api::handle(&cold, request).await;
        let ended = Instant::now();
        if response.status().as_u16() != 201 {
            return Err(format!(
                "the agent API answered {}: {}",
                response.status(),
                String::from_utf8_lossy(response.body().as_ref())
            )
            .into());
        }
        if run > 0 {
            measured.record(&bench.proxy, started, ended);
        }
    }
    measured.scenario(
        key,
        "an agent's text through the agent API on a cold instance (Graph API in process)",
        target_ms,
    )
}

/// The application on the AWS adapters, its clients on `sdk`.
pub fn aws_app(sdk: &SdkConfig, clock: &ManualClock, table: &str) -> AwsApp {
    wadesk_aws::lambda::aws_app(
        sdk,
        &Resources::new(table, BUS, GROUP, fixtures::TARGET_ARN, fixtures::ROLE_ARN),
        clock.clone(),
        LocalWhatsApp::new(clock.clone()),
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let moto = args.moto_endpoint()?;
    let round_trip = Duration::from_secs_f64(args.get("round-trip-ms", 5.0)? / 1000.0);
    let model: Model = args.get("model", Model::Floor)?;
    let runs: usize = args.get("runs", 31)?;
    let batch_runs: usize = args.get("batch-runs", 11)?;
    let out = PathBuf::from(args.text("out").unwrap_or(results::DEFAULT_DIR));

    let admin = sdk_config(&moto).await;
    let plain_dynamodb = aws_sdk_dynamodb::Client::new(&admin);
    wadesk_aws::dynamodb::create_table(&plain_dynamodb, TABLE).await?;
    let _ = aws_sdk_scheduler::Client::new(&admin)
        .create_schedule_group()
        .name(GROUP)
        .send()
        .await;
    let _ = aws_sdk_eventbridge::Client::new(&admin)
        .create_event_bus()
        .name(BUS)
        .send()
        .await;

    let proxy = LatencyProxy::start(&moto, round_trip, model).await?;
    let t0 = fixtures::now_seconds();
    let clock = ManualClock::frozen_at(t0);
    let timed_sdk = sdk_config(proxy.url()).await;
    let app = aws_app(&timed_sdk, &clock, TABLE);
    let direct = aws_app(&admin, &clock, TABLE);
    fixtures::seed_directory(&app.store).await?;
    // Customers of this run: distinct from any earlier run on the same moto.
    let base = u64::try_from(t0.timestamp()).unwrap_or_default() % 10_000 * 100_000;
    let mut bench = Bench {
        app,
        direct,
        timed_sdk,
        admin_sdk: admin,
        tables: 0,
        clock,
        proxy,
        poison: LocalPoisonQueue::new(),
        settings: fixtures::webhook_settings(),
        next_customer: base,
    };
    let scenarios = vec![
        armed(
            &mut bench,
            "inbound_armed",
            "one message from a customer whose window is armed",
            1,
            runs,
            Some(12.0),
        )
        .await?,
        armed(
            &mut bench,
            "inbound_batch_armed",
            "one webhook batch of 100 messages from 100 customers with armed windows",
            BATCH,
            batch_runs,
            Some(60.0),
        )
        .await?,
        // 20 ms plus the Graph API's own time (issue 14).
        agent_text(&mut bench, runs, Some(20.0)).await?,
    ];
    let report = LatencyReport {
        round_trip_ms: round_trip.as_secs_f64() * 1000.0,
        model: model.as_str().into(),
        scenarios,
    };
    let path = results::write_json(&out, results::LATENCY_FILE, &report)?;
    eprintln!("latency: wrote {}", path.display());
    Ok(())
}
