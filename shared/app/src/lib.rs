//! Ports (what the domain needs from the outside world) and the application
//! services that drive the domain through them. Handlers of every Lambda and the
//! local runner call these services; adapters implement the ports.

pub mod analytics;
pub mod desk;
pub mod embedded;
pub mod error;
pub mod inbound;
pub mod media;
pub mod opt_out;
pub mod ports;
pub mod protection;
pub mod status;
pub mod window_fire;

pub use error::AppError;
pub use ports::{AnalyticsStore, Claimed, Committed};
pub use ports::{
    CommitError, ConversationStore, DeskItems, DeskKeys, DeskStore, EventPublisher, InboundContext,
    KeepError, MediaSource, MediaStore, OutboundContent, Page, PageRequest, Poison, PoisonItem,
    PoisonKeeper, PublishError, ScheduleError, SendError, StatusContext, StoreError,
    TimerScheduler, WamidRecord, WhatsAppClient,
};

use wadesk_domain::Clock;

/// How long an offer waits for the agent before they go to RONA (30 s:
/// `docs/product.md#42-agents-offers-and-taking`).
pub const DEFAULT_OFFER_TIMEOUT_SECONDS: i64 = 30;

/// The ports one function is wired with, named once: `App<P>` holds one of
/// each, and a handler states only what it needs of them
/// (`P: Ports<Store: DeskStore>`, `P: Ports`)
/// instead of five type parameters and their bounds. Any tuple
/// `(store, events, timers, clock, whatsapp)` of adapters is one: the
/// WhatsApp client is left unbounded here, so a function that never sends
/// (the timers) is wired without one.
pub trait Ports {
    type Store: ConversationStore;
    type Events: EventPublisher;
    type Timers: TimerScheduler;
    type Clock: Clock;
    type WhatsApp;
}

impl<S, E, T, C, W> Ports for (S, E, T, C, W)
where
    S: ConversationStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
{
    type Store = S;
    type Events = E;
    type Timers = T;
    type Clock = C;
    type WhatsApp = W;
}

/// The ports one function works with, wired once at start-up.
#[derive(Debug, Clone)]
pub struct App<P: Ports> {
    pub store: P::Store,
    pub events: P::Events,
    pub timers: P::Timers,
    pub clock: P::Clock,
    pub whatsapp: P::WhatsApp,
    pub offer_timeout: chrono::Duration,
    /// Subjects that act as admins while the directory has no entry for them
    /// (`WADESK_BOOTSTRAP_ADMINS`): who fills a fresh directory.
    pub bootstrap_admins: Vec<wadesk_domain::AgentId>,
    /// What this instance remembers of the conversations its callers acted
    /// on, so a warm instance reads a desk action's snapshot in one round
    /// trip ([`desk::SnapshotHints`]; never what a decision is made on).
    /// Shared by the clones of this `App`: one per process.
    pub snapshot_hints: desk::SnapshotHints,
}

impl<S, E, T, C, W> App<(S, E, T, C, W)>
where
    S: ConversationStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
{
    pub fn new(store: S, events: E, timers: T, clock: C, whatsapp: W) -> Self {
        Self {
            store,
            events,
            timers,
            clock,
            whatsapp,
            offer_timeout: chrono::Duration::seconds(DEFAULT_OFFER_TIMEOUT_SECONDS),
            bootstrap_admins: Vec::new(),
            snapshot_hints: desk::SnapshotHints::default(),
        }
    }
}

impl<P: Ports> App<P> {
    /// This instance's [`desk::SnapshotHints`] (`SnapshotHints::disabled()`:
    /// every request reads as on a cold instance).
    pub fn with_snapshot_hints(mut self, hints: desk::SnapshotHints) -> Self {
        self.snapshot_hints = hints;
        self
    }

    pub fn with_bootstrap_admins(mut self, admins: Vec<wadesk_domain::AgentId>) -> Self {
        self.bootstrap_admins = admins;
        self
    }

    pub fn with_offer_timeout(mut self, timeout: chrono::Duration) -> Self {
        self.offer_timeout = timeout;
        self
    }
}
