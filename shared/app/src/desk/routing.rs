//! Routing: offering unanswered conversations to agents, and offer time-outs.

use super::*;

/// Offers an unanswered conversation to the best available agent of its queue.
#[tracing::instrument(skip(app), err)]
pub async fn route<S, E, T, C, W>(
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
    for attempt in 0..MAX_ATTEMPTS {
        let Some(conversation) = app.store.get_conversation(id).await? else {
            return Ok(());
        };
        if conversation.status != ConversationStatus::Unanswered
            || conversation.offered_to.is_some()
        {
            return Ok(());
        }
        let customer = app.store.get_customer(&conversation.customer).await?;
        let agents: BTreeMap<AgentId, Agent> = app
            .store
            .list_agents()
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let assigned = customer.as_ref().and_then(|c| c.assigned_agent.as_ref());
        let candidates = desk::routing_candidates(&conversation, assigned, agents.values());
        let Some(candidate) = candidates.first() else {
            tracing::info!("no agent available; the conversation waits in its queue");
            return Ok(());
        };
        let ctx = DeskContext {
            conversation: &conversation,
            agents: &agents,
            customer: customer.as_ref(),
            now: app.clock.now(),
        };
        let mut decision = desk::offer(&ctx, candidate)?;
        match commit(app, &mut decision).await {
            Ok(()) => return Ok(()),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(contention())
}

/// When an agent becomes available or frees capacity: offer them the oldest
/// conversations waiting in their queues, up to their limit.
#[tracing::instrument(skip(app), err)]
pub async fn offer_waiting_to<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    agent_id: &AgentId,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let mut conflicts = 0;
    loop {
        let Some(agent) = app.store.get_agent(agent_id).await? else {
            return Ok(());
        };
        let waiting = app
            .store
            .list_by_status(ConversationStatus::Unanswered)
            .await?;
        let Some(conversation) = waiting
            .into_iter()
            .filter(|c| c.offered_to.is_none() && agent.can_be_offered(&c.queue))
            .min_by_key(Conversation::queue_order)
        else {
            return Ok(());
        };
        let customer = app.store.get_customer(&conversation.customer).await?;
        let agents = BTreeMap::from([(agent.id.clone(), agent.clone())]);
        let ctx = DeskContext {
            conversation: &conversation,
            agents: &agents,
            customer: customer.as_ref(),
            now: app.clock.now(),
        };
        let mut decision = desk::offer(&ctx, agent_id)?;
        match commit(app, &mut decision).await {
            Ok(()) => conflicts = 0,
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                conflicts += 1;
                if conflicts >= MAX_ATTEMPTS {
                    return Err(contention());
                }
                backoff(conflicts).await;
            }
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
}

/// An offer timer fired.
pub async fn handle_offer_timeout<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    timeout: &OfferTimeout,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let result = act(
        app,
        timeout.conversation_id,
        std::slice::from_ref(&timeout.agent),
        Action::OfferTimedOut(timeout),
        None,
    )
    .await;
    match result {
        Ok(_) | Err(DeskFailure::Rule(DeskError::NotOffered | DeskError::NotFound)) => Ok(()),
        Err(error) => Err(error),
    }
}
