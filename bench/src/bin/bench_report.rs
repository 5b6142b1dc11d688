//! `bench-report`: the table of `scripts/bench.sh`, from the JSON the other
//! programs wrote and criterion's estimates, with each target of issue 6 met
//! or missed (and by how much).
//!
//! ```text
//! bench-report [--out target/wadesk-bench] [--criterion-dir target/criterion]
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use wadesk_bench::args::Args;
use wadesk_bench::prices::{self, billed_ms, lambda_invocation};
use wadesk_bench::results::{
    self, AwsReport, FunctionStartup, LatencyReport, LoadReport, OperationCost, StartupReport,
};
use wadesk_bench::BoxError;

/// Issue 6's targets.
const COLD_START_MS: f64 = 10.0;
const BINARY_MB: f64 = 8.0;
const RSS_MB: f64 = 24.0;
const ARMED_DYNAMODB: u64 = 2;
const ARMED_SCHEDULER: u64 = 0;
const COST_PER_MESSAGE: f64 = 0.000_01;
const RUNNER_PER_SECOND: f64 = 20_000.0;
const RUNNER_P99_MS: f64 = 5.0;

/// Assumed latencies for the "with network" cost column.
const AWS_REQUEST_MS: f64 = 5.0;
const GRAPH_SEND_MS: f64 = 150.0;

/// The criterion benches of `benches/handlers.rs`: (id, what).
const WARM_BENCHES: [(&str, &str); 5] = [
    (
        "webhook/one_message",
        "signed webhook, 1 message (verify, parse, decide, store)",
    ),
    ("webhook/batch_100", "signed webhook, 100-message batch"),
    (
        "desk/reopen",
        "reopen a finished conversation (`desk::reopen`)",
    ),
    ("desk/send", "agent sends a text (`desk::send`)"),
    (
        "analytics/consume_event",
        "analytics consumer counts one EventBridge delivery",
    ),
];

/// Which warm bench stands for an operation's Lambda duration.
fn warm_bench_of(operation: &str) -> Option<&'static str> {
    match operation {
        "inbound_new_window" | "inbound_armed_window" | "stop_webhook" => {
            Some("webhook/one_message")
        }
        "agent_send" => Some("desk/send"),
        "reopen" | "push" => Some("desk/reopen"),
        "analytics_single" => Some("analytics/consume_event"),
        _ => None,
    }
}

const MB: f64 = 1_000_000.0;

fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let out = PathBuf::from(args.text("out").unwrap_or(results::DEFAULT_DIR));
    let criterion = PathBuf::from(args.text("criterion-dir").unwrap_or("target/criterion"));
    let startup: Option<StartupReport> = results::read_json(&out, results::STARTUP_FILE)?;
    let aws: Option<AwsReport> = results::read_json(&out, results::AWS_FILE)?;
    let load: Option<LoadReport> = results::read_json(&out, results::LOAD_FILE)?;
    let latency: Option<LatencyReport> = results::read_json(&out, results::LATENCY_FILE)?;
    let warm = warm_estimates(&criterion)?;

    let mut report = Report::default();
    report.binaries(startup.as_ref());
    report.warm(&warm);
    if let Some(aws) = &aws {
        report.requests(aws, &warm);
    } else {
        report.line("AWS requests: not measured (aws-requests did not run).");
    }
    report.latency(latency.as_ref());
    report.throughput(load.as_ref());
    report.summary();
    print!("{}", report.text);
    Ok(())
}

/// Criterion's mean and median per bench, in ns.
fn warm_estimates(dir: &Path) -> Result<HashMap<&'static str, (f64, f64)>, BoxError> {
    let mut estimates = HashMap::new();
    for (id, _) in WARM_BENCHES {
        let path = dir.join(id).join("new").join("estimates.json");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes)?;
        let point = |name: &str| value[name]["point_estimate"].as_f64();
        if let (Some(mean), Some(median)) = (point("mean"), point("median")) {
            estimates.insert(id, (mean, median));
        }
    }
    Ok(estimates)
}

/// "met", or "missed by X (Y %)".
fn at_most(measured: f64, target: f64, unit: &str) -> String {
    if measured <= target {
        "met".into()
    } else {
        format!(
            "missed by {} {unit} ({:.0} %)",
            short(measured - target),
            (measured - target) / target * 100.0
        )
    }
}

fn at_least(measured: f64, target: f64, unit: &str) -> String {
    if measured >= target {
        "met".into()
    } else {
        format!(
            "missed by {} {unit} ({:.0} %)",
            short(target - measured),
            (target - measured) / target * 100.0
        )
    }
}

