//! A customer's message arrives from the webhook.

use crate::Ports;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use futures_util::stream::{self, StreamExt};
use tracing::Instrument;
use wadesk_domain::{
    decide_inbound, starts_awaiting_offer, Agent, AgentId, Channel, Clock, ConversationId,
    ConversationStatus, Customer, CustomerKey, InboundDecision, InboundMessage, WindowFire,
};

use crate::error::{retry_on_conflict, Attempt};
use crate::{
    App, AppError, CommitError, ConversationStore, DeskStore, InboundContext, TimerScheduler,
    WhatsAppClient,
};

/// How many customers of one webhook batch are handled at once: a 100-message
/// batch from 100 customers takes 100 / 25 = 4 sequential transactions, and the
/// table sees at most 25 writes in flight from one invocation.
pub const CONCURRENT_CUSTOMERS: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    Stored {
        conversation_id: ConversationId,
        status: ConversationStatus,
        /// The message started a new conversation.
        started: bool,
        /// The commit that stored it offered the conversation it started.
        offered: bool,
    },
    /// Already stored by an earlier delivery: nothing changed. `started` is
    /// the conversation that delivery started, so what followed it (routing)
    /// can be done again if it was lost.
    Duplicate {
        started: Option<(ConversationId, ConversationStatus)>,
    },
}

impl InboundOutcome {
    /// The conversation this message (or its first delivery) started.
    pub fn started(&self) -> Option<(ConversationId, ConversationStatus)> {
        match *self {
            Self::Stored {
                conversation_id,
                status,
                started,
                ..
            } => started.then_some((conversation_id, status)),
            Self::Duplicate { started } => started,
        }
    }

    /// The conversation routing may still have to offer: one this message
    /// started unanswered and did not offer in the same commit, or one its
    /// first delivery started (whether that commit offered it is not
    /// recorded with the message: routing an offered conversation reads it
    /// and changes nothing).
    pub fn to_route(&self) -> Option<ConversationId> {
        let offered = matches!(self, Self::Stored { offered: true, .. });
        match self.started() {
            Some((id, ConversationStatus::Unanswered)) if !offered => Some(id),
            _ => None,
        }
    }
}

/// The agent directory a batch's new conversations are offered from: read
/// once per batch, and kept as the batch's own offers leave it, so the next
/// new conversation does not expect an agent version already gone.
/// Customers run concurrently, so an offer can still be decided on a version
/// another customer's commit replaces: that commit fails on the agent, and
/// the message is stored without the offer (see [`receive_with`]).
struct Directory(Mutex<BTreeMap<AgentId, Agent>>);

impl Directory {
    fn offer(&self, decision: InboundDecision, now: wadesk_domain::Timestamp) -> InboundDecision {
        let directory = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match decision.route_started(&directory, now) {
            Ok(Some(offer)) => decision.offered(offer),
            Ok(None) => decision,
            // Routing only offers an agent it found who can take it; were it
            // to refuse, the conversation is routed after the commit.
            Err(error) => {
                tracing::warn!(%error, "no offer with the message; routing it after");
                decision
            }
        }
    }

    fn committed(&self, decision: &InboundDecision) {
        if let Some(offer) = &decision.offer {
            let agent = &offer.agent.agent;
            let mut directory = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if directory
                .get(&agent.id)
                .is_none_or(|a| a.version < agent.version)
            {
                directory.insert(agent.id.clone(), agent.clone());
            }
        }
    }
}

/// Stores one customer message: one read and one transaction when the
/// customer has a live session and an armed window, plus one Scheduler call
/// when the message opens a new window. Its events go in the same
/// transaction (the store's outbox): no request to the bus.
pub async fn receive_message<P>(
    app: &App<P>,
    msg: InboundMessage,
) -> Result<InboundOutcome, AppError>
where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    receive_with(app, msg, None, None)
        .await
        .map(|(outcome, _)| outcome)
}

