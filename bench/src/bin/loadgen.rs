//! `loadgen`: signed inbound messages to a running `wadesk-local`, from a
//! separate process, on loopback, for a bounded time.
//!
//! ```text
//! loadgen --url http://127.0.0.1:PORT [--mode fixed|saturation] [--rate 20000]
//!         [--seconds 10] [--connections 64] [--customers 10000] [--out target/wadesk-bench]
//! ```
//!
//! Each request is `POST /webhook` with a Cloud API body carrying one text
//! message (`wadesk_whatsapp::text_message_body`), signed with the runner's
//! default app secret, from one of `--customers` customers in turn, each with
//! a new wamid. `fixed` offers `--rate` messages a second (open loop: request
//! `i` is due at `i / rate`, spread over the connections), and a request's
//! latency runs from when it was due if its connection was still busy then
//! (the wait counts against the server), else from when it was sent.
//! `saturation` sends back to back on every connection (closed loop). The
//! generator runs on one thread, so the runner keeps the other core.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wadesk_bench::args::Args;
use wadesk_bench::results::{self, LoadReport, LoadRun};
use wadesk_bench::stats::Summary;
use wadesk_bench::BoxError;
use wadesk_local_runner::Settings;
use wadesk_whatsapp::signature;

/// Requests still unanswered this long after the run are counted as failed.
const DRAIN: Duration = Duration::from_secs(5);
/// Upper bound on any run, whatever the options say.
const MAX_SECONDS: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Open loop at a fixed rate.
    Fixed { rate: f64 },
    /// Closed loop, as fast as answers come.
    Saturation,
}

struct Plan {
    address: SocketAddr,
    host: String,
    mode: Mode,
    start: Instant,
    deadline: Instant,
    /// Requests at most (fixed: rate × seconds).
    limit: u64,
    connections: usize,
    customers: u64,
    /// Makes this run's wamids unique on a runner that keeps its store.
    run_id: i64,
    settings: Settings,
}

impl Plan {
    /// When request `i` is due (fixed mode).
    fn due(&self, i: u64) -> Instant {
        match self.mode {
            Mode::Fixed { rate } => self.start + Duration::from_secs_f64(i as f64 / rate),
            Mode::Saturation => self.start,
        }
    }

    /// The signed body of request `i`.
    fn request(&self, i: u64) -> Result<Request<Full<Bytes>>, BoxError> {
        let customer = i % self.customers;
        let body = wadesk_whatsapp::text_message_body(
            &self.settings.phone_number_id,
            &self.settings.display_phone_number,
            &format!("347{customer:08}"),
            "Cliente",
            "Hola, ¿me ayudáis con mi pedido?",
            &format!("wamid.LOAD{}.{i}", self.run_id),
            chrono::Utc::now().timestamp(),
        )
        .to_string();
        let signed = signature::sign(self.settings.app_secret.as_bytes(), body.as_bytes());
        Ok(Request::post("/webhook")
            .header("host", &self.host)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signed)
            .body(Full::new(Bytes::from(body)))?)
    }
}

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    ok: u64,
    failed: u64,
    latencies_ms: Vec<f64>,
    last_done: Option<Instant>,
}

