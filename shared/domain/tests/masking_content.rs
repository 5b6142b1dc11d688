//! Masking of whole message contents: every free-text field of every kind of
//! message is masked, what search looks through is what an agent sees, and the
//! new kinds (locations, contact cards) are stored and read back as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use wadesk_domain::masking::{mask_content, mask_sensitive, searchable_text};
use wadesk_domain::message::{ContactCard, Degrees};
use wadesk_domain::{Attachment, MessageContent, TemplateContent};

const CARD: &str = "4111 1111 1111 1111";
const MASKED: &str = "[card •••• 1111]";

fn text(text: &str) -> MessageContent {
    MessageContent::Text { text: text.into() }
}

fn location(name: Option<&str>, address: Option<&str>, url: Option<&str>) -> MessageContent {
    MessageContent::Location {
        latitude: Degrees::latitude(40.4168).unwrap(),
        longitude: Degrees::longitude(-3.7038).unwrap(),
        name: name.map(Into::into),
        address: address.map(Into::into),
        url: url.map(Into::into),
    }
}

fn card(fill: impl Fn(&mut ContactCard)) -> MessageContent {
    let mut card = ContactCard {
        name: "Ana".into(),
        ..ContactCard::default()
    };
    fill(&mut card);
    MessageContent::Contacts {
        contacts: vec![card],
    }
}

fn image(fill: impl Fn(&mut Attachment)) -> MessageContent {
    let mut attachment = Attachment {
        media_id: Some("media-id".into()),
        mime_type: Some("image/jpeg".into()),
        ..Attachment::default()
    };
    fill(&mut attachment);
    MessageContent::Image { attachment }
}

fn json(content: &MessageContent) -> String {
    serde_json::to_string(content).unwrap()
}

// ------------------------------------------------------------ every field

#[test]
fn every_customer_field_is_masked() {
    let with = |value: &str| -> Vec<(&'static str, MessageContent)> {
        let v = || Some(value.to_owned());
        vec![
            ("text", text(value)),
            (
                "button text",
                MessageContent::Button {
                    text: value.into(),
                    payload: None,
                },
            ),
            (
                "button payload",
                MessageContent::Button {
                    text: "Yes".into(),
                    payload: v(),
                },
            ),
            (
                "reply title",
                MessageContent::Interactive {
                    reply_id: "pay".into(),
                    title: value.into(),
                },
            ),
            ("image caption", image(|a| a.caption = v())),
            ("image file name", image(|a| a.filename = v())),
            (
                "document caption",
                MessageContent::Document {
                    attachment: Attachment {
                        caption: v(),
                        ..Attachment::default()
                    },
                },
            ),
            (
                "video file name",
                MessageContent::Video {
                    attachment: Attachment {
                        filename: v(),
                        ..Attachment::default()
                    },
                },
            ),
            (
                "audio caption",
                MessageContent::Audio {
                    attachment: Attachment {
                        caption: v(),
                        ..Attachment::default()
                    },
                },
            ),
            (
                "sticker caption",
                MessageContent::Sticker {
                    attachment: Attachment {
                        caption: v(),
                        ..Attachment::default()
                    },
                },
            ),
            (
                "template parameter",
                MessageContent::Template {
                    template: TemplateContent {
                        name: "reopen".into(),
                        language: "es".into(),
                        parameters: vec!["Ana".into(), value.into()],
                    },
                },
            ),
            ("location name", location(Some(value), None, None)),
            ("location address", location(None, Some(value), None)),
            ("location url", location(None, None, Some(value))),
            ("contact name", card(|c| c.name = value.into())),
            ("contact phone", card(|c| c.phones = vec![value.into()])),
            ("contact email", card(|c| c.emails = vec![value.into()])),
            ("contact organization", card(|c| c.organization = v())),
            (
                "contact address",
                card(|c| c.addresses = vec![value.into()]),
            ),
            ("contact url", card(|c| c.urls = vec![value.into()])),
        ]
    };
    for (field, content) in with(&format!("pay with {CARD} please")) {
        let masked = json(&mask_content(&content));
        assert!(!masked.contains(CARD), "{field}: {masked}");
        assert!(masked.contains(MASKED), "{field}: {masked}");
        // Only that field changed.
        let expected = json(&content).replace(CARD, MASKED);
        assert_eq!(masked, expected, "{field}");
    }
}

