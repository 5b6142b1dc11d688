//! Sending committed messages to WhatsApp and recording what became of them.

use super::*;

pub(super) fn outbound(content: &MessageContent) -> OutboundContent {
    let media = |kind, a: &wadesk_domain::Attachment| OutboundContent::Media {
        kind,
        media_id: a.media_id.clone().unwrap_or_default(),
        filename: a.filename.clone(),
        caption: a.caption.clone(),
    };
    match content {
        MessageContent::Image { attachment } => media(MediaKind::Image, attachment),
        MessageContent::Video { attachment } => media(MediaKind::Video, attachment),
        MessageContent::Document { attachment } => media(MediaKind::Document, attachment),
        MessageContent::Template { template } => OutboundContent::Template {
            name: template.name.clone(),
            language: template.language.clone(),
            parameters: template.parameters.clone(),
        },
        other => OutboundContent::Text {
            body: other.text().unwrap_or_default().to_owned(),
        },
    }
}

/// Sends a reopen's or push's message, then releases the customer's send
/// lease (a `#STOP` acknowledgement waits for it).
pub(super) async fn deliver_and_release<P>(
    app: &App<P>,
    key: &wadesk_domain::CustomerKey,
    messages: &[Message],
) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let mut outcome = Ok(());
    for message in messages {
        if let Err(error) = deliver_as(app, key, message.clone(), OnRetry::SendsThisOne).await {
            outcome = Err(error);
            break;
        }
    }
    release_send_lease(app, key).await;
    outcome
}

pub(super) use wadesk_domain::desk::OnRetry;

/// Sends one stored `pending` message and records its wamid, or its failure.
pub(super) async fn deliver<P>(
    app: &App<P>,
    customer: &wadesk_domain::CustomerKey,
    message: Message,
) -> Result<Message, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    deliver_as(app, customer, message, OnRetry::SendsAnother).await
}

/// Sends one stored `pending` message and records what the rules say its
/// send leaves behind (`desk::record_sent`, `desk::record_failed_send`).
pub(super) async fn deliver_as<P>(
    app: &App<P>,
    customer: &wadesk_domain::CustomerKey,
    message: Message,
    on_retry: OnRetry,
) -> Result<Message, DeskFailure>
where
    P: Ports<Store: DeskStore, WhatsApp: WhatsAppClient>,
{
    let error = match app
        .whatsapp
        .send(
            &customer.phone_number_id,
            &customer.wa_id,
            &outbound(&message.content),
        )
        .await
    {
        Ok(wamid) => {
            let sent = desk::record_sent(&message, wamid);
            // WhatsApp took it, so the request succeeded: a 5xx here would
            // have the agent's retry send it a second time. Unrecorded, its
            // delivery statuses find no message.
            match app.store.record_sent(customer, &sent).await {
                Ok(()) | Err(CommitError::Duplicate { .. }) => {}
                Err(error) => tracing::error!(%error, "message sent but its wamid not recorded"),
            }
            return Ok(sent);
        }
        Err(error) => error,
    };
    match &error {
        SendError::OutcomeUnknown { source } => {
            tracing::error!(error = %source, "send outcome unknown: marked so, not resent");
        }
        _ => tracing::warn!(%error, "send failed"),
    }
    match desk::record_failed_send(&message, error.failure(), on_retry) {
        desk::FailedSend::MarkUnknown(unknown) => record_send_unknown(app, unknown).await,
        desk::FailedSend::MarkFailed(failed) => {
            record_send_failure(app, customer, &message, failed).await?;
        }
        desk::FailedSend::LeavePending => {}
    }
    Err(match error {
        SendError::ReengagementRequired => DeskError::WindowClosed.into(),
        SendError::Rejected { code, .. } => DeskFailure::SendRejected { code },
        error @ (SendError::Unavailable { .. } | SendError::OutcomeUnknown { .. }) => {
            DeskFailure::App(AppError::WhatsApp {
                operation: "send",
                source: error,
            })
        }
    })
}

/// Marks a message whose send lost its answer `unknown`. A failure to record
/// it is logged loudly: the message then stays `pending`, and only then could
/// a retried reopen or push send it a second time.
async fn record_send_unknown<P>(app: &App<P>, unknown: StatusDecision)
where
    P: Ports<Store: DeskStore>,
{
    if let StatusDecision::Apply {
        expected, message, ..
    } = unknown
    {
        if let Err(error) = app.store.commit_status(&message, expected, None).await {
            tracing::error!(%error, "recording the unknown send outcome failed");
        }
    }
}

/// Marks a message `failed` (131047 also closes the window) and publishes
/// what that changes. Failures to record are logged: the send failed either way.
pub(super) async fn record_send_failure<P>(
    app: &App<P>,
    customer: &wadesk_domain::CustomerKey,
    message: &Message,
    error: wadesk_domain::message::DeliveryError,
) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let current = app.store.get_customer(customer).await?;
    if let StatusDecision::Apply {
        expected,
        message: failed,
        customer: closed,
        events,
    } = decide_send_failure(message, current.as_ref(), error, app.clock.now())
    {
        if let Err(error) = app
            .store
            .commit_status(&failed, expected, closed.as_ref())
            .await
        {
            tracing::error!(%error, "recording the failed send failed");
        }
        if let Err(error) = app.events.publish(&events).await {
            tracing::error!(%error, "events of the failed send not published");
        }
    }
    Ok(())
}

/// Clears the customer's send lease; a concurrent change is re-read and retried.
pub(super) async fn release_send_lease<P>(app: &App<P>, key: &wadesk_domain::CustomerKey)
where
    P: Ports<Store: DeskStore>,
{
    let released = retry_on_conflict(|_| async move {
        let customer: Option<Customer> = app.store.get_customer(key).await?;
        let Some(change) = customer.as_ref().and_then(Customer::release_send_lease) else {
            return Ok(Attempt::Done(()));
        };
        match app.store.save_customer(&change).await {
            Ok(()) => Ok(Attempt::Done(())),
            Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok(Attempt::Again),
            Err(CommitError::Store(error)) => Err(AppError::from(error)),
        }
    })
    .await;
    // Given up after lost races, the lease expires by itself too (and, as
    // ever, goes unlogged).
    if let Err(AppError::Store(error)) = released {
        tracing::error!(%error, "send lease not released; it expires by itself");
    }
}
