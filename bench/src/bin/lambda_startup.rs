//! `lambda-startup`: size, cold start and peak memory of each Lambda's release
//! binary, against a local Lambda Runtime API ([`wadesk_bench::runtime_api`]).
//!
//! ```text
//! lambda-startup --bin-dir target/release [--runs 21] [--invocations 10000]
//!                [--moto-endpoint http://127.0.0.1:PORT] [--out target/wadesk-bench]
//! ```
//!
//! For each binary found in `--bin-dir`: its size; `--runs` cold starts (after
//! one that is not counted), each from the spawn of the process to its first
//! poll of `GET /2018-06-01/runtime/invocation/next`; then one process serving
//! `--invocations` events that need no AWS (where one exists), with `VmHWM`
//! read from `/proc/PID/status` while it waits for the next event. The
//! environment is what Lambda and the SAM template give the functions, with
//! dummy credentials and nothing inherited from the shell.
//!
//! `startup-probe` (this crate) is measured the same way in each of its modes,
//! to show what a cold start is made of.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::{Child, Command};
use wadesk_bench::args::Args;
use wadesk_bench::fixtures::{self, VERIFY_TOKEN};
use wadesk_bench::results::{self, FunctionStartup, RssRun, StartupReport};
use wadesk_bench::runtime_api::{AnswerCheck, RuntimeApi};
use wadesk_bench::stats::Summary;
use wadesk_bench::BoxError;
use wadesk_domain::{DomainEvent, EventEnvelope, WindowFire};

/// The table name the functions are given (created on moto for timers).
const TABLE: &str = "wadesk-bench";
/// How long one start may take before the run counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One binary and the event it is invoked with for the memory run.
struct Case {
    binary: String,
    /// Extra environment (the probe's mode).
    env: Vec<(String, String)>,
    event: Value,
    /// What the event is, for the table.
    event_note: String,
    check: AnswerCheck,
    /// The event needs DynamoDB: only run against moto.
    needs_aws: bool,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let bin_dir = PathBuf::from(args.text("bin-dir").unwrap_or("target/release"));
    let out = PathBuf::from(args.text("out").unwrap_or(results::DEFAULT_DIR));
    let runs: usize = args.get("runs", 21)?;
    let invocations: u64 = args.get("invocations", 10_000)?;
    let moto = args.text("moto-endpoint").map(str::to_owned);
    if let Some(endpoint) = &moto {
        create_table(endpoint).await?;
    }
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)?;

    let mut report = StartupReport {
        functions: Vec::new(),
    };
    for case in cases()? {
        let path = bin_dir.join(&case.binary);
        if !path.exists() {
            eprintln!("lambda-startup: {} not built, skipped", path.display());
            continue;
        }
        let label = label(&case);
        eprintln!("lambda-startup: {label}: {runs} cold starts");
        let size_bytes = std::fs::metadata(&path)?.len();
        let log = logs.join(format!("{}.log", label.replace(' ', "-")));
        let cold = cold_starts(&path, &case, runs, &log, moto.as_deref()).await?;
        let mut note = String::new();
        let rss = if case.binary == "startup-probe" {
            None
        } else if case.needs_aws && moto.is_none() {
            note = "no moto endpoint given: memory run skipped".into();
            None
        } else {
            eprintln!("lambda-startup: {label}: {invocations} invocations");
            Some(memory_run(&path, &case, invocations, &log, moto.as_deref()).await?)
        };
        if let Some(run) = &rss {
            note = format!(
                "{} ({} of {} answers as expected)",
                case.event_note, run.expected_answers, run.invocations
            );
        }
        report.functions.push(FunctionStartup {
            binary: label,
            size_bytes,
            cold_start_ms: Summary::of(&cold),
            rss,
            note,
        });
    }
    let path = results::write_json(&out, results::STARTUP_FILE, &report)?;
    eprintln!("lambda-startup: wrote {}", path.display());
    Ok(())
}

