//! A webhook batch: one read for the whole batch, customers concurrently,
//! each customer's messages in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::inbound::{receive_messages, InboundOutcome};
use wadesk_app::{
    CommitError, ConversationStore, InboundContext, Page, PageRequest, StatusContext, StoreError,
    WamidRecord,
};
use wadesk_domain::{
    Channel, Conversation, ConversationId, Customer, CustomerChange, CustomerKey, DeliveryStatus,
    InboundDecision, Message, PhoneNumberId, Wamid,
};
use wadesk_tests::{customer, now_seconds, services, text_message, TestServices};

/// What the probe saw.
#[derive(Debug, Default)]
struct Seen {
    /// Commits in flight now, per customer and in all.
    in_flight: HashMap<CustomerKey, usize>,
    all_in_flight: usize,
    /// The most commits of one customer in flight at once, and of all.
    max_same_customer: usize,
    max_all: usize,
    /// Each customer's committed wamids, in commit order.
    committed: BTreeMap<String, Vec<String>>,
    single_reads: usize,
    batch_reads: usize,
}

/// The embedded store, with each commit held a few milliseconds so that
/// commits running at once overlap, and counted.
#[derive(Clone, Default)]
struct Probe {
    inner: EmbeddedStore,
    seen: Arc<Mutex<Seen>>,
}

impl Probe {
    fn seen<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().unwrap())
    }
}

impl ConversationStore for Probe {
    async fn load_inbound_context(&self, key: &CustomerKey) -> Result<InboundContext, StoreError> {
        self.seen(|s| s.single_reads += 1);
        self.inner.load_inbound_context(key).await
    }

    async fn load_inbound_contexts(
        &self,
        keys: &[CustomerKey],
    ) -> Result<HashMap<CustomerKey, InboundContext>, StoreError> {
        self.seen(|s| s.batch_reads += 1);
        self.inner.load_inbound_contexts(keys).await
    }

    async fn commit_inbound(&self, decision: &InboundDecision) -> Result<(), CommitError> {
        let key = decision.customer.key.clone();
        self.seen(|s| {
            let mine = s.in_flight.entry(key.clone()).or_default();
            *mine += 1;
            s.max_same_customer = s.max_same_customer.max(*mine);
            s.all_in_flight += 1;
            s.max_all = s.max_all.max(s.all_in_flight);
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let result = self.inner.commit_inbound(decision).await;
        self.seen(|s| {
            *s.in_flight.entry(key.clone()).or_default() -= 1;
            s.all_in_flight -= 1;
            if result.is_ok() {
                s.committed
                    .entry(key.wa_id.to_string())
                    .or_default()
                    .push(decision.message.wamid.as_ref().unwrap().to_string());
            }
        });
        result
    }

    async fn find_wamid(&self, wamid: &Wamid) -> Result<Option<WamidRecord>, StoreError> {
        self.inner.find_wamid(wamid).await
    }

    async fn load_status_context(
        &self,
        record: &WamidRecord,
    ) -> Result<Option<StatusContext>, StoreError> {
        self.inner.load_status_context(record).await
    }

    async fn commit_status(
        &self,
        message: &Message,
        expected: Option<DeliveryStatus>,
        customer: Option<&CustomerChange>,
    ) -> Result<(), CommitError> {
        self.inner.commit_status(message, expected, customer).await
    }

    async fn record_outbound(
        &self,
        customer: &CustomerKey,
        message: &Message,
    ) -> Result<(), CommitError> {
        self.inner.record_outbound(customer, message).await
    }

    async fn get_customer(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        self.inner.get_customer(key).await
    }

    async fn save_customer(&self, change: &CustomerChange) -> Result<(), CommitError> {
        self.inner.save_customer(change).await
    }

    async fn get_conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.inner.get_conversation(id).await
    }

    async fn list_messages(&self, id: ConversationId) -> Result<Vec<Message>, StoreError> {
        self.inner.list_messages(id).await
    }

    async fn list_messages_page(
        &self,
        id: ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        self.inner.list_messages_page(id, page).await
    }

    async fn put_channel(&self, channel: &Channel) -> Result<(), StoreError> {
        self.inner.put_channel(channel).await
    }

    async fn get_channel(&self, id: &PhoneNumberId) -> Result<Option<Channel>, StoreError> {
        self.inner.get_channel(id).await
    }
}

/// Three customers, four messages each, interleaved as WhatsApp may batch
/// them, plus a repeated wamid: every customer's messages commit in the
/// batch's order and never two at once, while different customers do run at
/// once; the batch is read once and the repeat is a duplicate.
#[tokio::test]
async fn a_batch_runs_customers_concurrently_and_each_customers_messages_in_order() {
    let now = now_seconds();
    let probe = Probe::default();
    let app = services(probe.clone(), now);
    let wa_ids = ["34611000001", "34611000002", "34611000003"];
    let mut batch = Vec::new();
    for n in 0..4 {
        for wa_id in wa_ids {
            let wamid = format!("wamid.B{wa_id}.{n}");
            batch.push(text_message(&customer(wa_id), &wamid, now, "hola"));
        }
    }
    batch.push(text_message(
        &customer(wa_ids[1]),
        &format!("wamid.B{}.2", wa_ids[1]),
        now,
        "hola",
    ));

    let outcomes = receive_messages(&app, batch).await.unwrap();

    let outcomes: Vec<InboundOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), 13);
    assert!(outcomes[..12]
        .iter()
        .all(|o| matches!(o, InboundOutcome::Stored { .. })));
    assert!(matches!(outcomes[12], InboundOutcome::Duplicate { .. }));
    // Each customer's first message started their conversation.
    assert!(outcomes[..3].iter().all(|o| o.started().is_some()));
    probe.seen(|seen| {
        assert_eq!(
            seen.max_same_customer, 1,
            "a customer's messages overlapped"
        );
        assert!(seen.max_all > 1, "customers ran one after another");
        for wa_id in wa_ids {
            let expected: Vec<String> = (0..4).map(|n| format!("wamid.B{wa_id}.{n}")).collect();
            assert_eq!(seen.committed[wa_id], expected, "{wa_id}'s order");
        }
        // One read for the batch; a customer's later messages start from the
        // customer its earlier one stored.
        assert_eq!(seen.batch_reads, 1);
        assert_eq!(seen.single_reads, 0);
    });
    for wa_id in wa_ids {
        assert_eq!(
            messages_in_live_conversation(&app, &customer(wa_id)).await,
            4
        );
    }
}

/// The same wamid in two batches handled at once (WhatsApp's retry racing
/// the first delivery): stored once, the other a duplicate.
/// How many messages the customer's live conversation holds.
async fn messages_in_live_conversation(app: &TestServices<Probe>, key: &CustomerKey) -> usize {
    let stored = app.store.get_customer(key).await.unwrap();
    let live = stored.and_then(|c| c.live).expect("a live conversation");
    app.store
        .list_messages(live.conversation_id)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_wamid_racing_itself_is_stored_once() {
    let now = now_seconds();
    let probe = Probe::default();
    let app = services(probe.clone(), now);
    let ana = customer("34611000001");
    let batch = || vec![text_message(&ana, "wamid.RACE1", now, "hola")];
    let (first, second) = tokio::join!(
        receive_messages(&app, batch()),
        receive_messages(&app, batch())
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    let outcomes = [first[0].as_ref().unwrap(), second[0].as_ref().unwrap()];
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, InboundOutcome::Stored { .. }))
        .count();
    assert_eq!(stored, 1, "{outcomes:?}");
    assert_eq!(messages_in_live_conversation(&app, &ana).await, 1);
}
