//! The agents' own endpoints: profile and state, lists, details, transcripts,
//! the desk actions, customer history and supervision.
//!
//! Every route that names a conversation decides first whether the caller may
//! see and act on it (`wadesk_domain::may_access`, here for reads and in the
//! desk service for actions), so a refusal is a 403 that reveals nothing.

use std::collections::HashMap;
use wadesk_app::Ports;

use chrono::Duration;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use wadesk_app::desk::{self as service, Conference};
use wadesk_app::{App, ConversationStore, DeskKeys, DeskStore, Page, WhatsAppClient};
use wadesk_domain::conversation::LiveList;
use wadesk_domain::desk::{Outgoing, TransferTarget};
use wadesk_domain::masking::searchable_text;
use wadesk_domain::{
    may_access, AgentId, AgentState, AuditAction, AuditRecord, Channel, Clock, Conversation,
    ConversationId, ConversationStatus, Direction, PhoneNumberId, QueueId, Role, Timestamp, WaId,
};

use crate::auth::Caller;
use crate::paging::{query, Collector, ListRequest};
use crate::views::{AgentView, ConversationView, List, MessageView};
use crate::{body, ok, ApiError, Result};

/// How far back the archive, supervision and history lists reach unless the
/// caller gives `since`: lists stay bounded in time as well as in size.
const DEFAULT_LOOKBACK_DAYS: i64 = 30;

pub async fn me(caller: &Caller) -> Result<Response<Body>> {
    match &caller.entry {
        Some(agent) => ok(&AgentView::from(agent)),
        // A bootstrap admin the directory does not list yet.
        None => ok(&AgentView::bootstrap_admin(&caller.actor.id)),
    }
}

/// `GET /wrap-up-reasons`: the configured reasons, for anyone in the
/// directory (the wrap-up dialog lists them).
pub async fn wrap_up_reasons<P>(app: &App<P>) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let reasons = app.store.get_wrap_up_reasons().await?;
    ok(&serde_json::json!({ "reasons": reasons }))
}

#[derive(Deserialize)]
struct StateBody {
    state: AgentState,
}

pub async fn set_state<P>(
    app: &App<P>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let input: StateBody = body(request)?;
    let agent = service::set_state(app, &caller.actor.id, input.state).await?;
    ok(&AgentView::from(&agent))
}

/// Renders conversations with their customers' windows and queue names.
async fn render<P>(app: &App<P>, conversations: &[Conversation]) -> Result<Vec<ConversationView>>
where
    P: Ports<Store: DeskStore>,
{
    let now = app.clock.now();
    if let [conversation] = conversations {
        // After a desk action: its customer and queue in one round trip.
        let items = app
            .store
            .read_desk(&DeskKeys {
                customer: Some(conversation.customer.clone()),
                queues: vec![conversation.queue.clone()],
                ..DeskKeys::default()
            })
            .await?;
        let queue_name = items.queues.into_values().next().map(|q| q.name);
        let customer = items.customer.as_ref();
        return Ok(vec![ConversationView::new(
            conversation,
            customer,
            queue_name,
            now,
        )]);
    }
    let mut customers = HashMap::new();
    let mut queues: HashMap<QueueId, Option<String>> = HashMap::new();
    let mut views = Vec::with_capacity(conversations.len());
    for conversation in conversations {
        if !customers.contains_key(&conversation.customer) {
            let customer = app.store.get_customer(&conversation.customer).await?;
            customers.insert(conversation.customer.clone(), customer);
        }
        if !queues.contains_key(&conversation.queue) {
            let name = app
                .store
                .get_queue(&conversation.queue)
                .await?
                .map(|q| q.name);
            queues.insert(conversation.queue.clone(), name);
        }
        let customer = customers
            .get(&conversation.customer)
            .and_then(Option::as_ref);
        let queue_name = queues.get(&conversation.queue).cloned().flatten();
        views.push(ConversationView::new(
            conversation,
            customer,
            queue_name,
            now,
        ));
    }
    Ok(views)
}

async fn render_list<P>(app: &App<P>, collected: Collector<Conversation>) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let next_cursor = collected.next_cursor();
    ok(&List {
        items: render(app, &collected.items).await?,
        next_cursor,
    })
}

/// The views of `GET /conversations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Live(LiveList),
    Unanswered,
    Archive,
}

impl View {
    fn parse(raw: &str) -> Result<Self> {
        Ok(match raw {
            "offered" => Self::Live(LiveList::Offered),
            "active" => Self::Live(LiveList::Active),
            "reopened" => Self::Live(LiveList::Reopened),
            "unanswered" => Self::Unanswered,
            "archive" => Self::Archive,
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown view {other:?}; use offered, unanswered, active, reopened or archive"
                )))
            }
        })
    }
}

