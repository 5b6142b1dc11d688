//! Administration: agents, queues, channels, wrap-up reasons.

use reqwest::Method as M;
use serde_json::json;

use super::setup;

pub(super) const DIRECTORY_COVERED: &[(&str, &str)] = &[
    ("PUT", "/admin/queues/{id}"),
    ("PUT", "/admin/wrap-up-reasons"),
    ("PUT", "/admin/channels/{phone_number_id}"),
    ("PUT", "/admin/agents/{id}"),
    ("GET", "/admin/agents"),
    ("GET", "/wrap-up-reasons"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_directory() {
    let (c, tokens) = setup::stack().await;
    let [admin, ana, ..] = tokens.all();
    // Covered here: the directory every other area builds as setup.
    setup::directory(&c, &tokens).await;

    // The directory, a page at a time.
    let first = c
        .expect(M::GET, "/admin/agents?limit=3", admin, None, 200)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = c
        .expect(
            M::GET,
            &format!("/admin/agents?limit=3&cursor={cursor}"),
            admin,
            None,
            200,
        )
        .await;
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["ana", "bob", "cid", "helper-bot", "sue"]);
    assert!(rest["next_cursor"].is_null());
    c.expect_error(M::GET, "/admin/agents", ana, None, 403, "forbidden")
        .await;
    c.expect_error(
        M::GET,
        "/admin/agents?cursor=garbage",
        admin,
        None,
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/admin/queues/x",
        ana,
        Some(json!({"name": "X"})),
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/admin/queues/x",
        admin,
        Some(json!({"name": "X", "colour": "red"})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/admin/agents/dan",
        admin,
        Some(json!({"name": "Dan", "role": "agent", "queues": ["nope"], "max_concurrent": 2})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/admin/channels/not-digits",
        admin,
        Some(
            json!({"display_phone_number": "x", "default_queue": "sales", "reopen_message": "hi"}),
        ),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/admin/wrap-up-reasons",
        admin,
        Some(json!({"reasons": []})),
        400,
        "invalid_request",
    )
    .await;

    // The wrap-up reasons, for anyone in the directory.
    let reasons = c.expect(M::GET, "/wrap-up-reasons", ana, None, 200).await;
    assert!(!reasons["reasons"].as_array().unwrap().is_empty());

    c.covered_exactly(DIRECTORY_COVERED);
}
