//! Payment cards: 13 to 19 digits of any script, Luhn-valid.

use super::ascii::tail;
use super::digits;
use super::phone::scan_phone;
use super::Found;

/// The Luhn (mod 10) check over ASCII digits.
pub(super) fn luhn(digits: &[u8]) -> bool {
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

pub(super) fn find_card(s: &str) -> Option<Found> {
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
