//! Unit and property tests of [`mask_sensitive`].

use super::card::luhn;
use super::*;
use proptest::prelude::*;

fn mask(text: &str) -> String {
    mask_sensitive(text).into_owned()
}

/// Masks `text`, checks the result is stable and returns it.
fn masked(text: &str) -> String {
    let once = mask(text);
    assert_eq!(mask(&once), once, "masking {text:?} twice changed it");
    once
}

fn untouched(text: &str) {
    assert!(
        matches!(mask_sensitive(text), Cow::Borrowed(_)),
        "{text:?} was masked as {:?}",
        mask(text)
    );
}

/// The maximal runs of digits (of any script, read as ASCII) of 13–19 digits that
/// pass the Luhn check.
fn luhn_runs(text: &str) -> Vec<String> {
    let normalised: String = text
        .chars()
        .map(|c| digits::decimal_value(c).map_or(' ', |d| char::from(b'0' + d)))
        .collect();
    normalised
        .split(' ')
        .filter(|run| (13..=19).contains(&run.len()) && luhn(run.as_bytes()))
        .map(str::to_owned)
        .collect()
}

// --- cards ---------------------------------------------------------------

#[test]
fn luhn_valid_cards_keep_the_last_four_digits() {
    for card in [
        "4111 1111 1111 1111",
        "4111111111111111",
        "4111-1111-1111-1111",
        "4111 1111-1111 1111",
    ] {
        assert_eq!(masked(card), "[card •••• 1111]", "{card}");
    }
    assert_eq!(masked("5555 5555 5555 4444"), "[card •••• 4444]");
    assert_eq!(masked("3782 822463 10005"), "[card •••• 0005]"); // Amex 4-6-5
    assert_eq!(masked("4222222222222"), "[card •••• 2222]"); // 13 digits
    assert_eq!(masked("6011 0009 9013 9424"), "[card •••• 9424]");
}

#[test]
fn cards_in_context() {
    assert_eq!(
        masked("my card is 4111 1111 1111 1111, exp 12/27"),
        "my card is [card •••• 1111], exp 12/27"
    );
    assert_eq!(
        masked("4111 1111 1111 1111 12/27"),
        "[card •••• 1111] 12/27"
    );
    assert_eq!(masked("card:4111111111111111."), "card:[card •••• 1111].");
    // Glued to a word: the word goes too.
    assert_eq!(masked("ref4111111111111111x ok"), "[card •••• 1111] ok");
    assert_eq!(
        masked("4111111111111111 and 5555-5555-5555-4444"),
        "[card •••• 1111] and [card •••• 4444]"
    );
}

#[test]
fn cards_with_dots_slashes_and_mixed_separators() {
    for card in [
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111 1111-1111.1111",
        "4111/1111 1111-1111",
        "4111 - 1111 - 1111 - 1111",
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "4111–1111–1111–1111", // en dash
        "411 111 111 111 111 1",
    ] {
        assert_eq!(masked(card), "[card •••• 1111]", "{card}");
    }
    assert_eq!(masked("3782.822463.10005"), "[card •••• 0005]");
    assert_eq!(
        masked("tarjeta: 5555/5555/5555/4444."),
        "tarjeta: [card •••• 4444]."
    );
}

#[test]
fn four_separators_or_a_line_break_split_a_card() {
    assert!(!masked("4111    1111 1111 1111").contains("[card"));
    assert!(!masked("4111\n1111\n1111\n1111").contains("[card"));
}

#[test]
fn cards_in_full_width_digits_are_masked_whole() {
    for card in [
        "４１１１　１１１１　１１１１　１１１１", // ideographic spaces
        "４１１１－１１１１－１１１１－１１１１", // full-width hyphens
        "４１１１．１１１１／１１１１ １１１１",
        "４１１１１１１１１１１１１１１１",
        "4111 １１１１ 1111 １１１１", // mixed widths
        "４1１1１1１1１1１1１1１1",
    ] {
        assert_eq!(masked(card), "[card •••• 1111]", "{card}");
    }
    assert_eq!(
        masked("カード番号は４１１１－１１１１－１１１１－１１１１です"),
        "カード番号は[card •••• 1111]です"
    );
}

