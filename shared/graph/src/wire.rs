//! The Cloud API's JSON, as the send endpoint takes and answers it.
//!
//! Request types borrow from the [`OutboundContent`] so a send copies nothing but
//! the serialized bytes.

use serde::{Deserialize, Serialize};
use wadesk_app::ports::{MediaKind, OutboundContent};

/// `POST /{phone_number_id}/messages` body.
#[derive(Debug, Serialize)]
pub(crate) struct SendRequest<'a> {
    messaging_product: &'static str,
    recipient_type: &'static str,
    to: &'a str,
    #[serde(flatten)]
    payload: Payload<'a>,
}

impl<'a> SendRequest<'a> {
    pub(crate) fn new(to: &'a str, content: &'a OutboundContent) -> Self {
        Self {
            messaging_product: "whatsapp",
            recipient_type: "individual",
            to,
            payload: Payload::from(content),
        }
    }
}

/// `"type"` plus the member named after it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Payload<'a> {
    Text { text: Text<'a> },
    Image { image: Media<'a> },
    Video { video: Media<'a> },
    Document { document: Media<'a> },
    Template { template: Template<'a> },
}

impl<'a> From<&'a OutboundContent> for Payload<'a> {
    fn from(content: &'a OutboundContent) -> Self {
        match content {
            OutboundContent::Text { body } => Self::Text {
                text: Text {
                    // Link previews fetch the URL from Meta's side; agents opt in, not us.
                    preview_url: false,
                    body,
                },
            },
            OutboundContent::Media {
                kind,
                media_id,
                filename,
                caption,
            } => {
                let media = Media {
                    id: media_id,
                    caption: caption.as_deref(),
                    // Only documents carry a file name; the API refuses it elsewhere.
                    filename: match kind {
                        MediaKind::Document => filename.as_deref(),
                        MediaKind::Image | MediaKind::Video => None,
                    },
                };
                match kind {
                    MediaKind::Image => Self::Image { image: media },
                    MediaKind::Video => Self::Video { video: media },
                    MediaKind::Document => Self::Document { document: media },
                }
            }
            OutboundContent::Template {
                name,
                language,
                parameters,
            } => Self::Template {
                template: Template {
                    name,
                    language: Language { code: language },
                    // An empty `components` list is refused for templates without
                    // variables, so it is left out.
                    components: (!parameters.is_empty()).then(|| {
                        vec![Component {
                            kind: "body",
                            parameters: parameters
                                .iter()
                                .map(|text| Parameter { kind: "text", text })
                                .collect(),
                        }]
                    }),
                },
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct Text<'a> {
    preview_url: bool,
    body: &'a str,
}

#[derive(Debug, Serialize)]
struct Media<'a> {
    /// An uploaded file's id: wadesk never sends media by link.
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Template<'a> {
    name: &'a str,
    language: Language<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<Component<'a>>>,
}

#[derive(Debug, Serialize)]
struct Language<'a> {
    code: &'a str,
}

#[derive(Debug, Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    parameters: Vec<Parameter<'a>>,
}

#[derive(Debug, Serialize)]
struct Parameter<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

/// A 2xx answer: `messages[0].id` is the wamid. Other members are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct SendResponse {
    #[serde(default)]
    pub(crate) messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SentMessage {
    pub(crate) id: String,
}

/// A non-2xx answer: Graph API's error envelope.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorResponse {
    pub(crate) error: GraphError,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub(crate) message: String,
    pub(crate) code: i64,
    #[serde(default)]
    pub(crate) error_subcode: Option<i64>,
    /// Meta's id for this failure, what their support asks for.
    #[serde(default)]
    pub(crate) fbtrace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(content: &OutboundContent) -> serde_json::Value {
        serde_json::to_value(SendRequest::new("34600111222", content)).unwrap()
    }

    #[test]
    fn video_has_no_filename_even_if_given() {
        let content = OutboundContent::Media {
            kind: MediaKind::Video,
            media_id: "1166".into(),
            filename: Some("v.mp4".into()),
            caption: None,
        };
        assert_eq!(
            body(&content),
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "34600111222",
                "type": "video",
                "video": {"id": "1166"}
            })
        );
    }

    #[test]
    fn error_envelope_tolerates_missing_optional_members() {
        let parsed: ErrorResponse =
            serde_json::from_str(r#"{"error":{"code":100,"extra":true}}"#).unwrap();
        assert_eq!(parsed.error.code, 100);
        assert_eq!(parsed.error.message, "");
        assert_eq!(parsed.error.error_subcode, None);
    }
}

/// `POST /{phone_number_id}/media` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct UploadResponse {
    pub(crate) id: String,
}

/// `GET /{media_id}` answer: where to download the file, for a few minutes.
#[derive(Debug, Deserialize)]
pub(crate) struct MediaUrlResponse {
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) mime_type: Option<String>,
    #[serde(default)]
    pub(crate) file_size: Option<u64>,
}
