//! The window-expiry Lambda: wires the AWS adapters once, then handles fires.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::{lambda::lambda_app, telemetry};
use wadesk_domain::TimerInput;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let app = lambda_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<TimerInput>| async move {
            window_expiry::handle(app, event.payload)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "timer failed; Lambda retries the fire at most twice, then parks it in the failure queue");
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })
        },
    ))
    .await
}
