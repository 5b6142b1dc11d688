//! Reopen, the single utility push and `#STOP` (`docs/product.md` sections 5 and 6): over HTTP with a
//! moved clock, and the races against every store.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};
use wadesk_app::embedded::{LocalEventBus, LocalScheduler, LocalWhatsApp};
use wadesk_app::inbound::receive_message;
use wadesk_app::{App, DeskStore, OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::{
    Actor, AgentId, AgentState, DeskError, ManualClock, PhoneNumberId, Role, WaId, Wamid,
};
use wadesk_tests::{customer, hire_agent, now_seconds, open_default_queue, text_message};

use crate::desk::Desk;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_inside_the_window_and_the_reply_goes_to_the_reopening_agent() {
    let desk = Desk::new().await;
    let id = desk
        .finished_by_ana("34622333001", "Hello, I need help")
        .await;
    desk.advance_clock(23 * 3600 + 59 * 60).await;

    // Bob reopens Ana's conversation: he owns it now.
    let bob = desk.token("bob");
    let reopened = desk.post(&id, "reopen", &bob, json!({}), 200).await;
    assert_eq!(reopened["status"], "reopened");
    assert_eq!(reopened["owner"], "bob");
    assert_eq!(reopened["reopened_by"], "bob");
    assert_eq!(reopened["origin"], "agent_reopen");
    assert_eq!(reopened["can_reopen"], false);
    let sent = desk.sent_to_whatsapp().await;
    assert_eq!(
        sent.last().unwrap()["text"],
        "Hi again!",
        "the channel's reopen message"
    );
    // Nobody else can reopen it now.
    let answer = desk
        .post(&id, "reopen", &desk.token("ana"), json!({}), 409)
        .await;
    assert_eq!(answer["error"]["code"], "session_active_elsewhere");
    let sue = desk.hire("sue", "supervisor").await;
    let (_, supervised) = desk
        .get("/supervise/conversations?status=reopened&agent=bob", &sue)
        .await;
    assert_eq!(supervised["items"][0]["id"], id.as_str());
    let (_, mine) = desk.get("/conversations?view=reopened", &bob).await;
    assert_eq!(mine["items"][0]["id"], id.as_str());

    // The customer replies: active with Bob at once, no queue, no offer.
    let again = desk
        .customer_writes("34622333001", "yes, one more thing")
        .await;
    assert_eq!(again, id);
    let (_, detail) = desk.get(&format!("/conversations/{id}"), &bob).await;
    assert_eq!(detail["status"], "active");
    assert_eq!(detail["owner"], "bob");
    assert!(desk.offered_to("ana").await.is_empty());
    let (_, me) = desk.get("/me", &bob).await;
    assert_eq!(me["active"], 1);
    let (_, events) = desk.app.get_json("/_local/events").await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"ChatReopened"));
    assert!(types.contains(&"ReopenedConversationReplied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_only_one_push_and_the_reply_goes_above_capacity() {
    let desk = Desk::new().await;
    let id = desk
        .finished_by_ana("34622333002", "Hello, I need help")
        .await;
    desk.advance_clock(24 * 3600 + 60).await;
    let ana = desk.token("ana");

    let answer = desk.post(&id, "reopen", &ana, json!({}), 409).await;
    assert_eq!(answer["error"]["code"], "window_closed");
    let (_, archive) = desk.get("/conversations?view=archive", &ana).await;
    assert_eq!(archive["items"][0]["can_reopen"], false);
    assert_eq!(archive["items"][0]["can_push"], true);

    let pushed = desk.post(&id, "push", &ana, json!({}), 200).await;
    assert_eq!(pushed["status"], "reopened");
    assert_eq!(pushed["origin"], "push");
    let sent = desk.sent_to_whatsapp().await;
    let last = sent.last().unwrap();
    assert_eq!(last["type"], "template");
    assert_eq!(last["template"]["name"], "follow_up");
    assert_eq!(last["template"]["language"], "en");
    let answer = desk.post(&id, "push", &ana, json!({}), 409).await;
    assert_eq!(answer["error"]["code"], "push_already_sent");

    // Ana is full (max 2) when the customer answers the push: active with her anyway.
    for n in 0..2 {
        let other = desk.customer_writes(&format!("3462233310{n}"), "hi").await;
        desk.post(&other, "take", &ana, json!({}), 200).await;
    }
    desk.customer_writes("34622333002", "ok, tell me").await;
    let (_, detail) = desk.get(&format!("/conversations/{id}"), &ana).await;
    assert_eq!(detail["status"], "active");
    assert_eq!(detail["owner"], "ana");
    let (_, me) = desk.get("/me", &ana).await;
    assert_eq!(me["active"], 3, "above max_concurrent = 2");
    assert_eq!(me["max_concurrent"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_then_reopen_is_opted_out_and_the_customer_is_told_once() {
    let desk = Desk::new().await;
    let id = desk
        .finished_by_ana("34622333003", "Hello, I need help")
        .await;
    let before = desk.sent_to_whatsapp().await.len();
    let (status, answer) = desk
        .app
        .post_json(
            "/_local/inbound",
            json!({"from": "34622333003", "text": "  #stop "}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let ana = desk.token("ana");
    for path in [
        format!("/conversations/{id}/reopen"),
        format!("/conversations/{id}/push"),
    ] {
        let answer = desk.expect(Method::POST, &path, &ana, json!({}), 409).await;
        assert_eq!(answer["error"]["code"], "opted_out", "{path}");
    }
    let sent = desk.sent_to_whatsapp().await;
    assert_eq!(sent.len(), before + 1, "exactly one confirmation");
    assert!(sent.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains("unsubscribed"));
    // The #STOP's own session was ended, not queued.
    assert!(desk.offered_to("ana").await.is_empty());
    assert!(desk.offered_to("bob").await.is_empty());

    // A message the customer starts lifts the opt-out.
    desk.customer_writes("34622333003", "actually, I have a question")
        .await;
    let (_, events) = desk.app.get_json("/_local/events").await;
    assert!(events["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "CustomerOptedIn"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_a_reopened_conversation_is_a_decline() {
    let desk = Desk::new().await;
    let id = desk
        .finished_by_ana("34622333004", "Hello, I need help")
        .await;
    let ana = desk.token("ana");
    desk.post(&id, "reopen", &ana, json!({}), 200).await;
    desk.app
        .post_json(
            "/_local/inbound",
            json!({"from": "34622333004", "text": "#STOP"}),
        )
        .await;
    let (_, detail) = desk.get(&format!("/conversations/{id}"), &ana).await;
    assert_eq!(detail["status"], "finished");
    let (_, events) = desk.app.get_json("/_local/events").await;
    let declined: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ReopenDeclined")
        .collect();
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0]["detail"]["agent"], "ana");
    let (_, transcript) = desk
        .get(&format!("/conversations/{id}/messages"), &ana)
        .await;
    assert!(
        transcript["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["direction"] == "system" && m["text"].as_str().unwrap().contains("#STOP")),
        "the agent is told"
    );
}

/// Records when each message reached "WhatsApp", and can be slow.
#[derive(Clone)]
struct TimedWhatsApp {
    local: LocalWhatsApp,
    sent_at: Arc<Mutex<Vec<(Instant, String)>>>,
    delay_ms: u64,
}

impl WhatsAppClient for TimedWhatsApp {
    async fn send(
        &self,
        from: &PhoneNumberId,
        to: &WaId,
        content: &OutboundContent,
    ) -> Result<Wamid, SendError> {
        tokio::time::sleep(std::time::Duration::from_millis(self.delay_ms)).await;
        let wamid = self.local.send(from, to, content).await?;
        let kind = match content {
            OutboundContent::Text { body } => body.clone(),
            OutboundContent::Template { .. } => "template".into(),
            OutboundContent::Media { .. } => "media".into(),
        };
        self.sent_at.lock().unwrap().push((Instant::now(), kind));
        Ok(wamid)
    }
}

type RaceApp<S> = App<(S, LocalEventBus, LocalScheduler, ManualClock, TimedWhatsApp)>;

/// A finished conversation of `wa_id` with `agents` agents serving its queue.
async fn finished_for_race<S: DeskStore>(
    store: S,
    wa_id: &str,
    agents: usize,
    delay_ms: u64,
) -> (Arc<RaceApp<S>>, wadesk_domain::ConversationId) {
    let now = now_seconds();
    let clock = ManualClock::frozen_at(now);
    let whatsapp = TimedWhatsApp {
        local: LocalWhatsApp::new(clock.clone()),
        sent_at: Arc::default(),
        delay_ms,
    };
    let app = Arc::new(App::new(
        store,
        LocalEventBus::new(),
        LocalScheduler::new(),
        clock,
        whatsapp,
    ));
    open_default_queue(&app.store).await;
    for n in 0..agents {
        let id = AgentId::parse(format!("agent{n}")).unwrap();
        hire_agent(&app, &id, &format!("Agent {n}"), 5).await;
    }
    let key = customer(wa_id);
    let id = match receive_message(
        &app,
        text_message(&key, &format!("wamid.R.{wa_id}"), now, "hi"),
    )
    .await
    .unwrap()
    {
        wadesk_app::inbound::InboundOutcome::Stored {
            conversation_id, ..
        } => conversation_id,
        other => panic!("{other:?}"),
    };
    let first = Actor {
        id: AgentId::parse("agent0").unwrap(),
        role: Role::Agent,
    };
    wadesk_app::desk::take(&app, &first, id, false)
        .await
        .unwrap();
    wadesk_app::desk::end(&app, &first, id).await.unwrap();
    wadesk_app::desk::wrap_up(&app, &first, id, "Resolved")
        .await
        .unwrap();
    app.whatsapp.sent_at.lock().unwrap().clear();
    (app, id)
}

/// 20 agents reopen one conversation at once: exactly one wins, one message goes out.
pub async fn twenty_agents_reopen_at_once<S: DeskStore>(store: S) {
    let (app, id) = finished_for_race(store, "34622444001", 20, 0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let app = Arc::clone(&app);
        tasks.spawn(async move {
            let actor = Actor {
                id: AgentId::parse(format!("agent{n}")).unwrap(),
                role: Role::Agent,
            };
            wadesk_app::desk::reopen(&app, &actor, id).await
        });
    }
    let (mut won, mut elsewhere) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => won += 1,
            Err(wadesk_app::desk::DeskFailure::Rule(DeskError::SessionActiveElsewhere)) => {
                elsewhere += 1
            }
            Err(other) => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!((won, elsewhere), (1, 19));
    let sent = app.whatsapp.sent_at.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "exactly one automatic message");
}

/// `#STOP` races a reopen: in no interleaving does anything of the reopen go
/// out after the `#STOP` was acknowledged, and after it no reopen succeeds.
pub async fn stop_racing_a_reopen<S: DeskStore>(make: impl Fn() -> S, rounds: usize) {
    for round in 0..rounds {
        let wa_id = format!("346225{round:05}");
        let (app, id) = finished_for_race(make(), &wa_id, 1, (round % 4) as u64 * 15).await;
        let key = customer(&wa_id);
        let reopener = {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let actor = Actor {
                    id: AgentId::parse("agent0").unwrap(),
                    role: Role::Agent,
                };
                wadesk_app::desk::reopen(&app, &actor, id).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis((round % 5) as u64 * 5)).await;
        let stop = text_message(&key, &format!("wamid.STOP.{round}"), now_seconds(), "#STOP");
        receive_message(&app, stop).await.unwrap();
        let acknowledged = Instant::now();
        let reopened = reopener.await.unwrap();
        for (at, what) in app.whatsapp.sent_at.lock().unwrap().iter() {
            assert!(*at <= acknowledged, "round {round}: {what:?} was sent after the #STOP was acknowledged (reopen: {reopened:?})");
        }
        let actor = Actor {
            id: AgentId::parse("agent0").unwrap(),
            role: Role::Agent,
        };
        let after = wadesk_app::desk::reopen(&app, &actor, id).await;
        assert!(
            matches!(
                after,
                Err(wadesk_app::desk::DeskFailure::Rule(DeskError::OptedOut))
            ),
            "round {round}: reopen after the acknowledgement gave {after:?}"
        );
        let _ = AgentState::Available;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_agents_reopen_at_once_embedded() {
    twenty_agents_reopen_at_once(wadesk_tests::embedded_store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_agents_reopen_at_once_dynamodb() {
    twenty_agents_reopen_at_once(wadesk_tests::dynamo_store(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_racing_a_reopen_embedded() {
    stop_racing_a_reopen(wadesk_tests::embedded_store, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_racing_a_reopen_dynamodb() {
    let store = wadesk_tests::dynamo_store(None).await;
    stop_racing_a_reopen(move || store.clone(), 12).await;
}