/// Stores a webhook batch's messages: the customers and channels of the whole
/// batch read at once (one `BatchGetItem` of up to 100 keys), then each
/// customer's messages in the order they came, different customers
/// concurrently (at most [`CONCURRENT_CUSTOMERS`]). Answers each message's
/// outcome in the batch's order; a failed read of the batch fails it whole
/// (nothing was stored: WhatsApp redelivers it).
pub async fn receive_messages<P>(
    app: &App<P>,
    messages: Vec<InboundMessage>,
) -> Result<Vec<Result<InboundOutcome, AppError>>, AppError>
where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    let (groups, mut contexts) = read_batch(app, messages).await?;
    let runs = groups.into_iter().map(|(key, group)| {
        let context = contexts.remove(&key);
        receive_in_order(app, group, context, None)
    });
    Ok(collect_in_batch_order(runs).await)
}

/// The webhook's path: stores a batch as [`receive_messages`] does, and
/// offers each conversation a message starts in the transaction that stores
/// the message (`docs/product.md#41-statuses-and-routing`): the agent
/// directory is read once (one Query) before the commits, only when some
/// message would start a conversation that awaits an offer, and the offer
/// time-out is armed before its commit. No offer is made when nobody can take
/// the conversation, and none when the commit with it lost a race (the
/// message is then stored without it): [`InboundOutcome::to_route`] names
/// what routing still has to offer.
pub async fn receive_and_offer<P>(
    app: &App<P>,
    messages: Vec<InboundMessage>,
) -> Result<Vec<Result<InboundOutcome, AppError>>, AppError>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let (groups, mut contexts) = read_batch(app, messages).await?;
    // A customer's first message of the batch is the only one that can start
    // a conversation; what was read tells whether the directory is needed
    // (a later attempt that re-reads may differ: it is then stored without an
    // offer and routed after).
    let starts_one = groups.iter().any(|(key, group)| {
        let context = contexts.get(key);
        group.first().is_some_and(|(_, msg)| {
            let customer = context.and_then(|c| c.customer.as_ref());
            match context.and_then(|c| c.channel.as_ref()) {
                Some(channel) => starts_awaiting_offer(customer, channel),
                None => starts_awaiting_offer(customer, &channel_of(None, msg)),
            }
        })
    });
    let directory = if starts_one {
        let agents = app.store.list_agents().await?;
        Some(Directory(Mutex::new(
            agents.into_iter().map(|a| (a.id.clone(), a)).collect(),
        )))
    } else {
        None
    };
    let runs = groups.into_iter().map(|(key, group)| {
        let context = contexts.remove(&key);
        receive_in_order(app, group, context, directory.as_ref())
    });
    Ok(collect_in_batch_order(runs).await)
}

/// Each customer's messages, in order, with their place in the batch.
type CustomerRun = Vec<(usize, InboundMessage)>;

/// A batch grouped by customer, and what is stored of those customers and
/// their channels (one read for the batch).
async fn read_batch<P>(
    app: &App<P>,
    messages: Vec<InboundMessage>,
) -> Result<
    (
        Vec<(CustomerKey, CustomerRun)>,
        HashMap<CustomerKey, InboundContext>,
    ),
    AppError,
