use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use wadesk_domain::media::{content_disposition, disposition, UploadPlan};
use wadesk_domain::{AgentId, Clock, ManualClock, Timestamp};

use super::lock;
use crate::ports::{
    decode_metadata, encode_metadata, MediaAccess, MediaStore, MediaStoreError, StoredFile,
    UploadTarget, FILENAME_FIELD, UPLOADER_FIELD,
};

/// The path the local runner takes uploads at (S3's bucket URL on AWS).
pub const LOCAL_UPLOAD_PATH: &str = "/_local/uploads";

/// The form field carrying the local upload's one-time token (where S3's
/// form carries its signed policy).
const TOKEN_FIELD: &str = "policy";

#[derive(Debug, Clone)]
struct Object {
    bytes: Vec<u8>,
    content_type: String,
    filename: Option<String>,
    uploader: Option<AgentId>,
}

#[derive(Debug, Clone)]
struct Pending {
    fields: BTreeMap<String, String>,
    max_bytes: u64,
    expires_at: Timestamp,
}

/// Why the local upload endpoint refused a form: what S3 answers 403 or 400 for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    #[error("no upload target matches this form (unknown key, wrong or missing policy)")]
    UnknownTarget,
    #[error("the upload target expired")]
    Expired,
    #[error("the form's {0} does not match the upload target")]
    FieldMismatch(String),
    #[error("the file is {size} bytes; the upload target takes at most {limit}")]
    TooLarge { size: u64, limit: u64 },
}

/// The local runner's media store: files in memory, and an upload endpoint
/// that enforces what an S3 presigned POST policy would (key, exact type,
/// size, expiry) so the console posts the same form to either.
#[derive(Debug, Clone)]
pub struct LocalMedia {
    objects: Arc<Mutex<HashMap<String, Object>>>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    /// Where the runner listens, e.g. `http://127.0.0.1:8080` (known once bound).
    base_url: Arc<RwLock<String>>,
    clock: ManualClock,
}

impl LocalMedia {
    pub fn new(clock: ManualClock) -> Self {
        Self {
            objects: Arc::default(),
            pending: Arc::default(),
            base_url: Arc::new(RwLock::new("http://127.0.0.1".to_owned())),
            clock,
        }
    }

    /// Sets the runner's address, for the upload targets' URL.
    pub fn set_base_url(&self, base_url: &str) {
        let mut current = self
            .base_url
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        base_url.trim_end_matches('/').clone_into(&mut current);
    }

    fn url(&self) -> String {
        let base = self
            .base_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        format!("{base}{LOCAL_UPLOAD_PATH}")
    }

    /// Takes a posted form: its fields and the file. Enforced as S3 enforces
    /// a presigned POST's policy: every field the target named, the same
    /// values, no more bytes than allowed, before the expiry.
    pub fn accept_upload(
        &self,
        fields: &BTreeMap<String, String>,
        file: Vec<u8>,
    ) -> Result<(), UploadRefused> {
        let key = fields.get("key").ok_or(UploadRefused::UnknownTarget)?;
        let pending = lock(&self.pending)
            .get(key)
            .cloned()
            .ok_or(UploadRefused::UnknownTarget)?;
        if pending.fields.get(TOKEN_FIELD) != fields.get(TOKEN_FIELD) {
            return Err(UploadRefused::UnknownTarget);
        }
        if self.clock.now() > pending.expires_at {
            return Err(UploadRefused::Expired);
        }
        for (name, value) in &pending.fields {
            // Field names are case-insensitive in S3's forms.
            let given = fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v);
            if given != Some(value) {
                return Err(UploadRefused::FieldMismatch(name.clone()));
            }
        }
        let size = u64::try_from(file.len()).unwrap_or(u64::MAX);
        if size > pending.max_bytes {
            return Err(UploadRefused::TooLarge {
                size,
                limit: pending.max_bytes,
            });
        }
        let object = Object {
            bytes: file,
            content_type: pending
                .fields
                .get("Content-Type")
                .cloned()
                .unwrap_or_default(),
            filename: pending
                .fields
                .get(FILENAME_FIELD)
                .and_then(|v| decode_metadata(v)),
            uploader: pending
                .fields
                .get(UPLOADER_FIELD)
                .and_then(|v| decode_metadata(v))
                .and_then(|v| AgentId::parse(v).ok()),
        };
        lock(&self.objects).insert(key.clone(), object);
        Ok(())
    }

    /// Keys of the files kept, for tools.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.objects).keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl MediaStore for LocalMedia {
    async fn upload_target(
        &self,
        plan: &UploadPlan,
        uploader: &AgentId,
    ) -> Result<UploadTarget, MediaStoreError> {
        let mut fields = BTreeMap::new();
        fields.insert("key".to_owned(), plan.key.clone());
        fields.insert("Content-Type".to_owned(), plan.content_type.clone());
        fields.insert(FILENAME_FIELD.to_owned(), encode_metadata(&plan.filename));
        fields.insert(
            UPLOADER_FIELD.to_owned(),
            encode_metadata(uploader.as_str()),
        );
        fields.insert(
            TOKEN_FIELD.to_owned(),
            uuid::Uuid::new_v4().simple().to_string(),
        );
        lock(&self.pending).insert(
            plan.key.clone(),
            Pending {
                fields: fields.clone(),
                max_bytes: plan.max_bytes,
                expires_at: plan.expires_at,
            },
        );
        Ok(UploadTarget {
            url: self.url(),
            fields,
            expires_at: plan.expires_at,
        })
    }

    async fn read(&self, key: &str, max_bytes: u64) -> Result<Option<StoredFile>, MediaStoreError> {
        let Some(object) = lock(&self.objects).get(key).cloned() else {
            return Ok(None);
        };
        let size = u64::try_from(object.bytes.len()).unwrap_or(u64::MAX);
        if size > max_bytes {
            return Err(MediaStoreError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        Ok(Some(StoredFile {
            bytes: object.bytes,
            content_type: Some(object.content_type),
            filename: object.filename,
            uploader: object.uploader,
        }))
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), MediaStoreError> {
        lock(&self.objects).insert(
            key.to_owned(),
            Object {
                bytes,
                content_type: content_type.to_owned(),
                filename: None,
                uploader: None,
            },
        );
        Ok(())
    }

    async fn open(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> Result<Option<MediaAccess>, MediaStoreError> {
        let Some(object) = lock(&self.objects).get(key).cloned() else {
            return Ok(None);
        };
        let filename = filename.or(object.filename.as_deref());
        Ok(Some(MediaAccess::Bytes {
            content_disposition: content_disposition(disposition(&object.content_type), filename),
            content_type: object.content_type,
            bytes: object.bytes,
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        lock(&self.objects).remove(key);
        Ok(())
    }
}
