//! The agent desk end to end, over HTTP through the local runner; and routing
//! under concurrent arrivals on every store.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::DeskStore;
use wadesk_domain::{AgentId, AgentState, ConversationStatus};
use wadesk_tests::{
    customer, hire_agent, now_seconds, open_default_queue, services, text_message, urlencode,
    TestApp,
};

const CHANNEL: &str = "100000000000001";

pub struct Desk {
    pub app: TestApp,
    pub admin: String,
}

/// A desk is the runner's test app, configured: its requests are the app's.
impl std::ops::Deref for Desk {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Desk {
    /// A stack with queue `sales`, two agents (ana, bob: max 2) available in it,
    /// cid in `billing`, and the demo channel routing to `sales`.
    pub async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.token("root", "admin");
        let desk = Self { app, admin };
        for (queue, name) in [("sales", "Sales"), ("billing", "Billing")] {
            desk.expect(
                Method::PUT,
                &format!("/admin/queues/{queue}"),
                &desk.admin,
                json!({"name": name}),
                200,
            )
            .await;
        }
        desk.expect(
            Method::PUT,
            "/admin/wrap-up-reasons",
            &desk.admin,
            json!({"reasons": ["Resolved", "Escalated"]}),
            200,
        )
        .await;
        desk.expect(
            Method::PUT,
            &format!("/admin/channels/{CHANNEL}"),
            &desk.admin,
            json!({"display_phone_number": "+1 555 0100", "chat_enabled": true, "default_queue": "sales",
                   "bot": false, "mask_sensitive_data": true, "reopen_message": "Hi again!",
                   "push_template": {"name": "follow_up", "language": "en"}}),
            200,
        )
        .await;
        for (agent, queue) in [("ana", "sales"), ("bob", "sales"), ("cid", "billing")] {
            let profile = json!({"name": agent.to_uppercase(), "role": "agent", "queues": [queue], "max_concurrent": 2});
            desk.put_agent(agent, profile, 200).await;
            let (_, me) = desk
                .app
                .call(Method::GET, "/me", Some(&desk.token(agent)), None)
                .await;
            assert_eq!(me["state"], "not_ready", "new agents start not_ready");
            desk.set_state(&desk.token(agent), "available", 200).await;
        }
        desk
    }

    pub fn token(&self, agent: &str) -> String {
        self.app.token(agent, "agent")
    }

    /// `PUT /admin/agents/{id}` as the admin, expecting `status`.
    pub async fn put_agent(&self, id: &str, profile: Value, status: u16) -> Value {
        let path = format!("/admin/agents/{}", urlencode(id));
        let admin = &self.admin;
        self.expect(Method::PUT, &path, admin, profile, status)
            .await
    }

    /// `PUT /me/state` as `token`, expecting `status`.
    pub async fn set_state(&self, token: &str, state: &str, status: u16) {
        let body = json!({ "state": state });
        self.expect(Method::PUT, "/me/state", token, body, status)
            .await;
    }

    /// Adds `id` to the directory with `role` (no queues, never offered chats).
    pub async fn hire(&self, id: &str, role: &str) -> String {
        self.put_agent(
            id,
            json!({"name": id.to_uppercase(), "role": role, "queues": [], "max_concurrent": 0}),
            200,
        )
        .await;
        self.app.token(id, role)
    }

    /// A conversation from `from` that ana took, answered, ended and wrapped
    /// up: finished, in her archive, the customer's window open.
    pub async fn finished_by_ana(&self, from: &str, text: &str) -> String {
        let ana = self.token("ana");
        let id = self.customer_writes(from, text).await;
        self.post(&id, "take", &ana, json!({}), 200).await;
        self.post(
            &id,
            "messages",
            &ana,
            json!({"text": "Hello, how can I help?"}),
            201,
        )
        .await;
        self.finish(&id, &ana).await;
        id
    }

    /// The owner (`token`) ends `id` and wraps it up as resolved: finished.
    pub async fn finish(&self, id: &str, token: &str) {
        self.post(id, "end", token, json!({}), 200).await;
        let done = self
            .post(id, "wrap-up", token, json!({"reason": "Resolved"}), 200)
            .await;
        assert_eq!(done["status"], "finished", "{done}");
    }

    /// `POST /conversations/{id}/{action}` as `token`, expecting `status`.
    pub async fn post(
        &self,
        id: &str,
        action: &str,
        token: &str,
        body: Value,
        status: u16,
    ) -> Value {
        let path = format!("/conversations/{id}/{action}");
        self.expect(Method::POST, &path, token, body, status).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.app.call(Method::GET, path, Some(token), None).await
    }

