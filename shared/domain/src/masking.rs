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

mod ascii;
mod card;
mod content;
mod digits;
mod email;
mod iban;
mod phone;
mod ssn;

pub use content::{mask_content, searchable_text};

use card::find_card;
use email::find_email;
use iban::find_iban;
use phone::find_phone;
use ssn::find_ssn;

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

#[cfg(test)]
mod tests;
