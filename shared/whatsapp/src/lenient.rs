//! Deserializers that accept any JSON type where the Cloud API promises one.
//!
//! One odd member must not cost a whole webhook batch (WhatsApp would retry it for
//! days), so below the envelope every field is read through these wrappers: a value of
//! an unexpected type becomes "absent" (or [`List::Invalid`]) instead of an error, in
//! the same single pass over the body. The only errors left are broken JSON syntax,
//! nesting deeper than `serde_json` allows, and a key repeated within one object.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Generates visitor methods that answer "absent" (the wrapper's `Default`) for
/// JSON types the wrapper does not want.
macro_rules! absent_for {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
                Ok(Default::default())
            }
        )*
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// Drains a map or an array nobody asked for: `serde_json` insists that a visitor
/// consumes what it was given.
fn skip_map<'de, A: MapAccess<'de>>(map: A) -> Result<(), A::Error> {
    IgnoredAny.visit_map(map).map(drop)
}

fn skip_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<(), A::Error> {
    IgnoredAny.visit_seq(seq).map(drop)
}

/// A JSON string, borrowed from the body where it has no escapes; `None` for
/// anything else (missing, `null`, a number, an object…).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Option<Cow<'a, str>>);

impl Str<'_> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The string if it is present and not empty: WhatsApp's "absent" is sometimes `""`.
    pub fn non_empty(&self) -> Option<&str> {
        self.as_deref().filter(|s| !s.is_empty())
    }

    pub fn into_owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrVisitor(PhantomData))
    }
}

struct StrVisitor<'a>(PhantomData<Str<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
    type Value = Str<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Str(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| Str(None))
    }

    absent_for!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64)
    );
}

/// An integer, written either as a JSON number or as a string of digits (WhatsApp
/// sends timestamps as strings, error codes as numbers). `None` for anything else,
/// including fractions and values outside `i64`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int(pub Option<i64>);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntVisitor)
    }
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = Int;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Int(Some(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Int(i64::try_from(v).ok()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Int(v.parse().ok()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Int(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| Int(None))
    }

    absent_for!(visit_bool(bool), visit_f64(f64));
}

/// A number, written either as a JSON number or as a string (coordinates arrive as
/// numbers; a string is accepted the same way `Int` accepts one). `None` for
/// anything else, and for values that are not finite.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Float(pub Option<f64>);

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }
}

struct FloatVisitor;

impl FloatVisitor {
    fn finite(v: f64) -> Float {
        Float(Some(v).filter(|v| v.is_finite()))
    }
}

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = Float;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Self::finite(v))
    }

    // Coordinates are small: every integer that can be one converts exactly.
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Self::finite(v as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Self::finite(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().map_or(Float(None), Self::finite))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Float(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| Float(None))
    }

    absent_for!(visit_bool(bool));
}

/// A JSON object read as `T`; `None` when the member holds anything else.
///
/// `T` must itself be tolerant (built from these wrappers) for the whole to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    /// Only a map reaches `T`: a derived struct would also accept an array,
    /// field by field, which is never what WhatsApp means.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| Obj(None))
    }

    absent_for!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str)
    );
}

/// A JSON array of `T`. A missing member or `null` is an empty list; anything else
/// that is not an array is [`List::Invalid`], so the caller can count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum List<T> {
    Valid(Vec<T>),
    Invalid,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::Valid(Vec::new())
    }
}

impl<T> List<T> {
    pub fn first(&self) -> Option<&T> {
        match self {
            Self::Valid(items) => items.first(),
            Self::Invalid => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Capped so a lying size hint cannot reserve a huge buffer.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(List::Valid(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| List::Invalid)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(List::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(List::Invalid)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(List::Invalid)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(List::Invalid)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(List::Invalid)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(List::Invalid)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn int(json: &str) -> Option<i64> {
        serde_json::from_str::<Int>(json).unwrap().0
    }

    fn str_of(json: &str) -> Option<String> {
        serde_json::from_str::<Str<'_>>(json).unwrap().into_owned()
    }

    #[test]
    fn int_accepts_numbers_and_digit_strings_only() {
        assert_eq!(int("1744344600"), Some(1_744_344_600));
        assert_eq!(int("\"1744344600\""), Some(1_744_344_600));
        assert_eq!(int("-3"), Some(-3));
        assert_eq!(int("18446744073709551615"), None);
        assert_eq!(int("1.5"), None);
        assert_eq!(int("\"1.0\""), None);
        assert_eq!(int("\" 1\""), None);
        assert_eq!(int("null"), None);
        assert_eq!(int("[1]"), None);
        assert_eq!(int("{\"a\":1}"), None);
    }

    #[test]
    fn str_borrows_plain_strings_and_decodes_escaped_ones() {
        let plain: Str<'_> = serde_json::from_str("\"abc\"").unwrap();
        assert!(matches!(plain.0, Some(Cow::Borrowed("abc"))));
        assert_eq!(str_of(r#""a\nb""#).as_deref(), Some("a\nb"));
        assert_eq!(str_of("12"), None);
        assert_eq!(str_of("[\"a\"]"), None);
        assert_eq!(str_of("{}"), None);
    }

    #[test]
    fn float_accepts_numbers_and_number_strings_only() {
        let float = |json: &str| serde_json::from_str::<Float>(json).unwrap().0;
        assert_eq!(float("37.483307"), Some(37.483_307));
        assert_eq!(float("-122"), Some(-122.0));
        assert_eq!(float("3"), Some(3.0));
        assert_eq!(float("\"-122.148981\""), Some(-122.148_981));
        assert_eq!(float("\"NaN\""), None);
        assert_eq!(float("\"inf\""), None);
        assert_eq!(float("\"north\""), None);
        assert_eq!(float("null"), None);
        assert_eq!(float("true"), None);
        assert_eq!(float("[1.5]"), None);
        assert_eq!(float("{\"a\":1}"), None);
    }

    #[test]
    fn obj_only_reads_objects() {
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(default)]
        struct Pair {
            a: Int,
        }
        let obj = |json: &str| serde_json::from_str::<Obj<Pair>>(json).unwrap().0;
        assert_eq!(obj(r#"{"a":1,"b":[{}]}"#).map(|p| p.a), Some(Int(Some(1))));
        assert!(obj("[1]").is_none());
        assert!(obj("\"x\"").is_none());
        assert!(obj("null").is_none());
    }

    #[test]
    fn list_tells_empty_from_invalid() {
        let list = |json: &str| serde_json::from_str::<List<Int>>(json).unwrap();
        assert_eq!(
            list("[1,\"2\",true]"),
            List::Valid(vec![Int(Some(1)), Int(Some(2)), Int(None)])
        );
        assert_eq!(list("null"), List::Valid(vec![]));
        assert_eq!(list("{}"), List::Invalid);
        assert_eq!(list("3"), List::Invalid);
        assert_eq!(list("\"x\""), List::Invalid);
    }
}
