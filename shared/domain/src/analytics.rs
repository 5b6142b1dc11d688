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
//!
//! One module per concern: `scope` (whose figures, and who may see them),
//! `counters` (one bucket's counters), `increment` (what an event adds),
//! `tally` (the events one write counts), `range` (the days asked for),
//! `figures` (what is read back), `zone` (a viewer's days).

mod counters;
mod figures;
#[cfg(test)]
mod fixtures;
mod increment;
mod range;
mod scope;
mod tally;
mod zone;

pub use counters::Counters;
pub use figures::{
    daily, rolling, rolling_first_hour, DayFigures, Figures, Gauges, GAUGE_STATUSES, ROLLING_HOURS,
};
pub use increment::{hour_of, increment_for, Increment, COUNTED_EVENT_TYPES};
pub use range::{parse_day, DayRange, RangeError, DEFAULT_DAYS, MAX_DAYS};
pub use scope::{scope_for, Scope, ScopeError, ScopeRequest};
pub use tally::{claim_verdict, Bucket, ClaimVerdict, Holder, Tally, CLAIM_HELD_SECONDS};
pub use zone::{UnknownZone, Zone};
