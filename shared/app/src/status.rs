//! A delivery status callback arrives from the webhook.

use crate::Ports;
use tracing::Instrument;
use wadesk_domain::{decide_status, Clock, StatusDecision, StatusUpdate};

use crate::error::{retry_on_conflict, Attempt};
use crate::{App, AppError, CommitError, ConversationStore, EventPublisher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Applied,
    /// Stale, repeated, or for a message wadesk did not send.
    Ignored,
}

pub async fn apply_status<P>(app: &App<P>, update: StatusUpdate) -> Result<StatusOutcome, AppError>
where
    P: Ports,
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
        let (record, update) = (&record, &update);
        retry_on_conflict(|_| async move {
            let Some(context) = app.store.load_status_context(record).await? else {
                return Ok(Attempt::Done(StatusOutcome::Ignored));
            };
            match decide_status(
                &context.message,
                context.customer.as_ref(),
                update,
                app.clock.now(),
            ) {
                StatusDecision::Ignore => Ok(Attempt::Done(StatusOutcome::Ignored)),
                StatusDecision::Republish { events } => {
                    app.events.publish(&events).await?;
                    Ok(Attempt::Done(StatusOutcome::Ignored))
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
                        Ok(Attempt::Done(StatusOutcome::Applied))
                    }
                    Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                        Ok(Attempt::Again)
                    }
                    Err(CommitError::Store(error)) => Err(error.into()),
                },
            }
        })
        .await
    }
    .instrument(span)
    .await
}
