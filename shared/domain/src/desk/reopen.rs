//! Reopening a finished conversation, the single utility push after the window,
//! and the end a `#STOP` puts to a live session (`docs/product.md` sections 5
//! and 6).

use chrono::Duration;

use super::{require_status, Actor, DeskContext, DeskDecision, DeskError, Draft};
use crate::{
    Conversation, ConversationStatus, Customer, CustomerChange, DeliveryStatus, Direction,
    DomainEvent, LiveSession, Message, MessageContent, MessageId, Origin, TemplateContent,
    TemplateRef, Timestamp,
};

/// The wrap-up reason of a conversation the customer ended with `#STOP`.
pub const OPTED_OUT_REASON: &str = "Opted out (#STOP)";

/// How long a reopen or push may take to send before a `#STOP` is acknowledged
/// anyway (the WhatsApp client gives up after 10 s).
pub const SEND_LEASE_SECONDS: i64 = 30;

/// Who may reopen or push: the last owner, anyone serving the queue, supervisors.
fn may_reopen(ctx: &DeskContext<'_>, actor: &Actor) -> bool {
    actor.role.oversees()
        || ctx.conversation.owner.as_ref() == Some(&actor.id)
        || ctx
            .agents
            .get(&actor.id)
            .is_some_and(|agent| agent.serves(&ctx.conversation.queue))
}

/// The checks reopen and push share, in the order the answers are given.
fn customer_free<'a>(ctx: &'a DeskContext<'a>, actor: &Actor) -> Result<&'a Customer, DeskError> {
    if !may_reopen(ctx, actor) {
        return Err(DeskError::Forbidden);
    }
    not_opted_out(ctx.customer)
}

fn not_opted_out(customer: Option<&Customer>) -> Result<&Customer, DeskError> {
    let customer = customer.ok_or(DeskError::NotFound)?;
    if customer.opt_out.is_opted_out() {
        return Err(DeskError::OptedOut);
    }
    Ok(customer)
}

/// The live-session and status checks, after the ones particular to the action:
/// a live session anywhere (this very conversation included) is "elsewhere".
fn no_live_session(conversation: &Conversation, customer: &Customer) -> Result<(), DeskError> {
    if customer.live.is_some() {
        return Err(DeskError::SessionActiveElsewhere);
    }
    require_status(conversation, &[ConversationStatus::Finished])
}

