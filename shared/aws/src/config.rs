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
    pub window_expiry_target_arn: String,
    pub scheduler_role_arn: String,
}

impl Resources {
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self {
            table: required("WADESK_TABLE")?,
            event_bus: required("WADESK_EVENT_BUS")?,
            schedule_group: required("WADESK_SCHEDULE_GROUP")?,
            window_expiry_target_arn: required("WADESK_WINDOW_EXPIRY_TARGET_ARN")?,
            scheduler_role_arn: required("WADESK_SCHEDULER_ROLE_ARN")?,
        })
    }
}

/// The shared SDK configuration, built once per process.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
