//! The days a dashboard asks for, read in the viewer's zone.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::Zone;
use crate::Timestamp;

/// The longest dashboard range, in days (about a quarter): one Query stays small.
pub const MAX_DAYS: i64 = 92;

/// The dashboard range when the caller gives none: the last 7 days, today included.
pub const DEFAULT_DAYS: i64 = 7;

/// Why a dashboard range was refused (answered as 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("`{name}` must be a date (YYYY-MM-DD) or an RFC 3339 time, not `{value}`")]
    Unreadable { name: &'static str, value: String },
    #[error("`from` ({from}) is after `to` ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("the range has {days} days; at most {MAX_DAYS} may be asked for at once")]
    TooLong { days: i64 },
}

/// A date (`YYYY-MM-DD`), or an RFC 3339 time standing for its date in `zone`.
pub fn parse_day(name: &'static str, value: &str, zone: &Zone) -> Result<NaiveDate, RangeError> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .or_else(|| {
            DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| zone.date_of(t.with_timezone(&Utc)))
        })
        .ok_or_else(|| RangeError::Unreadable {
            name,
            value: value.chars().take(64).collect(),
        })
}

/// The days of a dashboard, both ends included: local days of `zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub zone: Zone,
}

impl DayRange {
    /// UTC days.
    pub fn utc(first: NaiveDate, last: NaiveDate) -> Self {
        Self {
            first,
            last,
            zone: Zone::utc(),
        }
    }

    /// Reads `from` and `to` as dates of `zone`; a missing `to` is today
    /// there, a missing `from` makes the range [`DEFAULT_DAYS`] long.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: Timestamp,
        zone: Zone,
    ) -> Result<Self, RangeError> {
        let last = match to {
            Some(value) => parse_day("to", value, &zone)?,
            None => zone.date_of(now),
        };
        let first = match from {
            Some(value) => parse_day("from", value, &zone)?,
            None => last - Duration::days(DEFAULT_DAYS - 1),
        };
        if first > last {
            return Err(RangeError::Reversed {
                from: first,
                to: last,
            });
        }
        let days = (last - first).num_days() + 1;
        if days > MAX_DAYS {
            return Err(RangeError::TooLong { days });
        }
        Ok(Self { first, last, zone })
    }

    /// The first and the last hourly bucket of the range (both included), or
    /// `None` when it has none (a single day the zone skipped).
    pub fn buckets(&self) -> Option<(Timestamp, Timestamp)> {
        let first = self.zone.hours_of(self.first).start;
        let end = self.zone.hours_of(self.last).end;
        (first < end).then(|| (first, end - Duration::hours(1)))
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let first = self.first;
        let count = (self.last - self.first).num_days() + 1;
        (0..count).map(move |n| first + Duration::days(n))
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::fixtures::{at, day};

    #[test]
    fn ranges_are_dates_or_times_in_order_and_bounded() {
        let now = at("2024-05-10T12:00:00Z");
        let today = day("2024-05-10");
        let parse = |from, to| DayRange::parse(from, to, now, Zone::utc());
        let r = parse(None, None).unwrap();
        assert_eq!((r.first, r.last), (day("2024-05-04"), today));
        let r = parse(Some("2024-05-01"), Some("2024-05-01T23:30:00+02:00")).unwrap();
        assert_eq!((r.first, r.last), (day("2024-05-01"), day("2024-05-01")));
        assert_eq!(
            r.buckets(),
            Some((at("2024-05-01T00:00:00Z"), at("2024-05-01T23:00:00Z")))
        );
        assert!(matches!(
            parse(Some("2024-05-02"), Some("2024-05-01")),
            Err(RangeError::Reversed { .. })
        ));
        assert!(matches!(
            parse(Some("yesterday"), None),
            Err(RangeError::Unreadable { name: "from", .. })
        ));
        assert!(parse(Some("2024-5-1"), None).is_err());
        assert!(parse(Some("2024-02-30"), None).is_err());
        assert!(parse(Some("2024-01-01"), Some("2024-04-01")).is_ok());
        assert_eq!(
            parse(Some("2024-01-01"), Some("2024-04-02")),
            Err(RangeError::TooLong { days: 93 })
        );
    }

    #[test]
    fn a_range_is_read_in_the_viewers_zone() {
        let madrid = Zone::parse("Europe/Madrid").unwrap();
        // 23:30 UTC on the 10th is already the 11th in Madrid: its today.
        let now = at("2024-05-10T23:30:00Z");
        let r = DayRange::parse(None, None, now, madrid.clone()).unwrap();
        assert_eq!((r.first, r.last), (day("2024-05-05"), day("2024-05-11")));
        // An RFC 3339 time stands for its Madrid date.
        let r = DayRange::parse(
            Some("2024-05-01T22:30:00Z"),
            Some("2024-05-01T22:30:00Z"),
            now,
            madrid,
        )
        .unwrap();
        assert_eq!((r.first, r.last), (day("2024-05-02"), day("2024-05-02")));
        assert_eq!(
            r.buckets(),
            Some((at("2024-05-01T22:00:00Z"), at("2024-05-02T21:00:00Z")))
        );
        let samoa = Zone::parse("Pacific/Apia").unwrap();
        let skipped = DayRange {
            first: day("2011-12-30"),
            last: day("2011-12-30"),
            zone: samoa,
        };
        assert_eq!(skipped.buckets(), None);
    }
}
