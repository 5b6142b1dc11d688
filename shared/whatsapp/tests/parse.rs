//! Real Cloud API payloads (tests/fixtures) mapped onto domain values, and the
//! rules for what is rejected, ignored or refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use serde_json::json;
use wadesk_domain::message::{ContactCard, Degrees, DeliveryError};
use wadesk_domain::{Attachment, DeliveryStatus, InboundMessage, MessageContent, Timestamp};
use wadesk_whatsapp::{parse_webhook, ParseError, WebhookBatch, WebhookBuilder};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/", $name, ".json"))
    };
}

fn parse(body: &str) -> WebhookBatch {
    parse_webhook(body.as_bytes()).expect("a valid webhook")
}

fn parse_json(body: serde_json::Value) -> WebhookBatch {
    parse(&body.to_string())
}

fn at(secs: i64) -> Timestamp {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn only_message(batch: &WebhookBatch) -> &InboundMessage {
    assert_eq!(batch.messages.len(), 1, "{batch:#?}");
    assert!(batch.statuses.is_empty());
    assert_eq!(batch.rejected.len(), 0);
    &batch.messages[0]
}

const PHONE_NUMBER_ID: &str = "106540352242922";
const DISPLAY: &str = "15550783881";
const SHEENA: &str = "16505551234";

// ---------------------------------------------------------------- fixtures

#[test]
fn text_message() {
    let batch = parse(fixture!("text"));
    let message = only_message(&batch);
    assert_eq!(
        message.wamid.as_str(),
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    );
    assert_eq!(message.customer.phone_number_id.as_str(), PHONE_NUMBER_ID);
    assert_eq!(message.customer.wa_id.as_str(), SHEENA);
    assert_eq!(message.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(message.display_phone_number, DISPLAY);
    assert_eq!(message.sent_at, at(1_739_321_024));
    assert_eq!(
        message.content,
        MessageContent::Text {
            text: "Does it come in another color?".into()
        }
    );
}

#[test]
fn image_message() {
    let batch = parse(fixture!("image"));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Image {
            attachment: Attachment {
                media_id: Some("1003383421387256".into()),
                mime_type: Some("image/jpeg".into()),
                caption: Some("This is how it arrived".into()),
                ..Attachment::default()
            }
        }
    );
}

#[test]
fn document_message_keeps_its_filename() {
    let batch = parse(fixture!("document"));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Document {
            attachment: Attachment {
                media_id: Some("1573471270010451".into()),
                mime_type: Some("application/pdf".into()),
                caption: Some("Invoice for order 1234".into()),
                filename: Some("invoice_1234.pdf".into()),
                ..Attachment::default()
            }
        }
    );
}

#[test]
fn video_audio_and_sticker_messages() {
    let batch = parse(fixture!("media"));
    assert_eq!(batch.rejected.len(), 0);
    let media = |id: &str, mime: &str| Attachment {
        media_id: Some(id.into()),
        mime_type: Some(mime.into()),
        ..Attachment::default()
    };
    let contents: Vec<_> = batch.messages.iter().map(|m| m.content.clone()).collect();
    assert_eq!(
        contents,
        vec![
            MessageContent::Video {
                attachment: media("2176538856060391", "video/mp4")
            },
            MessageContent::Audio {
                attachment: media("1148149170231216", "audio/ogg; codecs=opus")
            },
            MessageContent::Sticker {
                attachment: media("1228061928549567", "image/webp")
            },
        ]
    );
    let times: Vec<_> = batch.messages.iter().map(|m| m.sent_at).collect();
    assert_eq!(
        times,
        vec![at(1_744_344_500), at(1_744_344_501), at(1_744_344_502)]
    );
}

#[test]
fn quick_reply_button() {
    let batch = parse(fixture!("button"));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Button {
            text: "Stop promotions".into(),
            payload: Some("STOP_PROMOTIONS".into())
        }
    );
}

#[test]
fn interactive_button_reply() {
    let batch = parse(fixture!("interactive_button_reply"));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Interactive {
            reply_id: "change-date".into(),
            title: "Change date".into()
        }
    );
}

#[test]
fn interactive_list_reply() {
    let batch = parse(fixture!("interactive_list_reply"));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Interactive {
            reply_id: "priority-express".into(),
            title: "Express shipping".into()
        }
    );
}

