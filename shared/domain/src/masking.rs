//! Masking of sensitive data in agent-facing transcripts (SPEC 4.3).
//!
//! When a channel has `mask_sensitive_data` on, every text an agent sees goes
//! through [`mask_sensitive`]. The stored message is never changed: masking is a
//! view, computed when the transcript is shown.
//!
//! # Formats
//!
//! Every masked value becomes one bracketed token, so the agent still sees *that*
//! something was there and what kind it was:
//!
//! | kind | example | masked as |
//! |---|---|---|
//! | payment card (13–19 digits, Luhn-valid) | `4111 1111 1111 1111` | `[card •••• 1111]` (last 4 digits) |
//! | IBAN (ISO 13616, mod-97) | `GB82 WEST 1234 5698 7654 32` | `[IBAN GB •••• 5432]` (country + last 4) |
//! | US social security number | `123-45-6789` | `[SSN •••-••-6789]` (serial) |
//! | e-mail address | `jane.doe@example.com` | `[email j•••@•••.com]` (first character + top-level domain) |
//! | phone number | `+34 600 111 222` | `[phone ••• 222]` (last 3 digits) |
//!
//! # What is recognised
//!
//! Only ASCII digits and letters are considered; a value glued to letters or
//! digits on either side is not masked (`ID12345678901`, `x+34600111222`), except a
//! card number, which is masked together with the word it is glued to.
//!
//! - **Cards**: digit groups joined by a single space or hyphen. Any sub-sequence of
//!   whole groups with 13–19 digits that passes the Luhn check is a card (the
//!   longest one from the leftmost group wins); every group but its last has at
//!   least 3 digits (so dates and lists of small numbers are not cards). Cards are
//!   looked for before phone numbers, with one exception: a number written with a
//!   leading `+` that is a valid international phone number (at most 15 digits, the
//!   E.164 limit) is a phone number.
//! - **IBANs**: two letters, two check digits (02–98), 11–30 letters or digits,
//!   either in one word or in groups of four separated by single spaces (the last
//!   group 1–4 characters), passing the mod-97 check. Case-insensitive.
//! - **SSNs**: `AAA-GG-SSSS` with hyphens, standing alone (not part of a longer
//!   run of numbers); also `AAAGGSSSS` and `AAA GG SSSS` right after the label
//!   `SSN` (e.g. `SSN: 123456789`). Area 000, 666 and 900–999, group 00 and
//!   serial 0000 are never issued and are not masked.
//! - **E-mail addresses**: `local@domain.tld` with an alphabetic top-level domain
//!   of at least two letters.
//! - **Phone numbers**: `+` and 7–15 digits, or 9–15 digits without `+` (national
//!   form), in groups separated by a space, hyphen, dot or one pair of
//!   parentheses: `+34 600 111 222`, `+1 (555) 123-4567`, `(555) 123-4567`,
//!   `600.111.222`. Dates (`2026-11-23 10:30`, `23.11.2026`), IPv4 addresses,
//!   SSN-shaped numbers that are not valid SSNs (`000-12-3456`) and
//!   amounts after a currency sign (`$ 1 234 567.89`) are left alone; amounts,
//!   times and order numbers with fewer than 9 digits never qualify.
//!
//! Masking is idempotent: a masked text contains no maskable value (tokens are
//! delimited by `[` `]` and their dots `•` never join a number), so masking it
//! again returns it unchanged. It never panics, whatever the input.

use std::borrow::Cow;

/// Masks payment cards, IBANs, social security numbers, e-mail addresses and phone
/// numbers in `text` (see the [module documentation](self) for the formats).
///
/// Returns the input borrowed when there was nothing to mask.
pub fn mask_sensitive(text: &str) -> Cow<'_, str> {
    let mut masked = Cow::Borrowed(text);
    for find in PASSES {
        if let Some(changed) = apply(&masked, find) {
            masked = Cow::Owned(changed);
        }
    }
    masked
}

/// Finds the leftmost value of one kind in a text. It never looks outside the text
/// it is given: its edges count as boundaries, just as a token's `[` and `]` do.
type Finder = fn(&str) -> Option<Found>;

/// In order of precedence: each pass sees the tokens of the passes before it.
/// E-mail first (an address may hold anything that looks like a number), then the
/// checksummed numbers (IBAN, card), then the SSN, then phone numbers last, so a
/// card number is never taken for a phone number.
const PASSES: [Finder; 5] = [find_email, find_iban, find_card, find_ssn, find_phone];

