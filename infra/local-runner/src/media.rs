//! Files on one machine: the upload endpoint the console posts to (the
//! stand-in of S3's presigned POST, same form), and the stand-in of the Graph
//! API's media endpoints that serves a simulated customer's file to the
//! media fetcher.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use wadesk_app::embedded::{LocalMedia, UploadRefused};
use wadesk_app::ports::{FetchError, FetchedMedia, MediaSource};

/// The largest form the upload endpoint reads: the 10 MB file plus its fields.
pub const MAX_UPLOAD_FORM_BYTES: usize = 10 * 1024 * 1024 + 64 * 1024;

/// A customer's file and its type, as the Graph API holds it.
type HeldFile = (Vec<u8>, String);

/// Customers' files as the Graph API would hold them, by media id.
#[derive(Debug, Clone, Default)]
pub struct LocalGraphMedia {
    files: Arc<Mutex<HashMap<String, HeldFile>>>,
}

impl LocalGraphMedia {
    /// Holds `bytes` as a customer's file; answers its media id.
    pub fn add(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        let id = format!("{}", uuid::Uuid::now_v7().as_u128() % 10u128.pow(18));
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), (bytes, mime_type.to_owned()));
        id
    }
}

impl MediaSource for LocalGraphMedia {
    async fn fetch(&self, media_id: &str, max_bytes: u64) -> Result<FetchedMedia, FetchError> {
        let (bytes, mime_type) = self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(media_id)
            .cloned()
            .ok_or(FetchError::Refused { status: 404 })?;
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > max_bytes {
            return Err(FetchError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        Ok(FetchedMedia {
            bytes,
            mime_type: Some(mime_type),
        })
    }
}

/// Why a posted form could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("the body must be multipart/form-data with a boundary")]
    NotMultipart,
    #[error("the form is malformed")]
    Malformed,
    #[error("the form has no file field")]
    NoFile,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

/// The `name` of a part from its headers, and whether it is a file.
fn part_name(headers: &str) -> Option<(String, bool)> {
    let disposition = headers.lines().find(|line| {
        line.to_ascii_lowercase()
            .starts_with("content-disposition:")
    })?;
    let mut name = None;
    let mut file = false;
    for parameter in disposition.split(';').skip(1) {
        let (key, value) = parameter.trim().split_once('=')?;
        let value = value.trim().trim_matches('"').to_owned();
        match key.trim() {
            "name" => name = Some(value),
            "filename" => file = true,
            _ => {}
        }
    }
    Some((name?, file))
}

/// Parses a `multipart/form-data` body as S3 reads a POST upload: the text
/// fields, and the `file` field's bytes (the last field).
pub fn parse_form(
    content_type: &str,
    body: &[u8],
) -> Result<(BTreeMap<String, String>, Vec<u8>), FormError> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|_| content_type.trim_start().starts_with("multipart/form-data"))
        .ok_or(FormError::NotMultipart)?;
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut fields = BTreeMap::new();
    let mut file = None;
    let mut at = find(body, delimiter, 0).ok_or(FormError::Malformed)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            break;
        }
        let start = at + 2; // past CRLF
        let headers_end = find(body, b"\r\n\r\n", start).ok_or(FormError::Malformed)?;
        let headers =
            std::str::from_utf8(&body[start..headers_end]).map_err(|_| FormError::Malformed)?;
        let content_start = headers_end + 4;
        let next = find(body, delimiter, content_start).ok_or(FormError::Malformed)?;
        let content_end = next.checked_sub(2).ok_or(FormError::Malformed)?; // CRLF before it
        let content = body
            .get(content_start..content_end)
            .ok_or(FormError::Malformed)?;
        let (name, is_file) = part_name(headers).ok_or(FormError::Malformed)?;
        if is_file || name == "file" {
            file = Some(content.to_vec());
        } else {
            let value = String::from_utf8(content.to_vec()).map_err(|_| FormError::Malformed)?;
            fields.insert(name, value);
        }
        at = next + delimiter.len();
    }
    Ok((fields, file.ok_or(FormError::NoFile)?))
}

/// What the upload endpoint answers: 204 as S3 does, or a refusal.
pub fn accept(media: &LocalMedia, content_type: &str, body: &[u8]) -> Result<(), (u16, String)> {
    let (fields, file) = parse_form(content_type, body).map_err(|e| (400, e.to_string()))?;
    media.accept_upload(&fields, file).map_err(|error| {
        let status = match error {
            UploadRefused::TooLarge { .. } => 400,
            _ => 403,
        };
        (status, error.to_string())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_form_gives_its_fields_and_its_file() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n-1\r\n--XyZ--\r\n";
        let (fields, file) = parse_form("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(fields["key"], "uploads/1");
        assert_eq!(file, b"%PDF\r\n-1");
        assert!(parse_form("application/json", body).is_err());
    }
}