/// A number with about three significant digits.
fn short(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

fn dollars(value: f64) -> String {
    if value >= 0.01 {
        format!("${value:.4}")
    } else if value >= 0.0001 {
        format!("${value:.6}")
    } else {
        format!("${value:.8}")
    }
}

fn micros(ns: f64) -> String {
    format!("{} µs", short(ns / 1000.0))
}

#[derive(Default)]
struct Report {
    text: String,
    /// (target, measured, verdict) for the closing summary.
    targets: Vec<(String, String, String)>,
}

impl Report {
    fn line(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push('\n');
    }

    fn target(&mut self, target: String, measured: String, verdict: String) {
        self.targets.push((target, measured, verdict));
    }

    fn binaries(&mut self, startup: Option<&StartupReport>) {
        self.line("## Lambda binaries (release: opt-level `z`, fat LTO, 1 codegen unit, stripped)");
        self.line("");
        let Some(startup) = startup else {
            self.line("not measured (lambda-startup did not run).\n");
            return;
        };
        self.line("| binary | size | cold start to first poll, median (min–max) | peak RSS (VmHWM) after N invocations | invocations |");
        self.line("| --- | --- | --- | --- | --- |");
        let (functions, probes): (Vec<&FunctionStartup>, Vec<&FunctionStartup>) = startup
            .functions
            .iter()
            .partition(|f| !f.binary.starts_with("startup-probe"));
        for function in &functions {
            let size = function.size_bytes as f64 / MB;
            let cold = function.cold_start_ms.as_ref();
            let rss = function.rss.as_ref();
            let row = format!(
                "| `{}` | {:.2} MB | {} | {} | {} |",
                function.binary,
                size,
                cold.map_or("–".into(), |c| format!(
                    "{} ms ({}–{}, n={})",
                    short(c.median),
                    short(c.min),
                    short(c.max),
                    c.count
                )),
                rss.map_or("–".into(), |r| format!(
                    "{:.1} MB (VmRSS {:.1} MB) after {}",
                    r.vm_hwm_kib as f64 * 1024.0 / MB,
                    r.vm_rss_kib as f64 * 1024.0 / MB,
                    r.invocations
                )),
                function.note
            );
            self.line(&row);
            self.target(
                format!("`{}` release binary ≤ {BINARY_MB} MB", function.binary),
                format!("{size:.2} MB"),
                at_most(size, BINARY_MB, "MB"),
            );
            if let Some(cold) = cold {
                self.target(
                    format!("`{}` cold start ≤ {COLD_START_MS} ms", function.binary),
                    format!("{} ms median", short(cold.median)),
                    at_most(cold.median, COLD_START_MS, "ms"),
                );
            }
            if let Some(rss) = rss {
                let peak = rss.vm_hwm_kib as f64 * 1024.0 / MB;
                self.target(
                    format!("`{}` peak RSS ≤ {RSS_MB} MB", function.binary),
                    format!("{peak:.1} MB"),
                    at_most(peak, RSS_MB, "MB"),
                );
            }
        }
        self.line("");
        self.line("MB = 10^6 bytes. Cold start: from spawning the process to its first `GET /2018-06-01/runtime/invocation/next` on the benchmark's own Runtime API (127.0.0.1), with Lambda's environment and dummy credentials, after one uncounted start. What it is made of (`startup-probe`, one part of the start-up per mode):");
        self.line("");
        self.line("| start-up before the first poll | cold start, median (min–max) |");
        self.line("| --- | --- |");
        for probe in probes {
            let mode = probe.binary.trim_start_matches("startup-probe").trim();
            let cold = probe.cold_start_ms.as_ref().map_or("–".into(), |c| {
                format!("{} ms ({}–{})", short(c.median), short(c.min), short(c.max))
            });
            self.line(&format!("| `{mode}` | {cold} |"));
        }
        self.line("");
    }

    fn warm(&mut self, warm: &HashMap<&'static str, (f64, f64)>) {
        self.line("## Warm handler cost (criterion, embedded store)");
        self.line("");
        self.line("| operation | mean | median | per message |");
        self.line("| --- | --- | --- | --- |");
        for (id, what) in WARM_BENCHES {
            match warm.get(id) {
                Some(&(mean, median)) => {
                    let per = if id == "webhook/batch_100" {
                        micros(mean / 100.0)
                    } else {
                        micros(mean)
                    };
                    self.line(&format!(
                        "| {what} | {} | {} | {per} |",
                        micros(mean),
                        micros(median)
                    ));
                }
                None => self.line(&format!("| {what} | not measured | | |")),
            }
        }
        self.line("");
    }

    fn requests(&mut self, aws: &AwsReport, warm: &HashMap<&'static str, (f64, f64)>) {
        let model = CostModel::new(aws, warm);
        self.line("## AWS requests and cost per operation (moto's server, counted at the SDK)");
        self.line("");
        self.line("| operation | function | DynamoDB requests | write / read units | Scheduler | EventBridge (events) | Graph API sends | direct cost per 1,000 | all-in per 1,000 | all-in per 1,000, with network |");
        self.line("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for op in &aws.operations {
            // The batch's costs are shown per event it counts.
            let per = if op.key == prices::ANALYTICS_BATCH_KEY {
                prices::analytics_batch_events() as f64
            } else {
                1.0
            };
            let dynamodb: Vec<String> = op
                .requests
                .iter()
                .filter(|(name, _)| name.starts_with("dynamodb:"))
                .map(|(name, n)| format!("{} {n}", name.trim_start_matches("dynamodb:")))
                .collect();
            let description = if per > 1.0 {
                format!(
                    "{} ({} events: {} agents × {} answers, a window expiry each, a finish every other; {} queues, {} channels)",
                    op.description,
                    per,
                    prices::ANALYTICS_BATCH_AGENTS,
                    prices::ANALYTICS_REPLIES_PER_AGENT,
                    prices::ANALYTICS_BATCH_QUEUES,
                    prices::ANALYTICS_BATCH_CHANNELS
                )
            } else {
                op.description.clone()
            };
            let units = if per > 1.0 {
                format!(
                    "{} / {} ({} / {} per event)",
                    short(op.write_units),
                    short(op.read_units),
                    short(op.write_units / per),
                    short(op.read_units / per)
                )
            } else {
                format!("{} / {}", short(op.write_units), short(op.read_units))
            };
            let row = format!(
                "| {} | `{}` | {} ({}) | {} | {} | {} ({}) | {} | {} | {} | {} |",
                description,
                op.function,
                op.dynamodb_requests,
                dynamodb.join(", "),
                units,
                op.scheduler_requests,
                op.eventbridge_requests,
                op.events,
                op.graph_sends,
                dollars(model.direct(op, false).total() / per * 1000.0),
                dollars(model.all_in(op, false, 0).total() / per * 1000.0),
                dollars(model.all_in(op, true, 0).total() / per * 1000.0),
            );
            self.line(&row);
        }
        self.line("");
        let mix = [
            ("inbound_new_window", 1.0),
            ("inbound_armed_window", 4.0),
            ("agent_send", 5.0),
        ];
        let messages: f64 = mix.iter().map(|(_, n)| n).sum();
        let per_message = |network| {
            mix.iter()
                .filter_map(|(key, n)| {
                    model
                        .op(key)
                        .map(|op| model.all_in(op, network, 0).times(*n))
                })
                .fold(Cost::default(), |total, cost| total.plus(&cost))
                .times(1.0 / messages)
        };
        let (breakdown, networked) = (per_message(false), per_message(true));
        let quiet = breakdown.total();
        self.line(&format!(
            "Per message, conversation mix (1 new-window inbound, 4 armed-window inbound, 5 agent sends): **{} per 1,000** ({} per message); with network latency in the Lambda durations: {} per 1,000.",
            dollars(quiet * 1000.0),
            dollars(quiet),
            dollars(networked.total() * 1000.0)
        ));
        self.line("");
        self.line("Where it goes, per 1,000 messages of the mix (all-in, without network):");
        self.line("");
        self.line("| DynamoDB writes | DynamoDB reads | EventBridge events | API Gateway | Lambda | Scheduler | SQS | total |");
        self.line("| --- | --- | --- | --- | --- | --- | --- | --- |");
        let part = |value: f64| {
            format!(
                "{} ({:.0} %)",
                dollars(value * 1000.0),
                value / quiet * 100.0
            )
        };
        self.line(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            part(breakdown.dynamodb_writes),
            part(breakdown.dynamodb_reads),
            part(breakdown.events),
            part(breakdown.api),
            part(breakdown.lambda),
            part(breakdown.scheduler),
            part(breakdown.sqs),
            dollars(quiet * 1000.0)
        ));
        if let (Some(single), Some(_)) = (
            model.op("analytics_single"),
            model.op(prices::ANALYTICS_BATCH_KEY),
        ) {
            self.line("");
            self.line(&format!(
                "A counted event costs the analytics consumer {} per 1,000 in the full batch above, {} per 1,000 in a batch of one (a quiet hour); SQS included.",
                dollars(model.analytics_per_event(false).total() * 1000.0),
                dollars(
                    (model.direct(single, false).total()
                        + prices::SQS_REQUEST_PER_MILLION / 1e6 * prices::SQS_REQUESTS_PER_EVENT)
                        * 1000.0
                ),
            ));
        }
        self.line("");
        self.line(&format!(
            "Prices: {}, public on-demand list prices read on {}:",
            prices::REGION,
            prices::PRICES_READ_ON
        ));
        for line in prices::lines() {
            self.line(&format!("- {line}"));
        }
        self.line(&format!(
            "\nDirect: API Gateway (HTTP functions), the Lambda invocation billed for the measured warm duration (every one is under 1 ms: Lambda's 1 ms minimum; the batch's, the warm time per event times its events), DynamoDB units, events put on the bus (directly, or by the relay from the operation's outbox entries: the items it inserted carrying `events`), schedules fired. All-in adds what follows: each outbox entry one event-relay invocation (an upper bound: the stream hands the relay what a poll of a shard finds, up to 100 records), each counted event its share of the analytics batch above plus its SQS requests ({} per event: EventBridge's send, a tenth of a receive and of a delete), each `CustomerOptedOut` one opt-out invocation, each schedule one Scheduler invocation and one timers invocation (measured above). With network: each AWS request adds {AWS_REQUEST_MS} ms and each Graph API send {GRAPH_SEND_MS} ms of billed Lambda time (assumed latencies). Capacity: a write unit per started KB of the larger of the item before and after (×2 in a transaction, condition checks included), index `gsi1` entries one more per KB (two when their key moves); reads a unit per 4 KB strongly consistent, half eventually consistent. Largest item in the table after the run: {} bytes ({} of {} items over 1 KB).",
            prices::SQS_REQUESTS_PER_EVENT, aws.largest_item_bytes, aws.items_over_1kb, aws.items
        ));
        self.line("");

        if let Some(armed) = model.op("inbound_armed_window") {
            self.target(
                format!("inbound, armed window ≤ {ARMED_DYNAMODB} DynamoDB requests"),
                format!("{} DynamoDB", armed.dynamodb_requests),
                at_most(
                    armed.dynamodb_requests as f64,
                    ARMED_DYNAMODB as f64,
                    "requests",
                ),
            );
            self.target(
                format!("inbound, armed window: {ARMED_SCHEDULER} Scheduler requests"),
                format!("{} Scheduler", armed.scheduler_requests),
                at_most(
                    armed.scheduler_requests as f64,
                    ARMED_SCHEDULER as f64,
                    "requests",
                ),
            );
            let armed_cost = model.all_in(armed, false, 0).total();
            self.target(
                format!(
                    "AWS cost ≤ ${COST_PER_MESSAGE} per message: inbound, armed window (all-in)"
                ),
                dollars(armed_cost),
                at_most(armed_cost * 1e6, COST_PER_MESSAGE * 1e6, "µ$"),
            );
        }
        self.target(
            format!("AWS cost ≤ ${COST_PER_MESSAGE} per message: conversation mix (all-in)"),
            dollars(quiet),
            at_most(quiet * 1e6, COST_PER_MESSAGE * 1e6, "µ$"),
        );
    }

    fn latency(&mut self, latency: Option<&LatencyReport>) {
        let Some(latency) = latency else {
            self.line("## Wall time with simulated AWS round trips\n\nnot measured (latency did not run).\n");
            return;
        };
        let rtt = short(latency.round_trip_ms);
        self.line(&format!(
            "## Wall time with simulated AWS round trips ({rtt} ms per request; `latency`, moto behind `wadesk_proxy::LatencyProxy`)"
        ));
        self.line("");
        self.line(&format!(
            "Modelled: each run's trace replayed with every AWS request taking exactly {rtt} ms, the client's own time as measured. Through moto: the wall time itself, every request answered at {rtt} ms or when moto answered if later ({} model); moto handles one request at a time, so it counts for more the more requests run at once.",
            latency.model
        ));
        self.line("");
        self.line("| operation | AWS requests (most at once) | modelled p50 | p99 | through moto p50 | p99 | slower than the round trip | runs |");
        self.line("| --- | --- | --- | --- | --- | --- | --- | --- |");
        for s in &latency.scenarios {
            self.line(&format!(
                "| {} | {} ({}) | {} ms | {} ms | {} ms | {} ms | {} | {} |",
                s.description,
                s.requests,
                s.max_in_flight,
                short(s.modelled_ms.median),
                short(s.modelled_ms.p99),
                short(s.wall_ms.median),
                short(s.wall_ms.p99),
                s.slow_requests,
                s.wall_ms.count,
            ));
        }
        self.line("");
        for s in &latency.scenarios {
            if let Some(target) = s.target_ms {
                self.target(
                    format!(
                        "{} ≤ {} ms (median, {rtt} ms round trips)",
                        s.description,
                        short(target)
                    ),
                    format!(
                        "{} ms modelled ({} ms through moto)",
                        short(s.modelled_ms.median),
                        short(s.wall_ms.median)
                    ),
                    at_most(s.modelled_ms.median, target, "ms"),
                );
            }
        }
    }

    fn throughput(&mut self, load: Option<&LoadReport>) {
        self.line("## Local runner on loopback (`wadesk-local`, embedded store, signed `POST /webhook` from a second process)");
        self.line("");
        let Some(load) = load else {
            self.line("not measured (loadgen did not run).\n");
            return;
        };
        self.line("| load | offered | achieved | ok / failed | latency p50 | p99 | max | connections, customers |");
        self.line("| --- | --- | --- | --- | --- | --- | --- | --- |");
        for run in &load.runs {
            let latency = run.latency_ms.as_ref();
            let ms = |f: fn(&wadesk_bench::stats::Summary) -> f64| {
                latency.map_or("–".into(), |l| format!("{} ms", short(f(l))))
            };
            let offered = if run.mode == "fixed" {
                format!("{:.0}/s for {:.0} s", run.offered_per_second, run.seconds)
            } else {
                format!("closed loop for {:.0} s", run.seconds)
            };
            self.line(&format!(
                "| {} | {offered} | {:.0}/s | {} / {} | {} | {} | {} | {}, {} |",
                run.mode,
                run.achieved_per_second,
                run.ok,
                run.failed,
                ms(|l| l.median),
                ms(|l| l.p99),
                ms(|l| l.max),
                run.connections,
                run.customers
            ));
        }
        self.line("");
        let best = load
            .runs
            .iter()
            .map(|r| r.achieved_per_second)
            .fold(0.0, f64::max);
        self.target(
            format!("local runner ≥ {RUNNER_PER_SECOND:.0} inbound messages/s"),
            format!("{best:.0}/s (best run)"),
            at_least(best, RUNNER_PER_SECOND, "msg/s"),
        );
        if let Some(p99) = load
            .runs
            .iter()
            .find(|r| r.mode == "fixed")
            .and_then(|r| r.latency_ms.as_ref())
            .map(|l| l.p99)
        {
            self.target(
                format!("local runner p99 ≤ {RUNNER_P99_MS} ms at the fixed load"),
                format!("{} ms", short(p99)),
                at_most(p99, RUNNER_P99_MS, "ms"),
            );
        }
    }

    fn summary(&mut self) {
        let mut text =
            String::from("## Targets\n\n| target | measured | verdict |\n| --- | --- | --- |\n");
        for (target, measured, verdict) in &self.targets {
            let _ = writeln!(text, "| {target} | {measured} | {verdict} |");
        }
        self.text.push_str(&text);
    }
}

