//! Secrets read at run time, never from the template into an environment
//! variable: on AWS each function is given the *name* of an SSM Parameter Store
//! SecureString (`…_PARAM`) and may read only that parameter; locally (and in
//! tests) the plain variable holds the value itself.

use std::env;
use std::future::Future;
use std::pin::Pin;

use aws_sdk_ssm::Client;
use wadesk_graph::{TokenError, TokenSource};

use crate::config::MissingSetting;

/// Why a secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error("reading the SSM parameter named by {setting} failed")]
    Read {
        setting: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where one secret is: the SSM parameter named by `{name}_PARAM`, or the
/// value of `{name}` itself.
#[derive(Debug, Clone)]
pub enum Secret {
    Parameter { setting: String, name: String },
    Value(String),
}

impl Secret {
    /// `None` when neither variable is set.
    pub fn from_env(name: &'static str) -> Option<Self> {
        let setting = format!("{name}_PARAM");
        let set = |key: &str| env::var(key).ok().filter(|v| !v.trim().is_empty());
        match (set(&setting), set(name)) {
            (Some(parameter), _) => Some(Self::Parameter {
                setting,
                name: parameter,
            }),
            (None, Some(value)) => Some(Self::Value(value)),
            (None, None) => None,
        }
    }

    pub fn required(name: &'static str) -> Result<Self, SecretError> {
        Self::from_env(name).ok_or(SecretError::Missing(MissingSetting { name }))
    }

    /// The secret's value, read now.
    pub async fn read(&self, ssm: &Client) -> Result<String, SecretError> {
        match self {
            Self::Value(value) => Ok(value.clone()),
            Self::Parameter { setting, name } => {
                let output = ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| SecretError::Read {
                        setting: setting.clone(),
                        source: Box::new(e),
                    })?;
                output
                    .parameter
                    .and_then(|p| p.value)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| SecretError::Read {
                        setting: setting.clone(),
                        source: "the parameter has no value".into(),
                    })
            }
        }
    }
}

/// The Graph API token as a [`TokenSource`]: read again when the client asks
/// (after its TTL, or after a 401).
pub struct SecretTokenSource {
    pub secret: Secret,
    pub ssm: Client,
}

impl TokenSource for SecretTokenSource {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        Box::pin(async move {
            self.secret
                .read(&self.ssm)
                .await
                .map_err(|e| Box::new(e) as TokenError)
        })
    }
}

/// A required secret's value, read once at start-up (`{name}_PARAM` from SSM,
/// else `{name}`).
pub async fn required_secret(name: &'static str) -> Result<String, SecretError> {
    let secret = Secret::required(name)?;
    match &secret {
        Secret::Value(value) => Ok(value.clone()),
        Secret::Parameter { .. } => {
            let sdk = crate::config::load_sdk_config().await;
            secret.read(&Client::new(&sdk)).await
        }
    }
}
