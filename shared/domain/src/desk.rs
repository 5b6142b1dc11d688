//! What agents do with conversations: offers, accept, take and overtake, send,
//! transfer, conference, end, wrap-up, done; and agent state changes.
//!
//! Each action reads the conversation, the agents it involves and the customer,
//! and returns a [`DeskDecision`]: every item it changes, with the version each
//! must still have, to be written in one transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::media::FileKind;
use crate::{
    Agent, AgentId, AgentState, Attachment, Conversation, ConversationId, ConversationStatus,
    Customer, CustomerChange, Direction, DomainEvent, EventEnvelope, ExpectedVersion, LiveSession,
    Message, MessageContent, MessageId, QueueId, Role, Timestamp,
};

/// The longest text an agent may send (WhatsApp's limit).
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest caption of an attachment (WhatsApp's limit for media captions).
pub const MAX_CAPTION_CHARS: usize = 1024;

pub use crate::access::Actor;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    #[error("{0}")]
    Invalid(String),
    #[error("you may not act on this conversation")]
    Forbidden,
    #[error(transparent)]
    NotInDirectory(#[from] crate::access::NotInDirectory),
    #[error("not found")]
    NotFound,
    #[error("the conversation is already taken by {owner}")]
    AlreadyTaken { owner: AgentId },
    #[error("the conversation is not offered to you")]
    NotOffered,
    #[error("not possible while the conversation is {}", .0.as_str())]
    InvalidState(ConversationStatus),
    #[error("the customer's 24-hour window is closed; only a template can be sent")]
    WindowClosed,
    #[error("the customer already has a live conversation")]
    SessionActiveElsewhere,
    #[error("the customer opted out with #STOP")]
    OptedOut,
    #[error("the push for this closed window was already sent")]
    PushAlreadySent,
}

/// An agent's new state and the version the stored agent must still have
/// (the one version convention: [`crate::version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentChange {
    /// The new state, its version the next one.
    pub agent: Agent,
    pub expected_version: ExpectedVersion,
}

impl AgentChange {
    /// `next` to be written over `stored` (`None`: an agent not in the
    /// directory yet), with its version set to the next one.
    pub fn new(stored: Option<&Agent>, mut next: Agent) -> Self {
        let expected_version = ExpectedVersion::of(stored.map(|a| a.version));
        next.version = expected_version.next();
        Self {
            agent: next,
            expected_version,
        }
    }
}

/// An offer waiting for acceptance, as the offer timer carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferTimeout {
    pub conversation_id: ConversationId,
    pub agent: AgentId,
    pub offered_at: Timestamp,
    /// When the offer times out (set by the service from its configured time-out).
    pub due_at: Timestamp,
}

/// Everything one desk action changes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskDecision {
    pub before: Conversation,
    /// The new state (its version the next one); written only if the stored
    /// one is still [`DeskDecision::expected_version`].
    pub conversation: Conversation,
    pub agents: Vec<AgentChange>,
    /// The customer with a new live-session mirror (or set outright).
    pub customer: Option<CustomerChange>,
    /// New system messages, notes and outbound messages (status `pending`).
    pub messages: Vec<Message>,
    pub events: Vec<EventEnvelope>,
    pub arm_offer_timeout: Option<OfferTimeout>,
    /// The conversation went back to a queue without an offer: route it.
    pub needs_routing: bool,
    /// Agents whose capacity was freed: offer them what waits in their queues.
    pub freed: Vec<AgentId>,
}

impl DeskDecision {
    /// The version the stored conversation must still have: the one it was
    /// decided on (a desk action acts on a stored conversation).
    pub fn expected_version(&self) -> ExpectedVersion {
        ExpectedVersion::Exactly(self.before.version)
    }
}

/// The state one action starts from.
pub struct DeskContext<'a> {
    pub conversation: &'a Conversation,
    /// The agents the conversation involves, plus the actor and any target.
    pub agents: &'a BTreeMap<AgentId, Agent>,
    pub customer: Option<&'a Customer>,
    pub now: Timestamp,
}

