//! What a send to WhatsApp leaves on its message, for each way it can end
//! (`docs/product.md#43-sending-messages`): the caller sends, then records
//! what [`record_sent`] or [`record_failed_send`] decides.

use crate::message::{DeliveryError, REENGAGEMENT_REQUIRED};
use crate::{decide_send_outcome_unknown, Message, StatusDecision, Wamid};

/// Why WhatsApp did not take a send, as the rules need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// Error 131047: the customer's window is closed.
    ReengagementRequired,
    /// Refused for good (bad recipient, bad media, policy...).
    Rejected { code: i64, title: String },
    /// WhatsApp could not be reached or failed: nothing went out.
    Unavailable,
    /// The request went out but its answer was lost: it may have gone out.
    OutcomeUnknown,
}

impl SendFailure {
    /// Whether the customer may have received it anyway: such a send is
    /// never made again automatically (told at most once, at the risk of not
    /// at all).
    pub fn may_have_gone_out(&self) -> bool {
        matches!(self, Self::OutcomeUnknown)
    }
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

/// What to write about a message WhatsApp did not take.
// Decided once per send and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailedSend {
    /// Its answer was lost: marked `unknown` (only from `pending`), whoever
    /// would retry, so it is never left `pending` for a retry to send twice.
    MarkUnknown(StatusDecision),
    /// Recorded `failed` with this error by [`crate::decide_send_failure`],
    /// which reads the customer (131047 closes the window at once).
    MarkFailed(DeliveryError),
    /// WhatsApp could not take it and the retry sends this very message: it
    /// stays `pending`.
    LeavePending,
}

/// The title of a send WhatsApp could not take.
pub const UNAVAILABLE_TITLE: &str = "WhatsApp unavailable";
/// The title of a 131047 refusal.
pub const REENGAGEMENT_TITLE: &str = "re-engagement required";
/// The title of an agent's message not sent because the reopen message before
/// it could not go out (`docs/product.md#54-sending-to-a-finished-conversation`).
pub const REOPEN_MESSAGE_UNSENT_TITLE: &str =
    "not sent: the reopen message before it could not be sent";

/// A message WhatsApp took: recorded with its wamid, by which its delivery
/// statuses find it (they move it on from `pending`).
pub fn record_sent(message: &Message, wamid: Wamid) -> Message {
    let mut sent = message.clone();
    sent.wamid = Some(wamid);
    sent
}

/// What a send WhatsApp did not take leaves on `message`, given why and what
/// the agent's retry would do.
pub fn record_failed_send(
    message: &Message,
    failure: SendFailure,
    on_retry: OnRetry,
) -> FailedSend {
    let failed = |code, title: &str| {
        FailedSend::MarkFailed(DeliveryError {
            code,
            title: title.to_owned(),
        })
    };
    match failure {
        SendFailure::OutcomeUnknown => {
            FailedSend::MarkUnknown(decide_send_outcome_unknown(message))
        }
        SendFailure::Unavailable if on_retry == OnRetry::SendsThisOne => FailedSend::LeavePending,
        SendFailure::Unavailable => failed(0, UNAVAILABLE_TITLE),
        SendFailure::ReengagementRequired => failed(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
        SendFailure::Rejected { code, title } => failed(code, &title),
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

    fn failed(code: i64, title: &str) -> FailedSend {
        FailedSend::MarkFailed(DeliveryError {
            code,
            title: title.to_owned(),
        })
    }

    #[test]
    fn a_taken_send_records_its_wamid_and_waits_for_its_statuses() {
        let message = pending();
        let wamid = Wamid::parse("wamid.OUT").unwrap();
        let sent = record_sent(&message, wamid.clone());
        assert_eq!(sent.wamid, Some(wamid));
        assert_eq!(sent.status, Some(DeliveryStatus::Pending));
        assert_eq!(sent.id, message.id);
    }

    #[test]
    fn only_a_send_whatsapp_could_not_take_is_left_for_a_retry_of_this_message() {
        let message = pending();
        let rejected = || SendFailure::Rejected {
            code: 131_026,
            title: "undeliverable".into(),
        };
        let cases = [
            (
                SendFailure::Unavailable,
                OnRetry::SendsThisOne,
                FailedSend::LeavePending,
            ),
            (
                SendFailure::Unavailable,
                OnRetry::SendsAnother,
                failed(0, UNAVAILABLE_TITLE),
            ),
            (
                SendFailure::ReengagementRequired,
                OnRetry::SendsThisOne,
                failed(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
            ),
            (
                SendFailure::ReengagementRequired,
                OnRetry::SendsAnother,
                failed(REENGAGEMENT_REQUIRED, REENGAGEMENT_TITLE),
            ),
            (
                rejected(),
                OnRetry::SendsThisOne,
                failed(131_026, "undeliverable"),
            ),
            (
                rejected(),
                OnRetry::SendsAnother,
                failed(131_026, "undeliverable"),
            ),
        ];
        for (failure, on_retry, expected) in cases {
            assert_eq!(
                record_failed_send(&message, failure.clone(), on_retry),
                expected,
                "{failure:?} {on_retry:?}"
            );
        }
    }

    #[test]
    fn a_lost_answer_is_marked_unknown_never_left_pending() {
        let message = pending();
        for on_retry in [OnRetry::SendsAnother, OnRetry::SendsThisOne] {
            let FailedSend::MarkUnknown(StatusDecision::Apply {
                message: marked, ..
            }) = record_failed_send(&message, SendFailure::OutcomeUnknown, on_retry)
            else {
                panic!("a lost answer is marked unknown");
            };
            assert_eq!(marked.status, Some(DeliveryStatus::Unknown));
        }
    }
}
