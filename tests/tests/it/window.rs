//! The timers function with the local scheduler.

use chrono::Duration;
use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::inbound::receive_message;
use wadesk_app::ConversationStore;
use wadesk_domain::{Clock, ManualClock, TimerInput, WindowFire};
use wadesk_tests::{customer, now_seconds, text_message};

#[tokio::test]
async fn an_expiry_fired_for_an_extended_window_rearms_instead_of_expiring() {
    let t0 = now_seconds();
    let clock = ManualClock::frozen_at(t0);
    let app = wadesk_app::App::new(
        EmbeddedStore::new(),
        wadesk_app::embedded::LocalEventBus::new(),
        wadesk_app::embedded::LocalScheduler::new(),
        clock.clone(),
        wadesk_app::embedded::LocalWhatsApp::new(clock.clone()),
    );
    let key = customer("34622000001");
    receive_message(&app, text_message(&key, "wamid.W1", t0, "a"))
        .await
        .unwrap();
    clock.advance(Duration::hours(20));
    receive_message(&app, text_message(&key, "wamid.W2", clock.now(), "b"))
        .await
        .unwrap();
    assert_eq!(
        app.timers.armed().len(),
        1,
        "the second message armed nothing"
    );

    // The first schedule fires at t0+24h: the window now runs to t0+44h.
    clock.advance(Duration::hours(4));
    let due = app.timers.take_due(clock.now());
    assert_eq!(due.len(), 1);
    let result = timers::handle(&app, due[0].clone()).await.unwrap();
    assert_eq!(result.outcome, "rearmed");
    assert!(!app
        .events
        .published()
        .iter()
        .any(|e| e.type_name() == "WindowExpired"));
    assert!(app
        .store
        .get_customer(&key)
        .await
        .unwrap()
        .unwrap()
        .window_is_open(clock.now()));
    let rearmed = app.timers.armed_windows();
    assert_eq!(rearmed.len(), 1);
    assert_eq!(rearmed[0].armed_for, t0 + Duration::hours(44));

    // The stale fire again: harmless.
    assert_eq!(
        timers::handle(&app, due[0].clone()).await.unwrap().outcome,
        "ignored"
    );

    clock.advance(Duration::hours(20));
    let due = app.timers.take_due(clock.now());
    let result = timers::handle(&app, due[0].clone()).await.unwrap();
    assert_eq!(result.outcome, "expired");
    let expired: Vec<_> = app
        .events
        .published()
        .into_iter()
        .filter(|e| e.type_name() == "WindowExpired")
        .collect();
    assert_eq!(expired.len(), 1);

    // Scheduler delivers at least once: the same fire again republishes the same event id.
    timers::handle(&app, due[0].clone()).await.unwrap();
    let ids: std::collections::BTreeSet<_> = app
        .events
        .published()
        .into_iter()
        .filter(|e| e.type_name() == "WindowExpired")
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(app.timers.armed_windows().is_empty());
}

#[tokio::test]
async fn a_fire_for_an_unknown_customer_is_ignored() {
    let app = wadesk_tests::services(EmbeddedStore::new(), now_seconds());
    let fire = WindowFire {
        customer: customer("34622000002"),
        armed_for: now_seconds(),
    };
    assert_eq!(
        timers::handle(&app, TimerInput::Window(fire))
            .await
            .unwrap()
            .outcome,
        "ignored"
    );
}