>
where
    P: Ports,
{
    let mut groups: Vec<(CustomerKey, CustomerRun)> = Vec::new();
    let mut group_of: HashMap<CustomerKey, usize> = HashMap::new();
    for (index, msg) in messages.into_iter().enumerate() {
        let group = *group_of.entry(msg.customer.clone()).or_insert_with(|| {
            groups.push((msg.customer.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[group].1.push((index, msg));
    }
    if groups.is_empty() {
        return Ok((groups, HashMap::new()));
    }
    let keys: Vec<CustomerKey> = groups.iter().map(|(key, _)| key.clone()).collect();
    let contexts = app.store.load_inbound_contexts(&keys).await?;
    Ok((groups, contexts))
}

/// Runs each customer's messages, different customers concurrently (at
/// most [`CONCURRENT_CUSTOMERS`]), and answers the outcomes in the batch's
/// order.
async fn collect_in_batch_order<F>(
    runs: impl Iterator<Item = F>,
) -> Vec<Result<InboundOutcome, AppError>>
where
    F: std::future::Future<Output = Vec<(usize, Result<InboundOutcome, AppError>)>>,
{
    let mut results: Vec<(usize, Result<InboundOutcome, AppError>)> = stream::iter(runs)
        .buffer_unordered(CONCURRENT_CUSTOMERS)
        .flat_map(stream::iter)
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// One customer's messages, one after the other: each starts from the
/// customer its predecessor stored (no second read), and a failure does not
/// stop the next (WhatsApp redelivers the batch; the stored ones are then
/// duplicates).
async fn receive_in_order<P>(
    app: &App<P>,
    group: CustomerRun,
    mut context: Option<InboundContext>,
    directory: Option<&Directory>,
) -> Vec<(usize, Result<InboundOutcome, AppError>)>
where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    let mut outcomes = Vec::with_capacity(group.len());
    for (index, msg) in group {
        let channel = context.as_ref().and_then(|c| c.channel.clone());
        match receive_with(app, msg, context.take(), directory).await {
            Ok((outcome, stored)) => {
                context = stored.map(|customer| InboundContext {
                    customer: Some(customer),
                    channel,
                });
                outcomes.push((index, Ok(outcome)));
            }
            Err(error) => outcomes.push((index, Err(error))),
        }
    }
    outcomes
}

/// The channel a message came on, or the defaults for an unconfigured one.
fn channel_of(channel: Option<Channel>, msg: &InboundMessage) -> Channel {
    channel.unwrap_or_else(|| {
        Channel::unconfigured(
            msg.customer.phone_number_id.clone(),
            msg.display_phone_number.clone(),
        )
    })
}

/// Stores one message, deciding the first attempt on `context` when given
/// (read already), else on a fresh read; answers the outcome and the customer
/// as stored by it (`None` when nothing was stored). With a `directory`, a
/// conversation the message starts is offered in the same commit. Once such
/// a commit fails on a concurrent change (most likely another offer took the
/// agent: the store does not say which condition failed), the message is
/// stored without the offer, as storing it must never wait on agent
/// contention, and routed after.
async fn receive_with<P>(
    app: &App<P>,
    msg: InboundMessage,
    mut context: Option<InboundContext>,
    directory: Option<&Directory>,
) -> Result<(InboundOutcome, Option<Customer>), AppError>
where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    let span = tracing::info_span!(
        "receive_message",
        wamid = %msg.wamid,
        conversation_id = tracing::field::Empty
    );
    async move {
        let msg = &msg;
        let offering = &AtomicBool::new(directory.is_some());
        retry_on_conflict(|attempt| {
            // The first attempt's context, when given; every later one reads.
            let given = context.take();
            async move {
                let context = match given {
                    Some(context) => context,
                    None => app.store.load_inbound_context(&msg.customer).await?,
                };
                if context.channel.is_none() {
                    tracing::warn!("message for an unconfigured channel; using defaults");
                }
                let channel = channel_of(context.channel, msg);
                let now = app.clock.now();
                let mut decision =
                    decide_inbound(context.customer.as_ref(), &channel, msg.clone(), now);
                if let Some(directory) = directory.filter(|_| offering.load(Ordering::Relaxed)) {
                    decision = directory.offer(decision, now);
                }
                let conversation_id = decision.conversation.conversation_id();
                tracing::Span::current()
                    .record("conversation_id", tracing::field::display(conversation_id));

                // Arm before committing: if the commit then fails, the retry finds no
                // armed expiry and arms the same (idempotent) schedule again.
                if let Some(armed_for) = decision.arm_window_at {
                    let fire = WindowFire {
                        customer: msg.customer.clone(),
                        armed_for,
                    };
                    app.timers.arm_window(&fire).await?;
                }
                // Likewise the offer's time-out: one that fires for an offer
                // that never committed finds nothing offered and does nothing.
                if let Some(offer) = decision.offer.as_mut() {
                    let timeout = &mut offer.timeout;
                    timeout.due_at = timeout.offered_at + app.offer_timeout;
                    app.timers.arm_offer(timeout).await?;
                }
                // The decision's events are committed with it (the store's outbox):
                // they exist if and only if the message is stored.
                match app.store.commit_inbound(&decision).await {
                    Ok(()) => {
                        if let Some(directory) = directory {
                            directory.committed(&decision);
                        }
                        if let Some(reply) = &decision.auto_reply {
                            send_auto_reply(app, msg, conversation_id, reply).await;
                        }
                        if decision.waits_for_send_lease() {
                            wait_for_send_lease(app, &msg.customer).await;
                        }
                        tracing::info!(
                            status = decision.conversation.status().as_str(),
                            "message stored"
                        );
                        let outcome = InboundOutcome::Stored {
                            conversation_id,
                            status: decision.conversation.status(),
                            started: matches!(
                                decision.conversation,
                                wadesk_domain::ConversationChange::Started(_)
                            ),
                            offered: decision.offer.is_some(),
                        };
                        Ok(Attempt::Done((outcome, Some(decision.customer))))
                    }
                    Err(CommitError::Duplicate { events }) => {
                        // The first delivery's events went into the outbox with it.
                        tracing::info!("duplicate delivery ignored");
                        let started = events.iter().find_map(|e| match &e.event {
                            wadesk_domain::DomainEvent::ConversationStarted {
                                conversation_id,
                                status,
                                ..
                            } => Some((*conversation_id, *status)),
                            _ => None,
                        });
                        Ok(Attempt::Done((InboundOutcome::Duplicate { started }, None)))
                    }
                    Err(CommitError::Conflict) if decision.offer.is_some() => {
                        tracing::info!(
                            attempt,
                            "message and offer not stored together; storing the message alone"
                        );
                        offering.store(false, Ordering::Relaxed);
                        Ok(Attempt::Again)
                    }
                    Err(CommitError::Conflict) => {
                        tracing::debug!(attempt, "customer changed concurrently; retrying");
                        Ok(Attempt::Again)
                    }
                    Err(CommitError::Store(error)) => Err(error.into()),
                }
            }
        })
        .await
    }
    .instrument(span)
    .await
}

/// Sends and records an automatic reply. A failure is logged: the customer's
/// message is stored either way.
async fn send_auto_reply<P>(
    app: &App<P>,
    msg: &InboundMessage,
    conversation_id: ConversationId,
    reply: &str,
) where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    let content = crate::OutboundContent::Text {
        body: reply.to_owned(),
    };
    let key = &msg.customer;
    match app
        .whatsapp
        .send(&key.phone_number_id, &key.wa_id, &content)
        .await
    {
        Ok(wamid) => {
            let message = wadesk_domain::Message::sent_automatically(
                &format!("auto-reply/{}", msg.wamid),
                conversation_id,
                reply,
                wamid,
                app.clock.now(),
            );
            match app.store.record_outbound(key, &message).await {
                // Its conversation finished when it started (chat disabled):
                // the reply takes its expiry too.
                Ok(()) => {
                    crate::protection::restamp(&app.events, conversation_id, app.clock.now()).await;
                }
                Err(error) => tracing::error!(%error, "automatic reply sent but not recorded"),
            }
        }
        Err(error) => tracing::error!(%error, "automatic reply not sent"),
    }
}

/// A `#STOP` is acknowledged only once no reopen or push is still sending to
/// the customer: from the acknowledgement on, nothing more goes out. The wait
/// is bounded by the lease (the sender's own time-out is shorter).
async fn wait_for_send_lease<P>(app: &App<P>, key: &wadesk_domain::CustomerKey)
where
    P: Ports,
{
    let started = std::time::Instant::now();
    let limit = std::time::Duration::from_secs(
        u64::try_from(wadesk_domain::desk::SEND_LEASE_SECONDS).unwrap_or(30),
    );
    while started.elapsed() < limit {
        match app.store.get_customer(key).await {
            Ok(Some(customer)) => {
                if !customer.send_lease_held(app.clock.now()) {
                    return;
                }
            }
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "could not read the send lease; waiting it out");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