#[test]
fn location_message() {
    let batch = parse(fixture!("location"));
    let message = only_message(&batch);
    assert_eq!(
        message.content,
        MessageContent::Location {
            latitude: Degrees::latitude(37.483_307).unwrap(),
            longitude: Degrees::longitude(-122.148_981).unwrap(),
            name: Some("Philz Coffee".into()),
            address: Some("1 Hacker Way, Menlo Park, CA 94025".into()),
            url: Some("https://www.philzcoffee.com/".into()),
        }
    );
    assert_eq!(message.content.type_name(), "location");
    assert_eq!(message.content.text(), Some("Philz Coffee"));
    assert_eq!(message.profile_name.as_deref(), Some("Sheena Nelson"));
}

#[test]
fn contacts_message() {
    let batch = parse(fixture!("contacts"));
    let message = only_message(&batch);
    assert_eq!(
        message.content,
        MessageContent::Contacts {
            contacts: vec![
                ContactCard {
                    name: "Barbara J. Johnson".into(),
                    phones: vec!["+1 (415) 555-0829".into(), "+1 (415) 555-0025".into()],
                    emails: vec![
                        "bjohnson@lucky-shrub.com".into(),
                        "bjohnson@gmail.com".into()
                    ],
                    organization: Some("Lucky Shrub, Legal, Lead Counsel".into()),
                    addresses: vec!["1 Hacker Way, Menlo Park, CA, 94025, United States".into()],
                    urls: vec!["https://www.luckyshrub.com".into()],
                },
                ContactCard {
                    // No formatted name: the parts; no phone: the WhatsApp id.
                    name: "Pablo Morales".into(),
                    phones: vec!["34600111222".into()],
                    ..ContactCard::default()
                },
            ]
        }
    );
    assert_eq!(message.content.type_name(), "contacts");
    assert_eq!(message.content.text(), Some("Barbara J. Johnson"));
    // The shared cards are not the sender: the profile name is still Sheena's.
    assert_eq!(message.profile_name.as_deref(), Some("Sheena Nelson"));
}

fn shared(kind: &str, member: serde_json::Value) -> serde_json::Value {
    let mut message =
        json!({ "from": SHEENA, "id": "wamid.s", "timestamp": "1744344600", "type": kind });
    message[kind] = member;
    message
}

#[test]
fn a_pin_without_name_or_address_is_a_location() {
    let batch = parse_json(value_with(
        json!([shared(
            "location",
            json!({ "latitude": "-33.8688", "longitude": 151, "name": "" })
        )]),
        json!([]),
    ));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Location {
            latitude: Degrees::latitude(-33.8688).unwrap(),
            longitude: Degrees::longitude(151.0).unwrap(),
            name: None,
            address: None,
            url: None,
        }
    );
    assert_eq!(only_message(&batch).content.text(), None);
}

#[test]
fn locations_without_valid_coordinates_are_rejected() {
    for location in [
        json!({ "name": "Philz Coffee" }),
        json!({ "latitude": 37.48 }),
        json!({ "latitude": 91.0, "longitude": 0 }),
        json!({ "latitude": 0, "longitude": -180.5 }),
        json!({ "latitude": "north", "longitude": 0 }),
        json!({ "latitude": [1], "longitude": 0 }),
        json!("37.48,-122.14"),
        json!(null),
    ] {
        let batch = parse_json(value_with(
            json!([shared("location", location.clone())]),
            json!([]),
        ));
        assert!(batch.messages.is_empty(), "{location}: {batch:#?}");
        assert_eq!(batch.rejected.len(), 1, "{location}");
    }
}

#[test]
fn contact_cards_without_any_card_are_rejected() {
    for contacts in [
        json!([]),
        json!({ "name": {} }),
        json!("Ana"),
        json!(null),
        json!([1, "x"]),
    ] {
        let batch = parse_json(value_with(
            json!([shared("contacts", contacts.clone())]),
            json!([]),
        ));
        assert!(batch.messages.is_empty(), "{contacts}: {batch:#?}");
        assert_eq!(batch.rejected.len(), 1, "{contacts}");
    }
}

