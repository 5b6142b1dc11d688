//! `startup-probe`: a Lambda that does one part of the functions' start-up,
//! chosen by `WADESK_PROBE`, then serves an echo handler. `lambda-startup`
//! times each mode to its first poll, so the differences show what a cold
//! start of the real functions is made of:
//!
//! | mode | start-up before the first poll |
//! | --- | --- |
//! | `runtime` | nothing: the Lambda runtime alone |
//! | `logs` | the JSON logs every function sets up |
//! | `sdk-config` | logs, then the AWS SDK configuration (`aws_config` defaults: region, credentials chain) |
//! | `sdk-clients` | `sdk-config`, plus the DynamoDB, EventBridge and Scheduler clients |
//! | `graph-client` | logs, then the Graph API client (its TLS configuration and root certificates) |
//! | `lambda-app` | what every function does: logs and `wadesk_aws::lambda::lambda_app()` |
// The SDK futures nest deeply; the default limit is too low for their layout.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use wadesk_aws::{config, lambda::lambda_app, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mode = std::env::var("WADESK_PROBE").unwrap_or_default();
    // Kept alive until the process ends, as the functions keep theirs.
    let mut keep: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    match mode.as_str() {
        "runtime" => {}
        "logs" => telemetry::init_json_logs(),
        "sdk-config" => {
            telemetry::init_json_logs();
            keep.push(Box::new(config::load_sdk_config().await));
        }
        "sdk-clients" => {
            telemetry::init_json_logs();
            let sdk = config::load_sdk_config().await;
            keep.push(Box::new(aws_sdk_dynamodb::Client::new(&sdk)));
            keep.push(Box::new(aws_sdk_eventbridge::Client::new(&sdk)));
            keep.push(Box::new(aws_sdk_scheduler::Client::new(&sdk)));
        }
        "graph-client" => {
            telemetry::init_json_logs();
            keep.push(Box::new(wadesk_graph::GraphApiClient::new(
                "https://graph.facebook.com/v21.0",
                config::required("WHATSAPP_GRAPH_API_TOKEN")?,
            )?));
        }
        "lambda-app" => {
            telemetry::init_json_logs();
            keep.push(Box::new(lambda_app().await?));
        }
        other => return Err(format!("WADESK_PROBE `{other}` is not a mode").into()),
    }
    let keep = &keep;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let _ = keep.len();
        Ok::<_, Error>(event.payload)
    }))
    .await
}
