//! What each benchmark program writes (JSON under `target/wadesk-bench/`) and
//! `bench-report` reads back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::stats::Summary;
use crate::BoxError;

/// Where the programs write their results unless told otherwise (`--out`).
pub const DEFAULT_DIR: &str = "target/wadesk-bench";

pub const STARTUP_FILE: &str = "startup.json";
pub const AWS_FILE: &str = "aws-requests.json";
pub const LOAD_FILE: &str = "loadgen.json";
pub const LATENCY_FILE: &str = "latency.json";

/// `lambda-startup`: one entry per Lambda binary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartupReport {
    pub functions: Vec<FunctionStartup>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionStartup {
    /// The binary's name (`webhook`, `analytics-api`, …).
    pub binary: String,
    pub size_bytes: u64,
    /// Process start (spawn) to the first `GET …/invocation/next`, in ms.
    pub cold_start_ms: Option<Summary>,
    /// Peak RSS after serving `invocations` events.
    pub rss: Option<RssRun>,
    /// Anything the reader must know (what the events did, what was skipped).
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RssRun {
    pub invocations: u64,
    /// `VmHWM` (peak resident set) read from `/proc/PID/status` before exit.
    pub vm_hwm_kib: u64,
    /// `VmRSS` at the same moment.
    pub vm_rss_kib: u64,
    /// What each invocation carried.
    pub event: String,
    /// How many answers were what the event should give (e.g. status 200 with the challenge).
    pub expected_answers: u64,
    /// The first answer, for the reader to check.
    pub first_answer: String,
    pub seconds: f64,
}

/// `aws-requests`: one entry per operation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AwsReport {
    pub operations: Vec<OperationCost>,
    /// The largest item in the table after every operation ran (bytes, by
    /// DynamoDB's item-size rules), and how many items exceed 1 KB.
    pub largest_item_bytes: u64,
    pub items_over_1kb: u64,
    pub items: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OperationCost {
    /// Stable key (`inbound_new_window`, …) and what was done.
    pub key: String,
    pub description: String,
    /// Which Lambda runs it (for the Lambda and API Gateway charges).
    pub function: String,
    /// Whether API Gateway fronts it (HTTP functions).
    pub http: bool,
    /// `service:Operation` → requests sent (the SDK interceptor's count).
    pub requests: BTreeMap<String, u64>,
    pub dynamodb_requests: u64,
    pub scheduler_requests: u64,
    pub eventbridge_requests: u64,
    /// DynamoDB capacity consumed, by DynamoDB's on-demand rules ([`crate::meter`]).
    pub write_units: f64,
    pub read_units: f64,
    /// Events put on the bus, and how many of them the analytics consumer counts
    /// (each is one invocation of it).
    pub events: u64,
    pub counted_events: u64,
    /// `CustomerOptedOut` events (each is one invocation of the opt-out function).
    pub opt_out_events: u64,
    /// One-time schedules created for a window's expiry: each fires once
    /// later (one Scheduler invocation, one timers invocation).
    pub window_schedules: u64,
    /// One-time schedules created for an offer's time-out, fired the same way.
    pub offer_schedules: u64,
    /// Messages sent through the Graph API (the counting WhatsApp client).
    pub graph_sends: u64,
    /// Outbox items written (desk changes with events): each reaches the
    /// event-relay through the table's stream, which publishes its events.
    #[serde(default)]
    pub outbox_items: u64,
}

/// `latency`: wall times on moto behind the latency proxy
/// (`wadesk_proxy::LatencyProxy`), one entry per scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatencyReport {
    /// The round trip every AWS request is given, and how (`floor`: at least
    /// this long, moto's own time inside it; `added`: on top of moto's time).
    pub round_trip_ms: f64,
    pub model: String,
    pub scenarios: Vec<LatencyScenario>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyScenario {
    /// Stable key (`inbound_armed`, …) and what was done.
    pub key: String,
    pub description: String,
    /// AWS requests of one run, and the most in flight at once.
    pub requests: usize,
    pub max_in_flight: usize,
    /// Requests moto answered later than the round trip (its own time then counts).
    pub slow_requests: usize,
    /// The handler's wall time through the proxy, from the request to its
    /// answer, in ms (moto's own time included when it is slower than the
    /// round trip).
    pub wall_ms: Summary,
    /// The same runs replayed with every request taking exactly the round
    /// trip (`wadesk_proxy::LatencyProxy::replay`), in ms.
    pub modelled_ms: Summary,
    /// The target for the median, if the issue set one.
    pub target_ms: Option<f64>,
}

/// `loadgen`: one entry per run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub runs: Vec<LoadRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadRun {
    /// `fixed` (open loop at `offered_per_second`) or `saturation` (closed loop).
    pub mode: String,
    pub offered_per_second: f64,
    pub seconds: f64,
    pub connections: usize,
    pub customers: u64,
    pub sent: u64,
    /// Answered 200.
    pub ok: u64,
    pub failed: u64,
    pub achieved_per_second: f64,
    /// From the request's scheduled start (open loop) or its send (closed
    /// loop) to the whole answer, in ms.
    pub latency_ms: Option<Summary>,
}

pub fn write_json<T: Serialize>(dir: &Path, file: &str, value: &T) -> Result<PathBuf, BoxError> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file);
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)?;
    Ok(path)
}

/// `None` when the file does not exist (that measurement was not run).
pub fn read_json<T: DeserializeOwned>(dir: &Path, file: &str) -> Result<Option<T>, BoxError> {
    let path = dir.join(file);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
            format!("{} is not what this version writes: {e}", path.display())
        })?)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}
