//! Routing: offering unanswered conversations to agents, and offer time-outs.

use super::*;

/// Offers an unanswered conversation to the best available agent of its queue.
#[tracing::instrument(skip(app), err)]
pub async fn route<P>(app: &App<P>, id: ConversationId) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    retry_on_conflict(|_| async move {
        let Some(conversation) = app.store.get_conversation(id).await? else {
            return Ok(Attempt::Done(()));
        };
        // The rest is read only for a conversation routing still has to offer.
        if !desk::awaits_offer(&conversation) {
            return Ok(Attempt::Done(()));
        }
        let customer = app.store.get_customer(&conversation.customer).await?;
        let agents: BTreeMap<AgentId, Agent> = app
            .store
            .list_agents()
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let ctx = DeskContext {
            conversation: &conversation,
            agents: &agents,
            customer: customer.as_ref(),
            now: app.clock.now(),
        };
        let Some(mut decision) = desk::route(&ctx)? else {
            tracing::info!("no agent available; the conversation waits in its queue");
            return Ok(Attempt::Done(()));
        };
        match commit(app, &mut decision).await? {
            Ok(()) => Ok(Attempt::Done(())),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// When an agent becomes available or frees capacity: offer them the oldest
/// conversations waiting in their queues, up to their limit.
#[tracing::instrument(skip(app), err)]
pub async fn offer_waiting_to<P>(app: &App<P>, agent_id: &AgentId) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    // One offer at a time, each retried on its own after a lost race; done
    // when the agent is gone or nothing they can take is waiting.
    loop {
        let offered: Result<bool, DeskFailure> = retry_on_conflict(|_| async move {
            let Some(agent) = app.store.get_agent(agent_id).await? else {
                return Ok(Attempt::Done(false));
            };
            let waiting = app
                .store
                .list_by_status(ConversationStatus::Unanswered)
                .await?;
            let Some(conversation) = desk::next_for_agent(&agent, &waiting) else {
                return Ok(Attempt::Done(false));
            };
            let customer = app.store.get_customer(&conversation.customer).await?;
            let agents = BTreeMap::from([(agent.id.clone(), agent.clone())]);
            let ctx = DeskContext {
                conversation,
                agents: &agents,
                customer: customer.as_ref(),
                now: app.clock.now(),
            };
            let mut decision = desk::offer(&ctx, agent_id)?;
            match commit(app, &mut decision).await? {
                Ok(()) => Ok(Attempt::Done(true)),
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
                Err(CommitError::Store(error)) => Err(error.into()),
            }
        })
        .await;
        if !offered? {
            return Ok(());
        }
    }
}

/// An offer timer fired.
pub async fn handle_offer_timeout<P>(
    app: &App<P>,
    timeout: &OfferTimeout,
) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
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
