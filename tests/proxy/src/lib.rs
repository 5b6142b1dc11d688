//! The HTTP proxy in front of moto's server that the tests and benchmarks
//! share: one server loop (a loopback listener, HTTP/1 connections) and one
//! way of forwarding a request to moto, with a [`Handler`] deciding what
//! happens to each request. The fault-injecting and IAM-checking proxies of
//! the tests are handlers; so is [`LatencyProxy`], the benchmarks' model of
//! AWS's network.

mod latency;

pub use latency::{LatencyProxy, LatencyStats, Model, DEFAULT_ROUND_TRIP};

use std::future::Future;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// What a handler answers a client with.
pub type ProxyResponse = hyper::Response<Full<Bytes>>;

/// A request as the proxy received it, body read.
#[derive(Debug)]
pub struct ProxyRequest {
    pub parts: hyper::http::request::Parts,
    pub body: Bytes,
}

impl ProxyRequest {
    /// `X-Amz-Target` (the JSON protocols' operation), if any.
    pub fn target(&self) -> Option<&str> {
        self.parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
    }

    /// The operation: `X-Amz-Target`, or `METHOD /path` for the REST protocols.
    pub fn operation(&self) -> String {
        self.target().map_or_else(
            || format!("{} {}", self.parts.method, self.parts.uri.path()),
            str::to_owned,
        )
    }

    /// The path and query as received.
    pub fn path_and_query(&self) -> String {
        self.parts
            .uri
            .path_and_query()
            .map_or_else(|| self.parts.uri.path().to_owned(), ToString::to_string)
    }
}

/// The connection ends without an answer (a fault a handler injects).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the proxy")
    }
}

impl std::error::Error for Dropped {}

/// What the proxy does with each request.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: ProxyRequest,
    ) -> impl Future<Output = Result<ProxyResponse, Dropped>> + Send;
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Server {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Listens on a free loopback port and serves every connection with `handler`.
    pub async fn start<H: Handler>(handler: H) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Small requests and answers: no Nagle delay on top of the model.
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
                            handler.handle(ProxyRequest { parts, body }).await
                        }
                    });
                    // A dropped connection ends with an error: that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { url, task })
    }

    /// Where clients should send their requests.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// moto (or any HTTP server) behind the proxy.
#[derive(Debug, Clone)]
pub struct Upstream {
    base: String,
    http: reqwest::Client,
}

/// An answer from upstream, body read.
#[derive(Debug)]
pub struct Answer {
    pub status: hyper::StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Upstream {
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder().no_proxy().build()?,
        })
    }

    /// Sends `method path_and_query` with these headers and body; hop-by-hop
    /// headers are the caller's to leave out.
    pub async fn send<'a>(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        headers: impl IntoIterator<
            Item = (
                &'a hyper::header::HeaderName,
                &'a hyper::header::HeaderValue,
            ),
        >,
        body: Bytes,
    ) -> Result<Answer, reqwest::Error> {
        let mut forward = self
            .http
            .request(method, format!("{}{path_and_query}", self.base));
        for (name, value) in headers {
            forward = forward.header(name, value);
        }
        let answer = forward.body(body).send().await?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Forwards `request` unchanged (but for its hop-by-hop headers).
    pub async fn forward(&self, request: &ProxyRequest) -> Result<Answer, reqwest::Error> {
        let headers = request
            .parts
            .headers
            .iter()
            .filter(|(name, _)| !is_hop_by_hop(name.as_str()));
        self.send(
            request.parts.method.clone(),
            &request.path_and_query(),
            headers,
            request.body.clone(),
        )
        .await
    }
}

impl Answer {
    /// The answer as the proxy passes it on (hop-by-hop headers left out).
    pub fn into_response(self) -> ProxyResponse {
        let mut response = hyper::Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        for (name, value) in &self.headers {
            if !is_hop_by_hop(name.as_str()) {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

/// A plain-text answer (the proxy's own errors).
pub fn plain(status: u16, text: &str) -> ProxyResponse {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    response
}

/// Headers of one connection, not of the request: never forwarded.
pub fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}
