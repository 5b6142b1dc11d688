//! The window-expiry Lambda: wires the AWS adapters once, then handles fires.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use wadesk_app::App;
use wadesk_aws::config::{load_sdk_config, Resources};
use wadesk_aws::{telemetry, DynamoStore, EventBridgePublisher, EventBridgeScheduler};
use wadesk_domain::{SystemClock, WindowFire};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let resources = Resources::from_env()?;
    let sdk = load_sdk_config().await;
    let app = App::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), resources.table),
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), resources.event_bus),
        EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(&sdk),
            resources.schedule_group,
            resources.window_expiry_target_arn,
            resources.scheduler_role_arn,
        ),
        SystemClock,
    );
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<WindowFire>| async move {
            window_expiry::handle(app, event.payload)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "window fire failed; Scheduler will retry");
                    Error::from(Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
                })
        },
    ))
    .await
}
