//! A model of AWS's network for the benchmarks: every request takes a fixed
//! round trip, so a handler's wall time on AWS is measured, not guessed.
//!
//! moto is slower than DynamoDB (Python; milliseconds per transaction, one
//! at a time, more on a loaded machine), so a wall time measured through the
//! proxy also counts moto's own time. The proxy therefore also keeps a trace
//! (when each request arrived, when it was answered) and [`LatencyProxy::replay`]
//! replays it with every request taking exactly the round trip: each request
//! follows the answer that came last before it (what the client was waiting
//! for), after the client's own measured time in between.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{plain, Dropped, Handler, ProxyRequest, ProxyResponse, Server, Upstream};

/// An in-region DynamoDB, EventBridge or Scheduler request, service time
/// included: single-digit milliseconds.
pub const DEFAULT_ROUND_TRIP: Duration = Duration::from_millis(5);

/// How the round trip combines with moto's own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Each request answers `round_trip` after it arrived, or when moto
    /// answers if moto takes longer: the round trip stands for network and
    /// service time together, and moto's (Python) time is not counted twice.
    Floor,
    /// `round_trip` on top of moto's own time (pessimistic: moto's time is
    /// counted as service time).
    Added,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::Added => "added",
        }
    }
}

impl std::str::FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "floor" => Ok(Self::Floor),
            "added" => Ok(Self::Added),
            other => Err(format!("unknown latency model `{other}` (floor, added)")),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicUsize,
    /// Requests moto took longer than the round trip to answer (`Floor`:
    /// those took moto's time, not the model's).
    slow: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// moto's own time, all requests, in microseconds.
    upstream_micros: AtomicU64,
    /// `(arrived, answered)` of every request, in arrival order.
    trace: Mutex<Vec<(Instant, Instant)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Latency {
    upstream: Upstream,
    round_trip: Duration,
    model: Model,
    counters: Arc<Counters>,
}

impl Handler for Latency {
    async fn handle(&self, request: ProxyRequest) -> Result<ProxyResponse, Dropped> {
        let arrived = Instant::now();
        let counters = &self.counters;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let now = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::Relaxed);
        let answer = self.upstream.forward(&request).await;
        let upstream = arrived.elapsed();
        counters.upstream_micros.fetch_add(
            u64::try_from(upstream.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let wait = match self.model {
            Model::Floor => {
                if upstream > self.round_trip {
                    counters.slow.fetch_add(1, Ordering::Relaxed);
                }
                self.round_trip.saturating_sub(upstream)
            }
            Model::Added => self.round_trip,
        };
        precise_sleep(wait).await;
        counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        lock(&counters.trace).push((arrived, Instant::now()));
        Ok(match answer {
            Ok(answer) => answer.into_response(),
            Err(error) => plain(502, &format!("upstream unreachable: {error}")),
        })
    }
}

/// What went through a [`LatencyProxy`] since it started (or was reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencyStats {
    pub requests: usize,
    /// Requests moto answered later than the round trip.
    pub slow: usize,
    /// The most requests in flight at once.
    pub max_in_flight: usize,
    /// moto's mean time per request.
    pub mean_upstream: Duration,
}

