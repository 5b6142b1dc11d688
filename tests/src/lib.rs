//! Helpers shared by the integration tests: moto's server for AWS, test data,
//! and a [`TestApp`] that runs the local runner on a free loopback port.

pub mod fault_proxy;
pub mod iam;
pub mod iam_policy;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use chrono::{DateTime, Utc};
use wadesk_app::embedded::{EmbeddedStore, LocalEventBus, LocalScheduler, LocalWhatsApp};
use wadesk_app::{App, ConversationStore, DeskStore, Ports};
use wadesk_aws::{DynamoStore, RequestCounter};
use wadesk_domain::{
    AgentId, AgentProfile, CustomerKey, InboundMessage, ManualClock, MessageContent, PhoneNumberId,
    Queue, QueueId, Role, WaId, Wamid,
};
use wadesk_local_runner::{Runner, Settings};

/// moto's server, started by `scripts/test.sh`.
pub fn moto_endpoint() -> String {
    std::env::var("WADESK_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("WADESK_MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto's server")
    })
}

pub async fn moto_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

pub async fn dynamodb_client(counter: Option<&RequestCounter>) -> aws_sdk_dynamodb::Client {
    let sdk = moto_sdk_config().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

pub async fn scheduler_client(counter: Option<&RequestCounter>) -> aws_sdk_scheduler::Client {
    let sdk = moto_sdk_config().await;
    let mut config = aws_sdk_scheduler::config::Builder::from(&sdk);
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    aws_sdk_scheduler::Client::from_conf(config.build())
}

pub async fn eventbridge_client(counter: Option<&RequestCounter>) -> aws_sdk_eventbridge::Client {
    let sdk = moto_sdk_config().await;
    let mut config = aws_sdk_eventbridge::config::Builder::from(&sdk);
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    aws_sdk_eventbridge::Client::from_conf(config.build())
}

/// SQS on moto (the webhook's poison queue).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto_sdk_config().await)
}

/// A new SQS queue on moto, named `prefix` and a unique suffix: the client
/// and the queue's URL.
pub async fn sqs_queue(prefix: &str) -> (aws_sdk_sqs::Client, String) {
    let sqs = sqs_client().await;
    let created = sqs
        .create_queue()
        .queue_name(unique_name(prefix))
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating an SQS queue on moto: {e:?}"));
    let url = created
        .queue_url()
        .unwrap_or_else(|| panic!("moto gave no queue URL"))
        .to_owned();
    (sqs, url)
}

/// The one message waiting on SQS queue `url`, as JSON.
pub async fn the_only_sqs_record(sqs: &aws_sdk_sqs::Client, url: &str) -> serde_json::Value {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap_or_else(|e| panic!("receiving from {url}: {e:?}"));
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body = messages[0].body().unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// DynamoDB Streams on moto (straight to moto: the relay's reads are Lambda's,
/// not the application's).
pub async fn dynamodbstreams_client() -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::new(&moto_sdk_config().await)
}

/// A name no other test in this run uses.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh table on moto, as the template declares it.
pub async fn dynamo_store(counter: Option<&RequestCounter>) -> DynamoStore {
    let client = dynamodb_client(counter).await;
    let table = unique_name("wadesk-test");
    wadesk_aws::dynamodb::create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} on moto: {e:?}"));
    if let Some(counter) = counter {
        counter.reset();
    }
    DynamoStore::new(client, table)
}

pub fn embedded_store() -> EmbeddedStore {
    EmbeddedStore::new()
}

pub type TestServices<S> = App<(S, LocalEventBus, LocalScheduler, ManualClock, LocalWhatsApp)>;

/// The application over `store` with local bus, scheduler and outbox, at a fixed time.
pub fn services<S: ConversationStore>(store: S, now: DateTime<Utc>) -> Arc<TestServices<S>> {
    let clock = ManualClock::frozen_at(now);
    Arc::new(App::new(
        store,
        LocalEventBus::new(),
        LocalScheduler::new(),
        clock.clone(),
        LocalWhatsApp::new(clock),
    ))
}

/// The default queue and the `Resolved` wrap-up reason: what a desk needs
/// before its agents can take and finish conversations.
pub async fn open_default_queue<S: DeskStore>(store: &S) {
    let queue = Queue {
        id: QueueId::default_queue(),
        name: "Default".into(),
    };
    store
        .put_queue(&queue)
        .await
        .unwrap_or_else(|e| panic!("putting the default queue: {e}"));
    store
        .put_wrap_up_reasons(&["Resolved".to_owned()])
        .await
        .unwrap_or_else(|e| panic!("putting the wrap-up reasons: {e}"));
}

/// `id` joins the default queue as an agent named `name`, serving at most
/// `max_concurrent` conversations (not ready until they say otherwise).
pub async fn hire_agent<P>(app: &App<P>, id: &AgentId, name: &str, max_concurrent: u32)
where
    P: Ports<Store: DeskStore>,
{
    let profile = AgentProfile {
        name: name.into(),
        role: Role::Agent,
        queues: vec![QueueId::default_queue()],
        max_concurrent,
    };
    wadesk_app::desk::upsert_agent(app, id, profile)
        .await
        .unwrap_or_else(|e| panic!("hiring {id}: {e}"));
}