#[test]
fn identifiers_and_coordinates_are_kept() {
    let content = MessageContent::Interactive {
        reply_id: "4111111111111111".into(),
        title: "Pay".into(),
    };
    assert_eq!(mask_content(&content), content);
    let content = image(|a| a.media_id = Some("4111111111111111".into()));
    assert_eq!(mask_content(&content), content);
    let content = MessageContent::Template {
        template: TemplateContent {
            name: "card_4111111111111111".into(),
            language: "es".into(),
            parameters: vec![],
        },
    };
    assert_eq!(mask_content(&content), content);
    let content = location(Some("Sol"), None, None);
    assert_eq!(mask_content(&content), content);
    let content = MessageContent::Unsupported {
        whatsapp_type: "reaction".into(),
    };
    assert_eq!(mask_content(&content), content);
}

#[test]
fn every_contact_card_and_every_value_in_it_is_masked() {
    let content = MessageContent::Contacts {
        contacts: vec![
            ContactCard {
                name: "Ana García".into(),
                phones: vec!["+34 600 111 222".into(), "+34 600 333 444".into()],
                emails: vec!["ana@example.com".into()],
                organization: Some("Acme, card 4111.1111.1111.1111".into()),
                addresses: vec!["Calle Mayor 1, Madrid".into()],
                urls: vec!["https://example.com/?ref=4111111111111111".into()],
            },
            ContactCard {
                name: "Bob ５５５５ ５５５５ ５５５５ ４４４４".into(),
                ..ContactCard::default()
            },
        ],
    };
    assert_eq!(
        mask_content(&content),
        MessageContent::Contacts {
            contacts: vec![
                ContactCard {
                    name: "Ana García".into(),
                    phones: vec!["[phone ••• 222]".into(), "[phone ••• 444]".into()],
                    emails: vec!["[email a•••@•••.com]".into()],
                    organization: Some("Acme, card [card •••• 1111]".into()),
                    addresses: vec!["Calle Mayor 1, Madrid".into()],
                    urls: vec!["https://example.com/?ref=[card •••• 1111]".into()],
                },
                ContactCard {
                    name: "Bob [card •••• 4444]".into(),
                    ..ContactCard::default()
                },
            ]
        }
    );
}

#[test]
fn masking_content_twice_changes_nothing() {
    let content = card(|c| {
        c.name = format!("Ana {CARD}");
        c.phones = vec!["+34 600 111 222".into()];
        c.emails = vec!["ana@example.com".into()];
    });
    let once = mask_content(&content);
    assert_eq!(mask_content(&once), once);
}

#[test]
fn card_formats_in_a_caption() {
    for written in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111111111111111",
        "4111 1111-1111.1111",
        "４１１１　１１１１　１１１１　１１１１",
        "４１１１－１１１１－１１１１－１１１１",
        "４１１１１１１１１１１１１１１１",
        "٤١١١ ١١١١ ١١١١ ١١١١",
    ] {
        let content = image(|a| a.caption = Some(format!("mi tarjeta: {written}")));
        assert_eq!(
            mask_content(&content),
            image(|a| a.caption = Some(format!("mi tarjeta: {MASKED}"))),
            "{written}"
        );
    }
}

// ------------------------------------------------------------ search

