//! The directory, admin-only: agents, queues, channels, wrap-up reasons.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use wadesk_app::desk::{self as service, AgentProfile};
use wadesk_app::ports::MediaStore;
use wadesk_app::protection::{self, ExportPosition};
use wadesk_app::Page;
use wadesk_app::Ports;
use wadesk_app::{App, ConversationStore, DeskStore};
use wadesk_domain::audit::MAX_AUDIT_DAYS;
use wadesk_domain::protection::RetentionDays;
use wadesk_domain::{
    AgentId, AuditAction, AuditRecord, Channel, Clock, CustomerKey, PhoneNumberId, Queue, QueueId,
    Role, TemplateRef, WaId,
};

use crate::auth::{require_admin, Caller};
use crate::paging::{query, Collector, Cursor, ListRequest};
use crate::views::{AgentView, List};
use crate::{body, json, ok, ApiError, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentBody {
    name: String,
    role: Role,
    queues: Vec<String>,
    max_concurrent: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct QueueBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonsBody {
    reasons: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelBody {
    display_phone_number: String,
    #[serde(default = "yes")]
    chat_enabled: bool,
    default_queue: String,
    #[serde(default)]
    bot: bool,
    #[serde(default)]
    mask_sensitive_data: bool,
    reopen_message: String,
    push_template: Option<TemplateRef>,
    /// Days finished conversations are kept (`docs/product.md#11-data-protection`).
    #[serde(default)]
    retention_days: Option<u32>,
}

fn yes() -> bool {
    true
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Invalid(message.into())
}

fn name(raw: &str, what: &str) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        return Err(invalid(format!("{what} must be 1 to 200 characters")));
    }
    Ok(trimmed.to_owned())
}

async fn existing_queue<S: DeskStore>(store: &S, raw: &str) -> Result<QueueId> {
    let id = QueueId::parse(raw.to_owned()).map_err(|e| invalid(e.to_string()))?;
    if store.get_queue(&id).await?.is_none() {
        return Err(invalid(format!("no queue {id}; create it first")));
    }
    Ok(id)
}

pub async fn put<P>(
    app: &App<P>,
    caller: &Caller,
    path: &[&str],
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    require_admin(&caller.actor)?;
    match path {
        ["agents", id] => {
            let id = AgentId::parse((*id).to_owned()).map_err(|e| invalid(e.to_string()))?;
            let input: AgentBody = body(request)?;
            input
                .role
                .check_max_concurrent(input.max_concurrent)
                .map_err(|refusal| invalid(refusal.to_string()))?;
            let mut queues = Vec::with_capacity(input.queues.len());
            for queue in &input.queues {
                let queue = existing_queue(&app.store, queue).await?;
                if !queues.contains(&queue) {
                    queues.push(queue);
                }
            }
            let profile = AgentProfile {
                name: name(&input.name, "name")?,
                role: input.role,
                queues,
                max_concurrent: input.max_concurrent,
            };
            let agent = service::upsert_agent(app, &id, profile).await?;
            ok(&AgentView::from(&agent))
        }
        ["queues", id] => {
            let id = QueueId::parse((*id).to_owned()).map_err(|e| invalid(e.to_string()))?;
            let input: QueueBody = body(request)?;
            let queue = Queue {
                id,
                name: name(&input.name, "name")?,
            };
            app.store.put_queue(&queue).await?;
            ok(&serde_json::json!({"id": queue.id, "name": queue.name}))
        }
        ["channels", id] => {
            let id = PhoneNumberId::parse((*id).to_owned()).map_err(|e| invalid(e.to_string()))?;
            let input: ChannelBody = body(request)?;
            if input.reopen_message.trim().is_empty() || input.reopen_message.chars().count() > 4096
            {
                return Err(invalid("reopen_message must be 1 to 4096 characters"));
            }
            if let Some(template) = &input.push_template {
                if template.name.trim().is_empty() || template.language.trim().is_empty() {
                    return Err(invalid("push_template needs a name and a language"));
                }
            }
            let retention_days = input
                .retention_days
                .map(RetentionDays::new)
                .transpose()
                .map_err(|e| invalid(e.to_string()))?
                .unwrap_or_default();
            let channel = Channel {
                phone_number_id: id,
                display_phone_number: name(&input.display_phone_number, "display_phone_number")?,
                chat_enabled: input.chat_enabled,
                default_queue: existing_queue(&app.store, &input.default_queue).await?,
                bot: input.bot,
                mask_sensitive_data: input.mask_sensitive_data,
                reopen_message: input.reopen_message,
                push_template: input.push_template,
                retention_days,
            };
            app.store.put_channel(&channel).await?;
            ok(&channel)
        }
        ["wrap-up-reasons"] => {
            let input: ReasonsBody = body(request)?;
            let mut reasons: Vec<String> = Vec::with_capacity(input.reasons.len());
            for reason in &input.reasons {
                let reason = name(reason, "each reason")?;
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            if reasons.is_empty() {
                return Err(invalid("give at least one reason"));
            }
            app.store.put_wrap_up_reasons(&reasons).await?;
            ok(&serde_json::json!({ "reasons": reasons }))
        }
        _ => Err(ApiError::NotFound),
    }
}

/// `GET /admin/agents`: the directory, by id, page by page.
pub async fn list_agents<P>(
    app: &App<P>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    require_admin(&caller.actor)?;
    let list = ListRequest::parse(request)?;
    let agents = app.store.list_agents().await?;
    let page = Page::of_sorted(agents, &list.page_of(0, list.limit), |a| a.id.to_string());
    let views = page.items.iter().map(AgentView::from).collect();
    let mut collected = Collector::new(&list);
    collected.take(0, page, views, 1);
    ok(&collected.into_list())
}

/// `GET /admin/audit?actor=&customer=&from=&to=`: who read which customer's
/// data, newest first, day by day (at most 31 days at once), page by page.
/// Admin only: agents can neither read nor change it.
pub async fn list_audit<P>(
    app: &App<P>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    require_admin(&caller.actor)?;
    let list = ListRequest::parse(request)?;
    let day = |name: &str| {
        query(request, name)
            .map(|raw| {
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| invalid(format!("{name} must be a date (YYYY-MM-DD)")))
            })
            .transpose()
    };
    let today = app.clock.now().date_naive();
    let to = day("to")?.unwrap_or(today);
    let from = day("from")?.unwrap_or(to - chrono::Duration::days(6));
    if from > to {
        return Err(invalid("from must not be after to"));
    }
    if (to - from).num_days() + 1 > MAX_AUDIT_DAYS {
        return Err(invalid(format!("at most {MAX_AUDIT_DAYS} days at once")));
    }
    let actor = query(request, "actor")
        .map(|a| AgentId::parse(a.to_owned()).map_err(|e| invalid(e.to_string())))
        .transpose()?;
    let customer = query(request, "customer")
        .map(|c| WaId::parse(c.to_owned()).map_err(|e| invalid(e.to_string())))
        .transpose()?;
    // Newest day first; each day one source of the list.
    let days: Vec<chrono::NaiveDate> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut collected = Collector::new(&list);
    for (index, day) in days.iter().enumerate().skip(list.cursor.source) {
        let page = app
            .store
            .list_audit(*day, &list.page_of(index, collected.room()))
            .await?;
        let kept = page
            .items
            .iter()
            .filter(|r| r.matches(actor.as_ref(), customer.as_ref()))
            .cloned()
            .collect();
        if !collected.take(index, page, kept, days.len()) {
            break;
        }
    }
    ok(&collected.into_list())
}

/// The customer a `/admin/customers/{phone_number_id}/{wa_id}` path names.
fn customer_key(phone_number_id: &str, wa_id: &str) -> Result<CustomerKey> {
    Ok(CustomerKey::new(
        PhoneNumberId::parse(phone_number_id.to_owned()).map_err(|e| invalid(e.to_string()))?,
        WaId::parse(wa_id.to_owned()).map_err(|e| invalid(e.to_string()))?,
    ))
}

/// Records an export or erasure of `key` in the audit trail, before it
/// happens: no record, no export or erasure.
async fn audit<P>(
    app: &App<P>,
    caller: &Caller,
    action: AuditAction,
    route: &str,
    key: &CustomerKey,
) -> Result<()>
where
    P: Ports<Store: DeskStore>,
{
    let mut record = AuditRecord::new(&caller.actor, action, route.to_owned(), app.clock.now());
    record.customer = Some(key.wa_id.clone());
    app.store.record_audit(&record).await?;
    Ok(())
}

/// What an erasure answers: whether it is complete, and what it removed.
#[derive(Serialize)]
struct ErasureView {
    status: &'static str,
    erased: wadesk_domain::protection::ErasureCounts,
}

/// `DELETE /admin/customers/{phone_number_id}/{wa_id}`: erases the customer
/// on request (`docs/product.md#11-data-protection`). Their live session is
/// ended first; a few bounded steps run before the answer and the erasure
/// queue does the rest: `200` when nothing is left, `202` while the queue
/// goes on. Repeating it is harmless.
pub async fn erase_customer<P, M>(
    app: &App<P>,
    media: &M,
    caller: &Caller,
    phone_number_id: &str,
    wa_id: &str,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    require_admin(&caller.actor)?;
    let key = customer_key(phone_number_id, wa_id)?;
    audit(
        app,
        caller,
        AuditAction::CustomerErasure,
        "DELETE /admin/customers/{phone_number_id}/{wa_id}",
        &key,
    )
    .await?;
    let progress = protection::request_erasure(app, media, &caller.actor.id, &key).await?;
    let (status, text) = if progress.complete {
        (StatusCode::OK, "complete")
    } else {
        (StatusCode::ACCEPTED, "in_progress")
    };
    json(
        status,
        &ErasureView {
            status: text,
            erased: progress.erased,
        },
    )
}

/// `GET /admin/customers/{phone_number_id}/{wa_id}/export`: everything stored
/// about the customer, unmasked, a page at a time (each page recorded in the
/// audit trail).
pub async fn export_customer<P>(
    app: &App<P>,
    caller: &Caller,
    phone_number_id: &str,
    wa_id: &str,
    request: &Request,
) -> Result<Response<Body>>
where
    P: Ports<Store: DeskStore>,
{
    require_admin(&caller.actor)?;
    let key = customer_key(phone_number_id, wa_id)?;
    let list = ListRequest::parse(request)?;
    let at = match (&list.cursor.source, &list.cursor.after) {
        (0, None) => ExportPosition::default(),
        (0, Some(raw)) => {
            serde_json::from_str(raw).map_err(|_| invalid("cursor is not one this API gave"))?
        }
        _ => return Err(invalid("cursor is not one this API gave")),
    };
    audit(
        app,
        caller,
        AuditAction::CustomerExport,
        "GET /admin/customers/{phone_number_id}/{wa_id}/export",
        &key,
    )
    .await?;
    let (items, next) = protection::export_page(&app.store, &key, list.limit, at).await?;
    let next_cursor = next
        .map(|at| serde_json::to_string(&at))
        .transpose()
        .map_err(|_| ApiError::Unavailable)?
        .map(|after| {
            Cursor {
                source: 0,
                after: Some(after),
            }
            .encode()
        });
    ok(&List { items, next_cursor })
}
