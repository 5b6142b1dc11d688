//! Time comes from one port so that tests and the local runner can move it.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// Every instant in wadesk is UTC.
pub type Timestamp = DateTime<Utc>;

/// The single source of "now".
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock, for Lambda.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now()
    }
}

/// A clock that runs with wall time plus an offset that can be pushed forward.
/// The local runner and tests use it to see a 24-hour expiry in seconds.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualState>>,
}

#[derive(Debug)]
struct ManualState {
    /// Fixed instant when frozen; otherwise wall time is used.
    frozen: Option<Timestamp>,
    offset: Duration,
}

impl ManualClock {
    /// A clock that follows wall time until advanced.
    pub fn following_wall_time() -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                frozen: None,
                offset: Duration::zero(),
            })),
        }
    }

    /// A clock that stands still at `at` until advanced.
    pub fn frozen_at(at: Timestamp) -> Self {
        Self {
            inner: Arc::new(Mutex::new(ManualState {
                frozen: Some(at),
                offset: Duration::zero(),
            })),
        }
    }

    /// Moves the clock forward; negative amounts are ignored because time never
    /// runs backwards for the domain.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if by > Duration::zero() {
            state.offset += by;
        }
        state.frozen.unwrap_or_else(Utc::now) + state.offset
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.frozen.unwrap_or_else(Utc::now) + state.offset
    }
}

impl<C: Clock> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_only() {
        let start = Utc::now();
        let clock = ManualClock::frozen_at(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::hours(24));
        assert_eq!(clock.now(), start + Duration::hours(24));
        clock.advance(Duration::hours(-5));
        assert_eq!(clock.now(), start + Duration::hours(24));
    }
}
