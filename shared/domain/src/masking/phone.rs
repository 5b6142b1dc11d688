//! Phone numbers.

use super::ascii::{digit_at, digits_end, glued_at, glued_before, tail, value};
use super::Found;

/// The result of reading a phone-like run: where it ends, and its token if it is
/// a phone number.
pub(super) struct PhoneScan {
    pub(super) end: usize,
    pub(super) masked: Option<String>,
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
pub(super) fn scan_phone(s: &str, start: usize) -> PhoneScan {
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

pub(super) fn find_phone(s: &str) -> Option<Found> {
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
