//! A customer as one channel sees them.

use serde::{Deserialize, Serialize};

use crate::{
    AgentId, Conversation, ConversationId, ConversationStatus, CustomerKey, ExpectedVersion,
    Timestamp, Window,
};

/// The customer's one live session, mirrored on the customer so that a single
/// conditional write on the customer guards "one live session per customer".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    pub conversation_id: ConversationId,
    pub status: ConversationStatus,
    /// The conversation's owner, so the inbound path (which reads only the
    /// customer) can name it, e.g. whom a `#STOP` counts for. Items written
    /// before it existed read as `None` until the next change rewrites them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<AgentId>,
}

impl LiveSession {
    /// The mirror of `conversation`; `None` once it is finished.
    pub fn of(conversation: &Conversation) -> Option<Self> {
        conversation.status.is_live().then(|| Self {
            conversation_id: conversation.id,
            status: conversation.status,
            owner: conversation.owner.clone(),
        })
    }
}

/// What a customer who sent `#STOP` is told, once
/// (`docs/product.md#6-opting-out-with-stop`).
pub const OPT_OUT_CONFIRMATION: &str =
    "You have unsubscribed and will not receive further messages. Write to us any time to chat again.";

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

    /// Records a `#STOP` handled at `now`. It is the later event: an opt-in
    /// that does not read as earlier (the same instant on a frozen or coarse
    /// clock, or a clock that went back) is dropped, so the times cannot say
    /// "opted in" after it.
    pub fn record_opt_out(&mut self, now: Timestamp) {
        self.opted_out_at = Some(now);
        if self.opted_in_at.is_some_and(|back_in| back_in >= now) {
            self.opted_in_at = None;
        }
    }

    /// Records an opt-in handled at `now`, the later event: an opt-out that
    /// reads as later (a clock that went back) is dropped. One at the same
    /// instant already reads as earlier (`is_opted_out` wants it strictly later).
    pub fn record_opt_in(&mut self, now: Timestamp) {
        self.opted_in_at = Some(now);
        if self.opted_out_at.is_some_and(|out| out > now) {
            self.opted_out_at = None;
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

    /// This customer changed by `change`, with the version bumped: to be
    /// written only if the stored one still has `expected_version`.
    fn changed(&self, change: impl FnOnce(&mut Self)) -> CustomerChange {
        let mut next = self.clone();
        change(&mut next);
        CustomerChange::new(Some(self), next)
    }

    /// What a `#STOP`'s event still asks for when it is handled
    /// (`docs/product.md#6-opting-out-with-stop`): the live session (if any)
    /// ends, then the confirmation is claimed ([`Self::claim_confirmation`]).
    /// `None` when the customer opted back in since: nothing is done.
    pub fn opt_out_follow_up(&self) -> Option<OptOutFollowUp> {
        self.opt_out.is_opted_out().then(|| OptOutFollowUp {
            end_live: self.live.as_ref().map(|l| l.conversation_id),
        })
    }

    /// Claims the confirmation of the `#STOP` `stop`: the claim means "being
    /// sent or sent", so the customer is told at most once. `None` when it is
    /// claimed already (a redelivery sends nothing).
    pub fn claim_confirmation(&self, stop: &crate::Wamid) -> Option<CustomerChange> {
        let claimed = self
            .opt_out
            .confirmation
            .as_ref()
            .is_some_and(|c| c.stop_wamid == *stop);
        (!claimed).then(|| {
            self.changed(|c| {
                c.opt_out.confirmation = Some(OptOutConfirmation {
                    stop_wamid: stop.clone(),
                    sent: false,
                });
            })
        })
    }

    /// Gives back the claim of `stop` after a send known to have failed, so the
    /// redelivery sends. `None` when it is not an unsent claim of that `#STOP`.
    pub fn release_confirmation(&self, stop: &crate::Wamid) -> Option<CustomerChange> {
        let unsent_claim = self
            .opt_out
            .confirmation
            .as_ref()
            .is_some_and(|c| c.stop_wamid == *stop && !c.sent);
        unsent_claim.then(|| self.changed(|c| c.opt_out.confirmation = None))
    }

    /// Records the confirmation of `stop` sent.
    pub fn confirmation_sent(&self, stop: &crate::Wamid) -> CustomerChange {
        self.changed(|c| {
            c.opt_out.confirmation = Some(OptOutConfirmation {
                stop_wamid: stop.clone(),
                sent: true,
            });
        })
    }

    /// Whether a reopen or push may be sending to the customer at `now`: its
    /// send lease is held. A `#STOP` is acknowledged, and an unsent reopen or
    /// push message resumed, only once it is not.
    pub fn send_lease_held(&self, now: Timestamp) -> bool {
        self.send_lease_until.is_some_and(|until| until > now)
    }

    /// Clears the send lease a reopen or push took once its message went out
    /// (or definitely failed). `None` when no lease is held.
    pub fn release_send_lease(&self) -> Option<CustomerChange> {
        self.send_lease_until
            .is_some()
            .then(|| self.changed(|c| c.send_lease_until = None))
    }
}

/// A customer to write if the stored one still has `expected_version`
/// (the one version convention: [`crate::version`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerChange {
    /// The new state, its version the next one.
    pub customer: Customer,
    pub expected_version: ExpectedVersion,
}

impl CustomerChange {
    /// `next` to be written over `stored` (`None`: a customer not stored
    /// yet), with its version set to the next one.
    pub fn new(stored: Option<&Customer>, mut next: Customer) -> Self {
        let expected_version = ExpectedVersion::of(stored.map(|c| c.version));
        next.version = expected_version.next();
        Self {
            customer: next,
            expected_version,
        }
    }
}

