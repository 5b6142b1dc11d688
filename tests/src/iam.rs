//! Each function under its own IAM policy, generated from `infra/template.yaml`.
//!
//! An [`IamStack`] is one test's stack on moto's IAM-enforcing server
//! (`WADESK_IAM_MOTO_ENDPOINT`, started by `scripts/test.sh`): its table, bus,
//! schedule group and queues, named as CloudFormation would name them for a
//! stack (`<stack>-<LogicalId>`); every function's policy as
//! `infra/tests/iam_policies.py` generates it from the template for exactly
//! those names (the SAM transform's additions included, never a hand-kept
//! copy); and per function an IAM user holding that policy, whose access key
//! signs the function's clients ([`IamStack::sdk`], [`IamStack::app`]).
//!
//! Requests go through a checking proxy in front of moto. For a function's
//! key it works out what AWS would authorize ([`crate::iam_policy`]: each
//! item of a transaction as its own action, each table of a batch, each bus
//! of `PutEvents`, `iam:PassRole` for a schedule's role), evaluates that on
//! the function's generated policy, and answers `AccessDeniedException` as
//! AWS would when it is not allowed; otherwise it forwards the request,
//! signature intact, and moto checks it again on its own (signature, and the
//! action on the copy of the policy [`crate::iam_policy::moto_policy`] makes).
//! Two kinds of request moto's IAM check cannot authenticate as sent are
//! re-signed with the same function's key first ([`moto_resign`]): a
//! presigned S3 request (moto reads only the `Authorization` header) and a
//! `DELETE` whose parameters are all in its query (moto hashes the query as
//! the body: every Scheduler `DeleteSchedule` fails its signature check).
//! Every `(action, resource)` a function was seen to need is kept and written
//! to `target/iam-observed.json` (`infra/tests/test_iam_observed.py` checks
//! the template's policies cover it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use wadesk_app::embedded::LocalWhatsApp;
use wadesk_aws::config::Resources;
use wadesk_aws::lambda::{aws_app, AwsApp};
use wadesk_aws::s3::{create_bucket, S3MediaStore};
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_domain::ManualClock;
use wadesk_proxy::{Dropped, Handler, ProxyRequest, ProxyResponse, Server, Upstream};

use crate::iam_policy::{self, Authorization, Decision, RawRequest};
use crate::unique_name;

pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

/// The queues the template declares that a function sends to.
pub const QUEUES: &[&str] = &[
    "WebhookPoisonQueue",
    "OptOutFailureQueue",
    "TimersFailureQueue",
    "AnalyticsConsumerFailureQueue",
    "EventRelayFailureQueue",
    "MediaFetcherFailureQueue",
    "LiveFailureQueue",
    "ScheduleDeadLetterQueue",
    // Read by the erasure function, as its event-source mapping does.
    "ErasureQueue",
];

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run the tests with scripts/test.sh, which makes it",
        python.display()
    );
    python
}

/// moto's IAM-enforcing server, started by `scripts/test.sh`.
pub fn iam_moto_endpoint() -> String {
    std::env::var("WADESK_IAM_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("WADESK_IAM_MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto's IAM-enforcing server")
    })
}

fn admin_key() -> (String, String) {
    let key = std::env::var("WADESK_IAM_MOTO_ADMIN_KEY")
        .unwrap_or_else(|_| panic!("WADESK_IAM_MOTO_ADMIN_KEY is not set: run scripts/test.sh"));
    let (id, secret) = key
        .split_once(':')
        .unwrap_or_else(|| panic!("WADESK_IAM_MOTO_ADMIN_KEY is not KEY:SECRET"));
    (id.to_owned(), secret.to_owned())
}

async fn sdk_config(endpoint: &str, key: &str, secret: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(key, secret, None, None, "iam-tests"))
        .load()
        .await
}

