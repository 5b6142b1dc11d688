//! The agent desk: runs desk decisions against the store, then does what
//! follows a commit (offer timers, routing, sending to WhatsApp). A decision's
//! events are committed with it, to the store's outbox, and relayed from there.
//!
//! Here: the snapshot every decision is made on, and the act-and-commit loop.
//! By concern: [`routing`] (offers), [`actions`] (what agents do), [`reopen`]
//! (reopen and the push), [`delivery`] (sending to WhatsApp), [`directory`]
//! (the caller, agents' states and profiles).

use crate::Ports;
use std::collections::BTreeMap;

use wadesk_domain::desk::{self, Outgoing, TransferTarget};
use wadesk_domain::{
    decide_send_failure, may_access, Actor, Agent, AgentId, AgentState, Clock, Conversation,
    ConversationId, ConversationStatus, Customer, CustomerKey, DeskContext, DeskDecision,
    DeskError, Message, MessageContent, OfferTimeout, StatusDecision,
};

use crate::error::{retry_on_conflict, Attempt, Retryable};
use crate::ports::MediaKind;
use crate::{
    App, AppError, CommitError, ConversationStore, DeskItems, DeskKeys, DeskStore, EventPublisher,
    OutboundContent, SendError, StoreError, TimerScheduler, WhatsAppClient,
};

mod actions;
mod delivery;
mod directory;
mod hints;
mod reopen;
mod routing;

pub use actions::*;
pub use directory::*;
pub use hints::SnapshotHints;
pub use reopen::{push, reopen};
pub use routing::*;

use delivery::*;

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

impl Retryable for DeskFailure {
    fn is_retryable(&self) -> bool {
        match self {
            // The rules and WhatsApp answer the same on every retry.
            Self::Rule(_) | Self::SendRejected { .. } => false,
            Self::App(error) => error.is_retryable(),
        }
    }
}

/// What a caller's request read while identifying them: the conversation it
/// names, in the same round trip as their directory entry
/// ([`identify_for`]), so the desk action's snapshot reads only the rest; on
/// a warm instance, with what its [`SnapshotHints`] said the snapshot would
/// need (the customer, the agents), so it often reads nothing more.
#[derive(Debug, Clone)]
pub struct Prefetched {
    id: ConversationId,
    conversation: Option<Conversation>,
    /// The customer key asked for on a hint, and what was found.
    customer: Option<(CustomerKey, Option<Customer>)>,
    /// Every agent asked for (the caller, those of a hint), found or not.
    agents: BTreeMap<AgentId, Option<Agent>>,
}

impl Prefetched {
    /// What was read for conversation `id` (inside, `None`: it does not
    /// exist), if `id` is the one read.
    pub fn conversation(&self, id: ConversationId) -> Option<Option<&Conversation>> {
        (self.id == id).then_some(self.conversation.as_ref())
    }

    /// Takes out of `keys` what was read already, into `items`.
    fn supply(&self, keys: &mut DeskKeys, items: &mut DeskItems) {
        if let Some((key, customer)) = &self.customer {
            if keys.customer.as_ref() == Some(key) {
                keys.customer = None;
                items.customer.clone_from(customer);
            }
        }
        keys.agents.retain(|id| match self.agents.get(id) {
            Some(agent) => {
                if let Some(agent) = agent {
                    items.agents.insert(id.clone(), agent.clone());
                }
                false
            }
            None => true,
        });
    }
}

/// Who acts on a conversation, with what their request already read.
/// `&Actor` converts into it (nothing read yet).
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    pub actor: &'a Actor,
    /// The caller's directory entry, when read this request (`Some(None)`:
    /// a bootstrap admin the directory does not list).
    entry: Option<Option<&'a Agent>>,
    prefetched: Option<&'a Prefetched>,
}