/// `since` of a list (RFC 3339), by default the last 30 days.
fn since(request: &Request, now: Timestamp) -> Result<Timestamp> {
    match query(request, "since") {
        None => Ok(now - Duration::days(DEFAULT_LOOKBACK_DAYS)),
        Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| ApiError::Invalid("since must be an RFC 3339 time".into())),
    }
}

/// `GET /conversations?view=…`: the caller's lists. Live views read only the
/// agent's live links (never their archive); unanswered and archive are read
/// page by page.
pub async fn list<P>(app: &App<P>, caller: &Caller, request: &Request) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let mut views: Vec<View> = Vec::new();
    for raw in query(request, "view").unwrap_or("active").split(',') {
        let view = View::parse(raw.trim())?;
        if !views.contains(&view) {
            views.push(view);
        }
    }
    let list = ListRequest::parse(request)?;
    let since = since(request, app.clock.now())?;
    let actor = &caller.actor;
    let mut live: Option<Vec<Conversation>> = None;
    let mut collected = Collector::new(&list);
    for (index, view) in views.iter().enumerate().skip(list.cursor.source) {
        let page = list.page_of(index, collected.room());
        let (page, kept) = match view {
            View::Live(which) => {
                if live.is_none() {
                    live = Some(app.store.list_live_for_agent(&actor.id).await?);
                }
                let mine: Vec<Conversation> = live
                    .iter()
                    .flatten()
                    .filter(|c| c.live_list_of(&actor.id) == Some(*which))
                    .cloned()
                    .collect();
                let page = Page::of_sorted(mine, &page, |c| {
                    wadesk_app::ports::position(c.created_at, c.id)
                });
                let kept = page.items.clone();
                (page, kept)
            }
            View::Unanswered => {
                let page = app
                    .store
                    .list_by_status_page(ConversationStatus::Unanswered, since, &page)
                    .await?;
                let kept = page
                    .items
                    .iter()
                    .filter(|c| may_access(Some(c), actor, caller.entry.as_ref()).is_ok())
                    .cloned()
                    .collect();
                (page, kept)
            }
            View::Archive => {
                let page = app.store.list_archive(&actor.id, since, &page).await?;
                let kept = page.items.clone();
                (page, kept)
            }
        };
        if !collected.take(index, page, kept, views.len()) {
            break;
        }
    }
    render_list(app, collected).await
}

/// The conversation, if the caller may see it (403 otherwise, whatever it is).
async fn visible<P>(app: &App<P>, caller: &Caller, id: ConversationId) -> Result<Conversation>
where
    P: Ports<Store: DeskStore>,
{
    // A desk action's request read it with the caller already.
    let read = caller.prefetched.as_ref().and_then(|p| p.conversation(id));
    let conversation = match read {
        Some(conversation) => conversation.cloned(),
        None => app.store.get_conversation(id).await?,
    };
    may_access(conversation.as_ref(), &caller.actor, caller.entry.as_ref())?;
    conversation.ok_or(ApiError::NotFound)
}

pub async fn detail<P>(app: &App<P>, caller: &Caller, id: ConversationId) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let conversation = visible(app, caller, id).await?;
    let mut views = render(app, std::slice::from_ref(&conversation)).await?;
    ok(&views.pop())
}

/// Whether agents see the channel's conversations masked.
async fn masks<S: DeskStore>(
    store: &S,
    channels: &mut HashMap<PhoneNumberId, Option<Channel>>,
    phone_number_id: &PhoneNumberId,
) -> Result<bool> {
    if !channels.contains_key(phone_number_id) {
        let channel = store.get_channel(phone_number_id).await?;
        channels.insert(phone_number_id.clone(), channel);
    }
    Ok(channels
        .get(phone_number_id)
        .and_then(Option::as_ref)
        .is_some_and(|c| c.mask_sensitive_data))
}

/// `GET /conversations/{id}/messages`: the transcript as agents see it (every
/// customer-supplied field masked when the channel says so), oldest first,
/// page by page.
pub async fn transcript<P>(
    app: &App<P>,
    caller: &Caller,
    id: ConversationId,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let conversation = visible(app, caller, id).await?;
    let list = ListRequest::parse(request)?;
    // Recorded before anything is read: no audit record, no transcript.
    let mut record = AuditRecord::new(
        &caller.actor,
        AuditAction::TranscriptRead,
        "GET /conversations/{id}/messages".to_owned(),
        app.clock.now(),
    );
    record.conversation = Some(conversation.id);
    record.customer = Some(conversation.customer.wa_id.clone());
    app.store.record_audit(&record).await?;
    let masked = masks(
        &app.store,
        &mut HashMap::new(),
        &conversation.customer.phone_number_id,
    )
    .await?;
    let page = app
        .store
        .list_messages_page(conversation.id, &list.page_of(0, list.limit))
        .await?;
    let mut collected = Collector::new(&list);
    let items = page
        .items
        .iter()
        .map(|m| MessageView::new(m, masked))
        .collect();
    collected.take(0, page, items, 1);
    ok(&collected.into_list())
}

