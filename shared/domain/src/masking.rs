//! Masking of sensitive data in agent-facing transcripts.
//!
//! When a channel has `mask_sensitive_data` on, every text an agent sees goes
//! through [`mask_sensitive`]: a message's content through [`mask_content`], which
//! masks every free-text field of every kind of message, and history search
//! through [`searchable_text`], so it only finds what the agent would see. The
//! stored message is never changed: masking is a view, computed when shown.
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
//! Card numbers are read in the decimal digits of any script (ASCII, full-width
//! `４１１１`, Arabic-Indic `٤١١١`, Devanagari…); everything else only in ASCII
//! digits and letters. A value glued to letters or digits on either side is not
//! masked (`ID12345678901`, `x+34600111222`, and a phone number glued to a digit of
//! another script, `٣600111222`), except a card number, which is masked together
//! with the word it is glued to (ASCII letters and digits, and digits of any
//! script; not letters of other scripts, which may be a whole sentence).
//!
//! - **Cards**: digit groups joined by one to three separators: spaces (also
//!   no-break, thin and ideographic), hyphens and dashes, dots and slashes, and
//!   their full-width forms, mixed as they come (`4111 1111-1111.1111`,
//!   `4111/1111/1111/1111`, `４１１１－１１１１－…`), or no separator at all. The
//!   digits are read by value, whatever their script, and the original text is
//!   masked. Any sub-sequence of whole groups with 13–19 digits that passes the
//!   Luhn check is a card (the longest one from the leftmost group wins); every
//!   group but its last has at least 3 digits (so dates and lists of small numbers
//!   are not cards). A line break or four separators in a row end a card. Cards
//!   are looked for before e-mail addresses and phone numbers, with one
//!   exception: a number written with a leading `+` that is a valid international
//!   phone number (at most 15 digits, the E.164 limit) is a phone number, unless a
//!   card from its first digit goes on past it (`+4111 1111/1111 111`); a card
//!   after the phone number is still a card.
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

mod content;
mod digits;

pub use content::{mask_content, searchable_text};

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
/// The checksummed numbers first (IBAN, then card): a card written with spaces or
/// slashes before an `@` must not lose only its last group to an e-mail address.
/// Then e-mail (an address may hold anything that looks like a phone number or an
/// SSN), then the SSN, then phone numbers last, so a card number is never taken
/// for a phone number.
const PASSES: [Finder; 5] = [find_iban, find_card, find_email, find_ssn, find_phone];

/// A value to mask: `text[start..end]` becomes `replacement`. `start` and `end`
/// are char boundaries, and `end` is past `start`.
struct Found {
    start: usize,
    end: usize,
    replacement: String,
}

fn apply(text: &str, find: Finder) -> Option<String> {
    let mut out: Option<String> = None;
    let mut rest = text;
    while let Some(found) = find(rest) {
        // Finders only answer char boundaries and move forward; were one ever to
        // break that, the text is left as masked so far instead of panicking.
        let (Some(before), Some(after)) = (rest.get(..found.start), rest.get(found.end..)) else {
            break;
        };
        if found.end == 0 {
            break;
        }
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buf.push_str(before);
        buf.push_str(&found.replacement);
        rest = after;
    }
    out.map(|mut buf| {
        buf.push_str(rest);
        buf
    })
}

// ---------------------------------------------------------------------------
// Byte helpers. Everything but cards is recognised in ASCII; any byte of a
// multi-byte UTF-8 character is >= 0x80 and so is neither a digit, a letter nor a
// separator here. Cards read characters (`digits.rs`).

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn word_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(|&c| is_word(c))
}

fn word_before(b: &[u8], i: usize) -> bool {
    i > 0 && word_at(b, i - 1)
}

/// A letter or digit (ASCII), or a digit of another script, ends at byte `i`:
/// what an ASCII-only value (phone number, SSN) must not be glued to.
fn glued_before(s: &str, i: usize) -> bool {
    word_before(s.as_bytes(), i) || digits::foreign_digit_before(s, i)
}

/// A letter or digit (ASCII), or a digit of another script, starts at byte `i`.
fn glued_at(s: &str, i: usize) -> bool {
    word_at(s.as_bytes(), i) || digits::foreign_digit_at(s, i)
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

/// Characters that join the digit groups of a card: spaces, hyphens and dashes,
/// dots and slashes, with their no-break and full-width forms.
fn is_card_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-'
            | '.'
            | '/'
            | '\u{a0}' // no-break space
            | '\u{2007}' // figure space
            | '\u{2009}' // thin space
            | '\u{202f}' // narrow no-break space
            | '\u{3000}' // ideographic space
            | '\u{2010}'
            ..='\u{2013}' // hyphen, no-break hyphen, figure dash, en dash
            | '\u{2212}' // minus sign
            | '\u{ff0d}' // full-width hyphen-minus
            | '\u{ff0e}' // full-width full stop
            | '\u{ff0f}' // full-width solidus
    )
}

