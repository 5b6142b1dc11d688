//! Reopen and the single utility push, with the retry that finishes an unsent one.

use super::*;

/// Reopens a finished conversation and sends the channel's automatic reopen
/// message (`docs/product.md#51-reopen`). The agent's retry of a reopen whose message never went
/// out sends that message and answers as the first attempt would have; once
/// it went out, a retry is refused as any reopen of a live session is (409).
pub async fn reopen<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let acting = acting.into();
    let action = Action::Reopen(acting.actor);
    reopen_or_push(app, acting, id, action, Reopening::Reopen).await
}

/// Sends the single utility template push of a closed window
/// (`docs/product.md#52-the-single-utility-push`). A
/// retry after a failed send sends that template, never a second push; once
/// it went out, a retry is `push_already_sent`.
pub async fn push<'a, P>(
    app: &App<P>,
    acting: impl Into<Acting<'a>>,
    id: ConversationId,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let acting = acting.into();
    let action = Action::Push(acting.actor);
    reopen_or_push(app, acting, id, action, Reopening::Push).await
}

/// Which of the two a request is, for finishing an unsent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reopening {
    Reopen,
    Push,
}

impl Reopening {
    fn unfinished(
        self,
        ctx: &DeskContext<'_>,
        actor: &Actor,
        transcript: &[Message],
    ) -> Option<desk::Unfinished> {
        match self {
            Self::Reopen => desk::resume_reopen(ctx, actor, transcript),
            Self::Push => desk::resume_push(ctx, actor, transcript),
        }
    }
}

/// Runs a reopen or push: commits it and sends its message; or, when the
/// rules refuse it because this agent's earlier attempt already committed it,
/// sends that attempt's still unsent message under a fresh send lease.
pub(super) async fn reopen_or_push<P>(
    app: &App<P>,
    acting: Acting<'_>,
    id: ConversationId,
    action: Action<'_>,
    kind: Reopening,
) -> Result<Conversation, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let actor = acting.actor;
    let action = &action;
    retry_on_conflict(|attempt| async move {
        let snapshot = Snapshot::read(&app.store, id, &[], action, Some(acting), attempt).await?;
        let now = app.clock.now();
        let ctx = snapshot.context(now);
        let conversation = &snapshot.conversation;
        let refusal = match action.decide(&snapshot, now) {
            Ok(mut decision) => match commit(app, &mut decision).await? {
                Ok(()) => {
                    follow_up(app, &decision).await;
                    deliver_and_release(app, &decision.conversation.customer, &decision.messages)
                        .await?;
                    return Ok(Attempt::Done(decision.conversation));
                }
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => {
                    return Ok(Attempt::Again);
                }
                Err(CommitError::Store(error)) => {
                    // The commit may stand with its answer lost; then it is
                    // this request's to finish (its lease, its message).
                    if !committed(app, &decision).await {
                        return Err(error.into());
                    }
                    tracing::warn!(%error, "the commit's answer was lost but it stands");
                    follow_up(app, &decision).await;
                    deliver_and_release(app, &decision.conversation.customer, &decision.messages)
                        .await?;
                    return Ok(Attempt::Done(decision.conversation));
                }
            },
            Err(refusal) => refusal,
        };
        if !desk::may_resume(conversation) {
            return Err(refusal.into());
        }
        let transcript = app.store.list_messages(id).await?;
        match kind.unfinished(&ctx, actor, &transcript) {
            None => Err(refusal.into()),
            Some(desk::Unfinished::Sending) => Err(DeskFailure::App(AppError::InProgress {
                what: "sending the reopen or push message",
            })),
            Some(desk::Unfinished::Resume(resumption)) => match app
                .store
                .save_customer(&resumption.customer)
                .await
            {
                Ok(()) => {
                    let message = &resumption.message;
                    tracing::info!(message_id = %message.id, "sending an unsent reopen or push message");
                    deliver_and_release(app, &conversation.customer, std::slice::from_ref(message))
                        .await?;
                    Ok(Attempt::Done(conversation.clone()))
                }
                // A `#STOP` (or anything else) got in first: decide again.
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
                Err(CommitError::Store(error)) => Err(error.into()),
            },
        }
    })
    .await
}

/// Whether a decision whose commit failed without an answer is stored after
/// all: its message is (message ids are new for every decision).
pub(super) async fn committed<P>(app: &App<P>, decision: &DeskDecision) -> bool
where
    P: Ports<Store: DeskStore>,
{
    let Some(first) = decision.messages.first() else {
        return false;
    };
    match app.store.list_messages(decision.conversation.id).await {
        Ok(transcript) => transcript.iter().any(|m| m.id == first.id),
        Err(error) => {
            tracing::warn!(%error, "could not tell whether the commit stands");
            false
        }
    }
}
