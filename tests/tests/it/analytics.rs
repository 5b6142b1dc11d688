//! Analytics end to end: one event list through the embedded and the DynamoDB
//! adapters (moto) gives identical figures, delivered once or twice, at a known
//! number of DynamoDB requests; a `#STOP` counted for the live session's
//! owner on each store; and a scripted day through the local runner over
//! HTTP, on a moved clock, checked to the second.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use wadesk_app::analytics::{consume, consume_batch, AnalyticsReader, Consumed};
use wadesk_app::embedded::{EmbeddedAnalytics, EmbeddedStore};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::{AnalyticsStore, DeskStore};
use wadesk_aws::RequestCounter;
use wadesk_domain::analytics::{DayRange, Scope, Zone};
use wadesk_domain::{
    Actor, AgentId, AgentState, ConversationId, ConversationStatus, CustomerKey, DomainEvent,
    EventEnvelope, ManualClock, MessageId, Origin, PhoneNumberId, QueueId, Role, WaId, Wamid,
};
use wadesk_tests::TestApp;

const CHANNEL: &str = "100000000000001";
const OTHER_CHANNEL: &str = "100000000000002";

fn at(day: NaiveDate, time: &str) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap();
    Utc.from_utc_datetime(&day.and_time(time))
}

fn agent(id: &str) -> AgentId {
    AgentId::parse(id).unwrap()
}

fn queue(id: &str) -> QueueId {
    QueueId::parse(id).unwrap()
}

fn channel(id: &str) -> PhoneNumberId {
    PhoneNumberId::parse(id).unwrap()
}

fn customer(channel_id: &str, wa_id: &str) -> CustomerKey {
    CustomerKey::new(channel(channel_id), WaId::parse(wa_id).unwrap())
}

/// Checks every figure named in `expected`, and that all thirteen are there.
fn assert_figures(actual: &Value, expected: &Value, what: &str) {
    for name in [
        "from",
        "to",
        "agent_initiated",
        "user_replied",
        "declined",
        "finished",
        "active",
        "answered",
        "avg_response_seconds",
        "avg_handling_seconds",
        "window_expiries",
        "opt_outs",
        "rona",
    ] {
        assert!(
            actual.get(name).is_some(),
            "{what}: `{name}` missing in {actual}"
        );
    }
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&actual[name], value, "{what}: `{name}` in {actual}");
    }
}

/// The zero figures, over which each expectation writes what it counts.
fn zero(overrides: Value) -> Value {
    let mut figures = json!({
        "agent_initiated": 0, "user_replied": 0, "declined": 0, "finished": 0,
        "avg_response_seconds": null, "avg_handling_seconds": null,
        "window_expiries": 0, "opt_outs": 0, "rona": 0
    });
    for (name, value) in overrides.as_object().unwrap() {
        figures[name] = value.clone();
    }
    figures
}

// ------------------------------------------------------------ the adapters

/// One day of facts, by hour, on two channels, two queues and two agents; one
/// the evening before; and events analytics does not count.
fn scripted_events(day: NaiveDate) -> Vec<EventEnvelope> {
    let c1 = || customer(CHANNEL, "34600000001");
    let c2 = || customer(OTHER_CHANNEL, "34600000002");
    let one = ConversationId::generate();
    let two = ConversationId::generate();
    let three = ConversationId::generate();
    let replied = |conversation_id, who: &str, response_seconds, time| {
        EventEnvelope::new(
            DomainEvent::AgentReplied {
                conversation_id,
                agent: agent(who),
                queue: queue("sales"),
                channel: channel(CHANNEL),
                message_id: MessageId::generate(),
                response_seconds,
                first_reply: response_seconds.is_some(),
            },
            at(day, time),
        )
    };
    let finished = |conversation_id, who: &str, handling_seconds, when| {
        EventEnvelope::new(
            DomainEvent::ConversationFinished {
                conversation_id,
                customer: c1(),
                agent: agent(who),
                queue: queue("sales"),
                reason: "Resolved".into(),
                handling_seconds,
            },
            when,
        )
    };
    vec![
        // The evening before: a finish that belongs to the previous day, an
        // hour before the rolling 24 h seen at 20:00 begin.
        finished(
            ConversationId::generate(),
            "ana",
            Some(10),
            at(day - Duration::days(1), "20:30:00"),
        ),
        EventEnvelope::new(
            DomainEvent::ConversationAccepted {
                conversation_id: one,
                agent: agent("ana"),
                queue: queue("sales"),
            },
            at(day, "09:00:00"),
        ),
        replied(one, "ana", Some(30), "09:00:30"),
        replied(one, "ana", None, "09:02:00"),
        finished(one, "ana", Some(100), at(day, "09:10:00")),
        // Ana reopens it; the customer replies; she answers and finishes again.
        EventEnvelope::new(
            DomainEvent::ChatReopened {
                conversation_id: one,
                customer: c1(),
                agent: agent("ana"),
                queue: queue("sales"),
                initiated_by: Origin::AgentReopen,
            },
            at(day, "10:00:00"),
        ),
        EventEnvelope::new(
            DomainEvent::ReopenedConversationReplied {
                conversation_id: one,
                customer: c1(),
                agent: agent("ana"),
                queue: queue("sales"),
            },
            at(day, "10:05:00"),
        ),
        replied(one, "ana", Some(20), "10:05:20"),
        finished(one, "ana", Some(60), at(day, "10:06:00")),
        // Ana pushes a template to a billing customer, who answers #STOP.
        EventEnvelope::new(
            DomainEvent::ChatReopened {
                conversation_id: two,
                customer: c1(),
                agent: agent("ana"),
                queue: queue("billing"),
                initiated_by: Origin::Push,
            },
            at(day, "11:00:00"),
        ),
        EventEnvelope::new(
            DomainEvent::ReopenDeclined {
                conversation_id: two,
                customer: c1(),
                agent: agent("ana"),
                queue: queue("billing"),
            },
            at(day, "11:20:00"),
        ),
        EventEnvelope::new(
            DomainEvent::CustomerOptedOut {
                customer: c1(),
                wamid: Wamid::parse("wamid.STOP1").unwrap(),
                conversation_id: Some(two),
                session_status: Some(ConversationStatus::Reopened),
                owner: Some(agent("ana")),
            },
            at(day, "11:20:00"),
        ),
        // Bob lets an offer time out, then answers and finishes one.
        EventEnvelope::new(
            DomainEvent::OfferTimedOut {
                conversation_id: three,
                agent: agent("bob"),
                queue: queue("sales"),
                channel: channel(CHANNEL),
            },
            at(day, "12:00:30"),
        ),
        replied(three, "bob", Some(40), "12:05:00"),
        finished(three, "bob", None, at(day, "12:30:00")),
        // The other channel: an expired window and an opt-out without a session.
        EventEnvelope::new(
            DomainEvent::WindowExpired {
                customer: c2(),
                expired_at: at(day, "13:00:00"),
                last_conversation: None,
            },
            at(day, "13:00:00"),
        ),
        EventEnvelope::new(
            DomainEvent::CustomerOptedOut {
                customer: c2(),
                wamid: Wamid::parse("wamid.STOP2").unwrap(),
                conversation_id: None,
                session_status: None,
                owner: None,
            },
            at(day, "14:00:00"),
        ),
        EventEnvelope::new(
            DomainEvent::ConversationOffered {
                conversation_id: three,
                agent: agent("bob"),
                queue: queue("sales"),
            },
            at(day, "12:00:00"),
        ),
    ]
}

