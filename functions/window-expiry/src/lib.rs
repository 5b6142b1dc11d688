//! Target of EventBridge Scheduler: a customer's 24-hour window is due.
//!
//! The schedule's input is our own JSON ([`WindowFire`]), not an EventBridge
//! envelope. An error is returned (not swallowed) so Scheduler retries; the
//! service is idempotent, so a retry or a duplicate fire is harmless.

use serde::Serialize;
use wadesk_app::expiry::{handle_window_fire, FireOutcome};
use wadesk_app::{App, AppError, ConversationStore, EventPublisher, TimerScheduler};
use wadesk_domain::{Clock, WindowFire};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FireResult {
    pub outcome: &'static str,
}

pub async fn handle<S, E, T, C>(
    app: &App<S, E, T, C>,
    fire: WindowFire,
) -> Result<FireResult, AppError>
where
    S: ConversationStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
{
    let outcome = handle_window_fire(app, fire).await?;
    Ok(FireResult {
        outcome: match outcome {
            FireOutcome::Expired => "expired",
            FireOutcome::Rearmed => "rearmed",
            FireOutcome::Ignored => "ignored",
        },
    })
}
