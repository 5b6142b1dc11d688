//! Properties: hostile bytes never panic, one bad item never costs the batch, and
//! what the builder writes the parser reads back in full.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{json, Value};
use wadesk_whatsapp::signature::{sign, verify};
use wadesk_whatsapp::{parse_webhook, SignatureError, WebhookBuilder};

/// Cases for the fuzz-style properties.
const FUZZ_CASES: u32 = 2_000;

/// Member names and values of the real payload, so generated JSON reaches the
/// mapping code instead of being ignored at the first level.
const KEYS: &[&str] = &[
    "object",
    "entry",
    "id",
    "changes",
    "field",
    "value",
    "messaging_product",
    "metadata",
    "display_phone_number",
    "phone_number_id",
    "contacts",
    "profile",
    "name",
    "wa_id",
    "user_id",
    "messages",
    "from",
    "from_user_id",
    "timestamp",
    "type",
    "text",
    "body",
    "image",
    "video",
    "location",
    "latitude",
    "longitude",
    "address",
    "formatted_name",
    "phones",
    "phone",
    "emails",
    "audio",
    "document",
    "sticker",
    "mime_type",
    "caption",
    "filename",
    "button",
    "payload",
    "interactive",
    "button_reply",
    "list_reply",
    "title",
    "statuses",
    "status",
    "recipient_id",
    "errors",
    "code",
    "message",
];
const STRINGS: &[&str] = &[
    "whatsapp_business_account",
    "messages",
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "button",
    "interactive",
    "button_reply",
    "list_reply",
    "reaction",
    "location",
    "contacts",
    "sent",
    "delivered",
    "read",
    "failed",
    "deleted",
    "1744344600",
    "0",
    "-1",
    "16505551234",
    "US.13491208655302741918",
    "106540352242922",
    "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz",
    "",
];

const FIXTURES: &[&str] = &[
    include_str!("fixtures/text.json"),
    include_str!("fixtures/image.json"),
    include_str!("fixtures/document.json"),
    include_str!("fixtures/media.json"),
    include_str!("fixtures/button.json"),
    include_str!("fixtures/interactive_button_reply.json"),
    include_str!("fixtures/interactive_list_reply.json"),
    include_str!("fixtures/reaction.json"),
    include_str!("fixtures/location.json"),
    include_str!("fixtures/contacts.json"),
    include_str!("fixtures/unsupported.json"),
    include_str!("fixtures/status_sent.json"),
    include_str!("fixtures/status_delivered.json"),
    include_str!("fixtures/status_read.json"),
    include_str!("fixtures/status_failed.json"),
    include_str!("fixtures/batch.json"),
    include_str!("fixtures/business_scoped_ids.json"),
    include_str!("fixtures/unknown_fields.json"),
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(STRINGS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
        1 => any::<String>(),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
    ]
}

/// Any JSON value, biased towards the payload's own vocabulary.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Puts `v` at some depth of an otherwise valid envelope; `depth >= 2` is inside
/// `entry[]`, where nothing may fail the batch.
fn embed(v: Value, depth: u8) -> Value {
    let metadata =
        json!({ "display_phone_number": "15550783881", "phone_number_id": "106540352242922" });
    let envelope = |entry: Value| json!({ "object": "whatsapp_business_account", "entry": entry });
    match depth {
        0 => v,
        1 => envelope(v),
        2 => envelope(json!([v])),
        3 => envelope(json!([{ "changes": v }])),
        4 => envelope(json!([{ "changes": [v] }])),
        5 => envelope(json!([{ "changes": [{ "field": "messages", "value": v }] }])),
        6 => envelope(json!([{ "changes": [{ "field": "messages", "value": {
                "metadata": metadata, "contacts": v.clone(), "messages": v.clone(), "statuses": v } }] }])),
        _ => envelope(json!([{ "changes": [{ "field": "messages", "value": {
                "metadata": metadata, "messages": [v.clone()], "statuses": [v] } }] }])),
    }
}

