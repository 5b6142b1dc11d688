//! The live Lambda: the WebSocket API's `$connect`, `$disconnect` and
//! `$default` routes, and the bus's rule delivering desk events to push.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::jwks::JwksVerifier;
use wadesk_aws::live_push::ManagementApi;
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::{lambda::silent_lambda_app_with, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = silent_lambda_app_with(&sdk)?;
    let tokens = JwksVerifier::from_env()?;
    let pusher = ManagementApi::from_env(&sdk)?;
    let parking = FailureQueue::from_env(&sdk)?;
    let ports = live::Wiring {
        app: &app,
        tokens: &tokens,
        pusher: &pusher,
        parking: &parking,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            live::invoke(ports, &event.context.invoked_function_arn, &event.payload).await
        },
    ))
    .await
}
