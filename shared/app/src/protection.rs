//! Data protection (`docs/product.md#11-data-protection`): erasing a customer
//! on request, exporting what is stored about them, and carrying a
//! conversation's retention expiry to its transcript.
//!
//! Every step here is bounded ([`STEP_ITEMS`] items at most) and decided from
//! what is stored now, so a step run twice, or a chain of steps interrupted
//! and started again, ends in the same state. Steps are driven by events on
//! the bus: on AWS an EventBridge rule puts them on the erasure queue (SQS,
//! with a dead-letter queue) read by `functions/erasure`; locally the
//! runner's bus delivers them.

use crate::Ports;
use serde::{Deserialize, Serialize};
use wadesk_domain::protection::{
    media_key, next_erasure_step, ErasureCounts, ErasureStep, HistoryEntry, STEP_ITEMS,
    STEP_MESSAGES,
};
use wadesk_domain::{
    AgentId, Clock, Conversation, ConversationId, Customer, CustomerKey, DomainEvent,
    EventEnvelope, Message,
};

use crate::desk::{end_for_erasure, DeskFailure};
use crate::ports::{position, MediaStore, MediaStoreError};
use crate::{
    App, AppError, CommitError, ConversationStore, DeskStore, EventPublisher, PageRequest,
    TimerScheduler,
};

/// How many steps the erasure request itself runs before it leaves the rest
/// to the queue: a small customer is erased before the answer, a large one
/// is answered at once with what is done so far.
pub const INLINE_STEPS: u32 = 8;

/// Where an erasure stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureProgress {
    /// Nothing of the customer is stored any more.
    pub complete: bool,
    /// What the steps so far removed.
    pub erased: ErasureCounts,
    /// Where the next step reads the customer's history from (past other
    /// channels' entries).
    #[serde(skip)]
    pub after: Option<String>,
}

/// One bounded step: what it removed, and whether nothing is left. `after`:
/// where the customer's history is read from, moved past pages of other
/// channels' entries.
async fn erasure_step<P, M>(
    app: &App<P>,
    media: &M,
    key: &CustomerKey,
    after: &mut Option<String>,
) -> Result<(ErasureCounts, bool), DeskFailure>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let mut counts = ErasureCounts::default();
    let customer = app.store.get_customer(key).await?;
    // With a live session (it ends first) nothing else is read.
    let entry = if customer.as_ref().is_some_and(|c| c.live.is_some()) {
        None
    } else {
        match first_entry(&app.store, key, after.clone()).await? {
            FirstEntry::Found(entry) => Some(entry),
            FirstEntry::Skipped(next) => {
                // Only other channels' entries so far: the next step goes on.
                *after = Some(next);
                return Ok((counts, false));
            }
            FirstEntry::None => None,
        }
    };
    let (conversation, messages) = match &entry {
        Some(entry) => {
            let conversation = app.store.get_conversation(entry.conversation_id).await?;
            let page = app
                .store
                .list_messages_page(entry.conversation_id, &PageRequest::first(STEP_MESSAGES))
                .await?;
            (conversation, page.items)
        }
        None => (None, Vec::new()),
    };
    match next_erasure_step(
        customer.as_ref(),
        entry.as_ref(),
        conversation.as_ref(),
        &messages,
    ) {
        ErasureStep::EndLiveSession(id) => {
            if !end_for_erasure(app, id).await? {
                // The customer's mirror and the conversation disagree (a
                // change under way, or a broken invariant): fail the step
                // rather than go round; the queue retries it, then keeps it
                // in its dead-letter queue.
                return Err(AppError::InProgress {
                    what: "ending the customer's live session",
                }
                .into());
            }
            Ok((counts, false))
        }
        ErasureStep::EraseMessages(messages) => {
            // Their files first: a step that fails after them finds the
            // messages again, and deleting a file twice is harmless.
            for file in messages.iter().filter_map(media_key) {
                media.delete(&file).await.map_err(AppError::Media)?;
                counts.media += 1;
            }
            let id = messages.first().map(|m| m.conversation_id);
            if let Some(id) = id {
                app.store.erase_messages(id, &messages).await?;
            }
            counts.add_messages(&messages);
            Ok((counts, false))
        }
        ErasureStep::EraseConversation(entry) => {
            let outbox = app
                .store
                .erase_outbox(entry.conversation_id, STEP_ITEMS)
                .await?;
            if outbox == STEP_ITEMS {
                // More of its outbox may be left: the next step goes on.
                return Ok((counts, false));
            }
            match app
                .store
                .erase_conversation(&entry, conversation.as_ref())
                .await
            {
                Ok(links) => {
                    counts.conversations += u32::from(conversation.is_some());
                    counts.history_links += 1;
                    counts.agent_links += links;
                    Ok((counts, false))
                }
                // Reopened meanwhile: the next step ends it again.
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok((counts, false)),
                Err(CommitError::Store(error)) => Err(error.into()),
            }
        }
        ErasureStep::EraseProfile => {
            let Some(customer) = customer else {
                return Ok((counts, true));
            };
            counts.timers += cancel_timers(app, &customer).await?;
            match app.store.erase_customer(&customer).await {
                Ok(()) => {
                    counts.profile = 1;
                    Ok((counts, true))
                }
                // A message arrived meanwhile: its session is erased next.
                Err(CommitError::Conflict | CommitError::Duplicate { .. }) => Ok((counts, false)),
                Err(CommitError::Store(error)) => Err(error.into()),
            }
        }
        ErasureStep::Done => Ok((counts, true)),
    }
}