fn label(case: &Case) -> String {
    match case.env.first() {
        Some((_, mode)) => format!("{} {mode}", case.binary),
        None => case.binary.clone(),
    }
}

/// The environment Lambda and the SAM template give every function.
fn lambda_env(runtime_api: &str, function: &str) -> Vec<(String, String)> {
    let fixed = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wadesk-bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/23/[$LATEST]bench"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("RUST_LOG", "info"),
        ("WADESK_TABLE", TABLE),
        ("WADESK_EVENT_BUS", "wadesk-bench"),
        ("WADESK_SCHEDULE_GROUP", "wadesk-bench"),
        (
            "WADESK_TIMERS_TARGET_ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:wadesk-bench-timers",
        ),
        (
            "WADESK_SCHEDULER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/wadesk-bench-scheduler",
        ),
        ("WADESK_OFFER_TIMEOUT_SECONDS", "30"),
        ("WHATSAPP_GRAPH_API_TOKEN", "bench-graph-token"),
        ("WHATSAPP_APP_SECRET", fixtures::APP_SECRET),
        ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
        // Where failures and files go (the template's values): read at
        // start-up, used only when something fails or a file is kept.
        (
            "WADESK_FAILURE_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/wadesk-bench-failures",
        ),
        (
            "WADESK_POISON_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/wadesk-bench-poison",
        ),
        (
            "WADESK_SCHEDULE_DLQ_ARN",
            "arn:aws:sqs:us-east-1:123456789012:wadesk-bench-schedule-dlq",
        ),
        ("WADESK_MEDIA_BUCKET", "wadesk-bench-media"),
        // The live function's WebSocket API and the issuer it trusts: read at
        // start-up, used on a push or a $connect with a token.
        (
            "WADESK_LIVE_ENDPOINT",
            "https://wadesk-bench.execute-api.us-east-1.amazonaws.com/live",
        ),
        (
            "WADESK_JWT_ISSUER",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench",
        ),
        ("WADESK_JWT_AUDIENCE", "bench-console"),
    ];
    fixed
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn spawn(
    path: &Path,
    case: &Case,
    api: &RuntimeApi,
    log: &Path,
    moto: Option<&str>,
) -> Result<Child, BoxError> {
    let mut command = Command::new(path);
    command
        .env_clear()
        .envs(lambda_env(&api.address().to_string(), &case.binary))
        .envs(case.env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log)?)
        .stderr(std::fs::File::create(log.with_extension("stderr.log"))?)
        .kill_on_drop(true);
    if let (true, Some(endpoint)) = (case.needs_aws, moto) {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    Ok(command.spawn()?)
}

/// Spawn to first poll, `runs` times after one uncounted run; in ms.
async fn cold_starts(
    path: &Path,
    case: &Case,
    runs: usize,
    log: &Path,
    moto: Option<&str>,
) -> Result<Vec<f64>, BoxError> {
    let mut times = Vec::with_capacity(runs);
    for run in 0..=runs {
        let api = RuntimeApi::start(&case.binary, Vec::new(), 0, accept_any()).await?;
        let started = Instant::now();
        let mut child = spawn(path, case, &api, log, moto)?;
        let polled = tokio::select! {
            polled = api.first_poll() => polled?,
            status = child.wait() => {
                return Err(format!(
                    "{} exited ({}) before polling; init error: {:?}; see {}",
                    case.binary, status?, api.init_error(), log.display()
                ).into());
            }
            () = tokio::time::sleep(START_TIMEOUT) => {
                return Err(format!("{} did not poll within {START_TIMEOUT:?}", case.binary).into());
            }
        };
        child.kill().await?;
        if run > 0 {
            times.push(polled.duration_since(started).as_secs_f64() * 1000.0);
        }
    }
    Ok(times)
}