/// Whether a reopen of `conversation` is possible now, whoever asks: what
/// [`reopen`] checks after the caller's permission.
fn reopenable(
    conversation: &Conversation,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Result<(), DeskError> {
    let customer = not_opted_out(customer)?;
    no_live_session(conversation, customer)?;
    if !customer.window_is_open(now) {
        return Err(DeskError::WindowClosed);
    }
    Ok(())
}

/// Whether the utility push is possible now, whoever asks: what [`push`]
/// checks after the caller's permission (and before the channel's template).
fn pushable(
    conversation: &Conversation,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Result<(), DeskError> {
    let customer = not_opted_out(customer)?;
    let window = customer
        .window
        .ok_or(DeskError::InvalidState(conversation.status))?;
    if customer.push_sent_for == Some(window.expires_at) {
        return Err(DeskError::PushAlreadySent);
    }
    no_live_session(conversation, customer)?;
    if customer.window_is_open(now) {
        return Err(DeskError::Invalid(
            "the customer's window is open: reopen the conversation instead".into(),
        ));
    }
    Ok(())
}

/// What an archive row offers: reopen and the utility push, by the very rules
/// [`reopen`] and [`push`] apply (a view shows them, never re-derives them).
pub fn archive_actions(
    conversation: &Conversation,
    customer: Option<&Customer>,
    now: Timestamp,
) -> (bool, bool) {
    (
        reopenable(conversation, customer, now).is_ok(),
        pushable(conversation, customer, now).is_ok(),
    )
}

/// The conversation and customer as a reopen or push leaves them: waiting for
/// the customer, owned by the agent who did it (whoever owned it before).
fn reopened(draft: &mut Draft<'_>, actor: &Actor, customer: &Customer, origin: Origin) -> Customer {
    let now = draft.ctx.now;
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Reopened;
    c.origin = origin;
    c.owner = Some(actor.id.clone());
    c.reopened_by = Some(actor.id.clone());
    c.participants.clear();
    c.pending_wrap_up.clear();
    c.offered_to = None;
    c.offered_at = None;
    c.invited = None;
    c.done = false;
    c.wrap_up_reason = None;
    c.handling_started_at = None;
    c.unanswered_since = None;
    let mut next = customer.clone();
    next.live = LiveSession::of(c);
    // The customer's reply goes to this agent
    // (`docs/product.md#53-when-the-customer-answers`).
    next.assigned_agent = Some(actor.id.clone());
    next.last_conversation = Some(c.id);
    next.send_lease_until = Some(now + Duration::seconds(SEND_LEASE_SECONDS));
    draft.events.push(DomainEvent::ChatReopened {
        conversation_id: c.id,
        customer: c.customer.clone(),
        agent: actor.id.clone(),
        queue: c.queue.clone(),
        initiated_by: origin,
    });
    next
}

fn outbound(
    draft: &Draft<'_>,
    direction: Direction,
    content: MessageContent,
    author: Option<String>,
) -> Message {
    Message {
        id: MessageId::generate(),
        conversation_id: draft.conversation.id,
        direction,
        content,
        author,
        at: draft.ctx.now,
        status: Some(DeliveryStatus::Pending),
        error: None,
        wamid: None,
    }
}

/// An agent reopens a finished conversation inside the customer's window; the
/// channel's automatic reopen message is the decision's message to send.
pub fn reopen(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    reopen_message: &str,
) -> Result<DeskDecision, DeskError> {
    let mut draft = Draft::new(ctx);
    reopen_into(&mut draft, actor, reopen_message)?;
    Ok(draft.finish())
}

/// An agent's message to a finished conversation inside the window is
/// reopen-then-send: one decision with the automatic reopen message first and
/// the agent's message after it, so it commits (and counts as agent-initiated)
/// once.
pub fn reopen_and_send(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    reopen_message: &str,
    content: MessageContent,
) -> Result<DeskDecision, DeskError> {
    let mut draft = Draft::new(ctx);
    reopen_into(&mut draft, actor, reopen_message)?;
    super::send_into(&mut draft, actor, content)?;
    Ok(draft.finish())
}

/// Whether an agent's message to `conversation` reopens it first
/// (`docs/product.md#54-sending-to-a-finished-conversation`): it is finished.
/// Then the caller reads the channel's reopen message with the snapshot.
pub fn send_reopens(conversation: &Conversation) -> bool {
    conversation.status == ConversationStatus::Finished
}

/// An agent's message: to a finished conversation it is [`reopen_and_send`]
/// with the channel's `reopen_message`, to any other [`super::send`].
pub fn send_or_reopen(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    content: MessageContent,
    reopen_message: &str,
) -> Result<DeskDecision, DeskError> {
    if send_reopens(ctx.conversation) {
        reopen_and_send(ctx, actor, reopen_message, content)
    } else {
        super::send(ctx, actor, content)
    }
}

fn reopen_into(
    draft: &mut Draft<'_>,
    actor: &Actor,
    reopen_message: &str,
) -> Result<(), DeskError> {
    let ctx = draft.ctx;
    let customer = customer_free(ctx, actor)?;
    reopenable(ctx.conversation, Some(customer), ctx.now)?;
    let next = reopened(draft, actor, customer, Origin::AgentReopen);
    draft.customer = Some(next);
    let message = outbound(
        draft,
        Direction::System,
        MessageContent::Text {
            text: reopen_message.to_owned(),
        },
        None,
    );
    draft.messages.push(message);
    Ok(())
}

/// After the window: the one utility template push of this closed window.
pub fn push(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    template: Option<&TemplateRef>,
) -> Result<DeskDecision, DeskError> {
    let customer = customer_free(ctx, actor)?;
    pushable(ctx.conversation, Some(customer), ctx.now)?;
    let window = customer
        .window
        .ok_or(DeskError::InvalidState(ctx.conversation.status))?;
    let template = template
        .ok_or_else(|| DeskError::Invalid("the channel has no push template configured".into()))?;
    let mut draft = Draft::new(ctx);
    let mut next = reopened(&mut draft, actor, customer, Origin::Push);
    next.push_sent_for = Some(window.expires_at);
    draft.customer = Some(next);
    let message = outbound(
        &draft,
        Direction::Outbound,
        MessageContent::Template {
            template: TemplateContent {
                name: template.name.clone(),
                language: template.language.clone(),
                parameters: ctx
                    .customer
                    .and_then(|c| c.profile_name.clone())
                    .into_iter()
                    .collect(),
            },
        },
        Some(actor.id.to_string()),
    );
    draft.messages.push(message);
    Ok(draft.finish())
}

/// A reopen or push whose commit stands but whose message never went out (the
/// send failed, or the commit's answer was lost): what the agent's retry does.
#[derive(Debug, Clone, PartialEq)]
pub enum Unfinished {
    /// Send the message now, under a fresh send lease.
    Resume(Box<Resumption>),
    /// The send lease is held: an attempt may be sending it right now.
    Sending,
}

/// The same message (same id) to send, and the customer with the send lease
/// taken: to be written only if the stored one still has the version it was
/// read with, so a `#STOP` in between wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumption {
    pub customer: CustomerChange,
    pub message: Message,
}

/// The agent's retry of a reopen whose message is still unsent: finish it
/// rather than refuse it. `None` when there is nothing to finish (not this
/// agent's reopen, the customer replied or opted out, the message went out or
/// definitely failed): the refusal stands.
pub fn resume_reopen(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    transcript: &[Message],
) -> Option<Unfinished> {
    let customer = unfinished_by(ctx, actor, Origin::AgentReopen)?;
    // A free-form text needs the window; without it the send could only fail.
    if !customer.window_is_open(ctx.now) {
        return None;
    }
    let message = unsent(transcript, |m| {
        m.direction == Direction::System && matches!(m.content, MessageContent::Text { .. })
    })?;
    Some(resume_with(ctx, customer, message))
}

/// The agent's retry of a push whose template is still unsent: it sends that
/// template, never a second push.
pub fn resume_push(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    transcript: &[Message],
) -> Option<Unfinished> {
    let customer = unfinished_by(ctx, actor, Origin::Push)?;
    // Only the push of the window that is closed now.
    if customer.push_sent_for.is_none() || customer.push_sent_for != customer.window_expires_at() {
        return None;
    }
    let message = unsent(transcript, |m| {
        m.direction == Direction::Outbound && matches!(m.content, MessageContent::Template { .. })
    })?;
    Some(resume_with(ctx, customer, message))
}

/// Whether a refused reopen or push may be an earlier attempt's still to
/// finish: only a reopened conversation can be. Only then does the caller read
/// the transcript for [`resume_reopen`] or [`resume_push`].
pub fn may_resume(conversation: &Conversation) -> bool {
    conversation.status == ConversationStatus::Reopened
}

/// The customer, when the conversation is still the one `actor` reopened (with
/// `origin`) and it waits for the customer's reply.
fn unfinished_by<'a>(
    ctx: &'a DeskContext<'a>,
    actor: &Actor,
    origin: Origin,
) -> Option<&'a Customer> {
    let c = ctx.conversation;
    let customer = customer_free(ctx, actor).ok()?;
    let waiting = may_resume(c)
        && c.origin == origin
        && c.reopened_by.as_ref() == Some(&actor.id)
        && c.owner.as_ref() == Some(&actor.id)
        && customer
            .live
            .as_ref()
            .is_some_and(|l| l.conversation_id == c.id && l.status == ConversationStatus::Reopened);
    waiting.then_some(customer)
}