/// An action under way: the draft of a [`DeskDecision`].
struct Draft<'a> {
    ctx: &'a DeskContext<'a>,
    conversation: Conversation,
    /// The customer as the action sets it outright (reopen, push, opt-out);
    /// otherwise only the live-session mirror follows the conversation.
    customer: Option<Customer>,
    agents: BTreeMap<AgentId, Agent>,
    messages: Vec<Message>,
    events: Vec<DomainEvent>,
    arm_offer_timeout: Option<OfferTimeout>,
    needs_routing: bool,
    freed: Vec<AgentId>,
}

impl<'a> Draft<'a> {
    fn new(ctx: &'a DeskContext<'a>) -> Self {
        let mut conversation = ctx.conversation.clone();
        conversation.version = ExpectedVersion::Exactly(ctx.conversation.version).next();
        conversation.updated_at = ctx.now;
        Self {
            ctx,
            conversation,
            customer: None,
            agents: BTreeMap::new(),
            messages: Vec::new(),
            events: Vec::new(),
            arm_offer_timeout: None,
            needs_routing: false,
            freed: Vec::new(),
        }
    }

    fn agent(&mut self, id: &AgentId) -> Result<&mut Agent, DeskError> {
        if !self.agents.contains_key(id) {
            let agent = self
                .ctx
                .agents
                .get(id)
                .cloned()
                .ok_or(DeskError::NotFound)?;
            self.agents.insert(id.clone(), agent);
        }
        self.agents.get_mut(id).ok_or(DeskError::NotFound)
    }

    fn add_load(&mut self, id: &AgentId) -> Result<(), DeskError> {
        self.agent(id)?.add_load();
        Ok(())
    }

    /// Frees one unit of `id`'s capacity; agents who are gone are skipped.
    fn remove_load(&mut self, id: &AgentId) {
        let now = self.ctx.now;
        if let Ok(agent) = self.agent(id) {
            agent.remove_load(now);
            self.freed.push(id.clone());
        }
    }

    fn system_message(&mut self, text: String) {
        self.messages.push(Message {
            id: MessageId::generate(),
            conversation_id: self.conversation.id,
            direction: Direction::System,
            content: MessageContent::Text { text },
            author: None,
            at: self.ctx.now,
            status: None,
            error: None,
            wamid: None,
        });
    }

