//! A local stand-in for the Lambda Runtime API (the `2018-06-01` HTTP
//! interface the Lambda runtime polls), on 127.0.0.1.
//!
//! It notes when the first `GET /2018-06-01/runtime/invocation/next` arrives
//! (the end of a cold start), hands out the same event a set number of times,
//! checks each answer, and once the events are all served holds the next poll
//! open and says so: the function is then idle between invocations, the moment
//! to read its memory.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BoxError;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

/// Judges one answer: its body, and whether it was posted as an error.
pub type AnswerCheck = Arc<dyn Fn(&[u8], bool) -> bool + Send + Sync>;

struct Shared {
    event: Bytes,
    function_arn: String,
    /// Events to hand out before holding the poll.
    invocations: u64,
    served: AtomicU64,
    expected_answers: AtomicU64,
    check: AnswerCheck,
    first_answer: Mutex<Option<String>>,
    init_error: Mutex<Option<String>>,
    first_poll: watch::Sender<Option<Instant>>,
    exhausted: watch::Sender<bool>,
}

/// A running stub; dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Serves on a free loopback port: `event` is handed out `invocations` times.
    pub async fn start(
        function_name: &str,
        event: Vec<u8>,
        invocations: u64,
        check: AnswerCheck,
    ) -> Result<Self, BoxError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            event: Bytes::from(event),
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            invocations,
            served: AtomicU64::new(0),
            expected_answers: AtomicU64::new(0),
            check,
            first_answer: Mutex::new(None),
            init_error: Mutex::new(None),
            first_poll: watch::channel(None).0,
            exhausted: watch::channel(false).0,
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        Ok(Self {
            address,
            shared,
            server,
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: host and port.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// When the first poll arrived (waits for it).
    pub async fn first_poll(&self) -> Result<Instant, BoxError> {
        let mut first = self.shared.first_poll.subscribe();
        let seen = first.wait_for(Option::is_some).await?;
        (*seen).ok_or_else(|| "first poll lost".into())
    }

    /// Waits until a poll arrives after every event was served.
    pub async fn exhausted(&self) -> Result<(), BoxError> {
        let mut done = self.shared.exhausted.subscribe();
        done.wait_for(|done| *done).await?;
        Ok(())
    }

    pub fn served(&self) -> u64 {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Answers the check accepted.
    pub fn expected_answers(&self) -> u64 {
        self.shared.expected_answers.load(Ordering::Relaxed)
    }

    pub fn first_answer(&self) -> Option<String> {
        lock(&self.shared.first_answer).clone()
    }

    /// What the function posted to `/runtime/init/error`, if it failed to start.
    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared.init_error).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Small requests and answers on a keep-alive connection: no batching delay.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, request).await) }
            });
            // The function closes the connection when it is killed: not an error here.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let arrived = Instant::now();
    let path = request.uri().path().to_owned();
    if path == NEXT {
        shared.first_poll.send_if_modified(|first| {
            let is_first = first.is_none();
            if is_first {
                *first = Some(arrived);
            }
            is_first
        });
        return next_event(shared).await;
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return answer(StatusCode::BAD_REQUEST, ""),
    };
    if path == INIT_ERROR {
        *lock(&shared.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
        return answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
    }
    if let Some(rest) = path.strip_prefix(INVOCATION_PREFIX) {
        let is_error = rest.ends_with("/error");
        if is_error || rest.ends_with("/response") {
            if (shared.check)(&body, is_error) {
                shared.expected_answers.fetch_add(1, Ordering::Relaxed);
            }
            lock(&shared.first_answer)
                .get_or_insert_with(|| String::from_utf8_lossy(&body).into_owned());
            return answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
        }
    }
    answer(StatusCode::NOT_FOUND, "")
}

async fn next_event(shared: &Shared) -> Response<Full<Bytes>> {
    let number = shared.served.fetch_add(1, Ordering::Relaxed);
    if number >= shared.invocations {
        // Everything served: keep the function waiting here, as Lambda does
        // between invocations, until it is stopped.
        shared.served.fetch_sub(1, Ordering::Relaxed);
        shared.exhausted.send_replace(true);
        std::future::pending::<()>().await;
    }
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() + 10_000);
    let mut response = Response::new(Full::new(shared.event.clone()));
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    put("content-type", "application/json".into());
    put("lambda-runtime-aws-request-id", format!("bench-{number}"));
    put("lambda-runtime-deadline-ms", deadline_ms.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    put(
        "lambda-runtime-trace-id",
        format!("Root=1-00000000-{number:024x};Parent=0000000000000000;Sampled=0"),
    );
    response
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