#[test]
fn broken_parts_of_a_contact_card_cost_only_those_parts() {
    let batch = parse_json(value_with(
        json!([shared(
            "contacts",
            json!([
                "not a card",
                { "name": "Ana", "phones": { "phone": "1" }, "emails": [{ "email": "ana@example.com" }, 7, {}],
                  "org": { "title": "CEO" }, "addresses": [{ "city": "Madrid" }], "urls": "x" },
            ])
        )]),
        json!([]),
    ));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Contacts {
            contacts: vec![ContactCard {
                name: String::new(),
                emails: vec!["ana@example.com".into()],
                organization: Some("CEO".into()),
                addresses: vec!["Madrid".into()],
                ..ContactCard::default()
            }]
        }
    );
}

#[test]
fn unhandled_types_are_kept_as_unsupported() {
    for (body, kind) in [
        (fixture!("reaction"), "reaction"),
        (fixture!("unsupported"), "unsupported"),
    ] {
        let batch = parse(body);
        let message = only_message(&batch);
        assert_eq!(
            message.content,
            MessageContent::Unsupported {
                whatsapp_type: kind.into()
            }
        );
        assert_eq!(message.customer.wa_id.as_str(), SHEENA);
        assert_eq!(message.profile_name.as_deref(), Some("Sheena Nelson"));
    }
}

#[test]
fn statuses_sent_delivered_read() {
    for (body, status, secs) in [
        (fixture!("status_sent"), DeliveryStatus::Sent, 1_744_344_535),
        (
            fixture!("status_delivered"),
            DeliveryStatus::Delivered,
            1_744_344_537,
        ),
        (fixture!("status_read"), DeliveryStatus::Read, 1_744_344_560),
    ] {
        let batch = parse(body);
        assert!(batch.messages.is_empty());
        assert_eq!(batch.rejected.len(), 0);
        assert_eq!(batch.statuses.len(), 1);
        let update = &batch.statuses[0];
        assert_eq!(
            update.wamid.as_str(),
            "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI0QzZENUVBMDAxNEE1NEJCNzcA"
        );
        assert_eq!(update.status, status);
        assert_eq!(update.at, at(secs));
        assert_eq!(update.error, None);
    }
}

#[test]
fn failed_status_carries_the_reengagement_error() {
    let batch = parse(fixture!("status_failed"));
    assert_eq!(batch.statuses.len(), 1);
    let update = &batch.statuses[0];
    assert_eq!(update.status, DeliveryStatus::Failed);
    assert_eq!(update.at, at(1_744_430_999));
    assert_eq!(
        update.error,
        Some(DeliveryError {
            code: wadesk_domain::message::REENGAGEMENT_REQUIRED,
            title: "Re-engagement message".into()
        })
    );
}

#[test]
fn batch_yields_every_entry_change_message_and_status() {
    let batch = parse(fixture!("batch"));
    assert_eq!(batch.rejected.len(), 0);

    let senders: Vec<_> = batch
        .messages
        .iter()
        .map(|m| {
            (
                m.customer.phone_number_id.as_str(),
                m.customer.wa_id.as_str(),
                m.profile_name.as_deref(),
                m.display_phone_number.as_str(),
                m.content.type_name(),
            )
        })
        .collect();
    assert_eq!(
        senders,
        vec![
            (
                PHONE_NUMBER_ID,
                SHEENA,
                Some("Sheena Nelson"),
                DISPLAY,
                "text"
            ),
            (
                PHONE_NUMBER_ID,
                "5491123456789",
                Some("Diego Fernández"),
                DISPLAY,
                "text"
            ),
            (
                PHONE_NUMBER_ID,
                SHEENA,
                Some("Sheena Nelson"),
                DISPLAY,
                "image"
            ),
            (
                "106540352242923",
                "447700900123",
                Some("Amara Okafor"),
                "15550783882",
                "text"
            ),
        ]
    );
    assert_eq!(
        batch.messages[1].content.text(),
        Some("Hola, ¿tienen envío a Rosario?")
    );

    let statuses: Vec<_> = batch.statuses.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        vec![
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed
        ]
    );
    assert_eq!(
        batch.statuses[2].error.as_ref().map(|e| e.code),
        Some(131_047)
    );
}

