//! The one wiring every Lambda shares: AWS adapters built once at start-up.

use std::env;

use wadesk_app::App;
use wadesk_domain::{Clock, SystemClock};
use wadesk_graph::GraphApiClient;

use crate::config::{load_sdk_config, Resources};
use crate::secrets::{ParameterReader, Secret, SecretTokenSource};
use crate::{DynamoStore, EventBridgePublisher, EventBridgeScheduler};

/// The application on the AWS adapters, with a clock and a WhatsApp client.
pub type AwsApp<C, W> = App<(
    DynamoStore,
    EventBridgePublisher,
    EventBridgeScheduler,
    C,
    W,
)>;

/// The application as it runs on Lambda, sending to WhatsApp through `W`.
pub type LambdaAppWith<W> = AwsApp<SystemClock, W>;

/// The application of a function that sends to WhatsApp.
pub type LambdaApp = LambdaAppWith<GraphApiClient>;

/// The application of a function that never sends (the timers, the erasure,
/// the live sockets): no Graph API client is wired, nor linked.
pub type SilentLambdaApp = LambdaAppWith<()>;

/// The Graph API version the template passes by default too.
const DEFAULT_GRAPH_API_BASE_URL: &str = "https://graph.facebook.com/v26.0";

/// Reads the settings (`WADESK_*`, `WHATSAPP_GRAPH_API_*`) and builds the clients.
pub async fn lambda_app() -> Result<LambdaApp, Box<dyn std::error::Error + Send + Sync>> {
    lambda_app_with(&load_sdk_config().await).await
}

/// [`lambda_app`] on an SDK configuration the caller also builds other
/// clients from (one configuration, one HTTP client, per process).
pub async fn lambda_app_with(
    sdk: &aws_config::SdkConfig,
) -> Result<LambdaApp, Box<dyn std::error::Error + Send + Sync>> {
    let graph_base = env::var("WHATSAPP_GRAPH_API_BASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_GRAPH_API_BASE_URL.to_owned());
    // A sending function without a token (a misconfigured stack) is still
    // started: its sends are refused, and said so.
    let whatsapp = match Secret::from_env("WHATSAPP_GRAPH_API_TOKEN") {
        Some(secret) => {
            let source = SecretTokenSource {
                secret,
                parameters: ParameterReader::from_env(),
            };
            GraphApiClient::from_source(graph_base, std::sync::Arc::new(source)).await?
        }
        None => {
            tracing::info!("no Graph API token configured: this function sends nothing");
            GraphApiClient::new(graph_base, "not-configured")?
        }
    };
    wire(sdk, whatsapp)
}

/// [`lambda_app_with`] for a function that never sends.
pub fn silent_lambda_app_with(
    sdk: &aws_config::SdkConfig,
) -> Result<SilentLambdaApp, Box<dyn std::error::Error + Send + Sync>> {
    wire(sdk, ())
}

fn wire<W>(
    sdk: &aws_config::SdkConfig,
    whatsapp: W,
) -> Result<LambdaAppWith<W>, Box<dyn std::error::Error + Send + Sync>> {
    let mut app = aws_app(sdk, &Resources::from_env()?, SystemClock, whatsapp);
    app = app.with_bootstrap_admins(crate::identity::bootstrap_admins_from_env());
    if let Some(seconds) = env::var("WADESK_OFFER_TIMEOUT_SECONDS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        app = app.with_offer_timeout(chrono::Duration::seconds(seconds.clamp(5, 600)));
    }
    Ok(app)
}

/// The AWS adapters on `resources`, with `clock` and `whatsapp`: the one
/// wiring of the functions, and of the tests and benchmarks that run the
/// same adapters against moto.
pub fn aws_app<C: Clock, W>(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    clock: C,
    whatsapp: W,
) -> AwsApp<C, W> {
    App::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &resources.table),
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(sdk), &resources.event_bus),
        EventBridgeScheduler::new(
            aws_sdk_scheduler::Client::new(sdk),
            &resources.schedule_group,
            &resources.timers_target_arn,
            &resources.scheduler_role_arn,
        )
        .with_dead_letter_queue(resources.schedule_dead_letter_queue.clone()),
        clock,
        whatsapp,
    )
}

/// An error answer of an HTTP function: `status` with the one error envelope
/// (`wadesk_app::error::ErrorEnvelope`) as JSON.
pub fn error_response(
    status: lambda_http::http::StatusCode,
    envelope: &wadesk_app::error::ErrorEnvelope<'_>,
) -> lambda_http::Response<lambda_http::Body> {
    let mut response = lambda_http::Response::new(lambda_http::Body::Text(envelope.to_json()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// How an asynchronous invocation (a Scheduler fire, an EventBridge event)
/// ends, by [`wadesk_app::error::settle`]: with its answer; with
/// `acknowledged` after a permanent failure (logged with what was wrong:
/// Lambda would only retry it into the failure queue); or failed, after a
/// transient one, so Lambda retries it (at most twice) and then parks it in
/// the function's failure queue, from where the redrive command replays it.
/// `what` names the event for the log.
pub fn settle_invocation<T, E>(
    what: &str,
    handled: Result<T, E>,
    acknowledged: T,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>>
where
    E: wadesk_app::error::Retryable + std::error::Error + Send + Sync + 'static,
{
    match handled {
        Ok(answer) => Ok(answer),
        Err(error) => match wadesk_app::error::settle(what, error) {
            Some(error) => Err(Box::new(error)),
            None => Ok(acknowledged),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wadesk_app::desk::DeskFailure;
    use wadesk_app::StoreError;
    use wadesk_domain::DeskError;

    #[test]
    fn a_permanent_failure_is_acknowledged_and_a_transient_one_fails_the_invocation() {
        let done: Result<&str, DeskFailure> = Ok("expired");
        assert_eq!(
            settle_invocation("a fire", done, "refused").unwrap(),
            "expired"
        );
        let refused: Result<&str, DeskFailure> = Err(DeskError::NotOffered.into());
        assert_eq!(
            settle_invocation("a fire", refused, "refused").unwrap(),
            "refused"
        );
        let outage: Result<&str, DeskFailure> =
            Err(StoreError::new("get_item", std::io::Error::other("connection refused")).into());
        let failed = settle_invocation("a fire", outage, "refused").unwrap_err();
        assert_eq!(failed.to_string(), "store operation `get_item` failed");
    }
}