impl CustomerChange {
    /// The live conversation's copy of the window
    /// ([`crate::Conversation::customer_window`]) to write with this change,
    /// when the change is made apart from that conversation's own writes
    /// (WhatsApp's early close of the window): its id and the window.
    pub fn live_window(&self) -> Option<(ConversationId, Option<Window>)> {
        let live = self.customer.live.as_ref()?;
        Some((live.conversation_id, self.customer.window))
    }

    /// Whether this write stands although its answer was lost: `stored` (read
    /// after it) is exactly it, so nothing changed the customer since. A
    /// claimed `#STOP` confirmation is then this attempt's to send.
    pub fn stands_in(&self, stored: Option<&Customer>) -> bool {
        stored == Some(&self.customer)
    }
}

/// What a `#STOP`'s event asks for ([`Customer::opt_out_follow_up`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutFollowUp {
    /// The customer's live session, to end before the confirmation.
    pub end_live: Option<ConversationId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn customer() -> Customer {
        let mut customer = Customer::new(crate::CustomerKey::new(
            crate::PhoneNumberId::parse("100").unwrap(),
            crate::WaId::parse("34600111222").unwrap(),
        ));
        customer.version = 7;
        customer
    }

    #[test]
    fn a_stop_is_confirmed_at_most_once_and_a_failed_send_gives_the_claim_back() {
        let stop = crate::Wamid::parse("wamid.STOP").unwrap();
        let other = crate::Wamid::parse("wamid.OTHER").unwrap();
        let fresh = customer();
        let claim = fresh.claim_confirmation(&stop).unwrap();
        assert_eq!(claim.expected_version, ExpectedVersion::Exactly(7));
        assert_eq!(claim.customer.version, 8);
        let claimed = claim.customer;
        // A redelivery finds the claim: nothing more is sent.
        assert_eq!(claimed.claim_confirmation(&stop), None);
        // Only this #STOP's unsent claim is given back.
        assert_eq!(claimed.release_confirmation(&other), None);
        let released = claimed.release_confirmation(&stop).unwrap().customer;
        assert_eq!(released.opt_out.confirmation, None);
        let sent = claimed.confirmation_sent(&stop).customer;
        assert_eq!(sent.release_confirmation(&stop), None);
        assert_eq!(sent.claim_confirmation(&stop), None);
        // Another #STOP is confirmed again.
        assert!(sent.claim_confirmation(&other).is_some());
    }

    #[test]
    fn a_stop_ends_the_live_session_and_is_confirmed_unless_opted_back_in() {
        let t = Utc::now();
        let mut stopped = customer();
        stopped.opt_out.record_opt_out(t);
        assert_eq!(
            stopped.opt_out_follow_up(),
            Some(OptOutFollowUp { end_live: None })
        );
        let live = ConversationId::generate();
        stopped.live = Some(LiveSession {
            conversation_id: live,
            status: ConversationStatus::Active,
            owner: None,
        });
        assert_eq!(
            stopped.opt_out_follow_up(),
            Some(OptOutFollowUp {
                end_live: Some(live)
            })
        );
        // Opted back in before the event was handled: nothing to end or confirm.
        stopped.opt_out.record_opt_in(t + Duration::seconds(1));
        assert_eq!(stopped.opt_out_follow_up(), None);
        assert_eq!(customer().opt_out_follow_up(), None);
    }

    #[test]
    fn a_claim_whose_answer_was_lost_stands_only_if_nothing_changed_since() {
        let stop = crate::Wamid::parse("wamid.STOP").unwrap();
        let claim = customer().claim_confirmation(&stop).unwrap();
        assert!(claim.stands_in(Some(&claim.customer)));
        assert!(!claim.stands_in(Some(&customer())), "not written");
        assert!(!claim.stands_in(None));
        let later = claim.customer.confirmation_sent(&stop).customer;
        assert!(!claim.stands_in(Some(&later)), "another attempt moved on");
    }

    #[test]
    fn a_send_lease_is_released_once() {
        let mut leased = customer();
        leased.send_lease_until = Some(Utc::now());
        let now = Utc::now();
        assert!(!leased.send_lease_held(now), "expired by now");
        assert!(leased.send_lease_held(now - Duration::seconds(1)));
        let change = leased.release_send_lease().unwrap();
        assert!(!change.customer.send_lease_held(now - Duration::seconds(1)));
        assert_eq!(change.customer.send_lease_until, None);
        assert_eq!(change.customer.release_send_lease(), None);
    }

    #[test]
    fn the_later_of_opt_out_and_opt_in_wins_even_in_one_instant() {
        let t = Utc::now();
        let mut opt_out = OptOut::default();
        opt_out.record_opt_out(t);
        assert!(opt_out.is_opted_out());
        // Opted back in, then `#STOP` again, all at one instant.
        opt_out.record_opt_in(t);
        assert!(!opt_out.is_opted_out());
        opt_out.record_opt_out(t);
        assert!(opt_out.is_opted_out());
        opt_out.record_opt_in(t);
        assert!(!opt_out.is_opted_out());
        // A clock that went back does not undo the later event either.
        opt_out.record_opt_out(t - Duration::seconds(5));
        assert!(opt_out.is_opted_out());
        opt_out.record_opt_in(t - Duration::seconds(10));
        assert!(!opt_out.is_opted_out());
    }

    #[test]
    fn distinct_times_are_kept() {
        let t = Utc::now();
        let mut opt_out = OptOut::default();
        opt_out.record_opt_out(t);
        opt_out.record_opt_in(t + Duration::seconds(1));
        opt_out.record_opt_out(t + Duration::seconds(2));
        assert_eq!(opt_out.opted_in_at, Some(t + Duration::seconds(1)));
        assert_eq!(opt_out.opted_out_at, Some(t + Duration::seconds(2)));
        assert!(opt_out.is_opted_out());
    }
}
