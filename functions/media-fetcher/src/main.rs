//! The media fetcher Lambda: an EventBridge rule delivers `MessageReceived`
//! events of customers' files.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::{load_sdk_config, required};
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_aws::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    // The Graph API client of the shared wiring: the token from its secret.
    let graph = wadesk_aws::lambda::lambda_app_with(&sdk).await?.whatsapp;
    let store = SignedS3MediaStore::new(&sdk, required("WADESK_MEDIA_BUCKET")?)?;
    let parking = FailureQueue::from_env(&sdk)?;
    let (graph, store, parking) = (&graph, &store, &parking);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let function = event.context.invoked_function_arn.clone();
            media_fetcher::handle_invocation(graph, store, parking, &function, &event.payload)
                .await
                .map_err(|error| {
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })
        },
    ))
    .await
}