#[derive(Deserialize, Default)]
struct TakeBody {
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    text: Option<String>,
    attachment: Option<AttachmentBody>,
}

/// An uploaded file to send (`POST /uploads` first): nothing else, so no
/// link an agent names is ever fetched.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentBody {
    upload_id: String,
    caption: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    agent: Option<String>,
    queue: Option<String>,
}

#[derive(Deserialize)]
struct InviteBody {
    agent: String,
}

#[derive(Deserialize)]
struct WrapUpBody {
    reason: String,
}

#[derive(Deserialize)]
struct HandoffBody {
    queue: String,
}

#[derive(Deserialize)]
struct NoteBody {
    text: String,
}

fn agent_id(raw: String) -> Result<AgentId> {
    AgentId::parse(raw).map_err(|e| ApiError::Invalid(e.to_string()))
}

/// `POST /conversations/{id}/...`: the desk actions.
pub async fn act<P, M>(
    app: &App<P>,
    media: &crate::Media<M>,
    caller: &Caller,
    id: ConversationId,
    action: &[&str],
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    M: wadesk_app::MediaStore,
{
    let actor = &caller.actor;
    let acting = caller.acting();
    let conversation = match action {
        ["accept"] => service::accept(app, acting, id).await?,
        ["take"] => {
            let input: TakeBody = body(request)?;
            let conversation = service::take(app, acting, id, input.force).await?;
            // Taking and overtaking warn but do not block
            // (`docs/product.md#42-agents-offers-and-taking`).
            let mut views = render(app, std::slice::from_ref(&conversation)).await?;
            if let (Some(view), Some(agent)) =
                (views.first_mut(), app.store.get_agent(&actor.id).await?)
            {
                if agent.load > agent.max_concurrent {
                    view.warnings.push(format!(
                        "you now hold {} conversations, above your limit of {}",
                        agent.load, agent.max_concurrent
                    ));
                }
            }
            return ok(&views.pop());
        }
        ["messages"] => {
            let input: SendBody = body(request)?;
            let outgoing = match (input.text, input.attachment) {
                (Some(text), None) => Outgoing::Text(text),
                (None, Some(attachment)) => {
                    // 403 before the upload is read or handed to WhatsApp.
                    let conversation = visible(app, caller, id).await?;
                    wadesk_app::media::prepare_attachment(
                        &media.store,
                        &app.whatsapp,
                        actor,
                        &conversation.customer.phone_number_id,
                        &attachment.upload_id,
                        attachment.caption,
                    )
                    .await?
                }
                _ => return Err(ApiError::Invalid("send either text or attachment".into())),
            };
            let message = service::send(app, acting, id, outgoing).await?;
            return crate::json(
                lambda_http::http::StatusCode::CREATED,
                &MessageView::new(&message, false),
            );
        }
        ["transfer"] => {
            let input: TransferBody = body(request)?;
            let target = match (input.agent, input.queue) {
                (Some(agent), None) => TransferTarget::Agent(agent_id(agent)?),
                (None, Some(queue)) => TransferTarget::Queue(
                    QueueId::parse(queue).map_err(|e| ApiError::Invalid(e.to_string()))?,
                ),
                _ => {
                    return Err(ApiError::Invalid(
                        "transfer to either an agent or a queue".into(),
                    ))
                }
            };
            service::transfer(app, acting, id, target).await?
        }
        ["conference"] => {
            let input: InviteBody = body(request)?;
            service::conference_invite(app, acting, id, &agent_id(input.agent)?).await?
        }
        ["conference", "accept"] => {
            service::conference(app, acting, id, Conference::Accept).await?
        }
        ["conference", "exit"] => service::conference(app, acting, id, Conference::Exit).await?,
        ["conference", "end"] => service::conference(app, acting, id, Conference::End).await?,
        ["end"] => service::end(app, acting, id).await?,
        ["wrap-up"] => {
            let input: WrapUpBody = body(request)?;
            service::wrap_up(app, acting, id, &input.reason).await?
        }
        ["done"] => service::done(app, acting, id).await?,
        ["handoff"] => {
            let input: HandoffBody = body(request)?;
            let queue =
                QueueId::parse(input.queue).map_err(|e| ApiError::Invalid(e.to_string()))?;
            service::handoff(app, acting, id, &queue).await?
        }
        ["notes"] => {
            let input: NoteBody = body(request)?;
            let note = service::add_note(app, acting, id, &input.text).await?;
            return crate::json(
                lambda_http::http::StatusCode::CREATED,
                &MessageView::new(&note, false),
            );
        }
        _ => return Err(ApiError::NotFound),
    };
    let mut views = render(app, std::slice::from_ref(&conversation)).await?;
    ok(&views.pop())
}

/// Reopen or the utility push: the reopen function's two routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reopen {
    Reopen,
    Push,
}

