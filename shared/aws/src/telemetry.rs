//! Logging for the Lambda functions: JSON lines that CloudWatch parses, level
//! from Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (default `info`).

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The log filter: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls),
/// else `RUST_LOG` (`info`, or `target=level,...` directives), else `info`.
///
/// `Targets` rather than `EnvFilter`: the same directives without span-field
/// matching, and without the regex engine `EnvFilter` links into every binary.
pub fn filter_from_env() -> Targets {
    ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .and_then(|value| Targets::from_str(value.trim()).ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

pub fn init_json_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time() // CloudWatch stamps every line
        .with_target(false)
        .finish()
        .with(filter_from_env())
        .init();
}
