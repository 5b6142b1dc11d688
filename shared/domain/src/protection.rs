//! Data protection (`docs/product.md#11-data-protection`): how long a
//! finished conversation is kept, and what erasing a customer on request
//! removes and counts.
//!
//! Decided here once: the stores only carry the expiry as their TTL
//! attribute (DynamoDB) or purge by it (the embedded store), and the erasure
//! service only deletes what these rules name, a bounded step at a time.

use serde::{Deserialize, Serialize};

use crate::{
    Conversation, ConversationId, Customer, Direction, Message, PhoneNumberId, Timestamp, WaId,
};

/// How long a channel keeps finished conversations unless an admin says
/// otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
/// The shortest retention an admin may set: a day, so an agent can still
/// wrap up and an admin answer a complaint about yesterday's chat.
pub const MIN_RETENTION_DAYS: u32 = 1;
/// The longest retention an admin may set (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// At most this many items are deleted (or re-stamped) in one step of an
/// erasure or of applying a retention: a large history is worked through in
/// many small steps driven by a queue, never in one unbounded request.
pub const STEP_ITEMS: usize = 25;

/// A validated retention period, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct RetentionDays(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retention_days must be a whole number from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}")]
pub struct RetentionOutOfRange;

impl RetentionDays {
    pub fn new(days: u32) -> Result<Self, RetentionOutOfRange> {
        if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(RetentionOutOfRange)
        }
    }

    pub fn days(self) -> u32 {
        self.0
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self(DEFAULT_RETENTION_DAYS)
    }
}

impl TryFrom<u32> for RetentionDays {
    type Error = RetentionOutOfRange;
    fn try_from(days: u32) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<RetentionDays> for u32 {
    fn from(days: RetentionDays) -> Self {
        days.0
    }
}

/// When a conversation's stored data expires: its finish plus the retention
/// it carries (its channel's when it started), only while it is finished. A
/// live conversation never expires; reopening one makes it live again, so its
/// expiry is gone until it finishes anew.
pub fn expires_at(conversation: &Conversation) -> Option<Timestamp> {
    if conversation.status.is_live() {
        return None;
    }
    let finished_at = conversation.finished_at.unwrap_or(conversation.updated_at);
    let days = conversation.retention_days.unwrap_or_default();
    Some(finished_at + chrono::Duration::days(i64::from(days.days())))
}

/// Whether a stored item with this expiry is gone by `now` (what DynamoDB's
/// TTL does eventually, and the embedded store at once).
pub fn has_expired(expiry: Option<Timestamp>, now: Timestamp) -> bool {
    expiry.is_some_and(|at| at <= now)
}

/// A customer's history entry as stored: which conversation, on which
/// channel, started when. Listed even when its conversation is already gone
/// (an erasure interrupted between the two), so an erasure can finish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub wa_id: WaId,
    pub conversation_id: ConversationId,
    pub phone_number_id: PhoneNumberId,
    pub created_at: Timestamp,
}

/// What an erasure removed, as it answers and as `CustomerErased` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    /// The customer's profile (0 or 1).
    #[serde(default)]
    pub profile: u32,
    #[serde(default)]
    pub conversations: u32,
    /// Customer, agent and system messages.
    #[serde(default)]
    pub messages: u32,
    /// Internal notes.
    #[serde(default)]
    pub notes: u32,
    /// History entries (one per conversation).
    #[serde(default)]
    pub history_links: u32,
    /// Agents' live and archive links to the conversations.
    #[serde(default)]
    pub agent_links: u32,
    /// Pending timers cancelled (the window's schedule).
    #[serde(default)]
    pub timers: u32,
    /// Stored media files.
    #[serde(default)]
    pub media: u32,
}

impl ErasureCounts {
    /// Counts erased messages: notes apart from the rest.
    pub fn add_messages(&mut self, messages: &[Message]) {
        for message in messages {
            if message.direction == Direction::Note {
                self.notes += 1;
            } else {
                self.messages += 1;
            }
        }
    }

