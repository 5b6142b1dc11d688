//! The agent API Lambda: wires the AWS adapters once, then serves requests.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_aws::config::{load_sdk_config, required};
use wadesk_aws::s3_signed::SignedS3MediaStore;
use wadesk_aws::{lambda::lambda_app_with, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let sdk = load_sdk_config().await;
    let app = lambda_app_with(&sdk).await?;
    let mut media = agent_api::Media::new(SignedS3MediaStore::new(
        &sdk,
        required("WADESK_MEDIA_BUCKET")?,
    )?);
    if let Some(days) = std::env::var("WADESK_MEDIA_RETENTION_DAYS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|days| (1..=3650).contains(days))
    {
        media = media.with_retention_days(days);
    }
    let (app, media) = (&app, &media);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(agent_api::handle_with_media(app, media, request).await)
    }))
    .await
}
