//! The figures read back from the counters: a dashboard's days, the rolling
//! statistic, and the live gauges.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::{hour_of, Counters, DayRange, Scope};
use crate::{Conversation, ConversationStatus, Timestamp};

/// The rolling statistic covers this many hourly buckets, the current one included.
pub const ROLLING_HOURS: i64 = 24;

/// The live gauges: conversations active now, and live conversations with at
/// least one agent reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Gauges {
    pub active: u64,
    pub answered: u64,
}

/// The statuses the gauges read. `bot` is left out: a bot conversation has had
/// no agent (agents cannot send to it), so it is neither active nor answered.
pub const GAUGE_STATUSES: [ConversationStatus; 4] = [
    ConversationStatus::Unanswered,
    ConversationStatus::Active,
    ConversationStatus::WrapUp,
    ConversationStatus::Reopened,
];

impl Gauges {
    pub fn of<'a>(
        conversations: impl IntoIterator<Item = &'a Conversation>,
        scope: &Scope,
    ) -> Self {
        let mut gauges = Self::default();
        for conversation in conversations {
            if !conversation.status.is_live() || !scope.includes(conversation) {
                continue;
            }
            if conversation.status == ConversationStatus::Active {
                gauges.active += 1;
            }
            if conversation.answered {
                gauges.answered += 1;
            }
        }
        gauges
    }
}

/// The figures of one period (`docs/product.md#72-figures`). `active` and
/// `answered` are the live gauges: present where the period includes the moment
/// of the request, `null` for a past (or future) day, which has no "now".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub from: Timestamp,
    pub to: Timestamp,
    pub agent_initiated: u64,
    pub user_replied: u64,
    pub declined: u64,
    pub finished: u64,
    pub active: Option<u64>,
    pub answered: Option<u64>,
    pub avg_response_seconds: Option<f64>,
    pub avg_handling_seconds: Option<f64>,
    pub window_expiries: u64,
    pub opt_outs: u64,
    pub rona: u64,
}

fn mean(sum: u64, count: u64) -> Option<f64> {
    // Counts and sums of seconds stay far below 2^53: the division is exact enough.
    #[allow(clippy::cast_precision_loss)]
    (count > 0).then(|| sum as f64 / count as f64)
}

impl Figures {
    pub fn new(from: Timestamp, to: Timestamp, c: &Counters, gauges: Option<Gauges>) -> Self {
        Self {
            from,
            to,
            agent_initiated: c.agent_initiated,
            user_replied: c.user_replied,
            declined: c.declined,
            finished: c.finished,
            active: gauges.map(|g| g.active),
            answered: gauges.map(|g| g.answered),
            avg_response_seconds: mean(c.response_seconds, c.responses),
            avg_handling_seconds: mean(c.handling_seconds, c.handlings),
            window_expiries: c.window_expiries,
            opt_outs: c.opt_outs,
            rona: c.rona,
        }
    }
}

/// One day of the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayFigures {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The dashboard: one entry per day of `range`, each the sum of that day's
/// hourly buckets ([`Zone::hours_of`]; `from` and `to` are the instants
/// summed); the gauges go to today, the day of `now` in the range's zone.
pub fn daily(
    range: &DayRange,
    hours: &[(Timestamp, Counters)],
    now: Timestamp,
    gauges: Option<Gauges>,
) -> Vec<DayFigures> {
    let mut per_hour: BTreeMap<Timestamp, Counters> = BTreeMap::new();
    for (hour, counters) in hours {
        *per_hour.entry(*hour).or_default() += counters;
    }
    let today = range.zone.date_of(now);
    range
        .days()
        .map(|date| {
            let span = range.zone.hours_of(date);
            let counters: Counters = per_hour.range(span.clone()).map(|(_, c)| c).sum();
            let gauges = gauges.filter(|_| date == today);
            DayFigures {
                date,
                figures: Figures::new(span.start, span.end, &counters, gauges),
            }
        })
        .collect()
}

/// The rolling statistic's buckets: the [`ROLLING_HOURS`] hourly buckets
/// ending with the current one, so its figures cover `first_hour..=now`.
pub fn rolling_first_hour(now: Timestamp) -> Timestamp {
    hour_of(now) - Duration::hours(ROLLING_HOURS - 1)
}

