//! US social security numbers.

use super::ascii::{
    chain_digits, chain_end, digit_chain, glued_at, glued_before, tail, word_before,
};
use super::Found;

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

pub(super) fn find_ssn(s: &str) -> Option<Found> {
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
