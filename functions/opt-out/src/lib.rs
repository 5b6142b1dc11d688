//! Target of the EventBridge rule for `CustomerOptedOut`: ends the customer's
//! live session and sends exactly one confirmation
//! (`docs/product.md#6-opting-out-with-stop`).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::Error;
use wadesk_app::desk::DeskFailure;
use wadesk_app::opt_out::{handle_event, OptOutOutcome};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore, WhatsAppClient};
use wadesk_aws::lambda::settle_invocation;
use wadesk_aws::parking::{parse_or_park, Parking};
use wadesk_domain::EventEnvelope;

/// Handles one event; other event types are ignored (the rule should not send
/// them, but a broad rule must not break anything).
pub async fn handle<P>(app: &App<P>, event: &EventEnvelope) -> Result<&'static str, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    Ok(match handle_event(app, event).await? {
        OptOutOutcome::Confirmed => "confirmed",
        OptOutOutcome::Ignored => "ignored",
    })
}

/// One invocation as Lambda hands it over (`main` and the tests call this):
/// an event that does not parse never will, so it is parked at once; a rule's
/// refusal is logged and acknowledged (`refused`); a transient failure fails
/// the invocation, so Lambda retries it (at most twice, the template's
/// EventInvokeConfig) and then parks it in the function's failure queue, from
/// where the redrive command replays it ([`wadesk_app::error::settle`] tells
/// the two apart). The handler is idempotent.
pub async fn invoke<P, K>(
    app: &App<P>,
    parking: &K,
    function: &str,
    payload: &serde_json::Value,
) -> Result<&'static str, Error>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
    K: Parking,
{
    let Some(delivery) =
        parse_or_park::<EventBridgeEvent<EventEnvelope>, _>(parking, function, payload).await?
    else {
        return Ok("parked");
    };
    settle_invocation("an opt-out", handle(app, &delivery.detail).await, "refused")
}
