//! The desk actions agents, bots and `#STOP` take on a conversation.

use super::*;

/// An action whose only agent known before the snapshot is the caller's:
/// the conversation after it.
async fn by_the_caller<'a, P>(
    app: &App<P>,
    acting: Acting<'a>,
    id: ConversationId,
    action: impl FnOnce(&'a Actor) -> Action<'a>,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let actor = acting.actor;
    let involved = std::slice::from_ref(&actor.id);
    Ok(act(app, id, involved, action(actor), Some(acting))
        .await?
        .conversation)
}

pub async fn accept<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    by_the_caller(app, acting.into(), id, Action::Accept).await
}

pub async fn take<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    force: bool,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    by_the_caller(app, acting.into(), id, |actor| Action::Take(actor, force)).await
}

pub async fn transfer<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    target: TransferTarget,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    // The target is read and checked with the snapshot (`Action::targets`).
    by_the_caller(app, acting.into(), id, |actor| {
        Action::Transfer(actor, &target)
    })
    .await
}

/// The conference actions, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conference {
    Accept,
    Exit,
    End,
}

pub async fn conference_invite<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    guest: &AgentId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let acting = acting.into();
    let actor = acting.actor;
    let involved = [actor.id.clone(), guest.clone()];
    Ok(act(
        app,
        id,
        &involved,
        Action::Invite(actor, guest),
        Some(acting),
    )
    .await?
    .conversation)
}

pub async fn conference<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    action: Conference,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    by_the_caller(app, acting.into(), id, |actor| {
        Action::Conference(actor, action)
    })
    .await
}

pub async fn end<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    by_the_caller(app, acting.into(), id, Action::End).await
}

pub async fn wrap_up<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    reason: &str,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    // The configured reasons are read with the snapshot.
    by_the_caller(app, acting.into(), id, |actor| {
        Action::WrapUp(actor, reason)
    })
    .await
}

pub async fn done<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    by_the_caller(app, acting.into(), id, Action::Done).await
}

pub async fn add_note<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    text: &str,
) -> Result<wadesk_domain::Message, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let acting = acting.into();
    let decision = act(app, id, &[], Action::Note(acting.actor, text), Some(acting)).await?;
    decision
        .messages
        .into_iter()
        .next()
        .ok_or_else(|| DeskError::Invalid("empty note".into()).into())
}

/// An agent sends text or an attachment: validated, committed as `pending`,
/// sent to WhatsApp, then its wamid recorded (or the failure, with 131047
/// closing the window at once). To a finished conversation inside the window
/// it is reopen-then-send (`docs/product.md#54-sending-to-a-finished-conversation`):
/// one decision, the automatic reopen message first, then the agent's.
pub async fn send<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    outgoing: Outgoing,
) -> Result<wadesk_domain::Message, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let acting = acting.into();
    let actor = acting.actor;
    let content = desk::validate_outgoing(&outgoing)?;
    let involved = std::slice::from_ref(&actor.id);
    let action = Action::Send(actor, &content);
    let decision = act(app, id, involved, action, Some(acting)).await?;
    let key = &decision.conversation.customer;
    match decision.messages.as_slice() {
        [agents] => deliver(app, key, agents.clone()).await,
        [reopen_message, agents] => {
            // Under the reopen's send lease: nothing of it goes out after a
            // `#STOP` is acknowledged.
            let sent = match deliver_as(app, key, reopen_message.clone(), OnRetry::SendsThisOne)
                .await
            {
                Ok(_) => deliver(app, key, agents.clone()).await,
                Err(error) => {
                    // The customer must not get the follow-up without the
                    // reopen message before it: the agent's message is failed.
                    record_send_failure(app, key, agents, desk::reopen_message_unsent()).await?;
                    Err(error)
                }
            };
            release_send_lease(app, key).await;
            sent
        }
        _ => Err(DeskError::Invalid("nothing to send".into()).into()),
    }
}

/// `#STOP` ends the customer's live session `id` (if it still is).
pub async fn end_for_opt_out<P>(app: &App<P>, id: ConversationId) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    match act(app, id, &[], Action::EndForOptOut, None).await {
        Ok(_) | Err(DeskFailure::Rule(DeskError::NotFound)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// An erasure on request ends the customer's live session `id` (if it still
/// is) before anything of theirs is deleted: the same end as `#STOP`'s, with
/// its own reason (`docs/product.md#11-data-protection`). Answers whether it
/// ended it (`false`: it was not the customer's live session).
pub async fn end_for_erasure<P>(app: &App<P>, id: ConversationId) -> Result<bool, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    match act(app, id, &[], Action::EndForErasure, None).await {
        Ok(_) => Ok(true),
        Err(DeskFailure::Rule(DeskError::NotFound)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// A bot hands its conversation to a queue, where routing offers it.
pub async fn handoff<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
    queue: &wadesk_domain::QueueId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let acting = acting.into();
    // The queue is read and checked with the snapshot (`Action::targets`).
    let action = Action::Handoff(acting.actor, queue);
    Ok(act(app, id, &[], action, Some(acting)).await?.conversation)
}
