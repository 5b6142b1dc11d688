//! ASCII byte helpers. Everything but cards is recognised in ASCII; any byte
//! of a multi-byte UTF-8 character is >= 0x80 and so is neither a digit, a
//! letter nor a separator here. Cards read characters (`digits.rs`).

use super::digits;

pub(super) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

pub(super) fn word_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(|&c| is_word(c))
}

pub(super) fn word_before(b: &[u8], i: usize) -> bool {
    i > 0 && word_at(b, i - 1)
}

/// A letter or digit (ASCII), or a digit of another script, ends at byte `i`:
/// what an ASCII-only value (phone number, SSN) must not be glued to.
pub(super) fn glued_before(s: &str, i: usize) -> bool {
    word_before(s.as_bytes(), i) || digits::foreign_digit_before(s, i)
}

/// A letter or digit (ASCII), or a digit of another script, starts at byte `i`.
pub(super) fn glued_at(s: &str, i: usize) -> bool {
    word_at(s.as_bytes(), i) || digits::foreign_digit_at(s, i)
}

pub(super) fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

pub(super) fn digits_end(b: &[u8], mut i: usize) -> usize {
    while digit_at(b, i) {
        i += 1;
    }
    i
}

pub(super) fn word_end(b: &[u8], mut i: usize) -> usize {
    while word_at(b, i) {
        i += 1;
    }
    i
}

/// The group of digits after the one ending at `end`, if a single space or hyphen
/// joins them.
pub(super) fn next_group(b: &[u8], end: usize) -> Option<(usize, usize)> {
    (matches!(b.get(end), Some(b' ' | b'-')) && digit_at(b, end + 1))
        .then(|| (end + 1, digits_end(b, end + 1)))
}

/// The digit groups (start, end) of the run starting at `start` (a digit), joined
/// by a single space or hyphen. Never empty.
pub(super) fn digit_chain(b: &[u8], start: usize) -> Vec<(usize, usize)> {
    let mut groups = vec![(start, digits_end(b, start))];
    while let Some(next) = groups.last().and_then(|&(_, end)| next_group(b, end)) {
        groups.push(next);
    }
    groups
}

pub(super) fn chain_end(groups: &[(usize, usize)], fallback: usize) -> usize {
    groups.last().map_or(fallback, |g| g.1)
}

pub(super) fn chain_digits(b: &[u8], groups: &[(usize, usize)]) -> Vec<u8> {
    groups
        .iter()
        .flat_map(|&(s, e)| b[s..e].iter().copied())
        .collect()
}

/// The last `n` bytes of `bytes` as text (all ASCII here).
pub(super) fn tail(bytes: &[u8], n: usize) -> String {
    let tail = &bytes[bytes.len().saturating_sub(n)..];
    tail.iter().map(|&c| char::from(c)).collect()
}

pub(super) fn value(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |v, &d| {
        v.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    })
}