/// Sums hourly buckets into the rolling statistic.
pub fn rolling(hours: &[(Timestamp, Counters)], now: Timestamp, gauges: Gauges) -> Figures {
    let first = rolling_first_hour(now);
    let counters: Counters = hours
        .iter()
        .filter(|(hour, _)| first <= *hour && *hour <= now)
        .map(|(_, c)| c)
        .sum();
    Figures::new(first, now, &counters, Some(gauges))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::fixtures::{agent, at, customer, day, queue};
    use crate::analytics::Zone;
    use crate::{ConversationId, Origin};

    #[test]
    fn averages_are_exact_and_null_without_samples() {
        let c = Counters {
            response_seconds: 90,
            responses: 4,
            ..Counters::default()
        };
        let figures = Figures::new(
            at("2024-05-01T00:00:00Z"),
            at("2024-05-02T00:00:00Z"),
            &c,
            None,
        );
        assert_eq!(figures.avg_response_seconds, Some(22.5));
        assert_eq!(figures.avg_handling_seconds, None);
        let json = serde_json::to_value(&figures).unwrap();
        assert!(json["avg_handling_seconds"].is_null());
        assert!(json["active"].is_null());
        assert_eq!(json["from"], "2024-05-01T00:00:00Z");
    }

    #[test]
    fn days_sum_their_hours_and_only_today_has_gauges() {
        let range = DayRange::utc(day("2024-05-01"), day("2024-05-03"));
        let one = Counters {
            finished: 1,
            ..Counters::default()
        };
        let hours = vec![
            (at("2024-05-01T00:00:00Z"), one),
            (at("2024-05-01T23:00:00Z"), one),
            (at("2024-05-03T10:00:00Z"), one),
        ];
        let gauges = Gauges {
            active: 2,
            answered: 1,
        };
        let days = daily(&range, &hours, at("2024-05-03T12:00:00Z"), Some(gauges));
        let finished: Vec<_> = days.iter().map(|d| d.figures.finished).collect();
        assert_eq!(finished, [2, 0, 1]);
        assert_eq!(days[0].figures.active, None);
        assert_eq!(days[2].figures.active, Some(2));
        assert_eq!(days[1].figures.from, at("2024-05-02T00:00:00Z"));
        assert_eq!(days[1].figures.to, at("2024-05-03T00:00:00Z"));
        let json = serde_json::to_value(&days[2]).unwrap();
        assert_eq!(json["date"], "2024-05-03");
        assert_eq!(json["answered"], 1);
    }

    #[test]
    fn a_madrid_day_sums_the_utc_hours_of_madrids_day() {
        let one = Counters {
            finished: 1,
            ..Counters::default()
        };
        // 22:30 UTC on 1 May is 00:30 on 2 May in Madrid (UTC+2).
        let hours = vec![
            (at("2024-05-01T21:00:00Z"), one),
            (at("2024-05-01T22:00:00Z"), one),
            (at("2024-05-02T21:00:00Z"), one),
        ];
        let now = at("2024-05-02T22:30:00Z");
        let utc = DayRange::utc(day("2024-05-01"), day("2024-05-02"));
        let finished = |days: Vec<DayFigures>| -> Vec<u64> {
            days.iter().map(|d| d.figures.finished).collect()
        };
        assert_eq!(finished(daily(&utc, &hours, now, None)), [2, 1]);
        let madrid = DayRange {
            zone: Zone::parse("Europe/Madrid").unwrap(),
            ..utc
        };
        let days = daily(&madrid, &hours, now, Some(Gauges::default()));
        assert_eq!(finished(days.clone()), [1, 2]);
        assert_eq!(days[1].figures.from, at("2024-05-01T22:00:00Z"));
        assert_eq!(days[1].figures.to, at("2024-05-02T22:00:00Z"));
        // 22:30 UTC on the 2nd is the 3rd in Madrid: neither day is today.
        assert!(days.iter().all(|d| d.figures.active.is_none()));
        // The day the clocks go forward has 23 hours, the day they go back 25.
        let spring = DayRange {
            first: day("2024-03-31"),
            last: day("2024-03-31"),
            zone: Zone::parse("Europe/Madrid").unwrap(),
        };
        let every_hour: Vec<_> = (0..26)
            .map(|n| (at("2024-03-30T22:00:00Z") + Duration::hours(n), one))
            .collect();
        let day_of_spring = &daily(&spring, &every_hour, now, None)[0];
        assert_eq!(day_of_spring.figures.finished, 23);
        let autumn = DayRange {
            first: day("2024-10-27"),
            last: day("2024-10-27"),
            ..spring
        };
        let every_hour: Vec<_> = (0..27)
            .map(|n| (at("2024-10-26T22:00:00Z") + Duration::hours(n), one))
            .collect();
        assert_eq!(
            daily(&autumn, &every_hour, now, None)[0].figures.finished,
            25
        );
    }

    proptest::proptest! {
        /// Whatever the zone, the days of a range share its hours out: their
        /// sums add up to the sum of every hour the range's buckets cover, and
        /// an hour outside them counts nowhere.
        #[test]
        fn the_days_of_a_range_add_up_to_its_hours(
            zone_index in 0..6usize,
            first in 0i64..3000,
            length in 1i64..10,
            events in proptest::collection::vec((0i64..(24 * 12), 1u64..5), 0..60),
        ) {
            let names = ["UTC", "Europe/Madrid", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe"];
            let zone = Zone::parse(names[zone_index]).unwrap();
            let first = day("2020-01-01") + Duration::days(first);
            let range = DayRange { first, last: first + Duration::days(length - 1), zone };
            let origin = at("2020-01-01T00:00:00Z") + Duration::days((first - day("2020-01-01")).num_days() - 1);
            let hours: Vec<_> = events
                .iter()
                .map(|(h, n)| (origin + Duration::hours(*h), Counters { rona: *n, ..Counters::default() }))
                .collect();
            let days = daily(&range, &hours, origin, None);
            proptest::prop_assert_eq!(days.len(), usize::try_from(length).unwrap());
            let (first_bucket, last_bucket) = range.buckets().unwrap();
            let inside: u64 = hours
                .iter()
                .filter(|(h, _)| first_bucket <= *h && *h <= last_bucket)
                .map(|(_, c)| c.rona)
                .sum();
            let summed: u64 = days.iter().map(|d| d.figures.rona).sum();
            proptest::prop_assert_eq!(summed, inside);
            for pair in days.windows(2) {
                proptest::prop_assert_eq!(pair[0].figures.to, pair[1].figures.from);
            }
        }
    }

    #[test]
    fn the_rolling_statistic_is_the_last_24_hourly_buckets() {
        let now = at("2024-05-02T10:15:00Z");
        assert_eq!(rolling_first_hour(now), at("2024-05-01T11:00:00Z"));
        let one = Counters {
            rona: 1,
            ..Counters::default()
        };
        let hours = vec![
            (at("2024-05-01T10:00:00Z"), one),
            (at("2024-05-01T11:00:00Z"), one),
            (at("2024-05-02T10:00:00Z"), one),
        ];
        let figures = rolling(&hours, now, Gauges::default());
        assert_eq!(figures.rona, 2);
        assert_eq!(figures.from, at("2024-05-01T11:00:00Z"));
        assert_eq!(figures.to, now);
        assert_eq!(figures.active, Some(0));
    }

    #[test]
    fn gauges_count_live_conversations_of_the_scope() {
        let conversation = |status, owner: Option<&str>, answered| Conversation {
            id: ConversationId::generate(),
            customer: customer(),
            customer_name: None,
            display_phone_number: "+1".into(),
            status,
            queue: queue("sales"),
            owner: owner.map(agent),
            participants: Vec::new(),
            origin: Origin::Customer,
            reopened_by: None,
            previous: None,
            created_at: at("2024-05-01T08:00:00Z"),
            updated_at: at("2024-05-01T08:00:00Z"),
            last_inbound_at: None,
            unanswered_since: None,
            handling_started_at: None,
            wrap_up_reason: None,
            done: false,
            offered_to: None,
            offered_at: None,
            queued_at: None,
            invited: None,
            pending_wrap_up: Vec::new(),
            answered,
            finished_at: None,
            retention_days: None,
            customer_window: None,
            version: 1,
        };
        let list = [
            conversation(ConversationStatus::Active, Some("ana"), true),
            conversation(ConversationStatus::Active, Some("bob"), false),
            conversation(ConversationStatus::WrapUp, Some("ana"), true),
            conversation(ConversationStatus::Unanswered, None, false),
            conversation(ConversationStatus::Finished, Some("ana"), true),
        ];
        assert_eq!(
            Gauges::of(&list, &Scope::All),
            Gauges {
                active: 2,
                answered: 2
            }
        );
        assert_eq!(
            Gauges::of(&list, &Scope::Agent(agent("ana"))),
            Gauges {
                active: 1,
                answered: 2
            }
        );
        assert_eq!(
            Gauges::of(&list, &Scope::Queue(queue("billing"))),
            Gauges::default()
        );
    }
}