    fn agent_name(&self, id: &AgentId) -> String {
        self.ctx
            .agents
            .get(id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    fn finish(self) -> DeskDecision {
        let ctx = self.ctx;
        let mut conversation = self.conversation;
        // Reaching `finished` starts its retention; being live again ends it
        // (`docs/product.md#11-data-protection`).
        if conversation.status.is_live() {
            conversation.finished_at = None;
        } else if ctx.conversation.status.is_live() || conversation.finished_at.is_none() {
            conversation.finished_at = Some(ctx.now);
        }
        let mut events = self.events;
        if conversation.expires_at() != ctx.conversation.expires_at() {
            events.push(DomainEvent::ConversationExpiryChanged {
                conversation_id: conversation.id,
                expires_at: conversation.expires_at(),
            });
        }
        let set_outright = self
            .customer
            .zip(ctx.customer)
            .map(|(next, stored)| CustomerChange::new(Some(stored), next));
        // The mirror follows the conversation's status and owner (an overtake
        // changes only the owner); unchanged, the customer is not written.
        let mirrored = || {
            ctx.customer.and_then(|customer| {
                let live = customer
                    .live
                    .as_ref()
                    .filter(|l| l.conversation_id == conversation.id)?;
                let mirror = LiveSession::of(&conversation);
                if mirror.as_ref() == Some(live) {
                    return None;
                }
                let mut next = customer.clone();
                if mirror.is_none() {
                    next.assigned_agent.clone_from(&conversation.owner);
                }
                next.live = mirror;
                Some(CustomerChange::new(Some(customer), next))
            })
        };
        let customer = set_outright.or_else(mirrored);
        // The conversation keeps the window of the customer this change read
        // (or writes), so its agent's next message need not read the customer.
        if let Some(window) = customer
            .as_ref()
            .map(|change| change.customer.window)
            .or(ctx.customer.map(|stored| stored.window))
        {
            conversation.customer_window = window;
        }
        // Each drafted agent was copied from the context as read.
        let agents = self
            .agents
            .into_values()
            .map(|agent| AgentChange::new(ctx.agents.get(&agent.id), agent))
            .collect();
        let events = events
            .into_iter()
            .map(|event| {
                EventEnvelope::for_change(event, conversation.id, conversation.version, ctx.now)
            })
            .collect();
        let mut freed = self.freed;
        freed.sort();
        freed.dedup();
        DeskDecision {
            before: ctx.conversation.clone(),
            conversation,
            agents,
            customer,
            messages: self.messages,
            events,
            arm_offer_timeout: self.arm_offer_timeout,
            needs_routing: self.needs_routing,
            freed,
        }
    }
}

fn require_status(
    conversation: &Conversation,
    allowed: &[ConversationStatus],
) -> Result<(), DeskError> {
    if allowed.contains(&conversation.status) {
        Ok(())
    } else {
        Err(DeskError::InvalidState(conversation.status))
    }
}

fn require_owner(conversation: &Conversation, actor: &Actor) -> Result<(), DeskError> {
    if conversation.owner.as_ref() == Some(&actor.id) {
        Ok(())
    } else {
        Err(DeskError::Forbidden)
    }
}

/// Agents may take conversations of their own queues; supervisors and admins of any.
fn may_take(ctx: &DeskContext<'_>, actor: &Actor) -> bool {
    actor.role.oversees()
        || ctx
            .agents
            .get(&actor.id)
            .is_some_and(|agent| agent.serves(&ctx.conversation.queue))
}

/// Routing offers an unanswered conversation to `agent`.
pub fn offer(ctx: &DeskContext<'_>, agent: &AgentId) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Unanswered])?;
    if conversation.offered_to.is_some() {
        return Err(DeskError::InvalidState(conversation.status));
    }
    let candidate = ctx.agents.get(agent).ok_or(DeskError::NotFound)?;
    if !candidate.can_be_offered(&conversation.queue) {
        return Err(DeskError::Forbidden);
    }
    let mut draft = Draft::new(ctx);
    draft.add_load(agent)?;
    draft.conversation.offered_to = Some(agent.clone());
    draft.conversation.offered_at = Some(ctx.now);
    draft.arm_offer_timeout = Some(OfferTimeout {
        conversation_id: conversation.id,
        agent: agent.clone(),
        offered_at: ctx.now,
        due_at: ctx.now,
    });
    draft.events.push(DomainEvent::ConversationOffered {
        conversation_id: conversation.id,
        agent: agent.clone(),
        queue: conversation.queue.clone(),
    });
    Ok(draft.finish())
}

/// The offer timer fired. `None` when the offer was already accepted or withdrawn.
pub fn offer_timed_out(ctx: &DeskContext<'_>, timeout: &OfferTimeout) -> Option<DeskDecision> {
    let conversation = ctx.conversation;
    if conversation.status != ConversationStatus::Unanswered
        || conversation.offered_to.as_ref() != Some(&timeout.agent)
        || conversation.offered_at != Some(timeout.offered_at)
    {
        return None;
    }
    let mut draft = Draft::new(ctx);
    draft.conversation.offered_to = None;
    draft.conversation.offered_at = None;
    draft.remove_load(&timeout.agent);
    if let Ok(agent) = draft.agent(&timeout.agent) {
        agent.state = AgentState::Rona;
    }
    // A RONA agent is not offered anything: do not treat it as freed capacity.
    draft.freed.retain(|id| *id != timeout.agent);
    draft.needs_routing = true;
    draft.events.push(DomainEvent::OfferTimedOut {
        conversation_id: conversation.id,
        agent: timeout.agent.clone(),
        queue: conversation.queue.clone(),
        channel: conversation.customer.phone_number_id.clone(),
    });
    Some(draft.finish())
}

pub fn accept(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    if conversation.offered_to.as_ref() != Some(&actor.id) {
        return Err(DeskError::NotOffered);
    }
    require_status(conversation, &[ConversationStatus::Unanswered])?;
    let mut draft = Draft::new(ctx);
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Active;
    c.owner = Some(actor.id.clone());
    c.participants = vec![actor.id.clone()];
    c.offered_to = None;
    c.offered_at = None;
    c.handling_started_at = Some(ctx.now);
    draft.events.push(DomainEvent::ConversationAccepted {
        conversation_id: conversation.id,
        agent: actor.id.clone(),
        queue: conversation.queue.clone(),
    });
    Ok(draft.finish())
}

/// Take an unanswered conversation, or with `force` overtake another agent's.
pub fn take(ctx: &DeskContext<'_>, actor: &Actor, force: bool) -> Result<DeskDecision, DeskError> {
    let mut draft = Draft::new(ctx);
    take_into(&mut draft, actor, force)?;
    Ok(draft.finish())
}

fn take_into(draft: &mut Draft<'_>, actor: &Actor, force: bool) -> Result<(), DeskError> {
    let ctx = draft.ctx;
    let conversation = ctx.conversation;
    require_status(
        conversation,
        &[ConversationStatus::Unanswered, ConversationStatus::Active],
    )?;
    if !may_take(ctx, actor) {
        return Err(DeskError::Forbidden);
    }
    let previous_owner = match (&conversation.status, &conversation.owner) {
        (ConversationStatus::Active, Some(owner)) if *owner == actor.id => return Ok(()),
        (ConversationStatus::Active, Some(owner)) if !force => {
            return Err(DeskError::AlreadyTaken {
                owner: owner.clone(),
            })
        }
        (ConversationStatus::Active, Some(owner)) => Some(owner.clone()),
        _ => None,
    };
    // Their own offer, or their place in a conference, already counts towards their load.
    let already_held = conversation.offered_to.as_ref() == Some(&actor.id)
        || conversation.participants.contains(&actor.id);
    if let Some(offered) = conversation.offered_to.as_ref().filter(|o| **o != actor.id) {
        draft.remove_load(offered);
    }
    if !already_held {
        draft.add_load(&actor.id)?;
    }
    if let Some(previous) = &previous_owner {
        draft.remove_load(previous);
        draft.system_message(format!(
            "{} took over the conversation",
            draft.agent_name(&actor.id)
        ));
    }
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Active;
    c.owner = Some(actor.id.clone());
    c.participants
        .retain(|p| Some(p) != previous_owner.as_ref());
    if !c.participants.contains(&actor.id) {
        c.participants.insert(0, actor.id.clone());
    }
    c.offered_to = None;
    c.offered_at = None;
    if c.invited.as_ref() == Some(&actor.id) {
        // Taking over answers the invitation too.
        c.invited = None;
    }
    if c.handling_started_at.is_none() || conversation.status == ConversationStatus::Unanswered {
        c.handling_started_at = Some(ctx.now);
    }
    draft.events.push(DomainEvent::ConversationTaken {
        conversation_id: conversation.id,
        agent: actor.id.clone(),
        queue: conversation.queue.clone(),
        previous_owner,
    });
    Ok(())
}

/// What an agent sends: text, or a file already checked by content
/// ([`crate::media::check_file`]), kept at `attachment.key` and handed to
/// WhatsApp as `attachment.media_id`. There is no way to send a file by a
/// URL an agent names: nothing fetches an agent's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    File {
        kind: FileKind,
        attachment: Attachment,
    },
}