#[test]
fn cards_in_other_scripts_are_masked() {
    for card in [
        "٤١١١ ١١١١ ١١١١ ١١١١", // Arabic-Indic
        "۴۱۱۱-۱۱۱۱-۱۱۱۱-۱۱۱۱", // extended Arabic-Indic (Persian)
        "४१११ ११११ ११११ ११११", // Devanagari
        "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏",    // mathematical bold
    ] {
        assert_eq!(masked(card), "[card •••• 1111]", "{card}");
    }
    assert_eq!(
        masked("رقم البطاقة ٥٥٥٥ ٥٥٥٥ ٥٥٥٥ ٤٤٤٤ شكرا"),
        "رقم البطاقة [card •••• 4444] شكرا"
    );
}

#[test]
fn a_card_takes_glued_digits_of_any_script_but_not_foreign_letters() {
    assert_eq!(
        masked("ref４１１１１１１１１１１１１１１１x"),
        "[card •••• 1111]"
    );
    assert_eq!(masked("é4111111111111111ñ"), "é[card •••• 1111]ñ");
}

#[test]
fn digits_of_other_scripts_make_a_longer_number() {
    // 14 digits read as one number: not Luhn-valid, so not a card, although
    // the 13 ASCII digits alone would be.
    assert!(luhn(b"0490297459193"));
    untouched("٣0490297459193");
    // A phone number glued to a digit of another script is part of a longer number.
    untouched("٣600111222");
    untouched("600111222٣");
}

#[test]
fn a_card_after_a_phone_number_is_still_masked() {
    assert_eq!(
        masked("+34 600 111 222 / 4111 1111 1111 1111"),
        "[phone ••• 222] / [card •••• 1111]"
    );
}

#[test]
fn dotted_and_slashed_numbers_that_are_not_cards() {
    for text in [
        "23/11/2026",
        "2026/11/23 10:30",
        "v10.0.19045.2965",
        "1.250.000,00 €",
        "192.168.100.200",
        "12/27",
    ] {
        untouched(text);
    }
}

#[test]
fn luhn_invalid_runs_are_not_cards() {
    untouched("4111 1111 1111 1112");
    untouched("4111111111111112");
    // 20 digits: too long for a card, and glued digits are not a phone number.
    untouched("ref 12345678901234567890");
    assert!(!masked("1234 5678 9012 3456").contains("[card"));
}

#[test]
fn cards_win_over_phone_numbers() {
    // 15 digits, also a plausible national phone number: a card first.
    assert_eq!(masked("3782-822463-10005"), "[card •••• 0005]");
    // With a leading `+` and at most 15 digits it is an international number.
    assert_eq!(masked("+4915123456704"), "[phone ••• 704]");
    assert!(luhn(b"4915123456704"));
}

// --- IBANs ---------------------------------------------------------------

#[test]
fn valid_ibans_keep_country_and_last_four() {
    assert_eq!(masked("GB82 WEST 1234 5698 7654 32"), "[IBAN GB •••• 5432]");
    assert_eq!(masked("GB82WEST12345698765432"), "[IBAN GB •••• 5432]");
    assert_eq!(masked("DE89370400440532013000"), "[IBAN DE •••• 3000]");
    assert_eq!(masked("DE89 3704 0044 0532 0130 00"), "[IBAN DE •••• 3000]");
    assert_eq!(masked("de89 3704 0044 0532 0130 00"), "[IBAN DE •••• 3000]");
    assert_eq!(masked("FR1420041010050500013M02606"), "[IBAN FR •••• 2606]");
    assert_eq!(masked("NL91ABNA0417164300"), "[IBAN NL •••• 4300]");
    assert_eq!(
        masked("IBAN: ES91 2100 0418 4502 0005 1332, gracias"),
        "IBAN: [IBAN ES •••• 1332], gracias"
    );
    // A full last group followed by more words: the valid prefix.
    assert_eq!(
        masked("DE89 3704 0044 0532 0130 00 ABCD"),
        "[IBAN DE •••• 3000] ABCD"
    );
}

