//! The media store on S3 without the S3 SDK client: each request is signed
//! with SigV4 and sent on the hyper client the Graph API client builds
//! (`crate::signed_http`), so a function keeping files links no
//! second HTTP stack and none of the S3 client's code (about 1.7 MB, which
//! took the agent API past its size budget). The same bucket, keys, metadata
//! and presigned POST as [`crate::s3::S3MediaStore`], which the tests and
//! tools keep for bucket administration.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use wadesk_app::ports::{
    decode_metadata, encode_metadata, MediaAccess, MediaStore, MediaStoreError, StoredFile,
    UploadTarget, FILENAME_FIELD, UPLOADER_FIELD,
};
use wadesk_domain::media::{content_disposition, disposition, UploadPlan};
use wadesk_domain::AgentId;

use crate::signed_http::{Answer, Payload, SignedHttp};

/// How long a presigned GET of a kept file works.
pub const DOWNLOAD_LINK_TTL: Duration = Duration::from_secs(5 * 60);

/// One request to S3, the body included (10 MB at most).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Object keys are signed and sent as they are but for these characters.
const KEY_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Query values: everything but SigV4's unreserved characters.
const QUERY_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub use crate::signed_http::SigningConfigError as S3ConfigError;

/// The media store in one S3 bucket, over signed HTTP requests.
#[derive(Clone)]
pub struct SignedS3MediaStore {
    /// Built lazily (most invocations of the agent API never touch a file).
    http: SignedHttp,
    bucket: String,
    /// The bucket's URL without a trailing slash: virtual-hosted on AWS,
    /// path-style under an endpoint override (moto, a local stand-in).
    bucket_url: String,
}

impl std::fmt::Debug for SignedS3MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedS3MediaStore")
            .field("bucket_url", &self.bucket_url)
            .finish_non_exhaustive()
    }
}

impl SignedS3MediaStore {
    /// The store for `bucket`, with the SDK configuration's region,
    /// credentials and endpoint override.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bucket: impl Into<String>,
    ) -> Result<Self, S3ConfigError> {
        let bucket = bucket.into();
        let http = SignedHttp::new(sdk, "s3", CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        let bucket_url = match sdk.endpoint_url() {
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{}.amazonaws.com", http.region()),
        };
        Ok(Self {
            http,
            bucket,
            bucket_url,
        })
    }

    fn object_url(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.bucket_url,
            percent_encoding::utf8_percent_encode(key, KEY_ESCAPES)
        )
    }

    /// `method` on `url` signed as S3 wants it (single-encoded path, not
    /// normalised, `x-amz-content-sha256`); `presign` puts the signature in
    /// the query for that long instead of the headers.
    async fn signed(
        &self,
        operation: &'static str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        presign: Option<Duration>,
    ) -> Result<Request<Full<Bytes>>, MediaStoreError> {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        if let Some(expires_in) = presign {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires_in);
            settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        }
        let signed_body = body.clone();
        let payload = if presign.is_some() {
            Payload::Unsigned
        } else {
            Payload::Signed(&signed_body)
        };
        self.http
            .signed(method, url, headers, body, payload, settings)
            .await
            .map_err(|e| MediaStoreError::unavailable(operation, e))
    }

    /// Sends `request`; the answer's status, headers and up to `max_body`
    /// bytes of body (`None`: the body is larger).
    async fn exchange(
        &self,
        operation: &'static str,
        request: Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<Answer, MediaStoreError> {
        self.http
            .exchange(request, max_body)
            .await
            .map_err(|e| MediaStoreError::unavailable(operation, e))
    }
}

/// S3's answer as an error (its XML says why; it names no customer data).
fn refused(operation: &'static str, status: StatusCode, body: Option<&Bytes>) -> MediaStoreError {
    let detail: String = body
        .map(|b| String::from_utf8_lossy(b).chars().take(300).collect())
        .unwrap_or_default();
    MediaStoreError::unavailable(operation, format!("S3 answered {status}: {detail}"))
}

fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl MediaStore for SignedS3MediaStore {
    async fn upload_target(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> Result<UploadTarget, MediaStoreError> {
        let credentials = self
            .http
            .credentials()
            .await
            .map_err(|e| MediaStoreError::unavailable("credentials", e))?;
        let fields = PostPolicy {
            bucket: &self.bucket,
            region: self.http.region(),
            access_key: credentials.access_key_id(),
            secret_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            now: chrono::Utc::now(),
        }
        .fields(plan, uploader)?;
        Ok(UploadTarget {
            url: self.bucket_url.clone(),
            fields,
            expires_at: plan.expires_at,
        })
    }

    async fn read(&self, key: &str, max_bytes: u64) -> Result<Option<StoredFile>, MediaStoreError> {
        let url = self.object_url(key);
        let request = self
            .signed("get_object", Method::GET, &url, &[], Bytes::new(), None)
            .await?;
        let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let (status, headers, body) = self.exchange("get_object", request, limit).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let announced = header(&headers, "content-length").and_then(|v| v.parse::<u64>().ok());
        let Some(bytes) = body.filter(|_| status.is_success()) else {
            if status.is_success() {
                return Err(MediaStoreError::TooLarge {
                    size: announced.unwrap_or(max_bytes.saturating_add(1)),
                    limit: max_bytes,
                });
            }
            return Err(refused("get_object", status, None));
        };
        if !status.is_success() {
            return Err(refused("get_object", status, Some(&bytes)));
        }
        let meta = |name: &str| header(&headers, name).and_then(decode_metadata);
        Ok(Some(StoredFile {
            bytes: bytes.to_vec(),
            content_type: header(&headers, "content-type").map(str::to_owned),
            filename: meta(FILENAME_FIELD),
            uploader: meta(UPLOADER_FIELD).and_then(|v| AgentId::parse(v).ok()),
        }))
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), MediaStoreError> {
        let url = self.object_url(key);
        let headers = [
            ("content-type", content_type),
            ("x-amz-server-side-encryption", "AES256"),
        ];
        let request = self
            .signed(
                "put_object",
                Method::PUT,
                &url,
                &headers,
                Bytes::from(bytes),
                None,
            )
            .await?;
        let (status, _, body) = self.exchange("put_object", request, 64 * 1024).await?;
        if !status.is_success() {
            return Err(refused("put_object", status, body.as_ref()));
        }
        Ok(())
    }

    async fn open(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> Result<Option<MediaAccess>, MediaStoreError> {
        let url = self.object_url(key);
        let request = self
            .signed("head_object", Method::HEAD, &url, &[], Bytes::new(), None)
            .await?;
        let (status, headers, _) = self.exchange("head_object", request, 0).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(refused("head_object", status, None));
        }
        let content_type = header(&headers, "content-type")
            .unwrap_or("application/octet-stream")
            .to_owned();
        let filename = filename
            .map(str::to_owned)
            .or_else(|| header(&headers, FILENAME_FIELD).and_then(decode_metadata));
        // The answer S3 gives the browser: this type, this disposition, no caching.
        // Encoded as SigV4 canonicalises them (`%20`, never `+`), so the
        // signature covers exactly what S3 reads.
        let encode = |v: &str| percent_encoding::utf8_percent_encode(v, QUERY_ESCAPES).to_string();
        let link = format!(
            "{url}?response-cache-control={}&response-content-disposition={}&response-content-type={}",
            encode("private, no-store"),
            encode(&content_disposition(disposition(&content_type), filename.as_deref())),
            encode(&content_type),
        );
        let presigned = self
            .signed(
                "presign",
                Method::GET,
                &link,
                &[],
                Bytes::new(),
                Some(DOWNLOAD_LINK_TTL),
            )
            .await?;
        Ok(Some(MediaAccess::Redirect {
            url: presigned.uri().to_string(),
        }))
    }

    /// S3 answers a delete of a missing key as a success.
    async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        let url = self.object_url(key);
        let request = self
            .signed(
                "delete_object",
                Method::DELETE,
                &url,
                &[],
                Bytes::new(),
                None,
            )
            .await?;
        let (status, _, body) = self.exchange("delete_object", request, 64 * 1024).await?;
        if !status.is_success() && status != StatusCode::NOT_FOUND {
            return Err(refused("delete_object", status, body.as_ref()));
        }
        Ok(())
    }
}

/// The presigned POST's form: the fields S3 checks against the signed policy.
pub(crate) struct PostPolicy<'a> {
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl PostPolicy<'_> {
    /// The form fields for `plan` (SigV4, `AWS4-HMAC-SHA256`).
    pub(crate) fn fields(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> Result<BTreeMap<String, String>, MediaStoreError> {
        let date = self.now.format("%Y%m%d").to_string();
        let amz_date = self.now.format("%Y%m%dT%H%M%SZ").to_string();
        let credential = format!("{}/{date}/{}/s3/aws4_request", self.access_key, self.region);
        let mut fields = BTreeMap::new();
        fields.insert("key".to_owned(), plan.key.clone());
        fields.insert("Content-Type".to_owned(), plan.content_type.clone());
        fields.insert(FILENAME_FIELD.to_owned(), encode_metadata(&plan.filename));
        fields.insert(
            UPLOADER_FIELD.to_owned(),
            encode_metadata(uploader.as_str()),
        );
        fields.insert("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned());
        fields.insert("x-amz-credential".to_owned(), credential);
        fields.insert("x-amz-date".to_owned(), amz_date);
        if let Some(token) = self.session_token {
            fields.insert("x-amz-security-token".to_owned(), token.to_owned());
        }
        let mut conditions = vec![
            serde_json::json!({"bucket": self.bucket}),
            serde_json::json!(["content-length-range", 1, plan.max_bytes]),
        ];
        conditions.extend(
            fields
                .iter()
                .map(|(name, value)| serde_json::json!({ name: value })),
        );
        let policy = serde_json::json!({
            "expiration": plan.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "conditions": conditions,
        });
        let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        // SigV4 over the policy document, with the SDK's own signing code.
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            self.secret_key,
            self.now.into(),
            self.region,
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
        fields.insert("policy".to_owned(), policy);
        fields.insert("x-amz-signature".to_owned(), signature);
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_policy_names_every_field_the_size_range_and_the_expiry() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let plan = wadesk_domain::media::plan_upload(
            "a.pdf",
            "application/pdf",
            10,
            uuid::Uuid::nil(),
            now,
        )
        .unwrap();
        let fields = PostPolicy {
            bucket: "media",
            region: "eu-west-1",
            access_key: "AKID",
            secret_key: "secret",
            session_token: Some("token"),
            now,
        }
        .fields(&plan, &AgentId::parse("ana").unwrap())
        .unwrap();
        assert_eq!(
            fields["x-amz-credential"],
            "AKID/20260301/eu-west-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-signature"].len(), 64);
        let policy: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(&fields["policy"])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(policy["expiration"], "2026-03-01T12:15:00Z");
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&serde_json::json!(["content-length-range", 1, 10_485_760])));
        assert!(conditions.contains(&serde_json::json!({"Content-Type": "application/pdf"})));
        assert!(conditions.contains(&serde_json::json!({"x-amz-security-token": "token"})));
        assert!(conditions.contains(&serde_json::json!({"bucket": "media"})));
    }
}