#[test]
fn search_text_is_every_visible_string_one_per_line() {
    let content = location(
        Some("Philz Coffee"),
        Some("1 Hacker Way"),
        Some("https://philz.example"),
    );
    assert_eq!(
        searchable_text(&content, false),
        "Philz Coffee\n1 Hacker Way\nhttps://philz.example"
    );
    let content = image(|a| {
        a.caption = Some("the receipt".into());
        a.filename = Some("receipt.pdf".into());
    });
    assert_eq!(searchable_text(&content, false), "the receipt\nreceipt.pdf");
    let content = MessageContent::Button {
        text: "Yes".into(),
        payload: Some("CONFIRM_42".into()),
    };
    assert_eq!(searchable_text(&content, false), "Yes");
    let content = MessageContent::Unsupported {
        whatsapp_type: "reaction".into(),
    };
    assert_eq!(searchable_text(&content, false), "");
}

#[test]
fn masked_search_text_never_holds_the_hidden_digits() {
    for content in [
        text(&format!("card {CARD}")),
        image(|a| a.caption = Some(CARD.into())),
        image(|a| a.filename = Some("4111111111111111.pdf".into())),
        location(Some(CARD), Some("4111/1111/1111/1111"), None),
        card(|c| c.phones = vec!["4111.1111.1111.1111".into()]),
    ] {
        let masked = searchable_text(&content, true);
        assert!(masked.contains(MASKED), "{masked}");
        for needle in ["4111", "4111 1111", "41111111"] {
            assert!(!masked.contains(needle), "{needle:?} found in {masked:?}");
        }
        // Unmasked, the caller sees (and finds) the number.
        assert!(searchable_text(&content, false).contains("4111"));
    }
}

#[test]
fn search_text_is_exactly_what_the_masked_view_shows() {
    let content = card(|c| {
        c.name = format!("Ana {CARD}");
        c.emails = vec!["ana@example.com".into()];
        c.organization = Some("Acme".into());
    });
    assert_eq!(
        searchable_text(&content, true),
        mask_content(&content).visible_texts().join("\n")
    );
    assert_eq!(
        searchable_text(&content, true),
        "Ana [card •••• 1111]\n[email a•••@•••.com]\nAcme"
    );
}

// ------------------------------------------------------------ new kinds

#[test]
fn locations_and_contact_cards_name_their_type_and_text() {
    let place = location(Some("Sol"), Some("Puerta del Sol, Madrid"), None);
    assert_eq!(place.type_name(), "location");
    assert_eq!(place.text(), Some("Sol"));
    let address_only = location(None, Some("Puerta del Sol, Madrid"), None);
    assert_eq!(address_only.text(), Some("Puerta del Sol, Madrid"));
    assert_eq!(location(None, None, None).text(), None);

    let cards = MessageContent::Contacts {
        contacts: vec![
            ContactCard::default(),
            ContactCard {
                name: "Ana".into(),
                ..ContactCard::default()
            },
            ContactCard {
                name: "Bob".into(),
                ..ContactCard::default()
            },
        ],
    };
    assert_eq!(cards.type_name(), "contacts");
    assert_eq!(cards.text(), Some("Ana"));
    assert_eq!(cards.visible_texts(), ["Ana", "Bob"]);
}

#[test]
fn locations_and_contact_cards_are_stored_tagged_and_read_back() {
    let place = location(Some("Sol"), None, Some("https://sol.example"));
    let stored = serde_json::to_value(&place).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({
            "type": "location", "latitude": 40.4168, "longitude": -3.7038,
            "name": "Sol", "url": "https://sol.example"
        })
    );
    assert_eq!(
        serde_json::from_value::<MessageContent>(stored).unwrap(),
        place
    );

    let cards = card(|c| {
        c.phones = vec!["+34 600 111 222".into()];
        c.organization = Some("Acme".into());
    });
    let stored = serde_json::to_value(&cards).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({
            "type": "contacts",
            "contacts": [{ "name": "Ana", "phones": ["+34 600 111 222"], "organization": "Acme" }]
        })
    );
    assert_eq!(
        serde_json::from_value::<MessageContent>(stored).unwrap(),
        cards
    );
}

