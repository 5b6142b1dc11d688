//! Faults: DynamoDB, EventBridge and Scheduler (through a fault-injecting proxy
//! in front of moto, `wadesk_tests::fault_proxy`) and the Graph API (a failing
//! WhatsApp client) fail or time out at chosen steps of inbound, reopen, `#STOP`
//! and window expiry. Each flow then runs on with the retries the platform
//! gives it:
//!
//! - WhatsApp redelivers the same webhook body until it gets a 200;
//! - EventBridge redelivers an event to a consumer (opt-out) whose invocation failed;
//! - desk changes leave their events in the table's outbox, and the event-relay
//!   function, fed the table's stream as its event-source mapping feeds it,
//!   publishes them; Lambda retries a batch it reports failed;
//! - Scheduler re-invokes the timers function with the same input;
//! - an agent whose request got a 5xx tries again.
//!
//! and ends in the state a fault-free run of the same flow (same clock, same
//! wamids) ends in: the same conversations, customers, agents, transcripts,
//! outbox and schedules; the same set of event ids on the bus (republished
//! events keep their id); and every event delivered to analytics, duplicates
//! included, gives the same counters, so each counts exactly once.
//!
//! The SDK clients run with retries disabled so a fault reaches the
//! application; `the_sdk_retry_absorbs_*` show the standard retry hiding one.
//!
//! Every fault here was once a bug found by this harness (desk events lost
//! on a failed publish, a reopen message never sent, a second `#STOP`
//! confirmation); each now has its test among the others.

mod harness;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use chrono::Duration;
use uuid::Uuid;
use wadesk_app::desk::DeskFailure;
use wadesk_app::{AnalyticsStore, ConversationStore, DeskStore};
use wadesk_aws::DynamoStore;
use wadesk_domain::analytics::Scope;
use wadesk_domain::{Clock, EventEnvelope};
use wadesk_tests::fault_proxy::{self, Fault, FaultProxy, Rule, SdkRetries};
use wadesk_tests::{customer, moto_endpoint, unique_name};

use harness::*;

/// The cases of one shape: `flow` run under `plan`, each named retry seen,
/// and the end state that of a fault-free run of the same flow (`check`).
macro_rules! retried_cases {
    ($($name:ident: $flow:expr, $plan:expr => [$($retry:literal),+ $(,)?];)+) => {$(
        #[tokio::test]
        async fn $name() {
            let (stack, _) = check($flow, $plan).await;
            $(retried(&stack, $retry);)+
        }
    )+};
}