#[test]
fn bad_checksum_ibans_are_not_ibans() {
    untouched("DE89370400440532013001");
    untouched("GB83WEST12345698765432");
    assert!(!masked("GB83 WEST 1234 5698 7654 32").contains("[IBAN"));
    untouched("XGB82WEST12345698765432"); // not at a word start
}

// --- SSNs ----------------------------------------------------------------

#[test]
fn ssns_keep_the_serial() {
    assert_eq!(masked("123-45-6789"), "[SSN •••-••-6789]");
    assert_eq!(masked("SSN 123-45-6789."), "SSN [SSN •••-••-6789].");
    assert_eq!(masked("SSN: 123456789"), "SSN: [SSN •••-••-6789]");
    assert_eq!(masked("my ssn#: 123 45 6789"), "my ssn#: [SSN •••-••-6789]");
}

#[test]
fn never_issued_ssns_are_not_masked() {
    for ssn in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
    ] {
        untouched(ssn);
        untouched(&format!("SSN {ssn}"));
    }
    untouched("x123-45-6789");
    // Not an SSN, though 10 digits still make a phone number.
    assert_eq!(masked("123-45-67890"), "[phone ••• 890]");
}

// --- e-mail --------------------------------------------------------------

#[test]
fn emails_keep_first_character_and_top_level_domain() {
    assert_eq!(masked("jane.doe@example.com"), "[email j•••@•••.com]");
    assert_eq!(
        masked("Write to support+es@mail.wadesk.io."),
        "Write to [email s•••@•••.io]."
    );
    assert_eq!(masked("<Ana_B@correo.es>"), "<[email A•••@•••.es]>");
    assert_eq!(masked("a@b@c.com"), "a@[email b•••@•••.com]");
}

#[test]
fn non_emails_are_untouched() {
    for text in [
        "user@localhost",
        "@handle",
        "a@b",
        "x@1.2",
        "foo@bar.c",
        "me @ home.com",
    ] {
        untouched(text);
    }
}

// --- phones --------------------------------------------------------------

#[test]
fn phones_keep_the_last_three_digits() {
    assert_eq!(masked("+34 600 111 222"), "[phone ••• 222]");
    assert_eq!(masked("(555) 123-4567"), "[phone ••• 567]");
    assert_eq!(masked("+1 (555) 123-4567"), "[phone ••• 567]");
    assert_eq!(masked("+1-555-123-4567"), "[phone ••• 567]");
    assert_eq!(masked("+44 (0) 20 7946 0958"), "[phone ••• 958]");
    assert_eq!(masked("+34600111222"), "[phone ••• 222]");
    assert_eq!(masked("600 111 222"), "[phone ••• 222]");
    assert_eq!(masked("600.111.222"), "[phone ••• 222]");
    assert_eq!(masked("06 12 34 56 78"), "[phone ••• 678]");
    assert_eq!(
        masked("call me on 600111222!"),
        "call me on [phone ••• 222]!"
    );
}

#[test]
fn short_numbers_amounts_dates_and_times_are_untouched() {
    for text in [
        "€ 1.250,00",
        "1,250.00 USD",
        "$ 1 234 567.89",
        "2026-11-23",
        "2026-11-23 10:30",
        "23.11.2026 10:30",
        "at 10:30:45",
        "order 123456",
        "order #12345678",
        "+12345",
        "192.168.100.200",
        "room 12, floor 3",
        "x+34600111222",
        "ID12345678901",
    ] {
        untouched(text);
    }
}

// --- everything ----------------------------------------------------------

#[test]
fn plain_text_is_borrowed_unchanged() {
    for text in [
        "",
        "Hola, ¿en qué puedo ayudarte?",
        "👍🏽 ok",
        "#STOP",
        "[card •••• 1111]",
    ] {
        untouched(text);
    }
}

#[test]
fn mixed_sentence() {
    let text = "Hi! Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, \
                SSN 123-45-6789, call +34 600 111 222 or (555) 123-4567, \
                mail jane@example.com. Total € 1.250,00 on 2026-11-23 at 10:30, order 48213.";
    assert_eq!(
        masked(text),
        "Hi! Card [card •••• 1111], IBAN [IBAN GB •••• 5432], \
         SSN [SSN •••-••-6789], call [phone ••• 222] or [phone ••• 567], \
         mail [email j•••@•••.com]. Total € 1.250,00 on 2026-11-23 at 10:30, order 48213."
    );
}

