//! The ports, named for what they do.

mod events;
mod store;
mod timers;

pub use events::{EventPublisher, PublishError};
pub use store::{
    CommitError, ConversationStore, InboundContext, StatusContext, StoreError, WamidRecord,
};
pub use timers::{window_schedule_name, ScheduleError, TimerScheduler};
