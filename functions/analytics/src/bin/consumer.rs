//! The analytics consumer Lambda: target of the EventBridge rule on the wadesk
//! bus. An error fails the invocation, so Lambda retries it (at most twice) and
//! then parks it in the failure queue; counting is idempotent, so retries and
//! a redrive are safe.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let store = analytics::store_from_env().await?;
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let consumed = analytics::consume_delivery(store, event.payload)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "event not counted; Lambda retries it at most twice, then parks it in the failure queue");
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })?;
            Ok::<_, Error>(serde_json::json!({ "outcome": format!("{consumed:?}") }))
        },
    ))
    .await
}
