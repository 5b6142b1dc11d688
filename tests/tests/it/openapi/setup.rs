//! The state an area's test starts from, built through the API as setup
//! (`Contract::given`: checked against the document, not counted as covered).

use reqwest::Method as M;
use serde_json::{json, Value};

use super::contract::Contract;

pub(super) const CHANNEL: &str = "100000000000001";
/// The first bytes of a PDF: what the send's content check looks for.
pub(super) const PDF_HEAD: &[u8] =
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
/// A 1×1 PNG.
pub(super) const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
pub(super) const UNCONFIGURED_CHANNEL: &str = "100000000000099";
pub(super) const BOT_CHANNEL: &str = "100000000000077";
/// An id no conversation has.
pub(super) const UNKNOWN_ID: &str = "0190f0a0-0000-7000-8000-000000000000";
/// Lucía, who writes on `CHANNEL`.
pub(super) const LUCIA: &str = "34611222333";

/// Tokens of the directory's people (`directory`).
pub(super) struct Tokens {
    admin: String,
    ana: String,
    bob: String,
    cid: String,
    sue: String,
    bot: String,
}

impl Tokens {
    /// `[admin, ana, bob, cid, sue, bot]`.
    pub(super) fn all(&self) -> [Option<&str>; 6] {
        [
            &self.admin,
            &self.ana,
            &self.bob,
            &self.cid,
            &self.sue,
            &self.bot,
        ]
        .map(|token| Some(token.as_str()))
    }
}

/// A fresh stack, nothing in its directory but the bootstrap admin.
pub(super) async fn stack() -> (Contract, Tokens) {
    let c = Contract::spawn().await;
    let app = &c.app;
    let tokens = Tokens {
        admin: app.token("root", "admin"),
        ana: app.token("ana", "agent"),
        bob: app.token("bob", "agent"),
        cid: app.token("cid", "agent"),
        sue: app.token("sue", "supervisor"),
        bot: app.token("helper-bot", "bot"),
    };
    (c, tokens)
}

/// The admin's directory: queues sales and billing, the wrap-up reasons,
/// `CHANNEL` (sales, masking) and `UNCONFIGURED_CHANNEL` (billing); ana and
/// bob in sales, cid in billing, sue supervising sales, the bot; all not ready.
/// Called outside a `Setup` by the admin area, which covers these routes.
pub(super) async fn directory(c: &Contract, tokens: &Tokens) {
    let [admin, ..] = tokens.all();
    for (queue, name) in [("sales", "Sales"), ("billing", "Billing")] {
        c.expect(
            M::PUT,
            &format!("/admin/queues/{queue}"),
            admin,
            Some(json!({"name": name})),
            200,
        )
        .await;
    }
    c.expect(
        M::PUT,
        "/admin/wrap-up-reasons",
        admin,
        Some(json!({"reasons": ["Resolved", "Escalated", " Resolved "]})),
        200,
    )
    .await;
    let channel = json!({"display_phone_number": "+1 555 0100", "chat_enabled": true, "default_queue": "sales",
                         "bot": false, "mask_sensitive_data": true, "reopen_message": "Hi again!",
                         "push_template": {"name": "follow_up", "language": "en"}});
    c.expect(
        M::PUT,
        &format!("/admin/channels/{CHANNEL}"),
        admin,
        Some(channel),
        200,
    )
    .await;
    c.expect(M::PUT, &format!("/admin/channels/{UNCONFIGURED_CHANNEL}"), admin,
        Some(json!({"display_phone_number": "+1 555 0199", "default_queue": "billing", "reopen_message": "Hello"})), 200).await;
    for (agent, role, queue) in [
        ("ana", "agent", "sales"),
        ("bob", "agent", "sales"),
        ("cid", "agent", "billing"),
        ("sue", "supervisor", "sales"),
        ("helper-bot", "bot", "sales"),
    ] {
        let created = c
            .expect(M::PUT, &format!("/admin/agents/{agent}"), admin,
                Some(json!({"name": agent.to_uppercase(), "role": role, "queues": [queue], "max_concurrent": 2})), 200)
            .await;
        assert_eq!(created["state"], "not_ready");
    }
}

/// ana, bob and cid become available, in that order (ana is the longest
/// idle of sales, so sales' chats are offered to her first).
/// Called outside a `Setup` by the sign-in area, which covers the route.
pub(super) async fn available(c: &Contract, tokens: &Tokens) {
    let [_, ana, bob, cid, ..] = tokens.all();
    for token in [ana, bob, cid] {
        let me = c
            .expect(
                M::PUT,
                "/me/state",
                token,
                Some(json!({"state": "available"})),
                200,
            )
            .await;
        assert_eq!(me["state"], "available");
    }
}

/// A stack with the directory and its agents available.
pub(super) async fn desk() -> (Contract, Tokens) {
    let (c, tokens) = stack().await;
    {
        let _setup = c.setup();
        directory(&c, &tokens).await;
        available(&c, &tokens).await;
    }
    (c, tokens)
}