/// A value to mask: `text[start..end]` becomes `replacement`. `start` and `end`
/// are always at ASCII characters (or the end), so they are char boundaries.
struct Found {
    start: usize,
    end: usize,
    replacement: String,
}

fn apply(text: &str, find: Finder) -> Option<String> {
    let mut out: Option<String> = None;
    let mut rest = text;
    while let Some(found) = find(rest) {
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buf.push_str(&rest[..found.start]);
        buf.push_str(&found.replacement);
        rest = &rest[found.end..];
    }
    out.map(|mut buf| {
        buf.push_str(rest);
        buf
    })
}

// ---------------------------------------------------------------------------
// Byte helpers. Everything recognised is ASCII; any byte of a multi-byte UTF-8
// character is >= 0x80 and so is neither a digit, a letter nor a separator.

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn word_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(|&c| is_word(c))
}

fn word_before(b: &[u8], i: usize) -> bool {
    i > 0 && word_at(b, i - 1)
}

fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

fn digits_end(b: &[u8], mut i: usize) -> usize {
    while digit_at(b, i) {
        i += 1;
    }
    i
}

fn word_end(b: &[u8], mut i: usize) -> usize {
    while word_at(b, i) {
        i += 1;
    }
    i
}

/// The group of digits after the one ending at `end`, if a single space or hyphen
/// joins them.
fn next_group(b: &[u8], end: usize) -> Option<(usize, usize)> {
    (matches!(b.get(end), Some(b' ' | b'-')) && digit_at(b, end + 1))
        .then(|| (end + 1, digits_end(b, end + 1)))
}

/// The digit groups (start, end) of the run starting at `start` (a digit), joined
/// by a single space or hyphen. Never empty.
fn digit_chain(b: &[u8], start: usize) -> Vec<(usize, usize)> {
    let mut groups = vec![(start, digits_end(b, start))];
    while let Some(next) = groups.last().and_then(|&(_, end)| next_group(b, end)) {
        groups.push(next);
    }
    groups
}

fn chain_end(groups: &[(usize, usize)], fallback: usize) -> usize {
    groups.last().map_or(fallback, |g| g.1)
}

fn chain_digits(b: &[u8], groups: &[(usize, usize)]) -> Vec<u8> {
    groups
        .iter()
        .flat_map(|&(s, e)| b[s..e].iter().copied())
        .collect()
}

/// The last `n` bytes of `bytes` as text (all ASCII here).
fn tail(bytes: &[u8], n: usize) -> String {
    let tail = &bytes[bytes.len().saturating_sub(n)..];
    tail.iter().map(|&c| char::from(c)).collect()
}

fn value(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |v, &d| {
        v.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    })
}

// ---------------------------------------------------------------------------
// Payment cards.

/// The Luhn (mod 10) check over ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    // The sum is kept modulo 10 as it goes; the number is valid when it ends at 0.
    let check = digits.iter().rev().enumerate().fold(0u32, |sum, (i, &c)| {
        let d = u32::from(c - b'0');
        let d = if i % 2 == 1 {
            (d * 2) / 10 + (d * 2) % 10
        } else {
            d
        };
        (sum + d) % 10
    });
    check == 0
}

/// The longest card starting with the group `first`, as its end and its digits.
fn card_from(b: &[u8], first: (usize, usize)) -> Option<(usize, Vec<u8>)> {
    let mut digits = Vec::with_capacity(19);
    let mut found = None;
    let mut group = Some(first);
    while let Some((s, e)) = group {
        digits.extend_from_slice(&b[s..e]);
        if digits.len() > 19 {
            break;
        }
        if digits.len() >= 13 && luhn(&digits) {
            found = Some((e, digits.clone()));
        }
        // Only the last group of a card may be shorter than 3 digits.
        if e - s < 3 {
            break;
        }
        group = next_group(b, e);
    }
    found
}

fn find_card(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // `i` starts a chain of groups; the first card in it starts at the leftmost
        // group possible.
        let phone_first = i > 0 && b[i - 1] == b'+' && scan_phone(s, i - 1).masked.is_some();
        let mut group = (i, digits_end(b, i));
        loop {
            if !phone_first {
                if let Some((end, digits)) = card_from(b, group) {
                    // A card glued to a word takes the word with it.
                    let mut start = group.0;
                    while word_before(b, start) {
                        start -= 1;
                    }
                    return Some(Found {
                        start,
                        end: word_end(b, end),
                        replacement: format!("[card •••• {}]", tail(&digits, 4)),
                    });
                }
            }
            match next_group(b, group.1) {
                Some(next) => group = next,
                None => break,
            }
        }
        i = group.1;
    }
    None
}

