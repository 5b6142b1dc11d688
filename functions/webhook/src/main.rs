//! The webhook Lambda: wires the AWS adapters once, then serves requests.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_app::App;
use wadesk_aws::config::{load_sdk_config, Resources};
use wadesk_aws::{telemetry, DynamoStore, EventBridgePublisher, EventBridgeScheduler};
use wadesk_domain::SystemClock;
use webhook::{handle, WebhookSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let resources = Resources::from_env()?;
    let settings = WebhookSettings::from_env()?;
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
    let (app, settings) = (&app, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(app, settings, request).await)
    }))
    .await
}
