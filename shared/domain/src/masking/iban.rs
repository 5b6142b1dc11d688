//! IBANs (ISO 13616, mod-97).

use super::ascii::{is_word, tail, value, word_at, word_end};
use super::Found;

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

pub(super) fn find_iban(s: &str) -> Option<Found> {
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