/// Runs a Python script of the repository; answers its stdout as JSON.
fn run_python(args: &[&str], stdin: Option<&str>) -> Value {
    let mut command = Command::new(python());
    command
        .current_dir(repo_root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    if let Some(mut pipe) = child.stdin.take() {
        use std::io::Write;
        pipe.write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap_or_else(|e| panic!("writing to {args:?}: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e})"))
}

/// Every function's policy, generated from the template for `stack`'s names,
/// with the `FUNCTION:ACTION`s in `removed` taken out.
pub fn generated_policies(stack: &str, removed: &[&str]) -> BTreeMap<String, Value> {
    let mut args = vec![
        "infra/tests/iam_policies.py".to_owned(),
        "--region".into(),
        REGION.into(),
        "--account".into(),
        ACCOUNT.into(),
        "--stack".into(),
        stack.into(),
    ];
    for item in removed {
        args.push("--without".into());
        args.push((*item).to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let policies = run_python(&args, None);
    policies
        .as_object()
        .unwrap_or_else(|| panic!("iam_policies.py printed no map"))
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// One authorization the proxy decided for a function.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    /// `X-Amz-Target`, or `METHOD /path`.
    pub operation: String,
    pub authorization: Authorization,
    pub decision: Decision,
}

#[derive(Debug, Clone)]
struct Principal {
    function: String,
    policy: Value,
    /// The key's secret, to re-sign what moto cannot authenticate as sent.
    secret: String,
}

#[derive(Debug, Default)]
struct ProxyState {
    principals: HashMap<String, Principal>,
    calls: Vec<Call>,
    /// `(DetailType, Detail)` of every `PutEvents` entry moto accepted.
    published: Vec<(String, String)>,
    /// The `Target.Input` of every schedule moto created.
    scheduled: Vec<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The checking proxy in front of moto's IAM-enforcing server; stops when dropped.
#[derive(Debug)]
pub struct IamProxy {
    server: Server,
    state: Arc<Mutex<ProxyState>>,
}

/// The proxy's hook: checks each request against its signer's policy.
struct Checks {
    state: Arc<Mutex<ProxyState>>,
    upstream: Upstream,
}

impl Handler for Checks {
    async fn handle(&self, request: ProxyRequest) -> Result<ProxyResponse, Dropped> {
        Ok(handle(&self.state, &self.upstream, request).await)
    }
}

impl IamProxy {
    pub async fn start(upstream: &str) -> Self {
        let state: Arc<Mutex<ProxyState>> = Arc::default();
        let upstream = Upstream::new(upstream).unwrap_or_else(|e| panic!("IAM proxy client: {e}"));
        let server = Server::start(Checks {
            state: state.clone(),
            upstream,
        })
        .await
        .unwrap_or_else(|e| panic!("starting the IAM proxy: {e}"));
        Self { server, state }
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Requests signed with `access_key` are `function`'s, checked on `policy`.
    fn register(&self, access_key: &str, secret: &str, function: &str, policy: Value) {
        lock(&self.state).principals.insert(
            access_key.to_owned(),
            Principal {
                function: function.to_owned(),
                policy,
                secret: secret.to_owned(),
            },
        );
    }

    /// Every authorization decided so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
    }

    /// `(DetailType, Detail)` of every event moto's bus accepted, in order.
    pub fn published(&self) -> Vec<(String, String)> {
        lock(&self.state).published.clone()
    }

    /// The input of every schedule created, in order.
    pub fn scheduled_inputs(&self) -> Vec<String> {
        lock(&self.state).scheduled.clone()
    }
}

/// The signer of a request: `(access key, region, service)` from the
/// `Credential=AKID/date/region/service/aws4_request` of a SigV4
/// `Authorization` header, or from a presigned URL's `X-Amz-Credential`.
fn credential(authorization: Option<&str>, query: &str) -> Option<(String, String, String)> {
    let scope = match authorization {
        Some(header) => header
            .split("Credential=")
            .nth(1)?
            .split(',')
            .next()?
            .to_owned(),
        None => query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            k.eq_ignore_ascii_case("X-Amz-Credential").then(|| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })?,
    };
    let mut parts = scope.split('/');
    let key = parts.next()?.to_owned();
    let region = parts.nth(1)?.to_owned();
    let service = parts.next()?.to_owned();
    Some((key, region, service))
}

async fn handle(
    state: &Mutex<ProxyState>,
    upstream: &Upstream,
    request: ProxyRequest,
) -> ProxyResponse {
    let ProxyRequest { parts, body } = request;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let operation = target
        .clone()
        .unwrap_or_else(|| format!("{} {}", parts.method, parts.uri.path()));
    let signer = credential(
        parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        parts.uri.query().unwrap_or_default(),
    );
    let principal = signer
        .as_ref()
        .and_then(|(key, _, _)| lock(state).principals.get(key).cloned());
    let s3 = signer
        .as_ref()
        .is_some_and(|(_, _, service)| service == "s3");

    let mut resigned = None;
    // An object read by a function: its principal and bucket.
    let mut object_read = None;
    if let (Some(principal), Some((key, region, service))) = (principal, signer.as_ref()) {
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let raw = RawRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            target: target.as_deref(),
            service,
            headers: &headers,
            body: &body,
            region,
            account: ACCOUNT,
        };
        let decided: Vec<(Authorization, Decision)> = match iam_policy::authorizations(&raw) {
            Ok(list) => list
                .into_iter()
                .map(|a| {
                    let decision = iam_policy::evaluate(&principal.policy, &a);
                    (a, decision)
                })
                .collect(),
            Err(why) => vec![(
                Authorization {
                    action: operation.clone(),
                    resource: "?".into(),
                    context: BTreeMap::new(),
                },
                Decision::ImplicitDeny(format!("not modelled by the checking proxy: {why}")),
            )],
        };
        if s3 {
            object_read = decided
                .iter()
                .find(|(a, _)| a.action == "s3:GetObject")
                .and_then(|(a, _)| a.resource.strip_prefix("arn:aws:s3:::"))
                .and_then(|object| object.split_once('/'))
                .map(|(bucket, _)| (principal.clone(), bucket.to_owned()));
        }
        let refused = decided.iter().find(|(_, d)| !d.allowed()).map(|(a, d)| {
            format!(
                "{} is not authorized to perform: {} on resource: {} ({d:?})",
                principal.function, a.action, a.resource
            )
        });
        {
            let mut state = lock(state);
            for (authorization, decision) in decided {
                state.calls.push(Call {
                    function: principal.function.clone(),
                    operation: operation.clone(),
                    authorization,
                    decision,
                });
            }
        }
        if let Some(message) = refused {
            return if s3 {
                s3_access_denied(parts.method == hyper::Method::HEAD, &message)
            } else {
                access_denied(target.is_some(), &message)
            };
        }
        resigned = moto_resign(&MotoRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &parts.headers,
            body: &body,
            key,
            secret: &principal.secret,
            region,
            service,
        });
    }

    let path_and_query = match &resigned {
        Some(resigned) => resigned.path_and_query.clone(),
        None => parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string),
    };
    // Every header as signed, `Host` and `Content-Length` included (a signed
    // `Content-Length: 0` of a `DELETE` is not sent again unless forwarded):
    // moto checks the signature.
    let replaced = |name: &str| {
        resigned
            .as_ref()
            .is_some_and(|r| r.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    };
    let resigned_headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)> = resigned
        .iter()
        .flat_map(|r| r.headers.iter())
        .filter_map(|(name, value)| {
            Some((
                hyper::header::HeaderName::from_bytes(name.as_bytes()).ok()?,
                hyper::header::HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect();
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "connection" | "keep-alive" | "transfer-encoding"
            ) && !replaced(name.as_str())
        })
        .chain(resigned_headers.iter().map(|(n, v)| (n, v)));
    let answer = match upstream
        .send(parts.method.clone(), &path_and_query, headers, body.clone())
        .await
    {
        Ok(answer) => answer,
        Err(e) => return plain(502, &format!("moto unreachable: {e}")),
    };
    let status = answer.status;
    // S3 answers a read of a missing key 404 only to a caller allowed
    // s3:ListBucket on the bucket; to anyone else 403 AccessDenied.
    if let (hyper::StatusCode::NOT_FOUND, Some((principal, bucket))) = (status, &object_read) {
        let listing = Authorization {
            action: "s3:ListBucket".into(),
            resource: format!("arn:aws:s3:::{bucket}"),
            context: BTreeMap::new(),
        };
        let decision = iam_policy::evaluate(&principal.policy, &listing);
        let message = format!(
            "{} read a missing key without s3:ListBucket on arn:aws:s3:::{bucket}: S3 answers 403, not 404",
            principal.function
        );
        let allowed = decision.allowed();
        // Recorded either way: the 404 the function relies on needs it.
        lock(state).calls.push(Call {
            function: principal.function.clone(),
            operation: operation.clone(),
            authorization: listing,
            decision: if allowed {
                decision
            } else {
                Decision::ImplicitDeny(message.clone())
            },
        });
        if !allowed {
            return s3_access_denied(parts.method == hyper::Method::HEAD, &message);
        }
    }
    let headers = answer.headers;
    let bytes = answer.body;
    if status.is_success() {
        remember(
            state,
            target.as_deref(),
            parts.method.as_str(),
            parts.uri.path(),
            &body,
            &bytes,
        );
    }
    let mut response = hyper::Response::new(Full::new(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length"
        ) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// A request the proxy has authorized, as it would go on to moto.
struct MotoRequest<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a hyper::HeaderMap,
    body: &'a [u8],
    key: &'a str,
    secret: &'a str,
    region: &'a str,
    service: &'a str,
}

/// How a request goes on to moto when it must be re-signed.
struct Resigned {
    path_and_query: String,
    /// Headers that replace (or join) the request's own.
    headers: Vec<(String, String)>,
}

/// The same request signed, with the same function's key, in a form moto's
/// IAM check can authenticate, when it cannot authenticate it as sent
/// (moto 5's limits, not AWS's; the proxy has already authorized the request
/// as AWS would, on the real policy):
///
/// - a presigned S3 request (the signature in the query): moto reads only
///   the `Authorization` header (a `KeyError` and a 500 otherwise), so the
///   query's `X-Amz-*` go and the request is signed in its headers;
/// - a `DELETE` with its parameters in the query and no body (Scheduler's
///   `DeleteSchedule`): moto's check signs the query string as the body, so
///   it is signed that way.
fn moto_resign(request: &MotoRequest<'_>) -> Option<Resigned> {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
        SigningSettings, UriPathNormalizationMode,
    };
    let presigned = request.service == "s3" && !request.headers.contains_key("authorization");
    let delete_with_query = request.service != "s3"
        && request.method == "DELETE"
        && request.body.is_empty()
        && !request.query.is_empty();
    if !presigned && !delete_with_query {
        return None;
    }
    let host = request.headers.get("host")?.to_str().ok()?;
    let query = if presigned {
        request
            .query
            .split('&')
            .filter(|pair| !pair.to_ascii_lowercase().starts_with("x-amz-"))
            .collect::<Vec<_>>()
            .join("&")
    } else {
        request.query.to_owned()
    };
    let path_and_query = if query.is_empty() {
        request.path.to_owned()
    } else {
        format!("{}?{query}", request.path)
    };
    let mut settings = SigningSettings::default();
    let body: &[u8] = if presigned {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        b""
    } else {
        query.as_bytes()
    };
    let identity = Credentials::new(request.key, request.secret, None, None, "iam-proxy").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name(request.service)
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        request.method,
        format!("http://{host}{path_and_query}"),
        [("host", host)].into_iter(),
        SignableBody::Bytes(body),
    )
    .ok()?;
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    let (headers, _) = instructions.into_parts();
    Some(Resigned {
        path_and_query,
        headers: headers
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect(),
    })
}

/// Keeps what reached the bus and Scheduler, for the tests to deliver it on.
fn remember(
    state: &Mutex<ProxyState>,
    target: Option<&str>,
    method: &str,
    path: &str,
    request: &[u8],
    response: &[u8],
) {
    let request: Value = serde_json::from_slice(request).unwrap_or_default();
    if target == Some("AWSEvents.PutEvents") {
        let results: Value = serde_json::from_slice(response).unwrap_or_default();
        let mut state = lock(state);
        for (n, entry) in request["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let failed = results["Entries"][n]
                .get("ErrorCode")
                .is_some_and(|c| !c.is_null());
            if let (false, Some(kind), Some(detail)) = (
                failed,
                entry["DetailType"].as_str(),
                entry["Detail"].as_str(),
            ) {
                state.published.push((kind.to_owned(), detail.to_owned()));
            }
        }
    } else if target.is_none() && method == "POST" && path.starts_with("/schedules/") {
        if let Some(input) = request["Target"]["Input"].as_str() {
            lock(state).scheduled.push(input.to_owned());
        }
    }
}

fn plain(status: u16, text: &str) -> ProxyResponse {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    response
}

/// AWS's refusal: 400 with `AccessDeniedException` for the JSON protocols
/// (DynamoDB, EventBridge, SQS), 403 for the REST ones (Scheduler).
fn access_denied(json_protocol: bool, message: &str) -> ProxyResponse {
    let body = serde_json::json!({
        "__type": "AccessDeniedException",
        "message": message,
        "Message": message,
    });
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = if json_protocol {
        hyper::StatusCode::BAD_REQUEST
    } else {
        hyper::StatusCode::FORBIDDEN
    };
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static("AccessDeniedException"),
    );
    response
}