/// The customer's pending window timer, cancelled (an erased customer's
/// window must not fire). Offer timers need no cancelling: the session was
/// ended first, so a stale offer fire finds no offer and changes nothing.
async fn cancel_timers<P>(app: &App<P>, customer: &Customer) -> Result<u32, DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let Some(armed_for) = customer.armed_expiry else {
        return Ok(0);
    };
    let cancelled = app
        .timers
        .cancel_window(&customer.key, armed_for)
        .await
        .map_err(AppError::from)?;
    Ok(u32::from(cancelled))
}

/// Pages of other channels' entries one step reads at most.
const SKIP_PAGES: usize = 2;

enum FirstEntry {
    Found(HistoryEntry),
    /// Only other channels' entries up to this position.
    Skipped(String),
    None,
}

/// The first of the customer's history entries still stored on their
/// channel, from `after` on (history entries are by `wa_id`, across
/// channels; the customer's own before `after` are already erased): at most
/// [`SKIP_PAGES`] pages are read.
async fn first_entry<S: DeskStore>(
    store: &S,
    key: &CustomerKey,
    after: Option<String>,
) -> Result<FirstEntry, DeskFailure> {
    let mut page = PageRequest {
        limit: STEP_ITEMS,
        after,
    };
    for _ in 0..SKIP_PAGES {
        let entries = store.list_history_entries(&key.wa_id, &page).await?;
        if let Some(entry) = entries
            .items
            .into_iter()
            .find(|e| e.phone_number_id == key.phone_number_id)
        {
            return Ok(FirstEntry::Found(entry));
        }
        match entries.next {
            Some(next) => page.after = Some(next),
            None => return Ok(FirstEntry::None),
        }
    }
    Ok(page.after.map_or(FirstEntry::None, FirstEntry::Skipped))
}

/// Runs up to `steps` steps; answers where the erasure stands.
async fn run_steps<P, M>(
    app: &App<P>,
    media: &M,
    key: &CustomerKey,
    steps: u32,
    mut erased: ErasureCounts,
    mut after: Option<String>,
) -> Result<ErasureProgress, DeskFailure>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    for _ in 0..steps {
        let (counts, complete) = erasure_step(app, media, key, &mut after).await?;
        erased = erased.plus(counts);
        if complete {
            return Ok(ErasureProgress {
                complete: true,
                erased,
                after,
            });
        }
    }
    Ok(ErasureProgress {
        complete: false,
        erased,
        after,
    })
}

