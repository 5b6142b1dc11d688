//! The agent desk: runs desk decisions against the store, then does what
//! follows a commit (offer timers, routing, sending to WhatsApp). A decision's
//! events are committed with it, to the store's outbox, and relayed from there.
//!
//! Here: the snapshot every decision is made on, and the act-and-commit loop.
//! By concern: [`routing`] (offers), [`actions`] (what agents do), [`reopen`]
//! (reopen and the push), [`delivery`] (sending to WhatsApp), [`directory`]
//! (the caller, agents' states and profiles).

use std::collections::BTreeMap;

use wadesk_domain::desk::{self, Outgoing, TransferTarget};
use wadesk_domain::{
    decide_send_failure, may_access, Actor, Agent, AgentId, AgentState, Clock, Conversation,
    ConversationId, ConversationStatus, Customer, DeskContext, DeskDecision, DeskError, Message,
    MessageContent, OfferTimeout, Role, StatusDecision, TemplateRef,
};

use crate::error::{backoff, MAX_ATTEMPTS};
use crate::ports::MediaKind;
use crate::{
    App, AppError, CommitError, DeskStore, EventPublisher, OutboundContent, SendError, StoreError,
    TimerScheduler, WhatsAppClient,
};

mod actions;
mod delivery;
mod directory;
mod reopen;
mod routing;

pub use actions::*;
pub use directory::*;
pub use reopen::{push, reopen};
pub use routing::*;

use delivery::*;
use reopen::reopen_message;