#[test]
fn business_scoped_user_ids() {
    let batch = parse(fixture!("business_scoped_ids"));
    assert_eq!(batch.rejected.len(), 0);
    let customers: Vec<_> = batch
        .messages
        .iter()
        .map(|m| (m.customer.wa_id.as_str(), m.profile_name.as_deref()))
        .collect();
    assert_eq!(
        customers,
        vec![
            // `from` wins while Meta still sends it.
            ("919810218674", Some("Krish Thakur")),
            // A username user: only the business-scoped id, matched to `user_id`.
            ("US.13491208655302741918", Some("Bob Username")),
        ]
    );
    assert_eq!(batch.statuses.len(), 1);
    assert_eq!(batch.statuses[0].status, DeliveryStatus::Delivered);
}

#[test]
fn unknown_fields_anywhere_are_ignored() {
    let batch = parse(fixture!("unknown_fields"));
    assert_eq!(batch.rejected.len(), 0);
    assert_eq!(batch.messages.len(), 2);
    let first = &batch.messages[0];
    assert_eq!(first.customer.wa_id.as_str(), SHEENA);
    assert_eq!(first.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(first.content.text(), Some("I saw your ad"));
    assert_eq!(
        batch.messages[1].content,
        MessageContent::Unsupported {
            whatsapp_type: "poll_response".into()
        }
    );
    assert_eq!(batch.statuses.len(), 1);
    assert_eq!(batch.statuses[0].status, DeliveryStatus::Read);
}

#[test]
fn escaped_strings_are_decoded() {
    let body = fixture!("text").replace(
        "Does it come in another color?",
        r#"Line one\nsays \"hi\" \u00e9\ud83d\udc4d"#,
    );
    let batch = parse(&body);
    assert_eq!(
        only_message(&batch).content.text(),
        Some("Line one\nsays \"hi\" é👍")
    );
}

// ---------------------------------------------------------------- refused bodies

#[test]
fn malformed_json_is_refused() {
    for body in [
        &b""[..],
        b"{",
        b"not json",
        b"{\"object\":\"whatsapp_business_account\",\"entry\":[]} trailing",
        b"\xff\xfe",
    ] {
        assert!(
            matches!(parse_webhook(body), Err(ParseError::Json(_))),
            "{body:?}"
        );
    }
}

#[test]
fn wrong_top_level_shape_is_refused() {
    for body in ["[]", "42", "\"text\"", "null", "true"] {
        assert!(
            matches!(parse_webhook(body.as_bytes()), Err(ParseError::NotAnObject)),
            "{body}"
        );
    }
    let positional = r#"["whatsapp_business_account", []]"#;
    assert!(matches!(
        parse_webhook(positional.as_bytes()),
        Err(ParseError::NotAnObject)
    ));
}

#[test]
fn other_objects_are_refused() {
    let err = parse_webhook(br#"{"object":"page","entry":[]}"#).unwrap_err();
    assert!(
        matches!(&err, ParseError::UnexpectedObject { found: Some(o) } if o == "page"),
        "{err:?}"
    );
    assert!(matches!(
        parse_webhook(br#"{"entry":[]}"#),
        Err(ParseError::UnexpectedObject { found: None })
    ));
    assert!(matches!(
        parse_webhook(br#"{"object":7,"entry":[]}"#),
        Err(ParseError::UnexpectedObject { found: None })
    ));
    let long = format!(r#"{{"object":"{}","entry":[]}}"#, "x".repeat(10_000));
    match parse_webhook(long.as_bytes()) {
        Err(ParseError::UnexpectedObject { found: Some(o) }) => assert!(o.len() <= 64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_entries_are_refused() {
    for body in [
        r#"{"object":"whatsapp_business_account"}"#,
        r#"{"object":"whatsapp_business_account","entry":null}"#,
        r#"{"object":"whatsapp_business_account","entry":{}}"#,
        r#"{"object":"whatsapp_business_account","entry":"x"}"#,
    ] {
        assert!(
            matches!(parse_webhook(body.as_bytes()), Err(ParseError::NoEntries)),
            "{body}"
        );
    }
}

#[test]
fn empty_entries_are_an_empty_batch() {
    let batch = parse(r#"{"object":"whatsapp_business_account","entry":[]}"#);
    assert!(batch.is_empty());
}

// ---------------------------------------------------------------- skipped items

fn value_with(messages: serde_json::Value, statuses: serde_json::Value) -> serde_json::Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": { "display_phone_number": DISPLAY, "phone_number_id": PHONE_NUMBER_ID },
                    "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": SHEENA }],
                    "messages": messages,
                    "statuses": statuses,
                },
                "field": "messages"
            }]
        }]
    })
}

