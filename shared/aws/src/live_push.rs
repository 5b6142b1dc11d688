//! The push to a console socket on AWS: `POST @connections/{id}` on the
//! WebSocket API's management endpoint, signed with SigV4 (`execute-api`) on
//! the shared HTTP stack (`crate::signed_http`) instead of the
//! `aws-sdk-apigatewaymanagement` client.

use std::time::Duration;

use aws_sigv4::http_request::SigningSettings;
use bytes::Bytes;
use http::{Method, StatusCode};
use wadesk_app::ports::{LivePush, PushError, Pushed};

use crate::config::{required, MissingSetting};
use crate::signed_http::{Payload, SignedHttp, SigningConfigError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection ids are path segments (they end in `=`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum ManagementApiConfigError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error(transparent)]
    Signing(#[from] SigningConfigError),
}

#[derive(Debug, thiserror::Error)]
#[error("the management API answered {status}: {detail}")]
struct Refused {
    status: StatusCode,
    detail: String,
}

/// One WebSocket API stage's management endpoint.
#[derive(Debug, Clone)]
pub struct ManagementApi {
    http: SignedHttp,
    /// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`, no trailing slash.
    endpoint: String,
}

impl ManagementApi {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: impl Into<String>,
    ) -> Result<Self, SigningConfigError> {
        Ok(Self {
            http: SignedHttp::new(sdk, "execute-api", CONNECT_TIMEOUT, REQUEST_TIMEOUT)?,
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
        })
    }

    /// The endpoint from `WADESK_LIVE_ENDPOINT`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ManagementApiConfigError> {
        Ok(Self::new(sdk, required("WADESK_LIVE_ENDPOINT")?)?)
    }
}

impl LivePush for ManagementApi {
    #[tracing::instrument(skip_all, err)]
    async fn push(&self, connection: &str, text: &str) -> Result<Pushed, PushError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| PushError {
            connection: connection.to_owned(),
            source,
        };
        let url = format!(
            "{}/@connections/{}",
            self.endpoint,
            percent_encoding::utf8_percent_encode(connection, SEGMENT)
        );
        let body = Bytes::copy_from_slice(text.as_bytes());
        // The SDK's defaults for every service but S3: the path is encoded
        // once more and normalised in the canonical request.
        let request = self
            .http
            .signed(
                Method::POST,
                &url,
                &[("content-type", "application/json")],
                body.clone(),
                Payload::Signed(&body),
                SigningSettings::default(),
            )
            .await
            .map_err(|e| failed(e.into()))?;
        let (status, _, answer) = self
            .http
            .exchange(request, 4096)
            .await
            .map_err(|e| failed(e.into()))?;
        match status {
            status if status.is_success() => Ok(Pushed::Delivered),
            StatusCode::GONE => Ok(Pushed::Gone),
            status => Err(failed(Box::new(Refused {
                status,
                detail: answer
                    .map(|b| String::from_utf8_lossy(&b).chars().take(300).collect())
                    .unwrap_or_default(),
            }))),
        }
    }
}