/// Why a desk request did not happen: the rules said no, or the platform failed.
#[derive(Debug, thiserror::Error)]
pub enum DeskFailure {
    #[error(transparent)]
    Rule(#[from] DeskError),
    #[error("WhatsApp refused the message (code {code})")]
    SendRejected { code: i64 },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for DeskFailure {
    fn from(error: StoreError) -> Self {
        Self::App(AppError::Store(error))
    }
}

fn contention() -> DeskFailure {
    DeskFailure::App(AppError::Contention {
        attempts: MAX_ATTEMPTS,
    })
}

/// What a desk decision is made on: the conversation as stored now, its
/// customer, and the agents it involves.
struct Snapshot {
    conversation: Conversation,
    customer: Option<Customer>,
    agents: BTreeMap<AgentId, Agent>,
}

impl Snapshot {
    /// Reads conversation `id`, its customer, its agents and `involved`. With
    /// an `actor`, decides first whether they may see and act on it at all
    /// (`may_access`), so a refusal reveals nothing about its state.
    async fn read<S: DeskStore>(
        store: &S,
        id: ConversationId,
        involved: &[AgentId],
        actor: Option<&Actor>,
    ) -> Result<Self, DeskFailure> {
        let Some(conversation) = store.get_conversation(id).await? else {
            return Err(match actor {
                Some(actor) => may_access(None, actor, None).err(),
                None => None,
            }
            .unwrap_or(DeskError::NotFound)
            .into());
        };
        // Collected before awaiting: an iterator with a closure over `&str`
        // held across an await trips rustc's `Send` proof.
        let mut ids: Vec<AgentId> = conversation
            .agent_links()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        ids.extend(involved.iter().cloned());
        ids.extend(actor.map(|a| a.id.clone()));
        // The customer and every agent in one round trip: a snapshot is two.
        let (customer, found) = store
            .get_customer_and_agents(&conversation.customer, &ids)
            .await?;
        let agents: BTreeMap<AgentId, Agent> =
            found.into_iter().map(|a| (a.id.clone(), a)).collect();
        if let Some(actor) = actor {
            may_access(Some(&conversation), actor, agents.get(&actor.id))?;
        }
        Ok(Self {
            conversation,
            customer,
            agents,
        })
    }

    fn context(&self, now: wadesk_domain::Timestamp) -> DeskContext<'_> {
        DeskContext {
            conversation: &self.conversation,
            agents: &self.agents,
            customer: self.customer.as_ref(),
            now,
        }
    }
}

/// One desk action, as data: (a closure here would trip rustc's proof that the
/// service futures are `Send` for every lifetime).
enum Action<'a> {
    Accept(&'a Actor),
    Take(&'a Actor, bool),
    Send(&'a Actor, &'a MessageContent),
    /// A message to a finished conversation: reopen (with this message) then send.
    ReopenAndSend(&'a Actor, &'a str, &'a MessageContent),
    Note(&'a Actor, &'a str),
    Transfer(&'a Actor, &'a TransferTarget),
    Invite(&'a Actor, &'a AgentId),
    Conference(&'a Actor, Conference),
    End(&'a Actor),
    WrapUp(&'a Actor, &'a str, &'a [String]),
    Done(&'a Actor),
    OfferTimedOut(&'a OfferTimeout),
    Reopen(&'a Actor, &'a str),
    EndForOptOut,
    EndForErasure,
    Handoff(&'a Actor, &'a wadesk_domain::QueueId),
    Push(&'a Actor, Option<&'a TemplateRef>),
}

impl Action<'_> {
    /// Who asks for it: the caller whose access is checked first. Timers and
    /// `#STOP` act for nobody.
    fn actor(&self) -> Option<&Actor> {
        match self {
            Self::Accept(actor)
            | Self::Take(actor, _)
            | Self::Send(actor, _)
            | Self::ReopenAndSend(actor, _, _)
            | Self::Note(actor, _)
            | Self::Transfer(actor, _)
            | Self::Invite(actor, _)
            | Self::Conference(actor, _)
            | Self::End(actor)
            | Self::WrapUp(actor, _, _)
            | Self::Done(actor)
            | Self::Reopen(actor, _)
            | Self::Handoff(actor, _)
            | Self::Push(actor, _) => Some(actor),
            Self::OfferTimedOut(_) | Self::EndForOptOut | Self::EndForErasure => None,
        }
    }

    fn decide(&self, ctx: &DeskContext<'_>) -> Result<DeskDecision, DeskError> {
        match self {
            Self::Accept(actor) => desk::accept(ctx, actor),
            Self::Take(actor, force) => desk::take(ctx, actor, *force),
            Self::Send(actor, content) => desk::send(ctx, actor, (*content).clone()),
            Self::ReopenAndSend(actor, message, content) => {
                desk::reopen_and_send(ctx, actor, message, (*content).clone())
            }
            Self::Note(actor, text) => desk::note(ctx, actor, text),
            Self::Transfer(actor, target) => desk::transfer(ctx, actor, target),
            Self::Invite(actor, guest) => desk::conference_invite(ctx, actor, guest),
            Self::Conference(actor, Conference::Accept) => desk::conference_accept(ctx, actor),
            Self::Conference(actor, Conference::Exit) => desk::conference_exit(ctx, actor),
            Self::Conference(actor, Conference::End) => desk::conference_end(ctx, actor),
            Self::End(actor) => desk::end(ctx, actor),
            Self::WrapUp(actor, reason, reasons) => desk::wrap_up(ctx, actor, reason, reasons),
            Self::Done(actor) => desk::done(ctx, actor),
            Self::OfferTimedOut(timeout) => {
                desk::offer_timed_out(ctx, timeout).ok_or(DeskError::NotOffered)
            }
            Self::Reopen(actor, message) => desk::reopen(ctx, actor, message),
            Self::EndForOptOut => desk::end_for_opt_out(ctx).ok_or(DeskError::NotFound),
            Self::EndForErasure => desk::end_for_erasure(ctx).ok_or(DeskError::NotFound),
            Self::Handoff(actor, queue) => desk::handoff(ctx, actor, queue),
            Self::Push(actor, template) => desk::push(ctx, actor, *template),
        }
    }
}

/// Runs `action` on the current state of conversation `id` and commits it,
/// re-reading and retrying when a concurrent change wins.
async fn act<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    id: ConversationId,
    involved: &[AgentId],
    action: Action<'_>,
) -> Result<DeskDecision, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let snapshot = Snapshot::read(&app.store, id, involved, action.actor()).await?;
        let mut decision = action.decide(&snapshot.context(app.clock.now()))?;
        match commit(app, &mut decision).await {
            Ok(()) => {
                follow_up(app, &decision).await;
                return Ok(decision);
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(contention())
}

/// Arms the offer timer (before the commit, so a committed offer always has
/// one) and commits. The decision's events are written to the store's outbox
/// in the commit itself; the outbox relay (`functions/event-relay` on the
/// table's stream, or whoever drives the embedded store) publishes them, so a
/// failing bus can delay them but never lose them. They are deliberately not
/// also published here: one `PutEvents` entry per event, and consumers would
/// only drop the duplicate by its id.
async fn commit<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    decision: &mut DeskDecision,
) -> Result<(), CommitError>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    if let Some(offer) = decision.arm_offer_timeout.as_mut() {
        offer.due_at = offer.offered_at + app.offer_timeout;
        app.timers
            .arm_offer(offer)
            .await
            .map_err(|e| CommitError::Store(StoreError::new("arm_offer", e)))?;
    }
    app.store.commit_desk(decision).await
}

/// Routing that a committed change asks for. Failures are logged, not
/// returned: the change itself stands and the conversation waits in its queue.
async fn follow_up<S, E, T, C, W>(app: &App<S, E, T, C, W>, decision: &DeskDecision)
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    if decision.needs_routing {
        if let Err(error) = route(app, decision.conversation.id).await {
            tracing::error!(%error, "routing failed; the conversation waits in its queue");
        }
    }
    for agent in &decision.freed {
        if let Err(error) = offer_waiting_to(app, agent).await {
            tracing::error!(%error, "offering waiting conversations failed");
        }
    }
}