fn text(id: &str, from: serde_json::Value, timestamp: serde_json::Value) -> serde_json::Value {
    json!({ "from": from, "id": id, "timestamp": timestamp, "type": "text", "text": { "body": "hi" } })
}

fn status(id: &str, status: &str, timestamp: serde_json::Value) -> serde_json::Value {
    json!({ "id": id, "status": status, "timestamp": timestamp, "recipient_id": SHEENA })
}

#[test]
fn bad_messages_are_skipped_and_counted() {
    let batch = parse_json(value_with(
        json!([
            text("wamid.ok1", json!(SHEENA), json!("1744344600")),
            text("wamid.empty-from", json!(""), json!("1744344600")),
            text("wamid.no-from", json!(null), json!("1744344600")),
            text("wamid.bad-from", json!("has space"), json!("1744344600")),
            text("", json!(SHEENA), json!("1744344600")),
            text("wamid.bad-ts", json!(SHEENA), json!("yesterday")),
            text("wamid.zero-ts", json!(SHEENA), json!("0")),
            text("wamid.float-ts", json!(SHEENA), json!(1.5)),
            text("wamid.huge-ts", json!(SHEENA), json!("99999999999999999")),
            { "from": SHEENA, "id": "wamid.no-type", "timestamp": "1744344600" },
            { "from": SHEENA, "id": "wamid.text-no-body", "timestamp": "1744344600", "type": "text", "text": {} },
            { "from": SHEENA, "id": "wamid.text-not-object", "timestamp": "1744344600", "type": "text", "text": "hi" },
            { "from": SHEENA, "id": "wamid.image-no-id", "timestamp": "1744344600", "type": "image", "image": { "mime_type": "image/png" } },
            { "from": SHEENA, "id": "wamid.reply-missing", "timestamp": "1744344600", "type": "interactive", "interactive": { "type": "list_reply" } },
            "not a message",
            42,
            ["an", "array"],
            text("wamid.ok2", json!(SHEENA), json!(1_744_344_601)),
        ]),
        json!([]),
    ));
    let wamids: Vec<_> = batch.messages.iter().map(|m| m.wamid.as_str()).collect();
    assert_eq!(wamids, ["wamid.ok1", "wamid.ok2"]);
    assert_eq!(batch.messages[1].sent_at, at(1_744_344_601));
    assert_eq!(batch.rejected.len(), 16);
    let pointers: Vec<_> = batch.rejected.iter().map(|r| r.pointer.as_str()).collect();
    let expected: Vec<_> = (1..=16)
        .map(|n| format!("/entry/0/changes/0/value/messages/{n}"))
        .collect();
    assert_eq!(pointers, expected);
    assert_eq!(
        batch.rejected[4].reason,
        "`timestamp` is missing or not a time"
    );
}

#[test]
fn bad_statuses_are_skipped_and_counted() {
    let batch = parse_json(value_with(
        json!([]),
        json!([
            status("wamid.ok1", "delivered", json!("1744344600")),
            status("wamid.deleted", "deleted", json!("1744344600")),
            status("wamid.warning", "warning", json!("1744344600")),
            status("wamid.upper", "READ", json!("1744344600")),
            status("", "read", json!("1744344600")),
            status("wamid.bad-ts", "read", json!({})),
            { "id": "wamid.no-status", "timestamp": "1744344600" },
            null,
            status("wamid.ok2", "read", json!(1_744_344_601)),
        ]),
    ));
    let wamids: Vec<_> = batch.statuses.iter().map(|s| s.wamid.as_str()).collect();
    assert_eq!(wamids, ["wamid.ok1", "wamid.ok2"]);
    assert_eq!(batch.rejected.len(), 7);
}

