//! Target of the EventBridge rule for `CustomerOptedOut`: ends the customer's
//! live session and sends exactly one confirmation
//! (`docs/product.md#6-opting-out-with-stop`).

use wadesk_app::desk::DeskFailure;
use wadesk_app::opt_out::{handle_event, OptOutOutcome};
use wadesk_app::{App, DeskStore, EventPublisher, TimerScheduler, WhatsAppClient};
use wadesk_domain::{Clock, EventEnvelope};

/// Handles one event; other event types are ignored (the rule should not send
/// them, but a broad rule must not break anything).
pub async fn handle<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    event: &EventEnvelope,
) -> Result<&'static str, DeskFailure>
where
    S: DeskStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    Ok(match handle_event(app, event).await? {
        OptOutOutcome::Confirmed => "confirmed",
        OptOutOutcome::Ignored => "ignored",
    })
}
