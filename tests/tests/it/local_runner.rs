//! The whole stack on one machine, over HTTP, as the README shows it.

use wadesk_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_message_appears_as_an_unanswered_conversation_and_its_window_expires() {
    let app = TestApp::spawn().await;
    let (status, answer) = app
        .post_json(
            "/_local/inbound",
            serde_json::json!({"from": "34655000001", "name": "Ana", "text": "Hola"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["webhook_status"], 200);
    assert_eq!(answer["conversation_status"], "unanswered");
    assert!(answer["wamid"].as_str().unwrap().starts_with("wamid."));
    let id = answer["conversation_id"].as_str().unwrap().to_owned();

    let (status, detail) = app.get_json(&format!("/_local/conversations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["conversation"]["status"], "unanswered");
    assert_eq!(detail["messages"][0]["text"], "Hola");
    assert_eq!(detail["messages"][0]["direction"], "inbound");

    // 23 hours later nothing has expired; past 24 hours the window has.
    let (_, advanced) = app
        .post_json(
            "/_local/clock/advance",
            serde_json::json!({"seconds": 23 * 3600}),
        )
        .await;
    assert_eq!(advanced["timers_fired"], 0);
    let (_, advanced) = app
        .post_json(
            "/_local/clock/advance",
            serde_json::json!({"seconds": 3601}),
        )
        .await;
    assert_eq!(advanced["timers_fired"], 1);
    let (_, events) = app.get_json("/_local/events").await;
    let types: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["ConversationStarted", "MessageReceived", "WindowExpired"]
    );

    let (status, whatsapp) = app.get_json("/_local/sent").await;
    assert_eq!(status, 200);
    assert_eq!(whatsapp["items"], serde_json::json!([]));
}

#[tokio::test]
async fn the_local_surface_checks_its_input() {
    let app = TestApp::spawn().await;
    let (status, answer) = app
        .post_json("/_local/clock/advance", serde_json::json!({"seconds": -5}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "invalid_request");
    let (status, _) = app
        .post_json("/_local/inbound", serde_json::json!({"text": "no sender"}))
        .await;
    assert_eq!(status, 400);
    let (status, answer) = app
        .post_json(
            "/_local/inbound",
            serde_json::json!({"from": "not a number!", "text": "x"}),
        )
        .await;
    assert_eq!(
        answer["webhook_status"], 200,
        "the webhook takes the batch and rejects the item"
    );
    assert_eq!(status, 200);
    assert_eq!(answer["conversation_id"], serde_json::Value::Null);
    let (status, answer) = app.get_json("/_local/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "not_found");
}

#[tokio::test]
async fn webhook_verification_and_openapi_are_served() {
    let app = TestApp::spawn().await;
    let url = app.url(&format!(
        "/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=987",
        app.settings.verify_token
    ));
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "987");
    let response = app
        .http
        .get(app.url("/webhook?hub.mode=subscribe&hub.verify_token=no&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let (status, doc) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
}
