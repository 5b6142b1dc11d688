//! Files both ways (`docs/product.md#43-sending-messages`, `#47-customers-media`):
//! what an agent may upload and send, how it goes to WhatsApp, how much of a
//! customer's media is fetched, where each file is kept, how it is served and
//! for how long.
//!
//! Decided here once; the S3 and in-memory media stores and the handlers only
//! carry it out. Content is judged by its first bytes ([`sniff`]), never by the
//! name or type a client claims alone.

use serde::{Deserialize, Serialize};

use crate::desk::Outgoing;
use crate::{AgentId, Attachment, ConversationId, Direction, Message, MessageId, Timestamp};

/// The largest file an agent may upload and send (product limit).
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// WhatsApp's limit for an image message; a larger image goes as a document.
pub const WHATSAPP_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// The largest customer media the fetcher keeps, whatever WhatsApp allows
/// (documents may be 100 MB there): checked against the size the Graph API
/// announces before the download, and again while reading it.
pub const MAX_INBOUND_BYTES: u64 = 16 * 1024 * 1024;
/// How many leading bytes [`sniff`] needs (ODF and Office files name their
/// kind a little way in).
pub const SNIFF_BYTES: usize = 8 * 1024;
/// How long media is kept unless a deployment says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// How long an upload target (presigned POST) may be used.
pub const UPLOAD_TARGET_SECONDS: i64 = 15 * 60;

/// The message kind a file travels as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Image,
    Video,
    Document,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Document => "document",
        }
    }
}

/// One extension agents may attach: the kind the product names it, the
/// content types it may be declared and sniffed as, and the kind it travels
/// as on WhatsApp (which takes only JPEG and PNG images and MP4 videos).
struct Allowed {
    extension: &'static str,
    /// The type the upload is stored with (and its policy enforces).
    content_type: &'static str,
    /// What the first bytes may say it is (`None` for plain text, which has
    /// no signature).
    sniffed: &'static [&'static str],
    sends_as: FileKind,
}

const OLE: &str = "application/x-ole-storage";
const VIDEO_CONTAINERS: &[&str] = &["video/mp4", "video/quicktime", "video/x-m4v"];

const ALLOWED: &[Allowed] = &[
    Allowed {
        extension: "png",
        content_type: "image/png",
        sniffed: &["image/png"],
        sends_as: FileKind::Image,
    },
    Allowed {
        extension: "jpg",
        content_type: "image/jpeg",
        sniffed: &["image/jpeg"],
        sends_as: FileKind::Image,
    },
    Allowed {
        extension: "jpeg",
        content_type: "image/jpeg",
        sniffed: &["image/jpeg"],
        sends_as: FileKind::Image,
    },
    Allowed {
        extension: "gif",
        content_type: "image/gif",
        sniffed: &["image/gif"],
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "mp4",
        content_type: "video/mp4",
        sniffed: VIDEO_CONTAINERS,
        sends_as: FileKind::Video,
    },
    Allowed {
        extension: "mov",
        content_type: "video/quicktime",
        sniffed: VIDEO_CONTAINERS,
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "m4v",
        content_type: "video/x-m4v",
        sniffed: VIDEO_CONTAINERS,
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "pdf",
        content_type: "application/pdf",
        sniffed: &["application/pdf"],
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "odt",
        content_type: "application/vnd.oasis.opendocument.text",
        sniffed: &["application/vnd.oasis.opendocument.text"],
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "doc",
        content_type: "application/msword",
        sniffed: &["application/msword", OLE],
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "ppt",
        content_type: "application/vnd.ms-powerpoint",
        sniffed: &["application/vnd.ms-powerpoint", OLE],
        sends_as: FileKind::Document,
    },
    Allowed {
        extension: "txt",
        content_type: "text/plain",
        sniffed: &[],
        sends_as: FileKind::Document,
    },
];

/// What the product names each allowed extension (for messages).
const ALLOWED_TEXT: &str =
    "images .png .jpg .jpeg .gif, videos .mov .m4v .mp4, documents .odt .ppt .txt .doc .pdf";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The file cannot be sent as it is: the message says why, for the agent.
    #[error("{0}")]
    Invalid(String),
    /// No such upload, or it was made by someone else.
    #[error("no such upload; upload the file again")]
    UnknownUpload,
    /// The message has no file.
    #[error("this message has no media")]
    NoMedia,
    /// The retention period is over: the file is deleted.
    #[error("the media of this message is no longer kept (after {days} days)")]
    Gone { days: u32 },
    /// A customer's file not fetched from WhatsApp yet (or it could not be).
    #[error("the media is not available yet; try again shortly")]
    Pending,
}

