//! In-process adapters for the local runner and tests: the same contracts as the
//! AWS adapters, kept in memory.

mod analytics;
mod bus;
mod media;
mod poison;
mod scheduler;
mod store;
mod whatsapp;

pub use analytics::EmbeddedAnalytics;
pub use bus::LocalEventBus;
pub use media::{LocalMedia, UploadRefused, LOCAL_UPLOAD_PATH};
pub use poison::LocalPoisonQueue;
pub use scheduler::LocalScheduler;
pub use store::EmbeddedStore;
pub use whatsapp::{LocalWhatsApp, SentMessage, UploadedMedia};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A poisoned lock only means another task panicked mid-update; every update here
/// is applied whole or not at all, so the data is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
