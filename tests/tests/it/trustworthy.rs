//! The desk as an attacker and a new user meet it, over HTTP through the local
//! runner: follow-ups after a reopen, 403 before anything about a
//! conversation's state, roles from the directory, subjects as identity
//! providers issue them, history search without an oracle, masking on every
//! customer field, bounded lists, and a runner that is safe on a laptop.

use reqwest::Method;
use serde_json::{json, Value};
use wadesk_tests::urlencode;

use crate::desk::Desk;

const CARD: &str = "4111111111111111";

impl Desk {
    async fn sent_to(&self, wa_id: &str) -> Vec<Value> {
        let mut sent = self.sent_to_whatsapp().await;
        sent.retain(|m| m["to"] == wa_id);
        sent
    }
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopening_agent_follows_up_at_once_and_a_message_to_a_finished_chat_reopens_it() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");

    // Reopen, then two follow-ups without waiting for the customer.
    let id = desk.finished_by_ana("34611000101", "hello").await;
    desk.post(&id, "reopen", &ana, json!({}), 200).await;
    for text in ["We found your order", "It ships tomorrow"] {
        let sent = desk
            .post(&id, "messages", &ana, json!({"text": text}), 201)
            .await;
        assert_eq!(sent["direction"], "outbound");
    }
    assert_eq!(
        texts(&desk.sent_to("34611000101").await),
        [
            "Hello, how can I help?",
            "Hi again!",
            "We found your order",
            "It ships tomorrow"
        ]
    );
    // Only the reopening agent: bob (same queue) is told it is taken.
    let taken = desk
        .post(
            &id,
            "messages",
            &desk.token("bob"),
            json!({"text": "me too"}),
            409,
        )
        .await;
    assert_eq!(taken["error"]["code"], "already_taken");

    // A message to a finished conversation inside the window: the reopen
    // message, then the agent's, in one 2xx answer.
    let other = desk.finished_by_ana("34611000102", "hi").await;
    let sent = desk
        .post(
            &other,
            "messages",
            &ana,
            json!({"text": "One more thing"}),
            201,
        )
        .await;
    assert_eq!(sent["text"], "One more thing");
    assert_eq!(
        texts(&desk.sent_to("34611000102").await),
        ["Hello, how can I help?", "Hi again!", "One more thing"]
    );
    let (_, conversation) = desk.get(&format!("/conversations/{other}"), &ana).await;
    assert_eq!(conversation["status"], "reopened");
    assert_eq!(conversation["origin"], "agent_reopen");
    // Counted once as agent-initiated (with the explicit reopen above: 2).
    let sue = desk.hire("sue", "supervisor").await;
    let (_, figures) = desk.get("/analytics/chat-statistics?agent=ana", &sue).await;
    assert_eq!(figures["agent_initiated"], 2, "{figures}");

