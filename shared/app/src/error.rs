use std::future::Future;

use crate::ports::{FetchError, MediaStoreError};
use crate::{CommitError, PublishError, ScheduleError, SendError, StoreError};

/// Why an application service could not finish, named for the port that
/// failed. Almost every variant means "try again later" (the caller answers
/// 5xx, or fails the invocation, so WhatsApp, Scheduler, the queue or
/// EventBridge retries, and the retry is safe because every step is
/// idempotent); [`Retryable`] says which.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// WhatsApp could not be reached, or lost its answer, while the service
    /// sent (a message WhatsApp refused is the caller's answer, not this).
    #[error("WhatsApp {operation} failed")]
    WhatsApp {
        operation: &'static str,
        #[source]
        source: SendError,
    },
    /// The media store (S3, or the local files) failed.
    #[error(transparent)]
    Media(#[from] MediaStoreError),
    #[error("gave up after {attempts} concurrent changes")]
    Contention { attempts: usize },
    /// Another attempt may be doing it right now (a reopen's message under
    /// its send lease): done, or free to do, once that ends or the lease expires.
    #[error("{what} is under way elsewhere")]
    InProgress { what: &'static str },
}

/// Whether a failure is worth another try: the one classification every
/// entry point answers by ([`settle`]). A transient failure (a port's
/// outage, throttling or time-out, a race lost too often, work under way
/// elsewhere) is reported, so the platform delivers the event again and
/// nothing is lost; a permanent one (an event that does not parse, a rule's
/// refusal, an item the store refuses for good) is logged with what was wrong
/// and acknowledged, since every retry would fail the same way and only end
/// in a dead-letter queue.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        !self.is_refused()
    }
}

impl Retryable for CommitError {
    fn is_retryable(&self) -> bool {
        match self {
            // A lost race: read again and decide again.
            Self::Conflict => true,
            // Done before: nothing left to retry.
            Self::Duplicate { .. } => false,
            Self::Store(error) => error.is_retryable(),
        }
    }
}

impl Retryable for SendError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::ReengagementRequired | Self::Rejected { .. } => false,
            // An answer lost is retryable as a whole: the services mark the
            // message so a retry never sends it a second time.
            Self::Unavailable { .. } | Self::OutcomeUnknown { .. } => true,
        }
    }
}

impl Retryable for MediaStoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl Retryable for FetchError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

impl Retryable for AppError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Store(error) => error.is_retryable(),
            Self::WhatsApp { source, .. } => source.is_retryable(),
            Self::Media(error) => error.is_retryable(),
            Self::Publish(_)
            | Self::Schedule(_)
            | Self::Contention { .. }
            | Self::InProgress { .. } => true,
        }
    }
}

/// How an event-driven entry point ends a failed event, by [`Retryable`]:
/// a retryable `error` is logged and handed back, for the caller to report
/// (fail the invocation, or name the batch item) so it is delivered again;
/// a permanent one is logged with what was wrong and acknowledged (`None`).
/// `what` names the event for the log.
pub fn settle<E>(what: &str, error: E) -> Option<E>
where
    E: Retryable + std::error::Error,
{
    let chain = error_chain(&error);
    if error.is_retryable() {
        tracing::error!(error = %chain, "{what} failed; it is delivered again");
        Some(error)
    } else {
        tracing::error!(error = %chain, "{what} can never succeed; acknowledged, not retried");
        None
    }
}

/// How often a service re-reads and retries after losing a conditional write.
const MAX_ATTEMPTS: usize = 8;

/// A short, growing pause between retries so racing writers spread out.
async fn backoff(attempt: usize) {
    let millis = 2u64
        .saturating_pow(u32::try_from(attempt).unwrap_or(u32::MAX))
        .min(64);
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// What one try of a read, decide and conditional write came to.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    Done(T),
    /// It lost a conditional write to a concurrent change (or met a failure
    /// worth another go): read again and decide again.
    Again,
}

/// The one retry-on-conflict loop: runs `attempt` (given its number, from 0)
/// until it is done, pausing a little longer each time, and answers
/// `Contention` after [`MAX_ATTEMPTS`] lost races. Each try reads what is
/// stored anew, so a retry never writes a stale decision.
pub(crate) async fn retry_on_conflict<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<Attempt<T>, E>>,
    E: From<AppError>,
{
    for number in 0..MAX_ATTEMPTS {
        match attempt(number).await? {
            Attempt::Done(value) => return Ok(value),
            Attempt::Again => backoff(number).await,
        }
    }
    Err(gave_up())
}

