//! The agents' own endpoints: profile and state, lists, details, transcripts,
//! the desk actions, customer history and supervision.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Deserialize;
use wadesk_app::desk::{self as service, Conference};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::desk::{may_view, Outgoing, TransferTarget};
use wadesk_domain::{
    Actor, AgentId, AgentState, Attachment, Clock, Conversation, ConversationId,
    ConversationStatus, Direction, QueueId, WaId,
};

use crate::views::{AgentView, ConversationView, Items, MessageView};
use crate::{body, ok, ApiError, Result};

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

pub async fn me<S, E, T, C, W>(app: &App<S, E, T, C, W>, actor: &Actor) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let agent = app
        .store
        .get_agent(&actor.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    ok(&AgentView::from(&agent))
}

#[derive(Deserialize)]
struct StateBody {
    state: AgentState,
}

pub async fn set_state<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    request: &Request,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let input: StateBody = body(request)?;
    let agent = service::set_state(app, &actor.id, input.state).await?;
    ok(&AgentView::from(&agent))
}

/// Renders conversations with their customers' windows and queue names.
async fn render<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    conversations: &[Conversation],
) -> Result<Vec<ConversationView>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let now = app.clock.now();
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

pub async fn list<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    request: &Request,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let views = query(request, "view").unwrap_or("active");
    let agent = app.store.get_agent(&actor.id).await?;
    let mine = app.store.list_for_agent(&actor.id).await?;
    let mut selected: Vec<Conversation> = Vec::new();
    let views: Vec<&str> = views.split(',').map(str::trim).collect();
    for view in views {
        let matching: Vec<Conversation> = match view {
            "offered" => mine
                .iter()
                .filter(|c| {
                    c.offered_to.as_ref() == Some(&actor.id)
                        || c.invited.as_ref() == Some(&actor.id)
                })
                .cloned()
                .collect(),
            "active" => mine
                .iter()
                .filter(|c| {
                    matches!(
                        c.status,
                        ConversationStatus::Active | ConversationStatus::WrapUp
                    ) && (c.owner.as_ref() == Some(&actor.id) || c.participants.contains(&actor.id))
                        || c.pending_wrap_up.contains(&actor.id)
                })
                .cloned()
                .collect(),
            "reopened" => mine
                .iter()
                .filter(|c| {
                    c.status == ConversationStatus::Reopened && c.owner.as_ref() == Some(&actor.id)
                })
                .cloned()
                .collect(),
            "archive" => mine
                .iter()
                .filter(|c| {
                    c.status == ConversationStatus::Finished
                        && c.owner.as_ref() == Some(&actor.id)
                        && !c.done
                })
                .cloned()
                .collect(),
            "unanswered" => app
                .store
                .list_by_status(ConversationStatus::Unanswered)
                .await?
                .into_iter()
                .filter(|c| {
                    actor.role.oversees() || agent.as_ref().is_some_and(|a| a.serves(&c.queue))
                })
                .collect(),
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown view {other:?}; use offered, unanswered, active, reopened or archive"
                )))
            }
        };
        for conversation in matching {
            if !selected.iter().any(|c| c.id == conversation.id) {
                selected.push(conversation);
            }
        }
    }
    ok(&Items {
        items: render(app, &selected).await?,
    })
}

async fn visible<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let conversation = app
        .store
        .get_conversation(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let agent = app.store.get_agent(&actor.id).await?;
    let finished_by_me = conversation.status == ConversationStatus::Finished
        && conversation.owner.as_ref() == Some(&actor.id);
    if may_view(&conversation, actor, agent.as_ref()) || finished_by_me {
        Ok(conversation)
    } else {
        Err(ApiError::Forbidden)
    }
}

pub async fn detail<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let conversation = visible(app, actor, id).await?;
    let mut views = render(app, std::slice::from_ref(&conversation)).await?;
    ok(&views.pop())
}

pub async fn transcript<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let conversation = visible(app, actor, id).await?;
    let items = transcript_of(app, &conversation).await?;
    ok(&Items { items })
}

/// The transcript as agents see it: masked when the channel says so.
async fn transcript_of<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    conversation: &Conversation,
) -> Result<Vec<MessageView>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let channel = app
        .store
        .get_channel(&conversation.customer.phone_number_id)
        .await?;
    let mask: Option<fn(&str) -> String> = channel.filter(|c| c.mask_sensitive_data).map(|_| {
        (|text: &str| wadesk_domain::masking::mask_sensitive(text).into_owned())
            as fn(&str) -> String
    });
    let messages = app.store.list_messages(conversation.id).await?;
    Ok(messages.iter().map(|m| MessageView::new(m, mask)).collect())
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