/// What an operation costs, by service.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    api: f64,
    lambda: f64,
    dynamodb_writes: f64,
    dynamodb_reads: f64,
    events: f64,
    scheduler: f64,
    sqs: f64,
}

impl Cost {
    fn total(&self) -> f64 {
        self.api
            + self.lambda
            + self.dynamodb_writes
            + self.dynamodb_reads
            + self.events
            + self.scheduler
            + self.sqs
    }

    fn plus(&self, other: &Cost) -> Cost {
        Cost {
            api: self.api + other.api,
            lambda: self.lambda + other.lambda,
            dynamodb_writes: self.dynamodb_writes + other.dynamodb_writes,
            dynamodb_reads: self.dynamodb_reads + other.dynamodb_reads,
            events: self.events + other.events,
            scheduler: self.scheduler + other.scheduler,
            sqs: self.sqs + other.sqs,
        }
    }

    fn times(&self, n: f64) -> Cost {
        Cost {
            api: self.api * n,
            lambda: self.lambda * n,
            dynamodb_writes: self.dynamodb_writes * n,
            dynamodb_reads: self.dynamodb_reads * n,
            events: self.events * n,
            scheduler: self.scheduler * n,
            sqs: self.sqs * n,
        }
    }
}

/// The cost of operations from their measured requests and the prices.
struct CostModel<'a> {
    ops: HashMap<&'a str, &'a OperationCost>,
    warm_ms: HashMap<&'static str, f64>,
}