fn extension_of(filename: &str) -> String {
    filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

fn allowed(filename: &str) -> Result<&'static Allowed, MediaError> {
    if filename.trim().is_empty() {
        return Err(MediaError::Invalid("filename is required".into()));
    }
    if filename.len() > 255
        || filename
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(MediaError::Invalid(
            "filename must be a plain file name of at most 255 bytes".into(),
        ));
    }
    let extension = extension_of(filename);
    ALLOWED
        .iter()
        .find(|a| a.extension == extension)
        .ok_or_else(|| {
            let shown = if extension.is_empty() {
                "without an extension".to_owned()
            } else {
                format!("of type .{extension}")
            };
            MediaError::Invalid(format!(
                "files {shown} cannot be sent; allowed: {ALLOWED_TEXT}"
            ))
        })
}

fn check_size(size: u64) -> Result<(), MediaError> {
    if size == 0 {
        return Err(MediaError::Invalid("the file is empty".into()));
    }
    if size > MAX_UPLOAD_BYTES {
        return Err(too_large(size));
    }
    Ok(())
}

/// The answer for a file over [`MAX_UPLOAD_BYTES`] (also when the media store
/// finds it so while reading it).
pub fn too_large(size: u64) -> MediaError {
    MediaError::Invalid(format!(
        "the file is {size} bytes; the limit is 10 MB ({MAX_UPLOAD_BYTES} bytes)"
    ))
}

/// What an upload target must enforce (`POST /uploads`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPlan {
    /// Where the file goes ([`upload_key`]).
    pub key: String,
    pub upload_id: String,
    pub filename: String,
    /// The exact `Content-Type` the upload must carry.
    pub content_type: String,
    /// The largest body the target accepts.
    pub max_bytes: u64,
    pub expires_at: Timestamp,
}

/// Checks an agent's upload request by name, declared type and size, and
/// plans its target. The declared type must be the extension's own.
pub fn plan_upload(
    filename: &str,
    mime_type: &str,
    size_bytes: u64,
    upload_id: uuid::Uuid,
    now: Timestamp,
) -> Result<UploadPlan, MediaError> {
    let rule = allowed(filename)?;
    let declared = mime_type.trim().to_ascii_lowercase();
    let declared = declared.split(';').next().unwrap_or_default().trim();
    if declared != rule.content_type {
        return Err(MediaError::Invalid(format!(
            "a .{} file is {}, not {declared:?}",
            rule.extension, rule.content_type
        )));
    }
    check_size(size_bytes)?;
    let upload_id = upload_id.to_string();
    Ok(UploadPlan {
        key: upload_key(&upload_id),
        upload_id,
        filename: filename.trim().to_owned(),
        content_type: rule.content_type.to_owned(),
        max_bytes: MAX_UPLOAD_BYTES,
        expires_at: now + chrono::Duration::seconds(UPLOAD_TARGET_SECONDS),
    })
}

/// The type the first bytes of a file say it is, if they say anything.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head)?;
    let mime = kind.mime_type();
    // `infer` names a bare OLE container (an Office file it cannot tell apart)
    // by this type.
    Some(match mime {
        "application/x-cfb" => OLE,
        other => other,
    })
}

