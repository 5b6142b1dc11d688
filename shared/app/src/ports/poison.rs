//! Where the webhook keeps what it can never use.
//!
//! WhatsApp retries a batch that is not answered 200 for days, so a validly
//! signed body that is not a webhook payload, or an item of a batch that can
//! never be stored, must not be refused: the webhook answers 200 and keeps it
//! here, with why, for a human. Only when keeping fails is the batch answered
//! 5xx (WhatsApp retries, nothing is lost).

use std::future::Future;

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wadesk_domain::Timestamp;

/// One item of a signed batch that can never be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoisonItem {
    /// Where it is in the body, as a JSON pointer
    /// (`/entry/0/changes/0/value/messages/1`).
    pub pointer: String,
    pub reason: String,
    /// The item as the body had it.
    pub item: Option<serde_json::Value>,
}

/// A validly signed webhook body that is poison, or carries poison items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub received_at: Timestamp,
    /// The body's own problem, or a summary of its items'.
    pub reason: String,
    /// The items that can never be stored; empty when the whole body is poison.
    pub items: Vec<PoisonItem>,
    /// The body exactly as signed.
    pub body: Vec<u8>,
    /// Its `X-Hub-Signature-256`: with the body, it can be verified again and
    /// replayed to the webhook once whatever refused it is fixed.
    pub signature: Option<String>,
}

/// What identifies a kept record as the webhook's.
pub const POISON_SOURCE: &str = "wadesk-webhook";

/// The kept record, as JSON: what a human (or a replay) reads.
#[derive(Debug, Serialize)]
struct Record<'a> {
    source: &'static str,
    received_at: Timestamp,
    reason: &'a str,
    items: &'a [PoisonItem],
    #[serde(skip_serializing_if = "is_zero")]
    items_omitted: usize,
    signature: Option<&'a str>,
    body_bytes: usize,
    body_sha256: String,
    /// The body (or its first `body_kept_bytes` bytes), base64: any bytes,
    /// exactly as signed.
    body_base64: String,
    body_kept_bytes: usize,
    body_truncated: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Poison {
    /// The record to keep: JSON in ASCII only (any queue or log takes it), at
    /// most `max_bytes` long. The body is kept whole when it fits; otherwise its
    /// first bytes (`body_truncated`, with the whole body's size and SHA-256),
    /// and past that items are left out from the end (`items_omitted`). The
    /// reason, the items' pointers and the checksum always fit a record of a
    /// few KiB.
    pub fn record(&self, max_bytes: usize) -> String {
        let body_sha256 = hex::encode(Sha256::digest(&self.body));
        let make = |body_kept: usize, items: usize| {
            let record = Record {
                source: POISON_SOURCE,
                received_at: self.received_at,
                reason: &self.reason,
                items: &self.items[..items],
                items_omitted: self.items.len() - items,
                signature: self.signature.as_deref(),
                body_bytes: self.body.len(),
                body_sha256: body_sha256.clone(),
                body_base64: base64::engine::general_purpose::STANDARD
                    .encode(&self.body[..body_kept]),
                body_kept_bytes: body_kept,
                body_truncated: body_kept < self.body.len(),
            };
            ascii_json(&record)
        };
        let whole = make(self.body.len(), self.items.len());
        if whole.len() <= max_bytes {
            return whole;
        }
        // Without the body, what is left; the body takes what remains, 3
        // bytes per 4 base64 characters, less room for `body_kept_bytes` to
        // grow from 0 to at most 20 digits.
        let mut items = self.items.len();
        loop {
            let bare = make(0, items);
            if bare.len() <= max_bytes || items == 0 {
                let room = max_bytes.saturating_sub(bare.len() + 20) / 4 * 3;
                return make(room.min(self.body.len()), items);
            }
            items = items.saturating_sub(items.div_ceil(4).max(1));
        }
    }
}

/// JSON with every non-ASCII character escaped (`\uXXXX`): the same JSON,
/// and safe for transports that refuse some Unicode (SQS refuses U+FFFE).
fn ascii_json<T: Serialize>(value: &T) -> String {
    // Serialising these types cannot fail: no maps with non-string keys.
    let text = serde_json::to_string(value).unwrap_or_default();
    if text.is_ascii() {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            // Non-ASCII only ever appears inside JSON strings.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("keeping a poison webhook body failed")]
pub struct KeepError {
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl KeepError {
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

/// Keeps poison for a human (a dead-letter queue). At least once: a kept body
/// may be kept again if WhatsApp redelivers it; `body_sha256` tells copies apart.
pub trait PoisonKeeper: Send + Sync + 'static {
    fn keep(&self, poison: &Poison) -> impl Future<Output = Result<(), KeepError>> + Send;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn poison(body: &[u8], items: usize) -> Poison {
        Poison {
            received_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            reason: "ünïcode reason \u{fffe}".to_owned(),
            items: (0..items)
                .map(|n| PoisonItem {
                    pointer: format!("/entry/0/changes/0/value/messages/{n}"),
                    reason: "timestamp is missing or not a time".to_owned(),
                    item: Some(serde_json::json!({"id": format!("wamid.{n}"), "text": "ñ"})),
                })
                .collect(),
            body: body.to_vec(),
            signature: Some("sha256=00".to_owned()),
        }
    }

    fn read(record: &str) -> serde_json::Value {
        assert!(record.is_ascii(), "{record}");
        serde_json::from_str(record).unwrap()
    }

    #[test]
    fn a_record_that_fits_keeps_the_whole_body_in_ascii_json() {
        let body = b"{not json \xff";
        let record = read(&poison(body, 1).record(usize::MAX));
        assert_eq!(record["source"], POISON_SOURCE);
        assert_eq!(record["reason"], "ünïcode reason \u{fffe}");
        assert_eq!(record["items"][0]["item"]["text"], "ñ");
        assert_eq!(record["body_truncated"], false);
        assert_eq!(record["body_bytes"], body.len());
        let kept = base64::engine::general_purpose::STANDARD
            .decode(record["body_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(kept, body);
        assert_eq!(record["body_sha256"], hex::encode(Sha256::digest(body)));
    }

    #[test]
    fn a_large_body_is_truncated_to_fit_with_its_size_and_checksum() {
        let body = vec![b'x'; 100_000];
        let text = poison(&body, 2).record(10_000);
        assert!(text.len() <= 10_000, "{}", text.len());
        let record = read(&text);
        assert_eq!(record["body_truncated"], true);
        assert_eq!(record["body_bytes"], 100_000);
        assert_eq!(record["items"].as_array().unwrap().len(), 2);
        let kept = record["body_kept_bytes"].as_u64().unwrap();
        assert!(kept > 5_000, "{kept}");
        assert_eq!(record["body_sha256"], hex::encode(Sha256::digest(&body)));
    }

    #[test]
    fn too_many_items_are_left_out_from_the_end_and_counted() {
        let text = poison(b"{}", 500).record(8_000);
        assert!(text.len() <= 8_000, "{}", text.len());
        let record = read(&text);
        let kept = record["items"].as_array().unwrap().len();
        assert!(kept > 0 && kept < 500, "{kept}");
        assert_eq!(record["items_omitted"], 500 - kept);
    }
}