#[test]
fn masking_masked_text_changes_nothing() {
    for text in [
        "[card •••• 1111] [IBAN GB •••• 5432] [SSN •••-••-6789] [email j•••@•••.com] [phone ••• 222]",
        "4111111111111111x5555555555554444",
        "john@x.com-4111111111111111",
        "john@x.com.4111111111111111",
        "+1 (4222222222222)",
        "123-45-6789+4915123456704",
        "DE89370400440532013000 4111 1111 1111 1111 600 111 222",
    ] {
        let once = mask(text);
        assert_eq!(mask(&once), once, "{text:?}");
        assert!(luhn_runs(&once).is_empty(), "{once:?}");
    }
}

// --- properties ----------------------------------------------------------

/// Text built from pieces that stress the scanners: digits, separators,
/// letters, unicode, token characters and real sensitive values.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[0-9]{1,6}".prop_map(String::from),
        3 => prop::sample::select(vec![
            " ", " ", "-", "+", "(", ")", ".", "@", ":", "#", ",", "/", "[", "]", "•", "é", "€",
            "$", "_", "%", "\n", "ß", "٣", "４", "１", "　", "－", "／", "．", "\u{a0}", "カ",
        ])
        .prop_map(str::to_owned),
        2 => "[a-zA-Z]{1,4}".prop_map(String::from),
        1 => prop::sample::select(vec![
            "4111 1111 1111 1111",
            "4111111111111111",
            "4111.1111/1111-1111",
            "４１１１　１１１１　１１１１　１１１１",
            "3782 822463 10005",
            "GB82 WEST 1234 5698 7654 32",
            "DE89370400440532013000",
            "123-45-6789",
            "SSN ",
            "jane@example.com",
            "+34 600 111 222",
            "(555) 123-4567",
            "2026-11-23",
            "[card •••• ",
            "•••@•••.",
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// A Luhn-valid card number of `len` digits, from `body` (at least len - 1 digits).
fn card_number(body: &[u8], len: usize) -> String {
    let mut digits: Vec<u8> = body.iter().take(len - 1).map(|d| b'0' + d % 10).collect();
    digits.push(b'0');
    for check in b'0'..=b'9' {
        if let Some(last) = digits.last_mut() {
            *last = check;
        }
        if luhn(&digits) {
            break;
        }
    }
    digits.iter().map(|&c| char::from(c)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics_and_is_stable(text in any::<String>()) {
        let once = mask(&text);
        prop_assert_eq!(mask(&once), once.clone());
        prop_assert!(luhn_runs(&once).is_empty(), "{:?} -> {:?}", text, once);
    }

    #[test]
    fn tricky_text_is_stable_and_leaks_no_card(text in tricky_text()) {
        let once = mask(&text);
        prop_assert_eq!(mask(&once), once.clone(), "input {:?}", text);
        prop_assert!(luhn_runs(&once).is_empty(), "{:?} -> {:?}", text, once);
    }

    #[test]
    fn every_card_number_is_masked(
        body in prop::collection::vec(0u8..10, 18),
        len in 13usize..=19,
        seps in prop::collection::vec(
            prop::sample::select(vec!["", " ", "-", ".", "/", "　", "－", " - "]),
            4,
        ),
        zero in prop::sample::select(vec!['0', '０', '٠', '०', '𝟎']),
        before in "[a-z ,.:]{0,8}",
        after in "[a-z ,.:]{0,8}",
    ) {
        let card = card_number(&body, len);
        let grouped: String = card
            .as_bytes()
            .chunks(4)
            .enumerate()
            .map(|(i, chunk)| {
                let digits: String = chunk
                    .iter()
                    .filter_map(|&c| char::from_u32(u32::from(zero) + u32::from(c - b'0')))
                    .collect();
                if i == 0 { digits } else { format!("{}{digits}", seps[i - 1]) }
            })
            .collect();
        let text = format!("{before} {grouped} {after}");
        let once = mask(&text);
        let expected = format!("[card •••• {}]", &card[len - 4..]);
        prop_assert!(once.contains(&expected), "{:?} -> {:?}", text, once);
    }
}
