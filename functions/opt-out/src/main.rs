//! The opt-out Lambda: an EventBridge rule delivers `CustomerOptedOut` events.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::parking::{parse_or_park, FailureQueue};
use wadesk_aws::{lambda::lambda_app_with, telemetry};
use wadesk_domain::EventEnvelope;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = lambda_app_with(&sdk).await?;
    let parking = FailureQueue::from_env(&sdk)?;
    let (app, parking) = (&app, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // An event that does not parse never will: parked at once.
            let function = event.context.invoked_function_arn.clone();
            let Some(delivery) = parse_or_park::<EventBridgeEvent<EventEnvelope>, _>(
                parking,
                &function,
                &event.payload,
            )
            .await?
            else {
                return Ok("parked");
            };
            // Any other error fails the asynchronous invocation: Lambda retries
            // it (at most twice, see the template's EventInvokeConfig), then
            // parks it in the function's failure queue. The handler is idempotent.
            opt_out::handle(app, &delivery.detail)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "opt-out failed; Lambda retries the event at most twice, then parks it in the failure queue");
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })
        },
    ))
    .await
}
