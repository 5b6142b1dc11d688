//! Target of EventBridge Scheduler: a customer's 24-hour window is due, or an
//! offer waited too long for its agent.
//!
//! The schedule's input is our own JSON ([`TimerInput`]), not an EventBridge
//! envelope. A transient failure is returned (not swallowed) so Scheduler
//! retries; the services are idempotent, so a retry or a duplicate fire is
//! harmless. A fire no retry can handle is not retried: one that does not
//! parse is parked, a rule's refusal logged and acknowledged.

use lambda_runtime::Error;
use serde::Serialize;
use wadesk_app::desk::{handle_offer_timeout, DeskFailure};
use wadesk_app::window_fire::{handle_window_fire, FireOutcome};
use wadesk_app::Ports;
use wadesk_app::{App, DeskStore};
use wadesk_aws::lambda::settle_invocation;
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
/// fire that does not parse never will, so it is parked at once; a rule's
/// refusal is logged and acknowledged (`refused`); a transient failure fails
/// the invocation, so Lambda retries it (at most twice) and then parks it in
/// the failure queue, from where the redrive command replays it
/// ([`wadesk_app::error::settle`] tells the two apart).
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
    settle_invocation(
        "a timer's fire",
        handle(app, fire).await,
        FireResult { outcome: "refused" },
    )
}
