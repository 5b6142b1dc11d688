//! The agent desk: runs desk decisions against the store, then does what
//! follows a commit (offer timers, routing, sending to WhatsApp). A decision's
//! events are committed with it, to the store's outbox, and relayed from there.

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
            Self::OfferTimedOut(_) | Self::EndForOptOut => None,
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

/// The caller behind a verified subject, as the directory describes them,
/// with their directory entry (`None` for a bootstrap admin not yet in it).
pub async fn identify<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    subject: AgentId,
) -> Result<(Actor, Option<Agent>), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let entry = app.store.get_agent(&subject).await?;
    let actor = wadesk_domain::identify(subject, entry.as_ref(), &app.bootstrap_admins)
        .map_err(DeskError::from)?;
    Ok((actor, entry))
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
    kind: Option<&str>,
    outgoing: Outgoing,
) -> Result<wadesk_domain::Message, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let content = desk::validate_outgoing(kind, &outgoing)?;
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

fn outbound(content: &MessageContent) -> OutboundContent {
    let media = |kind, a: &wadesk_domain::Attachment| OutboundContent::Media {
        kind,
        link: a.url.clone().unwrap_or_default(),
        filename: a.filename.clone(),
        caption: a.caption.clone(),
    };
    match content {
        MessageContent::Image { attachment } => media(MediaKind::Image, attachment),
        MessageContent::Video { attachment } => media(MediaKind::Video, attachment),
        MessageContent::Document { attachment } => media(MediaKind::Document, attachment),
        MessageContent::Template { template } => OutboundContent::Template {
            name: template.name.clone(),
            language: template.language.clone(),
            parameters: template.parameters.clone(),
        },
        other => OutboundContent::Text {
            body: other.text().unwrap_or_default().to_owned(),
        },
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
    )
    .await;
    match result {
        Ok(_) | Err(DeskFailure::Rule(DeskError::NotOffered | DeskError::NotFound)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// An agent sets their own state; becoming available brings offers.
pub async fn set_state<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    agent_id: &AgentId,
    state: AgentState,
) -> Result<Agent, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
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
                if state == AgentState::Available {
                    if let Err(error) = offer_waiting_to(app, agent_id).await {
                        tracing::error!(%error, "offering waiting conversations failed");
                    }
                }
                return Ok(app.store.get_agent(agent_id).await?.unwrap_or(change.agent));
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(contention())
}

/// What an admin says of an agent.
#[derive(Debug, Clone)]
pub struct AgentProfile {
    pub name: String,
    pub role: Role,
    pub queues: Vec<wadesk_domain::QueueId>,
    pub max_concurrent: u32,
}

/// Creates or updates an agent, keeping their state and load.
pub async fn upsert_agent<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    id: &AgentId,
    profile: AgentProfile,
) -> Result<Agent, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let stored = app.store.get_agent(id).await?;
        let expected_version = stored.as_ref().map_or(0, |a| a.version);
        let mut agent = stored.unwrap_or_else(|| {
            Agent::new(
                id.clone(),
                profile.name.clone(),
                profile.role,
                Vec::new(),
                0,
                app.clock.now(),
            )
        });
        agent.name.clone_from(&profile.name);
        agent.role = profile.role;
        agent.queues.clone_from(&profile.queues);
        agent.max_concurrent = profile.max_concurrent;
        agent.version = expected_version + 1;
        let change = wadesk_domain::AgentChange {
            agent: agent.clone(),
            expected_version,
        };
        match app.store.save_agent(&change).await {
            Ok(()) => {
                if let Err(error) = offer_waiting_to(app, id).await {
                    tracing::error!(%error, "offering waiting conversations failed");
                }
                return Ok(agent);
            }
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(contention())
}

/// Reopens a finished conversation and sends the channel's automatic reopen
/// message (`docs/product.md#51-reopen`). The agent's retry of a reopen whose message never went
/// out sends that message and answers as the first attempt would have; once
/// it went out, a retry is refused as any reopen of a live session is (409).
pub async fn reopen<S, E, T, C, W>(
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
    let message = reopen_message(&app.store, id, actor).await?;
    reopen_or_push(
        app,
        actor,
        id,
        Action::Reopen(actor, &message),
        Reopening::Reopen,
    )
    .await
}

/// Sends the single utility template push of a closed window
/// (`docs/product.md#52-the-single-utility-push`). A
/// retry after a failed send sends that template, never a second push; once
/// it went out, a retry is `push_already_sent`.
pub async fn push<S, E, T, C, W>(
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
    let template = channel_of(&app.store, id, actor)
        .await?
        .1
        .and_then(|c| c.push_template);
    reopen_or_push(
        app,
        actor,
        id,
        Action::Push(actor, template.as_ref()),
        Reopening::Push,
    )
    .await
}