#[derive(Deserialize)]
struct AttachmentBody {
    kind: Option<String>,
    url: String,
    filename: String,
    mime_type: Option<String>,
    size_bytes: u64,
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
pub async fn act<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    action: &[&str],
    request: &Request,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let conversation = match action {
        ["accept"] => service::accept(app, actor, id).await?,
        ["take"] => {
            let input: TakeBody = body(request)?;
            let conversation = service::take(app, actor, id, input.force).await?;
            // Taking and overtaking warn but do not block (spec 4.2).
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
            let (kind, outgoing) = match (input.text, input.attachment) {
                (Some(text), None) => (None, Outgoing::Text(text)),
                (None, Some(a)) => (
                    a.kind,
                    Outgoing::Attachment(Attachment {
                        url: Some(a.url),
                        media_id: None,
                        filename: Some(a.filename),
                        mime_type: a.mime_type,
                        size_bytes: Some(a.size_bytes),
                        caption: a.caption,
                    }),
                ),
                _ => return Err(ApiError::Invalid("send either text or attachment".into())),
            };
            let message = service::send(app, actor, id, kind.as_deref(), outgoing).await?;
            return crate::json(
                lambda_http::http::StatusCode::CREATED,
                &MessageView::new(&message, None),
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
            service::transfer(app, actor, id, target).await?
        }
        ["conference"] => {
            let input: InviteBody = body(request)?;
            service::conference_invite(app, actor, id, &agent_id(input.agent)?).await?
        }
        ["conference", "accept"] => service::conference(app, actor, id, Conference::Accept).await?,
        ["conference", "exit"] => service::conference(app, actor, id, Conference::Exit).await?,
        ["conference", "end"] => service::conference(app, actor, id, Conference::End).await?,
        ["end"] => service::end(app, actor, id).await?,
        ["wrap-up"] => {
            let input: WrapUpBody = body(request)?;
            service::wrap_up(app, actor, id, &input.reason).await?
        }
        ["done"] => service::done(app, actor, id).await?,
        ["handoff"] => {
            let input: HandoffBody = body(request)?;
            let queue =
                QueueId::parse(input.queue).map_err(|e| ApiError::Invalid(e.to_string()))?;
            service::handoff(app, actor, id, &queue).await?
        }
        ["notes"] => {
            let input: NoteBody = body(request)?;
            let note = service::add_note(app, actor, id, &input.text).await?;
            return crate::json(
                lambda_http::http::StatusCode::CREATED,
                &MessageView::new(&note, None),
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

pub async fn reopen<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    kind: Reopen,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let conversation = match kind {
        Reopen::Reopen => service::reopen(app, actor, id).await?,
        Reopen::Push => service::push(app, actor, id).await?,
    };
    let mut views = render(app, std::slice::from_ref(&conversation)).await?;
    ok(&views.pop())
}

/// All past conversations with a customer, optionally those whose transcript
/// contains `q` (case-insensitive).
pub async fn history<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    wa_id: &str,
    request: &Request,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    if actor.role == wadesk_domain::Role::Bot {
        return Err(ApiError::Forbidden);
    }
    let wa_id = WaId::parse(wa_id.to_owned()).map_err(|_| ApiError::NotFound)?;
    let needle = query(request, "q").map(str::to_lowercase);
    let conversations = app.store.list_customer_history(&wa_id).await?;
    let mut selected = Vec::new();
    for conversation in conversations {
        let keep = match &needle {
            None => true,
            Some(needle) => app
                .store
                .list_messages(conversation.id)
                .await?
                .iter()
                .filter(|m| m.direction != Direction::Note || actor.role.oversees())
                .filter_map(|m| m.content.text())
                .any(|text| text.to_lowercase().contains(needle)),
        };
        if keep {
            selected.push(conversation);
        }
    }
    ok(&Items {
        items: render(app, &selected).await?,
    })
}

pub async fn supervise<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    request: &Request,
) -> Result<Response<Body>>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    crate::auth::require_oversight(actor)?;
    let statuses: Vec<ConversationStatus> = match query(request, "status") {
        Some(raw) => raw
            .split(',')
            .map(|s| {
                serde_json::from_value(serde_json::Value::String(s.trim().to_owned()))
                    .map_err(|_| ApiError::Invalid(format!("unknown status {s:?}")))
            })
            .collect::<Result<_>>()?,
        None => vec![
            ConversationStatus::Bot,
            ConversationStatus::Unanswered,
            ConversationStatus::Active,
            ConversationStatus::WrapUp,
            ConversationStatus::Reopened,
        ],
    };
    let agent = query(request, "agent")
        .map(|a| agent_id(a.to_owned()))
        .transpose()?;
    let mut selected = Vec::new();
    for status in statuses {
        for conversation in app.store.list_by_status(status).await? {
            let matches_agent = agent.as_ref().is_none_or(|a| {
                conversation.owner.as_ref() == Some(a)
                    || conversation.agent_links().iter().any(|(id, _)| id == a)
            });
            if matches_agent {
                selected.push(conversation);
            }
        }
    }
    ok(&Items {
        items: render(app, &selected).await?,
    })
}
