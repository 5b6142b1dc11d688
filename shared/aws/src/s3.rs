//! The media store on S3: agents' uploads under `uploads/`, customers' media
//! under `inbound/`, in one private, encrypted bucket whose lifecycle deletes
//! both after the retention (`infra/template.yaml`).
//!
//! An upload is a presigned POST: the browser posts the file straight to S3
//! with a policy S3 enforces (this key, this exact `Content-Type`, at most
//! 10 MB, the uploader's name and the file's name as metadata, 15 minutes).
//! A PUT URL could not limit the size. A kept file is handed out as a
//! presigned GET of five minutes that sets the answer's type and
//! `Content-Disposition`.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;

use crate::s3_signed::PostPolicy;
use wadesk_app::ports::{
    decode_metadata, MediaAccess, MediaStore, MediaStoreError, StoredFile, UploadTarget,
    FILENAME_FIELD, UPLOADER_FIELD,
};
use wadesk_domain::media::{content_disposition, disposition, UploadPlan};
use wadesk_domain::AgentId;

pub use crate::s3_signed::{S3ConfigError, DOWNLOAD_LINK_TTL};

/// The media store in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3MediaStore {
    client: Client,
    bucket: String,
    region: String,
    credentials: SharedCredentialsProvider,
    /// Where browsers post uploads: the bucket's own endpoint.
    upload_url: String,
}

impl S3MediaStore {
    /// The store for `bucket`, with the SDK configuration's region and
    /// credentials (which also sign the presigned POSTs). With an endpoint
    /// override (moto, a local stand-in) the bucket is addressed by path.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bucket: impl Into<String>,
    ) -> Result<Self, S3ConfigError> {
        let bucket = bucket.into();
        let region = sdk.region().ok_or(S3ConfigError::NoRegion)?.to_string();
        let credentials = sdk
            .credentials_provider()
            .ok_or(S3ConfigError::NoCredentials)?;
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        let upload_url = match sdk.endpoint_url() {
            Some(endpoint) => {
                config = config.force_path_style(true);
                format!("{}/{bucket}", endpoint.trim_end_matches('/'))
            }
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket,
            region,
            credentials,
            upload_url,
        })
    }

    /// The bucket's client, for tests and tools.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn unavailable<E>(operation: &'static str) -> impl FnOnce(E) -> MediaStoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| MediaStoreError::unavailable(operation, error)
}

impl MediaStore for S3MediaStore {
    async fn upload_target(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> Result<UploadTarget, MediaStoreError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(unavailable("credentials"))?;
        let fields = PostPolicy {
            bucket: &self.bucket,
            region: &self.region,
            access_key: credentials.access_key_id(),
            secret_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            now: chrono::Utc::now(),
        }
        .fields(plan, uploader)?;
        Ok(UploadTarget {
            url: self.upload_url.clone(),
            fields,
            expires_at: plan.expires_at,
        })
    }

    async fn read(&self, key: &str, max_bytes: u64) -> Result<Option<StoredFile>, MediaStoreError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(error) => return Err(MediaStoreError::unavailable("get_object", error)),
        };
        let size = object
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        if size > max_bytes {
            return Err(MediaStoreError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        let metadata = object.metadata().cloned().unwrap_or_default();
        let meta = |name: &str| {
            let short = name.trim_start_matches("x-amz-meta-");
            metadata.get(short).and_then(|v| decode_metadata(v))
        };
        let content_type = object.content_type().map(str::to_owned);
        let bytes = object
            .body
            .collect()
            .await
            .map_err(unavailable("read_object"))?
            .into_bytes()
            .to_vec();
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes {
            return Err(MediaStoreError::TooLarge {
                size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                limit: max_bytes,
            });
        }
        Ok(Some(StoredFile {
            bytes,
            content_type,
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
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            .body(bytes.into())
            .send()
            .await
            .map_err(unavailable("put_object"))?;
        Ok(())
    }

    async fn open(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> Result<Option<MediaAccess>, MediaStoreError> {
        let head = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
                return Ok(None)
            }
            Err(error) => return Err(MediaStoreError::unavailable("head_object", error)),
        };
        let content_type = head
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let stored_name = head
            .metadata()
            .and_then(|m| m.get("filename"))
            .and_then(|v| decode_metadata(v));
        let filename = filename.map(str::to_owned).or(stored_name);
        let presigning =
            PresigningConfig::expires_in(DOWNLOAD_LINK_TTL).map_err(unavailable("presign"))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(&content_type)
            .response_content_disposition(content_disposition(
                disposition(&content_type),
                filename.as_deref(),
            ))
            .response_cache_control("private, no-store")
            .presigned(presigning)
            .await
            .map_err(unavailable("presign"))?;
        Ok(Some(MediaAccess::Redirect {
            url: request.uri().to_owned(),
        }))
    }

    /// S3 answers a delete of a missing key as a success.
    async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable("delete"))?;
        Ok(())
    }
}

/// Creates `bucket` as the template declares it (tests, moto): private (all
/// public access blocked), encrypted by default, its files deleted
/// `retention_days` after they were written. Idempotent.
pub async fn create_bucket(
    client: &Client,
    bucket: &str,
    retention_days: u32,
) -> Result<(), MediaStoreError> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
        ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    };
    let build = |e: aws_sdk_s3::error::BuildError| MediaStoreError::unavailable("create_bucket", e);
    match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) => {}
        Err(error) => return Err(MediaStoreError::unavailable("create_bucket", error)),
    }
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(unavailable("put_public_access_block"))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .map_err(build)?,
                        )
                        .build(),
                )
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(unavailable("put_bucket_encryption"))?;
    let days = i32::try_from(retention_days).unwrap_or(i32::MAX);
    let mut rules = Vec::new();
    for prefix in ["uploads/", "inbound/"] {
        rules.push(
            LifecycleRule::builder()
                .id(format!("expire-{}", prefix.trim_end_matches('/')))
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
                .expiration(LifecycleExpiration::builder().days(days).build())
                .build()
                .map_err(build)?,
        );
    }
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(unavailable("put_bucket_lifecycle_configuration"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
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