    /// The counts of two steps together.
    pub fn plus(self, other: Self) -> Self {
        Self {
            profile: self.profile + other.profile,
            conversations: self.conversations + other.conversations,
            messages: self.messages + other.messages,
            notes: self.notes + other.notes,
            history_links: self.history_links + other.history_links,
            agent_links: self.agent_links + other.agent_links,
            timers: self.timers + other.timers,
            media: self.media + other.media,
        }
    }
}

/// What one erasure step does next for a customer, decided from what it read:
/// the customer's profile and the first of their entries still stored on
/// this channel (with its conversation and a page of its messages).
#[derive(Debug, Clone, PartialEq)]
pub enum ErasureStep {
    /// The customer still has a live session: end it first, through the
    /// desk, so agents are freed and the usual events fire.
    EndLiveSession(ConversationId),
    /// Delete these messages (at most [`STEP_ITEMS`] items with their wamid
    /// records) of the conversation.
    EraseMessages(Vec<Message>),
    /// The conversation has no messages left: delete it, its agent links and
    /// its history entry (the entry last: it is how the next step finds what
    /// is left).
    EraseConversation(HistoryEntry),
    /// No conversation left: cancel the window's timer and delete the
    /// profile.
    EraseProfile,
    /// Nothing of the customer is stored any more.
    Done,
}

/// The next erasure step. `customer` is the stored profile; `entry` the first
/// remaining history entry of this customer on this channel, `conversation`
/// its conversation and `messages` the first page of its transcript.
pub fn next_erasure_step(
    customer: Option<&Customer>,
    entry: Option<&HistoryEntry>,
    conversation: Option<&Conversation>,
    messages: &[Message],
) -> ErasureStep {
    // The live session the customer's mirror names, or the entry's
    // conversation live without the mirror saying so (written meanwhile).
    let live = customer
        .and_then(|c| c.live.as_ref())
        .map(|l| l.conversation_id)
        .or(conversation.filter(|c| c.status.is_live()).map(|c| c.id));
    if let Some(id) = live {
        return ErasureStep::EndLiveSession(id);
    }
    match entry {
        Some(_) if !messages.is_empty() => ErasureStep::EraseMessages(messages.to_vec()),
        Some(entry) => ErasureStep::EraseConversation(entry.clone()),
        None if customer.is_some() => ErasureStep::EraseProfile,
        None => ErasureStep::Done,
    }
}

/// Where a message's stored file is kept, if it has one (an agent's upload,
/// or a customer's media under the key derived from the message), whatever
/// its age: what an erasure deletes with the message.
pub fn media_key(message: &Message) -> Option<String> {
    let attachment = message.content.attachment()?;
    match (&attachment.key, message.direction) {
        (Some(key), _) => Some(key.clone()),
        (None, Direction::Inbound) if attachment.media_id.is_some() => Some(
            crate::media::inbound_key(message.conversation_id, message.id),
        ),
        _ => None,
    }
}

