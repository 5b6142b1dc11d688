//! A customer's message arrives.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::desk::{self, AgentChange, DeskContext, DeskDecision, DeskError, OfferTimeout};
use crate::{
    Agent, AgentId, Channel, Conversation, ConversationId, ConversationStatus, Customer,
    CustomerKey, Direction, DomainEvent, EventEnvelope, ExpectedVersion, LiveSession, Message,
    MessageContent, MessageId, Origin, Timestamp, Wamid, Window,
};

/// A customer message as WhatsApp delivered it, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub wamid: Wamid,
    pub customer: CustomerKey,
    pub profile_name: Option<String>,
    pub display_phone_number: String,
    /// When the customer sent it (WhatsApp's `timestamp`).
    pub sent_at: Timestamp,
    pub content: MessageContent,
}

/// What happens to the conversation the message lands in.
// A decision is made once per request and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationChange {
    /// No live session: a new conversation starts with this message.
    Started(Conversation),
    /// The message joins the live session.
    Continued {
        id: ConversationId,
        /// The status it had when decided; the write is conditional on it.
        expected_status: ConversationStatus,
        status: ConversationStatus,
        /// Set when a reopened conversation becomes active with its reopening agent.
        owner: Option<AgentId>,
        handling_started_at: Option<Timestamp>,
        /// When the customer wrote: `unanswered_since` where that is not already set.
        received_at: Timestamp,
        /// The new `last_inbound_at`: `received_at` when it is the customer's
        /// latest message; `None` for a late one (a retried webhook), which
        /// leaves it, so it never moves back.
        last_inbound_at: Option<Timestamp>,
        /// When the change is made: the new `updated_at` (a desk decision
        /// sets its own time too, so the time a customer wrote could be
        /// earlier than the last change).
        changed_at: Timestamp,
        /// The customer's window as this message leaves it: the
        /// conversation's copy ([`Conversation::customer_window`]).
        customer_window: Option<Window>,
    },
}

impl ConversationChange {
    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Self::Started(conversation) => conversation.id,
            Self::Continued { id, .. } => *id,
        }
    }

    pub fn status(&self) -> ConversationStatus {
        match self {
            Self::Started(conversation) => conversation.status,
            Self::Continued { status, .. } => *status,
        }
    }

    /// A continued conversation as the change leaves it: the one definition
    /// of the update, which the embedded store applies and the DynamoDB store
    /// writes as one update expression (the store contract suite holds the
    /// two to it). The caller has checked `expected_status`. A started
    /// conversation is written whole.
    pub fn apply(&self, conversation: &mut Conversation) {
        let Self::Continued {
            status,
            owner,
            handling_started_at,
            received_at,
            last_inbound_at,
            changed_at,
            customer_window,
            ..
        } = self
        else {
            return;
        };
        conversation.status = *status;
        if let Some(owner) = owner {
            conversation.owner = Some(owner.clone());
            conversation.participants = vec![owner.clone()];
        }
        if handling_started_at.is_some() {
            conversation.handling_started_at = *handling_started_at;
        }
        if last_inbound_at.is_some() {
            conversation.last_inbound_at = *last_inbound_at;
        }
        conversation.unanswered_since.get_or_insert(*received_at);
        conversation.updated_at = *changed_at;
        if customer_window.is_some() {
            conversation.customer_window = *customer_window;
        }
        conversation.version += 1;
    }
}

/// Everything one inbound message changes, to be written atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundDecision {
    /// The customer's new state (its `version` already bumped).
    pub customer: Customer,
    /// The version the stored customer must still have.
    pub expected_customer_version: ExpectedVersion,
    pub conversation: ConversationChange,
    pub message: Message,
    /// Arm a window schedule for this expiry (none is armed for a future time).
    pub arm_window_at: Option<Timestamp>,
    /// The message's events (an offer made with it has its own:
    /// [`StartOffer::events`]).
    pub events: Vec<EventEnvelope>,
    /// A message to send the customer at once (chat disabled on the channel).
    pub auto_reply: Option<String>,
    /// The agent whose load grows because the conversation became active with
    /// them (a reply to a reopen; allowed above their limit).
    pub agent_load: Option<AgentId>,
    /// The offer of the conversation this message starts, made in the same
    /// commit ([`InboundDecision::offered`]).
    pub offer: Option<StartOffer>,
}