/// Publishes what follows `progress`: the next step for the queue, or that
/// the customer is erased.
async fn publish_progress<P>(
    app: &App<P>,
    key: &CustomerKey,
    requested_by: &AgentId,
    step: u32,
    progress: &ErasureProgress,
    at: wadesk_domain::Timestamp,
) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let event = if progress.complete {
        DomainEvent::CustomerErased {
            customer: key.clone(),
            requested_by: requested_by.clone(),
            erased: progress.erased,
        }
    } else {
        DomainEvent::CustomerErasureRequested {
            customer: key.clone(),
            requested_by: requested_by.clone(),
            step,
            erased: progress.erased,
            after: progress.after.clone(),
        }
    };
    app.events
        .publish(&[EventEnvelope::new(event, at)])
        .await
        .map_err(AppError::from)?;
    Ok(())
}

/// `DELETE /admin/customers/{phone_number_id}/{wa_id}`: ends the customer's
/// live session, erases what a few bounded steps can, and leaves the rest to
/// the queue. Repeating it is harmless: each step reads what is left.
pub async fn request_erasure<P, M>(
    app: &App<P>,
    media: &M,
    requested_by: &AgentId,
    key: &CustomerKey,
) -> Result<ErasureProgress, DeskFailure>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let progress = run_steps(
        app,
        media,
        key,
        INLINE_STEPS,
        ErasureCounts::default(),
        None,
    )
    .await?;
    publish_progress(app, key, requested_by, 1, &progress, app.clock.now()).await?;
    Ok(progress)
}

/// The erasure queue's consumer: one delivered `CustomerErasureRequested`
/// runs one more step and publishes the next (or `CustomerErased`). Other
/// events are ignored.
pub async fn continue_erasure<P, M>(
    app: &App<P>,
    media: &M,
    event: &EventEnvelope,
) -> Result<Option<ErasureProgress>, DeskFailure>
where
    P: Ports<Store: DeskStore>,
    M: MediaStore,
{
    let DomainEvent::CustomerErasureRequested {
        customer,
        requested_by,
        step,
        erased,
        after,
    } = &event.event
    else {
        return Ok(None);
    };
    let progress = run_steps(app, media, customer, 1, *erased, after.clone()).await?;
    // The next event's time is this one's: a redelivered step publishes the
    // same event (same id) again.
    publish_progress(app, customer, requested_by, step + 1, &progress, event.at).await?;
    Ok(Some(progress))
}

/// The retention worker: when a conversation's expiry changes (it finished
/// or is live again: `ConversationExpiryChanged`), or a page of it is left
/// over, its transcript takes the expiry a page at a time. A conversation changed again meanwhile is left to its own change's
/// event. Other events are ignored.
pub async fn apply_retention<P>(app: &App<P>, event: &EventEnvelope) -> Result<(), DeskFailure>
where
    P: Ports<Store: DeskStore>,
{
    let (id, after) = match &event.event {
        DomainEvent::ConversationExpiryChanged {
            conversation_id, ..
        } => (*conversation_id, None),
        DomainEvent::RetentionContinues {
            conversation_id,
            after,
        } => (*conversation_id, after.clone()),
        _ => return Ok(()),
    };
    let Some(conversation) = app.store.get_conversation(id).await? else {
        return Ok(());
    };
    let page = app
        .store
        .list_messages_page(
            id,
            &PageRequest {
                limit: STEP_ITEMS,
                after,
            },
        )
        .await?;
    if page.items.is_empty() {
        return Ok(());
    }
    match app.store.apply_retention(&conversation, &page.items).await {
        Ok(()) => {}
        Err(CommitError::Conflict | CommitError::Duplicate { .. }) => return Ok(()),
        Err(CommitError::Store(error)) => return Err(error.into()),
    }
    if let Some(after) = page.next {
        let next = DomainEvent::RetentionContinues {
            conversation_id: id,
            after: Some(after),
        };
        app.events
            .publish(&[EventEnvelope::new(next, event.at)])
            .await
            .map_err(AppError::from)?;
    }
    Ok(())
}

/// One item of a customer's export: what is stored, as stored (unmasked).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ExportItem {
    Customer(Box<Customer>),
    Conversation(Box<Conversation>),
    Message(Box<Message>),
}

