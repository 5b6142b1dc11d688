//! The consequences of `#STOP` (`docs/product.md#6-opting-out-with-stop`), on the
//! `CustomerOptedOut` event: the live session ends, the customer gets one
//! confirmation (never two: see `claim_confirmation` for what a failure in the
//! middle costs).
//!
//! The opt-out itself was written with the `#STOP` message, in one transaction,
//! so reopens and pushes already fail; this only does what follows.

use crate::Ports;
use wadesk_domain::{Clock, CustomerKey, DomainEvent, EventEnvelope, Message, Wamid};

use crate::desk::{end_for_opt_out, DeskFailure};
use crate::error::{retry_on_conflict, Attempt};
use crate::{
    App, AppError, CommitError, ConversationStore, DeskStore, OutboundContent, SendError,
    WhatsAppClient,
};

pub use wadesk_domain::customer::OPT_OUT_CONFIRMATION;

/// How often marking a sent confirmation is tried on store failures.
const MARK_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutOutcome {
    Confirmed,
    /// Not an opt-out, already confirmed, or the customer opted back in.
    Ignored,
}

pub async fn handle_event<P>(
    app: &App<P>,
    event: &EventEnvelope,
) -> Result<OptOutOutcome, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
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
    let Some(follow_up) = current.opt_out_follow_up() else {
        return Ok(OptOutOutcome::Ignored);
    };
    if let Some(live) = follow_up.end_live {
        end_for_opt_out(app, live).await?;
    }
    match claim_confirmation(app, customer, wamid).await? {
        Claim::Taken => Ok(OptOutOutcome::Ignored),
        Claim::Claimed => {
            match send_confirmation(app, customer).await {
                Ok(()) => {}
                Err(error) if error.failure().may_have_gone_out() => {
                    // WhatsApp may have taken it: the claim stays, so no
                    // redelivery sends a second confirmation.
                    tracing::error!(%error, "opt-out confirmation's answer lost; it is not sent again");
                    return Ok(OptOutOutcome::Confirmed);
                }
                Err(error) => {
                    // Nothing went out: give the claim back so the redelivery sends.
                    release_claim(app, customer, wamid).await;
                    return Err(DeskFailure::App(AppError::WhatsApp {
                        operation: "send",
                        source: error,
                    }));
                }
            }
            // It went out: from here on only success is answered, so the
            // event is not redelivered for a second send.
            if let Err(error) = mark_sent(app, customer, wamid).await {
                tracing::error!(%error, "opt-out confirmation sent but not marked sent");
            }
            Ok(OptOutOutcome::Confirmed)
        }
    }
}

enum Claim {
    Claimed,
    /// Sent, or claimed by an attempt whose outcome is unknown.
    Taken,
}

/// Records that this `#STOP`'s confirmation is being sent.
///
/// The claim means "being sent or sent", so the customer is told at most once:
/// a redelivered event that finds it (sent or not) sends nothing. Only an
/// attempt that knows its send failed gives the claim back, and then the
/// redelivery sends. The trade-off: an attempt that dies between its claim and
/// the end of its send (or whose release fails) leaves the customer
/// unconfirmed rather than risking a second confirmation.
async fn claim_confirmation<P>(
    app: &App<P>,
    key: &CustomerKey,
    wamid: &Wamid,
) -> Result<Claim, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    retry_on_conflict(|_| async move {
        let Some(stored) = app.store.get_customer(key).await? else {
            return Ok(Attempt::Done(Claim::Taken));
        };
        let Some(claim) = stored.claim_confirmation(wamid) else {
            return Ok(Attempt::Done(Claim::Taken));
        };
        match app.store.save_customer(&claim).await {
            Ok(()) => Ok(Attempt::Done(Claim::Claimed)),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => {
                // The claim may have been written with its answer lost: if it
                // stands, nothing was sent yet and it is this attempt's to use.
                if let Ok(stored) = app.store.get_customer(key).await {
                    if claim.stands_in(stored.as_ref()) {
                        return Ok(Attempt::Done(Claim::Claimed));
                    }
                }
                Err(error.into())
            }
        }
    })
    .await
}

/// Gives back this `#STOP`'s claim after a send that failed, if it is still an
/// unsent claim. A failure is logged: the claim then stays (at most once).
async fn release_claim<P>(app: &App<P>, key: &CustomerKey, wamid: &Wamid)
where
    P: Ports<Store: DeskStore>,
{
    let released = retry_on_conflict(|_| async move {
        let Some(stored) = app.store.get_customer(key).await? else {
            return Ok(Attempt::Done(()));
        };
        let Some(change) = stored.release_confirmation(wamid) else {
            return Ok(Attempt::Done(()));
        };
        match app.store.save_customer(&change).await {
            Ok(()) => Ok(Attempt::Done(())),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(AppError::from(error)),
        }
    })
    .await;
    if let Err(error) = released {
        tracing::error!(%error, "opt-out confirmation claim not released; it will not be sent");
    }
}

/// Records the confirmation sent. A store failure is tried again a few times
/// (the caller answers success either way: the confirmation went out).
async fn mark_sent<P>(app: &App<P>, key: &CustomerKey, wamid: &Wamid) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    retry_on_conflict(|attempt| async move {
        let Some(stored) = app.store.get_customer(key).await? else {
            return Ok(Attempt::Done(()));
        };
        let change = stored.confirmation_sent(wamid);
        match app.store.save_customer(&change).await {
            Ok(()) => Ok(Attempt::Done(())),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) if attempt + 1 < MARK_ATTEMPTS => {
                tracing::warn!(%error, "marking the opt-out confirmation sent failed; trying again");
                Ok(Attempt::Again)
            }
            Err(CommitError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// Sends the confirmation and records it in the customer's last conversation.
/// An error is WhatsApp's: whether anything went out is its
/// [`SendFailure::may_have_gone_out`](wadesk_domain::desk::SendFailure::may_have_gone_out).
async fn send_confirmation<P>(app: &App<P>, key: &CustomerKey) -> Result<(), SendError>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let content = OutboundContent::Text {
        body: OPT_OUT_CONFIRMATION.to_owned(),
    };
    let wamid = app
        .whatsapp
        .send(&key.phone_number_id, &key.wa_id, &content)
        .await
        .inspect_err(|error| tracing::warn!(%error, "opt-out confirmation not sent"))?;
    // Sent: from here on nothing fails the call, or the claim would be given
    // back and the confirmation sent again.
    let last = match app.store.get_customer(key).await {
        Ok(customer) => customer.and_then(|c| c.last_conversation),
        Err(error) => {
            tracing::error!(%error, "opt-out confirmation sent but not recorded");
            None
        }
    };
    if let Some(conversation_id) = last {
        let message = Message::sent_automatically(
            &format!("opt-out-confirmation/{wamid}"),
            conversation_id,
            OPT_OUT_CONFIRMATION,
            wamid,
            app.clock.now(),
        );
        match app.store.record_outbound(key, &message).await {
            // Into the conversation the `#STOP` just finished: it takes its expiry too.
            Ok(()) => {
                crate::protection::restamp(&app.events, conversation_id, app.clock.now()).await;
            }
            Err(error) => tracing::error!(%error, "opt-out confirmation sent but not recorded"),
        }
    }
    Ok(())
}