#[test]
fn missing_or_bad_metadata_rejects_messages_but_not_statuses() {
    for metadata in [
        json!(null),
        json!("x"),
        json!({ "phone_number_id": "" }),
        json!({ "phone_number_id": "not-digits" }),
        json!({ "display_phone_number": DISPLAY }),
    ] {
        let mut body = value_with(
            json!([text("wamid.m", json!(SHEENA), json!("1744344600"))]),
            json!([status("wamid.s", "sent", json!("1744344600"))]),
        );
        body["entry"][0]["changes"][0]["value"]["metadata"] = metadata.clone();
        let batch = parse_json(body);
        assert!(batch.messages.is_empty(), "{metadata}");
        assert_eq!(batch.statuses.len(), 1, "{metadata}");
        assert_eq!(batch.rejected.len(), 1, "{metadata}");
    }
}

#[test]
fn missing_display_number_is_empty() {
    let mut body = value_with(
        json!([text("wamid.m", json!(SHEENA), json!("1744344600"))]),
        json!([]),
    );
    body["entry"][0]["changes"][0]["value"]["metadata"] = json!({ "phone_number_id": "1065" });
    let batch = parse_json(body);
    assert_eq!(batch.messages[0].display_phone_number, "");
    assert_eq!(batch.messages[0].customer.phone_number_id.as_str(), "1065");
}

#[test]
fn containers_of_the_wrong_type_are_counted_not_fatal() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [
            "not an entry",
            { "id": "1", "changes": "not a list" },
            { "id": "2", "changes": [
                7,
                { "field": "messages", "value": "not an object" },
                { "field": "messages", "value": { "messages": {}, "statuses": "x" } },
                { "field": "messages", "value": { "messages": null, "statuses": null } },
                { "field": "messages" },
            ] },
            { "id": "3" },
        ]
    });
    let batch = parse_json(body);
    assert!(batch.messages.is_empty() && batch.statuses.is_empty());
    // entry, changes, change, value, messages, statuses, missing value: each
    // with where it is (a JSON pointer into the body) and why.
    let rejected: Vec<_> = batch
        .rejected
        .iter()
        .map(|r| (r.pointer.as_str(), r.reason))
        .collect();
    assert_eq!(
        rejected,
        [
            ("/entry/0", "the entry is not an object"),
            ("/entry/1/changes", "`changes` is not an array"),
            ("/entry/2/changes/0", "the change is not an object"),
            (
                "/entry/2/changes/1/value",
                "the change's `value` is not an object"
            ),
            (
                "/entry/2/changes/2/value/messages",
                "`messages` is not an array"
            ),
            (
                "/entry/2/changes/2/value/statuses",
                "`statuses` is not an array"
            ),
            (
                "/entry/2/changes/4/value",
                "the change's `value` is not an object"
            ),
        ]
    );
}

#[test]
fn other_fields_are_ignored_whatever_their_value() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [
            { "field": "account_update", "value": { "phone_number": "15550783881", "event": "VERIFIED_ACCOUNT" } },
            { "field": "message_template_status_update", "value": [1, 2, 3] },
            { "value": { "messages": [text("wamid.unlabelled", json!(SHEENA), json!("1744344600"))] } },
            { "field": "smb_message_echoes", "value": { "message_echoes": [{ "id": "wamid.echo" }] } },
        ] }]
    });
    let batch = parse_json(body);
    assert!(batch.is_empty(), "{batch:?}");
}

#[test]
fn unknown_interactive_replies_are_unsupported() {
    let batch = parse_json(value_with(
        json!([{
            "from": SHEENA, "id": "wamid.flow", "timestamp": "1744344600", "type": "interactive",
            "interactive": { "type": "nfm_reply", "nfm_reply": { "response_json": "{}", "body": "Sent", "name": "flow" } }
        }]),
        json!([]),
    ));
    assert_eq!(
        only_message(&batch).content,
        MessageContent::Unsupported {
            whatsapp_type: "interactive".into()
        }
    );
}

