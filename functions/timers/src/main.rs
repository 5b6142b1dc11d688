//! The timers Lambda: wires the AWS adapters once, then handles fires.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::{lambda::silent_lambda_app_with, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = silent_lambda_app_with(&sdk)?;
    let parking = FailureQueue::from_env(&sdk)?;
    let (app, parking) = (&app, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            timers::invoke(
                app,
                parking,
                &event.context.invoked_function_arn,
                &event.payload,
            )
            .await
        },
    ))
    .await
}