/// What an offer made with the message that starts the conversation writes
/// besides the conversation (which is stored already offered): the offered
/// agent, on the version read from the directory as a desk commit writes
/// agents (another offer that took them first fails the commit), the offer's
/// time-out, armed before the commit, and its events. They are kept apart
/// from the message's: a store may carry them on another item of the same
/// commit (DynamoDB puts them on the message's item, so the wamid item stays
/// within one write unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOffer {
    pub agent: AgentChange,
    pub timeout: OfferTimeout,
    pub events: Vec<EventEnvelope>,
}

impl InboundDecision {
    /// Whether the message is a `#STOP` whose acknowledgement waits until no
    /// reopen or push is sending ([`Customer::send_lease_held`]), so nothing
    /// goes out after it (`docs/product.md#6-opting-out-with-stop`).
    pub fn waits_for_send_lease(&self) -> bool {
        self.message.content.is_stop_request()
    }

    /// The conversation this message starts, when routing has to offer it
    /// ([`desk::awaits_offer`]): only then is the agent directory read.
    pub fn awaiting_offer(&self) -> Option<&Conversation> {
        match &self.conversation {
            ConversationChange::Started(conversation) if desk::awaits_offer(conversation) => {
                Some(conversation)
            }
            _ => None,
        }
    }

    /// Routing's decision on the conversation this message starts, as if it
    /// were stored (`docs/product.md#41-statuses-and-routing`): over
    /// `directory` (every agent) and the customer as this message leaves
    /// them. `Ok(None)` when it awaits no offer or nobody can take it now.
    pub fn route_started(
        &self,
        directory: &BTreeMap<AgentId, Agent>,
        now: Timestamp,
    ) -> Result<Option<DeskDecision>, DeskError> {
        let Some(conversation) = self.awaiting_offer() else {
            return Ok(None);
        };
        desk::route(&DeskContext {
            conversation,
            agents: directory,
            customer: Some(&self.customer),
            now,
        })
    }

    /// This decision with `offer` (from [`InboundDecision::route_started`])
    /// folded in, so one commit stores the message and the offer: the
    /// conversation is created already offered (its links name the offered
    /// agent), and the agent's change, the time-out and the offer's events
    /// ride along ([`StartOffer`]). The conversation is still written once,
    /// so it keeps its first version (`crate::version`) and the offer's
    /// events are keyed to it. An offer changes neither the status nor the
    /// owner, so the customer's mirror stays as this decision sets it. An
    /// offer of another conversation leaves the decision as it is.
    pub fn offered(mut self, offer: DeskDecision) -> Self {
        let ConversationChange::Started(started) = &self.conversation else {
            return self;
        };
        let (Some(agent), Some(timeout)) = (
            offer.conversation.offered_to.clone(),
            offer.arm_offer_timeout.clone(),
        ) else {
            return self;
        };
        if offer.before.id != started.id {
            return self;
        }
        let Some(agent) = offer.agents.into_iter().find(|c| c.agent.id == agent) else {
            return self;
        };
        let version = started.version;
        let mut conversation = offer.conversation;
        conversation.version = version;
        let events = offer
            .events
            .into_iter()
            .map(|envelope| {
                EventEnvelope::for_change(envelope.event, conversation.id, version, envelope.at)
            })
            .collect();
        self.conversation = ConversationChange::Started(conversation);
        self.offer = Some(StartOffer {
            agent,
            timeout,
            events,
        });
        self
    }
}

/// What a customer hears when the channel's chat is disabled.
pub const CHAT_UNAVAILABLE_REPLY: &str =
    "Sorry, chat is not available on this number right now. Your message has been kept.";