// ---------------------------------------------------------------------------
// IBANs.

/// ISO 13616: length, shape, check digits 02–98 and mod 97 == 1. `c` is ASCII
/// alphanumeric.
fn valid_iban(c: &[u8]) -> bool {
    if !(15..=34).contains(&c.len())
        || !c[0].is_ascii_alphabetic()
        || !c[1].is_ascii_alphabetic()
        || !c[2].is_ascii_digit()
        || !c[3].is_ascii_digit()
    {
        return false;
    }
    let check = value(&c[2..4]);
    if !(2..=98).contains(&check) {
        return false;
    }
    let remainder = c[4..].iter().chain(&c[..4]).fold(0u32, |r, &ch| {
        if ch.is_ascii_digit() {
            (r * 10 + u32::from(ch - b'0')) % 97
        } else {
            (r * 100 + u32::from(ch.to_ascii_uppercase() - b'A') + 10) % 97
        }
    });
    remainder == 1
}

/// The end of the IBAN starting with the word `b[start..word_end]`, if any.
fn iban_at(b: &[u8], start: usize, first_end: usize) -> Option<(usize, Vec<u8>)> {
    let first = &b[start..first_end];
    if first.len() >= 15 {
        return valid_iban(first).then(|| (first_end, first.to_vec()));
    }
    if first.len() != 4 {
        return None;
    }
    // Groups of four separated by single spaces; the longest valid prefix wins.
    let mut chars = first.to_vec();
    let mut best = None;
    let mut pos = first_end;
    while b.get(pos) == Some(&b' ') && word_at(b, pos + 1) {
        let group_end = word_end(b, pos + 1);
        let len = group_end - pos - 1;
        if len > 4 || chars.len() + len > 34 {
            break;
        }
        chars.extend_from_slice(&b[pos + 1..group_end]);
        if valid_iban(&chars) {
            best = Some((group_end, chars.clone()));
        }
        if len < 4 {
            break;
        }
        pos = group_end;
    }
    best
}

fn find_iban(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_word(b[i]) {
            i += 1;
            continue;
        }
        // `i` starts a word: the scan skips whole words.
        let first_end = word_end(b, i);
        if let Some((end, chars)) = iban_at(b, i, first_end) {
            let country: String = chars[..2]
                .iter()
                .map(|&c| char::from(c.to_ascii_uppercase()))
                .collect();
            let end_chars = tail(&chars, 4).to_ascii_uppercase();
            return Some(Found {
                start: i,
                end,
                replacement: format!("[IBAN {country} •••• {end_chars}]"),
            });
        }
        i = first_end;
    }
    None
}

// ---------------------------------------------------------------------------
// US social security numbers.

/// Whether the number starting at `i` is labelled `SSN` (`SSN 123…`, `ssn: 123…`,
/// `SSN#: 123…`).
fn labelled_ssn(b: &[u8], i: usize) -> bool {
    let mut j = i;
    while i - j < 3 && j > 0 && b" :#-.".contains(&b[j - 1]) {
        j -= 1;
    }
    j >= 3 && b[j - 3..j].eq_ignore_ascii_case(b"ssn") && !word_before(b, j - 3)
}

/// The serial of a valid SSN written as the chain `groups`.
fn ssn_in(b: &[u8], groups: &[(usize, usize)], labelled: bool) -> Option<String> {
    let lens: Vec<usize> = groups.iter().map(|&(s, e)| e - s).collect();
    let hyphenated =
        lens == [3, 2, 4] && b.get(groups[0].1) == Some(&b'-') && b.get(groups[1].1) == Some(&b'-');
    if !(hyphenated || labelled && (lens == [9] || lens == [3, 2, 4])) {
        return None;
    }
    let digits = chain_digits(b, groups);
    let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
    let valid =
        area != b"000" && area != b"666" && area[0] != b'9' && group != b"00" && serial != b"0000";
    valid.then(|| tail(serial, 4))
}