fn main() -> Result<(), BoxError> {
    let args = Args::from_env()?;
    let url = args.text("url").ok_or("--url is required")?;
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let address: SocketAddr = authority.parse()?;
    if !address.ip().is_loopback() {
        return Err(format!(
            "{address} is not a loopback address: loadgen only targets this machine"
        )
        .into());
    }
    let seconds: f64 = args.get("seconds", 10.0)?;
    if !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Err(format!("--seconds must be within 0..={MAX_SECONDS}").into());
    }
    let mode = match args.text("mode").unwrap_or("fixed") {
        "fixed" => Mode::Fixed {
            rate: args.get("rate", 20_000.0)?,
        },
        "saturation" => Mode::Saturation,
        other => return Err(format!("--mode {other}: fixed or saturation").into()),
    };
    let connections: usize = args.get("connections", 64)?;
    let customers: u64 = args.get("customers", 10_000)?.max(1);
    let out = PathBuf::from(args.text("out").unwrap_or(results::DEFAULT_DIR));
    let limit = match mode {
        Mode::Fixed { rate } => (rate * seconds).ceil() as u64,
        // A bound far above what loopback can answer in `seconds`.
        Mode::Saturation => (200_000.0 * seconds).ceil() as u64,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let run = local.block_on(&runtime, async {
        let start = Instant::now() + Duration::from_millis(200);
        let plan = Rc::new(Plan {
            address,
            host: authority.to_owned(),
            mode,
            start,
            deadline: start + Duration::from_secs_f64(seconds),
            limit,
            connections: connections.max(1),
            customers,
            run_id: chrono::Utc::now().timestamp_micros(),
            settings: Settings::default(),
        });
        let tasks: Vec<_> = (0..plan.connections)
            .map(|k| tokio::task::spawn_local(connection(plan.clone(), k as u64)))
            .collect();
        let mut tally = Tally::default();
        for task in tasks {
            let part = task.await??;
            tally.sent += part.sent;
            tally.ok += part.ok;
            tally.failed += part.failed;
            tally.latencies_ms.extend(part.latencies_ms);
            tally.last_done = tally.last_done.max(part.last_done);
        }
        Ok::<_, BoxError>(summarize(&plan, tally, seconds))
    })?;
    eprintln!(
        "loadgen: {} offered {:.0}/s for {:.0} s: {} ok, {} failed, {:.0}/s achieved, latency {:?}",
        run.mode,
        run.offered_per_second,
        run.seconds,
        run.ok,
        run.failed,
        run.achieved_per_second,
        run.latency_ms
    );
    let mut report: LoadReport =
        results::read_json(&out, results::LOAD_FILE)?.unwrap_or(LoadReport { runs: Vec::new() });
    report.runs.retain(|r| r.mode != run.mode);
    report.runs.push(run);
    results::write_json(&out, results::LOAD_FILE, &report)?;
    Ok(())
}

fn summarize(plan: &Plan, tally: Tally, seconds: f64) -> LoadRun {
    let elapsed = tally
        .last_done
        .map_or(seconds, |done| {
            done.duration_since(plan.start).as_secs_f64()
        })
        .max(1e-9);
    let (mode, offered) = match plan.mode {
        Mode::Fixed { rate } => ("fixed", rate),
        Mode::Saturation => ("saturation", 0.0),
    };
    LoadRun {
        mode: mode.into(),
        offered_per_second: offered,
        seconds,
        connections: plan.connections,
        customers: plan.customers,
        sent: tally.sent,
        ok: tally.ok,
        failed: tally.failed,
        achieved_per_second: tally.ok as f64 / elapsed,
        latency_ms: Summary::of(&tally.latencies_ms),
    }
}

/// One keep-alive connection sending requests `k`, `k + C`, `k + 2C`, …
async fn connection(plan: Rc<Plan>, k: u64) -> Result<Tally, BoxError> {
    let stream = TcpStream::connect(plan.address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(driver);
    let mut tally = Tally::default();
    let mut previous_done = plan.start;
    let mut i = k;
    tokio::time::sleep_until(plan.start.into()).await;
    while i < plan.limit {
        let due = plan.due(i);
        if due >= plan.deadline || Instant::now() >= plan.deadline {
            break;
        }
        let request = plan.request(i)?;
        if Instant::now() < due {
            tokio::time::sleep_until(due.into()).await;
        }
        let sent = Instant::now();
        tally.sent += 1;
        let answered = tokio::time::timeout_at((plan.deadline + DRAIN).into(), async {
            let response = sender.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            Ok::<_, hyper::Error>(status)
        })
        .await;
        let done = Instant::now();
        match answered {
            Ok(Ok(status)) if status.is_success() => {
                tally.ok += 1;
                // Waiting behind our own previous request is the server's
                // delay too; waiting for a timer tick is not.
                let from = match plan.mode {
                    Mode::Fixed { .. } if previous_done > due => due,
                    _ => sent,
                };
                tally
                    .latencies_ms
                    .push(done.duration_since(from).as_secs_f64() * 1000.0);
            }
            Ok(Ok(_)) | Ok(Err(_)) => tally.failed += 1,
            Err(_) => {
                tally.failed += 1;
                break;
            }
        }
        previous_done = done;
        tally.last_done = Some(done);
        i += plan.connections as u64;
    }
    Ok(tally)
}
