//! The consequences of `#STOP` (spec 4.5), on the `CustomerOptedOut` event: the
//! live session ends, the customer gets exactly one confirmation.
//!
//! The opt-out itself was written with the `#STOP` message, in one transaction,
//! so reopens and pushes already fail; this only does what follows.

use wadesk_domain::{
    Clock, CustomerKey, DeliveryStatus, Direction, DomainEvent, EventEnvelope, Message,
    MessageContent, MessageId, OptOutConfirmation, Wamid,
};

use crate::desk::{end_for_opt_out, DeskFailure};
use crate::error::{backoff, MAX_ATTEMPTS};
use crate::{
    App, AppError, CommitError, DeskStore, EventPublisher, OutboundContent, TimerScheduler,
    WhatsAppClient,
};

/// What the customer is told once.
pub const OPT_OUT_CONFIRMATION: &str =
    "You have unsubscribed and will not receive further messages. Write to us any time to chat again.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutOutcome {
    Confirmed,
    /// Not an opt-out, already confirmed, or the customer opted back in.
    Ignored,
}

pub async fn handle_event<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    event: &EventEnvelope,
) -> Result<OptOutOutcome, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let DomainEvent::CustomerOptedOut {
        customer, wamid, ..
    } = &event.event
    else {
        return Ok(OptOutOutcome::Ignored);
    };
    let Some(current) = app.store.get_customer(customer).await? else {
        return Ok(OptOutOutcome::Ignored);
    };
    if !current.opt_out.is_opted_out() {
        return Ok(OptOutOutcome::Ignored);
    }
    if let Some(live) = current.live {
        end_for_opt_out(app, live.conversation_id).await?;
    }
    match claim_confirmation(app, customer, wamid).await? {
        Claim::AlreadySent => Ok(OptOutOutcome::Ignored),
        Claim::Claimed => {
            send_confirmation(app, customer).await?;
            mark_sent(app, customer, wamid).await?;
            Ok(OptOutOutcome::Confirmed)
        }
    }
}

enum Claim {
    Claimed,
    AlreadySent,
}

/// Records that this `#STOP`'s confirmation is being sent. A redelivered
/// event finds it sent and sends nothing; one that finds it claimed but not
/// sent (the first attempt failed) sends it.
async fn claim_confirmation<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    key: &CustomerKey,
    wamid: &Wamid,
) -> Result<Claim, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let Some(mut customer) = app.store.get_customer(key).await? else {
            return Ok(Claim::AlreadySent);
        };
        match &customer.opt_out.confirmation {
            Some(c) if c.stop_wamid == *wamid && c.sent => return Ok(Claim::AlreadySent),
            Some(c) if c.stop_wamid == *wamid => return Ok(Claim::Claimed),
            _ => {}
        }
        let expected = customer.version;
        customer.version += 1;
        customer.opt_out.confirmation = Some(OptOutConfirmation {
            stop_wamid: wamid.clone(),
            sent: false,
        });
        match app.store.save_customer(&customer, expected).await {
            Ok(()) => return Ok(Claim::Claimed),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(DeskFailure::App(AppError::Contention {
        attempts: MAX_ATTEMPTS,
    }))
}

async fn mark_sent<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    key: &CustomerKey,
    wamid: &Wamid,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    for attempt in 0..MAX_ATTEMPTS {
        let Some(mut customer) = app.store.get_customer(key).await? else {
            return Ok(());
        };
        let expected = customer.version;
        customer.version += 1;
        customer.opt_out.confirmation = Some(OptOutConfirmation {
            stop_wamid: wamid.clone(),
            sent: true,
        });
        match app.store.save_customer(&customer, expected).await {
            Ok(()) => return Ok(()),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => backoff(attempt).await,
            Err(CommitError::Store(error)) => return Err(error.into()),
        }
    }
    Err(DeskFailure::App(AppError::Contention {
        attempts: MAX_ATTEMPTS,
    }))
}

/// Sends the confirmation and records it in the customer's last conversation.
async fn send_confirmation<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    key: &CustomerKey,
) -> Result<(), DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let content = OutboundContent::Text {
        body: OPT_OUT_CONFIRMATION.to_owned(),
    };
    let wamid = app
        .whatsapp
        .send(&key.phone_number_id, &key.wa_id, &content)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "opt-out confirmation not sent; the event will be retried");
            DeskFailure::App(AppError::Store(crate::StoreError::new(
                "whatsapp_send",
                error,
            )))
        })?;
    let last = app
        .store
        .get_customer(key)
        .await?
        .and_then(|c| c.last_conversation);
    if let Some(conversation_id) = last {
        let message = Message {
            id: MessageId::derived_from(&format!("opt-out-confirmation/{wamid}")),
            conversation_id,
            direction: Direction::System,
            content: MessageContent::Text {
                text: OPT_OUT_CONFIRMATION.to_owned(),
            },
            author: None,
            at: app.clock.now(),
            status: Some(DeliveryStatus::Pending),
            error: None,
            wamid: Some(wamid),
        };
        if let Err(error) = app.store.record_outbound(key, &message).await {
            tracing::error!(%error, "opt-out confirmation sent but not recorded");
        }
    }
    Ok(())
}