retried_cases! {
    inbound_read_fails_and_the_redelivery_stores_it_once:
        Flow::Inbound,
        Plan::at("first", Rule::first(BATCH_GET, Fault::Status(500)))
        => ["webhook wamid.IN1"];
    inbound_read_times_out_and_the_redelivery_stores_it_once:
        Flow::Inbound,
        Plan::at("second", Rule::first(BATCH_GET, Fault::Stall(STALL)))
        => ["webhook wamid.IN2"];
    inbound_commit_fails_and_the_redelivery_stores_it_once:
        Flow::Inbound,
        Plan::at("first", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
            .and("second", Rule::first(TRANSACT_WRITE, Fault::Drop))
        => ["webhook wamid.IN1", "webhook wamid.IN2"];
    inbound_schedule_fails_and_the_redelivery_arms_it_once:
        Flow::Inbound,
        Plan::at("first", Rule::first(CREATE_SCHEDULE, Fault::Status(500)))
        => ["webhook wamid.IN1"];
    reopen_commit_fails_and_the_agents_retry_reopens_once:
        Flow::Reopen,
        Plan::at("reopen", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
        => ["reopen"];
    // The first TransactWriteItems is the #STOP itself; the second the opt-out
    // consumer ending the reopened conversation.
    stop_session_end_fails_and_the_redelivered_event_ends_it_once:
        Flow::Stop,
        Plan::at("decline", Rule::nth(TRANSACT_WRITE, 2, Fault::Status(500)))
        => ["opt-out"];
    // The consumer's first PutItem claims the confirmation.
    stop_claim_fails_and_the_redelivered_event_confirms_once:
        Flow::Stop,
        Plan::at("stop", Rule::first(PUT_ITEM, Fault::Drop))
        => ["opt-out"];
    stop_commit_fails_and_the_redelivery_opts_out_once:
        Flow::Stop,
        Plan::at("stop", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
            .and("opt-in", Rule::first(BATCH_GET, Fault::Status(500)))
        => ["webhook wamid.ST4", "webhook wamid.ST5"];
    window_save_is_lost_and_the_refire_republishes_the_same_id:
        Flow::Window,
        Plan::at("fire", Rule::first(PUT_ITEM, Fault::DropAfterForward))
        => ["window fire"];
    window_read_fails_and_the_refire_expires_it_once:
        Flow::Window,
        Plan::at("fire", Rule::first(GET_ITEM, Fault::Status(500)))
        => ["window fire"];
    window_schedule_fails_and_the_redelivery_arms_it:
        Flow::Window,
        Plan::at("message", Rule::first(CREATE_SCHEDULE, Fault::Drop))
        => ["webhook wamid.WI1"];
    first_message_commit_answer_lost_is_a_duplicate_on_redelivery:
        Flow::Queued,
        Plan::at("first", Rule::first(TRANSACT_WRITE, Fault::DropAfterForward))
        => ["webhook wamid.QU1"];
    // The schedule is created, its answer lost: the redelivery's create is a
    // conflict on the deterministic name, which counts as armed.
    first_message_schedule_times_out_and_the_redelivery_arms_it_once:
        Flow::Queued,
        Plan::at("first", Rule::first(CREATE_SCHEDULE, Fault::StallAfterForward(STALL)))
        => ["webhook wamid.QU1"];
    reopen_send_fails_and_the_agents_retry_sends_it_once:
        Flow::Reopen,
        Plan::failing_sends("reopen", 1)
        => ["reopen"];
}

#[tokio::test]
async fn inbound_commit_lost_on_a_live_session_is_a_duplicate_on_redelivery() {
    // The transaction commits, its answer never arrives: the redelivery is a
    // duplicate; the events committed with the message (its outbox item) are
    // relayed once.
    let (stack, outcome) = check(
        Flow::Inbound,
        Plan::at(
            "second",
            Rule::first(TRANSACT_WRITE, Fault::StallAfterForward(STALL)),
        ),
    )
    .await;
    retried(&stack, "webhook wamid.IN2");
    assert!(outcome.deliveries >= baseline(Flow::Inbound).await.deliveries);
}

#[tokio::test]
async fn inbound_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    // The message commits its events to the outbox in its own transaction and
    // the webhook makes no PutEvents call (it answers 200 at once); the
    // relay's publish fails (every retry of the publisher), it reports the
    // record failed, and Lambda's retry of the batch publishes them with the
    // ids the commit gave them.
    let (_, outcome) = relay_publish_fails(Flow::Inbound, &["second"]).await;
    assert_eq!(
        outcome.deliveries,
        baseline(Flow::Inbound).await.deliveries,
        "nothing reached the bus before the relay's retry published it"
    );
}

#[tokio::test]
async fn inbound_events_time_out_after_reaching_the_bus_and_are_counted_once() {
    // EventBridge took the relayed events but the answer was lost: the
    // relay's retry publishes them again (same ids); analytics counts once.
    let (stack, outcome) = check(
        Flow::Inbound,
        Plan::at(
            "third",
            Rule::first(PUT_EVENTS, Fault::StallAfterForward(STALL)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(
        outcome.deliveries > baseline(Flow::Inbound).await.deliveries,
        "the same events reached the bus more than once"
    );
}

#[tokio::test]
async fn a_single_put_events_failure_is_absorbed_by_the_publisher() {
    let (stack, _) = check(
        Flow::Inbound,
        Plan::at("first", Rule::first(PUT_EVENTS, Fault::Status(500))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

#[tokio::test]
async fn the_sdk_retry_absorbs_a_single_transient_fault() {
    let baseline = baseline(Flow::Inbound).await;
    let mut stack = Stack::new(t0(), SdkRetries::Standard).await;
    // One transient fault per request kind: a 503 from Scheduler, a 500 from
    // DynamoDB's transaction, a dropped connection, a 500 from EventBridge.
    let plan = Plan::at("first", Rule::first(CREATE_SCHEDULE, Fault::Status(503)))
        .and("first", Rule::first(TRANSACT_WRITE, Fault::Status(500)))
        .and("second", Rule::first(BATCH_GET, Fault::Drop))
        .and("third", Rule::first(PUT_EVENTS, Fault::Status(500)));
    Box::pin(run(Flow::Inbound, &mut stack, &plan)).await;
    assert_eq!(stack.proxy.faults_fired(), 4);
    assert!(
        stack.retries.is_empty(),
        "no fault reached the application: {:?}",
        stack.retries
    );
    stack
        .outcome()
        .await
        .assert_same_as(baseline, "standard SDK retry");
}

// ---------------------------------------------------------------------------
// Reopen.

#[tokio::test]
async fn reopen_lease_release_fails_and_the_lease_expires() {
    // The reopen stands and its message went out once; the lease is left to
    // expire by itself (checked a minute later, when the customer replies).
    let (stack, _) = check(
        Flow::Reopen,
        Plan::at("reopen", Rule::first(PUT_ITEM, Fault::Status(500))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

#[tokio::test]
async fn reopen_lease_read_times_out_and_the_lease_expires() {
    // The release reads the customer first (GetItem); the reopen's own
    // snapshot comes before: the conversation (GetItem), then its customer,
    // agents, the caller's entry and the channel (one BatchGetItem).
    let (stack, _) = check(
        Flow::Reopen,
        Plan::at("reopen", Rule::nth(GET_ITEM, 2, Fault::Stall(STALL))),
    )
    .await;
    assert!(stack.retries.is_empty(), "{:?}", stack.retries);
}

// ---------------------------------------------------------------------------
// #STOP.

/// Every publish of the relay fails at `steps` (each retry of the publisher):
/// the flow's events reach the bus through the relay's retry alone, and
/// nothing else is retried.
async fn relay_publish_fails(flow: Flow, steps: &[&'static str]) -> (Stack, Outcome) {
    let plan = steps.iter().fold(Plan::none(), |plan, step| {
        plan.and(
            step,
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        )
    });
    let (stack, outcome) = check(flow, plan).await;
    retried(&stack, "relay");
    assert!(
        stack.retries.iter().all(|r| r.starts_with("relay")),
        "only the relay retries: {:?}",
        stack.retries
    );
    (stack, outcome)
}

/// How many `#STOP` confirmations the customer of the stop flow was sent.
fn stop_confirmations(outcome: &Outcome) -> usize {
    outcome.state["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == C_STOP && m["text"] == wadesk_app::opt_out::OPT_OUT_CONFIRMATION)
        .count()
}

#[tokio::test]
async fn stop_confirmation_send_fails_and_the_redelivered_event_confirms_once() {
    let (stack, outcome) = check(Flow::Stop, Plan::failing_sends("stop", 1)).await;
    retried(&stack, "opt-out");
    assert_eq!(stop_confirmations(&outcome), 1);
}

#[tokio::test]
async fn stop_confirmation_answer_lost_and_the_customer_is_told_once() {
    // WhatsApp took the confirmation but its answer was lost: sending again
    // could tell the customer twice, so the claim stands and nothing retries.
    // (Not compared with the fault-free run: without WhatsApp's answer the
    // confirmation has no wamid to be recorded in the transcript under.)
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    Box::pin(run(
        Flow::Stop,
        &mut stack,
        &Plan::losing_answers("stop", 1),
    ))
    .await;
    assert_eq!(stack.app.whatsapp.failed.load(Ordering::SeqCst), 1);
    let outcome = stack.outcome().await;
    assert!(
        !stack.retries.iter().any(|r| r.starts_with("opt-out")),
        "{:?}",
        stack.retries
    );
    assert_eq!(stop_confirmations(&outcome), 1);
}

#[tokio::test]
async fn stop_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    // Both `#STOP`s answered at once; their events reach opt-out through the
    // relay's retries.
    relay_publish_fails(Flow::Stop, &["stop", "decline"]).await;
}

// ---------------------------------------------------------------------------
// Window expiry.

#[tokio::test]
async fn window_events_fail_after_the_save_and_the_refire_republishes_the_same_id() {
    let (stack, outcome) = check(
        Flow::Window,
        Plan::at(
            "fire",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "window fire");
    let expired: Vec<Uuid> = outcome
        .details
        .iter()
        .map(|d| serde_json::from_str::<EventEnvelope>(d).unwrap())
        .filter(|e| e.type_name() == "WindowExpired")
        .map(|e| e.id)
        .collect();
    assert!(
        expired.len() >= 2,
        "the retried fire and the duplicate fire both published it"
    );
    assert!(
        expired.iter().all(|id| *id == expired[0]),
        "always with the same id: {expired:?}"
    );
    assert_eq!(stack.counted(&Scope::All).await.window_expiries, 1);
}

// ---------------------------------------------------------------------------
// A first message that waits in the queue (nobody available to offer it to).

#[tokio::test]
async fn first_message_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    let (_, outcome) = relay_publish_fails(Flow::Queued, &["first"]).await;
    assert_eq!(outcome.deliveries, baseline(Flow::Queued).await.deliveries);
}

// ---------------------------------------------------------------------------
// Reopen: what a Graph API failure and a stuck send lease leave behind.

#[tokio::test]
async fn reopen_send_fails_is_a_5xx_and_the_retry_sends_the_same_message_once() {
    // What a Graph API failure leaves, and what the agent's retry does with it
    // (`reopen_send_fails_and_the_agents_retry_sends_it_once` runs it in the flow).
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.RS1").await;
    stack.advance(Duration::hours(1));
    let before = stack.app.whatsapp.local.sent().len();
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(
        matches!(first, Err(DeskFailure::App(_))),
        "the agent is told it failed (5xx): {first:?}"
    );
    // Nothing is hidden: the reopen stands and its message waits, unsent.
    let store = &stack.app.store;
    let conversation = store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(
        conversation.status,
        wadesk_domain::ConversationStatus::Reopened
    );
    let reopen_message = |transcript: &[wadesk_domain::Message]| {
        let found: Vec<_> = transcript
            .iter()
            .filter(|m| m.content.text() == Some(REOPEN_MESSAGE))
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "one reopen message in the transcript");
        found[0].clone()
    };
    let unsent = reopen_message(&store.list_messages(id).await.unwrap());
    assert_eq!(unsent.status, Some(wadesk_domain::DeliveryStatus::Pending));
    assert_eq!(unsent.wamid, None);
    let customer = store
        .get_customer(&customer(C_REOPEN))
        .await
        .unwrap()
        .unwrap();
    assert!(
        customer
            .send_lease_until
            .is_none_or(|until| until <= stack.app.clock.now()),
        "the send lease is released after the failed send"
    );
    assert_eq!(stack.app.whatsapp.local.sent().len(), before);
    // The agent's retry sends that very message, and reopens nothing twice.
    let retry = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(retry.is_ok(), "{retry:?}");
    stack.pump().await;
    let sent = reopen_message(&stack.app.store.list_messages(id).await.unwrap());
    assert_eq!(sent.id, unsent.id);
    assert!(sent.wamid.is_some(), "its wamid is recorded");
    assert_eq!(stack.app.whatsapp.local.sent().len(), before + 1);
    // Once it went out, a further retry is refused as before.
    let again = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            again,
            Err(DeskFailure::Rule(
                wadesk_domain::DeskError::SessionActiveElsewhere
            ))
        ),
        "{again:?}"
    );
    stack.pump().await;
    assert_eq!(stack.app.whatsapp.local.sent().len(), before + 1);
    assert_eq!(
        stack.counted(&Scope::Agent(ana().id)).await.agent_initiated,
        1
    );
}

#[tokio::test]
async fn push_send_fails_and_the_retry_sends_its_template_never_a_second_push() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.PS1").await;
    stack.advance(Duration::hours(25));
    let before = stack.app.whatsapp.local.sent().len();
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(matches!(first, Err(DeskFailure::App(_))), "{first:?}");
    assert_eq!(stack.app.whatsapp.local.sent().len(), before);
    let retry = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    assert!(retry.is_ok(), "{retry:?}");
    stack.pump().await;
    let pushes = |stack: &Stack| {
        stack
            .app
            .whatsapp
            .local
            .sent()
            .iter()
            .filter(|e| e.kind == "template")
            .count()
    };
    assert_eq!(stack.app.whatsapp.local.sent().len(), before + 1);
    assert_eq!(pushes(&stack), 1, "{:?}", stack.app.whatsapp.local.sent());
    let again = Box::pin(wadesk_app::desk::push(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            again,
            Err(DeskFailure::Rule(wadesk_domain::DeskError::PushAlreadySent))
        ),
        "{again:?}"
    );
    assert_eq!(stack.app.whatsapp.local.sent().len(), before + 1);
    let transcript = stack.app.store.list_messages(id).await.unwrap();
    let templates: Vec<_> = transcript
        .iter()
        .filter(|m| matches!(m.content, wadesk_domain::MessageContent::Template { .. }))
        .collect();
    assert_eq!(templates.len(), 1);
    assert!(templates[0].wamid.is_some());
}

#[tokio::test]
async fn a_stop_after_a_failed_reopen_send_wins_over_the_agents_retry() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.SR1").await;
    stack.advance(Duration::hours(1));
    stack.app.whatsapp.fail_next.store(1, Ordering::SeqCst);
    let first = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    stack.pump().await;
    assert!(matches!(first, Err(DeskFailure::App(_))), "{first:?}");
    let before = stack.app.whatsapp.local.sent().len();
    stack.customer_writes(C_REOPEN, "wamid.SR2", "#STOP").await;
    // The #STOP was acknowledged and its consumer ran: every retry is refused.
    for _ in 0..2 {
        let retry = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
        assert!(
            matches!(
                retry,
                Err(DeskFailure::Rule(wadesk_domain::DeskError::OptedOut))
            ),
            "{retry:?}"
        );
        stack.pump().await;
    }
    let sent = stack.app.whatsapp.local.sent();
    let texts: Vec<&str> = sent[before..]
        .iter()
        .filter_map(|e| e.text.as_deref())
        .collect();
    assert_eq!(
        texts,
        [wadesk_app::opt_out::OPT_OUT_CONFIRMATION],
        "only the confirmation went out after the #STOP"
    );
}

#[tokio::test]
async fn a_stuck_send_lease_holds_the_stop_acknowledgement_until_it_expires() {
    // The lease release fails: the reopen still answers 200 (its message went
    // out once), and a #STOP is acknowledged only once the lease has expired,
    // so nothing of the reopen can go out after the acknowledgement.
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let id = finished_conversation(&mut stack, C_REOPEN, "wamid.LS1").await;
    stack.advance(Duration::hours(1));
    // The reopen's first PutItem records its message's wamid; the second
    // releases the lease.
    stack.proxy.add(Rule::nth(PUT_ITEM, 2, Fault::Status(500)));
    Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id))
        .await
        .unwrap();
    stack.pump().await;
    assert_eq!(stack.proxy.faults_fired(), 1);
    let held = stack
        .app
        .store
        .get_customer(&customer(C_REOPEN))
        .await
        .unwrap()
        .unwrap()
        .send_lease_until
        .unwrap();
    assert!(held > stack.app.clock.now(), "the lease was not released");

    let body = stack.signed_body(C_REOPEN, "wamid.LS2", "#STOP");
    let clock = stack.app.clock.clone();
    let expiry = tokio::spawn(async move {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        clock.advance(Duration::seconds(
            wadesk_domain::desk::SEND_LEASE_SECONDS + 1,
        ));
        std::time::Instant::now()
    });
    let status = stack.deliver(&body).await;
    let acknowledged = std::time::Instant::now();
    let expired = expiry.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        acknowledged >= expired,
        "the #STOP was acknowledged while the lease was held"
    );
    stack.pump().await;
    let reopen = Box::pin(wadesk_app::desk::reopen(&stack.app, &ana(), id)).await;
    assert!(
        matches!(
            reopen,
            Err(DeskFailure::Rule(wadesk_domain::DeskError::OptedOut))
        ),
        "{reopen:?}"
    );
    let sent = stack.app.whatsapp.local.sent();
    let texts: Vec<&str> = sent.iter().filter_map(|e| e.text.as_deref()).collect();
    assert_eq!(
        texts.iter().filter(|t| **t == REOPEN_MESSAGE).count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| **t == wadesk_app::opt_out::OPT_OUT_CONFIRMATION)
            .count(),
        1,
        "{texts:?}"
    );
}

// ---------------------------------------------------------------------------
// Analytics' own store failing: EventBridge retries the consumer.

#[tokio::test]
async fn analytics_store_faults_still_count_every_event_once() {
    // The bus entries of the fault-free #STOP flow (reopens, replies,
    // finishes, declines, opt-outs), each delivered twice to the consumer on
    // DynamoDB behind the proxy, whose counting transaction fails (500),
    // drops, or commits and loses its answer on successive events; a failed
    // delivery is retried as EventBridge does. The counters must equal what
    // the fault-free flow counted.
    let baseline = baseline(Flow::Stop).await;
    let proxy = FaultProxy::start(&moto_endpoint()).await;
    let sdk = fault_proxy::sdk_config(&proxy, SdkRetries::Disabled).await;
    let table = unique_name("wadesk-faults-analytics");
    wadesk_aws::dynamodb::create_table(&wadesk_tests::dynamodb_client(None).await, &table)
        .await
        .unwrap();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let faults = [
        None,
        Some(Fault::Status(500)),
        Some(Fault::DropAfterForward),
        Some(Fault::Drop),
    ];
    let mut counted = 0;
    let mut retries = 0;
    for detail in &baseline.details {
        let event: EventEnvelope = serde_json::from_str(detail).unwrap();
        if wadesk_domain::analytics::increment_for(&event).is_none() {
            continue;
        }
        if let Some(fault) = faults[counted % faults.len()] {
            proxy.add(Rule::first(TRANSACT_WRITE, fault));
        }
        counted += 1;
        for _delivery in 0..2 {
            let mut attempts = 0;
            while let Err(error) = wadesk_app::analytics::consume(&store, &event).await {
                attempts += 1;
                assert!(attempts < DELIVERIES, "never counted: {error}");
            }
            retries += attempts;
        }
    }
    assert!(counted >= faults.len(), "only {counted} counted events");
    assert!(retries > 0 && proxy.faults_fired() > 0);
    let (first, last) = baseline.hours;
    for scope in scopes() {
        let hours = store.hourly(&scope, first, last).await.unwrap();
        assert_eq!(
            hours,
            baseline.counters[&scope.key()],
            "{scope}: counted differently from the fault-free run"
        );
    }
}

// ---------------------------------------------------------------------------
// Faults that were bugs until the outbox, the reopen resend and the
// at-most-once confirmation.

#[tokio::test]
async fn first_message_events_fail_to_publish_and_the_offer_is_made_anyway() {
    // The events wait in the outbox for the relay's retry; the offer is made
    // in the request, as without a fault.
    check(
        Flow::Inbound,
        Plan::at(
            "first",
            Rule::first(PUT_EVENTS, Fault::Status(500)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
}

#[tokio::test]
async fn first_message_commit_answer_lost_and_the_redelivery_offers_it() {
    check(
        Flow::Inbound,
        Plan::at(
            "first",
            Rule::first(TRANSACT_WRITE, Fault::DropAfterForward),
        ),
    )
    .await;
}

#[tokio::test]
async fn offer_timer_fails_and_whatsapps_redelivery_offers_it() {
    // The second CreateSchedule of the first message is the offer's time-out.
    check(
        Flow::Inbound,
        Plan::at("first", Rule::nth(CREATE_SCHEDULE, 2, Fault::Status(500))),
    )
    .await;
}

#[tokio::test]
async fn reopen_events_fail_to_publish_and_the_relay_retries_them_from_the_outbox() {
    // The reopen commits its events to the outbox in its own transaction and
    // makes no PutEvents call; the relay's publish fails (every retry of
    // the publisher), it reports the record failed, and Lambda's retry of the
    // batch publishes ChatReopened with the id the commit gave it.
    let (stack, outcome) = relay_publish_fails(Flow::Reopen, &["reopen"]).await;
    assert!(outcome.events.values().any(|t| t == "ChatReopened"));
    assert_eq!(
        stack.counted(&Scope::Agent(ana().id)).await.agent_initiated,
        1
    );
}

#[tokio::test]
async fn desk_events_time_out_after_reaching_the_bus_and_are_counted_once() {
    // EventBridge took the relayed events but the answer was lost: the retry
    // of the batch publishes them again (same ids); analytics counts once.
    let (stack, outcome) = check(
        Flow::Reopen,
        Plan::at(
            "finish",
            Rule::first(PUT_EVENTS, Fault::StallAfterForward(STALL)).times(PUBLISH_ATTEMPTS),
        ),
    )
    .await;
    retried(&stack, "relay");
    assert!(outcome.deliveries > baseline(Flow::Reopen).await.deliveries);
}

#[tokio::test]
async fn reopen_commit_answer_lost_and_the_reopen_message_goes_out_once() {
    // The request finds its commit stored after all and finishes it.
    check(
        Flow::Reopen,
        Plan::at(
            "reopen",
            Rule::first(TRANSACT_WRITE, Fault::DropAfterForward),
        ),
    )
    .await;
}

#[tokio::test]
async fn stop_confirmation_mark_fails_and_the_customer_is_told_once() {
    // The consumer's PutItems: the claim, then the mark after the send.
    check(
        Flow::Stop,
        Plan::at("stop", Rule::nth(PUT_ITEM, 2, Fault::Status(500))),
    )
    .await;
}

// ---------------------------------------------------------------------------
// A new conversation offered in the transaction that stores its first message.

/// How many times each conversation's `ConversationOffered` reached the bus.
fn offers_on_the_bus(stack: &Stack) -> BTreeMap<wadesk_domain::ConversationId, usize> {
    let mut offers = BTreeMap::new();
    for detail in stack.proxy.published_details() {
        let event: EventEnvelope = serde_json::from_str(&detail).unwrap();
        if let wadesk_domain::DomainEvent::ConversationOffered {
            conversation_id, ..
        } = event.event
        {
            *offers.entry(conversation_id).or_default() += 1;
        }
    }
    offers
}

async fn offered_to(stack: &Stack, wamid: &str) -> Option<wadesk_domain::AgentId> {
    let id = Stack::conversation_of(wamid);
    let conversation = stack.app.store.get_conversation(id).await.unwrap();
    conversation.unwrap().offered_to
}

async fn ana_load(stack: &Stack) -> u32 {
    stack
        .app
        .store
        .get_agent(&ana().id)
        .await
        .unwrap()
        .unwrap()
        .load
}

#[tokio::test]
async fn a_first_message_and_its_offer_commit_once_and_a_redelivery_offers_nothing_twice() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let writes = stack.proxy.count(&TRANSACT_WRITE);
    let body = stack.signed_body(C_QUEUED, "wamid.OF1", "Hola");
    assert_eq!(stack.deliver(&body).await, 200);
    stack.pump().await;
    assert_eq!(
        stack.proxy.count(&TRANSACT_WRITE) - writes,
        1,
        "the message and the offer in one transaction"
    );
    assert_eq!(offered_to(&stack, "wamid.OF1").await, Some(ana().id));
    assert_eq!(ana_load(&stack).await, 1);
    let id = Stack::conversation_of("wamid.OF1");
    assert_eq!(offers_on_the_bus(&stack), BTreeMap::from([(id, 1)]));

    // WhatsApp delivers it again: a duplicate; routing finds it offered.
    let writes = stack.proxy.count(&TRANSACT_WRITE);
    assert_eq!(stack.deliver(&body).await, 200);
    stack.pump().await;
    assert_eq!(
        stack.proxy.count(&TRANSACT_WRITE) - writes,
        1,
        "only the refused commit"
    );
    assert_eq!(ana_load(&stack).await, 1);
    assert_eq!(offers_on_the_bus(&stack), BTreeMap::from([(id, 1)]));
}

#[tokio::test]
async fn an_agent_taken_by_a_concurrent_offer_leaves_the_message_stored_and_routed_after() {
    // Two new customers in one batch, decided side by side on the one
    // directory read: both offers expect ana's same version, so the commit
    // that comes second fails on her. That message is stored alone, then
    // routed (ana can take three).
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    let writes = stack.proxy.count(&TRANSACT_WRITE);
    let at = stack.app.clock.now().timestamp();
    let channel = (
        wadesk_tests::PHONE_NUMBER_ID,
        wadesk_tests::DISPLAY_PHONE_NUMBER,
    );
    let body = wadesk_whatsapp::WebhookBuilder::new(channel.0, channel.1)
        .text(C_INBOUND, "Lucía", "Hola", "wamid.OF2", at)
        .text(C_QUEUED, "Luis", "Buenas", "wamid.OF3", at)
        .build()
        .to_string();
    assert_eq!(stack.deliver(&body).await, 200);
    stack.pump().await;
    assert_eq!(
        stack.proxy.count(&TRANSACT_WRITE) - writes,
        4,
        "one offer with its message, one refused on ana, that message alone, its routing"
    );
    for wamid in ["wamid.OF2", "wamid.OF3"] {
        assert_eq!(offered_to(&stack, wamid).await, Some(ana().id), "{wamid}");
        let messages = stack
            .app
            .store
            .list_messages(Stack::conversation_of(wamid))
            .await
            .unwrap();
        assert_eq!(messages.len(), 1, "{wamid} stored once");
    }
    // One was created offered (its first version), the other offered by
    // routing after it was stored (its second).
    let mut versions = Vec::new();
    for wamid in ["wamid.OF2", "wamid.OF3"] {
        let id = Stack::conversation_of(wamid);
        let conversation = stack.app.store.get_conversation(id).await.unwrap();
        versions.push(conversation.unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, [1, 2]);
    assert_eq!(ana_load(&stack).await, 2);
    let offers = offers_on_the_bus(&stack);
    assert_eq!(offers.len(), 2, "{offers:?}");
    assert!(offers.values().all(|n| *n == 1), "{offers:?}");
}

#[tokio::test]
async fn with_nobody_available_the_new_conversation_waits_in_its_queue() {
    let mut stack = Stack::new(t0(), SdkRetries::Disabled).await;
    Box::pin(wadesk_app::desk::set_state(
        &stack.app,
        &ana().id,
        wadesk_domain::AgentState::NotReady,
    ))
    .await
    .unwrap();
    stack.pump().await;
    let body = stack.signed_body(C_QUEUED, "wamid.OF4", "Hola");
    assert_eq!(stack.deliver(&body).await, 200);
    stack.pump().await;
    assert_eq!(offered_to(&stack, "wamid.OF4").await, None);
    let id = Stack::conversation_of("wamid.OF4");
    let conversation = stack.app.store.get_conversation(id).await.unwrap().unwrap();
    assert_eq!(
        conversation.status,
        wadesk_domain::ConversationStatus::Unanswered
    );
    assert_eq!(ana_load(&stack).await, 0);
    assert_eq!(offers_on_the_bus(&stack), BTreeMap::new());
    let waiting = stack
        .app
        .store
        .list_by_status(wadesk_domain::ConversationStatus::Unanswered)
        .await
        .unwrap();
    assert_eq!(waiting.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
}
