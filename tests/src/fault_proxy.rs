//! A fault-injecting HTTP proxy in front of moto's server, for the fault tests.
//!
//! The AWS clients of a test point at the proxy instead of moto. Every request
//! is forwarded unchanged, except those a [`Rule`] picks: the Nth request (from
//! the moment the rule is installed) whose operation matches gets a [`Fault`]
//! instead: an HTTP error, a dropped connection, or a stall past the SDK's
//! time-out, either before the request reaches moto (nothing happened) or after
//! (the change happened, the caller never hears of it).
//!
//! The operation of a request is its `X-Amz-Target` header for the JSON
//! protocols (DynamoDB `DynamoDB_20120810.TransactWriteItems`, EventBridge
//! `AWSEvents.PutEvents`) and `METHOD /path` for the REST ones (Scheduler's
//! `CreateSchedule` is `POST /schedules/{name}`).
//!
//! The proxy also keeps what reached EventBridge: the entries of every
//! `PutEvents` that moto accepted, duplicates included, as a bus rule would
//! hand them to its targets ([`FaultProxy::published_details`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use http_body_util::Full;
use hyper::body::Bytes;
use wadesk_proxy::{Dropped, Handler, ProxyRequest, ProxyResponse, Server, Upstream};

/// Which requests a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// A JSON-protocol operation by name: matches an `X-Amz-Target` of
    /// `{service}.{name}` (e.g. `TransactWriteItems`, `PutEvents`).
    Target(&'static str),
    /// A REST operation: the method and the start of the path
    /// (e.g. `POST /schedules/` for Scheduler's `CreateSchedule`).
    Path(&'static str, &'static str),
}

impl Matcher {
    /// Scheduler's `CreateSchedule`.
    pub const CREATE_SCHEDULE: Self = Self::Path("POST", "/schedules/");

    fn matches(&self, request: &RequestInfo) -> bool {
        match self {
            Self::Target(name) => request.target.as_deref().is_some_and(|target| {
                target
                    .rsplit_once('.')
                    .map_or(target == *name, |(_, op)| op == *name)
            }),
            Self::Path(method, prefix) => {
                request.method == *method && request.path.starts_with(prefix)
            }
        }
    }
}

/// What a picked request gets instead of moto's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status with an AWS-shaped error; moto never sees the request.
    Status(u16),
    /// Closes the connection without answering; moto never sees the request.
    Drop,
    /// Holds the request this long, then closes the connection (a time-out
    /// when it is longer than the client's); moto never sees the request.
    Stall(Duration),
    /// Forwards to moto (the change happens), then closes without answering.
    DropAfterForward,
    /// Forwards to moto (the change happens), then holds the answer this long
    /// and closes: the client times out on a change that was made.
    StallAfterForward(Duration),
}

impl Fault {
    /// Whether moto sees the request.
    pub fn forwards(self) -> bool {
        matches!(self, Self::DropAfterForward | Self::StallAfterForward(_))
    }
}

/// Fault the `nth` (1-based) request matching `matcher` seen after the rule is
/// installed, and the `times - 1` matching requests after it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: Matcher,
    pub nth: usize,
    pub times: usize,
    pub fault: Fault,
    seen: usize,
    fired: usize,
}

impl Rule {
    /// The first matching request gets `fault`.
    pub fn first(matcher: Matcher, fault: Fault) -> Self {
        Self::nth(matcher, 1, fault)
    }

    pub fn nth(matcher: Matcher, nth: usize, fault: Fault) -> Self {
        Self {
            matcher,
            nth: nth.max(1),
            times: 1,
            fault,
            seen: 0,
            fired: 0,
        }
    }

    /// Also the next `times - 1` matching requests.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times.max(1);
        self
    }

    /// Counts a matching request; answers the fault if this one is picked.
    fn pick(&mut self, request: &RequestInfo) -> Option<Fault> {
        if !self.matcher.matches(request) {
            return None;
        }
        self.seen += 1;
        if self.seen >= self.nth && self.fired < self.times {
            self.fired += 1;
            Some(self.fault)
        } else {
            None
        }
    }
}

/// One request that went through the proxy.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `X-Amz-Target`, or `METHOD /path`.
    pub operation: String,
    request: RequestInfo,
    pub fault: Option<Fault>,
    /// moto's status, when the request reached moto.
    pub upstream_status: Option<u16>,
}

#[derive(Debug, Clone)]
struct RequestInfo {
    method: String,
    path: String,
    target: Option<String>,
}

impl RequestInfo {
    fn operation(&self) -> String {
        self.target
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.method, self.path))
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<Exchange>,
    /// `Detail` of every `PutEvents` entry moto accepted, in order.
    published: Vec<String>,
    /// Faults injected so far (rules removed since included).
    fired: usize,
}