#[test]
fn button_payload_is_optional_and_reply_title_defaults_to_empty() {
    let batch = parse_json(value_with(
        json!([
            { "from": SHEENA, "id": "wamid.b", "timestamp": "1744344600", "type": "button", "button": { "text": "Yes" } },
            { "from": SHEENA, "id": "wamid.i", "timestamp": "1744344600", "type": "interactive",
              "interactive": { "type": "button_reply", "button_reply": { "id": "yes" } } },
        ]),
        json!([]),
    ));
    assert_eq!(batch.rejected.len(), 0);
    assert_eq!(
        batch.messages[0].content,
        MessageContent::Button {
            text: "Yes".into(),
            payload: None
        }
    );
    assert_eq!(
        batch.messages[1].content,
        MessageContent::Interactive {
            reply_id: "yes".into(),
            title: String::new()
        }
    );
}

#[test]
fn status_error_title_falls_back_to_message_then_empty() {
    let with_errors = |errors: serde_json::Value| {
        let mut s = status("wamid.f", "failed", json!("1744344600"));
        s["errors"] = errors;
        parse_json(value_with(json!([]), json!([s]))).statuses[0]
            .error
            .clone()
    };
    assert_eq!(
        with_errors(json!([{ "code": 131026, "message": "Message undeliverable" }])),
        Some(DeliveryError {
            code: 131_026,
            title: "Message undeliverable".into()
        })
    );
    assert_eq!(
        with_errors(json!([{ "code": "131047" }])),
        Some(DeliveryError {
            code: 131_047,
            title: String::new()
        })
    );
    assert_eq!(
        with_errors(json!([{ "title": "No code" }])),
        Some(DeliveryError {
            code: 0,
            title: "No code".into()
        })
    );
    assert_eq!(with_errors(json!([])), None);
    assert_eq!(with_errors(json!(["x"])), None);
    assert_eq!(with_errors(json!("x")), None);
}

#[test]
fn profile_name_rules() {
    let message = |from: serde_json::Value, from_user_id: serde_json::Value| {
        json!({ "from": from, "from_user_id": from_user_id, "id": "wamid.p",
                "timestamp": "1744344600", "type": "text", "text": { "body": "hi" } })
    };
    let name_for = |contacts: serde_json::Value, message: serde_json::Value| {
        let mut body = value_with(json!([message]), json!([]));
        body["entry"][0]["changes"][0]["value"]["contacts"] = contacts;
        let batch = parse_json(body);
        assert_eq!(batch.rejected.len(), 0);
        batch.messages[0].profile_name.clone()
    };
    let two = json!([
        { "profile": { "name": "Ann" }, "wa_id": "111" },
        { "profile": { "name": "Bea" }, "wa_id": "222", "user_id": "US.2" },
    ]);
    assert_eq!(
        name_for(two.clone(), message(json!("222"), json!(null))),
        Some("Bea".into())
    );
    assert_eq!(
        name_for(two.clone(), message(json!(null), json!("US.2"))),
        Some("Bea".into())
    );
    // Two contacts and neither is the sender: no guess.
    assert_eq!(name_for(two, message(json!("333"), json!(null))), None);
    // A single contact is the sender's, even when it only has the other kind of id.
    assert_eq!(
        name_for(
            json!([{ "profile": { "name": "Cy" }, "user_id": "US.3" }]),
            message(json!("333"), json!(null))
        ),
        Some("Cy".into())
    );
    assert_eq!(
        name_for(json!([]), message(json!("333"), json!(null))),
        None
    );
    assert_eq!(
        name_for(json!("garbage"), message(json!("333"), json!(null))),
        None
    );
    assert_eq!(
        name_for(
            json!([{ "profile": { "name": "" }, "wa_id": "333" }]),
            message(json!("333"), json!(null))
        ),
        None
    );
    // An empty `from` falls back to the business-scoped id.
    let mut body = value_with(json!([message(json!(""), json!("US.4"))]), json!([]));
    body["entry"][0]["changes"][0]["value"]["contacts"] = json!([]);
    assert_eq!(parse_json(body).messages[0].customer.wa_id.as_str(), "US.4");
}

#[test]
fn duplicate_wamids_are_all_returned() {
    // Deduplication is the application's job (by wamid, for 7+ days).
    let batch = parse_json(value_with(
        json!([
            text("wamid.same", json!(SHEENA), json!("1744344600")),
            text("wamid.same", json!(SHEENA), json!("1744344600")),
        ]),
        json!([]),
    ));
    assert_eq!(batch.messages.len(), 2);
}