/// Checks what an agent wants to send, before anything else happens.
pub fn validate_outgoing(outgoing: &Outgoing) -> Result<MessageContent, DeskError> {
    match outgoing {
        Outgoing::Text(text) => {
            if text.trim().is_empty() {
                return Err(DeskError::Invalid("text must not be empty".into()));
            }
            let chars = text.chars().count();
            if chars > MAX_TEXT_CHARS {
                return Err(DeskError::Invalid(format!(
                    "text is {chars} characters; the limit is {MAX_TEXT_CHARS}"
                )));
            }
            Ok(MessageContent::Text { text: text.clone() })
        }
        Outgoing::File { kind, attachment } => {
            if attachment.key.is_none() || attachment.media_id.is_none() {
                return Err(DeskError::Invalid(
                    "an attachment is sent from an upload (POST /uploads)".into(),
                ));
            }
            if let Some(caption) = &attachment.caption {
                let chars = caption.chars().count();
                if chars > MAX_CAPTION_CHARS {
                    return Err(DeskError::Invalid(format!(
                        "the caption is {chars} characters; the limit is {MAX_CAPTION_CHARS}"
                    )));
                }
            }
            let attachment = attachment.clone();
            Ok(match kind {
                FileKind::Image => MessageContent::Image { attachment },
                FileKind::Video => MessageContent::Video { attachment },
                FileKind::Document => MessageContent::Document { attachment },
            })
        }
    }
}

