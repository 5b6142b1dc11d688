//! The directory's side of the desk: who the caller is, agents' states and profiles.

use super::*;

/// The caller behind a verified subject, as the directory describes them,
/// with their directory entry (`None` for a bootstrap admin not yet in it).
pub async fn identify<P>(
    app: &App<P>,
    subject: AgentId,
) -> Result<(Actor, Option<Agent>), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let entry = app.store.get_agent(&subject).await?;
    let actor = wadesk_domain::identify(subject, entry.as_ref(), &app.bootstrap_admins)
        .map_err(DeskError::from)?;
    Ok((actor, entry))
}

/// [`identify`] for a request that names conversation `id`: the caller's
/// entry and the conversation in one round trip, so the desk action's
/// snapshot (given the [`Prefetched`] as part of its [`Acting`]) reads only
/// the conversation's customer and agents after it. On a warm instance
/// ([`SnapshotHints`]) those are read in the same round trip, as its hint
/// names them: the snapshot then reads only what the hint missed (after a
/// transfer, say), usually nothing. The caller is still decided first, on
/// their entry alone: an identification refused here reveals nothing, and
/// whatever else was read is dropped with it.
pub async fn identify_for<P>(
    app: &App<P>,
    subject: AgentId,
    id: ConversationId,
) -> Result<(Actor, Option<Agent>, Prefetched), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let hint = app.snapshot_hints.get(id);
    let mut keys = DeskKeys {
        conversation: Some(id),
        agents: vec![subject.clone()],
        ..DeskKeys::default()
    };
    if let Some(hint) = &hint {
        keys.customer = Some(hint.customer.clone());
        keys.agents.extend(hint.agents.iter().cloned());
        keys.agents.sort();
        keys.agents.dedup();
    }
    let mut items = app.store.read_desk(&keys).await?;
    let entry = items.agents.get(&subject).cloned();
    let actor = wadesk_domain::identify(subject, entry.as_ref(), &app.bootstrap_admins)
        .map_err(DeskError::from)?;
    let agents = keys
        .agents
        .into_iter()
        .map(|agent| {
            let found = items.agents.remove(&agent);
            (agent, found)
        })
        .collect();
    let prefetched = Prefetched {
        id,
        conversation: items.conversation,
        customer: keys.customer.map(|key| (key, items.customer)),
        agents,
    };
    Ok((actor, entry, prefetched))
}

/// An agent sets their own state; becoming available brings offers.
pub async fn set_state<P>(
    app: &App<P>,
    agent_id: &AgentId,
    state: AgentState,
) -> Result<Agent, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    retry_on_conflict(|_| async move {
        let agent = app
            .store
            .get_agent(agent_id)
            .await?
            .ok_or(DeskError::NotFound)?;
        let (change, event) = desk::change_state(&agent, state, app.clock.now())?;
        match app.store.save_agent(&change).await {
            Ok(()) => {
                if let Err(error) = app.events.publish(&[event]).await {
                    tracing::error!(%error, "state event not published");
                }
                if state.takes_offers() {
                    if let Err(error) = offer_waiting_to(app, agent_id).await {
                        tracing::error!(%error, "offering waiting conversations failed");
                    }
                }
                let stored = app.store.get_agent(agent_id).await?;
                Ok(Attempt::Done(stored.unwrap_or(change.agent)))
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

pub use wadesk_domain::AgentProfile;

/// Creates or updates an agent, keeping their state and load.
pub async fn upsert_agent<P>(
    app: &App<P>,
    id: &AgentId,
    profile: AgentProfile,
) -> Result<Agent, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let profile = &profile;
    retry_on_conflict(|_| async move {
        let stored = app.store.get_agent(id).await?;
        let change = Agent::with_profile(stored.as_ref(), id, profile, app.clock.now());
        match app.store.save_agent(&change).await {
            Ok(()) => {
                if let Err(error) = offer_waiting_to(app, id).await {
                    tracing::error!(%error, "offering waiting conversations failed");
                }
                Ok(Attempt::Done(change.agent))
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}