/// Whether `head` reads as plain text: UTF-8 (a character cut at the end is
/// fine), no NUL and no other control characters than tab, CR, LF, FF.
fn is_plain_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            // Valid up to a character the sample cut in two.
            match std::str::from_utf8(&head[..error.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

/// An uploaded file as it will be sent: checked by name, size and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub kind: FileKind,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

/// Checks an uploaded file by its name, its real size and its first bytes
/// (at least [`SNIFF_BYTES`] of them when the file is that long), and decides
/// the kind it travels as: a JPEG or PNG image up to WhatsApp's 5 MB as an
/// image, an MP4 as a video, everything else allowed as a document.
pub fn check_file(filename: &str, size_bytes: u64, head: &[u8]) -> Result<CheckedFile, MediaError> {
    let rule = allowed(filename)?;
    check_size(size_bytes)?;
    let sniffed = sniff(head);
    let matches = match sniffed {
        Some(found) => rule.sniffed.contains(&found),
        None => rule.sniffed.is_empty() && is_plain_text(head),
    };
    if !matches {
        let found = sniffed.map_or_else(
            || "no recognised type".to_owned(),
            |found| format!("{found} content"),
        );
        return Err(MediaError::Invalid(format!(
            "the file is named .{} but its content is {found}; send the file as what it is",
            rule.extension
        )));
    }
    let kind = match rule.sends_as {
        FileKind::Image if size_bytes > WHATSAPP_IMAGE_BYTES => FileKind::Document,
        other => other,
    };
    Ok(CheckedFile {
        kind,
        filename: filename.trim().to_owned(),
        content_type: rule.content_type.to_owned(),
        size_bytes,
    })
}

/// Only the agent who uploaded a file may send it: someone else's upload is
/// as unknown as a missing one.
pub fn may_send_upload(uploader: Option<&AgentId>, actor: &AgentId) -> Result<(), MediaError> {
    if uploader == Some(actor) {
        Ok(())
    } else {
        Err(MediaError::UnknownUpload)
    }
}

/// What the agent sends from their upload kept at `key`, once checked and
/// handed to WhatsApp as `media_id`: a blank caption is no caption.
pub fn outgoing_upload(
    checked: CheckedFile,
    key: String,
    media_id: String,
    caption: Option<String>,
) -> Outgoing {
    Outgoing::File {
        kind: checked.kind,
        attachment: Attachment {
            url: None,
            media_id: Some(media_id),
            key: Some(key),
            filename: Some(checked.filename),
            mime_type: Some(checked.content_type),
            size_bytes: Some(checked.size_bytes),
            caption: caption.filter(|c| !c.trim().is_empty()),
        },
    }
}

/// Where an agent's upload is kept.
pub fn upload_key(upload_id: &str) -> String {
    format!("uploads/{upload_id}")
}

/// Parses an upload id as agents send it back (a UUID, nothing else: no path).
pub fn parse_upload_id(raw: &str) -> Result<String, MediaError> {
    raw.trim()
        .parse::<uuid::Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| MediaError::UnknownUpload)
}

/// Where a customer's media is kept: derived from the message, so the
/// fetcher needs no write to the table and the route no lookup.
pub fn inbound_key(conversation_id: ConversationId, message_id: MessageId) -> String {
    format!("inbound/{conversation_id}/{message_id}")
}

/// The largest customer media of `message_type` the fetcher keeps: WhatsApp's
/// own limit for the type, at most [`MAX_INBOUND_BYTES`].
pub fn inbound_limit(message_type: &str) -> Option<u64> {
    let whatsapp = match message_type {
        "image" => 5 * 1024 * 1024,
        "video" | "audio" => 16 * 1024 * 1024,
        "document" => 100 * 1024 * 1024,
        "sticker" => 500 * 1024,
        _ => return None,
    };
    Some(u64::min(whatsapp, MAX_INBOUND_BYTES))
}

/// How a stored file is handed to a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the page (images, videos and audio whose content says so).
    Inline,
    /// Downloaded, never rendered (documents and anything else).
    Attachment,
}

/// How a file of this (sniffed) type is served: images, video and audio in
/// the page; everything else as a download, so a document (an HTML or SVG
/// file a customer sent, say) never runs in the console's origin.
pub fn disposition(content_type: &str) -> Disposition {
    let inline = matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    ) || content_type.starts_with("video/")
        || content_type.starts_with("audio/");
    if inline {
        Disposition::Inline
    } else {
        Disposition::Attachment
    }
}

/// The type a fetched customer file is stored and served with: what its
/// bytes say, else what WhatsApp said when that is plain text and the bytes
/// agree, else `application/octet-stream`.
pub fn stored_type(declared: Option<&str>, head: &[u8]) -> String {
    if let Some(found) = sniff(head) {
        return found.to_owned();
    }
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if declared == "text/plain" && is_plain_text(head) {
        return declared;
    }
    "application/octet-stream".to_owned()
}

/// Where the media of `message` is kept, if it is still kept: a message
/// without a file has none; after `retention_days` it is gone.
pub fn locate(
    message: &Message,
    now: Timestamp,
    retention_days: u32,
) -> Result<String, MediaError> {
    let attachment = message.content.attachment().ok_or(MediaError::NoMedia)?;
    let key = match (message.direction, &attachment.key) {
        (_, Some(key)) => key.clone(),
        (Direction::Inbound, None) if attachment.media_id.is_some() => {
            inbound_key(message.conversation_id, message.id)
        }
        _ => return Err(MediaError::NoMedia),
    };
    if now >= message.at + chrono::Duration::days(i64::from(retention_days)) {
        return Err(MediaError::Gone {
            days: retention_days,
        });
    }
    Ok(key)
}

