//! The window-expiry Lambda: wires the AWS adapters once, then handles fires.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::parking::{parse_or_park, FailureQueue};
use wadesk_aws::{lambda::lambda_app_with, telemetry};
use wadesk_domain::TimerInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = lambda_app_with(&sdk).await?;
    let parking = FailureQueue::from_env(&sdk)?;
    let (app, parking) = (&app, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // A fire that does not parse never will: parked at once.
            let function = event.context.invoked_function_arn.clone();
            let Some(fire) =
                parse_or_park::<TimerInput, _>(parking, &function, &event.payload).await?
            else {
                return Ok(window_expiry::FireResult { outcome: "parked" });
            };
            window_expiry::handle(app, fire).await.map_err(|error| {
                tracing::error!(%error, "timer failed; Lambda retries the fire at most twice, then parks it in the failure queue");
                Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
            })
        },
    ))
    .await
}
