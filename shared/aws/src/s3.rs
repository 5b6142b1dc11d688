//! The media bucket with the S3 SDK client beside it, for tests and tools:
//! bucket administration ([`create_bucket`], reading its lifecycle, listing
//! keys). As a [`MediaStore`] it is the functions' own
//! [`SignedS3MediaStore`](crate::s3_signed::SignedS3MediaStore): one adapter
//! decides how files are read, kept, handed out and deleted.

use aws_sdk_s3::Client;
use wadesk_app::ports::{MediaAccess, MediaStore, MediaStoreError, StoredFile, UploadTarget};
use wadesk_domain::media::UploadPlan;
use wadesk_domain::AgentId;

use crate::s3_signed::SignedS3MediaStore;
pub use crate::s3_signed::{S3ConfigError, DOWNLOAD_LINK_TTL};

/// The media store in one S3 bucket, with the bucket's SDK client.
#[derive(Debug, Clone)]
pub struct S3MediaStore {
    client: Client,
    bucket: String,
    store: SignedS3MediaStore,
}

impl S3MediaStore {
    /// The store for `bucket`, with the SDK configuration's region and
    /// credentials. With an endpoint override (moto, a local stand-in) the
    /// bucket is addressed by path.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        bucket: impl Into<String>,
    ) -> Result<Self, S3ConfigError> {
        let bucket = bucket.into();
        let store = SignedS3MediaStore::new(sdk, &bucket)?;
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        if sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        Ok(Self {
            client: Client::from_conf(config.build()),
            bucket,
            store,
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

impl MediaStore for S3MediaStore {
    async fn upload_target(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> Result<UploadTarget, MediaStoreError> {
        self.store.upload_target(plan, uploader).await
    }

    async fn read(&self, key: &str, max_bytes: u64) -> Result<Option<StoredFile>, MediaStoreError> {
        self.store.read(key, max_bytes).await
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), MediaStoreError> {
        self.store.put(key, bytes, content_type).await
    }

    async fn open(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> Result<Option<MediaAccess>, MediaStoreError> {
        self.store.open(key, filename).await
    }

    async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        self.store.delete(key).await
    }
}

fn unavailable<E>(operation: &'static str) -> impl FnOnce(E) -> MediaStoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| MediaStoreError::unavailable(operation, error)
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