/// The proxy; point the AWS clients' endpoint at [`LatencyProxy::url`].
///
/// ```text
/// let proxy = LatencyProxy::start(&moto, DEFAULT_ROUND_TRIP, Model::Floor).await?;
/// let sdk = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(proxy.url())…;
/// ```
pub struct LatencyProxy {
    server: Server,
    round_trip: Duration,
    model: Model,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for LatencyProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyProxy")
            .field("url", &self.server.url())
            .field("round_trip", &self.round_trip)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl LatencyProxy {
    /// Listens on a free loopback port; forwards to `upstream` (moto).
    pub async fn start(
        upstream: &str,
        round_trip: Duration,
        model: Model,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let counters = Arc::<Counters>::default();
        let server = Server::start(Latency {
            upstream: Upstream::new(upstream)?,
            round_trip,
            model,
            counters: counters.clone(),
        })
        .await?;
        Ok(Self {
            server,
            round_trip,
            model,
            counters,
        })
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    pub fn round_trip(&self) -> Duration {
        self.round_trip
    }

    pub fn model(&self) -> Model {
        self.model
    }

    /// What went through since the start or the last reset.
    pub fn stats(&self) -> LatencyStats {
        let c = &self.counters;
        let requests = c.requests.load(Ordering::Relaxed);
        let micros = c.upstream_micros.load(Ordering::Relaxed);
        LatencyStats {
            requests,
            slow: c.slow.load(Ordering::Relaxed),
            max_in_flight: c.max_in_flight.load(Ordering::Relaxed),
            mean_upstream: Duration::from_micros(
                micros / u64::try_from(requests.max(1)).unwrap_or(1),
            ),
        }
    }

    /// Starts counting afresh.
    pub fn reset(&self) {
        let c = &self.counters;
        c.requests.store(0, Ordering::Relaxed);
        c.slow.store(0, Ordering::Relaxed);
        c.max_in_flight.store(0, Ordering::Relaxed);
        c.upstream_micros.store(0, Ordering::Relaxed);
        lock(&c.trace).clear();
    }

    /// The wall time from `start` to `end` had every request since the last
    /// reset taken exactly the round trip: the trace replayed (see the module).
    pub fn replay(&self, start: Instant, end: Instant) -> Duration {
        replay(&lock(&self.counters.trace), start, end, self.round_trip)
    }
}

/// Replays `trace` (`(arrived, answered)` per request) with every request
/// taking `round_trip`. Each request's predecessor is the request answered
/// last before it arrived (none: the start); it arrives, in the model, as long
/// after its predecessor's modelled answer as it really did after the real
/// one. The end follows the last answer likewise.
pub fn replay(
    trace: &[(Instant, Instant)],
    start: Instant,
    end: Instant,
    round_trip: Duration,
) -> Duration {
    let mut order: Vec<usize> = (0..trace.len()).collect();
    order.sort_by_key(|&i| trace[i].0);
    // Modelled answer time of each request, as an offset from `start`.
    let mut answered: Vec<Option<Duration>> = vec![None; trace.len()];
    // Requests answered so far (real time), to find a predecessor.
    let predecessor = |at: Instant, answered: &[Option<Duration>]| {
        trace
            .iter()
            .enumerate()
            .filter(|(j, (_, done))| *done <= at && answered[*j].is_some())
            .max_by_key(|(_, (_, done))| *done)
            .and_then(|(j, (_, done))| Some((answered[j]?, at.saturating_duration_since(*done))))
    };
    for i in order {
        let (arrived, _) = trace[i];
        let modelled_arrival = match predecessor(arrived, &answered) {
            Some((before, gap)) => before + gap,
            None => arrived.saturating_duration_since(start),
        };
        answered[i] = Some(modelled_arrival + round_trip);
    }
    let last = answered.iter().flatten().max().copied().unwrap_or_default();
    match predecessor(end, &answered) {
        Some((before, gap)) => last.max(before + gap),
        None => end.saturating_duration_since(start),
    }
}

/// Sleeps `wait` to within tens of microseconds: tokio's timer rounds up to
/// the next millisecond, a fifth of the round trip modelled. A blocking-pool
/// thread sleeps instead (the bench has at most a few hundred requests in flight).
async fn precise_sleep(wait: Duration) {
    if wait.is_zero() {
        return;
    }
    if tokio::task::spawn_blocking(move || std::thread::sleep(wait))
        .await
        .is_err()
    {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn sequential_requests_take_the_round_trip_each_plus_the_clients_time() {
        let t = Instant::now();
        // Two requests moto answered in 20 ms each, 1 ms of client time
        // before, between and after.
        let trace = [(t + MS, t + 21 * MS), (t + 22 * MS, t + 42 * MS)];
        assert_eq!(replay(&trace, t, t + 43 * MS, 5 * MS), 13 * MS);
    }

    #[test]
    fn concurrent_requests_overlap_and_the_next_wave_follows_its_predecessor() {
        let t = Instant::now();
        // Two at once (moto answered them one after the other), then one
        // that followed the second answer.
        let trace = [
            (t, t + 10 * MS),
            (t, t + 20 * MS),
            (t + 21 * MS, t + 30 * MS),
        ];
        assert_eq!(replay(&trace, t, t + 30 * MS, 5 * MS), 11 * MS);
    }
}
