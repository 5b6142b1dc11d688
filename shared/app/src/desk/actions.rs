//! The desk actions agents, bots and `#STOP` take on a conversation.

use super::*;

pub async fn accept<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    Ok(act(
        app,
        id,
        std::slice::from_ref(&actor.id),
        Action::Accept(actor),
    )
    .await?
    .conversation)
}

pub async fn take<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    force: bool,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    Ok(act(
        app,
        id,
        std::slice::from_ref(&actor.id),
        Action::Take(actor, force),
    )
    .await?
    .conversation)
}

pub async fn transfer<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    target: TransferTarget,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let mut involved = vec![actor.id.clone()];
    match &target {
        TransferTarget::Agent(agent) => {
            if app.store.get_agent(agent).await?.is_none() {
                return Err(DeskError::Invalid(format!("no agent {agent}")).into());
            }
            involved.push(agent.clone());
        }
        TransferTarget::Queue(queue) => {
            if app.store.get_queue(queue).await?.is_none() {
                return Err(DeskError::Invalid(format!("no queue {queue}")).into());
            }
        }
    }
    Ok(act(app, id, &involved, Action::Transfer(actor, &target))
        .await?
        .conversation)
}

/// The conference actions, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conference {
    Accept,
    Exit,
    End,
}

pub async fn conference_invite<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    guest: &AgentId,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let involved = [actor.id.clone(), guest.clone()];
    Ok(act(app, id, &involved, Action::Invite(actor, guest))
        .await?
        .conversation)
}

pub async fn conference<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    action: Conference,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let involved = std::slice::from_ref(&actor.id);
    Ok(act(app, id, involved, Action::Conference(actor, action))
        .await?
        .conversation)
}

pub async fn end<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    Ok(
        act(app, id, std::slice::from_ref(&actor.id), Action::End(actor))
            .await?
            .conversation,
    )
}

pub async fn wrap_up<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    reason: &str,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let reasons = app.store.get_wrap_up_reasons().await?;
    Ok(act(
        app,
        id,
        std::slice::from_ref(&actor.id),
        Action::WrapUp(actor, reason, &reasons),
    )
    .await?
    .conversation)
}

pub async fn done<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    Ok(act(
        app,
        id,
        std::slice::from_ref(&actor.id),
        Action::Done(actor),
    )
    .await?
    .conversation)
}

pub async fn add_note<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    text: &str,
) -> Result<wadesk_domain::Message, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let decision = act(app, id, &[], Action::Note(actor, text)).await?;
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
pub async fn send<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    outgoing: Outgoing,
) -> Result<wadesk_domain::Message, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let content = desk::validate_outgoing(&outgoing)?;
    let involved = std::slice::from_ref(&actor.id);
    let decision = match act(app, id, involved, Action::Send(actor, &content)).await {
        Err(DeskFailure::Rule(DeskError::InvalidState(ConversationStatus::Finished))) => {
            let message = reopen_message(&app.store, id, actor).await?;
            act(
                app,
                id,
                involved,
                Action::ReopenAndSend(actor, &message, &content),
            )
            .await?
        }
        decided => decided?,
    };
    let key = &decision.conversation.customer;
    match decision.messages.as_slice() {
        [agents] => deliver(app, key, agents.clone()).await,
        [reopen_message, agents] => {
            // Under the reopen's send lease: nothing of it goes out after a
            // `#STOP` is acknowledged.
            let sent =
                match deliver_as(app, key, reopen_message.clone(), OnRetry::SendsThisOne).await {
                    Ok(_) => deliver(app, key, agents.clone()).await,
                    Err(error) => {
                        // The customer must not get the follow-up without the
                        // reopen message before it: the agent's message is failed.
                        record_send_failure(
                            app,
                            key,
                            agents,
                            0,
                            "not sent: the reopen message before it could not be sent".to_owned(),
                        )
                        .await?;
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
pub async fn end_for_opt_out<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    id: ConversationId,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    match act(app, id, &[], Action::EndForOptOut).await {
        Ok(_) | Err(DeskFailure::Rule(DeskError::NotFound)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// An erasure on request ends the customer's live session `id` (if it still
/// is) before anything of theirs is deleted: the same end as `#STOP`'s, with
/// its own reason (`docs/product.md#11-data-protection`). Answers whether it
/// ended it (`false`: it was not the customer's live session).
pub async fn end_for_erasure<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    id: ConversationId,
) -> Result<bool, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    match act(app, id, &[], Action::EndForErasure).await {
        Ok(_) => Ok(true),
        Err(DeskFailure::Rule(DeskError::NotFound)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// A bot hands its conversation to a queue, where routing offers it.
pub async fn handoff<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    queue: &wadesk_domain::QueueId,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    if app.store.get_queue(queue).await?.is_none() {
        return Err(DeskError::Invalid(format!("no queue {queue}")).into());
    }
    Ok(act(app, id, &[], Action::Handoff(actor, queue))
        .await?
        .conversation)
}