/// One process serving `invocations` events; its memory read while idle.
async fn memory_run(
    path: &Path,
    case: &Case,
    invocations: u64,
    log: &Path,
    moto: Option<&str>,
) -> Result<RssRun, BoxError> {
    let event = serde_json::to_vec(&case.event)?;
    let api = RuntimeApi::start(&case.binary, event, invocations, case.check.clone()).await?;
    let started = Instant::now();
    let mut child = spawn(path, case, &api, log, moto)?;
    let pid = child.id().ok_or("the child has no pid")?;
    tokio::select! {
        done = api.exhausted() => done?,
        status = child.wait() => {
            return Err(format!(
                "{} exited ({}) after {} invocations; see {}",
                case.binary, status?, api.served(), log.display()
            ).into());
        }
        () = tokio::time::sleep(Duration::from_secs(600)) => {
            return Err(format!("{} served only {} events in 10 minutes", case.binary, api.served()).into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    child.kill().await?;
    Ok(RssRun {
        invocations: api.served(),
        vm_hwm_kib: status_kib(&status, "VmHWM:")?,
        vm_rss_kib: status_kib(&status, "VmRSS:")?,
        event: case.event_note.clone(),
        expected_answers: api.expected_answers(),
        first_answer: api.first_answer().unwrap_or_default(),
        seconds,
    })
}

/// A `/proc/PID/status` field in KiB.
fn status_kib(status: &str, field: &str) -> Result<u64, BoxError> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/PID/status").into())
}

async fn create_table(endpoint: &str) -> Result<(), BoxError> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    wadesk_aws::dynamodb::create_table(&client, TABLE).await?;
    Ok(())
}

fn accept_any() -> AnswerCheck {
    Arc::new(|_, _| true)
}

/// An API Gateway HTTP API (payload 2.0) `GET` without authorizer claims.
fn http_get(path: &str, query: &[(&str, &str)]) -> Value {
    let raw_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let parameters: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query.join("&"),
        "headers": {
            "accept": "*/*",
            "host": "bench.execute-api.us-east-1.amazonaws.com",
            "user-agent": "wadesk-bench"
        },
        "queryStringParameters": parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "wadesk-bench"
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1_795_435_200_000_u64
        },
        "isBase64Encoded": false
    })
}

/// An EventBridge delivery of `envelope`, as the rule hands it to a target.
fn eventbridge(detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "wadesk",
        "account": "123456789012",
        "time": "2026-11-23T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail
    })
}

/// An API Gateway answer with `status` (and `body`, when given).
fn http_answer(status: u16, body: Option<&'static str>) -> AnswerCheck {
    Arc::new(move |answer, is_error| {
        let Ok(answer) = serde_json::from_slice::<Value>(answer) else {
            return false;
        };
        !is_error
            && answer["statusCode"] == status
            && body.is_none_or(|body| answer["body"] == body)
    })
}

fn contains(expected: &'static str) -> AnswerCheck {
    Arc::new(move |answer, is_error| {
        !is_error && String::from_utf8_lossy(answer).contains(expected)
    })
}

