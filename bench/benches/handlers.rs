//! Warm handler cost on the embedded store: what a warm Lambda spends in its
//! own code once AWS latency is taken away.
//!
//! - `webhook/one_message`, `webhook/batch_100`: a signed Cloud API body
//!   through `webhook::handle` (signature check, parse, decide, store); the
//!   customers already have live conversations with armed windows;
//! - `desk/reopen`: `wadesk_app::desk::reopen` on a finished conversation
//!   inside the window (the reopen message goes to `LocalWhatsApp`);
//! - `desk/send`: an agent's second text on a freshly taken conversation;
//! - `analytics/consume_event`: the analytics consumer counting one
//!   EventBridge delivery of an `AgentReplied` event.
//!
//! `cargo bench -p wadesk-bench --bench handlers` (or `bash scripts/bench.sh`).

// Set-up that fails must stop the bench loudly, with the reason.
#![allow(clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;
use tokio::runtime::Runtime;
use wadesk_app::embedded::EmbeddedAnalytics;
use wadesk_bench::fixtures::{self, EmbeddedApp};
use wadesk_domain::desk::Outgoing;
use wadesk_domain::EventEnvelope;

/// Customers the webhook benches cycle through.
const CUSTOMERS: u64 = 1_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// An embedded app with the directory and an available agent.
fn desk_app(runtime: &Runtime) -> EmbeddedApp {
    let app = fixtures::embedded_app(fixtures::now_seconds());
    runtime
        .block_on(fixtures::seed_directory(&app.store))
        .expect("seeding the directory");
    runtime
        .block_on(fixtures::seed_agent(&app, true))
        .expect("seeding the agent");
    app
}

fn webhook(c: &mut Criterion) {
    let runtime = runtime();
    let app = fixtures::embedded_app(fixtures::now_seconds());
    runtime
        .block_on(fixtures::seed_directory(&app.store))
        .expect("seeding the directory");
    let settings = fixtures::webhook_settings();
    let poison = wadesk_app::embedded::LocalPoisonQueue::new();
    let at = fixtures::now_seconds().timestamp();
    // Every customer writes once first: the benches then measure messages on
    // live conversations with armed windows, the common case.
    let warm_up = fixtures::batch_body(0..CUSTOMERS, "wamid.WARM", at);
    let request = fixtures::signed_webhook_post(warm_up).expect("a request");
    let response = runtime.block_on(webhook::handle(&app, &poison, &settings, request));
    assert_eq!(response.status(), 200, "the warm-up batch is accepted");

    let mut group = c.benchmark_group("webhook");
    let mut next = 0u64;
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_message", |b| {
        b.iter_batched(
            || {
                next += 1;
                let body = fixtures::message_body(
                    next % CUSTOMERS,
                    &format!("wamid.ONE{next}"),
                    at,
                    "hola",
                );
                fixtures::signed_webhook_post(body).expect("a request")
            },
            |request| runtime.block_on(webhook::handle(&app, &poison, &settings, request)),
            BatchSize::SmallInput,
        );
    });
    let mut batch = 0u64;
    group.throughput(Throughput::Elements(100));
    group.bench_function("batch_100", |b| {
        b.iter_batched(
            || {
                batch += 1;
                let first = batch * 100 % CUSTOMERS;
                let body =
                    fixtures::batch_body(first..first + 100, &format!("wamid.BATCH{batch}"), at);
                fixtures::signed_webhook_post(body).expect("a request")
            },
            |request| runtime.block_on(webhook::handle(&app, &poison, &settings, request)),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    let check = fixtures::signed_webhook_post(fixtures::message_body(1, "wamid.CHECK", at, "hola"))
        .expect("a request");
    let response = runtime.block_on(webhook::handle(&app, &poison, &settings, check));
    assert_eq!(response.status(), 200, "messages are still accepted");
}

fn desk(c: &mut Criterion) {
    let runtime = runtime();
    let app = desk_app(&runtime);
    let actor = fixtures::agent().expect("the agent");
    let mut group = c.benchmark_group("desk");
    let mut customer = 0u64;
    group.bench_function("reopen", |b| {
        b.iter_batched(
            || {
                customer += 1;
                runtime
                    .block_on(fixtures::finished_conversation(
                        &app,
                        &actor,
                        customer,
                        &format!("wamid.REOPEN{customer}"),
                    ))
                    .expect("a finished conversation")
            },
            |id| {
                runtime
                    .block_on(wadesk_app::desk::reopen(&app, &actor, id))
                    .expect("the reopen succeeds")
            },
            BatchSize::SmallInput,
        );
    });

    // A fresh conversation each time, taken and greeted: the agent's second
    // message, as in a real chat (a transcript of thousands would measure the
    // embedded store's list handling instead).
    let mut chat = CUSTOMERS * 100;
    group.bench_function("send", |b| {
        b.iter_batched(
            || {
                chat += 1;
                let message = fixtures::inbound_text(
                    chat,
                    &format!("wamid.SEND{chat}"),
                    fixtures::now_seconds(),
                    "hola",
                )
                .expect("a message");
                runtime
                    .block_on(async {
                        let id = fixtures::receive(&app, message).await?;
                        fixtures::take_and_answer(&app, &actor, id).await?;
                        Ok::<_, wadesk_bench::BoxError>(id)
                    })
                    .expect("an active conversation")
            },
            |id| {
                runtime
                    .block_on(wadesk_app::desk::send(
                        &app,
                        &actor,
                        id,
                        Outgoing::Text("Estamos revisando tu pedido.".into()),
                    ))
                    .expect("the send succeeds")
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn analytics(c: &mut Criterion) {
    let runtime = runtime();
    let app = desk_app(&runtime);
    let actor = fixtures::agent().expect("the agent");
    let message = fixtures::inbound_text(1, "wamid.ANALYTICS", fixtures::now_seconds(), "hola")
        .expect("a message");
    runtime
        .block_on(async {
            let id = fixtures::receive(&app, message).await?;
            fixtures::take_and_answer(&app, &actor, id).await?;
            // Desk events wait in the store's outbox until relayed.
            app.store.relay_outbox(&app.events).await?;
            Ok::<_, wadesk_bench::BoxError>(())
        })
        .expect("an answered conversation");
    let replied: EventEnvelope = app
        .events
        .published()
        .into_iter()
        .find(|e| e.type_name() == "AgentReplied")
        .expect("the answer published AgentReplied");
    let store = EmbeddedAnalytics::new();

    let mut group = c.benchmark_group("analytics");
    group.bench_function("consume_event", |b| {
        b.iter_batched(
            || {
                // A new event each time: a repeated id is counted once.
                let mut event = replied.clone();
                event.id = uuid::Uuid::new_v4();
                serde_json::from_value(json!({
                    "version": "0", "id": event.id.to_string(), "detail-type": "AgentReplied",
                    "source": "wadesk", "account": "123456789012", "time": event.at.to_rfc3339(),
                    "region": "us-east-1", "resources": [],
                    "detail": serde_json::to_value(&event).expect("an event serializes"),
                }))
                .expect("an EventBridge delivery")
            },
            |delivery| {
                runtime
                    .block_on(analytics::consume_delivery(&store, delivery))
                    .expect("the event is counted")
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = handlers;
    config = config();
    targets = webhook, desk, analytics
}
criterion_main!(handlers);