/// S3's refusal: 403 with an XML `AccessDenied` error (no body for a `HEAD`).
fn s3_access_denied(head: bool, message: &str) -> ProxyResponse {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{escaped}</Message><RequestId>iam-proxy</RequestId></Error>"
        )
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    response
}

/// What the run saw each function need, for `target/iam-observed.json`:
/// function → `(stack, action, resource, context)`.
type Observed = BTreeMap<String, BTreeSet<(String, String, String, BTreeMap<String, String>)>>;

static OBSERVED: Mutex<Observed> = Mutex::new(BTreeMap::new());

/// Where the calls seen under the generated policies are written:
/// `WADESK_IAM_OBSERVED` (`scripts/test.sh` names one per run), else
/// `target/iam-observed.json`.
pub fn observed_path() -> PathBuf {
    std::env::var_os("WADESK_IAM_OBSERVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/iam-observed.json"))
}

/// The application a function runs, its AWS adapters signed with its key.
pub type IamApp = AwsApp<ManualClock, LocalWhatsApp>;

/// One test's stack under IAM enforcement (see the module documentation).
pub struct IamStack {
    pub stack: String,
    pub proxy: IamProxy,
    /// Straight to moto, signed by its admin: to set up and read behind the functions' backs.
    pub admin: SdkConfig,
    policies: BTreeMap<String, Value>,
    keys: BTreeMap<String, (String, String)>,
    queue_urls: BTreeMap<String, String>,
    /// The policies are the template's own (not reduced): what is seen counts.
    full: bool,
}