    pub async fn customer_writes(&self, from: &str, text: &str) -> String {
        let (status, answer) = self
            .app
            .post_json(
                "/_local/inbound",
                json!({"from": from, "name": "Lucía", "text": text}),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["conversation_id"].as_str().unwrap().to_owned()
    }

    pub async fn offered_to(&self, agent: &str) -> Vec<Value> {
        let (status, list) = self
            .get("/conversations?view=offered", &self.token(agent))
            .await;
        assert_eq!(status, 200);
        list["items"].as_array().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_from_offer_to_archive() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let bob = desk.token("bob");
    let id = desk
        .customer_writes(
            "34611222333",
            "Hola, my card 4111 1111 1111 1111 was charged twice",
        )
        .await;

    // Offered to the longest idle available agent of the queue: ana.
    let offers = desk.offered_to("ana").await;
    assert_eq!(offers.len(), 1);
    let offer = &offers[0];
    assert_eq!(offer["id"], id.as_str());
    assert_eq!(offer["customer"]["name"], "Lucía");
    assert_eq!(offer["customer"]["wa_id"], "34611222333");
    assert_eq!(offer["channel"]["display_phone_number"], "+1 555 0100");
    assert_eq!(offer["queue_name"], "Sales");
    assert!(offer["waiting_seconds"].as_i64().unwrap() >= 0);
    assert!(desk.offered_to("bob").await.is_empty());

    // Bob cannot accept what is not offered to him.
    let answer = desk.post(&id, "accept", &bob, json!({}), 409).await;
    assert_eq!(answer["error"]["code"], "not_offered");
    let accepted = desk.post(&id, "accept", &ana, json!({}), 200).await;
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["owner"], "ana");

    // Ana answers; WhatsApp got it; the transcript is masked for agents.
    let sent = desk
        .post(
            &id,
            "messages",
            &ana,
            json!({"text": "Let me check that for you"}),
            201,
        )
        .await;
    assert_eq!(sent["direction"], "outbound");
    assert!(sent["wamid"].as_str().unwrap().starts_with("wamid."));
    let whatsapp = desk.sent_to_whatsapp().await;
    assert_eq!(whatsapp[0]["to"], "34611222333");
    assert_eq!(whatsapp[0]["text"], "Let me check that for you");
    let (_, transcript) = desk
        .get(&format!("/conversations/{id}/messages"), &ana)
        .await;
    let first = transcript["items"][0]["text"].as_str().unwrap();
    assert!(
        !first.contains("4111 1111 1111 1111"),
        "card number masked: {first}"
    );
    assert!(first.contains("1111"));

    // Bob may not see or take it without force.
    let answer = desk.post(&id, "take", &bob, json!({}), 409).await;
    assert_eq!(answer["error"]["code"], "already_taken");
    assert_eq!(answer["error"]["owner"], "ana");

    // Transfer to bob: offered to him; ana owes a wrap-up.
    desk.post(&id, "transfer", &ana, json!({"agent": "bob"}), 200)
        .await;
    assert_eq!(desk.offered_to("bob").await.len(), 1);
    desk.post(&id, "accept", &bob, json!({}), 200).await;
    desk.post(&id, "wrap-up", &ana, json!({"reason": "Escalated"}), 200)
        .await;

    // Conference: bob invites ana, she joins, then exits and wraps up.
    desk.post(&id, "conference", &bob, json!({"agent": "ana"}), 200)
        .await;
    let joined = desk
        .post(&id, "conference/accept", &ana, json!({}), 200)
        .await;
    assert_eq!(joined["participants"], json!(["bob", "ana"]));
    let (_, transcript) = desk
        .get(&format!("/conversations/{id}/messages"), &bob)
        .await;
    assert!(transcript["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["direction"] == "system" && m["text"].as_str().unwrap().contains("ANA joined")));
    desk.post(&id, "conference/exit", &ana, json!({}), 200)
        .await;
    desk.post(&id, "wrap-up", &ana, json!({"reason": "Resolved"}), 200)
        .await;

    // A supervisor's tip-off never reaches the customer.
    let sue = desk.hire("sue", "supervisor").await;
    desk.post(&id, "notes", &sue, json!({"text": "offer a refund"}), 201)
        .await;
    assert_eq!(desk.sent_to_whatsapp().await.len(), 1);
    let (status, supervised) = desk
        .get("/supervise/conversations?status=active&agent=bob", &sue)
        .await;
    assert_eq!(status, 200);
    assert_eq!(supervised["items"][0]["id"], id.as_str());

    // End and wrap up: finished, in bob's archive, found by history search.
    let ended = desk.post(&id, "end", &bob, json!({}), 200).await;
    assert_eq!(ended["status"], "wrap_up");
    desk.post(&id, "wrap-up", &bob, json!({"reason": "Nonsense"}), 400)
        .await;
    let finished = desk
        .post(&id, "wrap-up", &bob, json!({"reason": "Resolved"}), 200)
        .await;
    assert_eq!(finished["status"], "finished");
    assert_eq!(finished["wrap_up_reason"], "Resolved");
    let (_, archive) = desk.get("/conversations?view=archive", &bob).await;
    assert_eq!(archive["items"][0]["id"], id.as_str());
    assert_eq!(archive["items"][0]["can_reopen"], true);
    assert!(archive["items"][0]["window_expires_at"].is_string());
    let (_, found) = desk
        .get("/customers/34611222333/history?q=CHARGED", &ana)
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, none) = desk
        .get("/customers/34611222333/history?q=pizza", &ana)
        .await;
    assert!(none["items"].as_array().unwrap().is_empty());
    desk.post(&id, "done", &bob, json!({}), 200).await;
    let (_, archive) = desk.get("/conversations?view=archive", &bob).await;
    assert!(archive["items"].as_array().unwrap().is_empty());

    // Capacity is back: both agents hold nothing.
    for agent in ["ana", "bob"] {
        let (_, me) = desk.get("/me", &desk.token(agent)).await;
        assert_eq!(me["active"], 0, "{agent}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unaccepted_offer_makes_the_agent_rona_and_goes_to_the_next() {
    let desk = Desk::new().await;
    let id = desk.customer_writes("34611222444", "anyone there?").await;
    assert_eq!(desk.offered_to("ana").await.len(), 1);
    let advanced = desk.advance_clock(31).await;
    assert!(advanced["timers_fired"].as_i64().unwrap() >= 1);
    let (_, ana) = desk.get("/me", &desk.token("ana")).await;
    assert_eq!(ana["state"], "rona");
    assert_eq!(ana["active"], 0);
    let offers = desk.offered_to("bob").await;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["id"], id.as_str());
    // RONA is left only by the agent.
    desk.set_state(&desk.token("ana"), "rona", 400).await;
    desk.set_state(&desk.token("ana"), "available", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_kept_to_their_own_conversations() {
    let desk = Desk::new().await;
    let id = desk.customer_writes("34611222555", "hello").await;
    let cid = desk.token("cid");
    for (method, path) in [
        (Method::GET, format!("/conversations/{id}")),
        (Method::GET, format!("/conversations/{id}/messages")),
    ] {
        let (status, answer) = desk.app.call(method, &path, Some(&cid), None).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    desk.post(&id, "take", &cid, json!({}), 403).await;
    // An agent of another queue is refused before anything about the
    // conversation's state is said (it would have been 409: not active).
    desk.post(&id, "end", &cid, json!({}), 403).await;
    let (status, _) = desk.get("/supervise/conversations", &cid).await;
    assert_eq!(status, 403);
    desk.expect(
        Method::PUT,
        "/admin/queues/x",
        &cid,
        json!({"name": "X"}),
        403,
    )
    .await;
    let (status, answer) = desk.app.call(Method::GET, "/me", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "unauthenticated");
    let (status, _) = desk
        .app
        .call(Method::GET, "/me", Some("not.a.jwt"), None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let id = desk.customer_writes("34611222666", "hi").await;
    desk.post(&id, "accept", &ana, json!({}), 200).await;
    let path = format!("/conversations/{id}/messages");
    for (body, needle) in [
        (json!({"text": "x".repeat(4097)}), "4096"),
        // No link an agent names is ever fetched: only uploads are sent.
        (
            json!({"attachment": {"url": "https://files.example.com/x.pdf", "upload_id": "x"}}),
            "unknown field `url`",
        ),
        (
            json!({"attachment": {"upload_id": "6d1f0b5e-0000-4000-8000-000000000000"}}),
            "no such upload",
        ),
        (
            json!({"text": "a", "attachment": {"upload_id": "6d1f0b5e-0000-4000-8000-000000000000"}}),
            "either",
        ),
        (json!({}), "either"),
    ] {
        let answer = desk.expect(Method::POST, &path, &ana, body, 400).await;
        assert_eq!(answer["error"]["code"], "invalid_request");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{answer}"
        );
    }
    let response = desk
        .app
        .http
        .post(desk.app.url(&path))
        .bearer_auth(&ana)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "invalid_request");
    let (_, transcript) = desk.get(&path, &ana).await;
    assert_eq!(
        transcript["items"].as_array().unwrap().len(),
        1,
        "nothing was sent"
    );
    assert!(desk.sent_to_whatsapp().await.is_empty());

    // An agent cannot tell an unknown conversation from one they may not
    // see; an admin, who may see every conversation, is told it is not there.
    let unknown = "0190f0a0-0000-7000-8000-000000000000";
    desk.post(unknown, "accept", &ana, json!({}), 403).await;
    desk.post(unknown, "accept", &desk.admin, json!({}), 404)
        .await;
    let (status, _) = desk.get("/conversations/not-a-uuid", &ana).await;
    assert_eq!(status, 404);
    let (status, answer) = desk.get("/conversations?view=everything", &ana).await;
    assert_eq!(status, 400, "{answer}");
    // An unknown queue, an agent who could take no chat, an unknown role.
    for profile in [
        json!({"name": "Dan", "role": "agent", "queues": ["nope"], "max_concurrent": 2}),
        json!({"name": "Dan", "role": "agent", "queues": ["sales"], "max_concurrent": 0}),
        json!({"name": "Dan", "role": "wizard", "queues": ["sales"], "max_concurrent": 2}),
    ] {
        desk.put_agent("dan", profile, 400).await;
    }
    desk.expect(
        Method::PUT,
        "/admin/wrap-up-reasons",
        &desk.admin,
        json!({"reasons": []}),
        400,
    )
    .await;
}

/// Many conversations arriving at once, for agents with `max_concurrent = 2`:
/// no agent is ever offered or given more than 2.
pub async fn concurrent_arrivals_respect_capacity<S: DeskStore + Clone>(store: S) {
    let now = now_seconds();
    let app = services(store, now);
    open_default_queue(&app.store).await;
    for name in ["ana", "bob", "cid"] {
        let id = AgentId::parse(name).unwrap();
        hire_agent(&app, &id, name, 2).await;
        wadesk_app::desk::set_state(&app, &id, AgentState::Available)
            .await
            .unwrap();
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let app = Arc::clone(&app);
        tasks.spawn(async move {
            let key = customer(&format!("3469900{n:04}"));
            let outcome = receive_message(
                &app,
                text_message(&key, &format!("wamid.CAP{n}"), now, "hi"),
            )
            .await
            .unwrap();
            if let InboundOutcome::Stored {
                conversation_id,
                started: true,
                ..
            } = outcome
            {
                wadesk_app::desk::route(&app, conversation_id)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    let unanswered = app
        .store
        .list_by_status(ConversationStatus::Unanswered)
        .await
        .unwrap();
    assert_eq!(unanswered.len(), 12);
    let mut offered_total = 0;
    for name in ["ana", "bob", "cid"] {
        let id = AgentId::parse(name).unwrap();
        let agent = app.store.get_agent(&id).await.unwrap().unwrap();
        let offered = unanswered
            .iter()
            .filter(|c| c.offered_to.as_ref() == Some(&id))
            .count();
        assert!(offered <= 2, "{name} was offered {offered}");
        assert_eq!(
            agent.load as usize, offered,
            "{name}'s load matches their offers"
        );
        offered_total += offered;
    }
    assert_eq!(
        offered_total, 6,
        "every agent is filled to capacity, no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_arrivals_respect_capacity_embedded() {
    concurrent_arrivals_respect_capacity(wadesk_tests::embedded_store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_arrivals_respect_capacity_dynamodb() {
    concurrent_arrivals_respect_capacity(wadesk_tests::dynamo_store(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_chat_disabled_messages_are_kept_answered_and_not_queued() {
    let desk = Desk::new().await;
    desk.expect(
        Method::PUT,
        &format!("/admin/channels/{CHANNEL}"),
        &desk.admin,
        json!({"display_phone_number": "+1 555 0100", "chat_enabled": false, "default_queue": "sales",
               "reopen_message": "Hi again!"}),
        200,
    )
    .await;
    let (status, answer) = desk
        .app
        .post_json(
            "/_local/inbound",
            json!({"from": "34611222777", "name": "Eva", "text": "is anyone there?"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["conversation_status"], "finished");
    let items = desk.sent_to_whatsapp().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["to"], "34611222777");
    assert!(items[0]["text"].as_str().unwrap().contains("not available"));
    assert!(desk.offered_to("ana").await.is_empty());
    assert!(desk.offered_to("bob").await.is_empty());
    let (_, history) = desk
        .get(
            "/customers/34611222777/history?q=anyone",
            &desk.token("ana"),
        )
        .await;
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        1,
        "the message is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_above_the_limit_warns_but_does_not_block() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    // Busy agents are not offered anything, so every conversation waits to be taken.
    desk.set_state(&ana, "not_ready", 200).await;
    desk.set_state(&desk.token("bob"), "not_ready", 200).await;
    let mut answers = Vec::new();
    for n in 0..3 {
        let id = desk.customer_writes(&format!("3461122288{n}"), "hi").await;
        answers.push(desk.post(&id, "take", &ana, json!({}), 200).await);
    }
    assert!(
        answers[1].get("warnings").is_none(),
        "2 of 2 is within the limit"
    );
    let warning = answers[2]["warnings"][0].as_str().unwrap();
    assert!(warning.contains("above your limit of 2"), "{warning}");
    let (_, me) = desk.get("/me", &ana).await;
    assert_eq!(me["active"], 3);
}