/// What a retry loop answers after [`MAX_ATTEMPTS`] lost races.
fn gave_up<E: From<AppError>>() -> E {
    AppError::Contention {
        attempts: MAX_ATTEMPTS,
    }
    .into()
}

/// An error and its sources on one line, for logs only: answers never carry
/// internal text (`docs/product.md#81-the-error-envelope`).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The body of every error answer of every HTTP function and of the local
/// runner (`docs/product.md#81-the-error-envelope`):
/// `{"error": {"code", "message", "owner"?}}`. The message is the answering
/// layer's own text, never an internal error's.
#[derive(Debug, serde::Serialize)]
pub struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Debug, serde::Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    /// Who holds the conversation, where a refusal names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
}

impl<'a> ErrorEnvelope<'a> {
    pub fn new(code: &'a str, message: &'a str) -> Self {
        Self {
            error: ErrorBody {
                code,
                message,
                owner: None,
            },
        }
    }

    pub fn with_owner(mut self, owner: Option<&'a str>) -> Self {
        self.error.owner = owner;
        self
    }

    /// The JSON text of the answer.
    pub fn to_json(&self) -> String {
        // Two strings and an optional third: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("table unreachable")]
    struct Outer(#[source] std::io::Error);

    #[tokio::test]
    async fn conflicts_are_retried_until_done_and_then_given_up() {
        let mut tries = 0;
        let done: Result<usize, AppError> = retry_on_conflict(|number| {
            tries += 1;
            async move {
                Ok(if number < 3 {
                    Attempt::Again
                } else {
                    Attempt::Done(number)
                })
            }
        })
        .await;
        assert_eq!(done.unwrap(), 3);
        assert_eq!(tries, 4);

        let never: Result<(), AppError> = retry_on_conflict(|_| async { Ok(Attempt::Again) }).await;
        assert!(matches!(
            never,
            Err(AppError::Contention { attempts }) if attempts == MAX_ATTEMPTS
        ));

        let failed: Result<(), AppError> =
            retry_on_conflict(|_| async { Err(AppError::InProgress { what: "a test" }) }).await;
        assert!(matches!(failed, Err(AppError::InProgress { .. })));
    }

    #[test]
    fn each_failure_is_retryable_or_permanent_by_what_failed() {
        use crate::desk::DeskFailure;
        use crate::ports::Refused;

        let outage = || StoreError::new("get_item", std::io::Error::other("connection refused"));
        assert!(AppError::from(outage()).is_retryable());
        let refused = StoreError::new("commit_inbound", Refused("over 400 KB".into()));
        assert!(!AppError::from(refused).is_retryable());
        assert!(AppError::Contention { attempts: 8 }.is_retryable());
        assert!(AppError::InProgress { what: "a test" }.is_retryable());
        let whatsapp = |source| AppError::WhatsApp {
            operation: "send",
            source,
        };
        assert!(whatsapp(SendError::Unavailable {
            source: "HTTP 503".into()
        })
        .is_retryable());
        assert!(!whatsapp(SendError::Rejected {
            code: 131_026,
            title: "undeliverable".into()
        })
        .is_retryable());
        assert!(
            AppError::Media(MediaStoreError::unavailable("delete", "S3 unreachable"))
                .is_retryable()
        );
        assert!(!AppError::Media(MediaStoreError::TooLarge { size: 2, limit: 1 }).is_retryable());

        assert!(DeskFailure::from(outage()).is_retryable());
        assert!(!DeskFailure::from(wadesk_domain::DeskError::NotFound).is_retryable());
        assert!(!DeskFailure::SendRejected { code: 131_026 }.is_retryable());
    }

    #[test]
    fn settle_hands_back_only_what_a_retry_may_fix() {
        let outage = StoreError::new("get_item", std::io::Error::other("connection refused"));
        assert!(settle("a test event", AppError::from(outage)).is_some());
        let refused = StoreError::new("commit_inbound", crate::ports::Refused("too big".into()));
        assert!(settle("a test event", AppError::from(refused)).is_none());
    }

    #[test]
    fn the_chain_names_every_source() {
        let error = Outer(std::io::Error::other("connection reset"));
        assert_eq!(error_chain(&error), "table unreachable: connection reset");
    }

    #[test]
    fn the_envelope_has_the_documented_shape() {
        let plain = ErrorEnvelope::new("not_found", "no such conversation").to_json();
        assert_eq!(
            plain,
            r#"{"error":{"code":"not_found","message":"no such conversation"}}"#
        );
        let owned = ErrorEnvelope::new("conflict", "taken")
            .with_owner(Some("ana"))
            .to_json();
        assert_eq!(
            owned,
            r#"{"error":{"code":"conflict","message":"taken","owner":"ana"}}"#
        );
    }
}