/// An agent sends a message. Sending to an unanswered conversation takes it;
/// the agent who reopened a conversation may follow up at once, inside the
/// window, without waiting for the customer's reply.
/// Whether deciding `actor`'s message to `conversation` needs its customer
/// read. Not when they own it (or are in its conference) and it is active or
/// reopened, and it keeps the customer's window
/// ([`Conversation::customer_window`]): the message then changes neither its
/// status nor its owner, so nothing of the customer but the window is used,
/// and the window is the conversation's copy. A message that takes or reopens
/// the conversation, or one to a conversation stored without the copy,
/// reads the customer.
pub fn send_needs_customer(conversation: &Conversation, actor: &AgentId) -> bool {
    let own = match conversation.status {
        ConversationStatus::Active => {
            conversation.owner.as_ref() == Some(actor) || conversation.participants.contains(actor)
        }
        ConversationStatus::Reopened => conversation.owner.as_ref() == Some(actor),
        _ => false,
    };
    !own || conversation.customer_window.is_none()
}

/// Whether the customer's window is open now: the customer's own when it was
/// read, else the conversation's copy of it ([`send_needs_customer`]).
fn window_is_open(ctx: &DeskContext<'_>) -> bool {
    match ctx.customer {
        Some(customer) => customer.window_is_open(ctx.now),
        None => ctx
            .conversation
            .customer_window
            .is_some_and(|window| window.is_open(ctx.now)),
    }
}

pub fn send(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    content: MessageContent,
) -> Result<DeskDecision, DeskError> {
    let mut draft = Draft::new(ctx);
    send_into(&mut draft, actor, content)?;
    Ok(draft.finish())
}

/// Adds an agent's message to `draft`, from the state the draft has reached
/// (a reopen in the same decision comes first).
fn send_into(
    draft: &mut Draft<'_>,
    actor: &Actor,
    content: MessageContent,
) -> Result<(), DeskError> {
    let ctx = draft.ctx;
    let conversation = draft.conversation.clone();
    require_status(
        &conversation,
        &[
            ConversationStatus::Unanswered,
            ConversationStatus::Active,
            ConversationStatus::Reopened,
        ],
    )?;
    match (&conversation.status, &conversation.owner) {
        (ConversationStatus::Active | ConversationStatus::Reopened, Some(owner))
            if *owner == actor.id => {}
        (ConversationStatus::Active, _) if conversation.participants.contains(&actor.id) => {}
        (ConversationStatus::Active | ConversationStatus::Reopened, Some(owner)) => {
            return Err(DeskError::AlreadyTaken {
                owner: owner.clone(),
            })
        }
        (ConversationStatus::Reopened, None) => {
            return Err(DeskError::InvalidState(conversation.status))
        }
        _ => take_into(draft, actor, false)?,
    }
    if !window_is_open(ctx) {
        return Err(DeskError::WindowClosed);
    }
    let message = Message {
        id: MessageId::generate(),
        conversation_id: conversation.id,
        direction: Direction::Outbound,
        content,
        author: Some(actor.id.to_string()),
        at: ctx.now,
        status: Some(crate::DeliveryStatus::Pending),
        error: None,
        wamid: None,
    };
    let first_reply = conversation.unanswered_since.is_some();
    let response_seconds = conversation
        .unanswered_since
        .map(|since| (ctx.now - since).num_seconds().max(0));
    draft.conversation.unanswered_since = None;
    draft.conversation.answered = true;
    draft.events.push(DomainEvent::AgentReplied {
        conversation_id: conversation.id,
        agent: actor.id.clone(),
        queue: conversation.queue.clone(),
        channel: conversation.customer.phone_number_id.clone(),
        message_id: message.id,
        response_seconds,
        first_reply,
    });
    draft.messages.push(message);
    Ok(())
}