fn find_ssn(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let groups = digit_chain(b, i);
        let end = chain_end(&groups, i + 1);
        if !word_before(b, i) && !word_at(b, end) {
            if let Some(serial) = ssn_in(b, &groups, labelled_ssn(b, i)) {
                return Some(Found {
                    start: i,
                    end,
                    replacement: format!("[SSN •••-••-{serial}]"),
                });
            }
        }
        i = end;
    }
    None
}

// ---------------------------------------------------------------------------
// E-mail addresses.

fn is_local(c: u8) -> bool {
    is_word(c) || b"._%+-".contains(&c)
}

/// The end of the domain starting at `start` and where its top-level label starts:
/// the longest run of valid labels whose last one is alphabetic (2+ letters).
fn email_domain(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let mut pos = start;
    let mut labels = 0;
    let mut best = None;
    loop {
        let label_start = pos;
        while b.get(pos).is_some_and(|&c| is_word(c) || c == b'-') {
            pos += 1;
        }
        if pos == label_start || !is_word(b[label_start]) || !is_word(b[pos - 1]) {
            return best;
        }
        labels += 1;
        let label = &b[label_start..pos];
        if labels >= 2 && label.len() >= 2 && label.iter().all(u8::is_ascii_alphabetic) {
            best = Some((pos, label_start));
        }
        if b.get(pos) != Some(&b'.') {
            return best;
        }
        pos += 1;
    }
}