/// The runner's date now (its clock moves when a test advances it).
pub(super) async fn runner_today(c: &Contract) -> chrono::NaiveDate {
    let clock = c.given(M::GET, "/_local/clock", None, None, 200).await;
    chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .date_naive()
}

/// A customer's message through the runner (`POST /_local/inbound`); answers
/// the runner's answer.
pub(super) async fn customer_writes(c: &Contract, message: Value) -> Value {
    c.given(M::POST, "/_local/inbound", None, Some(message), 200)
        .await
}

/// `(id, path)` of the conversation a `POST /_local/inbound` answer names.
pub(super) fn conversation_of(inbound: &Value) -> (String, String) {
    let id = inbound["conversation_id"].as_str().unwrap().to_owned();
    let path = format!("/conversations/{id}");
    (id, path)
}

/// Lucía writes on `CHANNEL` with a card number (masked there): offered to ana.
pub(super) async fn lucia_writes(c: &Contract) -> (String, String) {
    conversation_of(
        &customer_writes(
            c,
            json!({"from": LUCIA, "name": "Lucía",
            "text": "Hola, my card 4111 1111 1111 1111 was charged twice"}),
        )
        .await,
    )
}

/// Lucía's conversation, accepted by ana.
pub(super) async fn accepted_by_ana(c: &Contract, tokens: &Tokens) -> (String, String) {
    let [_, ana, ..] = tokens.all();
    let (id, conversation) = lucia_writes(c).await;
    c.given(M::POST, &format!("{conversation}/accept"), ana, None, 200)
        .await;
    (id, conversation)
}

/// Lucía's conversation, accepted by ana, transferred to bob who accepted it;
/// ana has wrapped up her part.
pub(super) async fn owned_by_bob(c: &Contract, tokens: &Tokens) -> (String, String) {
    let [_, ana, bob, ..] = tokens.all();
    let (id, conversation) = accepted_by_ana(c, tokens).await;
    c.given(
        M::POST,
        &format!("{conversation}/transfer"),
        ana,
        Some(json!({"agent": "bob"})),
        200,
    )
    .await;
    c.given(M::POST, &format!("{conversation}/accept"), bob, None, 200)
        .await;
    c.given(
        M::POST,
        &format!("{conversation}/wrap-up"),
        ana,
        Some(json!({"reason": "Escalated"})),
        200,
    )
    .await;
    (id, conversation)
}

/// The owner ends `conversation` and wraps it up: finished.
pub(super) async fn finish(c: &Contract, conversation: &str, owner: Option<&str>) {
    c.given(M::POST, &format!("{conversation}/end"), owner, None, 200)
        .await;
    let finished = c
        .given(
            M::POST,
            &format!("{conversation}/wrap-up"),
            owner,
            Some(json!({"reason": "Resolved"})),
            200,
        )
        .await;
    assert_eq!(finished["status"], "finished", "{finished}");
}

/// Lucía's conversation, finished by bob, reopened by him, answered by
/// Lucía, finished and reopened by him again: bob's two reopens in sales.
pub(super) async fn reopened_twice_by_bob(c: &Contract, tokens: &Tokens) -> String {
    let [_, _, bob, ..] = tokens.all();
    let (_, conversation) = owned_by_bob(c, tokens).await;
    finish(c, &conversation, bob).await;
    c.given(M::POST, &format!("{conversation}/reopen"), bob, None, 200)
        .await;
    customer_writes(
        c,
        json!({"from": LUCIA, "name": "Lucía", "text": "yes please"}),
    )
    .await;
    finish(c, &conversation, bob).await;
    c.given(M::POST, &format!("{conversation}/reopen"), bob, None, 200)
        .await;
    conversation
}

/// A second customer (not Lucía) writes: the path of their new conversation.
pub(super) async fn second_customer_writes(c: &Contract) -> String {
    let inbound = customer_writes(c, json!({"from": "34611222444", "text": "anyone?"})).await;
    conversation_of(&inbound).1
}

/// A second customer's conversation, taken by ana, 25 hours later: its
/// 24-hour window has closed and its timers fired.
pub(super) async fn taken_by_ana_past_the_window(c: &Contract, tokens: &Tokens) -> String {
    let [_, ana, ..] = tokens.all();
    let conversation = second_customer_writes(c).await;
    let taken = c
        .given(
            M::POST,
            &format!("{conversation}/take"),
            ana,
            Some(json!({"force": true})),
            200,
        )
        .await;
    assert_eq!(taken["owner"], "ana");
    let advanced = c
        .given(
            M::POST,
            "/_local/clock/advance",
            None,
            Some(json!({"seconds": 25 * 3600})),
            200,
        )
        .await;
    assert!(advanced["timers_fired"].as_u64().unwrap() >= 1);
    conversation
}