/// An internal note: supervisors' tip-off, never sent to the customer.
pub fn note(ctx: &DeskContext<'_>, actor: &Actor, text: &str) -> Result<DeskDecision, DeskError> {
    if !actor.role.oversees() {
        return Err(DeskError::Forbidden);
    }
    validate_outgoing(&Outgoing::Text(text.to_owned()))?;
    let mut draft = Draft::new(ctx);
    draft.messages.push(Message {
        id: MessageId::generate(),
        conversation_id: ctx.conversation.id,
        direction: Direction::Note,
        content: MessageContent::Text {
            text: text.to_owned(),
        },
        author: Some(actor.id.to_string()),
        at: ctx.now,
        status: None,
        error: None,
        wamid: None,
    });
    Ok(draft.finish())
}

pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueId),
}

/// The owner hands the conversation to an agent or a queue and goes to wrap-up.
/// An agent target gets an offer if they can take one; otherwise, or if they
/// let it time out, the conversation waits in the queue: never lost.
pub fn transfer(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    target: &TransferTarget,
) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Active])?;
    require_owner(conversation, actor)?;
    let mut draft = Draft::new(ctx);
    let (to_agent, to_queue) = match target {
        TransferTarget::Queue(queue) => (None, queue.clone()),
        TransferTarget::Agent(agent) => {
            if *agent == actor.id {
                return Err(DeskError::Invalid("cannot transfer to yourself".into()));
            }
            let target = ctx.agents.get(agent).ok_or(DeskError::NotFound)?;
            let queue = if target.serves(&conversation.queue) {
                conversation.queue.clone()
            } else {
                target
                    .queues
                    .first()
                    .cloned()
                    .unwrap_or_else(|| conversation.queue.clone())
            };
            (Some(agent.clone()), queue)
        }
    };
    // Everyone in the conversation leaves and owes a wrap-up.
    for agent in conversation.participants.clone() {
        draft.remove_load(&agent);
        if !draft.conversation.pending_wrap_up.contains(&agent) {
            draft.conversation.pending_wrap_up.push(agent);
        }
    }
    let c = &mut draft.conversation;
    c.invited = None;
    c.status = ConversationStatus::Unanswered;
    c.owner = None;
    c.participants.clear();
    c.queue = to_queue.clone();
    c.queued_at = Some(ctx.now);
    c.handling_started_at = None;
    match to_agent.as_ref().and_then(|id| ctx.agents.get(id)) {
        Some(target) if target.can_be_offered(&to_queue) => {
            let id = target.id.clone();
            draft.add_load(&id)?;
            draft.conversation.offered_to = Some(id.clone());
            draft.conversation.offered_at = Some(ctx.now);
            draft.arm_offer_timeout = Some(OfferTimeout {
                conversation_id: conversation.id,
                agent: id.clone(),
                offered_at: ctx.now,
                due_at: ctx.now,
            });
            draft.events.push(DomainEvent::ConversationOffered {
                conversation_id: conversation.id,
                agent: id,
                queue: to_queue.clone(),
            });
        }
        _ => draft.needs_routing = true,
    }
    draft.system_message(format!(
        "{} transferred the conversation",
        draft.agent_name(&actor.id)
    ));
    draft.events.push(DomainEvent::ConversationTransferred {
        conversation_id: conversation.id,
        from: actor.id.clone(),
        to_agent,
        to_queue,
    });
    Ok(draft.finish())
}

pub fn conference_invite(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    guest: &AgentId,
) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Active])?;
    require_owner(conversation, actor)?;
    if conversation.participants.contains(guest) || *guest == actor.id {
        return Err(DeskError::Invalid(
            "that agent is already in the conversation".into(),
        ));
    }
    if conversation.invited.is_some() {
        return Err(DeskError::Invalid(
            "a conference invitation is already pending".into(),
        ));
    }
    if !ctx.agents.contains_key(guest) {
        return Err(DeskError::NotFound);
    }
    let mut draft = Draft::new(ctx);
    draft.conversation.invited = Some(guest.clone());
    draft.events.push(DomainEvent::ConferenceInvited {
        conversation_id: conversation.id,
        owner: actor.id.clone(),
        guest: guest.clone(),
    });
    Ok(draft.finish())
}

