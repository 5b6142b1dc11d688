//! The counters of one scope in one hour, and their arithmetic.

use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