impl<'a> CostModel<'a> {
    fn new(aws: &'a AwsReport, warm: &HashMap<&'static str, (f64, f64)>) -> Self {
        Self {
            ops: aws
                .operations
                .iter()
                .map(|op| (op.key.as_str(), op))
                .collect(),
            warm_ms: warm
                .iter()
                .map(|(id, (mean, _))| (*id, mean / 1e6))
                .collect(),
        }
    }

    fn op(&self, key: &str) -> Option<&'a OperationCost> {
        self.ops.get(key).copied()
    }

    /// The Lambda invocation's billed duration: the warm handler time (per
    /// event for the analytics batch), and with network the AWS requests and
    /// Graph API sends.
    fn lambda(&self, op: &OperationCost, network: bool) -> f64 {
        let warm = |bench: &str| self.warm_ms.get(bench).copied().unwrap_or(0.0);
        let mut ms = if op.key == prices::ANALYTICS_BATCH_KEY {
            warm("analytics/consume_event") * prices::analytics_batch_events() as f64
        } else {
            warm_bench_of(&op.key).map_or(0.0, warm)
        };
        if network {
            let aws = op.dynamodb_requests + op.scheduler_requests + op.eventbridge_requests;
            ms += aws as f64 * AWS_REQUEST_MS + op.graph_sends as f64 * GRAPH_SEND_MS;
        }
        lambda_invocation(billed_ms(ms))
    }

    /// The charges of the operation itself.
    fn direct(&self, op: &OperationCost, network: bool) -> Cost {
        Cost {
            api: if op.http {
                prices::HTTP_API_REQUEST_PER_MILLION / 1e6
            } else {
                0.0
            },
            lambda: self.lambda(op, network),
            dynamodb_writes: op.write_units * prices::DYNAMODB_WRITE_PER_MILLION / 1e6,
            dynamodb_reads: op.read_units * prices::DYNAMODB_READ_PER_MILLION / 1e6,
            events: op.events as f64 * prices::EVENTBRIDGE_EVENT_PER_MILLION / 1e6,
            ..Cost::default()
        }
    }

    /// One counted event's share of the measured analytics batch, and its
    /// SQS requests.
    fn analytics_per_event(&self, network: bool) -> Cost {
        let sqs = Cost {
            sqs: prices::SQS_REQUEST_PER_MILLION / 1e6 * prices::SQS_REQUESTS_PER_EVENT,
            ..Cost::default()
        };
        self.op(prices::ANALYTICS_BATCH_KEY).map_or(sqs, |batch| {
            self.direct(batch, network)
                .times(1.0 / prices::analytics_batch_events() as f64)
                .plus(&sqs)
        })
    }

    /// Direct charges plus everything the operation sets off (bounded depth).
    fn all_in(&self, op: &OperationCost, network: bool, depth: u32) -> Cost {
        let mut total = self.direct(op, network);
        if depth >= 3 {
            return total;
        }
        // Counted events, however they reach the bus: the analytics queue.
        total = total.plus(
            &self
                .analytics_per_event(network)
                .times(op.counted_events as f64),
        );
        // Each outbox entry: one relay invocation (the events it puts are
        // already the operation's own).
        if let Some(relay) = self.op("event_relay") {
            let invocation = Cost {
                lambda: self.lambda(relay, network),
                ..Cost::default()
            };
            total = total.plus(&invocation.times(op.outbox_items as f64));
        }
        let mut follow = |key: &str, times: u64, fire: bool| {
            if times > 0 {
                if let Some(next) = self.op(key) {
                    let mut cost = self.all_in(next, network, depth + 1);
                    if fire {
                        cost.scheduler += prices::SCHEDULER_INVOCATION_PER_MILLION / 1e6;
                    }
                    total = total.plus(&cost.times(times as f64));
                }
            }
        };
        follow("stop_opt_out", op.opt_out_events, false);
        follow("window_timer_fire", op.window_schedules, true);
        follow("offer_timer_fire", op.offer_schedules, true);
        total
    }
}
