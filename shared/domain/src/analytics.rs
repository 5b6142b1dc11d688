//! Analytics (`docs/product.md#7-analytics`): which hourly counters a domain event
//! moves, and the figures read back from them.
//!
//! Events are counted into UTC hour buckets per *scope*: everything, one agent,
//! one queue, one channel, and one agent within one queue (so the dashboard's
//! `agent` + `queue` filter is exact too). A day or the rolling last 24 hours is
//! then a sum of hourly buckets of one scope. The live gauges (`active`,
//! `answered`) are not counters: they are read from the conversations at the
//! time of the request, so they cannot drift when events arrive late or twice.
//!
//! Everything here is pure; adapters store what [`increment_for`] decides.
//! Which hours make up a viewer's local day is [`Zone`]'s rule.

mod zone;

pub use zone::{UnknownZone, Zone};

use std::collections::BTreeMap;
use std::fmt;
use std::ops::AddAssign;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Actor, AgentId, Conversation, ConversationStatus, DomainEvent, EventEnvelope, Origin,
    PhoneNumberId, QueueId, Role, Timestamp,
};

/// The longest dashboard range, in days (about a quarter): one Query stays small.
pub const MAX_DAYS: i64 = 92;

/// The dashboard range when the caller gives none: the last 7 days, today included.
pub const DEFAULT_DAYS: i64 = 7;

/// The rolling statistic covers this many hourly buckets, the current one included.
pub const ROLLING_HOURS: i64 = 24;

/// The event types that move a counter (the EventBridge rule of the analytics
/// function matches exactly these, so other events cost no invocation).
pub const COUNTED_EVENT_TYPES: [&str; 8] = [
    "ChatReopened",
    "ReopenedConversationReplied",
    "ReopenDeclined",
    "ConversationFinished",
    "AgentReplied",
    "WindowExpired",
    "CustomerOptedOut",
    "OfferTimedOut",
];

/// Whose figures: every conversation, or one agent's, queue's or channel's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    All,
    Agent(AgentId),
    Queue(QueueId),
    Channel(PhoneNumberId),
    /// One agent's work within one queue.
    AgentInQueue(AgentId, QueueId),
}

impl Scope {
    /// A stable text key (ids never contain `#`, so the key is unambiguous).
    pub fn key(&self) -> String {
        match self {
            Self::All => "ALL".to_owned(),
            Self::Agent(agent) => format!("AGENT#{}", agent.key_part()),
            Self::Queue(queue) => format!("QUEUE#{queue}"),
            Self::Channel(channel) => format!("CHANNEL#{channel}"),
            Self::AgentInQueue(agent, queue) => {
                format!("AGENT_QUEUE#{}#{queue}", agent.key_part())
            }
        }
    }

    /// Whether a live conversation counts towards this scope's gauges: the
    /// owner is the agent whose conversation it is.
    pub fn includes(&self, conversation: &Conversation) -> bool {
        let owned_by = |agent: &AgentId| conversation.owner.as_ref() == Some(agent);
        match self {
            Self::All => true,
            Self::Agent(agent) => owned_by(agent),
            Self::Queue(queue) => conversation.queue == *queue,
            Self::Channel(channel) => conversation.customer.phone_number_id == *channel,
            Self::AgentInQueue(agent, queue) => owned_by(agent) && conversation.queue == *queue,
        }
    }