/// How many messages one step may delete: each may carry a wamid record, so
/// half the step's items.
pub const STEP_MESSAGES: usize = STEP_ITEMS / 2;
const _: () = assert!(STEP_MESSAGES * 2 <= STEP_ITEMS);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationStatus, MessageContent, MessageId, WaId};
    use chrono::{Duration, Utc};
    use proptest::prelude::*;

    /// The shared builder's conversation, with the id the messages below name.
    fn conversation(status: ConversationStatus) -> Conversation {
        let mut conversation = crate::fixtures::conversation(status, None);
        conversation.id = ConversationId::derived_from("c");
        conversation
    }

    fn message(direction: Direction) -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::derived_from("c"),
            direction,
            content: MessageContent::Text { text: "x".into() },
            author: None,
            at: Utc::now(),
            status: None,
            error: None,
            wamid: None,
        }
    }

    #[test]
    fn retention_is_validated() {
        assert!(RetentionDays::new(0).is_err());
        assert!(RetentionDays::new(MAX_RETENTION_DAYS + 1).is_err());
        assert_eq!(RetentionDays::new(30).unwrap().days(), 30);
        assert_eq!(RetentionDays::default().days(), DEFAULT_RETENTION_DAYS);
        assert!(serde_json::from_str::<RetentionDays>("0").is_err());
    }

    #[test]
    fn a_finished_conversation_expires_its_retention_after_the_finish() {
        let mut c = conversation(ConversationStatus::Finished);
        let finished = c.created_at + Duration::hours(2);
        c.finished_at = Some(finished);
        c.retention_days = Some(RetentionDays::new(30).unwrap());
        assert_eq!(expires_at(&c), Some(finished + Duration::days(30)));
        // Without a recorded retention: the default.
        c.retention_days = None;
        assert_eq!(expires_at(&c), Some(finished + Duration::days(365)));
    }

    proptest! {
        #[test]
        fn live_conversations_never_expire(status in prop::sample::select(vec![
            ConversationStatus::Bot, ConversationStatus::Unanswered, ConversationStatus::Active,
            ConversationStatus::WrapUp, ConversationStatus::Reopened,
        ]), days in MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS, hours in 0i64..100_000) {
            let mut c = conversation(status);
            c.retention_days = Some(RetentionDays::new(days).unwrap());
            c.finished_at = Some(c.created_at + Duration::hours(hours));
            prop_assert_eq!(expires_at(&c), None);
            prop_assert!(!has_expired(expires_at(&c), c.created_at + Duration::days(100_000)));
        }

        #[test]
        fn a_finished_conversation_expires_exactly_at_its_expiry(
            days in MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS, hours in 0i64..100_000,
        ) {
            let mut c = conversation(ConversationStatus::Finished);
            c.retention_days = Some(RetentionDays::new(days).unwrap());
            c.finished_at = Some(c.created_at + Duration::hours(hours));
            let expiry = expires_at(&c).unwrap();
            prop_assert!(expiry > c.created_at);
            prop_assert!(!has_expired(Some(expiry), expiry - Duration::seconds(1)));
            prop_assert!(has_expired(Some(expiry), expiry));
        }
    }

    #[test]
    fn erasure_ends_the_live_session_first_then_works_inwards() {
        let id = ConversationId::derived_from("c");
        let entry = HistoryEntry {
            wa_id: WaId::parse("34600000000").unwrap(),
            conversation_id: id,
            phone_number_id: PhoneNumberId::parse("1").unwrap(),
            created_at: Utc::now(),
        };
        let page = vec![message(Direction::Inbound)];
        let mut profile = Customer::new(crate::CustomerKey::new(
            entry.phone_number_id.clone(),
            entry.wa_id.clone(),
        ));
        let mut finished = conversation(ConversationStatus::Finished);
        finished.id = id;
        let mut live = finished.clone();
        live.status = ConversationStatus::Active;
        let customer = Some(&profile);
        // Live by the customer's mirror, or by the conversation alone.
        assert_eq!(
            next_erasure_step(customer, Some(&entry), Some(&live), &page),
            ErasureStep::EndLiveSession(id)
        );
        profile.live = crate::LiveSession::of(&live);
        assert_eq!(
            next_erasure_step(Some(&profile), None, None, &[]),
            ErasureStep::EndLiveSession(id)
        );
        profile.live = None;
        let customer = Some(&profile);
        assert_eq!(
            next_erasure_step(customer, Some(&entry), Some(&finished), &page),
            ErasureStep::EraseMessages(page.clone())
        );
        assert_eq!(
            next_erasure_step(customer, Some(&entry), Some(&finished), &[]),
            ErasureStep::EraseConversation(entry.clone())
        );
        assert_eq!(
            next_erasure_step(customer, None, None, &[]),
            ErasureStep::EraseProfile
        );
        assert_eq!(next_erasure_step(None, None, None, &[]), ErasureStep::Done);
    }

    #[test]
    fn notes_are_counted_apart_and_steps_add_up() {
        let mut counts = ErasureCounts::default();
        counts.add_messages(&[
            message(Direction::Inbound),
            message(Direction::Note),
            message(Direction::Outbound),
        ]);
        assert_eq!((counts.messages, counts.notes), (2, 1));
        let total = counts.plus(ErasureCounts {
            conversations: 1,
            ..ErasureCounts::default()
        });
        assert_eq!((total.messages, total.conversations), (2, 1));
    }
}