/// What `scripted_events` gives on its day, per scope.
fn expected_day(scope: &Scope) -> Value {
    let key = scope.key();
    match key.as_str() {
        "ALL" => zero(json!({
            "agent_initiated": 2, "user_replied": 1, "declined": 1, "finished": 3,
            "avg_response_seconds": 30.0, "avg_handling_seconds": 80.0,
            "window_expiries": 1, "opt_outs": 2, "rona": 1
        })),
        "AGENT#ana" => zero(json!({
            "agent_initiated": 2, "user_replied": 1, "declined": 1, "finished": 2,
            "avg_response_seconds": 25.0, "avg_handling_seconds": 80.0, "opt_outs": 1
        })),
        "AGENT#bob" => zero(json!({"finished": 1, "avg_response_seconds": 40.0, "rona": 1})),
        "QUEUE#sales" => zero(json!({
            "agent_initiated": 1, "user_replied": 1, "finished": 3,
            "avg_response_seconds": 30.0, "avg_handling_seconds": 80.0, "rona": 1
        })),
        "QUEUE#billing" | "AGENT_QUEUE#ana#billing" => {
            zero(json!({"agent_initiated": 1, "declined": 1}))
        }
        "AGENT_QUEUE#ana#sales" => zero(json!({
            "agent_initiated": 1, "user_replied": 1, "finished": 2,
            "avg_response_seconds": 25.0, "avg_handling_seconds": 80.0
        })),
        "CHANNEL#100000000000001" => zero(json!({
            "agent_initiated": 2, "user_replied": 1, "declined": 1, "finished": 3,
            "avg_response_seconds": 30.0, "avg_handling_seconds": 80.0, "opt_outs": 1, "rona": 1
        })),
        "CHANNEL#100000000000002" => zero(json!({"window_expiries": 1, "opt_outs": 1})),
        other => panic!("no expectation for {other}"),
    }
}

fn scopes() -> Vec<Scope> {
    vec![
        Scope::All,
        Scope::Agent(agent("ana")),
        Scope::Agent(agent("bob")),
        Scope::Queue(queue("sales")),
        Scope::Queue(queue("billing")),
        Scope::AgentInQueue(agent("ana"), queue("sales")),
        Scope::AgentInQueue(agent("ana"), queue("billing")),
        Scope::Channel(channel(CHANNEL)),
        Scope::Channel(channel(OTHER_CHANNEL)),
    ]
}

/// Every scope's dashboard (the day before, the day, the day after) and
/// rolling statistic, as JSON.
async fn read_all<A: AnalyticsStore, D: DeskStore>(
    counters: &A,
    conversations: &D,
    clock: &ManualClock,
    day: NaiveDate,
) -> Vec<(String, Value, Value)> {
    let reader = AnalyticsReader {
        counters,
        conversations,
        clock,
        bootstrap_admins: &[],
    };
    let range = DayRange::utc(day - Duration::days(1), day + Duration::days(1));
    let mut all = Vec::new();
    for scope in scopes() {
        let days = reader.dashboard(&scope, &range).await.unwrap();
        let rolling = reader.chat_statistics(&scope).await.unwrap();
        all.push((
            scope.key(),
            serde_json::to_value(days).unwrap(),
            serde_json::to_value(rolling).unwrap(),
        ));
    }
    all
}

#[tokio::test]
async fn one_event_list_gives_identical_exact_figures_on_every_store_once_or_twice() {
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let events = scripted_events(day);
    let clock = ManualClock::frozen_at(at(day, "20:00:00"));
    let conversations = EmbeddedStore::new();

    let once = EmbeddedAnalytics::new();
    for event in &events {
        consume(&once, event).await.unwrap();
    }
    let twice = EmbeddedAnalytics::new();
    for event in events.iter().chain(&events) {
        consume(&twice, event).await.unwrap();
    }

    let counter = RequestCounter::new();
    let dynamo = wadesk_tests::dynamo_store(Some(&counter)).await;
    // First delivery: per counted event, its claim (one PutItem) and one
    // TransactWriteItems (its buckets and its tally's outcome); none for the rest.
    for event in &events {
        counter.reset();
        let consumed = consume(&dynamo, event).await.unwrap();
        let counted = wadesk_domain::analytics::increment_for(event).is_some();
        assert_eq!(
            consumed,
            if counted {
                Consumed::Counted
            } else {
                Consumed::NotCounted
            }
        );
        let expected: Vec<String> = if counted {
            vec![
                "dynamodb:PutItem".into(),
                "dynamodb:TransactWriteItems".into(),
            ]
        } else {
            Vec::new()
        };
        assert_eq!(counter.requests(), expected, "{}", event.type_name());
    }
    let dynamo_once = read_all(&dynamo, &dynamo, &clock, day).await;
    // Redelivery: the claim fails on the marker, which names a tally whose
    // outcome (one GetItem) says committed; no transaction.
    for event in &events {
        counter.reset();
        let consumed = consume(&dynamo, event).await.unwrap();
        if wadesk_domain::analytics::increment_for(event).is_some() {
            assert_eq!(consumed, Consumed::Duplicate);
            assert_eq!(counter.requests(), ["dynamodb:PutItem", "dynamodb:GetItem"]);
        }
    }

    let embedded_once = read_all(&once, &conversations, &clock, day).await;
    let embedded_twice = read_all(&twice, &conversations, &clock, day).await;
    let dynamo_twice = read_all(&dynamo, &dynamo, &clock, day).await;
    assert_eq!(embedded_once, embedded_twice, "redelivery changed figures");
    assert_eq!(embedded_once, dynamo_once, "DynamoDB differs from embedded");
    assert_eq!(
        dynamo_once, dynamo_twice,
        "redelivery changed DynamoDB figures"
    );

    for (key, days, rolling) in &embedded_once {
        let scope = scopes().into_iter().find(|s| s.key() == *key).unwrap();
        let days = days.as_array().unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[1]["date"], "2024-05-01");
        let mut expected = expected_day(&scope);
        expected["from"] = json!("2024-05-01T00:00:00Z");
        expected["to"] = json!("2024-05-02T00:00:00Z");
        expected["active"] = json!(0);
        expected["answered"] = json!(0);
        assert_figures(&days[1], &expected, &format!("{key} on the day"));
        // The day after is empty; the day before has only ana's late finish.
        assert_figures(
            &days[2],
            &zero(json!({"active": null, "answered": null})),
            &format!("{key} the day after"),
        );
        let before = match key.as_str() {
            "ALL"
            | "AGENT#ana"
            | "QUEUE#sales"
            | "AGENT_QUEUE#ana#sales"
            | "CHANNEL#100000000000001" => {
                zero(json!({"finished": 1, "avg_handling_seconds": 10.0}))
            }
            _ => zero(json!({})),
        };
        assert_figures(&days[0], &before, &format!("{key} the day before"));
        // 20:00: the 24 hourly buckets from 21:00 the evening before.
        expected["from"] = json!("2024-04-30T21:00:00Z");
        expected["to"] = json!("2024-05-01T20:00:00Z");
        assert_figures(rolling, &expected, &format!("{key} rolling"));
    }

    // A read: one Query of the scope's hours, plus the four status listings
    // for the gauges when the range includes today.
    let reader = AnalyticsReader {
        counters: &dynamo,
        conversations: &dynamo,
        clock: &clock,
        bootstrap_admins: &[],
    };
    let past = DayRange::utc(day - Duration::days(30), day - Duration::days(1));
    counter.reset();
    reader.dashboard(&Scope::All, &past).await.unwrap();
    assert_eq!(counter.requests(), ["dynamodb:Query"]);
    let with_today = DayRange::utc(day - Duration::days(91), day);
    counter.reset();
    reader.dashboard(&Scope::All, &with_today).await.unwrap();
    assert_eq!(counter.count("dynamodb"), 5, "{:?}", counter.requests());
    counter.reset();
    reader
        .chat_statistics(&Scope::Agent(agent("ana")))
        .await
        .unwrap();
    assert_eq!(counter.count("dynamodb"), 5, "{:?}", counter.requests());
    assert!(counter.requests().iter().all(|r| r == "dynamodb:Query"));
}