#[test]
fn a_stored_message_with_a_location_reads_back() {
    // Messages flatten their content next to their own fields.
    let stored = serde_json::json!({
        "id": "0193a5b0-7c1e-7d2a-9f3b-2c4d5e6f7a8b",
        "conversation_id": "0193a5b0-7c1e-7d2a-9f3b-2c4d5e6f7a8c",
        "direction": "inbound",
        "type": "location", "latitude": 0, "longitude": 180,
        "at": "2026-11-23T10:30:00Z"
    });
    let message: wadesk_domain::Message = serde_json::from_value(stored).unwrap();
    assert_eq!(
        message.content,
        MessageContent::Location {
            latitude: Degrees::latitude(0.0).unwrap(),
            longitude: Degrees::longitude(180.0).unwrap(),
            name: None,
            address: None,
            url: None,
        }
    );
    let again = serde_json::to_value(&message).unwrap();
    assert_eq!(
        serde_json::from_value::<wadesk_domain::Message>(again).unwrap(),
        message
    );
}

#[test]
fn coordinates_are_finite_and_in_range() {
    assert!(Degrees::latitude(90.0).is_some());
    assert!(Degrees::latitude(90.5).is_none());
    assert!(Degrees::longitude(-180.0).is_some());
    assert!(Degrees::longitude(-180.1).is_none());
    assert!(Degrees::latitude(f64::NAN).is_none());
    assert!(Degrees::longitude(f64::INFINITY).is_none());
    assert!(serde_json::from_str::<Degrees>("\"12\"").is_err());
    assert_eq!(Degrees::latitude(1.5).unwrap().value(), 1.5);
}

// ------------------------------------------------------------ the property

/// A Luhn-valid number of `len` digits (ASCII) from `body`.
fn luhn_number(body: &[u8], len: usize) -> String {
    let mut digits: Vec<u32> = body
        .iter()
        .take(len - 1)
        .map(|&d| u32::from(d % 10))
        .collect();
    // The check digit makes the Luhn sum a multiple of 10; it is doubled never.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|&d| char::from_digit(d, 10).unwrap())
        .collect()
}

/// The digits of `text` (of any script, as ASCII), everything else dropped.
fn digits_only(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let zero = ['0', '０', '٠', '۰', '०', '০', '๐', '𝟎', '𝟘', '𝟢', '𝟬', '𝟶']
                .into_iter()
                .find(|&zero| (u32::from(zero)..u32::from(zero) + 10).contains(&u32::from(c)))?;
            char::from_digit(u32::from(c) - u32::from(zero), 10)
        })
        .collect()
}

/// How a card is written: its groups and what joins them, in which digits.
#[derive(Debug, Clone)]
struct Format {
    /// Sizes of all groups but the last (which takes what is left); at least 3.
    sizes: Vec<usize>,
    separators: Vec<&'static str>,
    /// Per digit: the zero of the script it is written in.
    zeros: Vec<char>,
}

fn format() -> impl Strategy<Value = Format> {
    let separator = prop::sample::select(vec![
        " ", "-", ".", "/", "　", "－", "．", "／", "\u{a0}", " - ",
    ]);
    let sizes = prop_oneof![
        1 => Just(vec![]),                      // no separators
        3 => Just(vec![4, 4, 4, 4]),            // the usual 4-4-4-4(-3)
        1 => Just(vec![4, 6]),                  // Amex 4-6-5, Diners 4-6-4
        2 => prop::collection::vec(3usize..=6, 0..6),
    ];
    let zeros = prop_oneof![
        3 => Just('0'),                    // ASCII
        2 => Just('０'),                   // full-width
        1 => prop::sample::select(vec!['٠', '۰', '०', '𝟎']),
    ];
    let mixed_zeros = prop_oneof![
        3 => zeros.clone().prop_map(|zero| vec![zero; 19]),
        1 => prop::collection::vec(zeros, 19),
    ];
    (
        sizes,
        prop::collection::vec(separator, 6),
        prop::sample::select(vec![true, false]),
        mixed_zeros,
    )
        .prop_map(|(sizes, separators, mixed, zeros)| Format {
            separators: if mixed {
                separators
            } else {
                vec![separators[0]; 6]
            },
            sizes,
            zeros,
        })
}

