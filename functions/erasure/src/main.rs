//! The erasure Lambda: the erasure queue (SQS) delivers EventBridge events,
//! one bounded step each; a failed message is reported as a batch item
//! failure, retried by the queue, then kept in its dead-letter queue.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::{load_sdk_config, required};
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_aws::{lambda::lambda_app_with, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = lambda_app_with(&sdk).await?;
    let media = SignedS3MediaStore::new(&sdk, required("WADESK_MEDIA_BUCKET")?)?;
    let (app, media) = (&app, &media);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let mut response = SqsBatchResponse::default();
        for record in event.payload.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            let handled = match erasure::parse(body) {
                Ok(event) => erasure::handle(app, media, &event).await,
                Err(error) => Err(error),
            };
            match handled {
                Ok(outcome) => tracing::info!(outcome, "step done"),
                Err(error) => {
                    tracing::error!(%error, "step failed; the queue delivers it again, then keeps it in its dead-letter queue");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        Ok::<_, Error>(response)
    }))
    .await
}