/// Every JSON pointer in `v`.
fn pointers(v: &Value, prefix: &str, out: &mut Vec<String>) {
    out.push(prefix.to_owned());
    match v {
        Value::Object(members) => {
            for (key, child) in members {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, &format!("{prefix}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, &format!("{prefix}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The pointer of the message or status a pointer lies in, if any.
fn item_of(pointer: &str) -> Option<String> {
    let segments: Vec<_> = pointer.split('/').collect();
    let i = segments
        .iter()
        .position(|s| *s == "messages" || *s == "statuses")?;
    (segments.len() > i + 1).then(|| segments[..=i + 1].join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(FUZZ_CASES))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_webhook(&body);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_json(v in arb_json(), depth in 0u8..8) {
        let body = embed(v, depth).to_string();
        let result = parse_webhook(body.as_bytes());
        if depth >= 2 {
            prop_assert!(result.is_ok(), "{:?} for {}", result, body);
        }
    }

    /// Replacing any node below `entry` with any value never fails the batch, and
    /// costs at most the one message or status it lies in.
    #[test]
    fn a_broken_node_costs_at_most_its_item(
        fixture in select(FIXTURES),
        at in any::<Index>(),
        replacement in arb_json(),
    ) {
        let original: Value = serde_json::from_str(fixture).unwrap();
        let before = parse_webhook(fixture.as_bytes()).unwrap();
        let mut all = Vec::new();
        pointers(&original, "", &mut all);
        let pointer = at.get(&all).clone();
        let mut mutated = original.clone();
        *mutated.pointer_mut(&pointer).unwrap() = replacement;
        let body = mutated.to_string();

        let result = parse_webhook(body.as_bytes());
        if pointer.starts_with("/entry/") {
            let after = result.unwrap();
            if item_of(&pointer).is_some() {
                let lost = (before.messages.len() + before.statuses.len())
                    .saturating_sub(after.messages.len() + after.statuses.len());
                prop_assert!(lost <= 1, "lost {} items at {}: {}", lost, pointer, body);
            }
        }
    }

    #[test]
    fn verify_never_panics(
        secret in prop::collection::vec(any::<u8>(), 0..100),
        body in prop::collection::vec(any::<u8>(), 0..512),
        header in prop::option::of(prop_oneof![
            any::<String>(),
            "sha256=\\PC{0,80}",
            "sha256=[0-9a-fA-F]{0,70}",
        ]),
    ) {
        let result = verify(&secret, &body, header.as_deref());
        if header.is_none() {
            prop_assert_eq!(result, Err(SignatureError::Missing));
        }
    }

    #[test]
    fn signed_bodies_verify_and_any_flipped_bit_does_not(
        secret in prop::collection::vec(any::<u8>(), 0..100),
        body in prop::collection::vec(any::<u8>(), 1..512),
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        let header = sign(&secret, &body);
        prop_assert_eq!(verify(&secret, &body, Some(&header)), Ok(()));
        let mut tampered = body.clone();
        tampered[at.index(body.len())] ^= 1 << bit;
        prop_assert_eq!(verify(&secret, &tampered, Some(&header)), Err(SignatureError::Mismatch));
    }
}

/// Senders as `(wa_id, profile name)`; a message picks one by index.
fn arb_senders() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[1-9][0-9]{6,14}", "\\PC{0,20}"), 1..5).prop_map(|senders| {
        // One name per wa_id: the builder lists each sender once, with its first name.
        let mut unique: Vec<(String, String)> = Vec::new();
        for (wa_id, name) in senders {
            if !unique.iter().any(|(w, _)| *w == wa_id) {
                unique.push((wa_id, name));
            }
        }
        unique
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// N messages (and M statuses) built with the builder parse back to exactly N
    /// messages, in order, with the same wamids, senders, names, texts and times.
    #[test]
    fn built_batches_parse_to_every_item(
        senders in arb_senders(),
        messages in prop::collection::vec((any::<Index>(), any::<String>(), 1i64..4_000_000_000), 0..150),
        statuses in prop::collection::vec((select(&["sent", "delivered", "read", "failed"][..]), 1i64..4_000_000_000), 0..50),
    ) {
        let mut builder = WebhookBuilder::new("106540352242922", "15550783881");
        for (i, (sender, text, ts)) in messages.iter().enumerate() {
            let (wa_id, name) = sender.get(&senders);
            builder = builder.text(wa_id, name, text, &format!("wamid.in-{i}"), *ts);
        }
        for (i, (status, ts)) in statuses.iter().enumerate() {
            let error = (*status == "failed").then_some((131_047, "Re-engagement message"));
            builder = builder.status(&format!("wamid.out-{i}"), "16505551234", status, *ts, error);
        }
        let body = builder.build().to_string();

        let batch = parse_webhook(body.as_bytes()).unwrap();
        prop_assert_eq!(batch.rejected.len(), 0);
        prop_assert_eq!(batch.messages.len(), messages.len());
        prop_assert_eq!(batch.statuses.len(), statuses.len());
        for (i, (parsed, (sender, text, ts))) in batch.messages.iter().zip(&messages).enumerate() {
            let (wa_id, name) = sender.get(&senders);
            prop_assert_eq!(parsed.wamid.as_str(), format!("wamid.in-{i}"));
            prop_assert_eq!(parsed.customer.wa_id.as_str(), wa_id.as_str());
            prop_assert_eq!(parsed.profile_name.as_deref(), Some(name.as_str()).filter(|n| !n.is_empty()));
            prop_assert_eq!(parsed.content.text(), Some(text.as_str()));
            prop_assert_eq!(parsed.sent_at.timestamp(), *ts);
        }
        for (i, (parsed, (status, _))) in batch.statuses.iter().zip(&statuses).enumerate() {
            prop_assert_eq!(parsed.wamid.as_str(), format!("wamid.out-{i}"));
            prop_assert_eq!(parsed.error.is_some(), *status == "failed");
        }
    }
}
