use crate::{PublishError, ScheduleError, StoreError};

/// Why an application service could not finish. Every variant means "try again
/// later": the caller answers 5xx so WhatsApp, Scheduler or EventBridge retries,
/// and the retry is safe because every step is idempotent.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("gave up after {attempts} concurrent changes")]
    Contention { attempts: usize },
    /// Another attempt may be doing it right now (a reopen's message under
    /// its send lease): done, or free to do, once that ends or the lease expires.
    #[error("{what} is under way elsewhere")]
    InProgress { what: &'static str },
}

/// How often a service re-reads and retries after losing a conditional write.
pub(crate) const MAX_ATTEMPTS: usize = 8;

/// A short, growing pause between retries so racing writers spread out.
pub(crate) async fn backoff(attempt: usize) {
    let millis = 2u64
        .saturating_pow(u32::try_from(attempt).unwrap_or(u32::MAX))
        .min(64);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}