/// The reopen's own message, if it is still pending without a wamid. After a
/// reopen only notes can follow it, so it is among the latest other messages
/// (an older cycle's unsent message never is).
fn unsent(transcript: &[Message], is_it: impl Fn(&Message) -> bool) -> Option<&Message> {
    let latest = transcript
        .iter()
        .filter(|m| m.direction != Direction::Note)
        .map(|m| m.at)
        .max()?;
    transcript.iter().find(|m| {
        m.at == latest && m.status == Some(DeliveryStatus::Pending) && m.wamid.is_none() && is_it(m)
    })
}

fn resume_with(ctx: &DeskContext<'_>, customer: &Customer, message: &Message) -> Unfinished {
    // Respect a held lease as a `#STOP` does: whoever holds it may be sending.
    if customer.send_lease_held(ctx.now) {
        return Unfinished::Sending;
    }
    let mut next = customer.clone();
    next.send_lease_until = Some(ctx.now + Duration::seconds(SEND_LEASE_SECONDS));
    Unfinished::Resume(Box::new(Resumption {
        customer: CustomerChange::new(Some(customer), next),
        message: message.clone(),
    }))
}

/// `#STOP` ends the customer's live session: it is finished, its agents are
/// freed and told, and a reopened one counts as declined. `None` when the
/// conversation is not the live one (already ended).
pub fn end_for_opt_out(ctx: &DeskContext<'_>) -> Option<DeskDecision> {
    end_live_session(
        ctx,
        OPTED_OUT_REASON,
        "The customer opted out with #STOP; the conversation has ended.",
    )
}

