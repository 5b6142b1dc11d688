//! The reopen Lambda: wires the AWS adapters once, then serves requests.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_aws::{lambda::lambda_app, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let app = lambda_app().await?;
    let app = &app;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(reopen::handle(app, request).await)
    }))
    .await
}
