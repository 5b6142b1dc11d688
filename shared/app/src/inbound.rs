//! A customer's message arrives from the webhook.

use crate::Ports;
use std::collections::HashMap;

use futures_util::stream::{self, StreamExt};
use tracing::Instrument;
use wadesk_domain::{
    decide_inbound, Channel, Clock, ConversationId, ConversationStatus, Customer, CustomerKey,
    InboundMessage, WindowFire,
};

use crate::error::{retry_on_conflict, Attempt};
use crate::{
    App, AppError, CommitError, ConversationStore, InboundContext, TimerScheduler, WhatsAppClient,
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
            } => started.then_some((conversation_id, status)),
            Self::Duplicate { started } => started,
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
    receive_with(app, msg, None)
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
    let total = messages.len();
    // Each customer's messages, in order, with their place in the batch.
    let mut groups: Vec<(CustomerKey, Vec<(usize, InboundMessage)>)> = Vec::new();
    let mut group_of: HashMap<CustomerKey, usize> = HashMap::new();
    for (index, msg) in messages.into_iter().enumerate() {
        let group = *group_of.entry(msg.customer.clone()).or_insert_with(|| {
            groups.push((msg.customer.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[group].1.push((index, msg));
    }
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<CustomerKey> = groups.iter().map(|(key, _)| key.clone()).collect();
    let mut contexts = app.store.load_inbound_contexts(&keys).await?;
    let runs = groups.into_iter().map(|(key, group)| {
        let context = contexts.remove(&key);
        receive_in_order(app, group, context)
    });
    let mut results: Vec<(usize, Result<InboundOutcome, AppError>)> = stream::iter(runs)
        .buffer_unordered(CONCURRENT_CUSTOMERS)
        .flat_map(stream::iter)
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    debug_assert_eq!(results.len(), total);
    Ok(results.into_iter().map(|(_, outcome)| outcome).collect())
}

/// One customer's messages, one after the other: each starts from the
/// customer its predecessor stored (no second read), and a failure does not
/// stop the next (WhatsApp redelivers the batch; the stored ones are then
/// duplicates).
async fn receive_in_order<P>(
    app: &App<P>,
    group: Vec<(usize, InboundMessage)>,
    mut context: Option<InboundContext>,
) -> Vec<(usize, Result<InboundOutcome, AppError>)>
where
    P: Ports<WhatsApp: WhatsAppClient>,
{
    let mut outcomes = Vec::with_capacity(group.len());
    for (index, msg) in group {
        let channel = context.as_ref().and_then(|c| c.channel.clone());
        match receive_with(app, msg, context.take()).await {
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

/// Stores one message, deciding the first attempt on `context` when given
/// (read already), else on a fresh read; answers the outcome and the customer
/// as stored by it (`None` when nothing was stored).
async fn receive_with<P>(
    app: &App<P>,
    msg: InboundMessage,
    mut context: Option<InboundContext>,
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
        retry_on_conflict(|attempt| {
            // The first attempt's context, when given; every later one reads.
            let given = context.take();
            async move {
                let context = match given {
                    Some(context) => context,
                    None => app.store.load_inbound_context(&msg.customer).await?,
                };
                let channel = context.channel.unwrap_or_else(|| {
                    tracing::warn!("message for an unconfigured channel; using defaults");
                    Channel::unconfigured(
                        msg.customer.phone_number_id.clone(),
                        msg.display_phone_number.clone(),
                    )
                });
                let decision = decide_inbound(
                    context.customer.as_ref(),
                    &channel,
                    msg.clone(),
                    app.clock.now(),
                );
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
                // The decision's events are committed with it (the store's outbox):
                // they exist if and only if the message is stored.
                match app.store.commit_inbound(&decision).await {
                    Ok(()) => {
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
