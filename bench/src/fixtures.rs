//! Test data and set-up shared by the criterion benches and `aws-requests`:
//! signed webhook requests as WhatsApp sends them, a desk with one agent, and
//! conversations brought to the state an operation needs.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt};
use wadesk_app::desk::{self, AgentProfile, DeskFailure};
use wadesk_app::embedded::{EmbeddedStore, LocalEventBus, LocalScheduler, LocalWhatsApp};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore, WhatsAppClient};
use wadesk_domain::desk::Outgoing;
use wadesk_domain::{
    Actor, AgentId, AgentState, Channel, Clock, ConversationId, CustomerKey, InboundMessage,
    ManualClock, MessageContent, PhoneNumberId, Queue, QueueId, Role, TemplateRef, WaId, Wamid,
};
use wadesk_whatsapp::{signature, WebhookBuilder};
use webhook::WebhookSettings;

use crate::BoxError;

/// The Scheduler target and role of the benchmarks' stacks on moto (it only
/// stores them).
pub const TARGET_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-timers";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/wadesk-scheduler";

/// The business number every benchmark message goes to.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const DISPLAY_PHONE_NUMBER: &str = "+1 555 0100";
/// The webhook's secrets in the benches (the Lambdas read theirs from the environment).
pub const APP_SECRET: &str = "bench-app-secret";
pub const VERIFY_TOKEN: &str = "bench-verify-token";
/// The agent who takes, answers, reopens and pushes.
pub const AGENT: &str = "ana";
/// The wrap-up reason the benches finish conversations with.
pub const WRAP_UP_REASON: &str = "Resolved";

/// The application on the embedded adapters, as the tests and the local runner wire it.
pub type EmbeddedApp = App<(
    EmbeddedStore,
    LocalEventBus,
    LocalScheduler,
    ManualClock,
    LocalWhatsApp,
)>;

/// The embedded application with its clock frozen at `now`.
pub fn embedded_app(now: DateTime<Utc>) -> EmbeddedApp {
    let clock = ManualClock::frozen_at(now);
    App::new(
        EmbeddedStore::new(),
        LocalEventBus::new(),
        LocalScheduler::new(),
        clock.clone(),
        LocalWhatsApp::new(clock),
    )
}

/// Now, truncated to whole seconds as WhatsApp's timestamps are.
pub fn now_seconds() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default()
}

pub fn webhook_settings() -> WebhookSettings {
    WebhookSettings::new(APP_SECRET, VERIFY_TOKEN)
}

/// The `wa_id` of customer number `n` (Spanish mobile numbers, all distinct).
pub fn wa_id(n: u64) -> String {
    format!("346{:08}", n % 100_000_000)
}

pub fn customer_key(n: u64) -> Result<CustomerKey, BoxError> {
    Ok(CustomerKey::new(
        PhoneNumberId::parse(PHONE_NUMBER_ID)?,
        WaId::parse(wa_id(n))?,
    ))
}

/// A Cloud API body with one text message from customer `customer`.
pub fn message_body(customer: u64, wamid: &str, at: i64, text: &str) -> String {
    wadesk_whatsapp::text_message_body(
        PHONE_NUMBER_ID,
        DISPLAY_PHONE_NUMBER,
        &wa_id(customer),
        "Ana",
        text,
        wamid,
        at,
    )
    .to_string()
}

/// A Cloud API body with one text message from each of `customers`, in order.
pub fn batch_body(customers: impl IntoIterator<Item = u64>, wamid_prefix: &str, at: i64) -> String {
    customers
        .into_iter()
        .enumerate()
        .fold(
            WebhookBuilder::new(PHONE_NUMBER_ID, DISPLAY_PHONE_NUMBER),
            |builder, (i, customer)| {
                builder.text(
                    &wa_id(customer),
                    "Ana",
                    "hola, necesito ayuda con mi pedido",
                    &format!("{wamid_prefix}.{i}"),
                    at,
                )
            },
        )
        .build()
        .to_string()
}

/// `POST /webhook` with `body` signed by [`APP_SECRET`], as API Gateway hands it over.
pub fn signed_webhook_post(body: String) -> Result<Request, BoxError> {
    let signature = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    Ok(lambda_http::http::Request::builder()
        .method("POST")
        .uri("/webhook")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(Body::Text(body))?)
}

