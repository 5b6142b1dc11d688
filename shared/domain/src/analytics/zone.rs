//! The viewer's days: which UTC hourly buckets make up a local day of an IANA
//! time zone (`tz`), so a Madrid contact center's day starts at Madrid's
//! midnight, not UTC's.
//!
//! The rule: **a UTC hour counts in the local day that holds its middle**
//! (`HH:30` UTC). Days are contiguous runs of whole UTC hours, so every hour is
//! in exactly one day, and a day's figures are the sum of its hours.
//!
//! - Zones whose offset is a whole number of hours (all of Europe and the
//!   Americas but Newfoundland, most of Asia, Africa): a day is exactly the
//!   local day, 24 hours, or 23 and 25 on the days the clocks change.
//! - Zones with a half- or quarter-hour offset (`Asia/Kolkata`,
//!   `Australia/Adelaide`, `America/St_Johns`, `Asia/Kathmandu`,
//!   `Pacific/Chatham`): an hourly counter cannot be split, so the day runs
//!   from the whole UTC hour nearest its local midnight, a tie going to the
//!   earlier hour. Kolkata's day is 23:30 to 23:30 IST (30 minutes early),
//!   Kathmandu's 23:45 to 23:45 (15 minutes early): never more than 30
//!   minutes off. The answer's `from` and `to` are the instants actually
//!   summed, so a reader sees the shift. Exact days there would need
//!   quarter-hour counters: four times the items and writes of every hour,
//!   for the activity of the first half hour after midnight.
//!
//! The tz database is compiled in (`jiff`'s bundled copy), so the answer does
//! not depend on the machine's `/usr/share/zoneinfo`.

use std::fmt;
use std::ops::Range;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone as _, Utc};
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::Timestamp;

/// An IANA time zone, UTC when the viewer names none.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

/// A `tz` that is not in the tz database (answered as 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`tz` must be an IANA time zone name such as `Europe/Madrid` or `UTC`, not `{0}`")]
pub struct UnknownZone(pub String);

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The half hour that decides which day an hourly bucket belongs to.
const MIDDLE: Duration = Duration::minutes(30);

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        }
    }

    /// Looks an IANA name up (`Europe/Madrid`; the database's case-insensitive
    /// match, answered under its canonical spelling).
    pub fn parse(name: &str) -> Result<Self, UnknownZone> {
        let name = name.trim();
        let unknown = || UnknownZone(name.chars().take(64).collect());
        let tz = TimeZone::get(name).map_err(|_| unknown())?;
        if tz.is_unknown() {
            return Err(unknown());
        }
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Self { name, tz })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local date at an instant.
    pub fn date_of(&self, at: Timestamp) -> NaiveDate {
        to_jiff(at)
            .map(|t| self.tz.to_datetime(t).date())
            .and_then(|d| {
                let month = u32::try_from(d.month()).ok()?;
                let day = u32::try_from(d.day()).ok()?;
                NaiveDate::from_ymd_opt(d.year().into(), month, day)
            })
            .unwrap_or_else(|| at.date_naive())
    }

    /// The first instant of a local date: its midnight, or the end of the
    /// gap when the clocks skip midnight, or the first of two midnights when
    /// they go back over it.
    pub fn start_of(&self, date: NaiveDate) -> Timestamp {
        let utc_midnight = Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN));
        let Some(midnight) = to_jiff_date(date).map(|d| d.to_datetime(jiff::civil::Time::MIN))
        else {
            return utc_midnight;
        };
        let before_offset = |seconds: i32| utc_midnight - Duration::seconds(seconds.into());
        match self.tz.to_ambiguous_timestamp(midnight).offset() {
            AmbiguousOffset::Unambiguous { offset } => before_offset(offset.seconds()),
            AmbiguousOffset::Fold { before, .. } => before_offset(before.seconds()),
            // Midnight does not exist: the day starts where the gap ends,
            // the first transition after midnight read with the later offset.
            AmbiguousOffset::Gap { before, after } => to_jiff(before_offset(after.seconds()))
                .and_then(|t| self.tz.following(t).next())
                .and_then(|transition| from_jiff(transition.timestamp()))
                .unwrap_or_else(|| before_offset(before.seconds())),
        }
    }

    /// The hourly buckets that make up a local day, as the half-open range of
    /// their UTC hour starts: the hours whose middle falls on `date`. Empty
    /// for a date the zone skipped (Samoa's 2011-12-30).
    pub fn hours_of(&self, date: NaiveDate) -> Range<Timestamp> {
        let first = ceil_hour(self.start_of(date) - MIDDLE);
        let end = date
            .succ_opt()
            .map_or(first, |next| ceil_hour(self.start_of(next) - MIDDLE));
        first..end.max(first)
    }
}

