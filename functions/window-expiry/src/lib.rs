//! Target of EventBridge Scheduler: a customer's 24-hour window is due, or an
//! offer waited too long for its agent.
//!
//! The schedule's input is our own JSON ([`TimerInput`]), not an EventBridge
//! envelope. An error is returned (not swallowed) so Scheduler retries; the
//! services are idempotent, so a retry or a duplicate fire is harmless.

use serde::Serialize;
use wadesk_app::desk::{handle_offer_timeout, DeskFailure};
use wadesk_app::expiry::{handle_window_fire, FireOutcome};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::{Clock, TimerInput};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FireResult {
    pub outcome: &'static str,
}

pub async fn handle<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    input: TimerInput,
) -> Result<FireResult, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let outcome = match input {
        TimerInput::Window(fire) => match handle_window_fire(app, fire).await? {
            FireOutcome::Expired => "expired",
            FireOutcome::Rearmed => "rearmed",
            FireOutcome::Ignored => "ignored",
        },
        TimerInput::Offer(offer) => {
            handle_offer_timeout(app, &offer).await?;
            "offer_checked"
        }
    };
    Ok(FireResult { outcome })
}