/// An inbound text message, as the webhook parser makes it.
pub fn inbound_text(
    customer: u64,
    wamid: &str,
    at: DateTime<Utc>,
    text: &str,
) -> Result<InboundMessage, BoxError> {
    Ok(InboundMessage {
        wamid: Wamid::parse(wamid)?,
        customer: customer_key(customer)?,
        profile_name: Some("Ana".into()),
        display_phone_number: DISPLAY_PHONE_NUMBER.into(),
        sent_at: at,
        content: MessageContent::Text { text: text.into() },
    })
}

pub fn agent() -> Result<Actor, BoxError> {
    Ok(Actor {
        id: AgentId::parse(AGENT)?,
        role: Role::Agent,
    })
}

/// The directory a desk needs: the default queue, the channel (with its reopen
/// message and push template), the wrap-up reasons.
pub async fn seed_directory<S: DeskStore>(store: &S) -> Result<(), BoxError> {
    store
        .put_queue(&Queue {
            id: QueueId::default_queue(),
            name: "Default".into(),
        })
        .await?;
    let mut channel = Channel::unconfigured(
        PhoneNumberId::parse(PHONE_NUMBER_ID)?,
        DISPLAY_PHONE_NUMBER.into(),
    );
    channel.reopen_message = "Hi again! We are back on your request.".into();
    channel.push_template = Some(TemplateRef {
        name: "follow_up".into(),
        language: "en".into(),
    });
    store.put_channel(&channel).await?;
    store
        .put_wrap_up_reasons(&[WRAP_UP_REASON.to_owned(), "Follow-up needed".to_owned()])
        .await?;
    Ok(())
}

/// Creates [`AGENT`] in the default queue; `available` makes routing offer
/// new conversations to them.
pub async fn seed_agent<P>(app: &App<P>, available: bool) -> Result<Actor, BoxError>
where
    P: Ports<Store: DeskStore>,
{
    let actor = agent()?;
    desk::upsert_agent(
        app,
        &actor.id,
        AgentProfile {
            name: "Ana".into(),
            role: Role::Agent,
            queues: vec![QueueId::default_queue()],
            max_concurrent: 1_000_000,
        },
    )
    .await?;
    if available {
        desk::set_state(app, &actor.id, AgentState::Available).await?;
    }
    Ok(actor)
}

/// Stores `message` and answers the conversation it landed in.
pub async fn receive<P>(app: &App<P>, message: InboundMessage) -> Result<ConversationId, BoxError>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    match receive_message(app, message).await? {
        InboundOutcome::Stored {
            conversation_id, ..
        } => Ok(conversation_id),
        InboundOutcome::Duplicate { .. } => Err("the message was already stored".into()),
    }
}

/// The agent takes conversation `id` and answers it: the conversation is `active`.
pub async fn take_and_answer<P>(
    app: &App<P>,
    actor: &Actor,
    id: ConversationId,
) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    desk::take(app, actor, id, false).await?;
    desk::send(
        app,
        actor,
        id,
        Outgoing::Text("Hello, how can I help?".into()),
    )
    .await?;
    Ok(())
}

/// Ends and wraps up conversation `id`: it is `finished`, in the agent's archive.
pub async fn finish<P>(app: &App<P>, actor: &Actor, id: ConversationId) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    desk::end(app, actor, id).await?;
    desk::wrap_up(app, actor, id, WRAP_UP_REASON).await?;
    Ok(())
}

/// A conversation of customer `customer` that the agent took, answered and
/// finished, with the customer's window still open: ready to reopen.
pub async fn finished_conversation<P>(
    app: &App<P>,
    actor: &Actor,
    customer: u64,
    wamid: &str,
) -> Result<ConversationId, BoxError>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let at = app.clock.now();
    let id = receive(app, inbound_text(customer, wamid, at, "I need help")?).await?;
    take_and_answer(app, actor, id).await?;
    finish(app, actor, id).await?;
    Ok(id)
}

/// `GET path?query` as API Gateway hands it to an HTTP function.
pub fn http_get(path: &str, query: &[(&str, &str)]) -> Result<Request, BoxError> {
    let parameters: std::collections::HashMap<String, Vec<String>> = query
        .iter()
        .map(|(name, value)| ((*name).to_owned(), vec![(*value).to_owned()]))
        .collect();
    Ok(lambda_http::http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)?
        .with_query_string_parameters(parameters))
}

/// `request` with the claims API Gateway's JWT authorizer passes on: the
/// agent `sub` and their `role`.
pub fn with_claims(request: Request, sub: &str, role: &str) -> Request {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
        ApiGatewayV2httpRequestContext,
    };
    use lambda_http::request::RequestContext;

    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims = [("sub", sub), ("role", role)]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    request.with_request_context(RequestContext::ApiGatewayV2(context))
}
