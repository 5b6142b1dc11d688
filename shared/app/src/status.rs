//! A delivery status callback arrives from the webhook.

use tracing::Instrument;
use wadesk_domain::{decide_status, Clock, StatusDecision, StatusUpdate};

use crate::error::{backoff, MAX_ATTEMPTS};
use crate::{
    App, AppError, CommitError, ConversationStore, EventPublisher, TimerScheduler, WhatsAppClient,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Applied,
    /// Stale, repeated, or for a message wadesk did not send.
    Ignored,
}

pub async fn apply_status<S, E, T, C, W>(
    app: &App<S, E, T, C, W>,
    update: StatusUpdate,
) -> Result<StatusOutcome, AppError>
where
    S: ConversationStore,
    E: EventPublisher,
    T: TimerScheduler,
    C: Clock,
    W: WhatsAppClient,
{
    let span = tracing::info_span!(
        "apply_status",
        wamid = %update.wamid,
        conversation_id = tracing::field::Empty
    );
    async move {
        let Some(record) = app.store.find_wamid(&update.wamid).await? else {
            tracing::info!("status for an unknown message ignored");
            return Ok(StatusOutcome::Ignored);
        };
        tracing::Span::current().record(
            "conversation_id",
            tracing::field::display(record.conversation_id),
        );
        for attempt in 0..MAX_ATTEMPTS {
            let Some(context) = app.store.load_status_context(&record).await? else {
                return Ok(StatusOutcome::Ignored);
            };
            match decide_status(
                &context.message,
                context.customer.as_ref(),
                &update,
                app.clock.now(),
            ) {
                StatusDecision::Ignore => return Ok(StatusOutcome::Ignored),
                StatusDecision::Republish { events } => {
                    app.events.publish(&events).await?;
                    return Ok(StatusOutcome::Ignored);
                }
                StatusDecision::Apply {
                    expected,
                    message,
                    customer,
                    events,
                } => match app
                    .store
                    .commit_status(&message, expected, customer.as_ref())
                    .await
                {
                    Ok(()) => {
                        app.events.publish(&events).await?;
                        return Ok(StatusOutcome::Applied);
                    }
                    Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                        backoff(attempt).await;
                    }
                    Err(CommitError::Store(error)) => return Err(error.into()),
                },
            }
        }
        Err(AppError::Contention {
            attempts: MAX_ATTEMPTS,
        })
    }
    .instrument(span)
    .await
}
