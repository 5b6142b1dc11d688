//! Target of EventBridge Scheduler: a customer's 24-hour window is due, or an
//! offer waited too long for its agent.
//!
//! The schedule's input is our own JSON ([`TimerInput`]), not an EventBridge
//! envelope. An error is returned (not swallowed) so Scheduler retries; the
//! services are idempotent, so a retry or a duplicate fire is harmless.

use lambda_runtime::Error;
use serde::Serialize;
use wadesk_app::desk::{handle_offer_timeout, DeskFailure};
use wadesk_app::window_fire::{handle_window_fire, FireOutcome};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore};
use wadesk_aws::parking::{parse_or_park, Parking};
use wadesk_domain::TimerInput;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FireResult {
    pub outcome: &'static str,
}

pub async fn handle<P>(app: &App<P>, input: TimerInput) -> Result<FireResult, DeskFailure>
where
    P: Ports<Store: DeskStore>,
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

/// One invocation as Lambda hands it over (`main` and the tests call this): a
/// fire that does not parse never will, so it is parked at once; any other
/// error fails the invocation, so Lambda retries it (at most twice) and then
/// parks it in the failure queue, from where the redrive command replays it.
pub async fn invoke<P, K>(
    app: &App<P>,
    parking: &K,
    function: &str,
    payload: &serde_json::Value,
) -> Result<FireResult, Error>
where
    P: Ports<Store: DeskStore>,
    K: Parking,
{
    let Some(fire) = parse_or_park::<TimerInput, _>(parking, function, payload).await? else {
        return Ok(FireResult { outcome: "parked" });
    };
    handle(app, fire).await.map_err(|error| {
        tracing::error!(%error, "timer failed; Lambda retries the fire at most twice, then parks it in the failure queue");
        Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
    })
}
