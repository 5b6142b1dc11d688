use std::fmt;

use wadesk_aws::config::{required, MissingSetting};

/// The webhook's secrets. `Debug` never prints them.
#[derive(Clone)]
pub struct WebhookSettings {
    app_secret: Vec<u8>,
    verify_token: String,
}

impl WebhookSettings {
    pub fn new(app_secret: impl Into<Vec<u8>>, verify_token: impl Into<String>) -> Self {
        Self {
            app_secret: app_secret.into(),
            verify_token: verify_token.into(),
        }
    }

    /// `WHATSAPP_APP_SECRET` and `WHATSAPP_VERIFY_TOKEN`.
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self::new(
            required("WHATSAPP_APP_SECRET")?,
            required("WHATSAPP_VERIFY_TOKEN")?,
        ))
    }

    pub fn app_secret(&self) -> &[u8] {
        &self.app_secret
    }

    pub fn verify_token(&self) -> &str {
        &self.verify_token
    }
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings").finish_non_exhaustive()
    }
}