    /// Every scope a fact with this agent, queue and channel counts in.
    fn of(
        agent: Option<&AgentId>,
        queue: Option<&QueueId>,
        channel: Option<&PhoneNumberId>,
    ) -> Vec<Self> {
        let mut scopes = vec![Self::All];
        scopes.extend(agent.cloned().map(Self::Agent));
        scopes.extend(queue.cloned().map(Self::Queue));
        scopes.extend(channel.cloned().map(Self::Channel));
        if let (Some(agent), Some(queue)) = (agent, queue) {
            scopes.push(Self::AgentInQueue(agent.clone(), queue.clone()));
        }
        scopes
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// The counters of one scope in one hour (or summed over many). Averages are
/// kept as a sum and a count of samples, so any range's mean is exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    #[serde(default)]
    pub agent_initiated: u64,
    #[serde(default)]
    pub user_replied: u64,
    #[serde(default)]
    pub declined: u64,
    #[serde(default)]
    pub finished: u64,
    /// Sum of first-reply delays over customer turns, in seconds.
    #[serde(default)]
    pub response_seconds: u64,
    /// Customer turns answered (samples of `response_seconds`).
    #[serde(default)]
    pub responses: u64,
    /// Sum of handling times of finished conversations, in seconds.
    #[serde(default)]
    pub handling_seconds: u64,
    /// Finished conversations with a handling time (samples of `handling_seconds`).
    #[serde(default)]
    pub handlings: u64,
    #[serde(default)]
    pub window_expiries: u64,
    #[serde(default)]
    pub opt_outs: u64,
    #[serde(default)]
    pub rona: u64,
}

impl Counters {
    /// The counter names, as stored (item attributes, `ADD` targets).
    pub const NAMES: [&'static str; 11] = [
        "agent_initiated",
        "user_replied",
        "declined",
        "finished",
        "response_seconds",
        "responses",
        "handling_seconds",
        "handlings",
        "window_expiries",
        "opt_outs",
        "rona",
    ];

    /// Every counter with its stored name, in [`Counters::NAMES`] order.
    pub fn fields(&self) -> [(&'static str, u64); 11] {
        [
            ("agent_initiated", self.agent_initiated),
            ("user_replied", self.user_replied),
            ("declined", self.declined),
            ("finished", self.finished),
            ("response_seconds", self.response_seconds),
            ("responses", self.responses),
            ("handling_seconds", self.handling_seconds),
            ("handlings", self.handlings),
            ("window_expiries", self.window_expiries),
            ("opt_outs", self.opt_outs),
            ("rona", self.rona),
        ]
    }

    /// Sets one counter by its stored name; unknown names are ignored.
    pub fn set(&mut self, name: &str, value: u64) {
        let slot = match name {
            "agent_initiated" => &mut self.agent_initiated,
            "user_replied" => &mut self.user_replied,
            "declined" => &mut self.declined,
            "finished" => &mut self.finished,
            "response_seconds" => &mut self.response_seconds,
            "responses" => &mut self.responses,
            "handling_seconds" => &mut self.handling_seconds,
            "handlings" => &mut self.handlings,
            "window_expiries" => &mut self.window_expiries,
            "opt_outs" => &mut self.opt_outs,
            "rona" => &mut self.rona,
            _ => return,
        };
        *slot = value;
    }

    /// The counters that are not zero (what an increment writes).
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> {
        self.fields().into_iter().filter(|(_, value)| *value != 0)
    }

    pub fn is_zero(&self) -> bool {
        self.nonzero().next().is_none()
    }
}

impl AddAssign<&Counters> for Counters {
    fn add_assign(&mut self, other: &Counters) {
        let mut sum = Counters::default();
        for ((name, mine), (_, theirs)) in self.fields().into_iter().zip(other.fields()) {
            sum.set(name, mine.saturating_add(theirs));
        }
        *self = sum;
    }
}

impl<'a> std::iter::Sum<&'a Counters> for Counters {
    fn sum<I: Iterator<Item = &'a Counters>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut total, c| {
            total += c;
            total
        })
    }
}

/// The start of the UTC hour `at` falls in.
pub fn hour_of(at: Timestamp) -> Timestamp {
    let start = at
        .with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0));
    // Every UTC instant has a whole hour before it; the fallback is unreachable.
    start.unwrap_or(at)
}

/// What one event adds: the same counters, in each of its scopes, in the hour
/// the fact happened (not when it was consumed: a late or repeated delivery
/// lands in the same bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub hour: Timestamp,
    pub scopes: Vec<Scope>,
    pub counters: Counters,
}

fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The counters an event moves, or `None` for an event analytics does not count.
pub fn increment_for(envelope: &EventEnvelope) -> Option<Increment> {
    let mut counters = Counters::default();
    let scopes = match &envelope.event {
        DomainEvent::ChatReopened {
            customer,
            agent,
            queue,
            initiated_by,
            ..
        } => {
            // Both ways an agent starts a conversation again count: reopen and push.
            if !matches!(initiated_by, Origin::AgentReopen | Origin::Push) {
                return None;
            }
            counters.agent_initiated = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ReopenedConversationReplied {
            customer,
            agent,
            queue,
            ..
        } => {
            counters.user_replied = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ReopenDeclined {
            customer,
            agent,
            queue,
            ..
        } => {
            counters.declined = 1;
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::ConversationFinished {
            customer,
            agent,
            queue,
            handling_seconds,
            ..
        } => {
            counters.finished = 1;
            if let Some(handling) = handling_seconds {
                counters.handling_seconds = seconds(*handling);
                counters.handlings = 1;
            }
            Scope::of(Some(agent), Some(queue), Some(&customer.phone_number_id))
        }
        DomainEvent::AgentReplied {
            agent,
            queue,
            channel,
            response_seconds: Some(response),
            ..
        } => {
            counters.response_seconds = seconds(*response);
            counters.responses = 1;
            Scope::of(Some(agent), Some(queue), Some(channel))
        }
        DomainEvent::WindowExpired { customer, .. } => {
            counters.window_expiries = 1;
            Scope::of(None, None, Some(&customer.phone_number_id))
        }
        DomainEvent::CustomerOptedOut {
            customer, owner, ..
        } => {
            counters.opt_outs = 1;
            Scope::of(owner.as_ref(), None, Some(&customer.phone_number_id))
        }
        DomainEvent::OfferTimedOut {
            agent,
            queue,
            channel,
            ..
        } => {
            counters.rona = 1;
            Scope::of(Some(agent), Some(queue), Some(channel))
        }
        _ => return None,
    };
    Some(Increment {
        hour: hour_of(envelope.at),
        scopes,
        counters,
    })
}

/// One counter item: a scope's bucket for one UTC hour.
pub type Bucket = (Scope, Timestamp);

/// Events counted in one write: each event's id (its marker, so it counts once)
/// and what it adds. The buckets are summed over the events, so a bucket that
/// several events move is written once, with the sum.
///
/// Idempotency rests on the ids, not on how a delivery was batched: a tally
/// commits its markers and its sums together or not at all, so a batch
/// delivered again, whole, in part or cut differently, finds the markers of
/// the events already counted and counts only the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    events: Vec<(Uuid, Increment)>,
}

impl Tally {
    /// The events, each id once.
    pub fn events(&self) -> &[(Uuid, Increment)] {
        &self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// The sum of the events' increments per bucket.
    pub fn buckets(&self) -> BTreeMap<Bucket, Counters> {
        let mut buckets = BTreeMap::<Bucket, Counters>::new();
        for (_, increment) in &self.events {
            for scope in &increment.scopes {
                *buckets.entry((scope.clone(), increment.hour)).or_default() += &increment.counters;
            }
        }
        buckets
    }

    /// Items one commit of this tally writes: a marker per event, one item
    /// per bucket.
    pub fn writes(&self) -> usize {
        self.events.len() + self.buckets().len()
    }

    /// `counted` cut into tallies that each write at most `max_writes` items
    /// (DynamoDB: 100 per transaction). Events that share buckets go into the
    /// same tally (ordered by hour, then agent, queue and channel), so a
    /// bucket is written as few times as the limit allows; the order of
    /// delivery does not matter to sums. An id seen twice in one delivery is
    /// kept once; an increment that moves nothing needs no write and is left
    /// out. Every tally holds at least one event, whatever `max_writes`.
    pub fn split(
        counted: impl IntoIterator<Item = (Uuid, Increment)>,
        max_writes: usize,
    ) -> Vec<Tally> {
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<(Uuid, Increment)> = counted
            .into_iter()
            .filter(|(id, increment)| {
                !increment.counters.is_zero() && !increment.scopes.is_empty() && seen.insert(*id)
            })
            .collect();
        unique.sort_by(|(_, a), (_, b)| (a.hour, &a.scopes).cmp(&(b.hour, &b.scopes)));
        let mut tallies = Vec::new();
        let mut current = Tally::default();
        let mut buckets = std::collections::HashSet::<Bucket>::new();
        for (id, increment) in unique {
            let new_buckets = increment
                .scopes
                .iter()
                .filter(|scope| !buckets.contains(&((*scope).clone(), increment.hour)))
                .count();
            let writes = current.events.len() + buckets.len() + 1 + new_buckets;
            if !current.is_empty() && writes > max_writes {
                tallies.push(std::mem::take(&mut current));
                buckets.clear();
            }
            buckets.extend(increment.scopes.iter().map(|s| (s.clone(), increment.hour)));
            current.events.push((id, increment));
        }
        if !current.is_empty() {
            tallies.push(current);
        }
        tallies
    }

    /// The same tally without the events `ids` names (counted before).
    pub fn without(&self, ids: &[Uuid]) -> Tally {
        Tally {
            events: self
                .events
                .iter()
                .filter(|(id, _)| !ids.contains(id))
                .cloned()
                .collect(),
        }
    }
}

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

/// The filters of an analytics request, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRequest {
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    pub channel: Option<PhoneNumberId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("agents see only their own figures")]
    Forbidden,
    #[error("{0}")]
    Invalid(&'static str),
}

/// Which figures `viewer` may see for these filters. Supervisors and admins see
/// any scope; an agent sees only their own: no filter means themselves, and
/// asking for another agent, or a whole queue or channel, is refused (403)
/// rather than silently narrowed, so nobody mistakes their figures for a team's.
pub fn scope_for(viewer: &Actor, request: ScopeRequest) -> Result<Scope, ScopeError> {
    let ScopeRequest {
        agent,
        queue,
        channel,
    } = request;
    let agent = match viewer.role {
        Role::Supervisor | Role::Admin => agent,
        Role::Agent => {
            if channel.is_some() || agent.as_ref().is_some_and(|a| *a != viewer.id) {
                return Err(ScopeError::Forbidden);
            }
            if queue.is_some() && agent.is_none() {
                return Err(ScopeError::Forbidden);
            }
            Some(viewer.id.clone())
        }
        Role::Bot => return Err(ScopeError::Forbidden),
    };
    match (agent, queue, channel) {
        (None, None, None) => Ok(Scope::All),
        (Some(agent), None, None) => Ok(Scope::Agent(agent)),
        (None, Some(queue), None) => Ok(Scope::Queue(queue)),
        (Some(agent), Some(queue), None) => Ok(Scope::AgentInQueue(agent, queue)),
        (None, None, Some(channel)) => Ok(Scope::Channel(channel)),
        (_, _, Some(_)) => Err(ScopeError::Invalid(
            "`channel` cannot be combined with `agent` or `queue`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationId, CustomerKey, MessageId, WaId, Wamid};

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn agent(id: &str) -> AgentId {
        AgentId::parse(id).unwrap()
    }

    fn queue(id: &str) -> QueueId {
        QueueId::parse(id).unwrap()
    }

    fn channel() -> PhoneNumberId {
        PhoneNumberId::parse("100").unwrap()
    }

    fn customer() -> CustomerKey {
        CustomerKey::new(channel(), WaId::parse("34600000001").unwrap())
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn all_scopes() -> Vec<Scope> {
        vec![
            Scope::All,
            Scope::Agent(agent("ana")),
            Scope::Queue(queue("sales")),
            Scope::Channel(channel()),
            Scope::AgentInQueue(agent("ana"), queue("sales")),
        ]
    }

    #[test]
    fn events_count_in_their_hour_and_every_scope_they_have() {
        let when = at("2024-05-01T08:59:59.999Z");
        let finished = EventEnvelope::new(
            DomainEvent::ConversationFinished {
                conversation_id: ConversationId::generate(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                reason: "Resolved".into(),
                handling_seconds: Some(160),
            },
            when,
        );
        let increment = increment_for(&finished).unwrap();
        assert_eq!(increment.hour, at("2024-05-01T08:00:00Z"));
        assert_eq!(increment.scopes, all_scopes());
        assert_eq!(
            increment.counters,
            Counters {
                finished: 1,
                handling_seconds: 160,
                handlings: 1,
                ..Counters::default()
            }
        );

        let expired = EventEnvelope::new(
            DomainEvent::WindowExpired {
                customer: customer(),
                expired_at: when,
                last_conversation: None,
            },
            when,
        );
        let increment = increment_for(&expired).unwrap();
        assert_eq!(
            increment.scopes,
            vec![Scope::All, Scope::Channel(channel())]
        );
        assert_eq!(increment.counters.window_expiries, 1);

        let opted_out = EventEnvelope::new(
            DomainEvent::CustomerOptedOut {
                customer: customer(),
                wamid: Wamid::parse("wamid.STOP").unwrap(),
                conversation_id: None,
                session_status: None,
                owner: Some(agent("ana")),
            },
            when,
        );
        let increment = increment_for(&opted_out).unwrap();
        assert_eq!(
            increment.scopes,
            vec![
                Scope::All,
                Scope::Agent(agent("ana")),
                Scope::Channel(channel())
            ]
        );
    }

    #[test]
    fn only_timed_replies_and_counted_facts_move_counters() {
        let when = at("2024-05-01T08:00:00Z");
        let reply = |response_seconds| {
            EventEnvelope::new(
                DomainEvent::AgentReplied {
                    conversation_id: ConversationId::generate(),
                    agent: agent("ana"),
                    queue: queue("sales"),
                    channel: channel(),
                    message_id: MessageId::generate(),
                    response_seconds,
                    first_reply: response_seconds.is_some(),
                },
                when,
            )
        };
        assert_eq!(increment_for(&reply(None)), None);
        let timed = increment_for(&reply(Some(42))).unwrap();
        assert_eq!(
            (timed.counters.response_seconds, timed.counters.responses),
            (42, 1)
        );
        let offered = EventEnvelope::new(
            DomainEvent::ConversationOffered {
                conversation_id: ConversationId::generate(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            when,
        );
        assert_eq!(increment_for(&offered), None);
        let customer_started = EventEnvelope::new(
            DomainEvent::ChatReopened {
                conversation_id: ConversationId::generate(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                initiated_by: Origin::Customer,
            },
            when,
        );
        assert_eq!(increment_for(&customer_started), None);
        for origin in [Origin::AgentReopen, Origin::Push] {
            let reopened = EventEnvelope::new(
                DomainEvent::ChatReopened {
                    conversation_id: ConversationId::generate(),
                    customer: customer(),
                    agent: agent("ana"),
                    queue: queue("sales"),
                    initiated_by: origin,
                },
                when,
            );
            assert_eq!(
                increment_for(&reopened).unwrap().counters.agent_initiated,
                1
            );
        }
    }

    #[test]
    fn counted_event_types_are_exactly_the_types_that_count() {
        let when = at("2024-05-01T08:00:00Z");
        let c = ConversationId::generate;
        let counted = [
            DomainEvent::ChatReopened {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                initiated_by: Origin::Push,
            },
            DomainEvent::ReopenedConversationReplied {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            DomainEvent::ReopenDeclined {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            DomainEvent::ConversationFinished {
                conversation_id: c(),
                customer: customer(),
                agent: agent("ana"),
                queue: queue("sales"),
                reason: "Resolved".into(),
                handling_seconds: None,
            },
            DomainEvent::AgentReplied {
                conversation_id: c(),
                agent: agent("ana"),
                queue: queue("sales"),
                channel: channel(),
                message_id: MessageId::generate(),
                response_seconds: Some(1),
                first_reply: true,
            },
            DomainEvent::WindowExpired {
                customer: customer(),
                expired_at: when,
                last_conversation: None,
            },
            DomainEvent::CustomerOptedOut {
                customer: customer(),
                wamid: Wamid::parse("wamid.STOP").unwrap(),
                conversation_id: None,
                session_status: None,
                owner: None,
            },
            DomainEvent::OfferTimedOut {
                conversation_id: c(),
                agent: agent("ana"),
                queue: queue("sales"),
                channel: channel(),
            },
        ];
        let mut names = Vec::new();
        for event in counted {
            let envelope = EventEnvelope::new(event, when);
            let increment = increment_for(&envelope).unwrap();
            assert!(!increment.counters.is_zero(), "{}", envelope.type_name());
            assert_eq!(increment.scopes[0], Scope::All);
            names.push(envelope.type_name());
        }
        assert_eq!(names, COUNTED_EVENT_TYPES);
        let fields: Vec<_> = Counters::default().fields().map(|(n, _)| n).to_vec();
        assert_eq!(fields, Counters::NAMES);
    }

    #[test]
    fn counters_add_by_name_and_serialise_under_their_stored_names() {
        let mut total = Counters {
            finished: 1,
            rona: 2,
            ..Counters::default()
        };
        total += &Counters {
            finished: 2,
            response_seconds: 30,
            responses: 1,
            ..Counters::default()
        };
        assert_eq!(total.finished, 3);
        assert_eq!(total.rona, 2);
        assert_eq!(total.response_seconds, 30);
        let json = serde_json::to_value(total).unwrap();
        for name in Counters::NAMES {
            assert!(json.get(name).is_some(), "{name}");
        }
        let nonzero: Vec<_> = total.nonzero().map(|(n, _)| n).collect();
        assert_eq!(
            nonzero,
            ["finished", "response_seconds", "responses", "rona"]
        );
        let mut back = Counters::default();
        for (name, value) in total.fields() {
            back.set(name, value);
        }
        assert_eq!(back, total);
    }

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
    fn agents_see_only_their_own_figures() {
        let ana = Actor {
            id: agent("ana"),
            role: Role::Agent,
        };
        let ask = |agent_id: Option<&str>, queue_id: Option<&str>, channel_id: Option<&str>| {
            ScopeRequest {
                agent: agent_id.map(agent),
                queue: queue_id.map(queue),
                channel: channel_id.map(|c| PhoneNumberId::parse(c).unwrap()),
            }
        };
        assert_eq!(
            scope_for(&ana, ask(None, None, None)),
            Ok(Scope::Agent(agent("ana")))
        );
        assert_eq!(
            scope_for(&ana, ask(Some("ana"), None, None)),
            Ok(Scope::Agent(agent("ana")))
        );
        assert_eq!(
            scope_for(&ana, ask(Some("ana"), Some("sales"), None)),
            Ok(Scope::AgentInQueue(agent("ana"), queue("sales")))
        );
        for forbidden in [
            ask(Some("bob"), None, None),
            ask(None, Some("sales"), None),
            ask(None, None, Some("100")),
        ] {
            assert_eq!(scope_for(&ana, forbidden), Err(ScopeError::Forbidden));
        }
        let bot = Actor {
            id: agent("bot"),
            role: Role::Bot,
        };
        assert_eq!(
            scope_for(&bot, ask(None, None, None)),
            Err(ScopeError::Forbidden)
        );
        let sue = Actor {
            id: agent("sue"),
            role: Role::Supervisor,
        };
        assert_eq!(scope_for(&sue, ask(None, None, None)), Ok(Scope::All));
        assert_eq!(
            scope_for(&sue, ask(Some("bob"), None, None)),
            Ok(Scope::Agent(agent("bob")))
        );
        assert_eq!(
            scope_for(&sue, ask(None, Some("sales"), None)),
            Ok(Scope::Queue(queue("sales")))
        );
        assert_eq!(
            scope_for(&sue, ask(None, None, Some("100"))),
            Ok(Scope::Channel(channel()))
        );
        assert!(matches!(
            scope_for(&sue, ask(Some("bob"), None, Some("100"))),
            Err(ScopeError::Invalid(_))
        ));
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

    #[test]
    fn scope_keys_are_distinct() {
        let keys: std::collections::BTreeSet<_> = all_scopes().iter().map(Scope::key).collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(
            Scope::AgentInQueue(agent("ana"), queue("sales")).key(),
            "AGENT_QUEUE#ana#sales"
        );
    }

    fn reply(agent_id: &str, queue_id: &str, hour: &str, seconds: i64) -> (Uuid, Increment) {
        let event = EventEnvelope::new(
            DomainEvent::AgentReplied {
                conversation_id: ConversationId::generate(),
                message_id: MessageId::generate(),
                agent: agent(agent_id),
                queue: queue(queue_id),
                channel: channel(),
                response_seconds: Some(seconds),
                first_reply: true,
            },
            at(hour),
        );
        (event.id, increment_for(&event).unwrap())
    }

    #[test]
    fn a_tally_writes_each_bucket_once_with_the_sum_of_its_events() {
        let events = vec![
            reply("ana", "sales", "2024-05-01T08:10:00Z", 10),
            reply("ana", "sales", "2024-05-01T08:20:00Z", 30),
            reply("bob", "sales", "2024-05-01T08:30:00Z", 5),
        ];
        let [tally] = <[Tally; 1]>::try_from(Tally::split(events, 100)).unwrap();
        let buckets = tally.buckets();
        // all, queue and channel shared; ana, bob and each agent-in-queue.
        assert_eq!(buckets.len(), 7);
        assert_eq!(tally.writes(), 3 + 7);
        let hour = at("2024-05-01T08:00:00Z");
        let all = buckets[&(Scope::All, hour)];
        assert_eq!((all.responses, all.response_seconds), (3, 45));
        let ana = buckets[&(Scope::Agent(agent("ana")), hour)];
        assert_eq!((ana.responses, ana.response_seconds), (2, 40));
    }

    #[test]
    fn events_that_share_buckets_share_a_tally_whatever_the_delivery_order() {
        // Two agents' replies, interleaved: cut by agent, each agent's
        // buckets are written once, not in every tally.
        let events: Vec<(Uuid, Increment)> = (0..20)
            .map(|n| {
                let agent = if n % 2 == 0 { "ana" } else { "bob" };
                reply(agent, "sales", "2024-05-01T08:10:00Z", n)
            })
            .collect();
        let tallies = Tally::split(events, 16);
        let agents_written: usize = tallies
            .iter()
            .map(|t| {
                t.buckets()
                    .keys()
                    .filter(|(scope, _)| matches!(scope, Scope::Agent(_)))
                    .count()
            })
            .sum();
        // Delivered as they came, each tally would hold both agents (6 agent
        // items in 3 tallies).
        assert_eq!(tallies.len(), 2);
        assert_eq!(agents_written, 2, "each agent's item once");
        assert!(tallies.iter().all(|t| t.writes() <= 16));
    }

    #[test]
    fn an_id_delivered_twice_in_one_batch_is_tallied_once() {
        let once = reply("ana", "sales", "2024-05-01T08:10:00Z", 10);
        let tallies = Tally::split(vec![once.clone(), once.clone()], 100);
        assert_eq!(tallies.len(), 1);
        assert_eq!(tallies[0].events(), &[once]);
        assert_eq!(
            tallies[0].buckets()[&(Scope::All, at("2024-05-01T08:00:00Z"))].responses,
            1
        );
    }

    #[test]
    fn without_the_ids_counted_before_the_sums_are_of_the_others() {
        let first = reply("ana", "sales", "2024-05-01T08:10:00Z", 10);
        let second = reply("ana", "sales", "2024-05-01T09:10:00Z", 20);
        let [tally] =
            <[Tally; 1]>::try_from(Tally::split(vec![first.clone(), second.clone()], 100)).unwrap();
        let rest = tally.without(&[first.0]);
        assert_eq!(rest.events(), &[second]);
        assert!(rest
            .buckets()
            .keys()
            .all(|(_, hour)| *hour == at("2024-05-01T09:00:00Z")));
        assert!(tally.without(&[first.0, rest.events()[0].0]).is_empty());
    }

    proptest::proptest! {
        /// However a delivery is cut, every event lands in exactly one tally,
        /// no tally writes more than it may, and the tallies' sums add up to
        /// the sum of the events one by one.
        #[test]
        fn split_tallies_keep_every_event_once_within_the_limit(
            events in proptest::collection::vec((0usize..6, 0usize..3, 0i64..3, 1i64..100), 0..80),
            max_writes in 6usize..120,
        ) {
            let agents = ["ana", "bob", "cy", "dee", "eve", "fay"];
            let queues = ["sales", "care", "vip"];
            let counted: Vec<(Uuid, Increment)> = events
                .iter()
                .map(|&(a, q, h, s)| reply(agents[a], queues[q], &format!("2024-05-01T0{h}:10:00Z"), s))
                .collect();
            let tallies = Tally::split(counted.clone(), max_writes);
            let mut expected = BTreeMap::<Bucket, Counters>::new();
            for (_, increment) in &counted {
                for scope in &increment.scopes {
                    *expected.entry((scope.clone(), increment.hour)).or_default() += &increment.counters;
                }
            }
            let mut summed = BTreeMap::<Bucket, Counters>::new();
            let mut ids = Vec::new();
            for tally in &tallies {
                proptest::prop_assert!(!tally.is_empty());
                proptest::prop_assert!(tally.writes() <= max_writes);
                ids.extend(tally.events().iter().map(|(id, _)| *id));
                for (bucket, counters) in tally.buckets() {
                    *summed.entry(bucket).or_default() += &counters;
                }
            }
            ids.sort();
            let mut delivered: Vec<Uuid> = counted.iter().map(|(id, _)| *id).collect();
            delivered.sort();
            proptest::prop_assert_eq!(ids, delivered);
            proptest::prop_assert_eq!(summed, expected);
        }
    }
}
