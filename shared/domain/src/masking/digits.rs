//! Decimal digits of every script: ASCII, full-width (`４`), Arabic-Indic (`٤`),
//! Devanagari (`४`), mathematical (`𝟒`)… Cards are looked for in any of them.

/// The zero of every block of ten decimal digits (Unicode general category Nd):
/// each block runs zero, one, … nine at consecutive code points. Sorted.
const ZEROS: [u32; 76] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50, 0x11D50,
    0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The value of `c` if it is a decimal digit of any script.
pub(super) fn decimal_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c.is_ascii_digit().then(|| c as u8 - b'0');
    }
    let code = u32::from(c);
    let block = ZEROS.partition_point(|&zero| zero <= code).checked_sub(1)?;
    let offset = code - ZEROS[block];
    // `offset < 10` makes the cast lossless.
    (offset < 10).then_some(offset as u8)
}

/// The digit (any script) at byte `i` of `s` and the byte after it.
pub(super) fn digit_at(s: &str, i: usize) -> Option<(u8, usize)> {
    let c = char_at(s, i)?;
    decimal_value(c).map(|d| (d, i + c.len_utf8()))
}

/// The end of the run of digits (any script) starting at byte `i`.
pub(super) fn digits_end(s: &str, mut i: usize) -> usize {
    while let Some((_, next)) = digit_at(s, i) {
        i = next;
    }
    i
}

/// The character starting at byte `i`, if `i` is a character boundary inside `s`.
pub(super) fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..)?.chars().next()
}

/// The character ending at byte `i`, if `i` is a character boundary inside `s`.
pub(super) fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i)?.chars().next_back()
}

/// Whether a digit of another script than ASCII ends at or starts at byte `i`:
/// ASCII-only values (phone numbers, SSNs) glued to one are part of a longer
/// number and are not masked on their own.
pub(super) fn foreign_digit_before(s: &str, i: usize) -> bool {
    char_before(s, i).is_some_and(|c| !c.is_ascii() && decimal_value(c).is_some())
}

pub(super) fn foreign_digit_at(s: &str, i: usize) -> bool {
    char_at(s, i).is_some_and(|c| !c.is_ascii() && decimal_value(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_is_ten_numeric_characters() {
        assert!(
            ZEROS.windows(2).all(|w| w[0] + 10 <= w[1]),
            "sorted, no overlap"
        );
        for zero in ZEROS {
            for d in 0..10u8 {
                let c = char::from_u32(zero + u32::from(d)).unwrap_or('x');
                assert!(c.is_numeric(), "U+{:04X}", zero + u32::from(d));
                assert_eq!(decimal_value(c), Some(d), "U+{:04X}", zero + u32::from(d));
            }
        }
    }

    #[test]
    fn digits_of_other_scripts_have_their_value() {
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('７'), Some(7)); // full-width
        assert_eq!(decimal_value('٧'), Some(7)); // Arabic-Indic
        assert_eq!(decimal_value('۷'), Some(7)); // extended Arabic-Indic
        assert_eq!(decimal_value('७'), Some(7)); // Devanagari
        assert_eq!(decimal_value('𝟕'), Some(7)); // mathematical bold
    }

    #[test]
    fn other_numerals_and_letters_are_not_digits() {
        for c in [
            'a', '½', '²', 'Ⅻ', '〇', '七', '•', ' ', '\u{ff0f}', '\u{ff1a}',
        ] {
            assert_eq!(decimal_value(c), None, "{c:?}");
        }
    }
}