/// Decides what a customer message does, given the stored customer (if any).
pub fn decide_inbound(
    customer: Option<&Customer>,
    channel: &Channel,
    msg: InboundMessage,
    now: Timestamp,
) -> InboundDecision {
    let expected_customer_version = ExpectedVersion::of(customer.map(|c| c.version));
    let mut next = customer
        .cloned()
        .unwrap_or_else(|| Customer::new(msg.customer.clone()));
    next.version = expected_customer_version.next();
    if msg.profile_name.is_some() {
        next.profile_name.clone_from(&msg.profile_name);
    }

    // A retried webhook can arrive long after the customer wrote; the window runs
    // from when they wrote, but never from the future.
    let received_at = msg.sent_at.min(now);
    // The conversation's last inbound time is never later than the customer's
    // (the window's): a message not earlier than that is the latest of both.
    let latest = next.window.is_none_or(|w| received_at >= w.last_inbound_at);
    let window = next.window.map_or_else(
        || Window::opened_by(received_at),
        |w| w.extended_by(received_at),
    );
    next.window = Some(window);

    // One schedule is enough: an armed one that fires early re-arms itself.
    let armed_for_future = next.armed_expiry.is_some_and(|at| at > now);
    let arm_window_at = if armed_for_future {
        None
    } else {
        let at = window.expires_at.max(now + Duration::minutes(1));
        next.armed_expiry = Some(at);
        Some(at)
    };

    let mut events = Vec::new();
    let stop = msg.content.is_stop_request();
    let conversation = match next.live.clone() {
        Some(live) => continue_live(
            &mut next,
            live,
            Received {
                at: received_at,
                latest,
                now,
            },
            stop,
        ),
        None => start_session(&mut next, channel, &msg, received_at),
    };
    let conversation_id = conversation.conversation_id();

    if let ConversationChange::Started(started) = &conversation {
        events.push(EventEnvelope::new(
            DomainEvent::ConversationStarted {
                conversation_id,
                customer: next.key.clone(),
                queue: started.queue.clone(),
                status: started.status,
                origin: started.origin,
                previous: started.previous,
            },
            now,
        ));
        if next.opt_out.is_opted_out() && !stop {
            // A conversation the customer starts on their own lifts their opt-out.
            next.opt_out.record_opt_in(now);
            events.push(EventEnvelope::new(
                DomainEvent::CustomerOptedIn {
                    customer: next.key.clone(),
                    wamid: msg.wamid.clone(),
                },
                now,
            ));
        }
    }
    if let ConversationChange::Continued {
        expected_status: ConversationStatus::Reopened,
        owner: Some(agent),
        ..
    } = &conversation
    {
        events.push(EventEnvelope::new(
            DomainEvent::ReopenedConversationReplied {
                conversation_id,
                customer: next.key.clone(),
                agent: agent.clone(),
                queue: channel.default_queue.clone(),
            },
            now,
        ));
    }

    let message = Message {
        id: MessageId::derived_from(msg.wamid.as_str()),
        conversation_id,
        direction: Direction::Inbound,
        content: msg.content,
        author: None,
        at: received_at,
        status: None,
        error: None,
        wamid: Some(msg.wamid.clone()),
    };
    let (queue, owner) = match &conversation {
        ConversationChange::Started(c) => (c.queue.clone(), c.owner.clone()),
        ConversationChange::Continued { owner, .. } => {
            (channel.default_queue.clone(), owner.clone())
        }
    };
    events.push(EventEnvelope::new(
        DomainEvent::MessageReceived {
            conversation_id,
            customer: next.key.clone(),
            message_id: message.id,
            wamid: msg.wamid.clone(),
            message_type: message.content.type_name().to_owned(),
            queue,
            owner,
            conversation_status: conversation.status(),
            media_id: message
                .content
                .attachment()
                .and_then(|a| a.media_id.clone()),
        },
        now,
    ));

    if message.content.is_stop_request() {
        next.opt_out.record_opt_out(now);
        // It counts for whoever owned the live session when it came (none if
        // it was queued or with the bot), read from the mirror: no extra read.
        let live = customer.and_then(|c| c.live.as_ref());
        events.push(EventEnvelope::new(
            DomainEvent::CustomerOptedOut {
                customer: next.key.clone(),
                wamid: msg.wamid,
                conversation_id: Some(conversation_id),
                session_status: live.map(|l| l.status),
                owner: live.and_then(|l| l.owner.clone()),
            },
            now,
        ));
    }

    let auto_reply = match &conversation {
        ConversationChange::Started(c) if c.status == ConversationStatus::Finished => {
            Some(CHAT_UNAVAILABLE_REPLY.to_owned())
        }
        _ => None,
    };
    let agent_load = match &conversation {
        ConversationChange::Continued {
            expected_status: ConversationStatus::Reopened,
            status: ConversationStatus::Active,
            owner,
            ..
        } => owner.clone(),
        _ => None,
    };
    // The reply lifts the send lease: nothing of the reopen is still to go out.
    if agent_load.is_some() {
        next.send_lease_until = None;
    }
    InboundDecision {
        customer: next,
        expected_customer_version,
        conversation,
        message,
        arm_window_at,
        events,
        auto_reply,
        agent_load,
        offer: None,
    }
}