fn write(card: &str, format: &Format) -> String {
    let digits: Vec<char> = card
        .chars()
        .zip(&format.zeros)
        .map(|(d, &zero)| {
            let value = d.to_digit(10).unwrap_or(0);
            char::from_u32(u32::from(zero) + value).unwrap_or(d)
        })
        .collect();
    let mut out = String::new();
    let mut at = 0;
    for (i, &size) in format.sizes.iter().enumerate() {
        if at + size >= digits.len() {
            break;
        }
        out.extend(&digits[at..at + size]);
        out.push_str(format.separators[i % format.separators.len()]);
        at += size;
    }
    out.extend(&digits[at..]);
    out
}

/// Arbitrary text without a single decimal digit of any script.
fn surrounding() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z]{1,6}".prop_map(String::from),
        3 => prop::sample::select(vec![
            " ", "-", ".", "/", "+", "(", ")", "@", ":", "#", ",", "[", "]", "•", "é", "€", "$",
            "_", "\n", "　", "－", "カード", "x@", "@x.com", ".com", "IBAN ", "SSN ", "GB",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| digits_free(&s)),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// `text` without any numeric character (decimal digits of every script among them).
fn digits_free(text: &str) -> String {
    text.chars().filter(|c| !c.is_numeric()).collect()
}

/// The content kinds and fields a customer can put a card number in.
fn with_value(kind: usize, value: String) -> MessageContent {
    let v = Some(value.clone());
    match kind {
        0 => text(&value),
        1 => MessageContent::Button {
            text: value,
            payload: None,
        },
        2 => MessageContent::Button {
            text: "Yes".into(),
            payload: v,
        },
        3 => MessageContent::Interactive {
            reply_id: "pay".into(),
            title: value,
        },
        4 => image(|a| a.caption = v.clone()),
        5 => MessageContent::Document {
            attachment: Attachment {
                media_id: Some("media".into()),
                filename: v,
                ..Attachment::default()
            },
        },
        6 => location(Some(&value), Some("Gran Vía"), None),
        7 => location(Some("Sol"), Some(&value), None),
        8 => location(None, None, Some(&value)),
        9 => card(|c| c.name = value.clone()),
        10 => card(|c| c.phones = vec![value.clone()]),
        11 => card(|c| c.emails = vec![value.clone()]),
        12 => card(|c| c.organization = Some(value.clone())),
        13 => card(|c| c.addresses = vec![value.clone()]),
        14 => card(|c| c.urls = vec![value.clone()]),
        _ => MessageContent::Template {
            template: TemplateContent {
                name: "reopen".into(),
                language: "es".into(),
                parameters: vec![value],
            },
        },
    }
}

/// The masked content as the API would serialise it, without the coordinates
/// (numbers of their own, not customer text).
fn served(content: &MessageContent) -> String {
    let mut value = serde_json::to_value(mask_content(content)).unwrap();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("latitude");
        fields.remove("longitude");
    }
    value.to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// For any Luhn-valid number of 13–19 digits, written in any format, inside
    /// any customer field of any kind of content, the masked content (as the API
    /// would serialise it) never holds its digits in sequence.
    #[test]
    fn no_card_number_survives_masking_in_any_field(
        body in prop::collection::vec(0u8..10, 18),
        len in 13usize..=19,
        format in format(),
        before in surrounding(),
        after in surrounding(),
        kind in 0usize..16,
    ) {
        let card = luhn_number(&body, len);
        prop_assert!(mask_sensitive(&card).starts_with("[card"), "{card} is not Luhn-valid");
        let written = write(&card, &format);
        prop_assert_eq!(digits_only(&written), card.clone());
        let content = with_value(kind, format!("{before}{written}{after}"));
        let masked = served(&content);
        let leaked = digits_only(&masked);
        prop_assert!(
            !leaked.contains(&card),
            "{card} written {written:?} leaked in {masked}"
        );
        // And masking is a view that settles: masking it again changes nothing.
        let again = mask_content(&mask_content(&content));
        prop_assert_eq!(again, mask_content(&content));
    }
}
