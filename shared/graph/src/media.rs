//! Media through the Graph API: an agent's file uploaded before it is sent
//! (`POST /{phone-number-id}/media`), a customer's fetched
//! (`GET /{media-id}` for a short-lived URL, then that URL with the token).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use wadesk_app::ports::{FetchError, FetchedMedia, MediaSource, SendError};
use wadesk_domain::PhoneNumberId;

use crate::client::{refusal, unavailable, Exchanged, GraphApiClient};
use crate::error::GraphApiError;
use crate::wire::{MediaUrlResponse, UploadResponse};

/// How long an upload or a download may take: a 10 MB file to Meta, or 16 MB
/// from it, well inside the API's 30-second limit and the fetcher's timeout.
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(25);

/// The answers besides the file itself are small JSON.
const MAX_JSON_BYTES: usize = 64 * 1024;

/// A multipart boundary no file can break: checked against the file's bytes.
fn boundary(file: &[u8]) -> String {
    loop {
        let candidate = format!("wadesk-{}", uuid_like());
        if !file
            .windows(candidate.len())
            .any(|window| window == candidate.as_bytes())
        {
            return candidate;
        }
    }
}

/// 32 hex digits from the clock and a counter: unique enough for a boundary.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The form WhatsApp's media endpoint takes: `messaging_product`, `type`, `file`.
fn upload_form(file: &[u8], content_type: &str, filename: &str) -> (String, Vec<u8>) {
    let boundary = boundary(file);
    // A quote or line break in a name would end the header early.
    let safe_name: String = filename
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    let mut body = Vec::with_capacity(file.len() + 512);
    for (name, value) in [("messaging_product", "whatsapp"), ("type", content_type)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload(
    client: &GraphApiClient,
    from: &PhoneNumberId,
    file: &[u8],
    content_type: &str,
    filename: &str,
) -> Result<String, SendError> {
    let (form_type, body) = upload_form(file, content_type, filename);
    let uri = format!("{}/{}/media", client.base_url(), from.as_str());
    let (status, answer) = match client
        .exchange(
            Method::POST,
            &uri,
            Some(&form_type),
            Bytes::from(body),
            MAX_JSON_BYTES,
            MEDIA_TIMEOUT,
        )
        .await?
    {
        Exchanged::Answer(status, answer) => (status, answer),
        Exchanged::TooLong => return Err(unavailable(GraphApiError::TooLong(MAX_JSON_BYTES))),
    };
    if !status.is_success() {
        return Err(refusal(status, &answer));
    }
    let parsed: UploadResponse = serde_json::from_slice(&answer)
        .map_err(|source| unavailable(GraphApiError::UnexpectedBody { status, source }))?;
    Ok(parsed.id)
}

/// A refusal for good, or one worth a retry (5xx, 429, transport).
fn fetch_failure(status: StatusCode) -> FetchError {
    if status.is_client_error()
        && status != StatusCode::TOO_MANY_REQUESTS
        && status != StatusCode::UNAUTHORIZED
    {
        FetchError::Refused {
            status: status.as_u16(),
        }
    } else {
        FetchError::Unavailable {
            source: format!("the Graph API answered HTTP {status}").into(),
        }
    }
}

fn retry(error: SendError) -> FetchError {
    FetchError::Unavailable {
        source: Box::new(error),
    }
}

impl MediaSource for GraphApiClient {
    #[tracing::instrument(name = "graph_api.fetch_media", skip_all)]
    async fn fetch(&self, media_id: &str, max_bytes: u64) -> Result<FetchedMedia, FetchError> {
        // A media id is digits; anything else would change the path.
        if media_id.is_empty() || !media_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FetchError::Refused { status: 400 });
        }
        let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let uri = format!("{}/{media_id}", self.base_url());
        let (status, answer) = match self
            .exchange(
                Method::GET,
                &uri,
                None,
                Bytes::new(),
                MAX_JSON_BYTES,
                MEDIA_TIMEOUT,
            )
            .await
            .map_err(retry)?
        {
            Exchanged::Answer(status, answer) => (status, answer),
            Exchanged::TooLong => {
                return Err(FetchError::Unavailable {
                    source: Box::new(GraphApiError::TooLong(MAX_JSON_BYTES)),
                })
            }
        };
        if !status.is_success() {
            return Err(fetch_failure(status));
        }
        let location: MediaUrlResponse =
            serde_json::from_slice(&answer).map_err(|source| FetchError::Unavailable {
                source: Box::new(GraphApiError::UnexpectedBody { status, source }),
            })?;
        if let Some(size) = location.file_size.filter(|size| *size > max_bytes) {
            return Err(FetchError::TooLarge {
                size,
                limit: max_bytes,
            });
        }
        if !self.may_follow(&location.url) {
            return Err(FetchError::Refused { status: 200 });
        }
        match self
            .exchange(
                Method::GET,
                &location.url,
                None,
                Bytes::new(),
                limit,
                MEDIA_TIMEOUT,
            )
            .await
            .map_err(retry)?
        {
            Exchanged::Answer(status, bytes) if status.is_success() => Ok(FetchedMedia {
                bytes: bytes.to_vec(),
                mime_type: location.mime_type,
            }),
            Exchanged::Answer(status, _) => Err(fetch_failure(status)),
            Exchanged::TooLong => Err(FetchError::TooLarge {
                size: max_bytes.saturating_add(1),
                limit: max_bytes,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_form_names_the_product_the_type_and_the_file() {
        let (content_type, body) = upload_form(b"%PDF-1.7", "application/pdf", "a\"b.pdf");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(text.contains("name=\"type\"\r\n\r\napplication/pdf\r\n"));
        assert!(text.contains("filename=\"a_b.pdf\""));
        assert!(text.ends_with(&format!("%PDF-1.7\r\n--{boundary}--\r\n")));
    }
}
