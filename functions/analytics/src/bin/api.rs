//! The analytics HTTP API Lambda: `GET /analytics/dashboard` and
//! `GET /analytics/chat-statistics` behind the JWT authorizer.
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_http::{service_fn, Error, Request};
use wadesk_app::analytics::AnalyticsReader;
use wadesk_aws::telemetry;
use wadesk_domain::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logs();
    let store = analytics::store_from_env().await?;
    let bootstrap_admins = wadesk_aws::identity::bootstrap_admins_from_env();
    let reader = AnalyticsReader {
        counters: &store,
        conversations: &store,
        clock: &SystemClock,
        bootstrap_admins: &bootstrap_admins,
    };
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(analytics::handle(reader, request).await)
    }))
    .await
}