/// A store that refuses the `nth` tally it is asked to commit (0-based)
/// once, after its claims, and commits at most `max_buckets` counter items
/// at a time (so a batch takes several tallies): a batch that fails part-way.
struct FailingTally<A> {
    inner: A,
    max_buckets: usize,
    nth: usize,
    calls: std::sync::atomic::AtomicUsize,
}

impl<A> FailingTally<A> {
    fn new(inner: A, max_buckets: usize, nth: usize) -> Self {
        Self {
            inner,
            max_buckets,
            nth,
            calls: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl<A: AnalyticsStore> AnalyticsStore for FailingTally<A> {
    fn max_buckets(&self) -> usize {
        self.max_buckets
    }

    async fn claim(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Claimed, wadesk_app::StoreError> {
        self.inner.claim(tally).await
    }

    async fn commit(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::CommitError> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if call == self.nth {
            let refused = std::io::Error::other("refused by the test");
            return Err(wadesk_app::StoreError::new("commit_analytics", refused).into());
        }
        self.inner.commit(tally).await
    }

    async fn abandon(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::StoreError> {
        self.inner.abandon(tally).await
    }

    async fn hourly(
        &self,
        scope: &Scope,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, wadesk_domain::analytics::Counters)>, wadesk_app::StoreError>
    {
        self.inner.hourly(scope, first, last).await
    }
}

/// A DynamoDB store whose claims are made `by` later than now: a delivery
/// that comes once the claims of a run that died have aged.
struct Later {
    store: wadesk_aws::DynamoStore,
    by: Duration,
}

impl Later {
    /// Past the time a claim is held for a run that may still commit.
    fn past_held_claims(store: &wadesk_aws::DynamoStore) -> Self {
        let held = wadesk_domain::analytics::CLAIM_HELD_SECONDS;
        Self {
            store: store.clone(),
            by: Duration::seconds(held + 1),
        }
    }
}

impl AnalyticsStore for Later {
    fn max_buckets(&self) -> usize {
        self.store.max_buckets()
    }

    async fn claim(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Claimed, wadesk_app::StoreError> {
        self.store.claim_at(tally, Utc::now() + self.by).await
    }

    async fn commit(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::CommitError> {
        self.store.commit(tally).await
    }

    async fn abandon(
        &self,
        tally: &wadesk_domain::analytics::Tally,
    ) -> Result<wadesk_app::Committed, wadesk_app::StoreError> {
        self.store.abandon(tally).await
    }

    async fn hourly(
        &self,
        scope: &Scope,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, wadesk_domain::analytics::Counters)>, wadesk_app::StoreError>
    {
        self.store.hourly(scope, first, last).await
    }
}

fn sorted(mut ids: Vec<uuid::Uuid>) -> Vec<uuid::Uuid> {
    ids.sort();
    ids
}

/// The scripted day delivered as batches: each event is claimed with a
/// single write and each counter item written once per batch (one
/// `TransactWriteItems` carries each item's sum and the tally's outcome),
/// and a batch delivered again — whole, cut differently, or after it failed
/// part-way — counts each event once, on both stores.
#[tokio::test]
async fn a_batch_writes_each_counter_item_once_and_counts_once_however_it_is_redelivered() {
    let day = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
    let events = scripted_events(day);
    let clock = ManualClock::frozen_at(at(day, "20:00:00"));
    let conversations = EmbeddedStore::new();
    let counted = events
        .iter()
        .filter(|e| wadesk_domain::analytics::increment_for(e).is_some())
        .count();
    // The figures of the events counted one by one: what every batch must give.
    let one_by_one = EmbeddedAnalytics::new();
    for event in &events {
        consume(&one_by_one, event).await.unwrap();
    }
    let expected = read_all(&one_by_one, &conversations, &clock, day).await;

    // One batch on DynamoDB: a single PutItem (1 write unit, not a
    // transaction's 2) claims each counted event, then one transaction
    // moves each (scope, hour) bucket once and records the tally's outcome.
    let counter = RequestCounter::new();
    let dynamo = wadesk_tests::dynamo_store(Some(&counter)).await;
    let batch = consume_batch(&dynamo, &events).await;
    assert!(batch.error.is_none(), "{:?}", batch.error);
    assert_eq!(batch.counted, counted);
    assert_eq!(batch.not_counted, events.len() - counted);
    let tallies = wadesk_domain::analytics::Tally::split(
        events
            .iter()
            .filter_map(|e| wadesk_domain::analytics::increment_for(e).map(|i| (e.id, i))),
        dynamo.max_buckets(),
    );
    assert_eq!(tallies.len(), 1, "the scripted day fits one transaction");
    let mut claims = vec!["dynamodb:PutItem".to_owned(); counted];
    claims.push("dynamodb:TransactWriteItems".into());
    assert_eq!(
        counter.requests(),
        claims,
        "one claim per event, one commit"
    );
    assert_eq!(read_all(&dynamo, &dynamo, &clock, day).await, expected);

    // Delivered again whole: the claims fail on markers naming one committed
    // tally (read once); no transaction, nothing moves.
    counter.reset();
    let again = consume_batch(&dynamo, &events).await;
    assert_eq!((again.counted, again.duplicates), (0, counted));
    assert!(again.held_elsewhere.is_empty() && again.error.is_none());
    let mut refused = vec!["dynamodb:PutItem".to_owned(); counted];
    refused.push("dynamodb:GetItem".into());
    assert_eq!(counter.requests(), refused);
    // Delivered again cut differently, overlapping, with a duplicate inside.
    let (head, tail) = events.split_at(events.len() / 2);
    let mut shifted: Vec<EventEnvelope> = tail.to_vec();
    shifted.extend_from_slice(&head[..head.len() / 2]);
    shifted.push(events[events.len() - 1].clone());
    let recut = consume_batch(&dynamo, &shifted).await;
    assert_eq!(recut.counted, 0);
    assert!(recut.held_elsewhere.is_empty());
    assert_eq!(read_all(&dynamo, &dynamo, &clock, day).await, expected);

    // Part-way failures, on both stores: tallies of at most 12 buckets, the
    // second one's commit refused. Its events (and only they) are left
    // uncounted, and the tally abandons itself; the batch delivered again
    // (only the failed events, or all of them, cut differently) takes them
    // over at once and counts each once.
    for redeliver_all in [false, true] {
        let store_dynamo = FailingTally::new(wadesk_tests::dynamo_store(None).await, 12, 1);
        let store_embedded = FailingTally::new(EmbeddedAnalytics::new(), 12, 1);
        let first = consume_batch(&store_dynamo, &events).await;
        let first_embedded = consume_batch(&store_embedded, &events).await;
        assert!(first.error.is_some(), "the second tally was refused");
        assert!(!first.uncounted.is_empty());
        assert!(first.counted > 0, "the other tallies were written");
        assert_eq!(first.counted + first.uncounted.len(), counted);
        assert_eq!(first.uncounted, first_embedded.uncounted);
        assert_ne!(
            read_all(&store_dynamo, &store_dynamo.inner, &clock, day).await,
            expected,
            "part of the batch is missing"
        );
        let retry: Vec<EventEnvelope> = if redeliver_all {
            let mut all = events.clone();
            all.reverse();
            all
        } else {
            events
                .iter()
                .filter(|e| first.uncounted.contains(&e.id))
                .cloned()
                .collect()
        };
        let retried = consume_batch(&store_dynamo, &retry).await;
        assert!(retried.error.is_none(), "{:?}", retried.error);
        assert_eq!(retried.counted, first.uncounted.len());
        assert!(retried.held_elsewhere.is_empty());
        let retried = consume_batch(&store_embedded, &retry).await;
        assert_eq!(retried.counted, first.uncounted.len());
        assert_eq!(
            read_all(&store_dynamo, &store_dynamo.inner, &clock, day).await,
            expected,
            "DynamoDB, redelivered {}",
            if redeliver_all { "whole" } else { "in part" }
        );
        assert_eq!(
            read_all(&store_embedded, &conversations, &clock, day).await,
            expected,
            "embedded"
        );
        let once_more = consume_batch(&store_dynamo, &events).await;
        assert_eq!((once_more.counted, once_more.duplicates), (0, counted));
    }
}

/// The day's finishes counted on `store`'s `ALL` counters in the hour of `at`.
async fn finished_in_hour<A: AnalyticsStore>(store: &A, at: DateTime<Utc>) -> u64 {
    let hour = wadesk_domain::analytics::hour_of(at);
    store
        .hourly(&Scope::All, hour, hour)
        .await
        .unwrap()
        .iter()
        .map(|(_, c)| c.finished)
        .sum()
}

/// A run that claims its events and dies before its commit: a delivery
/// while the claims are young leaves the events uncounted (the run may
/// still commit), one after counts them once, abandoning the dead tally; and
/// if that tally was alive after all, its commit fails and moves nothing,
/// and claiming again under a fresh id finds its events counted.
#[tokio::test]
async fn a_tally_that_died_after_its_claims_is_waited_for_then_abandoned_and_counted_once() {
    use wadesk_app::Committed;
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let when = at(day, "09:10:00");
    let events: Vec<EventEnvelope> = (0..3).map(|_| finished_by_ana_at(when)).collect();
    let dynamo = wadesk_tests::dynamo_store(None).await;
    let [dead] =
        <[wadesk_domain::analytics::Tally; 1]>::try_from(wadesk_domain::analytics::Tally::split(
            events
                .iter()
                .filter_map(|e| wadesk_domain::analytics::increment_for(e).map(|i| (e.id, i))),
            dynamo.max_buckets(),
        ))
        .unwrap();
    let claimed = dynamo.claim_at(&dead, Utc::now()).await.unwrap();
    assert_eq!(claimed, wadesk_app::Claimed::default(), "all held by it");

    // Redelivered while the run may still commit: nothing counted, nothing
    // acknowledged (a replayed single event fails, to be retried).
    let early = consume_batch(&dynamo, &events).await;
    assert_eq!((early.counted, early.duplicates), (0, 0));
    assert_eq!(
        sorted(early.held_elsewhere),
        sorted(events.iter().map(|e| e.id).collect())
    );
    assert!(consume(&dynamo, &events[0]).await.is_err());
    assert_eq!(finished_in_hour(&dynamo, when).await, 0);

    // Redelivered once the claims are old: abandoned, taken over, counted once.
    let later = Later::past_held_claims(&dynamo);
    let late = consume_batch(&later, &events).await;
    assert!(late.error.is_none(), "{:?}", late.error);
    assert_eq!(late.counted, 3);
    assert_eq!(finished_in_hour(&dynamo, when).await, 3);
    let again = consume_batch(&later, &events).await;
    assert_eq!((again.counted, again.duplicates), (0, 3));

    // The abandoned tally was alive after all: its commit cannot land.
    assert_eq!(dynamo.commit(&dead).await.unwrap(), Committed::Abandoned);
    assert_eq!(finished_in_hour(&dynamo, when).await, 3);
    let renewed = dead.renewed();
    let reclaimed = dynamo.claim_at(&renewed, Utc::now()).await.unwrap();
    assert_eq!(
        sorted(reclaimed.counted_before),
        sorted(events.iter().map(|e| e.id).collect())
    );
}

/// Two deliveries of the same events at the same time (one cut
/// differently): each event's marker names one of the two tallies, so each
/// counts once, whichever commits first.
#[tokio::test]
async fn the_same_events_delivered_twice_at_once_count_once() {
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let when = at(day, "10:10:00");
    let events: Vec<EventEnvelope> = (0..40).map(|_| finished_by_ana_at(when)).collect();
    let mut recut: Vec<EventEnvelope> = events[10..].to_vec();
    recut.reverse();
    let dynamo = wadesk_tests::dynamo_store(None).await;
    let (first, second) = tokio::join!(
        consume_batch(&dynamo, &events),
        consume_batch(&dynamo, &recut)
    );
    assert!(first.error.is_none() && second.error.is_none());
    assert_eq!(first.counted + second.counted, events.len());
    assert_eq!(finished_in_hour(&dynamo, when).await, 40);
    // Whatever either left for later is counted by then already.
    let later = consume_batch(&Later::past_held_claims(&dynamo), &events).await;
    assert_eq!((later.counted, later.duplicates), (0, 40));
    assert_eq!(finished_in_hour(&dynamo, when).await, 40);
}

/// Ana finishes a sales conversation at `when`, after a minute's handling.
fn finished_by_ana_at(when: DateTime<Utc>) -> EventEnvelope {
    EventEnvelope::new(
        DomainEvent::ConversationFinished {
            conversation_id: ConversationId::generate(),
            customer: customer(CHANNEL, "34600000001"),
            agent: agent("ana"),
            queue: queue("sales"),
            reason: "Resolved".into(),
            handling_seconds: Some(60),
        },
        when,
    )
}

/// Finishes near Madrid's midnights (UTC+2 in May): the last minutes of
/// 30 April in UTC are 1 May in Madrid, the last of 1 May are 2 May.
fn finishes_around_midnight(day: NaiveDate) -> Vec<EventEnvelope> {
    let eve = day - Duration::days(1);
    vec![
        finished_by_ana_at(at(eve, "21:30:00")), // 23:30 on the eve in Madrid
        finished_by_ana_at(at(eve, "22:30:00")), // 00:30 on the day in Madrid
        finished_by_ana_at(at(eve, "23:30:00")), // 01:30 on the day in Madrid
        finished_by_ana_at(at(day, "12:00:00")),
        finished_by_ana_at(at(day, "22:10:00")), // 00:10 the day after in Madrid
    ]
}

#[tokio::test]
async fn a_madrid_day_is_madrids_midnight_to_midnight_on_every_store() {
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let clock = ManualClock::frozen_at(at(day, "21:30:00"));
    let embedded = EmbeddedAnalytics::new();
    let conversations = EmbeddedStore::new();
    let dynamo = wadesk_tests::dynamo_store(None).await;
    for event in finishes_around_midnight(day) {
        consume(&embedded, &event).await.unwrap();
        consume(&dynamo, &event).await.unwrap();
    }
    let finished = |days: &[wadesk_domain::analytics::DayFigures]| -> Vec<u64> {
        days.iter().map(|d| d.figures.finished).collect()
    };
    let utc = DayRange::utc(day - Duration::days(1), day + Duration::days(1));
    let madrid = DayRange {
        zone: Zone::parse("Europe/Madrid").unwrap(),
        ..utc.clone()
    };
    let mut answers = Vec::new();
    let readers = (
        AnalyticsReader {
            counters: &embedded,
            conversations: &conversations,
            clock: &clock,
            bootstrap_admins: &[],
        },
        AnalyticsReader {
            counters: &dynamo,
            conversations: &dynamo,
            clock: &clock,
            bootstrap_admins: &[],
        },
    );
    for range in [&utc, &madrid] {
        let on_embedded = readers.0.dashboard(&Scope::All, range).await.unwrap();
        let on_dynamo = readers.1.dashboard(&Scope::All, range).await.unwrap();
        assert_eq!(on_embedded, on_dynamo, "{}", range.zone);
        answers.push(on_embedded);
    }
    let (utc_days, madrid_days) = (&answers[0], &answers[1]);
    assert_eq!(finished(utc_days), [3, 2, 0]);
    assert_eq!(finished(madrid_days), [1, 3, 1]);
    assert_eq!(
        madrid_days[1].figures.from,
        at(day - Duration::days(1), "22:00:00")
    );
    assert_eq!(madrid_days[1].figures.to, at(day, "22:00:00"));
    // 21:30 UTC is 23:30 in Madrid: the live gauges go to Madrid's 1 May.
    let gauges: Vec<_> = madrid_days.iter().map(|d| d.figures.active).collect();
    assert_eq!(gauges, [None, Some(0), None]);
}

#[tokio::test]
async fn concurrent_deliveries_of_the_same_events_count_each_once() {
    let day = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    let events = scripted_events(day);
    let dynamo = wadesk_tests::dynamo_store(None).await;
    let embedded = EmbeddedAnalytics::new();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        for event in events.clone() {
            let dynamo = dynamo.clone();
            let embedded = embedded.clone();
            tasks.push(tokio::spawn(async move {
                // Held by a concurrent delivery still committing: delivered
                // again a little later, as the platform does.
                while let Err(error) = consume(&dynamo, &event).await {
                    assert!(
                        matches!(error, wadesk_app::AppError::InProgress { .. }),
                        "{error}"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                consume(&embedded, &event).await.unwrap();
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let clock = ManualClock::frozen_at(at(day, "20:00:00"));
    let from_dynamo = read_all(&dynamo, &dynamo, &clock, day).await;
    let from_embedded = read_all(&embedded, &EmbeddedStore::new(), &clock, day).await;
    assert_eq!(from_dynamo, from_embedded);
    let all = &from_dynamo[0];
    assert_eq!(all.0, "ALL");
    assert_figures(&all.1[1], &expected_day(&Scope::All), "ALL, concurrent");
}

/// A `#STOP` counts for whoever owned the live session when it came, which
/// the inbound path reads from the customer's mirror (no extra read): here
/// bob, who overtook the conversation from ana; a queued one (only offered)
/// counts for no agent. Run on each store, whose customer item carries the
/// mirror's owner.
async fn a_stop_counts_for_the_owner_of_the_live_session<S, A>(
    store: S,
    counters: &A,
    counter: Option<&RequestCounter>,
) where
    S: DeskStore + wadesk_tests::Outbox,
    A: AnalyticsStore,
{
    let now = wadesk_tests::now_seconds();
    let app = wadesk_tests::services(store, now);
    let (ana, bob) = (agent("ana"), agent("bob"));
    for id in [&ana, &bob] {
        wadesk_tests::hire_agent(&app, id, &id.to_string(), 2).await;
    }
    wadesk_app::desk::set_state(&app, &ana, AgentState::Available)
        .await
        .unwrap();
    let writes = |wa_id: &str, wamid: &str, text: &str| {
        let app = &app;
        let message = wadesk_tests::text_message(&wadesk_tests::customer(wa_id), wamid, now, text);
        async move {
            match receive_message(app, message).await.unwrap() {
                InboundOutcome::Stored {
                    conversation_id, ..
                } => conversation_id,
                other => panic!("{other:?}"),
            }
        }
    };
    let as_agent = |id: &AgentId| Actor {
        id: id.clone(),
        role: Role::Agent,
    };

    // X: offered to ana, accepted, overtaken by bob; then #STOP.
    let x = writes("34611000001", "wamid.OWN1", "hi").await;
    wadesk_app::desk::route(&app, x).await.unwrap();
    wadesk_app::desk::accept(&app, &as_agent(&ana), x)
        .await
        .unwrap();
    wadesk_app::desk::take(&app, &as_agent(&bob), x, true)
        .await
        .unwrap();
    let mirror = app
        .store
        .get_customer(&wadesk_tests::customer("34611000001"))
        .await
        .unwrap()
        .and_then(|c| c.live);
    assert_eq!(mirror.and_then(|l| l.owner), Some(bob.clone()));
    if let Some(counter) = counter {
        counter.reset();
    }
    let x_stop = writes("34611000001", "wamid.OWN2", "#STOP").await;
    if let Some(counter) = counter {
        // Decided on the one BatchGetItem (customer and channel); the GetItem
        // after the commit is the wait for a send lease every #STOP does.
        assert_eq!(
            counter.requests(),
            [
                "dynamodb:BatchGetItem",
                "dynamodb:TransactWriteItems",
                "dynamodb:GetItem"
            ],
            "a #STOP is decided without reading the conversation"
        );
    }
    // Y: queued and offered to ana, not accepted; then #STOP.
    let y = writes("34611000002", "wamid.OWN3", "hi").await;
    wadesk_app::desk::route(&app, y).await.unwrap();
    let y_stop = writes("34611000002", "wamid.OWN4", "#STOP").await;

    // The #STOPs' events, committed with them (the relay publishes them).
    let mut published: Vec<wadesk_domain::EventEnvelope> = Vec::new();
    for id in [x_stop, y_stop] {
        for event in app.store.committed(id).await {
            if event.type_name() == "CustomerOptedOut" && !published.contains(&event) {
                published.push(event);
            }
        }
    }
    let owners: Vec<_> = published
        .iter()
        .filter_map(|e| match &e.event {
            DomainEvent::CustomerOptedOut { owner, .. } => Some(owner.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(owners, [Some(bob.clone()), None]);
    for event in &published {
        consume(counters, event).await.unwrap();
    }
    let reader = AnalyticsReader {
        counters,
        conversations: &app.store,
        clock: &app.clock,
        bootstrap_admins: &[],
    };
    for (scope, opt_outs) in [
        (Scope::Agent(bob), 1),
        (Scope::Agent(ana), 0),
        (Scope::Channel(channel(wadesk_tests::PHONE_NUMBER_ID)), 2),
        (Scope::All, 2),
    ] {
        let figures = serde_json::to_value(reader.chat_statistics(&scope).await.unwrap()).unwrap();
        assert_eq!(figures["opt_outs"], opt_outs, "{}: {figures}", scope.key());
    }
}

#[tokio::test]
async fn a_stop_counts_for_the_owner_of_the_live_session_embedded() {
    a_stop_counts_for_the_owner_of_the_live_session(
        EmbeddedStore::new(),
        &EmbeddedAnalytics::new(),
        None,
    )
    .await;
}

#[tokio::test]
async fn a_stop_counts_for_the_owner_of_the_live_session_dynamodb() {
    let counter = RequestCounter::new();
    let dynamo = wadesk_tests::dynamo_store(Some(&counter)).await;
    a_stop_counts_for_the_owner_of_the_live_session(dynamo.clone(), &dynamo, Some(&counter)).await;
}

// ------------------------------------------------------------ over HTTP

/// The local runner with a sales queue, agents ana and bob (sales, not ready),
/// supervisor sue, and the demo channel routing to sales.
struct Stack {
    app: TestApp,
    admin: String,
}

/// The stack's requests are its test app's.
impl std::ops::Deref for Stack {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Stack {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.token("root", "admin");
        let stack = Self { app, admin };
        let admin = stack.admin.clone();
        stack
            .expect(
                Method::PUT,
                "/admin/queues/sales",
                &admin,
                json!({"name": "Sales"}),
                200,
            )
            .await;
        stack
            .expect(
                Method::PUT,
                "/admin/wrap-up-reasons",
                &admin,
                json!({"reasons": ["Resolved"]}),
                200,
            )
            .await;
        stack
            .expect(
                Method::PUT,
                &format!("/admin/channels/{CHANNEL}"),
                &admin,
                json!({"display_phone_number": "+1 555 0100", "chat_enabled": true,
                       "default_queue": "sales", "bot": false, "mask_sensitive_data": false,
                       "reopen_message": "Hi again!",
                       "push_template": {"name": "follow_up", "language": "en"}}),
                200,
            )
            .await;
        for name in ["ana", "bob"] {
            stack
                .expect(
                    Method::PUT,
                    &format!("/admin/agents/{name}"),
                    &admin,
                    json!({"name": name, "role": "agent", "queues": ["sales"], "max_concurrent": 2}),
                    200,
                )
                .await;
        }
        stack
            .expect(
                Method::PUT,
                "/admin/agents/sue",
                &admin,
                json!({"name": "Sue", "role": "supervisor", "queues": [], "max_concurrent": 0}),
                200,
            )
            .await;
        stack
    }

    fn token(&self, agent: &str) -> String {
        self.app.token(agent, "agent")
    }

    fn supervisor(&self) -> String {
        self.app.token("sue", "supervisor")
    }

    async fn act(&self, agent: &str, id: &str, action: &str, body: Value) -> Value {
        let (status, answer) = self
            .app
            .call(
                Method::POST,
                &format!("/conversations/{id}/{action}"),
                Some(&self.token(agent)),
                Some(body),
            )
            .await;
        assert!(
            (200..300).contains(&status),
            "{agent} {action} {id}: {status} {answer}"
        );
        answer
    }

    /// The owner ends `id` and wraps it up as resolved.
    async fn finish(&self, agent: &str, id: &str) {
        self.act(agent, id, "end", json!({})).await;
        self.act(agent, id, "wrap-up", json!({"reason": "Resolved"}))
            .await;
    }

    /// A customer writes just after a wall-clock second and the conversation
    /// is offered to `agent` alone; its id.
    async fn offered_on_arrival(&self, agent: &str, from: &str, text: &str) -> String {
        align_to_second().await;
        let id = self.customer_writes(from, text).await;
        assert_eq!(self.offered(agent).await, vec![id.clone()]);
        id
    }

    async fn state(&self, agent: &str, state: &str) {
        self.expect(
            Method::PUT,
            "/me/state",
            &self.token(agent),
            json!({ "state": state }),
            200,
        )
        .await;
    }

    async fn now(&self) -> DateTime<Utc> {
        let (_, clock) = self.app.get_json("/_local/clock").await;
        clock["now"].as_str().unwrap().parse().unwrap()
    }

    /// Moves the clock to `target` plus the sub-second part the wall clock has.
    async fn advance_to(&self, target: DateTime<Utc>) {
        let now = self.now().await;
        assert!(now < target, "{now} is already past {target}");
        self.advance_clock((target - now).num_seconds() + 1).await;
    }

    async fn customer_writes(&self, from: &str, text: &str) -> String {
        let (status, answer) = self
            .app
            .post_json(
                "/_local/inbound",
                json!({"from": from, "name": "Customer", "text": text}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["conversation_id"].as_str().unwrap().to_owned()
    }

    async fn offered(&self, agent: &str) -> Vec<String> {
        let (status, list) = self
            .app
            .call(
                Method::GET,
                "/conversations?view=offered",
                Some(&self.token(agent)),
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.app.call(Method::GET, path, token, None).await
    }
}

/// The runner's clock runs with the wall clock plus whole seconds, and
/// WhatsApp timestamps are whole seconds: starting each timed exchange just
/// after a wall-clock second keeps every measured delay to the exact second.
async fn align_to_second() {
    let millis = u64::from(Utc::now().timestamp_subsec_millis());
    tokio::time::sleep(std::time::Duration::from_millis(1005 - millis.min(1000))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_day_over_http_gives_exact_figures() {
    let stack = Stack::new().await;
    let start = stack.now().await.date_naive() + Duration::days(1);
    let eve = start; // the evening before the day
    let day = start + Duration::days(1);

    // The evening before, 20:00: X writes, ana alone is available; she takes
    // the offer at once, answers after 10 s and finishes after 30 s.
    stack.advance_to(at(eve, "20:00:00")).await;
    stack.state("ana", "available").await;
    let x = stack
        .offered_on_arrival("ana", "34600000100", "hello")
        .await;
    stack.act("ana", &x, "accept", json!({})).await;
    stack.advance_clock(10).await;
    stack
        .act("ana", &x, "messages", json!({"text": "hi"}))
        .await;
    stack.advance_clock(20).await;
    stack.finish("ana", &x).await;

    // The day, 08:00. A: offered to ana, accepted after 5 s, answered 45 s
    // after it arrived; the customer writes again 60 s later and is answered
    // in 15 s; ended 120 s later: handling 5 s → 240 s = 235 s.
    stack.advance_to(at(day, "08:00:00")).await;
    let a = stack
        .offered_on_arrival("ana", "34600000101", "my order")
        .await;
    stack.advance_clock(5).await;
    stack.act("ana", &a, "accept", json!({})).await;
    stack.advance_clock(40).await;
    stack
        .act("ana", &a, "messages", json!({"text": "looking"}))
        .await;
    stack.advance_clock(60).await;
    stack.customer_writes("34600000101", "any news?").await;
    stack.advance_clock(15).await;
    stack
        .act("ana", &a, "messages", json!({"text": "shipped"}))
        .await;
    stack.advance_clock(120).await;
    stack.finish("ana", &a).await;

    // B, 09:00: offered to bob, who lets it time out (RONA); ana (not ready)
    // takes it 40 s after arrival, answers at 60 s, finishes 30 s later.
    stack.advance_to(at(day, "09:00:00")).await;
    stack.state("ana", "not_ready").await;
    stack.state("bob", "available").await;
    let b = stack
        .offered_on_arrival("bob", "34600000102", "refund")
        .await;
    stack.advance_clock(31).await;
    let (_, bob) = stack.get("/me", Some(&stack.token("bob"))).await;
    assert_eq!(bob["state"], "rona");
    stack.advance_clock(9).await;
    stack.act("ana", &b, "take", json!({"force": false})).await;
    stack.advance_clock(20).await;
    stack
        .act("ana", &b, "messages", json!({"text": "refunded"}))
        .await;
    stack.advance_clock(30).await;
    stack.finish("ana", &b).await;

    // C, 10:00: bob is back; accepts at once and answers after 10 s; it stays active.
    stack.advance_to(at(day, "10:00:00")).await;
    stack.state("bob", "available").await;
    let c = stack
        .offered_on_arrival("bob", "34600000103", "question")
        .await;
    stack.act("bob", &c, "accept", json!({})).await;
    stack.advance_clock(10).await;
    stack
        .act("bob", &c, "messages", json!({"text": "yes?"}))
        .await;

    // 11:00: ana reopens A; the customer replies 30 s later (handling starts)
    // and is answered in 20 s; ana finishes 40 s later: handling 60 s.
    stack.advance_to(at(day, "11:00:00")).await;
    align_to_second().await;
    stack.act("ana", &a, "reopen", json!({})).await;
    stack.advance_clock(30).await;
    let replied = stack.customer_writes("34600000101", "one more thing").await;
    assert_eq!(replied, a, "the reply goes to the reopened conversation");
    stack.advance_clock(20).await;
    stack
        .act("ana", &a, "messages", json!({"text": "sure"}))
        .await;
    stack.advance_clock(40).await;
    stack.finish("ana", &a).await;

    // 12:00: ana reopens B; the customer declines with #STOP (an opt-out too).
    stack.advance_to(at(day, "12:00:00")).await;
    stack.act("ana", &b, "reopen", json!({})).await;
    stack.advance_clock(10).await;
    stack.customer_writes("34600000102", "#STOP").await;

    // 20:30: X's window (opened 20:00 the evening before) has expired; ana
    // sends the one utility push, which X leaves unanswered.
    stack.advance_to(at(day, "20:30:00")).await;
    stack.act("ana", &x, "push", json!({})).await;

    let sue = stack.supervisor();
    let dashboard = |query: String| {
        let sue = sue.clone();
        let stack = &stack;
        async move {
            let (status, answer) = stack
                .get(
                    &format!("/analytics/dashboard?from={eve}&to={day}{query}"),
                    Some(&sue),
                )
                .await;
            assert_eq!(status, 200, "{answer}");
            answer["days"].as_array().unwrap().clone()
        }
    };
    let day_bounds = json!({
        "from": format!("{day}T00:00:00Z"), "to": format!("{}T00:00:00Z", day + Duration::days(1))
    });
    let with_bounds = |mut figures: Value| {
        figures["from"] = day_bounds["from"].clone();
        figures["to"] = day_bounds["to"].clone();
        figures
    };
    // Responses: A 45 s and 15 s, B 60 s, C 10 s, A reopened 20 s. Handling:
    // A 235 s, B 50 s, A reopened 60 s; B's declined reopen finishes too (a
    // fourth finish, with no handling sample: nobody handled it). Live now: C
    // (active, answered) and X (pushed, waiting; answered the evening before).
    let everyone = zero(json!({
        "agent_initiated": 3, "user_replied": 1, "declined": 1, "finished": 4,
        "avg_response_seconds": 30.0, "avg_handling_seconds": 115.0,
        "rona": 1, "window_expiries": 1, "opt_outs": 1, "active": 1, "answered": 2
    }));
    // The #STOP came while B was reopened by ana: the customer's live-session
    // mirror names her, so the opt-out counts for her as the decline does.
    let ana_day = zero(json!({
        "agent_initiated": 3, "user_replied": 1, "declined": 1, "finished": 4,
        "avg_response_seconds": 35.0, "avg_handling_seconds": 115.0, "opt_outs": 1,
        "active": 0, "answered": 1
    }));
    let bob_day =
        zero(json!({"avg_response_seconds": 10.0, "rona": 1, "active": 1, "answered": 1}));
    // Window expiries and opt-outs have no queue.
    let mut sales_day = everyone.clone();
    sales_day["window_expiries"] = json!(0);
    sales_day["opt_outs"] = json!(0);
    let mut ana_sales_day = ana_day.clone();
    ana_sales_day["opt_outs"] = json!(0);

    let days = dashboard(String::new()).await;
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], eve.to_string());
    assert_eq!(days[1]["date"], day.to_string());
    assert_figures(
        &days[0],
        &zero(json!({
            "from": format!("{eve}T00:00:00Z"), "finished": 1, "avg_response_seconds": 10.0,
            "avg_handling_seconds": 30.0, "active": null, "answered": null
        })),
        "everyone, the evening before",
    );
    assert_figures(&days[1], &with_bounds(everyone.clone()), "everyone");
    for (query, expected) in [
        ("&agent=ana", &ana_day),
        ("&agent=bob", &bob_day),
        ("&queue=sales", &sales_day),
        ("&agent=ana&queue=sales", &ana_sales_day),
        (&format!("&channel={CHANNEL}")[..], &everyone),
    ] {
        let days = dashboard(query.to_owned()).await;
        assert_figures(&days[1], &with_bounds(expected.clone()), query);
    }

    // The rolling 24 h at 20:30 start at 21:00 the evening before: X's
    // conversation is out, its window expiry in.
    let (status, rolling) = stack.get("/analytics/chat-statistics", Some(&sue)).await;
    assert_eq!(status, 200, "{rolling}");
    let mut expected = everyone.clone();
    expected["from"] = json!(format!("{eve}T21:00:00Z"));
    assert_figures(&rolling, &expected, "rolling, everyone");
    assert!(rolling["to"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{day}T20:30:")));

    // An agent sees their own figures, and only those.
    let (status, own) = stack
        .get("/analytics/chat-statistics", Some(&stack.token("bob")))
        .await;
    assert_eq!(status, 200, "{own}");
    assert_figures(&own, &bob_day, "bob's own");
    let (status, own) = stack
        .get(
            &format!("/analytics/dashboard?from={day}&to={day}&agent=ana"),
            Some(&stack.token("ana")),
        )
        .await;
    assert_eq!(status, 200, "{own}");
    assert_figures(&own["days"][0], &with_bounds(ana_day.clone()), "ana's own");

    // Redelivering every event the day published changes nothing.
    for event in stack.app.runner.app.events.published() {
        consume(&stack.app.runner.analytics, &event).await.unwrap();
    }
    let days = dashboard(String::new()).await;
    assert_figures(
        &days[1],
        &with_bounds(everyone),
        "everyone, after redelivery",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_decline_and_opt_out_events_reach_the_figures_through_the_runner() {
    // Fed straight into the runner's consumer, as its bus would deliver them,
    // and read over HTTP at the end of their day.
    let stack = Stack::new().await;
    let today = stack.now().await.date_naive() + Duration::days(1);
    stack.advance_to(at(today, "23:59:00")).await;
    for event in scripted_events(today) {
        consume(&stack.app.runner.analytics, &event).await.unwrap();
    }
    let (status, answer) = stack
        .get(
            &format!("/analytics/dashboard?from={today}&to={today}"),
            Some(&stack.supervisor()),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let mut expected = expected_day(&Scope::All);
    expected["active"] = json!(0);
    expected["answered"] = json!(0);
    assert_figures(&answer["days"][0], &expected, "everyone");
    let (_, answer) = stack
        .get(
            "/analytics/chat-statistics?agent=ana&queue=billing",
            Some(&stack.token("ana")),
        )
        .await;
    assert_figures(
        &answer,
        &expected_day(&Scope::AgentInQueue(agent("ana"), queue("billing"))),
        "ana in billing",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_days_start_at_their_midnight_over_http() {
    let stack = Stack::new().await;
    let eve = stack.now().await.date_naive() + Duration::days(1);
    let day = eve + Duration::days(1);
    // Madrid is UTC+1 or +2: 21:30 UTC is still the same day there, 23:30
    // UTC already the next. 18:10 UTC is 23:40 in Kolkata (UTC+05:30).
    for when in [
        at(eve, "18:10:00"),
        at(eve, "21:30:00"),
        at(eve, "23:30:00"),
        at(day, "12:00:00"),
        at(day, "23:30:00"),
    ] {
        consume(&stack.app.runner.analytics, &finished_by_ana_at(when))
            .await
            .unwrap();
    }
    let sue = stack.supervisor();
    let days = |tz: &'static str| {
        let (stack, sue) = (&stack, &sue);
        async move {
            let after = day + Duration::days(1);
            let (status, answer) = stack
                .get(
                    &format!("/analytics/dashboard?from={eve}&to={after}{tz}"),
                    Some(sue),
                )
                .await;
            assert_eq!(status, 200, "{answer}");
            answer["days"].as_array().unwrap().clone()
        }
    };
    let count = |days: &[Value]| -> Vec<u64> {
        days.iter()
            .map(|d| d["finished"].as_u64().unwrap())
            .collect()
    };
    let utc = days("").await;
    assert_eq!(count(&utc), [3, 2, 0]);
    assert_eq!(utc, days("&tz=UTC").await);
    let madrid = days("&tz=Europe/Madrid").await;
    assert_eq!(count(&madrid), [2, 2, 1], "{madrid:?}");
    assert_eq!(madrid[1]["date"], day.to_string());
    let from = madrid[1]["from"].as_str().unwrap();
    assert!(
        [format!("{eve}T23:00:00Z"), format!("{eve}T22:00:00Z")].contains(&from.to_owned()),
        "Madrid's midnight: {from}"
    );
    // Kolkata is UTC+05:30: its day is summed from the 18:00 UTC bucket
    // (23:30 local), half an hour before its midnight, so the finish at
    // 23:40 on the eve in Kolkata counts on the day.
    let kolkata = days("&tz=Asia/Kolkata").await;
    assert_eq!(kolkata[1]["from"], format!("{eve}T18:00:00Z"));
    assert_eq!(kolkata[1]["to"], format!("{day}T18:00:00Z"));
    assert_eq!(count(&kolkata), [0, 4, 1], "{kolkata:?}");
}

#[tokio::test]
async fn analytics_requests_are_authorised_and_validated() {
    let stack = Stack::new().await;
    let ana = stack.token("ana");
    let sue = stack.supervisor();
    let cases: [(&str, Option<&str>, u16, &str); 18] = [
        ("/analytics/chat-statistics", None, 401, "unauthenticated"),
        ("/analytics/dashboard", None, 401, "unauthenticated"),
        (
            "/analytics/chat-statistics?agent=bob",
            Some(&ana),
            403,
            "forbidden",
        ),
        (
            "/analytics/chat-statistics?queue=sales",
            Some(&ana),
            403,
            "forbidden",
        ),
        (
            "/analytics/dashboard?channel=100000000000001",
            Some(&ana),
            403,
            "forbidden",
        ),
        (
            "/analytics/dashboard?from=yesterday",
            Some(&sue),
            400,
            "invalid_request",
        ),
        (
            "/analytics/dashboard?from=2024-05-02&to=2024-05-01",
            Some(&sue),
            400,
            "invalid_request",
        ),
        (
            "/analytics/dashboard?from=2024-01-01&to=2024-04-02",
            Some(&sue),
            400,
            "invalid_request",
        ),
        (
            "/analytics/dashboard?agent=no%20spaces",
            Some(&sue),
            400,
            "invalid_request",
        ),
        (
            "/analytics/dashboard?agent=bob&channel=100000000000001",
            Some(&sue),
            400,
            "invalid_request",
        ),
        ("/analytics/statistics", Some(&sue), 404, "not_found"),
        (
            "/analytics/dashboard?from=2024-01-01&to=2024-04-01",
            Some(&sue),
            200,
            "",
        ),
        (
            "/analytics/dashboard?from=2024-05-01T10:00:00%2B02:00&to=2024-05-03",
            Some(&sue),
            200,
            "",
        ),
        ("/analytics/chat-statistics?agent=ana", Some(&ana), 200, ""),
        (
            "/analytics/dashboard?tz=Mars/Olympus",
            Some(&sue),
            400,
            "invalid_request",
        ),
        (
            "/analytics/chat-statistics?tz=%2B02:00",
            Some(&ana),
            400,
            "invalid_request",
        ),
        (
            "/analytics/dashboard?tz=Asia/Kathmandu&from=2024-05-01&to=2024-05-03",
            Some(&sue),
            200,
            "",
        ),
        (
            "/analytics/chat-statistics?tz=Europe/Madrid",
            Some(&ana),
            200,
            "",
        ),
    ];
    for (path, token, status, code) in cases {
        let (got, answer) = stack.get(path, token).await;
        assert_eq!(got, status, "{path}: {answer}");
        if status != 200 {
            assert_eq!(answer["error"]["code"], code, "{path}: {answer}");
            assert!(answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
    let (_, unknown) = stack
        .get("/analytics/dashboard?tz=Mars/Olympus", Some(&sue))
        .await;
    assert_eq!(
        unknown["error"]["message"],
        "`tz` must be an IANA time zone name such as `Europe/Madrid` or `UTC`, not `Mars/Olympus`"
    );
    let (_, range) = stack
        .get(
            "/analytics/dashboard?from=2024-01-01&to=2024-04-01",
            Some(&sue),
        )
        .await;
    assert_eq!(range["days"].as_array().unwrap().len(), 92);
    let (_, default) = stack.get("/analytics/dashboard", Some(&sue)).await;
    let days = default["days"].as_array().unwrap();
    assert_eq!(days.len(), 7, "the last 7 days by default");
    assert_eq!(days[6]["date"], stack.now().await.date_naive().to_string());
    let (status, answer) = stack
        .app
        .call(
            Method::POST,
            "/analytics/dashboard",
            Some(&sue),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404, "{answer}");
}

/// The analytics queue's EventBridge rule matches exactly the event types
/// analytics counts: none missed, and no message for the others.
#[test]
fn the_template_rule_matches_exactly_the_counted_event_types() {
    let template = include_str!("../../../infra/template.yaml");
    let function = template
        .split("\n  AnalyticsConsumerFunction:\n")
        .nth(1)
        .expect("AnalyticsConsumerFunction in infra/template.yaml");
    let rule = template
        .split("\n  AnalyticsRule:\n")
        .nth(1)
        .expect("AnalyticsRule in infra/template.yaml")
        .split("detail-type:\n")
        .nth(1)
        .expect("a detail-type pattern");
    let matched: Vec<&str> = rule
        .lines()
        .map_while(|line| line.trim().strip_prefix("- "))
        .collect();
    assert_eq!(
        matched,
        wadesk_domain::analytics::COUNTED_EVENT_TYPES,
        "the rule's detail-type list"
    );
    assert!(function.contains("Binary: analytics-consumer"));
    for (_, path) in [
        ("GET", "/analytics/dashboard"),
        ("GET", "/analytics/chat-statistics"),
    ] {
        assert!(
            template.contains(&format!("Path: {path}\n")),
            "{path} routed"
        );
    }
}
