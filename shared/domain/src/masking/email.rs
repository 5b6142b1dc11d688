//! E-mail addresses.

use super::ascii::is_word;
use super::digits;
use super::Found;

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

pub(super) fn find_email(s: &str) -> Option<Found> {
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