impl IamStack {
    /// Every function under the policy the template gives it.
    pub async fn new() -> Self {
        Self::build(&[]).await
    }

    /// As [`IamStack::new`], with the `FUNCTION:ACTION`s in `removed` taken
    /// out of the generated policies (calls seen are not recorded).
    pub async fn without(removed: &[&str]) -> Self {
        Self::build(removed).await
    }

    async fn build(removed: &[&str]) -> Self {
        let endpoint = iam_moto_endpoint();
        let (key, secret) = admin_key();
        let admin = sdk_config(&endpoint, &key, &secret).await;
        let stack = unique_name("wadesk-iam");
        let name = |logical: &str| format!("{stack}-{logical}");

        wadesk_aws::dynamodb::create_table(&aws_sdk_dynamodb::Client::new(&admin), &name("Table"))
            .await
            .unwrap_or_else(|e| panic!("creating the table: {e:?}"));
        aws_sdk_eventbridge::Client::new(&admin)
            .create_event_bus()
            .name(name("EventBus"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating the bus: {e:?}"));
        aws_sdk_scheduler::Client::new(&admin)
            .create_schedule_group()
            .name(name("ScheduleGroup"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating the schedule group: {e:?}"));
        // CloudFormation names a bucket `<stack>-<logicalid>-<random>`, in
        // lower case; iam_policies.py resolves it without the random part.
        let bucket = name("MediaBucket").to_lowercase();
        let admin_media = S3MediaStore::new(&admin, &bucket)
            .unwrap_or_else(|e| panic!("the media bucket's client: {e}"));
        create_bucket(admin_media.client(), &bucket, 30)
            .await
            .unwrap_or_else(|e| panic!("creating the media bucket: {e:?}"));
        let sqs = aws_sdk_sqs::Client::new(&admin);
        let mut queue_urls = BTreeMap::new();
        for logical in QUEUES {
            let url = sqs
                .create_queue()
                .queue_name(name(logical))
                .send()
                .await
                .unwrap_or_else(|e| panic!("creating {logical}: {e:?}"))
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            queue_urls.insert((*logical).to_owned(), url);
        }

        let policies = generated_policies(&stack, removed);
        let users: serde_json::Map<String, Value> = policies
            .iter()
            .map(|(function, policy)| {
                (
                    format!("{stack}-{function}"),
                    iam_policy::moto_policy(policy),
                )
            })
            .collect();
        let created = run_python(
            &["scripts/moto_iam_users.py", &endpoint],
            Some(&Value::Object(users).to_string()),
        );
        let proxy = IamProxy::start(&endpoint).await;
        let mut keys = BTreeMap::new();
        for (function, policy) in &policies {
            let pair = &created[format!("{stack}-{function}")];
            let (id, secret) = (
                pair[0].as_str().unwrap_or_default().to_owned(),
                pair[1].as_str().unwrap_or_default().to_owned(),
            );
            proxy.register(&id, &secret, function, policy.clone());
            keys.insert(function.clone(), (id, secret));
        }
        Self {
            stack,
            proxy,
            admin,
            policies,
            keys,
            queue_urls,
            full: removed.is_empty(),
        }
    }

    /// The generated policy of `function` (a logical id, e.g. `ReopenFunction`).
    pub fn policy(&self, function: &str) -> &Value {
        self.policies
            .get(function)
            .unwrap_or_else(|| panic!("the template has no function {function}"))
    }

    pub fn table(&self) -> String {
        format!("{}-Table", self.stack)
    }

    pub fn bus(&self) -> String {
        format!("{}-EventBus", self.stack)
    }

    pub fn schedule_group(&self) -> String {
        format!("{}-ScheduleGroup", self.stack)
    }

    /// The media bucket, as CloudFormation would name it (lower case).
    pub fn media_bucket(&self) -> String {
        format!("{}-MediaBucket", self.stack).to_lowercase()
    }

    /// The media store the functions link, on `function`'s key, through the
    /// proxy (path-style, as it addresses an endpoint override).
    pub async fn media_store(&self, function: &str) -> SignedS3MediaStore {
        SignedS3MediaStore::new(&self.sdk(function).await, self.media_bucket())
            .unwrap_or_else(|e| panic!("{function}'s media store: {e}"))
    }

    /// The media bucket on moto's admin key, behind the functions' backs.
    pub fn admin_media_store(&self) -> S3MediaStore {
        S3MediaStore::new(&self.admin, self.media_bucket())
            .unwrap_or_else(|e| panic!("the admin's media store: {e}"))
    }

    pub fn queue_url(&self, logical: &str) -> String {
        self.queue_urls
            .get(logical)
            .cloned()
            .unwrap_or_else(|| panic!("no queue {logical}"))
    }

    /// An SDK configuration signed with `function`'s key, through the proxy.
    pub async fn sdk(&self, function: &str) -> SdkConfig {
        let (id, secret) = self
            .keys
            .get(function)
            .unwrap_or_else(|| panic!("the template has no function {function}"));
        sdk_config(self.proxy.url(), id, secret).await
    }

    /// `function`'s application: store, bus, Scheduler on its key.
    pub async fn app(&self, function: &str, clock: &ManualClock) -> IamApp {
        let sdk = self.sdk(function).await;
        let resources = Resources {
            table: self.table(),
            event_bus: self.bus(),
            schedule_group: self.schedule_group(),
            timers_target_arn: format!(
                "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}-timers",
                self.stack
            ),
            scheduler_role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{}-SchedulerRole", self.stack),
            schedule_dead_letter_queue: Some(format!(
                "arn:aws:sqs:{REGION}:{ACCOUNT}:{}-ScheduleDeadLetterQueue",
                self.stack
            )),
        };
        aws_app(
            &sdk,
            &resources,
            clock.clone(),
            LocalWhatsApp::new(clock.clone()),
        )
    }

    /// The authorizations refused so far, as `function: action on resource (why)`.
    pub fn refusals(&self) -> Vec<String> {
        self.proxy
            .calls()
            .into_iter()
            .filter(|c| !c.decision.allowed())
            .map(|c| {
                format!(
                    "{}: {} on {} ({:?})",
                    c.function, c.authorization.action, c.authorization.resource, c.decision
                )
            })
            .collect()
    }

    /// The functions that made requests, each with the actions it was seen to use.
    pub fn actions_by_function(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for call in self.proxy.calls() {
            out.entry(call.function)
                .or_default()
                .insert(call.authorization.action);
        }
        out
    }
}

impl Drop for IamStack {
    /// Adds what this stack's functions were seen to need (under the full
    /// generated policies only) to `target/iam-observed.json`.
    fn drop(&mut self) {
        if !self.full {
            return;
        }
        let mut observed = lock(&OBSERVED);
        for call in self.proxy.calls() {
            observed.entry(call.function).or_default().insert((
                self.stack.clone(),
                call.authorization.action,
                call.authorization.resource,
                call.authorization.context,
            ));
        }
        let functions: serde_json::Map<String, Value> = observed
            .iter()
            .map(|(function, calls)| {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|(stack, action, resource, context)| {
                        serde_json::json!({
                            "stack": stack, "action": action,
                            "resource": resource, "context": context,
                        })
                    })
                    .collect();
                (function.clone(), Value::Array(calls))
            })
            .collect();
        let document = serde_json::json!({
            "about": "What each function was seen to call under its generated policy (tests/tests/it/iam.rs); infra/tests/test_iam_observed.py checks the template's policies cover it.",
            "region": REGION,
            "account": ACCOUNT,
            "functions": functions,
        });
        let path = observed_path();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&path, format!("{document:#}\n")) {
            eprintln!("writing {}: {e}", path.display());
        }
    }
}