/// The events a store committed to its outbox for the relay (the embedded
/// store's whole outbox, oldest first; DynamoDB's items of one conversation).
pub trait Outbox {
    fn committed(
        &self,
        id: wadesk_domain::ConversationId,
    ) -> impl std::future::Future<Output = Vec<wadesk_domain::EventEnvelope>>;
}

impl Outbox for EmbeddedStore {
    async fn committed(
        &self,
        _id: wadesk_domain::ConversationId,
    ) -> Vec<wadesk_domain::EventEnvelope> {
        self.outbox()
    }
}

impl Outbox for DynamoStore {
    async fn committed(
        &self,
        id: wadesk_domain::ConversationId,
    ) -> Vec<wadesk_domain::EventEnvelope> {
        self.outbox(id)
            .await
            .unwrap_or_else(|e| panic!("reading the outbox: {e}"))
    }
}

pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const DISPLAY_PHONE_NUMBER: &str = "+1 555 0100";

pub fn customer(wa_id: &str) -> CustomerKey {
    CustomerKey::new(
        PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap_or_else(|e| panic!("{e}")),
        WaId::parse(wa_id).unwrap_or_else(|e| panic!("{e}")),
    )
}

pub fn text_message(
    customer: &CustomerKey,
    wamid: &str,
    sent_at: DateTime<Utc>,
    text: &str,
) -> InboundMessage {
    InboundMessage {
        wamid: Wamid::parse(wamid).unwrap_or_else(|e| panic!("{e}")),
        customer: customer.clone(),
        profile_name: Some("Ana".into()),
        display_phone_number: DISPLAY_PHONE_NUMBER.into(),
        sent_at,
        content: MessageContent::Text { text: text.into() },
    }
}

/// Agent maria's "hello" to `conversation_id` at `at`, sent as `wamid` and
/// not yet delivered.
pub fn outbound_hello(
    conversation_id: wadesk_domain::ConversationId,
    wamid: &str,
    at: DateTime<Utc>,
) -> wadesk_domain::Message {
    wadesk_domain::Message {
        id: wadesk_domain::MessageId::generate(),
        conversation_id,
        direction: wadesk_domain::Direction::Outbound,
        content: MessageContent::Text {
            text: "hello".into(),
        },
        author: Some("maria".into()),
        at,
        status: Some(wadesk_domain::DeliveryStatus::Pending),
        error: None,
        wamid: Some(Wamid::parse(wamid).unwrap_or_else(|e| panic!("{e}"))),
    }
}

/// WhatsApp's delivery of `body` to the webhook function, signed with the
/// app's `secret` as Meta signs it.
pub fn signed_webhook_post(secret: &str, body: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhook")
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            wadesk_whatsapp::signature::sign(secret.as_bytes(), body.as_bytes()),
        )
        .body(lambda_http::Body::Text(body.to_owned()))
        .unwrap_or_else(|e| panic!("building the webhook request: {e}"))
}

/// One path segment, percent-encoded (subjects such as `auth0|abc123`).
pub fn urlencode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Truncated to whole seconds, as WhatsApp's timestamps are.
pub fn now_seconds() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default()
}

/// The local runner on a free loopback port, with its embedded store.
pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    pub runner: Arc<Runner<EmbeddedStore>>,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            // `root` fills the directory (see `TestApp::token`).
            bootstrap_admins: vec![
                wadesk_domain::AgentId::parse("root").unwrap_or_else(|e| panic!("{e}"))
            ],
            ..Settings::default()
        };
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
        let address = format!(
            "http://{}",
            listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
        );
        let runner = Runner::start(EmbeddedStore::new(), settings.clone())
            .await
            .unwrap_or_else(|e| panic!("starting the runner: {e}"));
        let server = tokio::spawn(wadesk_local_runner::serve(listener, runner.clone()));
        Self {
            address,
            settings,
            runner,
            http: reqwest::Client::new(),
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, None, Some(body))
            .await
    }

    /// A token for `sub`, minted as the identity provider would. Its `role`
    /// claim is ignored by the API (the directory decides); `root` is the
    /// stack's bootstrap admin.
    pub fn token(&self, sub: &str, role: &str) -> String {
        wadesk_local_runner::auth::mint(self.settings.jwt_secret.as_bytes(), sub, role, 3600)
            .unwrap_or_else(|e| panic!("minting a token: {e}"))
    }

    /// A request as `token`'s holder; answers status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    /// Moves the runner's clock on by `seconds` (timers due fire); the answer.
    pub async fn advance_clock(&self, seconds: i64) -> serde_json::Value {
        let (status, answer) = self
            .post_json(
                "/_local/clock/advance",
                serde_json::json!({ "seconds": seconds }),
            )
            .await;
        assert_eq!(status, 200, "advancing the clock {seconds} s: {answer}");
        answer
    }

    /// What the local WhatsApp stand-in was asked to send, oldest first.
    pub async fn sent_to_whatsapp(&self) -> Vec<serde_json::Value> {
        let (status, sent) = self.get_json("/_local/sent").await;
        assert_eq!(status, 200, "{sent}");
        sent["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items in {sent}"))
            .clone()
    }

    /// `method path` as `token` with a JSON `body`, which must answer
    /// `status`; the answer's body.
    pub async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: serde_json::Value,
        status: u16,
    ) -> serde_json::Value {
        let (got, answer) = self
            .call(method.clone(), path, Some(token), Some(body))
            .await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}
