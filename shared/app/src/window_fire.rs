//! A window timer fired: close the customer's 24-hour window, re-arm it for a
//! later expiry, or ignore a stale fire (`wadesk_domain::decide_window_fire`).

use crate::Ports;
use tracing::Instrument;
use wadesk_domain::{decide_window_fire, Clock, WindowFire, WindowFireDecision};

use crate::error::{retry_on_conflict, Attempt};
use crate::{App, AppError, CommitError, ConversationStore, EventPublisher, TimerScheduler};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireOutcome {
    /// The window closed; `WindowExpired` was published.
    Expired,
    /// The window had been extended; a schedule for the new expiry is armed.
    Rearmed,
    /// A stale or duplicate fire.
    Ignored,
}

pub async fn handle_window_fire<P>(app: &App<P>, fire: WindowFire) -> Result<FireOutcome, AppError>
where
    P: Ports,
{
    let span = tracing::info_span!("window_fire", armed_for = %fire.armed_for);
    async move {
        let fire = &fire;
        retry_on_conflict(|_| async move {
            let customer = app.store.get_customer(&fire.customer).await?;
            let outcome = match decide_window_fire(customer.as_ref(), fire, app.clock.now()) {
                WindowFireDecision::Ignore => return Ok(Attempt::Done(FireOutcome::Ignored)),
                WindowFireDecision::Republish { events } => {
                    app.events.publish(&events).await?;
                    return Ok(Attempt::Done(FireOutcome::Ignored));
                }
                WindowFireDecision::Rearm { customer, at } => {
                    let next = WindowFire {
                        customer: fire.customer.clone(),
                        armed_for: at,
                    };
                    app.timers.arm_window(&next).await?;
                    app.store
                        .save_customer(&customer)
                        .await
                        .map(|()| (FireOutcome::Rearmed, Vec::new()))
                }
                WindowFireDecision::Expire { customer, events } => app
                    .store
                    .save_customer(&customer)
                    .await
                    .map(|()| (FireOutcome::Expired, events)),
            };
            match outcome {
                Ok((outcome, events)) => {
                    app.events.publish(&events).await?;
                    tracing::info!(?outcome, "window fire handled");
                    Ok(Attempt::Done(outcome))
                }
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
                Err(CommitError::Store(error)) => Err(error.into()),
            }
        })
        .await
    }
    .instrument(span)
    .await
}