// ---------------------------------------------------------------- builder

#[test]
fn text_message_body_round_trips() {
    let body = wadesk_whatsapp::text_message_body(
        "1065",
        "15550001111",
        "34600111222",
        "Ana",
        "Hola",
        "wamid.local-1",
        1_744_344_600,
    );
    assert_eq!(body["object"], "whatsapp_business_account");
    assert_eq!(body["entry"][0]["changes"][0]["field"], "messages");
    assert_eq!(
        body["entry"][0]["changes"][0]["value"]["messaging_product"],
        "whatsapp"
    );
    assert_eq!(
        body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"],
        "1744344600"
    );
    let batch = parse_json(body);
    let message = only_message(&batch);
    assert_eq!(message.wamid.as_str(), "wamid.local-1");
    assert_eq!(message.customer.phone_number_id.as_str(), "1065");
    assert_eq!(message.customer.wa_id.as_str(), "34600111222");
    assert_eq!(message.profile_name.as_deref(), Some("Ana"));
    assert_eq!(message.display_phone_number, "15550001111");
    assert_eq!(message.sent_at, at(1_744_344_600));
    assert_eq!(message.content.text(), Some("Hola"));
}

#[test]
fn status_body_round_trips() {
    let body = wadesk_whatsapp::status_body(
        "1065",
        "15550001111",
        "wamid.out-1",
        "34600111222",
        "failed",
        1_744_344_600,
        Some((131_047, "Re-engagement message")),
    );
    let batch = parse_json(body);
    assert_eq!(batch.statuses.len(), 1);
    assert_eq!(batch.statuses[0].status, DeliveryStatus::Failed);
    assert_eq!(
        batch.statuses[0].error,
        Some(DeliveryError {
            code: 131_047,
            title: "Re-engagement message".into()
        })
    );

    let ok = wadesk_whatsapp::status_body("1065", "1555", "wamid.out-2", "346", "read", 5, None);
    assert!(ok["entry"][0]["changes"][0]["value"]["statuses"][0]
        .get("errors")
        .is_none());
    assert_eq!(parse_json(ok).statuses[0].error, None);
}

#[test]
fn builder_lists_each_sender_once_and_splits_messages_from_statuses() {
    let body = WebhookBuilder::new("1065", "1555")
        .waba_id("102290129340398")
        .text("111", "Ann", "one", "wamid.1", 10)
        .text("222", "Bea", "two", "wamid.2", 11)
        .text("111", "Ann", "three", "wamid.3", 12)
        .status("wamid.out", "111", "delivered", 13, None)
        .build();
    assert_eq!(body["entry"][0]["id"], "102290129340398");
    let changes = body["entry"][0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0]["value"]["contacts"].as_array().unwrap().len(), 2);
    assert!(changes[1]["value"].get("messages").is_none());

    let batch = parse_json(body);
    let names: Vec<_> = batch
        .messages
        .iter()
        .map(|m| m.profile_name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Bea", "Ann"]);
    assert_eq!(batch.statuses.len(), 1);
}

#[test]
fn a_thousand_items_of_three_megabytes() {
    let long_text = "Lorem ipsum dolor sit amet, \"quoted\" ñ 👍 ".repeat(70);
    let mut builder = WebhookBuilder::new("1065", "1555");
    for i in 0..900 {
        builder = builder.text(
            &format!("3460011{i:04}"),
            "Ana",
            &long_text,
            &format!("wamid.in-{i}"),
            1_744_344_600 + i,
        );
    }
    for i in 0..100 {
        builder = builder.status(
            &format!("wamid.out-{i}"),
            "346",
            "read",
            1_744_344_600 + i,
            None,
        );
    }
    let body = builder.build().to_string();
    assert!(body.len() > 2_500_000, "{}", body.len());
    let started = std::time::Instant::now();
    let batch = parse_webhook(body.as_bytes()).unwrap();
    eprintln!("parsed {} bytes in {:?}", body.len(), started.elapsed());
    assert_eq!(batch.messages.len(), 900);
    assert_eq!(batch.statuses.len(), 100);
    assert!(batch
        .messages
        .iter()
        .all(|m| m.content.text() == Some(long_text.as_str())));
}
