use std::env;
use std::net::SocketAddr;

/// The runner's settings, each with a local default that is printed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `WADESK_LISTEN`: 127.0.0.1 only unless told otherwise.
    pub listen: SocketAddr,
    /// `WADESK_JWT_SECRET`: HS256 secret for agent tokens.
    pub jwt_secret: String,
    /// `WHATSAPP_APP_SECRET`: signs simulated inbound messages; verifies real ones.
    pub app_secret: String,
    /// `WHATSAPP_VERIFY_TOKEN`: for `GET /webhook`.
    pub verify_token: String,
    /// `WADESK_PHONE_NUMBER_ID` / `WADESK_DISPLAY_PHONE_NUMBER`: the demo channel.
    pub phone_number_id: String,
    pub display_phone_number: String,
    /// `WADESK_TABLE`: the table used when `AWS_ENDPOINT_URL` points at DynamoDB.
    pub table: String,
    /// `WADESK_OFFER_TIMEOUT_SECONDS`: how long an offer waits (default 30).
    pub offer_timeout_seconds: i64,
    /// `WHATSAPP_GRAPH_API_TOKEN`: when set, messages really go to WhatsApp.
    pub graph_api_token: Option<String>,
    /// `WHATSAPP_GRAPH_API_BASE_URL`.
    pub graph_api_base_url: String,
    /// `WADESK_BOOTSTRAP_ADMINS`: subjects that act as admins until the
    /// directory lists them (comma-separated; default `admin`).
    pub bootstrap_admins: Vec<wadesk_domain::AgentId>,
    /// `WADESK_CONSOLE_DIR`: the built console served at `/console/`
    /// (default: the repository's `console/dist`).
    pub console_dir: std::path::PathBuf,
    /// `WADESK_MEDIA_RETENTION_DAYS`: how long files are served (default 30).
    pub media_retention_days: u32,
}

/// The request body the runner reads at most (a webhook batch, an agent's
/// request); larger ones are answered 413 without being read.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            jwt_secret: "local-jwt-secret".into(),
            app_secret: "local-app-secret".into(),
            verify_token: "local-verify-token".into(),
            phone_number_id: "100000000000001".into(),
            display_phone_number: "+1 555 0100".into(),
            table: "wadesk-local".into(),
            offer_timeout_seconds: wadesk_app::DEFAULT_OFFER_TIMEOUT_SECONDS,
            graph_api_token: None,
            graph_api_base_url: "https://graph.facebook.com/v21.0".into(),
            bootstrap_admins: wadesk_aws::identity::parse_bootstrap_admins("admin"),
            console_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../console/dist"),
            media_retention_days: wadesk_domain::media::DEFAULT_RETENTION_DAYS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("WADESK_LISTEN is not an address like 127.0.0.1:8080")]
pub struct BadListenAddress;

impl Settings {
    /// Whether the runner listens on loopback only (anything else exposes a
    /// stack whose secrets are printed defaults).
    pub fn listens_on_loopback(&self) -> bool {
        self.listen.ip().is_loopback()
    }

    pub fn from_env() -> Result<Self, BadListenAddress> {
        let defaults = Self::default();
        let var = |name: &str, default: String| {
            env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
        };
        let listen = match env::var("WADESK_LISTEN") {
            Ok(value) if !value.is_empty() => value.parse().map_err(|_| BadListenAddress)?,
            _ => defaults.listen,
        };
        Ok(Self {
            listen,
            jwt_secret: var("WADESK_JWT_SECRET", defaults.jwt_secret),
            app_secret: var("WHATSAPP_APP_SECRET", defaults.app_secret),
            verify_token: var("WHATSAPP_VERIFY_TOKEN", defaults.verify_token),
            phone_number_id: var("WADESK_PHONE_NUMBER_ID", defaults.phone_number_id),
            display_phone_number: var("WADESK_DISPLAY_PHONE_NUMBER", defaults.display_phone_number),
            table: var("WADESK_TABLE", defaults.table),
            offer_timeout_seconds: env::var("WADESK_OFFER_TIMEOUT_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|s| (1..=3600).contains(s))
                .unwrap_or(defaults.offer_timeout_seconds),
            graph_api_token: env::var("WHATSAPP_GRAPH_API_TOKEN")
                .ok()
                .filter(|v| !v.is_empty()),
            graph_api_base_url: var("WHATSAPP_GRAPH_API_BASE_URL", defaults.graph_api_base_url),
            bootstrap_admins: match env::var("WADESK_BOOTSTRAP_ADMINS") {
                Ok(raw) if !raw.trim().is_empty() => {
                    wadesk_aws::identity::parse_bootstrap_admins(&raw)
                }
                _ => defaults.bootstrap_admins,
            },
            console_dir: env::var_os("WADESK_CONSOLE_DIR")
                .filter(|v| !v.is_empty())
                .map_or(defaults.console_dir, std::path::PathBuf::from),
            media_retention_days: env::var("WADESK_MEDIA_RETENTION_DAYS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|d| (1..=3650).contains(d))
                .unwrap_or(defaults.media_retention_days),
        })
    }
}
