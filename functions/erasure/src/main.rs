//! The erasure Lambda: the erasure queue (SQS) delivers EventBridge events,
//! one bounded step each (a failed message is reported as a batch item
//! failure, retried by the queue, then kept in its dead-letter queue); the
//! table's stream delivers the messages its TTL removed, whose files are
//! deleted.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::{load_sdk_config, required};
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_aws::{lambda::silent_lambda_app_with, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = silent_lambda_app_with(&sdk)?;
    let media = SignedS3MediaStore::new(&sdk, required("WADESK_MEDIA_BUCKET")?)?;
    let (app, media) = (&app, &media);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Error>(erasure::invoke_payload(app, media, event.payload).await)
        },
    ))
    .await
}