pub async fn reopen<P>(
    app: &App<P>,
    caller: &Caller,
    id: ConversationId,
    kind: Reopen,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let conversation = match kind {
        Reopen::Reopen => service::reopen(app, caller.acting(), id).await?,
        Reopen::Push => service::push(app, caller.acting(), id).await?,
    };
    let mut views = render(app, std::slice::from_ref(&conversation)).await?;
    ok(&views.pop())
}

/// `GET /customers/{wa_id}/history?q=`: the customer's past conversations the
/// caller may see, newest first, page by page; with `q`, those whose
/// transcript contains it in the text the caller would see (masked where the
/// channel masks, so a masked number is never found by its digits).
pub async fn history<P>(
    app: &App<P>,
    caller: &Caller,
    wa_id: &str,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    let actor = &caller.actor;
    if actor.role == Role::Bot {
        return Err(ApiError::Forbidden);
    }
    let list = ListRequest::parse(request)?;
    // A malformed id names no customer (as a malformed conversation id).
    let wa_id = WaId::parse(wa_id.to_owned()).map_err(|_| ApiError::NotFound)?;
    let needle = query(request, "q").map(str::to_lowercase);
    let mut record = AuditRecord::new(
        actor,
        AuditAction::HistorySearch,
        "GET /customers/{wa_id}/history".to_owned(),
        app.clock.now(),
    );
    record.customer = Some(wa_id.clone());
    app.store.record_audit(&record).await?;
    let page = app
        .store
        .list_customer_history_page(&wa_id, &list.page_of(0, list.limit))
        .await?;
    let mut channels = HashMap::new();
    let mut kept = Vec::new();
    for conversation in &page.items {
        if may_access(Some(conversation), actor, caller.entry.as_ref()).is_err() {
            continue;
        }
        let found = match &needle {
            None => true,
            Some(needle) => {
                let masked = masks(
                    &app.store,
                    &mut channels,
                    &conversation.customer.phone_number_id,
                )
                .await?;
                app.store
                    .list_messages(conversation.id)
                    .await?
                    .iter()
                    .filter(|m| m.direction != Direction::Note || actor.role.oversees())
                    .any(|m| {
                        searchable_text(&m.content, masked)
                            .to_lowercase()
                            .contains(needle.as_str())
                    })
            }
        };
        if found {
            kept.push(conversation.clone());
        }
    }
    let mut collected = Collector::new(&list);
    collected.take(0, page, kept, 1);
    render_list(app, collected).await
}

/// `GET /supervise/conversations?status=&agent=`: live conversations for
/// supervisors and admins, status by status, oldest first, page by page.
pub async fn supervise<P>(
    app: &App<P>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    crate::auth::require_oversight(&caller.actor)?;
    let mut statuses: Vec<ConversationStatus> = Vec::new();
    match query(request, "status") {
        Some(raw) => {
            for s in raw.split(',') {
                let status: ConversationStatus =
                    serde_json::from_value(serde_json::Value::String(s.trim().to_owned()))
                        .map_err(|_| ApiError::Invalid(format!("unknown status {s:?}")))?;
                if !statuses.contains(&status) {
                    statuses.push(status);
                }
            }
        }
        None => statuses.extend([
            ConversationStatus::Bot,
            ConversationStatus::Unanswered,
            ConversationStatus::Active,
            ConversationStatus::WrapUp,
            ConversationStatus::Reopened,
        ]),
    }
    let agent = query(request, "agent")
        .map(|a| agent_id(a.to_owned()))
        .transpose()?;
    let list = ListRequest::parse(request)?;
    let since = since(request, app.clock.now())?;
    let mut collected = Collector::new(&list);
    for (index, status) in statuses.iter().enumerate().skip(list.cursor.source) {
        let page = app
            .store
            .list_by_status_page(*status, since, &list.page_of(index, collected.room()))
            .await?;
        let kept = page
            .items
            .iter()
            .filter(|conversation| {
                agent.as_ref().is_none_or(|a| {
                    conversation.owner.as_ref() == Some(a)
                        || conversation.agent_links().iter().any(|(id, _)| id == a)
                })
            })
            .cloned()
            .collect();
        if !collected.take(index, page, kept, statuses.len()) {
            break;
        }
    }
    render_list(app, collected).await
}