/// The status a conversation starts in on `channel`. With chat disabled the
/// message is kept in a conversation that goes straight to the archive:
/// nobody is offered it, nothing is queued.
fn session_status(channel: &Channel) -> ConversationStatus {
    if !channel.chat_enabled {
        ConversationStatus::Finished
    } else if channel.bot {
        ConversationStatus::Bot
    } else {
        ConversationStatus::Unanswered
    }
}

/// Whether a message from `customer` (`None`: never stored) on `channel`
/// starts a conversation routing has to offer
/// ([`InboundDecision::awaiting_offer`]), told without deciding the message:
/// the customer has no live session and the channel queues new conversations.
/// The webhook reads the agent directory only then.
pub fn starts_awaiting_offer(customer: Option<&Customer>, channel: &Channel) -> bool {
    customer.is_none_or(|c| c.live.is_none())
        && session_status(channel) == ConversationStatus::Unanswered
}

fn start_session(
    customer: &mut Customer,
    channel: &Channel,
    msg: &InboundMessage,
    received_at: Timestamp,
) -> ConversationChange {
    let status = session_status(channel);
    let conversation = Conversation {
        id: ConversationId::derived_from(&format!("conversation/{}", msg.wamid)),
        customer: customer.key.clone(),
        customer_name: customer.profile_name.clone(),
        display_phone_number: msg.display_phone_number.clone(),
        status,
        queue: channel.default_queue.clone(),
        owner: None,
        participants: Vec::new(),
        origin: Origin::Customer,
        reopened_by: None,
        previous: customer.last_conversation,
        created_at: received_at,
        updated_at: received_at,
        last_inbound_at: Some(received_at),
        unanswered_since: Some(received_at),
        handling_started_at: None,
        wrap_up_reason: None,
        done: false,
        offered_to: None,
        offered_at: None,
        queued_at: (status == ConversationStatus::Unanswered).then_some(received_at),
        invited: None,
        pending_wrap_up: Vec::new(),
        answered: false,
        finished_at: (status == ConversationStatus::Finished).then_some(received_at),
        retention_days: Some(channel.retention_days),
        customer_window: customer.window,
        version: 1,
    };
    customer.live = LiveSession::of(&conversation);
    customer.last_conversation = Some(conversation.id);
    ConversationChange::Started(conversation)
}

/// When a message joining a live session was written and handled, and whether
/// it is the customer's latest.
struct Received {
    at: Timestamp,
    latest: bool,
    now: Timestamp,
}

fn continue_live(
    customer: &mut Customer,
    live: LiveSession,
    received: Received,
    stop: bool,
) -> ConversationChange {
    let received_at = received.at;
    let last_inbound_at = received.latest.then_some(received_at);
    // `#STOP` is no reply: a reopened conversation stays reopened, and the
    // opt-out that follows counts it as declined.
    if live.status == ConversationStatus::Reopened && !stop {
        // The customer answered the agent who reopened: active with them at once.
        if let Some(agent) = reopening_agent(customer) {
            customer.live = Some(LiveSession {
                conversation_id: live.conversation_id,
                status: ConversationStatus::Active,
                owner: Some(agent.clone()),
            });
            return ConversationChange::Continued {
                id: live.conversation_id,
                expected_status: live.status,
                status: ConversationStatus::Active,
                owner: Some(agent),
                handling_started_at: Some(received_at),
                received_at,
                last_inbound_at,
                changed_at: received.now,
                customer_window: customer.window,
            };
        }
    }
    ConversationChange::Continued {
        id: live.conversation_id,
        expected_status: live.status,
        status: live.status,
        owner: None,
        handling_started_at: None,
        received_at,
        last_inbound_at,
        changed_at: received.now,
        customer_window: customer.window,
    }
}

/// Reopening records the agent as the customer's assigned agent
/// (`docs/product.md#53-when-the-customer-answers`).
fn reopening_agent(customer: &Customer) -> Option<AgentId> {
    customer.assigned_agent.clone()
}

#[cfg(test)]
mod tests;
