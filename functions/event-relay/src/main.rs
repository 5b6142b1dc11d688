//! The event-relay Lambda: the table's DynamoDB stream (filtered to inserted
//! outbox items) delivers batches; their events go to the EventBridge bus.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use event_relay::StreamEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_aws::config::{load_sdk_config, required};
use wadesk_aws::{telemetry, EventBridgePublisher};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let bus = required("WADESK_EVENT_BUS")?;
    let sdk = load_sdk_config().await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            // Failed records come back as batch item failures: Lambda retries
            // from the first one (ReportBatchItemFailures on the mapping).
            Ok::<_, Error>(event_relay::handle(publisher, event.payload).await)
        },
    ))
    .await
}