fn find_email(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    for at in (0..b.len()).filter(|&i| b[i] == b'@') {
        let mut start = at;
        while start > 0 && is_local(b[start - 1]) {
            start -= 1;
        }
        while start < at && !is_word(b[start]) {
            start += 1;
        }
        if start == at {
            continue;
        }
        if let Some((end, tld)) = email_domain(b, at + 1) {
            return Some(Found {
                start,
                end,
                replacement: format!("[email {}•••@•••.{}]", char::from(b[start]), &s[tld..end]),
            });
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Phone numbers.

/// The result of reading a phone-like run: where it ends, and its token if it is
/// a phone number.
struct PhoneScan {
    end: usize,
    masked: Option<String>,
}

/// One group of digits and the separator before it (`0` for the first, `(` for any
/// separator with a parenthesis).
struct PhoneGroup {
    start: usize,
    end: usize,
    sep: u8,
}

const CURRENCY: &[char] = &[
    '$', '€', '£', '¥', '₹', '₽', '₩', '¢', '₺', '₴', '₦', '₱', '฿', '₪', '₫', '₡', '₲', '₵',
];

/// Reads the phone-like run starting at `start` (`+` or `(` followed by a digit, or
/// a digit) and decides whether it is a phone number.
fn scan_phone(s: &str, start: usize) -> PhoneScan {
    let b = s.as_bytes();
    let lead = b.get(start).copied().unwrap_or(0);
    let international = lead == b'+';
    let mut pos = if lead.is_ascii_digit() {
        start
    } else {
        start + 1
    };
    let mut depth = u8::from(lead == b'(');
    let mut parens = depth;
    let mut parens_ok = true;
    let mut groups = Vec::new();
    let mut sep = 0;
    loop {
        let end = digits_end(b, pos);
        groups.push(PhoneGroup {
            start: pos,
            end,
            sep,
        });
        pos = end;
        let one = b.get(pos).copied().unwrap_or(0);
        let two = b.get(pos + 1).copied().unwrap_or(0);
        let taken: &[u8] = if b" -.()".contains(&one) && digit_at(b, pos + 1) {
            &[one]
        } else if is_paren_pair(one, two) && digit_at(b, pos + 2) {
            &[one, two]
        } else {
            break;
        };
        for &c in taken {
            match c {
                b'(' => {
                    parens_ok &= depth == 0 && parens == 0;
                    depth = 1;
                    parens += 1;
                }
                b')' => {
                    parens_ok &= depth == 1;
                    depth = 0;
                }
                _ => {}
            }
        }
        sep = if taken.len() == 1 && !b"()".contains(&one) {
            one
        } else {
            b'('
        };
        pos += taken.len();
    }
    if depth == 1 && b.get(pos) == Some(&b')') {
        depth = 0;
        pos += 1;
    }
    parens_ok &= depth == 0;
    let end = pos;
    let digits: Vec<u8> = groups
        .iter()
        .flat_map(|g| b[g.start..g.end].iter().copied())
        .collect();
    let is_phone = parens_ok
        && !word_before(b, start)
        && !word_at(b, end)
        && if international {
            (7..=15).contains(&digits.len())
        } else {
            (9..=15).contains(&digits.len())
                && !looks_like_date(b, &groups)
                && !looks_like_ipv4(b, &groups)
                && !looks_like_ssn(&groups)
                && !after_currency(s, start)
        };
    PhoneScan {
        end,
        masked: is_phone.then(|| format!("[phone ••• {}]", tail(&digits, 3))),
    }
}

/// A two-character separator: one parenthesis and one space, hyphen or dot.
fn is_paren_pair(a: u8, b: u8) -> bool {
    let paren = |c: u8| c == b'(' || c == b')';
    let plain = |c: u8| c == b' ' || c == b'-' || c == b'.';
    (paren(a) && plain(b)) || (plain(a) && paren(b))
}

/// `2026-11-23`, `2026.11.23`, `23.11.2026`, `11-23-2026` anywhere in the run.
fn looks_like_date(b: &[u8], groups: &[PhoneGroup]) -> bool {
    let year =
        |g: &PhoneGroup| g.end - g.start == 4 && (1900..=2099).contains(&value(&b[g.start..g.end]));
    let small = |g: &PhoneGroup, max: u32| {
        (1..=2).contains(&(g.end - g.start)) && (1..=max).contains(&value(&b[g.start..g.end]))
    };
    groups.windows(3).any(|w| {
        let same_sep = w[1].sep == w[2].sep && (w[1].sep == b'-' || w[1].sep == b'.');
        same_sep
            && ((year(&w[0]) && small(&w[1], 12) && small(&w[2], 31))
                || (small(&w[0], 31) && small(&w[1], 31) && year(&w[2])))
    })
}

/// `192.168.100.200`.
fn looks_like_ipv4(b: &[u8], groups: &[PhoneGroup]) -> bool {
    groups.len() == 4
        && groups.iter().skip(1).all(|g| g.sep == b'.')
        && groups
            .iter()
            .all(|g| (1..=3).contains(&(g.end - g.start)) && value(&b[g.start..g.end]) <= 255)
}

/// `AAA-GG-SSSS` that was not a valid SSN (`000-12-3456`): no phone is written so.
fn looks_like_ssn(groups: &[PhoneGroup]) -> bool {
    let lens: Vec<usize> = groups.iter().map(|g| g.end - g.start).collect();
    lens == [3, 2, 4] && groups.iter().skip(1).all(|g| g.sep == b'-')
}

/// An amount: the number follows a currency sign (`$1 234 567`, `€ 123.456.789`).
fn after_currency(s: &str, start: usize) -> bool {
    let mut before = s.get(..start).unwrap_or("").chars().rev();
    let mut c = before.next();
    if c == Some(' ') {
        c = before.next();
    }
    c.is_some_and(|c| CURRENCY.contains(&c))
}

fn find_phone(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts = match b[i] {
            b'+' | b'(' => digit_at(b, i + 1),
            c => c.is_ascii_digit(),
        };
        if !starts {
            i += 1;
            continue;
        }
        let scan = scan_phone(s, i);
        if let Some(replacement) = scan.masked {
            return Some(Found {
                start: i,
                end: scan.end,
                replacement,
            });
        }
        // Never start again inside a run that is not a phone number.
        i = scan.end.max(i + 1);
    }
    None
}

#[cfg(test)]
mod tests {
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

    /// The maximal runs of ASCII digits of 13–19 digits that pass the Luhn check.
    fn luhn_runs(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_ascii_digit())
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
                "$", "_", "%", "\n", "ß", "٣", "４",
            ])
            .prop_map(str::to_owned),
            2 => "[a-zA-Z]{1,4}".prop_map(String::from),
            1 => prop::sample::select(vec![
                "4111 1111 1111 1111",
                "4111111111111111",
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
            sep in prop::sample::select(vec!["", " ", "-"]),
            before in "[a-z ,.:]{0,8}",
            after in "[a-z ,.:]{0,8}",
        ) {
            let card = card_number(&body, len);
            let grouped = card
                .as_bytes()
                .chunks(4)
                .map(|chunk| chunk.iter().map(|&c| char::from(c)).collect::<String>())
                .collect::<Vec<_>>()
                .join(sep);
            let text = format!("{before} {grouped} {after}");
            let once = mask(&text);
            let expected = format!("[card •••• {}]", &card[len - 4..]);
            prop_assert!(once.contains(&expected), "{:?} -> {:?}", text, once);
        }
    }
}
