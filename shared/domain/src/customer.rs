//! A customer as one channel sees them.

use serde::{Deserialize, Serialize};

use crate::{AgentId, ConversationId, ConversationStatus, CustomerKey, Timestamp, Window};

/// The customer's one live session, mirrored on the customer so that a single
/// conditional write on the customer guards "one live session per customer".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    pub conversation_id: ConversationId,
    pub status: ConversationStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    pub opted_out_at: Option<Timestamp>,
    pub opted_in_at: Option<Timestamp>,
    /// The `#STOP` whose confirmation was claimed, and whether it went out.
    #[serde(default)]
    pub confirmation: Option<OptOutConfirmation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutConfirmation {
    pub stop_wamid: crate::Wamid,
    pub sent: bool,
}

impl OptOut {
    pub fn is_opted_out(&self) -> bool {
        match (self.opted_out_at, self.opted_in_at) {
            (Some(out), Some(back_in)) => out > back_in,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub key: CustomerKey,
    pub profile_name: Option<String>,
    /// `None` until the customer's first message.
    pub window: Option<Window>,
    /// The expiry a window schedule is armed for and has not yet fired.
    pub armed_expiry: Option<Timestamp>,
    /// The armed expiry whose fire closed the window, so a redelivered fire can
    /// republish (not recount) its event.
    #[serde(default)]
    pub expired_for: Option<Timestamp>,
    pub live: Option<LiveSession>,
    /// The most recent conversation, live or finished.
    pub last_conversation: Option<ConversationId>,
    /// Whoever owned the customer's last conversation when it finished.
    pub assigned_agent: Option<AgentId>,
    #[serde(default)]
    pub opt_out: OptOut,
    /// The closed window (its expiry) a utility push was already sent for.
    #[serde(default)]
    pub push_sent_for: Option<Timestamp>,
    /// A reopen or push is sending to the customer until then: a `#STOP` is
    /// acknowledged only after it, so nothing is sent after the acknowledgement.
    #[serde(default)]
    pub send_lease_until: Option<Timestamp>,
    /// Optimistic-concurrency version: every write checks and bumps it.
    pub version: u64,
}

impl Customer {
    pub fn new(key: CustomerKey) -> Self {
        Self {
            key,
            profile_name: None,
            window: None,
            armed_expiry: None,
            expired_for: None,
            live: None,
            last_conversation: None,
            assigned_agent: None,
            opt_out: OptOut::default(),
            push_sent_for: None,
            send_lease_until: None,
            version: 0,
        }
    }

    pub fn window_is_open(&self, now: Timestamp) -> bool {
        self.window.is_some_and(|w| w.is_open(now))
    }

    pub fn window_expires_at(&self) -> Option<Timestamp> {
        self.window.map(|w| w.expires_at)
    }
}