/// After a message was recorded into a conversation outside a desk change (an
/// automatic reply, an opt-out confirmation), asks the retention worker to
/// give its transcript the conversation's current expiry: the message may
/// have landed after the worker stamped the rest. Failing to ask is logged:
/// the message then keeps no expiry (it is still erased on request).
pub async fn restamp<E: EventPublisher>(
    events: &E,
    conversation_id: ConversationId,
    at: wadesk_domain::Timestamp,
) {
    let event = DomainEvent::RetentionContinues {
        conversation_id,
        after: None,
    };
    if let Err(error) = events.publish(&[EventEnvelope::new(event, at)]).await {
        tracing::error!(%error, "a recorded message may keep no retention expiry");
    }
}

/// Where an export continues (the API wraps it in its opaque cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPosition {
    #[serde(rename = "p", default)]
    pub profile_done: bool,
    /// The last history entry taken (by its position).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub entries_after: Option<String>,
    /// The conversation being exported, and where in its transcript.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub messages_after: Option<String>,
}

/// Conversations one export page reads at most (each costs a read of it and
/// of its transcript's page): the page's work stays bounded whatever the
/// `limit`; a page may then hold fewer items and still have a next one.
pub const EXPORT_CONVERSATIONS_PER_PAGE: usize = 5;

/// One page of everything stored about a customer: their profile, then each
/// of their conversations on this channel (oldest first) followed by its
/// transcript, notes included. `None` position: the export is complete.
pub async fn export_page<S: DeskStore>(
    store: &S,
    key: &CustomerKey,
    limit: usize,
    mut at: ExportPosition,
) -> Result<(Vec<ExportItem>, Option<ExportPosition>), DeskFailure> {
    let mut items = Vec::new();
    if !at.profile_done {
        if let Some(customer) = store.get_customer(key).await? {
            items.push(ExportItem::Customer(Box::new(customer)));
        }
        at.profile_done = true;
    }
    let mut conversations = 0;
    loop {
        let room = limit.saturating_sub(items.len());
        if room == 0 || conversations >= EXPORT_CONVERSATIONS_PER_PAGE {
            return Ok((items, Some(at)));
        }
        let Some(id) = at.conversation else {
            let page = PageRequest {
                limit: STEP_ITEMS,
                after: at.entries_after.clone(),
            };
            let entries = store.list_history_entries(&key.wa_id, &page).await?;
            let mine = entries
                .items
                .iter()
                .find(|e| e.phone_number_id == key.phone_number_id);
            match (mine, entries.next) {
                (Some(entry), _) => {
                    at.entries_after = Some(position(entry.created_at, entry.conversation_id));
                    at.conversation = Some(entry.conversation_id);
                    at.messages_after = None;
                    if let Some(conversation) =
                        store.get_conversation(entry.conversation_id).await?
                    {
                        items.push(ExportItem::Conversation(Box::new(conversation)));
                    }
                }
                (None, Some(next)) => {
                    // A page of other channels' entries: continue after it
                    // on the next page of the export.
                    at.entries_after = Some(next);
                    return Ok((items, Some(at)));
                }
                (None, None) => return Ok((items, None)),
            }
            continue;
        };
        let room = limit.saturating_sub(items.len());
        if room == 0 {
            return Ok((items, Some(at)));
        }
        let page = store
            .list_messages_page(
                id,
                &PageRequest {
                    limit: room,
                    after: at.messages_after.clone(),
                },
            )
            .await?;
        items.extend(
            page.items
                .into_iter()
                .map(|m| ExportItem::Message(Box::new(m))),
        );
        match page.next {
            Some(next) => at.messages_after = Some(next),
            None => {
                at.conversation = None;
                at.messages_after = None;
                conversations += 1;
            }
        }
    }
}

/// Deletes the stored files of messages their retention removed (DynamoDB's
/// TTL on AWS, the runner's purge locally): a message takes its file with it,
/// as in an erasure, so a channel kept for less than the bucket's own
/// lifecycle keeps its files no longer than its transcripts. Answers how many
/// files; a file already gone is no error, so a redelivery is harmless.
pub async fn delete_expired_files<M: MediaStore>(
    media: &M,
    expired: &[Message],
) -> Result<usize, MediaStoreError> {
    let mut deleted = 0;
    for file in expired.iter().filter_map(media_key) {
        media.delete(&file).await?;
        deleted += 1;
    }
    Ok(deleted)
}
