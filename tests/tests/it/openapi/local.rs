//! The local runner's own routes, the webhook, signing in, and the answers to
//! callers who are not who they should be.

use reqwest::Method as M;
use serde_json::json;

use super::contract::Contract;
use super::setup::{self, LUCIA, UNCONFIGURED_CHANNEL, UNKNOWN_ID};

pub(super) const LOCAL_ROUTES_COVERED: &[(&str, &str)] = &[
    ("GET", "/openapi.json"),
    ("GET", "/_local/clock"),
    ("POST", "/_local/token"),
    ("POST", "/_local/clock/advance"),
    ("POST", "/_local/inbound"),
    ("GET", "/_local/conversations/{id}"),
    ("GET", "/_local/events"),
    ("GET", "/_local/timers"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_routes() {
    let (c, _) = setup::desk().await;

    // The runner serves this very document.
    let served = c.expect(M::GET, "/openapi.json", None, None, 200).await;
    assert_eq!(served, c.doc, "GET /openapi.json serves docs/openapi.json");

    c.expect(M::GET, "/_local/clock", None, None, 200).await;
    let minted = c
        .expect(
            M::POST,
            "/_local/token",
            None,
            Some(json!({"sub": "ana"})),
            200,
        )
        .await;
    assert!(minted["token"].as_str().unwrap().contains('.'));
    c.expect_error(
        M::POST,
        "/_local/token",
        None,
        Some(json!({"sub": "ana", "role": "wizard"})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::POST,
        "/_local/clock/advance",
        None,
        Some(json!({"seconds": -1})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::POST,
        "/_local/inbound",
        None,
        Some(json!({"text": "no sender"})),
        400,
        "invalid_request",
    )
    .await;

    let inbound = c
        .expect(M::POST, "/_local/inbound", None,
            Some(json!({"from": LUCIA, "name": "Lucía", "text": "Hola, my card 4111 1111 1111 1111 was charged twice"})), 200)
        .await;
    let (id, _) = setup::conversation_of(&inbound);
    c.expect(
        M::GET,
        &format!("/_local/conversations/{id}"),
        None,
        None,
        200,
    )
    .await;
    c.expect_error(
        M::GET,
        &format!("/_local/conversations/{UNKNOWN_ID}"),
        None,
        None,
        404,
        "not_found",
    )
    .await;
    c.expect(M::GET, "/_local/events", None, None, 200).await;
    let timers = c.expect(M::GET, "/_local/timers", None, None, 200).await;
    assert!(!timers["items"].as_array().unwrap().is_empty());

    c.covered_exactly(LOCAL_ROUTES_COVERED);
}

pub(super) const WEBHOOK_COVERED: &[(&str, &str)] = &[
    ("GET", "/webhook"),
    ("POST", "/webhook"),
    ("GET", "/_local/poison"),
];

/// Verification, signatures, a poison body, a batch, a duplicate. (A delivery
/// status is the send area's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook() {
    let c = Contract::spawn().await;
    let app = &c.app;

    let verify = format!(
        "/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=4242",
        app.settings.verify_token
    );
    assert_eq!(c.expect(M::GET, &verify, None, None, 200).await, "4242");
    c.expect_error(
        M::GET,
        "/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        None,
        None,
        403,
        "forbidden",
    )
    .await;
    let batch = wadesk_whatsapp::text_message_body(
        UNCONFIGURED_CHANNEL,
        "+1 555 0199",
        "34699000111",
        "Walk-in",
        "hello from another number",
        "wamid.OPENAPI1",
        chrono::Utc::now().timestamp(),
    );
    let (status, answer) = c
        .send(M::POST, "/webhook", None, Some(batch.to_string()), &[])
        .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (401, &json!("unauthenticated")),
        "unsigned: {answer}"
    );
    let (status, answer) = c
        .send(
            M::POST,
            "/webhook",
            None,
            Some(batch.to_string()),
            &[("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))],
        )
        .await;
    assert_eq!(status, 401, "badly signed: {answer}");
    // Signed but not a webhook payload: taken (WhatsApp stops retrying) and kept.
    let (status, answer) = c.webhook(&json!("not a webhook")).await;
    assert_eq!(
        (status, &answer["poison_kept"]),
        (200, &json!(true)),
        "{answer}"
    );
    let poison = c.expect(M::GET, "/_local/poison", None, None, 200).await;
    assert_eq!(
        poison["items"][0]["reason"], "the body is not a JSON object",
        "{poison}"
    );
    let (status, summary) = c.webhook(&batch).await;
    assert_eq!(
        (status, &summary["messages_stored"]),
        (200, &json!(1)),
        "{summary}"
    );
    let (status, summary) = c.webhook(&batch).await;
    assert_eq!(
        (status, &summary["duplicates"]),
        (200, &json!(1)),
        "{summary}"
    );

    c.covered_exactly(WEBHOOK_COVERED);
}

pub(super) const SIGN_IN_COVERED: &[(&str, &str)] = &[("GET", "/me"), ("PUT", "/me/state")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_the_agents_state() {
    let (c, tokens) = setup::stack().await;
    {
        let _setup = c.setup();
        setup::directory(&c, &tokens).await;
    }
    let [_, ana, _, _, sue, _] = tokens.all();

    for state in ["rona", "asleep"] {
        c.expect_error(
            M::PUT,
            "/me/state",
            ana,
            Some(json!({ "state": state })),
            400,
            "invalid_request",
        )
        .await;
    }
    setup::available(&c, &tokens).await;
    let me = c.expect(M::GET, "/me", sue, None, 200).await;
    assert_eq!(
        (&me["role"], &me["state"]),
        (&json!("supervisor"), &json!("not_ready"))
    );

    c.covered_exactly(SIGN_IN_COVERED);
}

pub(super) const ERRORS_COVERED: &[(&str, &str)] = &[
    ("GET", "/me"),
    ("PUT", "/me/state"),
    ("GET", "/conversations/{id}"),
    ("POST", "/conversations/{id}/accept"),
];

/// No token, a bad one, a subject the directory does not know, and a
/// conversation that is not there. (Analytics' own are the analytics area's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_answers() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, _, _, sue, _] = tokens.all();

    c.expect_error(M::GET, "/me", None, None, 401, "unauthenticated")
        .await;
    c.expect_error(
        M::GET,
        "/me",
        Some("not.a.jwt"),
        None,
        401,
        "unauthenticated",
    )
    .await;
    // A subject the directory does not know is refused on every route.
    let ghost = c.app.token("ghost", "admin");
    c.expect_error(
        M::GET,
        "/me",
        Some(ghost.as_str()),
        None,
        403,
        "not_in_directory",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/me/state",
        Some(ghost.as_str()),
        Some(json!({"state": "available"})),
        403,
        "not_in_directory",
    )
    .await;

    // An agent cannot tell an unknown conversation from one they may not
    // see; a supervisor, who may see them all, is told it is not there.
    let unknown = format!("/conversations/{UNKNOWN_ID}");
    c.expect_error(M::GET, &unknown, ana, None, 403, "forbidden")
        .await;
    c.expect_error(M::GET, &unknown, sue, None, 404, "not_found")
        .await;
    c.expect_error(
        M::GET,
        "/conversations/not-a-uuid",
        ana,
        None,
        404,
        "not_found",
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{unknown}/accept"),
        ana,
        None,
        403,
        "forbidden",
    )
    .await;

    c.covered_exactly(ERRORS_COVERED);
}
