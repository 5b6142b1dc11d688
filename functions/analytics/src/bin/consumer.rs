//! The analytics consumer Lambda: target of the EventBridge rule on the wadesk
//! bus. An error fails the invocation, so Lambda retries it (at most twice) and
//! then parks it in the failure queue; counting is idempotent, so retries and
//! a redrive are safe. An event that can never be counted (it does not parse)
//! is parked at once instead of retried.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use analytics::ConsumeError;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::parking::{parked_record, parse_or_park, FailureQueue, Parking};
use wadesk_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let store = analytics::store_from_env().await?;
    let parking = FailureQueue::from_env(&load_sdk_config().await)?;
    let (store, parking) = (&store, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let function = event.context.invoked_function_arn.clone();
            let payload = event.payload;
            let Some(delivery) = parse_or_park::<EventBridgeEvent<serde_json::Value>, _>(
                parking,
                &function,
                &payload,
            )
            .await?
            else {
                return Ok(serde_json::json!({ "outcome": "Parked" }));
            };
            match analytics::consume_delivery(store, delivery).await {
                Ok(consumed) => Ok(serde_json::json!({ "outcome": format!("{consumed:?}") })),
                // Its detail is not a wadesk event: it never will be.
                Err(error @ ConsumeError::Malformed { .. }) => {
                    let reason = error.to_string();
                    tracing::error!(%reason, "event parked in the failure queue, not retried");
                    parking
                        .park(parked_record(&function, &reason, &payload))
                        .await?;
                    Ok(serde_json::json!({ "outcome": "Parked" }))
                }
                Err(error) => {
                    tracing::error!(%error, "event not counted; Lambda retries it at most twice, then parks it in the failure queue");
                    Err(Error::from(
                        Box::new(error) as Box<dyn std::error::Error + Send + Sync>
                    ))
                }
            }
        },
    ))
    .await
}