fn cases() -> Result<Vec<Case>, BoxError> {
    let customer = fixtures::customer_key(99_999_999)?;
    let now = fixtures::now_seconds();
    let not_for_opt_out = EventEnvelope::new(
        DomainEvent::WindowClosedEarly {
            customer: customer.clone(),
            error_code: 131_047,
        },
        now,
    );
    let fire = WindowFire {
        customer,
        armed_for: now,
    };
    let mut cases = vec![
        Case {
            binary: "webhook".into(),
            env: Vec::new(),
            event: http_get(
                "/webhook",
                &[
                    ("hub.mode", "subscribe"),
                    ("hub.verify_token", VERIFY_TOKEN),
                    ("hub.challenge", "1158201444"),
                ],
            ),
            event_note:
                "GET /webhook subscription check with the right token: 200 and the challenge".into(),
            check: http_answer(200, Some("1158201444")),
            needs_aws: false,
        },
        Case {
            binary: "agent-api".into(),
            env: Vec::new(),
            event: http_get("/me", &[]),
            event_note: "GET /me without authorizer claims: 401".into(),
            check: http_answer(401, None),
            needs_aws: false,
        },
        Case {
            binary: "reopen".into(),
            env: Vec::new(),
            event: http_get(
                "/conversations/00000000-0000-4000-8000-000000000000/reopen",
                &[],
            ),
            event_note: "a reopen without authorizer claims: 401".into(),
            check: http_answer(401, None),
            needs_aws: false,
        },
        Case {
            binary: "timers".into(),
            env: Vec::new(),
            event: serde_json::to_value(&fire)?,
            event_note:
                "window fire for an unknown customer: 1 consistent GetItem on moto, ignored".into(),
            check: contains("ignored"),
            needs_aws: true,
        },
        Case {
            binary: "opt-out".into(),
            env: Vec::new(),
            event: eventbridge("WindowClosedEarly", serde_json::to_value(&not_for_opt_out)?),
            event_note: "EventBridge delivery of a WindowClosedEarly event: ignored without AWS"
                .into(),
            check: contains("ignored"),
            needs_aws: false,
        },
        Case {
            binary: "media-fetcher".into(),
            env: Vec::new(),
            event: eventbridge("WindowClosedEarly", serde_json::to_value(&not_for_opt_out)?),
            event_note:
                "EventBridge delivery of an event with no customer file: ignored without AWS".into(),
            check: contains("ignored"),
            needs_aws: false,
        },
        Case {
            binary: "erasure".into(),
            env: Vec::new(),
            event: json!({"Records": []}),
            event_note: "SQS batch without a step: acknowledged without AWS".into(),
            check: contains("batchItemFailures"),
            needs_aws: false,
        },
        Case {
            binary: "event-relay".into(),
            env: Vec::new(),
            event: json!({"Records": [{
                "eventID": "1",
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "Keys": {"pk": {"S": "CUST#1#34600000000"}, "sk": {"S": "CUST"}},
                    "NewImage": {"pk": {"S": "CUST#1#34600000000"}, "sk": {"S": "CUST"}},
                    "SequenceNumber": "1",
                    "SizeBytes": 64,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/wadesk/stream/2026-11-23T00:00:00.000"
            }]}),
            event_note: "DynamoDB stream batch without an outbox insert: skipped without AWS"
                .into(),
            check: contains("batchItemFailures"),
            needs_aws: false,
        },
        Case {
            binary: "analytics-consumer".into(),
            env: Vec::new(),
            event: eventbridge("MessageReceived", json!({})),
            event_note: "EventBridge delivery of an uncounted event type: acknowledged without AWS"
                .into(),
            check: contains("NotCounted"),
            needs_aws: false,
        },
        Case {
            binary: "live".into(),
            env: Vec::new(),
            event: json!({
                "requestContext": {
                    "routeKey": "$connect", "eventType": "CONNECT", "connectionId": "bench=",
                    "stage": "live", "apiId": "wadesk-bench", "connectedAt": 0, "requestTimeEpoch": 0,
                },
                "isBase64Encoded": false,
            }),
            event_note: "WebSocket $connect without a token: 401 without AWS".into(),
            check: http_answer(401, None),
            needs_aws: false,
        },
        Case {
            binary: "analytics-api".into(),
            env: Vec::new(),
            event: http_get("/analytics/dashboard", &[]),
            event_note: "GET /analytics/dashboard without authorizer claims: 401".into(),
            check: http_answer(401, None),
            needs_aws: false,
        },
    ];
    for mode in [
        "runtime",
        "logs",
        "sdk-config",
        "sdk-clients",
        "graph-client",
        "lambda-app",
    ] {
        cases.push(Case {
            binary: "startup-probe".into(),
            env: vec![("WADESK_PROBE".into(), mode.into())],
            event: json!({}),
            event_note: String::new(),
            check: accept_any(),
            needs_aws: false,
        });
    }
    Ok(cases)
}