    // After a push (window closed), free text waits for the customer's reply.
    let pushed = desk.finished_by_ana("34611000103", "hey").await;
    desk.advance_clock(86_401).await;
    desk.post(&pushed, "push", &ana, json!({}), 200).await;
    let closed = desk
        .post(
            &pushed,
            "messages",
            &ana,
            json!({"text": "Are you there?"}),
            409,
        )
        .await;
    assert_eq!(closed["error"]["code"], "window_closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_may_not_gets_403_before_anything_about_the_state() {
    let desk = Desk::new().await;
    let cid = desk.token("cid"); // billing; the conversations are sales'
    let unanswered = desk.customer_writes("34611000201", "queued").await;
    let active = desk.customer_writes("34611000202", "talking").await;
    desk.post(&active, "take", &desk.token("ana"), json!({}), 200)
        .await;
    let finished = desk.finished_by_ana("34611000203", "done").await;
    let unknown = "0190f0a0-0000-7000-8000-000000000000".to_owned();
    let actions: [(&str, Value); 16] = [
        ("accept", json!({})),
        ("take", json!({})),
        ("take", json!({"force": true})),
        ("messages", json!({"text": "hi"})),
        ("transfer", json!({"queue": "billing"})),
        ("conference", json!({"agent": "bob"})),
        ("conference/accept", json!({})),
        ("conference/exit", json!({})),
        ("conference/end", json!({})),
        ("end", json!({})),
        ("wrap-up", json!({"reason": "Resolved"})),
        ("done", json!({})),
        ("notes", json!({"text": "psst"})),
        ("handoff", json!({"queue": "billing"})),
        ("reopen", json!({})),
        ("push", json!({})),
    ];
    for id in [&unanswered, &active, &finished, &unknown] {
        for path in [
            format!("/conversations/{id}"),
            format!("/conversations/{id}/messages"),
        ] {
            let (status, answer) = desk.get(&path, &cid).await;
            assert_eq!(status, 403, "GET {path}: {answer}");
            assert_eq!(answer["error"]["code"], "forbidden");
        }
        for (action, body) in &actions {
            let path = format!("/conversations/{id}/{action}");
            let answer = desk
                .expect(Method::POST, &path, &cid, body.clone(), 403)
                .await;
            assert_eq!(answer["error"]["code"], "forbidden", "{path}");
            assert!(answer["error"].get("owner").is_none(), "{path}: {answer}");
        }
    }
    // Nothing of it reached the customer.
    assert!(desk.sent_to("34611000201").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_decides_roles_and_the_token_only_who_is_calling() {
    let desk = Desk::new().await;
    // A role claim counts for nothing: a subject the directory does not know
    // is refused on every agent route.
    let ghost = desk.app.token("ghost", "admin");
    for (method, path) in [
        (Method::GET, "/me"),
        (Method::PUT, "/me/state"),
        (Method::GET, "/conversations"),
        (Method::GET, "/customers/34611000301/history"),
        (Method::GET, "/supervise/conversations"),
        (Method::GET, "/admin/agents"),
        (Method::PUT, "/admin/queues/x"),
        (
            Method::POST,
            "/conversations/0190f0a0-0000-7000-8000-000000000000/take",
        ),
        (
            Method::POST,
            "/conversations/0190f0a0-0000-7000-8000-000000000000/reopen",
        ),
        (Method::GET, "/analytics/chat-statistics"),
    ] {
        let (status, answer) = desk
            .app
            .call(
                method.clone(),
                path,
                Some(&ghost),
                Some(json!({"name": "X", "state": "available"})),
            )
            .await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_in_directory", "{path}");
    }

    // A demoted admin loses the admin routes on their next request.
    let boss = desk.hire("boss", "admin").await;
    desk.expect(
        Method::PUT,
        "/admin/queues/vip",
        &boss,
        json!({"name": "VIP"}),
        200,
    )
    .await;
    desk.put_agent(
        "boss",
        json!({"name": "Boss", "role": "agent", "queues": ["sales"], "max_concurrent": 1}),
        200,
    )
    .await;
    let refused = desk
        .expect(
            Method::PUT,
            "/admin/queues/vip",
            &boss,
            json!({"name": "VIP"}),
            403,
        )
        .await;
    assert_eq!(refused["error"]["code"], "forbidden");
    let (status, _) = desk.get("/admin/agents", &boss).await;
    assert_eq!(status, 403);
    let (_, me) = desk.get("/me", &boss).await;
    assert_eq!(me["role"], "agent");

    // The bootstrap admin works without a directory entry.
    let (status, me) = desk.get("/me", &desk.admin).await;
    assert_eq!((status, &me["role"]), (200, &json!("admin")));

    // Supervisors and admins may have max_concurrent 0 (never offered chats);
    // agents may not.
    desk.hire("sue", "supervisor").await;
    let (_, sue) = desk.get("/me", &desk.app.token("sue", "agent")).await;
    assert_eq!(
        (&sue["role"], &sue["max_concurrent"]),
        (&json!("supervisor"), &json!(0))
    );
    desk.put_agent(
        "dan",
        json!({"name": "Dan", "role": "agent", "queues": ["sales"], "max_concurrent": 0}),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_as_identity_providers_issue_them_work_end_to_end() {
    let desk = Desk::new().await;
    // Nobody else may take the offers: ana and bob step away.
    for agent in ["ana", "bob"] {
        desk.set_state(&desk.token(agent), "not_ready", 200).await;
    }
    for (n, subject) in [
        "auth0|abc123",
        "google-oauth2|104872340923487234",
        "3f9c1a52-7b4e-4d2a-9c61-0e8f2b7a5d13",
        "ana.garcia@example.com",
        "user#1%2F",
    ]
    .into_iter()
    .enumerate()
    {
        let created = desk
            .put_agent(
                subject,
                json!({"name": "Ana", "role": "agent", "queues": ["sales"], "max_concurrent": 1}),
                200,
            )
            .await;
        assert_eq!(created["id"], subject);
        let token = desk.app.token(subject, "agent");
        let (_, me) = desk.get("/me", &token).await;
        assert_eq!(me["id"], subject);
        desk.set_state(&token, "available", 200).await;
        let from = format!("3461100040{n}");
        let id = desk.customer_writes(&from, "hola").await;
        let (_, offered) = desk.get("/conversations?view=offered", &token).await;
        assert_eq!(
            offered["items"][0]["id"],
            id.as_str(),
            "{subject}: {offered}"
        );
        let accepted = desk.post(&id, "accept", &token, json!({}), 200).await;
        assert_eq!(accepted["owner"], subject);
        desk.post(
            &id,
            "messages",
            &token,
            json!({"text": "¿En qué puedo ayudarle?"}),
            201,
        )
        .await;
        assert_eq!(
            texts(&desk.sent_to(&from).await),
            ["¿En qué puedo ayudarle?"]
        );
        let (_, active) = desk.get("/conversations?view=active", &token).await;
        assert_eq!(active["items"][0]["id"], id.as_str());
        // Done with this one: the next subject gets the next offer.
        desk.set_state(&token, "not_ready", 200).await;
    }
    // Longer than 128 characters, or with white space: refused.
    for bad in ["a".repeat(129), "two words".to_owned()] {
        desk.put_agent(
            &bad,
            json!({"name": "X", "role": "agent", "queues": ["sales"], "max_concurrent": 1}),
            400,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_search_finds_only_what_the_caller_may_see_as_they_see_it() {
    let desk = Desk::new().await;
    let customer = "34611000501";
    // Two finished conversations; the channel masks, so the card reads
    // `[card •••• 1111]` to agents.
    desk.finished_by_ana(customer, &format!("my card is {CARD}"))
        .await;
    desk.finished_by_ana(customer, "where is my parcel?").await;
    let ana = desk.token("ana");
    let desk = &desk;
    let search = |q: &str, token: &str| {
        let path = format!("/customers/{customer}/history?q={}", urlencode(q));
        let token = token.to_owned();
        async move { desk.get(&path, &token).await }
    };
    // No digit-by-digit oracle: the masked digits are never found...
    for q in ["4111", "41111111", CARD, "4111 1111"] {
        let (status, found) = search(q, &ana).await;
        assert_eq!(status, 200);
        assert_eq!(found["items"], json!([]), "q={q}");
    }
    // ...what the agent sees is.
    let (_, found) = search("parcel", &ana).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, found) = search("card ••••", &ana).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    // An agent of another queue finds nothing at all.
    let cid = desk.token("cid");
    for q in ["parcel", "card", ""] {
        let (status, found) = search(q, &cid).await;
        assert_eq!(status, 200);
        assert_eq!(found["items"], json!([]), "cid q={q}");
    }
    // Paginated.
    let (_, first) = desk
        .get(&format!("/customers/{customer}/history?limit=1"), &ana)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = desk
        .get(
            &format!("/customers/{customer}/history?limit=1&cursor={cursor}"),
            &ana,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
}

/// A signed Cloud API body with one message of `kind` (its JSON object).
fn cloud_message(from: &str, wamid: &str, sent_at: i64, kind: &str, content: Value) -> String {
    let mut message = json!({
        "from": from, "id": wamid, "timestamp": sent_at.to_string(),
        "type": kind,
    });
    message[kind] = content;
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": "100000000000001"},
            "contacts": [{"profile": {"name": "Lucía"}, "wa_id": from}],
            "messages": [message]
        }}]}]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_supplied_field_is_masked_for_agents() {
    let desk = Desk::new().await;
    let from = "34611000601";
    let dotted = "4111.1111.1111.1111";
    let fullwidth = "４１１１ １１１１ １１１１ １１１１";
    let messages = [
        (
            "image",
            json!({"id": "M1", "mime_type": "image/jpeg", "caption": format!("photo of card {dotted}")}),
        ),
        (
            "document",
            json!({"id": "M2", "mime_type": "application/pdf", "filename": format!("statement-{CARD}.pdf"), "caption": "my statement"}),
        ),
        (
            "location",
            json!({"latitude": 40.4, "longitude": -3.7, "name": format!("Card {fullwidth}"), "address": "Calle 4111/1111/1111/1111"}),
        ),
        (
            "contacts",
            json!([{"name": {"formatted_name": "Ana", "first_name": "Ana"}, "phones": [{"phone": CARD}], "org": {"company": format!("Acme {dotted}")}}]),
        ),
        (
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "b1", "title": format!("Pay with {CARD}")}}),
        ),
        (
            "text",
            json!({"body": format!("also 4111-1111-1111-1111 and {fullwidth}")}),
        ),
    ];
    // A second apart, so the transcript's order is the sending order.
    let start = chrono::Utc::now().timestamp() - 10;
    for (n, (kind, content)) in (0_i64..).zip(messages) {
        let body = cloud_message(from, &format!("wamid.MASK{n}"), start + n, kind, content);
        let signature = wadesk_whatsapp::signature::sign(
            desk.app.settings.app_secret.as_bytes(),
            body.as_bytes(),
        );
        let response = desk
            .app
            .http
            .post(desk.app.url("/webhook"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{kind}");
    }
    let sue = desk.hire("sue", "supervisor").await;
    let (_, queued) = desk
        .get("/supervise/conversations?status=unanswered", &sue)
        .await;
    let id = queued["items"][0]["id"].as_str().unwrap().to_owned();
    let ana = desk.token("ana");
    desk.post(&id, "take", &ana, json!({}), 200).await;
    let (status, transcript) = desk
        .get(&format!("/conversations/{id}/messages"), &ana)
        .await;
    assert_eq!(status, 200);
    let items = transcript["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{transcript}");
    let kinds: Vec<&str> = items.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "image",
            "document",
            "location",
            "contacts",
            "interactive",
            "text"
        ]
    );
    // No string of the answer holds the card's digits in sequence, whatever
    // the digits' script and separators.
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(fields) => fields.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(&transcript, &mut all);
    for text in &all {
        let digits: String = text
            .chars()
            .filter_map(|c| {
                c.to_digit(10)
                    .or_else(|| ('０'..='９').contains(&c).then(|| c as u32 - '０' as u32))
            })
            .filter_map(|d| char::from_digit(d, 10))
            .collect();
        assert!(!digits.contains(CARD), "{text:?} in {transcript}");
    }
    assert!(
        transcript.to_string().contains("[card •••• 1111]"),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paginated_and_their_views_checked() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    // ana and bob step away so the conversations wait unanswered.
    for agent in ["ana", "bob"] {
        desk.set_state(&desk.token(agent), "not_ready", 200).await;
    }
    let mut waiting = Vec::new();
    for n in 0..3 {
        waiting.push(desk.customer_writes(&format!("3461100070{n}"), "hi").await);
        // A second apart: oldest first is then the order they came in.
        desk.app
            .post_json("/_local/clock/advance", json!({"seconds": 1}))
            .await;
    }
    let (_, first) = desk
        .get("/conversations?view=unanswered&limit=2", &ana)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = desk
        .get(
            &format!("/conversations?view=unanswered&limit=2&cursor={cursor}"),
            &ana,
        )
        .await;
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, waiting, "oldest first, each once");
    assert!(second["next_cursor"].is_null());
    // Views are checked and each given once.
    let (status, both) = desk
        .get("/conversations?view=unanswered,unanswered", &ana)
        .await;
    assert_eq!(status, 200);
    assert_eq!(both["items"].as_array().unwrap().len(), 3);
    for bad in [
        "/conversations?view=everything",
        "/conversations?limit=0",
        "/conversations?limit=101",
        "/conversations?limit=ten",
        "/conversations?cursor=bm9wZQ",
        "/supervise/conversations?limit=500",
        "/conversations/0190f0a0-0000-7000-8000-000000000000/messages?limit=101",
    ] {
        let token = if bad.starts_with("/supervise") {
            desk.hire("sue", "supervisor").await
        } else {
            ana.clone()
        };
        let (status, answer) = desk.get(bad, &token).await;
        assert!(
            status == 400 || (status == 403 && bad.contains("/messages")),
            "{bad}: {status} {answer}"
        );
    }
}

#[tokio::test]
async fn the_runner_refuses_foreign_hosts_and_oversized_bodies() {
    let app = wadesk_tests::TestApp::spawn().await;
    // DNS rebinding: a page's name pointed at 127.0.0.1.
    let response = app
        .http
        .get(app.url("/_local/sent"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 421);
    for host in ["localhost", "127.0.0.1:8080", "[::1]:8080", "app.localhost"] {
        let response = app
            .http
            .get(app.url("/_local/clock"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = app
        .http
        .post(app.url("/webhook"))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
}

/// The console's live socket: hints within a moment to whom they concern,
/// nothing to an agent of another queue, and no socket without a directory
/// entry. The console's keep-alive frame (the one API Gateway's `$default`
/// route takes on AWS) leaves the socket open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_socket_tells_each_agent_what_concerns_them() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let desk = Desk::new().await;
    let ws = |token: String| {
        let url = format!(
            "{}/live?token={token}",
            desk.app.address.replacen("http", "ws", 1)
        );
        async move { tokio_tungstenite::connect_async(url).await }
    };
    let (mut ana, _) = ws(desk.token("ana")).await.unwrap();
    let (mut cid, _) = ws(desk.token("cid")).await.unwrap();
    let refused = ws(desk.app.token("ghost", "admin")).await;
    assert!(
        refused.is_err(),
        "a subject not in the directory gets no socket"
    );
    ana.send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();

    let id = desk.customer_writes("34611000801", "hola").await;
    let hint = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        loop {
            if let Some(Ok(Message::Text(text))) = ana.next().await {
                let hint: Value = serde_json::from_str(&text).unwrap();
                if hint["type"] == "ConversationOffered" {
                    return hint;
                }
            }
        }
    })
    .await
    .expect("the offer reaches ana's console within a second");
    assert_eq!(hint["conversation_id"], id.as_str());
    assert_eq!(hint["agent"], "ana");
    assert!(hint.get("text").is_none(), "hints carry no content: {hint}");
    // cid (billing) hears nothing of a sales conversation.
    let heard = tokio::time::timeout(std::time::Duration::from_millis(300), async {
        loop {
            if let Some(Ok(Message::Text(text))) = cid.next().await {
                return text.to_string();
            }
        }
    })
    .await;
    assert!(heard.is_err(), "cid was told: {heard:?}");
}