/// Why the media of `message`, still within its retention ([`locate`]), is
/// not in the media store: a customer's file is not fetched yet; any other
/// is gone.
pub fn not_kept(message: &Message, retention_days: u32) -> MediaError {
    if message.direction == Direction::Inbound {
        MediaError::Pending
    } else {
        MediaError::Gone {
            days: retention_days,
        }
    }
}

/// A `Content-Disposition` value: the file name (ASCII, quotes and
/// backslashes dropped) and its UTF-8 form (RFC 6266).
pub fn content_disposition(disposition: Disposition, filename: Option<&str>) -> String {
    let kind = match disposition {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    let Some(name) = filename.filter(|n| !n.trim().is_empty()) else {
        return kind.to_owned();
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attachment, MessageContent};
    use chrono::{TimeZone, Utc};

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
    ];
    const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn only_the_uploader_sends_an_upload_and_a_blank_caption_is_none() {
        let ana = AgentId::parse("ana").unwrap();
        let bob = AgentId::parse("bob").unwrap();
        assert_eq!(may_send_upload(Some(&ana), &ana), Ok(()));
        assert_eq!(
            may_send_upload(Some(&bob), &ana),
            Err(MediaError::UnknownUpload)
        );
        assert_eq!(may_send_upload(None, &ana), Err(MediaError::UnknownUpload));
        let checked = check_file("a.pdf", PDF.len() as u64, PDF).unwrap();
        let caption = |caption: Option<&str>| {
            let Outgoing::File { kind, attachment } = outgoing_upload(
                checked.clone(),
                "uploads/1".into(),
                "m1".into(),
                caption.map(str::to_owned),
            ) else {
                panic!("an upload is sent as a file");
            };
            assert_eq!(kind, FileKind::Document);
            assert_eq!(attachment.key.as_deref(), Some("uploads/1"));
            assert_eq!(attachment.media_id.as_deref(), Some("m1"));
            assert_eq!(attachment.mime_type.as_deref(), Some("application/pdf"));
            attachment.caption
        };
        assert_eq!(caption(Some("  \n")), None);
        assert_eq!(caption(None), None);
        assert_eq!(caption(Some("the invoice")), Some("the invoice".into()));
        assert_eq!(
            too_large(MAX_UPLOAD_BYTES + 1),
            check_size(MAX_UPLOAD_BYTES + 1).unwrap_err()
        );
    }

    #[test]
    fn a_file_not_kept_is_pending_from_a_customer_and_gone_otherwise() {
        let mut message = Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            direction: Direction::Inbound,
            content: MessageContent::Text { text: "x".into() },
            author: None,
            at: now(),
            status: None,
            error: None,
            wamid: None,
        };
        assert_eq!(not_kept(&message, 30), MediaError::Pending);
        message.direction = Direction::Outbound;
        assert_eq!(not_kept(&message, 30), MediaError::Gone { days: 30 });
    }

    #[test]
    fn an_upload_plan_names_the_exact_type_and_the_limit() {
        let plan = plan_upload(
            "Invoice.PDF",
            "application/pdf",
            1000,
            uuid::Uuid::nil(),
            now(),
        )
        .unwrap();
        assert_eq!(plan.content_type, "application/pdf");
        assert_eq!(plan.max_bytes, MAX_UPLOAD_BYTES);
        assert_eq!(plan.key, format!("uploads/{}", uuid::Uuid::nil()));
        assert_eq!(plan.expires_at, now() + chrono::Duration::minutes(15));
    }

    #[test]
    fn uploads_are_refused_by_name_type_or_size_with_the_reason() {
        let refuse = |name: &str, mime: &str, size: u64| match plan_upload(
            name,
            mime,
            size,
            uuid::Uuid::nil(),
            now(),
        ) {
            Err(MediaError::Invalid(message)) => message,
            other => panic!("{name} {mime} {size}: {other:?}"),
        };
        assert!(refuse("setup.exe", "application/pdf", 10).contains(".pdf"));
        assert!(refuse("noext", "application/pdf", 10).contains("without an extension"));
        assert!(refuse("a.pdf", "image/png", 10).contains("application/pdf"));
        assert!(refuse("a.pdf", "application/pdf", 11 * 1024 * 1024).contains("10 MB"));
        assert!(refuse("a.pdf", "application/pdf", 0).contains("empty"));
        assert!(refuse("../a.pdf", "application/pdf", 1).contains("plain file name"));
    }

    #[test]
    fn content_decides_with_the_name() {
        let pdf = check_file("manual.pdf", 9_900_000, PDF).unwrap();
        assert_eq!(pdf.kind, FileKind::Document);
        assert_eq!(pdf.content_type, "application/pdf");
        let png = check_file("photo.png", 1000, PNG).unwrap();
        assert_eq!(png.kind, FileKind::Image);
        let text = check_file("notes.txt", 12, "héllo\nworld".as_bytes()).unwrap();
        assert_eq!(text.content_type, "text/plain");
    }

    #[test]
    fn an_exe_renamed_pdf_is_refused_for_what_it_is() {
        let Err(MediaError::Invalid(message)) = check_file("invoice.pdf", 100, EXE) else {
            panic!("accepted");
        };
        assert!(message.contains(".pdf"), "{message}");
        assert!(
            message.contains("application/vnd.microsoft.portable-executable"),
            "{message}"
        );
        // A binary without a signature is not text either.
        assert!(check_file("notes.txt", 4, b"\x00\x01\x02\x03").is_err());
        // A PNG named .jpg is refused too: the name and the content must agree.
        assert!(check_file("photo.jpg", 100, PNG).is_err());
    }

    #[test]
    fn what_whatsapp_does_not_take_as_media_goes_as_a_document() {
        let big = check_file("scan.png", WHATSAPP_IMAGE_BYTES + 1, PNG).unwrap();
        assert_eq!(big.kind, FileKind::Document);
        let gif = check_file("a.gif", 10, b"GIF89a\x01\x00\x01\x00").unwrap();
        assert_eq!(gif.kind, FileKind::Document);
    }

    #[test]
    fn an_oversized_file_is_refused_even_with_the_right_content() {
        assert!(check_file("manual.pdf", MAX_UPLOAD_BYTES + 1, PDF).is_err());
    }

    #[test]
    fn upload_ids_are_uuids_only() {
        assert!(parse_upload_id("../../inbound/x").is_err());
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(parse_upload_id(&id).unwrap(), id);
    }

    #[test]
    fn inbound_limits_follow_whatsapp_within_the_cap() {
        assert_eq!(inbound_limit("image"), Some(5 * 1024 * 1024));
        assert_eq!(inbound_limit("sticker"), Some(500 * 1024));
        assert_eq!(inbound_limit("document"), Some(MAX_INBOUND_BYTES));
        assert_eq!(inbound_limit("text"), None);
    }

    #[test]
    fn only_images_video_and_audio_are_shown_inline() {
        assert_eq!(disposition("image/png"), Disposition::Inline);
        assert_eq!(disposition("video/mp4"), Disposition::Inline);
        assert_eq!(disposition("application/pdf"), Disposition::Attachment);
        assert_eq!(disposition("image/svg+xml"), Disposition::Attachment);
        assert_eq!(disposition("text/html"), Disposition::Attachment);
        assert_eq!(
            content_disposition(Disposition::Attachment, Some("fáctura \"1\".pdf")),
            "attachment; filename=\"f_ctura _1_.pdf\"; filename*=UTF-8''f%C3%A1ctura%20%221%22%2Epdf"
        );
    }

    #[test]
    fn a_stored_type_comes_from_the_bytes() {
        assert_eq!(stored_type(Some("image/jpeg"), PNG), "image/png");
        assert_eq!(stored_type(Some("text/plain"), b"hola"), "text/plain");
        assert_eq!(
            stored_type(Some("text/plain"), b"\x00\x01\x02"),
            "application/octet-stream"
        );
        // Whatever the bytes say, a page is served as a download.
        let html = stored_type(Some("text/plain"), b"<html><script>x</script></html>");
        assert_eq!(disposition(&html), Disposition::Attachment);
    }

    fn message(direction: Direction, attachment: Attachment) -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            direction,
            content: MessageContent::Image { attachment },
            author: None,
            at: now(),
            status: None,
            error: None,
            wamid: None,
        }
    }

    #[test]
    fn media_is_located_until_the_retention_ends() {
        let inbound = message(
            Direction::Inbound,
            Attachment {
                media_id: Some("123".into()),
                ..Attachment::default()
            },
        );
        let key = locate(&inbound, now(), 30).unwrap();
        assert_eq!(key, inbound_key(inbound.conversation_id, inbound.id));
        let later = now() + chrono::Duration::days(30);
        assert_eq!(
            locate(&inbound, later, 30),
            Err(MediaError::Gone { days: 30 })
        );
        let sent = message(
            Direction::Outbound,
            Attachment {
                key: Some("uploads/x".into()),
                ..Attachment::default()
            },
        );
        assert_eq!(locate(&sent, now(), 30).unwrap(), "uploads/x");
        let linked = message(Direction::Outbound, Attachment::default());
        assert_eq!(locate(&linked, now(), 30), Err(MediaError::NoMedia));
    }
}