impl<'a> Acting<'a> {
    /// A caller identified this request: their entry and what was read with it.
    pub fn identified(
        actor: &'a Actor,
        entry: Option<&'a Agent>,
        prefetched: Option<&'a Prefetched>,
    ) -> Self {
        Self {
            actor,
            entry: Some(entry),
            prefetched,
        }
    }
}

impl<'a> From<&'a Actor> for Acting<'a> {
    fn from(actor: &'a Actor) -> Self {
        Self {
            actor,
            entry: None,
            prefetched: None,
        }
    }
}

/// What a desk decision is made on: the conversation as stored now, its
/// customer, the agents it involves, and whatever the action looks up (its
/// target queue, the channel, the wrap-up reasons).
struct Snapshot {
    conversation: Conversation,
    items: DeskItems,
}

impl Snapshot {
    /// Reads conversation `id` (unless `acting` read it already; a retry
    /// reads it again), then in one round trip its customer, its agents,
    /// `involved`, the caller's entry (unless known) and what `action`
    /// looks up: two round trips at most. With an actor, decides first
    /// whether they may see and act on it at all (`may_access`), so a
    /// refusal reveals nothing about its state; only a missing transfer or
    /// hand-off target is told before, as it always was.
    async fn read<S: DeskStore>(
        store: &S,
        id: ConversationId,
        involved: &[AgentId],
        action: &Action<'_>,
        acting: Option<Acting<'_>>,
        attempt: usize,
    ) -> Result<Self, DeskFailure> {
        let first = attempt == 0;
        let prefetched = acting
            .and_then(|a| a.prefetched)
            .filter(|p| p.id == id && first);
        let conversation = match prefetched {
            Some(prefetched) => prefetched.conversation.clone(),
            None => store.get_conversation(id).await?,
        };
        let actor = action.actor();
        let known_entry = acting.and_then(|a| a.entry).filter(|_| first);
        let mut keys = DeskKeys::default();
        action.targets(&mut keys);
        if let Some(conversation) = &conversation {
            if action.needs_customer(conversation) {
                keys.customer = Some(conversation.customer.clone());
                keys.agents
                    .extend(conversation.agent_links().into_iter().map(|(id, _)| id));
            }
            keys.agents.extend(involved.iter().cloned());
            if known_entry.is_none() {
                keys.agents.extend(actor.map(|a| a.id.clone()));
            }
            if action.needs_channel(conversation) {
                keys.channel = Some(conversation.customer.phone_number_id.clone());
            }
            keys.wrap_up_reasons = matches!(action, Action::WrapUp(..));
        }
        keys.agents.sort();
        keys.agents.dedup();
        let mut known = DeskItems::default();
        if let Some(prefetched) = prefetched {
            prefetched.supply(&mut keys, &mut known);
        }
        let mut items = if keys.is_empty() {
            DeskItems::default()
        } else {
            store.read_desk(&keys).await?
        };
        if known.customer.is_some() {
            items.customer = known.customer;
        }
        items.agents.append(&mut known.agents);
        action.check_targets(&items)?;
        let Some(conversation) = conversation else {
            return Err(actor
                .and_then(|actor| may_access(None, actor, None).err())
                .unwrap_or(DeskError::NotFound)
                .into());
        };
        if let Some(Some(entry)) = known_entry {
            items.agents.insert(entry.id.clone(), entry.clone());
        }
        if let Some(actor) = actor {
            may_access(Some(&conversation), actor, items.agents.get(&actor.id))?;
        }
        Ok(Self {
            conversation,
            items,
        })
    }

    fn context(&self, now: wadesk_domain::Timestamp) -> DeskContext<'_> {
        DeskContext {
            conversation: &self.conversation,
            agents: &self.items.agents,
            customer: self.items.customer.as_ref(),
            now,
        }
    }

    /// The automatic reopen message of the conversation's channel (the
    /// default one when the channel is not configured).
    fn reopen_message(&self) -> &str {
        wadesk_domain::Channel::reopen_message_of(self.items.channel.as_ref())
    }
}