/// An admin erases the customer on request: their live session ends first,
/// as a `#STOP` ends it (agents freed and told, the usual events), before
/// anything of theirs is deleted. `None` when the conversation is not the
/// live one.
pub fn end_for_erasure(ctx: &DeskContext<'_>) -> Option<DeskDecision> {
    end_live_session(
        ctx,
        ERASED_REASON,
        "The customer's data is being erased on request; the conversation has ended.",
    )
}

/// The wrap-up reason of a session ended for an erasure.
pub const ERASED_REASON: &str = "Erased on request";

fn end_live_session(ctx: &DeskContext<'_>, reason: &str, notice: &str) -> Option<DeskDecision> {
    let conversation = ctx.conversation;
    let customer = ctx.customer?;
    if customer.live.as_ref().map(|l| l.conversation_id) != Some(conversation.id)
        || !conversation.status.is_live()
    {
        return None;
    }
    let mut draft = Draft::new(ctx);
    if conversation.status == ConversationStatus::Active {
        for agent in &conversation.participants {
            draft.remove_load(agent);
        }
    }
    if let Some(offered) = &conversation.offered_to {
        draft.remove_load(offered);
    }
    if let (ConversationStatus::Reopened, Some(agent)) = (conversation.status, &conversation.owner)
    {
        draft.events.push(DomainEvent::ReopenDeclined {
            conversation_id: conversation.id,
            customer: conversation.customer.clone(),
            agent: agent.clone(),
            queue: conversation.queue.clone(),
        });
    }
    // It reaches `finished` like any other end (a reopened one counts again).
    if let Some(agent) = &conversation.owner {
        draft.events.push(DomainEvent::ConversationFinished {
            conversation_id: conversation.id,
            customer: conversation.customer.clone(),
            agent: agent.clone(),
            queue: conversation.queue.clone(),
            reason: reason.to_owned(),
            handling_seconds: conversation
                .handling_started_at
                .map(|start| (ctx.now - start).num_seconds().max(0)),
        });
    }
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Finished;
    c.wrap_up_reason = Some(reason.to_owned());
    c.participants.clear();
    c.offered_to = None;
    c.offered_at = None;
    c.invited = None;
    let mut next = customer.clone();
    next.live = None;
    if conversation.owner.is_some() {
        next.assigned_agent.clone_from(&conversation.owner);
    }
    draft.customer = Some(next);
    draft.system_message(notice.to_owned());
    Some(draft.finish())
}
