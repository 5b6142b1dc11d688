use std::collections::BTreeMap;
use std::future::Future;

use wadesk_domain::media::UploadPlan;
use wadesk_domain::{AgentId, Timestamp};

/// Where a browser posts an agent's file: an HTML form POST (`multipart/form-data`)
/// to `url` with `fields` first and the file last, as S3's presigned POST takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    pub url: String,
    pub fields: BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

/// A file read back from the media store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub bytes: Vec<u8>,
    /// The `Content-Type` it was stored with.
    pub content_type: Option<String>,
    /// The name the uploader gave it.
    pub filename: Option<String>,
    /// Who uploaded it (an agent's upload only).
    pub uploader: Option<AgentId>,
}

/// How a browser gets a kept file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaAccess {
    /// A short-lived link to the store itself (S3: a presigned GET that sets
    /// the type and `Content-Disposition` of the answer).
    Redirect { url: String },
    /// The bytes themselves (the local store).
    Bytes {
        bytes: Vec<u8>,
        content_type: String,
        content_disposition: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MediaStoreError {
    /// The object is larger than the caller may read.
    #[error("the stored file is {size} bytes, over the {limit} bytes allowed")]
    TooLarge { size: u64, limit: u64 },
    /// The store failed (an outage, throttling, a missing permission): worth a retry.
    #[error("media store {operation} failed")]
    Unavailable {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl MediaStoreError {
    pub fn unavailable(
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            operation,
            source: source.into(),
        }
    }
}

/// Where files are kept: agents' uploads and customers' media (S3 on AWS,
/// memory locally). Keys come from `wadesk_domain::media`.
pub trait MediaStore: Send + Sync + 'static {
    /// An upload target that enforces `plan` (its key, exact type and size
    /// limit, its expiry) and records `uploader` with the file.
    fn upload_target(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> impl Future<Output = Result<UploadTarget, MediaStoreError>> + Send;

    /// The file at `key`, if there is one; `TooLarge` beyond `max_bytes`.
    fn read(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Option<StoredFile>, MediaStoreError>> + Send;

    /// Keeps `bytes` at `key` (a customer's media, from the fetcher).
    fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), MediaStoreError>> + Send;

    /// How a browser gets the file at `key`, if there is one: served as its
    /// stored type with the `Content-Disposition` the domain decides for it.
    fn open(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> impl Future<Output = Result<Option<MediaAccess>, MediaStoreError>> + Send;

    /// Deletes the file at `key` (a customer's erasure,
    /// `docs/product.md#11-data-protection`). Deleting a file that is not
    /// there is no error: an erasure step may run twice.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), MediaStoreError>> + Send;
}

/// A file fetched from WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMedia {
    pub bytes: Vec<u8>,
    /// The type WhatsApp names (trusted for nothing but plain text).
    pub mime_type: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// WhatsApp says the file is larger than we keep: never fetched.
    #[error("the media is {size} bytes, over the {limit} bytes kept")]
    TooLarge { size: u64, limit: u64 },
    /// WhatsApp refused for good (an unknown or expired media id, a bad token
    /// scope): a retry gives the same answer.
    #[error("WhatsApp refused the media (HTTP {status})")]
    Refused { status: u16 },
    /// WhatsApp could not be reached or failed: worth retrying.
    #[error("WhatsApp's media could not be fetched")]
    Unavailable {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Fetches a customer's media from WhatsApp: `GET /{media-id}` for a
/// short-lived URL, then that URL with the same token; never more than
/// `max_bytes`.
pub trait MediaSource: Send + Sync + 'static {
    fn fetch(
        &self,
        media_id: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<FetchedMedia, FetchError>> + Send;
}

/// A stand-in for deployments and tests that keep no media: every call is
/// unavailable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMedia;

#[derive(Debug, thiserror::Error)]
#[error("no media store is configured")]
struct NotConfigured;

impl MediaStore for NoMedia {
    async fn upload_target(
        &self,
        _plan: &UploadPlan,
        _uploader: &AgentId,
    ) -> Result<UploadTarget, MediaStoreError> {
        Err(MediaStoreError::unavailable("upload_target", NotConfigured))
    }

    async fn read(&self, _key: &str, _max: u64) -> Result<Option<StoredFile>, MediaStoreError> {
        Err(MediaStoreError::unavailable("read", NotConfigured))
    }

    async fn put(&self, _key: &str, _bytes: Vec<u8>, _ct: &str) -> Result<(), MediaStoreError> {
        Err(MediaStoreError::unavailable("put", NotConfigured))
    }

    async fn open(
        &self,
        _key: &str,
        _filename: Option<&str>,
    ) -> Result<Option<MediaAccess>, MediaStoreError> {
        Err(MediaStoreError::unavailable("open", NotConfigured))
    }

    /// Nothing is kept without a store: nothing to delete.
    async fn delete(&self, _key: &str) -> Result<(), MediaStoreError> {
        Ok(())
    }
}

/// The form field (S3 user metadata) holding the uploader's name for a file.
pub const FILENAME_FIELD: &str = "x-amz-meta-filename";
/// The form field (S3 user metadata) holding who uploaded a file.
pub const UPLOADER_FIELD: &str = "x-amz-meta-uploader";

/// A metadata value as S3 keeps it (US-ASCII): percent-encoded UTF-8.
pub fn encode_metadata(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The value [`encode_metadata`] encoded.
pub fn decode_metadata(value: &str) -> Option<String> {
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}