pub fn conference_accept(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    if conversation.invited.as_ref() != Some(&actor.id) {
        return Err(DeskError::NotOffered);
    }
    require_status(conversation, &[ConversationStatus::Active])?;
    if conversation.participants.contains(&actor.id) {
        return Err(DeskError::Invalid(
            "you are already in the conversation".into(),
        ));
    }
    let mut draft = Draft::new(ctx);
    draft.add_load(&actor.id)?;
    draft.conversation.invited = None;
    draft.conversation.participants.push(actor.id.clone());
    draft
        .conversation
        .pending_wrap_up
        .retain(|a| *a != actor.id);
    draft.system_message(format!(
        "{} joined the conversation",
        draft.agent_name(&actor.id)
    ));
    draft.events.push(DomainEvent::ConferenceJoined {
        conversation_id: conversation.id,
        guest: actor.id.clone(),
    });
    Ok(draft.finish())
}

/// A guest leaves the conference; they owe a wrap-up.
pub fn conference_exit(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Active])?;
    if conversation.owner.as_ref() == Some(&actor.id) {
        return Err(DeskError::Invalid(
            "the owner ends the conference instead".into(),
        ));
    }
    if !conversation.participants.contains(&actor.id) {
        return Err(DeskError::Forbidden);
    }
    let mut draft = Draft::new(ctx);
    leave(&mut draft, &actor.id);
    Ok(draft.finish())
}

fn leave(draft: &mut Draft<'_>, guest: &AgentId) {
    draft.remove_load(guest);
    draft.conversation.participants.retain(|p| p != guest);
    if !draft.conversation.pending_wrap_up.contains(guest) {
        draft.conversation.pending_wrap_up.push(guest.clone());
    }
    draft.system_message(format!("{} left the conversation", draft.agent_name(guest)));
    draft.events.push(DomainEvent::ConferenceLeft {
        conversation_id: draft.conversation.id,
        guest: guest.clone(),
    });
}

/// The owner ends the conference: every guest leaves and wraps up.
pub fn conference_end(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Active])?;
    require_owner(conversation, actor)?;
    let guests: Vec<_> = conversation
        .participants
        .iter()
        .filter(|p| Some(*p) != conversation.owner.as_ref())
        .cloned()
        .collect();
    if guests.is_empty() && conversation.invited.is_none() {
        return Err(DeskError::Invalid("there is no conference to end".into()));
    }
    let mut draft = Draft::new(ctx);
    draft.conversation.invited = None;
    for guest in &guests {
        leave(&mut draft, guest);
    }
    Ok(draft.finish())
}

/// The owner ends the conversation: it waits for their wrap-up reason.
pub fn end(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Active])?;
    require_owner(conversation, actor)?;
    let mut draft = Draft::new(ctx);
    for participant in conversation.participants.clone() {
        draft.remove_load(&participant);
        if participant != actor.id && !draft.conversation.pending_wrap_up.contains(&participant) {
            draft.conversation.pending_wrap_up.push(participant);
        }
    }
    if !conversation.participants.contains(&actor.id) {
        draft.remove_load(&actor.id);
    }
    draft.conversation.participants.retain(|p| *p == actor.id);
    draft.conversation.invited = None;
    draft.conversation.status = ConversationStatus::WrapUp;
    draft.events.push(DomainEvent::ConversationEnded {
        conversation_id: conversation.id,
        agent: actor.id.clone(),
        queue: conversation.queue.clone(),
    });
    Ok(draft.finish())
}

