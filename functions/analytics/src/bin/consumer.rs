//! The analytics consumer Lambda: polls the analytics queue, which the
//! EventBridge rule on the wadesk bus fills, and counts a batch at a time.
//! A message whose event was not counted is reported failed, so the queue
//! delivers it again and, after 5 receives, moves it to the failure queue;
//! counting is idempotent, so retries and a redrive are safe. An event that
//! can never be counted (it does not parse) is parked at once instead.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let store = analytics::store_from_env().await?;
    let parking = FailureQueue::from_env(&load_sdk_config().await)?;
    let (store, parking) = (&store, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            analytics::invoke_consumer(
                store,
                parking,
                &event.context.invoked_function_arn,
                &event.payload,
            )
            .await
        },
    ))
    .await
}
