//! What a send to WhatsApp leaves on its message, for each way it can end
//! (`docs/product.md#43-sending-messages`): the caller sends, then records
//! what [`record_send`] decides.

use crate::message::{DeliveryError, REENGAGEMENT_REQUIRED};
use crate::{decide_send_outcome_unknown, Message, StatusDecision, Wamid};

/// How WhatsApp answered one send, as the rules need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent(Wamid),
    /// Error 131047: the customer's window is closed.
    ReengagementRequired,
    /// Refused for good (bad recipient, bad media, policy...).
    Rejected {
        code: i64,
        title: String,
    },
    /// WhatsApp could not be reached or failed: nothing went out.
    Unavailable,
    /// The request went out but its answer was lost: it may have gone out.
    OutcomeUnknown,
}

/// What the agent's retry after a failed send does, and so what the failure
/// leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRetry {
    /// Sends a new message (an agent's own): this one is recorded `failed`.
    SendsAnother,
    /// Sends this very message (a reopen's, a push's): a send WhatsApp could
    /// not take leaves it `pending` for the retry; a refusal is still `failed`.
    SendsThisOne,
}

/// What to write about a message after its send.
// Decided once per send and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendRecord {
    /// WhatsApp took it: record its wamid (its delivery statuses find it by it).
    Sent(Message),
    /// Its answer was lost: marked `unknown` (only from `pending`), whoever
    /// would retry, so it is never left `pending` for a retry to send twice.
    Unknown(StatusDecision),
    /// It failed with this error: recorded `failed` by
    /// [`crate::decide_send_failure`], which reads the customer (131047
    /// closes the window at once).
    Failed(DeliveryError),
    /// WhatsApp could not take it and the retry sends this very message: it
    /// stays `pending`.
    LeftPending,
}

/// The title of a send WhatsApp could not take.
pub const UNAVAILABLE_TITLE: &str = "WhatsApp unavailable";
/// The title of a 131047 refusal.
pub const REENGAGEMENT_TITLE: &str = "re-engagement required";
/// The title of an agent's message not sent because the reopen message before
/// it could not go out (`docs/product.md#54-sending-to-a-finished-conversation`).
pub const REOPEN_MESSAGE_UNSENT_TITLE: &str =
    "not sent: the reopen message before it could not be sent";

/// What `message`'s send leaves behind, given how WhatsApp answered and what
/// the agent's retry would do.
pub fn record_send(message: &Message, outcome: SendOutcome, on_retry: OnRetry) -> SendRecord {
    let failed = |code, title: &str| {
        SendRecord::Failed(DeliveryError {
            code,
            title: title.to_owned(),
        })
    };
    match outcome {
        SendOutcome::Sent(wamid) => {
            let mut sent = message.clone();
            sent.wamid = Some(wamid);
            SendRecord::Sent(sent)
        }
        SendOutcome::OutcomeUnknown => SendRecord::Unknown(decide_send_outcome_unknown(message)),
        SendOutcome::Unavailable if on_retry == OnRetry::SendsThisOne => SendRecord::LeftPending,
        SendOutcome::Unavailable => failed(0, UNAVAILABLE_TITLE),
        SendOutcome::ReengagementRequired => failed(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
        SendOutcome::Rejected { code, title } => failed(code, &title),
    }
}

/// The error an agent's message sent after a reopen message is recorded with
/// when the reopen message could not go out: the customer never gets the
/// follow-up without the reopen message before it.
pub fn reopen_message_unsent() -> DeliveryError {
    DeliveryError {
        code: 0,
        title: REOPEN_MESSAGE_UNSENT_TITLE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{ConversationId, DeliveryStatus, Direction, MessageContent, MessageId};

    fn pending() -> Message {
        Message {
            id: MessageId::generate(),
            conversation_id: ConversationId::generate(),
            direction: Direction::Outbound,
            content: MessageContent::Text { text: "hi".into() },
            author: Some("ana".into()),
            at: Utc::now(),
            status: Some(DeliveryStatus::Pending),
            error: None,
            wamid: None,
        }
    }

    fn error(code: i64, title: &str) -> SendRecord {
        SendRecord::Failed(DeliveryError {
            code,
            title: title.to_owned(),
        })
    }

    #[test]
    fn a_taken_send_records_its_wamid_whoever_would_retry() {
        let message = pending();
        let wamid = Wamid::parse("wamid.OUT").unwrap();
        for on_retry in [OnRetry::SendsAnother, OnRetry::SendsThisOne] {
            let SendRecord::Sent(sent) =
                record_send(&message, SendOutcome::Sent(wamid.clone()), on_retry)
            else {
                panic!("a taken send is recorded sent");
            };
            assert_eq!(sent.wamid.as_ref(), Some(&wamid));
            assert_eq!(
                sent.status,
                Some(DeliveryStatus::Pending),
                "statuses move it on"
            );
            assert_eq!(sent.id, message.id);
        }
    }

    #[test]
    fn only_a_send_whatsapp_could_not_take_is_left_for_a_retry_of_this_message() {
        let message = pending();
        let rejected = || SendOutcome::Rejected {
            code: 131_026,
            title: "undeliverable".into(),
        };
        let cases = [
            (
                SendOutcome::Unavailable,
                OnRetry::SendsThisOne,
                SendRecord::LeftPending,
            ),
            (
                SendOutcome::Unavailable,
                OnRetry::SendsAnother,
                error(0, UNAVAILABLE_TITLE),
            ),
            (
                SendOutcome::ReengagementRequired,
                OnRetry::SendsThisOne,
                error(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
            ),
            (
                SendOutcome::ReengagementRequired,
                OnRetry::SendsAnother,
                error(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
            ),
            (
                rejected(),
                OnRetry::SendsThisOne,
                error(131_026, "undeliverable"),
            ),
            (
                rejected(),
                OnRetry::SendsAnother,
                error(131_026, "undeliverable"),
            ),
        ];
        for (outcome, on_retry, expected) in cases {
            assert_eq!(
                record_send(&message, outcome.clone(), on_retry),
                expected,
                "{outcome:?} {on_retry:?}"
            );
        }
    }

    #[test]
    fn a_lost_answer_is_marked_unknown_never_left_pending() {
        let message = pending();
        for on_retry in [OnRetry::SendsAnother, OnRetry::SendsThisOne] {
            let SendRecord::Unknown(StatusDecision::Apply {
                message: marked, ..
            }) = record_send(&message, SendOutcome::OutcomeUnknown, on_retry)
            else {
                panic!("a lost answer is marked unknown");
            };
            assert_eq!(marked.status, Some(DeliveryStatus::Unknown));
        }
    }
}