/// The most separator characters between two groups of a card (`4111 - 1111`).
const MAX_CARD_SEPARATORS: usize = 3;

/// The group of digits (any script) after the one ending at `end`, if one to
/// [`MAX_CARD_SEPARATORS`] separators join them.
fn next_card_group(s: &str, end: usize) -> Option<(usize, usize)> {
    let mut pos = end;
    let mut separators = 0;
    while let Some(c) = digits::char_at(s, pos).filter(|&c| is_card_separator(c)) {
        separators += 1;
        if separators > MAX_CARD_SEPARATORS {
            return None;
        }
        pos += c.len_utf8();
    }
    (separators > 0 && digits::digit_at(s, pos).is_some())
        .then(|| (pos, digits::digits_end(s, pos)))
}

/// The longest card starting with the group `first`, as its end and its digits
/// (ASCII).
fn card_from(s: &str, first: (usize, usize)) -> Option<(usize, Vec<u8>)> {
    let mut digits = Vec::with_capacity(20);
    let mut found = None;
    let mut group = Some(first);
    while let Some((start, end)) = group {
        let before = digits.len();
        let group_digits = s.get(start..end).unwrap_or_default().chars();
        // One more than a card holds is enough to know it is too long.
        digits.extend(
            group_digits
                .filter_map(digits::decimal_value)
                .map(|d| b'0' + d)
                .take(20),
        );
        if digits.len() > 19 {
            break;
        }
        if digits.len() >= 13 && luhn(&digits) {
            found = Some((end, digits.clone()));
        }
        // Only the last group of a card may be shorter than 3 digits.
        if digits.len() - before < 3 {
            break;
        }
        group = next_card_group(s, end);
    }
    found
}

/// What a card glued to it takes along: ASCII letters and digits, and digits of
/// any script. Letters of other scripts are not taken: Japanese or Thai write no
/// spaces, and a card must not take a whole sentence with it.
fn is_card_glue(c: char) -> bool {
    c.is_ascii_alphanumeric() || digits::decimal_value(c).is_some()
}

/// Where the word glued to byte `start` starts.
fn glued_word_start(s: &str, mut start: usize) -> usize {
    while let Some(c) = digits::char_before(s, start).filter(|&c| is_card_glue(c)) {
        start -= c.len_utf8();
    }
    start
}

/// Where the word glued to byte `end` ends.
fn glued_word_end(s: &str, mut end: usize) -> usize {
    while let Some(c) = digits::char_at(s, end).filter(|&c| is_card_glue(c)) {
        end += c.len_utf8();
    }
    end
}

fn find_card(s: &str) -> Option<Found> {
    let mut i = 0;
    while let Some(c) = digits::char_at(s, i) {
        if digits::decimal_value(c).is_none() {
            i += c.len_utf8();
            continue;
        }
        // `i` starts a chain of groups; the first card in it starts at the leftmost
        // group possible. After a `+`, the groups an international phone number
        // covers are the phone's, unless a card from the first one goes on past it
        // (the phone scan stops at separators a card allows, such as `/`).
        let phone_end = i
            .checked_sub(1)
            .filter(|&plus| s.as_bytes().get(plus) == Some(&b'+'))
            .map(|plus| scan_phone(s, plus))
            .filter(|scan| scan.masked.is_some())
            .map_or(i, |scan| scan.end);
        let mut group = (i, digits::digits_end(s, i));
        loop {
            let card = card_from(s, group)
                .filter(|&(end, _)| group.0 >= phone_end || (group.0 == i && end > phone_end));
            if let Some((end, digits)) = card {
                // A card glued to a word takes the word with it.
                return Some(Found {
                    start: glued_word_start(s, group.0),
                    end: glued_word_end(s, end),
                    replacement: format!("[card •••• {}]", tail(&digits, 4)),
                });
            }
            match next_card_group(s, group.1) {
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
        if !glued_before(s, i) && !glued_at(s, end) {
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
        // Digits glued to a digit of another script belong to that number (maybe
        // a card): the address starts after them.
        if digits::foreign_digit_before(s, start) {
            while start < at && !b[start].is_ascii_alphabetic() {
                start += 1;
            }
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
        && !glued_before(s, start)
        && !glued_at(s, end)
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
mod tests;
