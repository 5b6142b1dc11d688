//! Ports (what the domain needs from the outside world) and the application
//! services that drive the domain through them. Handlers of every Lambda and the
//! local runner call these services; adapters implement the ports.

pub mod embedded;
pub mod error;
pub mod expiry;
pub mod inbound;
pub mod ports;
pub mod status;

pub use error::AppError;
pub use ports::{
    CommitError, ConversationStore, EventPublisher, InboundContext, PublishError, ScheduleError,
    StatusContext, StoreError, TimerScheduler, WamidRecord,
};

use wadesk_domain::Clock;

/// The ports one function works with, wired once at start-up.
#[derive(Debug, Clone)]
pub struct App<S, E, T, C> {
    pub store: S,
    pub events: E,
    pub timers: T,
    pub clock: C,
}

impl<S, E, T, C> App<S, E, T, C>
where
    S: ConversationStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
{
    pub fn new(store: S, events: E, timers: T, clock: C) -> Self {
        Self {
            store,
            events,
            timers,
            clock,
        }
    }
}
