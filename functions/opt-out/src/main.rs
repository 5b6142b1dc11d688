//! The opt-out Lambda: an EventBridge rule delivers `CustomerOptedOut` events.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::{lambda::lambda_app, telemetry};
use wadesk_domain::EventEnvelope;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let app = lambda_app().await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<EventEnvelope>>| async move {
            // An error fails the asynchronous invocation: Lambda retries it (at
            // most twice, see the template's EventInvokeConfig), then parks it in
            // the function's failure queue. The handler is idempotent.
            opt_out::handle(app, &event.payload.detail)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "opt-out failed; Lambda retries the event at most twice, then parks it in the failure queue");
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })
        },
    ))
    .await
}