/// A wrap-up reason from the configured list. The owner's finishes the
/// conversation; an agent who left by transfer or conference only clears their part.
pub fn wrap_up(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    reason: &str,
    reasons: &[String],
) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    if !reasons.iter().any(|r| r == reason) {
        return Err(DeskError::Invalid(format!(
            "unknown wrap-up reason; configured reasons: {}",
            reasons.join(", ")
        )));
    }
    let mut draft = Draft::new(ctx);
    if conversation.pending_wrap_up.contains(&actor.id) {
        draft
            .conversation
            .pending_wrap_up
            .retain(|a| *a != actor.id);
        return Ok(draft.finish());
    }
    require_status(conversation, &[ConversationStatus::WrapUp])?;
    require_owner(conversation, actor)?;
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Finished;
    c.wrap_up_reason = Some(reason.to_owned());
    let handling_seconds = c
        .handling_started_at
        .map(|start| (ctx.now - start).num_seconds().max(0));
    draft.events.push(DomainEvent::ConversationFinished {
        conversation_id: conversation.id,
        customer: conversation.customer.clone(),
        agent: actor.id.clone(),
        queue: conversation.queue.clone(),
        reason: reason.to_owned(),
        handling_seconds,
    });
    Ok(draft.finish())
}

/// The owner clears a finished conversation from their archive.
pub fn done(ctx: &DeskContext<'_>, actor: &Actor) -> Result<DeskDecision, DeskError> {
    let conversation = ctx.conversation;
    require_status(conversation, &[ConversationStatus::Finished])?;
    require_owner(conversation, actor)?;
    let mut draft = Draft::new(ctx);
    draft.conversation.done = true;
    Ok(draft.finish())
}

/// An agent changes their own state. Only `available` and `not_ready` may be
/// chosen; leaving `rona` is the agent's own manual change.
pub fn change_state(
    agent: &Agent,
    state: AgentState,
    now: Timestamp,
) -> Result<(AgentChange, EventEnvelope), DeskError> {
    if state == AgentState::Rona {
        return Err(DeskError::Invalid(
            "state must be available or not_ready".into(),
        ));
    }
    let mut next = agent.clone();
    next.state = state;
    if next.load == 0 {
        next.idle_since = now;
    }
    let change = AgentChange::new(Some(agent), next);
    let event = EventEnvelope::for_change(
        DomainEvent::AgentStateChanged {
            agent: agent.id.clone(),
            state,
        },
        &agent.id,
        change.agent.version,
        now,
    );
    Ok((change, event))
}

/// Who routing offers a conversation to: the customer's assigned agent if they
/// can take it, else available agents of the queue, longest idle first.
pub fn routing_candidates<'a>(
    conversation: &Conversation,
    assigned: Option<&AgentId>,
    agents: impl IntoIterator<Item = &'a Agent>,
) -> Vec<AgentId> {
    let mut candidates: Vec<&Agent> = agents
        .into_iter()
        .filter(|a| a.can_be_offered(&conversation.queue))
        .collect();
    candidates.sort_by_key(|a| (Some(&a.id) != assigned, a.idle_since, a.id.clone()));
    candidates.into_iter().map(|a| a.id.clone()).collect()
}

/// A bot hands a `bot` conversation over to a queue.
pub fn handoff(
    ctx: &DeskContext<'_>,
    actor: &Actor,
    queue: &QueueId,
) -> Result<DeskDecision, DeskError> {
    if actor.role != Role::Bot {
        return Err(DeskError::Forbidden);
    }
    require_status(ctx.conversation, &[ConversationStatus::Bot])?;
    let mut draft = Draft::new(ctx);
    let c = &mut draft.conversation;
    c.status = ConversationStatus::Unanswered;
    c.queue = queue.clone();
    c.queued_at = Some(ctx.now);
    draft.needs_routing = true;
    Ok(draft.finish())
}

mod delivery;
mod reopen;
mod routing;
pub use delivery::{
    record_failed_send, record_sent, reopen_message_unsent, FailedSend, OnRetry, SendFailure,
    REENGAGEMENT_TITLE, REOPEN_MESSAGE_UNSENT_TITLE, UNAVAILABLE_TITLE,
};
pub use reopen::{
    archive_actions, end_for_erasure, end_for_opt_out, may_resume, push, reopen, reopen_and_send,
    resume_push, resume_reopen, send_or_reopen, send_reopens, Resumption, Unfinished,
    SEND_LEASE_SECONDS,
};
pub use routing::{awaits_offer, next_for_agent, route};

#[cfg(test)]
mod tests;