/// The automatic reopen message of conversation `id`'s channel (the default
/// one when the channel is not configured).
async fn reopen_message<S: DeskStore>(
    store: &S,
    id: ConversationId,
    actor: &Actor,
) -> Result<String, DeskFailure> {
    let (phone_number_id, channel) = channel_of(store, id, actor).await?;
    Ok(channel.map_or_else(
        || wadesk_domain::Channel::unconfigured(phone_number_id, String::new()).reopen_message,
        |c| c.reopen_message,
    ))
}

/// The channel of conversation `id` (its reopen message and push template),
/// with the channel's number for when it is not configured.
async fn channel_of<S: DeskStore>(
    store: &S,
    id: ConversationId,
    actor: &Actor,
) -> Result<(wadesk_domain::PhoneNumberId, Option<wadesk_domain::Channel>), DeskFailure> {
    let conversation = store.get_conversation(id).await?;
    // The caller's access first: a refusal tells nothing of the conversation.
    let entry = store.get_agent(&actor.id).await?;
    may_access(conversation.as_ref(), actor, entry.as_ref())?;
    let phone_number_id = conversation
        .ok_or(DeskError::NotFound)?
        .customer
        .phone_number_id;
    let channel = store.get_channel(&phone_number_id).await?;
    Ok((phone_number_id, channel))
}

/// Which of the two a request is, for finishing an unsent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reopening {
    Reopen,
    Push,
}

impl Reopening {
    fn unfinished(
        self,
        ctx: &DeskContext<'_>,
        actor: &Actor,
        transcript: &[Message],
    ) -> Option<desk::Unfinished> {
        match self {
            Self::Reopen => desk::resume_reopen(ctx, actor, transcript),
            Self::Push => desk::resume_push(ctx, actor, transcript),
        }
    }
}

/// Runs a reopen or push: commits it and sends its message; or, when the
/// rules refuse it because this agent's earlier attempt already committed it,
/// sends that attempt's still unsent message under a fresh send lease.
async fn reopen_or_push<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    actor: &Actor,
    id: ConversationId,
    action: Action<'_>,
    kind: Reopening,
) -> Result<Conversation, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let snapshot = Snapshot::read(&app.store, id, &[], Some(actor)).await?;
        let ctx = snapshot.context(app.clock.now());
        let conversation = &snapshot.conversation;
        let refusal = match action.decide(&ctx) {
            Ok(mut decision) => match commit(app, &mut decision).await {
                Ok(()) => {
                    follow_up(app, &decision).await;
                    deliver_and_release(app, &decision.conversation.customer, &decision.messages)
                        .await?;
                    return Ok(decision.conversation);
                }
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                    backoff(attempt).await;
                    continue;
                }
                Err(CommitError::Store(error)) => {
                    // The commit may stand with its answer lost; then it is
                    // this request's to finish (its lease, its message).
                    if !committed(app, &decision).await {
                        return Err(error.into());
                    }
                    tracing::warn!(%error, "the commit's answer was lost but it stands");
                    follow_up(app, &decision).await;
                    deliver_and_release(app, &decision.conversation.customer, &decision.messages)
                        .await?;
                    return Ok(decision.conversation);
                }
            },
            Err(refusal) => refusal,
        };
        if conversation.status != ConversationStatus::Reopened {
            return Err(refusal.into());
        }
        let transcript = app.store.list_messages(id).await?;
        match kind.unfinished(&ctx, actor, &transcript) {
            None => return Err(refusal.into()),
            Some(desk::Unfinished::Sending) => {
                return Err(DeskFailure::App(AppError::InProgress {
                    what: "sending the reopen or push message",
                }))
            }
            Some(desk::Unfinished::Resume(resumption)) => match app
                .store
                .save_customer(&resumption.customer, resumption.expected_version)
                .await
            {
                Ok(()) => {
                    let message = &resumption.message;
                    tracing::info!(message_id = %message.id, "sending an unsent reopen or push message");
                    deliver_and_release(app, &conversation.customer, std::slice::from_ref(message))
                        .await?;
                    return Ok(conversation.clone());
                }
                // A `#STOP` (or anything else) got in first: decide again.
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                    backoff(attempt).await;
                }
                Err(CommitError::Store(error)) => return Err(error.into()),
            },
        }
    }
    Err(contention())
}

/// Whether a decision whose commit failed without an answer is stored after
/// all: its message is (message ids are new for every decision).
async fn committed<S, E, T, C, W>(app: &App<S, E, T, C, W>, decision: &DeskDecision) -> bool
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let Some(first) = decision.messages.first() else {
        return false;
    };
    match app.store.list_messages(decision.conversation.id).await {
        Ok(transcript) => transcript.iter().any(|m| m.id == first.id),
        Err(error) => {
            tracing::warn!(%error, "could not tell whether the commit stands");
            false
        }
    }
}