/// The proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    server: Server,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (moto).
    pub async fn start(upstream: &str) -> Self {
        let state: Arc<Mutex<State>> = Arc::default();
        let upstream =
            Upstream::new(upstream).unwrap_or_else(|e| panic!("fault proxy client: {e}"));
        let server = Server::start(Faults {
            state: state.clone(),
            upstream,
        })
        .await
        .unwrap_or_else(|e| panic!("starting the fault proxy: {e}"));
        Self { server, state }
    }

    /// Where clients should send their requests.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Adds a rule; it counts matching requests from now on.
    pub fn add(&self, rule: Rule) {
        lock(&self.state).rules.push(rule);
    }

    /// Removes every rule (what they did stays counted).
    pub fn clear(&self) {
        lock(&self.state).rules.clear();
    }

    /// How many requests have been faulted so far.
    pub fn faults_fired(&self) -> usize {
        lock(&self.state).fired
    }

    /// Every request so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.state).log.clone()
    }

    /// How many requests matching `matcher` went through (faulted or not).
    pub fn count(&self, matcher: &Matcher) -> usize {
        lock(&self.state)
            .log
            .iter()
            .filter(|e| matcher.matches(&e.request))
            .count()
    }

    /// The `Detail` of every event EventBridge accepted, in order, repeats
    /// included: what a rule on the bus would deliver to its targets.
    pub fn published_details(&self) -> Vec<String> {
        lock(&self.state).published.clone()
    }
}

/// The proxy's hook: faults, the log, what reached EventBridge.
struct Faults {
    state: Arc<Mutex<State>>,
    upstream: Upstream,
}

impl Handler for Faults {
    async fn handle(&self, request: ProxyRequest) -> Result<ProxyResponse, Dropped> {
        handle(&self.state, &self.upstream, request).await
    }
}

async fn handle(
    state: &Mutex<State>,
    upstream: &Upstream,
    request: ProxyRequest,
) -> Result<ProxyResponse, Dropped> {
    let info = RequestInfo {
        method: request.parts.method.to_string(),
        path: request.parts.uri.path().to_owned(),
        target: request.target().map(str::to_owned),
    };
    let fault = {
        let mut state = lock(state);
        let fault = state.rules.iter_mut().find_map(|rule| rule.pick(&info));
        state.fired += usize::from(fault.is_some());
        fault
    };
    let log = |upstream_status: Option<u16>| {
        lock(state).log.push(Exchange {
            operation: info.operation(),
            request: info.clone(),
            fault,
            upstream_status,
        });
    };
    match fault {
        Some(Fault::Status(status)) => {
            log(None);
            return Ok(error_response(status));
        }
        Some(Fault::Drop) => {
            log(None);
            return Err(Dropped);
        }
        Some(Fault::Stall(pause)) => {
            log(None);
            tokio::time::sleep(pause).await;
            return Err(Dropped);
        }
        _ => {}
    }

    let Ok(answer) = upstream.forward(&request).await else {
        log(None);
        return Ok(error_response(502));
    };
    log(Some(answer.status.as_u16()));
    if answer.status.is_success() && info.target.as_deref() == Some("AWSEvents.PutEvents") {
        record_put_events(state, &request.body, &answer.body);
    }
    match fault {
        Some(Fault::DropAfterForward) => return Err(Dropped),
        Some(Fault::StallAfterForward(pause)) => {
            tokio::time::sleep(pause).await;
            return Err(Dropped);
        }
        _ => {}
    }
    Ok(answer.into_response())
}

/// Keeps the entries of an accepted `PutEvents` that moto did not fail.
fn record_put_events(state: &Mutex<State>, request: &[u8], response: &[u8]) {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(request) else {
        return;
    };
    let results = serde_json::from_slice::<serde_json::Value>(response).unwrap_or_default();
    let results = results["Entries"].as_array().cloned().unwrap_or_default();
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let mut state = lock(state);
    for (n, entry) in entries.iter().enumerate() {
        let failed = results
            .get(n)
            .is_some_and(|r| r.get("ErrorCode").is_some_and(|c| !c.is_null()));
        if let (false, Some(detail)) = (failed, entry["Detail"].as_str()) {
            state.published.push(detail.to_owned());
        }
    }
}

/// An error in the shape every AWS protocol's error parser reads: the
/// `X-Amzn-ErrorType` header (REST) and `__type` in the body (JSON).
fn error_response(status: u16) -> ProxyResponse {
    let kind = match status {
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "InjectedFault",
    };
    let body = serde_json::json!({
        "__type": kind,
        "message": "fault injected by the test proxy",
        "Message": "fault injected by the test proxy",
    });
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// How the SDK clients of a fault test retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkRetries {
    /// One attempt: every fault reaches the application.
    Disabled,
    /// The SDK's standard retry (3 attempts): a single transient fault is absorbed.
    Standard,
}

/// How long one SDK attempt may take before it is abandoned (a stall longer
/// than this is a time-out).
pub const SDK_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(3000);

/// An SDK configuration for clients behind `proxy`.
pub async fn sdk_config(proxy: &FaultProxy, retries: SdkRetries) -> SdkConfig {
    let retry = match retries {
        SdkRetries::Disabled => RetryConfig::disabled(),
        SdkRetries::Standard => RetryConfig::standard(),
    };
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(SDK_ATTEMPT_TIMEOUT)
                .build(),
        )
        .load()
        .await
}
