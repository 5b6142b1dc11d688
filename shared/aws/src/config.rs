//! Settings every function reads from its environment at start-up.

use std::env;

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is not set")]
pub struct MissingSetting {
    pub name: &'static str,
}

/// Reads a required setting.
pub fn required(name: &'static str) -> Result<String, MissingSetting> {
    env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(MissingSetting { name })
}

/// Names of the AWS resources the functions use (set by the SAM template).
#[derive(Debug, Clone)]
pub struct Resources {
    pub table: String,
    pub event_bus: String,
    pub schedule_group: String,
    pub timers_target_arn: String,
    pub scheduler_role_arn: String,
    /// Where Scheduler sends a fire it could not deliver (none: dropped).
    pub schedule_dead_letter_queue: Option<String>,
}

impl Resources {
    /// The named resources, with no dead-letter queue for Scheduler.
    pub fn new(
        table: impl Into<String>,
        event_bus: impl Into<String>,
        schedule_group: impl Into<String>,
        timers_target_arn: impl Into<String>,
        scheduler_role_arn: impl Into<String>,
    ) -> Self {
        Self {
            table: table.into(),
            event_bus: event_bus.into(),
            schedule_group: schedule_group.into(),
            timers_target_arn: timers_target_arn.into(),
            scheduler_role_arn: scheduler_role_arn.into(),
            schedule_dead_letter_queue: None,
        }
    }

    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self {
            table: required("WADESK_TABLE")?,
            event_bus: required("WADESK_EVENT_BUS")?,
            schedule_group: required("WADESK_SCHEDULE_GROUP")?,
            timers_target_arn: required("WADESK_TIMERS_TARGET_ARN")?,
            scheduler_role_arn: required("WADESK_SCHEDULER_ROLE_ARN")?,
            schedule_dead_letter_queue: std::env::var("WADESK_SCHEDULE_DLQ_ARN")
                .ok()
                .filter(|v| !v.is_empty()),
        })
    }
}

/// The shared SDK configuration, built once per process, for a function on
/// Lambda: region and credentials from the variables Lambda sets
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), `AWS_ENDPOINT_URL` honoured (benchmarks, moto).
///
/// Not `aws_config::defaults(..).load()`: its provider chains (profile files,
/// SSO, STS web identity, IMDS, ECS) are of no use on Lambda and link about
/// half a megabyte into every function. The clients' own defaults (HTTP
/// client, retries, time-outs, sleep) are the same either way.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_config::meta::region::ProvideRegion;

    let region = aws_config::environment::EnvironmentVariableRegionProvider::new()
        .region()
        .await;
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            ),
        );
    if let Some(endpoint) = env::var("AWS_ENDPOINT_URL").ok().filter(|v| !v.is_empty()) {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}