/// Sends a reopen's or push's message, then releases the customer's send
/// lease (a `#STOP` acknowledgement waits for it).
async fn deliver_and_release<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    key: &wadesk_domain::CustomerKey,
    messages: &[Message],
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let mut outcome = Ok(());
    for message in messages {
        if let Err(error) = deliver_as(app, key, message.clone(), OnRetry::SendsThisOne).await {
            outcome = Err(error);
            break;
        }
    }
    release_send_lease(app, key).await;
    outcome
}

/// What the agent's retry after a failed send does, and so what the failure
/// leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnRetry {
    /// Sends a new message (an agent's own): this one is recorded `failed`.
    SendsAnother,
    /// Sends this very message (a reopen's, a push's): a send WhatsApp could
    /// not take leaves it `pending` for the retry; a refusal is still `failed`.
    SendsThisOne,
}

/// Sends one stored `pending` message and records its wamid, or its failure.
async fn deliver<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    customer: &wadesk_domain::CustomerKey,
    message: Message,
) -> Result<Message, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    deliver_as(app, customer, message, OnRetry::SendsAnother).await
}

async fn deliver_as<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    customer: &wadesk_domain::CustomerKey,
    mut message: Message,
    on_retry: OnRetry,
) -> Result<Message, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    match app
        .whatsapp
        .send(
            &customer.phone_number_id,
            &customer.wa_id,
            &outbound(&message.content),
        )
        .await
    {
        Ok(wamid) => {
            message.wamid = Some(wamid);
            // WhatsApp took it, so the request succeeded: a 5xx here would
            // have the agent's retry send it a second time. Unrecorded, its
            // delivery statuses find no message.
            match app.store.record_sent(customer, &message).await {
                Ok(()) | Err(CommitError::Duplicate { .. }) => {}
                Err(error) => tracing::error!(%error, "message sent but its wamid not recorded"),
            }
            Ok(message)
        }
        Err(error) => {
            let (code, title) = match &error {
                SendError::ReengagementRequired => (
                    wadesk_domain::message::REENGAGEMENT_REQUIRED,
                    "re-engagement required".to_owned(),
                ),
                SendError::Rejected { code, title } => (*code, title.clone()),
                SendError::Unavailable { .. } => (0, "WhatsApp unavailable".to_owned()),
            };
            tracing::warn!(%error, "send failed");
            let resent_on_retry =
                on_retry == OnRetry::SendsThisOne && matches!(error, SendError::Unavailable { .. });
            if !resent_on_retry {
                record_send_failure(app, customer, &message, code, title).await?;
            }
            Err(match error {
                SendError::ReengagementRequired => DeskError::WindowClosed.into(),
                SendError::Rejected { code, .. } => DeskFailure::SendRejected { code },
                SendError::Unavailable { source } => {
                    DeskFailure::App(AppError::Store(StoreError {
                        operation: "whatsapp_send",
                        source,
                    }))
                }
            })
        }
    }
}

/// Marks a message `failed` (131047 also closes the window) and publishes
/// what that changes. Failures to record are logged: the send failed either way.
async fn record_send_failure<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    customer: &wadesk_domain::CustomerKey,
    message: &Message,
    code: i64,
    title: String,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let current = app.store.get_customer(customer).await?;
    if let StatusDecision::Apply {
        expected,
        message: failed,
        customer: closed,
        events,
    } = decide_send_failure(
        message,
        current.as_ref(),
        wadesk_domain::message::DeliveryError { code, title },
        app.clock.now(),
    ) {
        if let Err(error) = app
            .store
            .commit_status(&failed, expected, closed.as_ref())
            .await
        {
            tracing::error!(%error, "recording the failed send failed");
        }
        if let Err(error) = app.events.publish(&events).await {
            tracing::error!(%error, "events of the failed send not published");
        }
    }
    Ok(())
}

/// Clears the customer's send lease; a concurrent change is re-read and retried.
async fn release_send_lease<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    key: &wadesk_domain::CustomerKey,
) where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let customer: Option<Customer> = match app.store.get_customer(key).await {
            Ok(customer) => customer,
            Err(error) => {
                tracing::error!(%error, "send lease not released; it expires by itself");
                return;
            }
        };
        let Some(change) = customer.as_ref().and_then(Customer::release_send_lease) else {
            return;
        };
        match app
            .store
            .save_customer(&change.customer, change.expected_version)
            .await
        {
            Ok(()) => return,
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => {
                tracing::error!(%error, "send lease not released; it expires by itself");
                return;
            }
        }
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
