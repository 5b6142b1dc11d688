//! The webhook Lambda: wires the AWS adapters once, then serves requests.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_aws::config::load_sdk_config;
use wadesk_aws::secrets::required_secret;
use wadesk_aws::{lambda::lambda_app_with, telemetry, SqsPoisonQueue};
use webhook::{handle, WebhookSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    // Read from SSM at start-up on AWS (`…_PARAM`), from the variables locally.
    let settings = WebhookSettings::new(
        required_secret("WHATSAPP_APP_SECRET").await?,
        required_secret("WHATSAPP_VERIFY_TOKEN").await?,
    );
    let sdk = load_sdk_config().await;
    let app = lambda_app_with(&sdk).await?;
    // `WADESK_POISON_QUEUE_URL`: signed bodies or items that can never be used.
    let poison = SqsPoisonQueue::from_env(&sdk)?;
    let (app, poison, settings) = (&app, &poison, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(app, poison, settings, request).await)
    }))
    .await
}
