//! Logging for the Lambda functions: JSON lines that CloudWatch parses, level
//! from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init_json_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time() // CloudWatch stamps every line
        .with_target(false)
        .init();
}