/// One desk action, as data: (a closure here would trip rustc's proof that the
/// service futures are `Send` for every lifetime).
enum Action<'a> {
    Accept(&'a Actor),
    Take(&'a Actor, bool),
    /// To a finished conversation (inside the window) it is reopen-then-send.
    Send(&'a Actor, &'a MessageContent),
    Note(&'a Actor, &'a str),
    Transfer(&'a Actor, &'a TransferTarget),
    Invite(&'a Actor, &'a AgentId),
    Conference(&'a Actor, Conference),
    End(&'a Actor),
    WrapUp(&'a Actor, &'a str),
    Done(&'a Actor),
    OfferTimedOut(&'a OfferTimeout),
    Reopen(&'a Actor),
    EndForOptOut,
    EndForErasure,
    Handoff(&'a Actor, &'a wadesk_domain::QueueId),
    Push(&'a Actor),
}

impl Action<'_> {
    /// Who asks for it: the caller whose access is checked first. Timers and
    /// `#STOP` act for nobody.
    fn actor(&self) -> Option<&Actor> {
        match self {
            Self::Accept(actor)
            | Self::Take(actor, _)
            | Self::Send(actor, _)
            | Self::Note(actor, _)
            | Self::Transfer(actor, _)
            | Self::Invite(actor, _)
            | Self::Conference(actor, _)
            | Self::End(actor)
            | Self::WrapUp(actor, _)
            | Self::Done(actor)
            | Self::Reopen(actor)
            | Self::Handoff(actor, _)
            | Self::Push(actor) => Some(actor),
            Self::OfferTimedOut(_) | Self::EndForOptOut | Self::EndForErasure => None,
        }
    }

    /// The agent or queue it names, which must exist: read with the snapshot.
    fn targets(&self, keys: &mut DeskKeys) {
        match self {
            Self::Transfer(_, TransferTarget::Agent(agent)) => keys.agents.push(agent.clone()),
            Self::Transfer(_, TransferTarget::Queue(queue)) => keys.queues.push(queue.clone()),
            Self::Handoff(_, queue) => keys.queues.push((*queue).clone()),
            _ => {}
        }
    }

    /// A transfer or hand-off to nobody is refused before anything else (it
    /// tells nothing of the conversation).
    fn check_targets(&self, items: &DeskItems) -> Result<(), DeskError> {
        match self {
            Self::Transfer(_, TransferTarget::Agent(agent))
                if !items.agents.contains_key(agent) =>
            {
                Err(DeskError::Invalid(format!("no agent {agent}")))
            }
            Self::Transfer(_, TransferTarget::Queue(queue))
                if !items.queues.contains_key(queue) =>
            {
                Err(DeskError::Invalid(format!("no queue {queue}")))
            }
            Self::Handoff(_, queue) if !items.queues.contains_key(*queue) => {
                Err(DeskError::Invalid(format!("no queue {queue}")))
            }
            _ => Ok(()),
        }
    }

    /// Whether deciding needs the customer (and with it the agents the
    /// conversation links): all but its own agent's message
    /// ([`desk::send_needs_customer`]), which is decided on the conversation
    /// and the caller alone, so it reads nothing after the conversation.
    fn needs_customer(&self, conversation: &Conversation) -> bool {
        match self {
            Self::Send(actor, _) => desk::send_needs_customer(conversation, &actor.id),
            _ => true,
        }
    }

    /// Whether deciding needs the channel (its reopen message, its push
    /// template): then it is read in the snapshot's batch, not after it.
    fn needs_channel(&self, conversation: &Conversation) -> bool {
        match self {
            Self::Reopen(_) | Self::Push(_) => true,
            Self::Send(..) => desk::send_reopens(conversation),
            _ => false,
        }
    }

    fn decide(
        &self,
        snapshot: &Snapshot,
        now: wadesk_domain::Timestamp,
    ) -> Result<DeskDecision, DeskError> {
        let ctx = &snapshot.context(now);
        match self {
            Self::Accept(actor) => desk::accept(ctx, actor),
            Self::Take(actor, force) => desk::take(ctx, actor, *force),
            Self::Send(actor, content) => {
                desk::send_or_reopen(ctx, actor, (*content).clone(), snapshot.reopen_message())
            }
            Self::Note(actor, text) => desk::note(ctx, actor, text),
            Self::Transfer(actor, target) => desk::transfer(ctx, actor, target),
            Self::Invite(actor, guest) => desk::conference_invite(ctx, actor, guest),
            Self::Conference(actor, Conference::Accept) => desk::conference_accept(ctx, actor),
            Self::Conference(actor, Conference::Exit) => desk::conference_exit(ctx, actor),
            Self::Conference(actor, Conference::End) => desk::conference_end(ctx, actor),
            Self::End(actor) => desk::end(ctx, actor),
            Self::WrapUp(actor, reason) => {
                desk::wrap_up(ctx, actor, reason, &snapshot.items.wrap_up_reasons)
            }
            Self::Done(actor) => desk::done(ctx, actor),
            Self::OfferTimedOut(timeout) => {
                desk::offer_timed_out(ctx, timeout).ok_or(DeskError::NotOffered)
            }
            Self::Reopen(actor) => desk::reopen(ctx, actor, snapshot.reopen_message()),
            Self::EndForOptOut => desk::end_for_opt_out(ctx).ok_or(DeskError::NotFound),
            Self::EndForErasure => desk::end_for_erasure(ctx).ok_or(DeskError::NotFound),
            Self::Handoff(actor, queue) => desk::handoff(ctx, actor, queue),
            Self::Push(actor) => {
                let channel = snapshot.items.channel.as_ref();
                desk::push(ctx, actor, channel.and_then(|c| c.push_template.as_ref()))
            }
        }
    }
}

/// Runs `action` on the current state of conversation `id` and commits it,
/// re-reading and retrying when a concurrent change wins.
async fn act<P>(
    app: &App<P>,
    id: ConversationId,
    involved: &[AgentId],
    action: Action<'_>,
    acting: Option<Acting<'_>>,
) -> Result<DeskDecision, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let action = &action;
    retry_on_conflict(|attempt| async move {
        let snapshot = Snapshot::read(&app.store, id, involved, action, acting, attempt).await?;
        let mut decision = action.decide(&snapshot, app.clock.now())?;
        match commit(app, &mut decision).await? {
            Ok(()) => {
                // A caller's request (identified with its conversation) on
                // this instance: the next one on it reads in one round trip.
                if acting.is_some_and(|a| a.prefetched.is_some()) {
                    app.snapshot_hints.remember(&decision.conversation);
                }
                follow_up(app, &decision).await;
                Ok(Attempt::Done(decision))
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// Arms the offer timer (before the commit, so a committed offer always has
/// one) and commits: a timer that could not be armed is the outer error
/// (nothing was committed), the commit's own answer the inner result. The
/// decision's events are written to the store's outbox
/// in the commit itself; the outbox relay (`functions/event-relay` on the
/// table's stream, or whoever drives the embedded store) publishes them, so a
/// failing bus can delay them but never lose them. They are deliberately not
/// also published here: one `PutEvents` entry per event, and consumers would
/// only drop the duplicate by its id.
async fn commit<P>(
    app: &App<P>,
    decision: &mut DeskDecision,
) -> Result<Result<(), CommitError>, AppError>
where
    P: Ports<Store: DeskStore>,
{
    if let Some(offer) = decision.arm_offer_timeout.as_mut() {
        offer.due_at = offer.offered_at + app.offer_timeout;
        app.timers.arm_offer(offer).await?;
    }
    Ok(app.store.commit_desk(decision).await)
}

/// Routing that a committed change asks for. Failures are logged, not
/// returned: the change itself stands and the conversation waits in its queue.
async fn follow_up<P>(app: &App<P>, decision: &DeskDecision)
where
    P: Ports<Store: DeskStore>,
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