/// The first whole UTC hour at or after `at`.
fn ceil_hour(at: Timestamp) -> Timestamp {
    let hour = super::hour_of(at);
    if hour == at {
        hour
    } else {
        hour + Duration::hours(1)
    }
}

fn to_jiff(at: Timestamp) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_second(at.timestamp()).ok()
}

fn from_jiff(at: jiff::Timestamp) -> Option<Timestamp> {
    DateTime::from_timestamp(at.as_second(), 0)
}

fn to_jiff_date(date: NaiveDate) -> Option<jiff::civil::Date> {
    let year = i16::try_from(date.year()).ok()?;
    let month = i8::try_from(date.month()).ok()?;
    let day = i8::try_from(date.day()).ok()?;
    jiff::civil::Date::new(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap()
    }

    fn hours(range: &Range<Timestamp>) -> i64 {
        (range.end - range.start).num_hours()
    }

    /// Whole-hour, half-hour and quarter-hour offsets, both hemispheres'
    /// summer time, a 30-minute DST (Lord Howe), clocks changing at midnight
    /// (Santiago, Havana, Beirut) and a skipped day (Apia).
    const ZONES: [&str; 16] = [
        "UTC",
        "Europe/Madrid",
        "America/New_York",
        "America/Sao_Paulo",
        "America/Santiago",
        "America/Havana",
        "America/St_Johns",
        "Asia/Beirut",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Asia/Tokyo",
        "Australia/Adelaide",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Pacific/Apia",
        "Pacific/Kiritimati",
    ];

    #[test]
    fn names_are_iana_names_and_anything_else_is_refused() {
        assert_eq!(zone("Europe/Madrid").name(), "Europe/Madrid");
        assert_eq!(zone("europe/madrid").name(), "Europe/Madrid");
        assert_eq!(zone("UTC"), Zone::utc());
        for bad in [
            "Mars/Olympus",
            "",
            "Etc/Unknown",
            "+02:00",
            "CEST2",
            "../etc",
        ] {
            assert_eq!(Zone::parse(bad), Err(UnknownZone(bad.to_owned())), "{bad}");
        }
        let long = "x".repeat(300);
        assert_eq!(Zone::parse(&long).unwrap_err().0.len(), 64);
    }

    #[test]
    fn a_madrid_day_starts_at_madrids_midnight_and_has_23_or_25_hours_when_clocks_change() {
        let madrid = zone("Europe/Madrid");
        let winter = madrid.hours_of(day("2024-01-15"));
        assert_eq!(
            winter,
            at("2024-01-14T23:00:00Z")..at("2024-01-15T23:00:00Z")
        );
        let summer = madrid.hours_of(day("2024-07-15"));
        assert_eq!(
            summer,
            at("2024-07-14T22:00:00Z")..at("2024-07-15T22:00:00Z")
        );
        assert_eq!(hours(&madrid.hours_of(day("2024-03-31"))), 23);
        assert_eq!(hours(&madrid.hours_of(day("2024-10-27"))), 25);
        assert_eq!(
            madrid.date_of(at("2024-07-14T22:30:00Z")),
            day("2024-07-15")
        );
        assert_eq!(
            madrid.date_of(at("2024-07-14T21:59:59Z")),
            day("2024-07-14")
        );
        let utc = Zone::utc().hours_of(day("2024-03-31"));
        assert_eq!(utc, at("2024-03-31T00:00:00Z")..at("2024-04-01T00:00:00Z"));
    }

    #[test]
    fn half_and_quarter_hour_zones_start_their_day_at_the_nearest_utc_hour() {
        // (zone, local midnight of 2024-07-15 in UTC, first bucket)
        let cases = [
            // +05:30: midnight 18:30Z; the 18:00Z bucket's middle is midnight.
            (
                "Asia/Kolkata",
                "2024-07-14T18:30:00Z",
                "2024-07-14T18:00:00Z",
            ),
            // +05:45: midnight 18:15Z, 15 minutes into the 18:00Z bucket.
            (
                "Asia/Kathmandu",
                "2024-07-14T18:15:00Z",
                "2024-07-14T18:00:00Z",
            ),
            // +09:30 (winter in Adelaide).
            (
                "Australia/Adelaide",
                "2024-07-14T14:30:00Z",
                "2024-07-14T14:00:00Z",
            ),
            // -02:30 (summer in Newfoundland).
            (
                "America/St_Johns",
                "2024-07-15T02:30:00Z",
                "2024-07-15T02:00:00Z",
            ),
            // +12:45 (winter in Chatham).
            (
                "Pacific/Chatham",
                "2024-07-14T11:15:00Z",
                "2024-07-14T11:00:00Z",
            ),
        ];
        for (name, midnight, first) in cases {
            let z = zone(name);
            assert_eq!(z.start_of(day("2024-07-15")), at(midnight), "{name}");
            let range = z.hours_of(day("2024-07-15"));
            assert_eq!(range.start, at(first), "{name}");
            assert_eq!(hours(&range), 24, "{name}");
            let early = at(midnight) - range.start;
            assert!(early > Duration::zero() && early <= MIDDLE, "{name}");
        }
        // An event at 23:40 IST on the 14th is in the 18:00Z bucket: it counts
        // on the 15th. One at 00:10 IST on the 15th counts there too.
        let kolkata = zone("Asia/Kolkata");
        let bucket = at("2024-07-14T18:00:00Z");
        assert!(kolkata.hours_of(day("2024-07-15")).contains(&bucket));
        assert!(!kolkata.hours_of(day("2024-07-14")).contains(&bucket));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_where_the_gap_ends() {
        // Santiago springs forward at 00:00 -> 01:00 (2024-09-08, -04 -> -03).
        let santiago = zone("America/Santiago");
        assert_eq!(
            santiago.start_of(day("2024-09-08")),
            at("2024-09-08T04:00:00Z")
        );
        assert_eq!(hours(&santiago.hours_of(day("2024-09-08"))), 23);
        // Samoa skipped 2011-12-30 entirely: that day has no hours.
        let apia = zone("Pacific/Apia");
        assert!(apia.hours_of(day("2011-12-30")).is_empty());
        assert_eq!(hours(&apia.hours_of(day("2011-12-31"))), 24);
    }

    proptest! {
        #[test]
        fn every_hour_is_in_exactly_one_day_and_days_follow_each_other(
            zone_index in 0..ZONES.len(),
            first in 0i64..(366 * 40),
            days in 1i64..40,
        ) {
            let z = zone(ZONES[zone_index]);
            let first = day("1995-01-01") + Duration::days(first);
            let ranges: Vec<_> = (0..days)
                .map(|n| z.hours_of(first + Duration::days(n)))
                .collect();
            for pair in ranges.windows(2) {
                // Contiguous: no hour is lost between two days or in both.
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for (n, range) in ranges.iter().enumerate() {
                let date = first + Duration::days(i64::try_from(n).unwrap());
                prop_assert_eq!(super::super::hour_of(range.start), range.start);
                prop_assert!(range.start <= range.end);
                // Never more than half an hour from the local midnight.
                let shift = z.start_of(date) - range.start;
                prop_assert!(shift >= -MIDDLE && shift <= MIDDLE, "{} {}", z, date);
                // Every hour's middle falls on the day it is counted in, unless
                // the clocks went back over midnight (the repeated hour stays
                // with the day that began first).
                let mut hour = range.start;
                while hour < range.end {
                    prop_assert!(z.start_of(date) <= hour + MIDDLE);
                    prop_assert!(hour + MIDDLE < z.start_of(date + Duration::days(1)));
                    hour += Duration::hours(1);
                }
                if ZONES[zone_index] != "Pacific/Apia" {
                    let length = hours(range);
                    prop_assert!((22..=26).contains(&length), "{} {} {}", z, date, length);
                }
            }
        }

        #[test]
        fn whole_hour_zones_are_exact(
            zone_index in 0..6usize,
            first in 0i64..(366 * 40),
        ) {
            let names = ["UTC", "Europe/Madrid", "America/New_York", "America/Sao_Paulo", "Asia/Tokyo", "Pacific/Kiritimati"];
            let z = zone(names[zone_index]);
            let date = day("1995-01-01") + Duration::days(first);
            prop_assert_eq!(z.hours_of(date).start, z.start_of(date));
            prop_assert_eq!(z.date_of(z.start_of(date)), date);
        }
    }
}
