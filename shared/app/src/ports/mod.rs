//! The ports, named for what they do.

mod analytics_store;
mod desk_store;
mod events;
mod live;
mod media;
mod page;
mod poison;
mod store;
mod timers;
mod whatsapp;

pub use analytics_store::{AnalyticsStore, Claimed, Committed};
pub use desk_store::{DeskItems, DeskKeys, DeskStore};
pub use events::{EventPublisher, PublishError};
pub use live::{
    LiveConnection, LiveConnections, LivePush, PushError, Pushed, TokenError, TokenVerifier,
};
pub use media::{
    decode_metadata, encode_metadata, FetchError, FetchedMedia, MediaAccess, MediaSource,
    MediaStore, MediaStoreError, NoMedia, StoredFile, UploadTarget, FILENAME_FIELD, UPLOADER_FIELD,
};
pub use page::{position, Page, PageRequest, MAX_PAGE};
pub use poison::{KeepError, Poison, PoisonItem, PoisonKeeper, POISON_SOURCE};
pub use store::{
    CommitError, ConversationStore, InboundContext, Refused, StatusContext, StoreError, WamidRecord,
};
pub use timers::{offer_schedule_name, window_schedule_name, ScheduleError, TimerScheduler};
pub use whatsapp::{MediaKind, OutboundContent, SendError, WhatsAppClient};
