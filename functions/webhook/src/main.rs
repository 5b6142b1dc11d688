//! The webhook Lambda: wires the AWS adapters once, then serves requests.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_aws::secrets::required_secret;
use wadesk_aws::{lambda::lambda_app, telemetry};
use webhook::{handle, WebhookSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    // Read from SSM at start-up on AWS (`…_PARAM`), from the variables locally.
    let settings = WebhookSettings::new(
        required_secret("WHATSAPP_APP_SECRET").await?,
        required_secret("WHATSAPP_VERIFY_TOKEN").await?,
    );
    let app = lambda_app().await?;
    let (app, settings) = (&app, &settings);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(app, settings, request).await)
    }))
    .await
}
