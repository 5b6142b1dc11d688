//! Real API Gateway HTTP API (payload 2.0) events, parsed by lambda_http as on
//! Lambda and handed to the webhook handler.

use wadesk_app::embedded::EmbeddedStore;
use wadesk_app::DeskStore;
use wadesk_domain::{Agent, AgentChange, AgentId, Role};
use wadesk_tests::{now_seconds, services, TestServices};
use webhook::{handle, WebhookSettings};

fn event(method: &str, query: &str, body: Option<&str>, signature: Option<&str>) -> String {
    let mut headers =
        serde_json::json!({"content-type": "application/json", "user-agent": "facebookexternalua"});
    if let Some(signature) = signature {
        headers["x-hub-signature-256"] = signature.into();
    }
    let query_params: serde_json::Map<String, serde_json::Value> = url_pairs(query);
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} /webhook"),
        "rawPath": "/webhook",
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if query_params.is_empty() { serde_json::Value::Null } else { query_params.into() },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api-id", "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id", "requestId": "id", "routeKey": format!("{method} /webhook"), "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390i64,
            "http": {"method": method, "path": "/webhook", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "facebookexternalua"}
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

fn url_pairs(query: &str) -> serde_json::Map<String, serde_json::Value> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
        .collect()
}

/// The webhook function's answer to `raw`, parsed by lambda_http as on Lambda.
async fn webhook_receives(
    app: &TestServices<EmbeddedStore>,
    settings: &WebhookSettings,
    raw: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let request = lambda_http::request::from_str(raw).unwrap();
    handle(
        app,
        &wadesk_app::embedded::LocalPoisonQueue::new(),
        settings,
        request,
    )
    .await
}

#[tokio::test]
async fn a_real_v2_get_event_verifies_the_subscription() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let settings = WebhookSettings::new("secret", "tok");
    let raw = event(
        "GET",
        "hub.mode=subscribe&hub.verify_token=tok&hub.challenge=31337",
        None,
        None,
    );
    let response = webhook_receives(&app, &settings, &raw).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"31337");
}

#[tokio::test]
async fn a_real_v2_post_event_is_verified_over_the_raw_body_and_stored() {
    let app = services(EmbeddedStore::new(), now_seconds());
    let settings = WebhookSettings::new("secret", "tok");
    let body = wadesk_whatsapp::text_message_body(
        wadesk_tests::PHONE_NUMBER_ID,
        wadesk_tests::DISPLAY_PHONE_NUMBER,
        "34666000001",
        "Ana",
        "hola",
        "wamid.V2EVENT",
        now_seconds().timestamp(),
    )
    .to_string();
    let signature = wadesk_whatsapp::signature::sign(b"secret", body.as_bytes());
    let raw = event("POST", "", Some(&body), Some(&signature));
    let response = webhook_receives(&app, &settings, &raw).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.store.conversations().len(), 1);
}

/// An HTTP API v2 event of the agent UI, with the JWT authorizer's claims.
fn agent_event(method: &str, path: &str, sub: Option<&str>) -> lambda_http::Request {
    let mut context = serde_json::json!({
        "accountId": "123456789012", "apiId": "api-id", "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id", "requestId": "id", "routeKey": format!("{method} {path}"), "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390i64,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "agent-ui"}
    });
    if let Some(sub) = sub {
        context["authorizer"] = serde_json::json!({
            "jwt": {"claims": {"sub": sub, "role": "agent"}, "scopes": null}
        });
    }
    let raw = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": "{}",
        "isBase64Encoded": false
    })
    .to_string();
    lambda_http::request::from_str(&raw).unwrap()
}

#[tokio::test]
async fn reopen_and_push_are_the_reopen_functions_routes_only() {
    let app = services(EmbeddedStore::new(), now_seconds());
    for (id, role) in [("ana", Role::Agent), ("sue", Role::Supervisor)] {
        let agent = Agent::new(
            AgentId::parse(id).unwrap(),
            id.to_owned(),
            role,
            Vec::new(),
            0,
            now_seconds(),
        );
        app.store
            .save_agent(&AgentChange::new(None, agent))
            .await
            .unwrap();
    }
    let unknown = "/conversations/00000000-0000-4000-8000-000000000000";
    for kind in ["reopen", "push"] {
        let path = format!("{unknown}/{kind}");
        // The reopen function: authenticated by the claims, then the directory, then the rules.
        let response = reopen::handle(&app, agent_event("POST", &path, None)).await;
        assert_eq!(response.status(), 401, "{kind} without claims");
        let response = reopen::handle(&app, agent_event("POST", &path, Some("nobody"))).await;
        assert_eq!(
            response.status(),
            403,
            "{kind} by a subject not in the directory"
        );
        // An agent learns nothing of what exists; a supervisor sees it is not there.
        let response = reopen::handle(&app, agent_event("POST", &path, Some("ana"))).await;
        assert_eq!(
            response.status(),
            403,
            "{kind} of an unknown conversation by an agent"
        );
        let response = reopen::handle(&app, agent_event("POST", &path, Some("sue"))).await;
        assert_eq!(
            response.status(),
            404,
            "{kind} of an unknown conversation by a supervisor"
        );
        // API Gateway never routes them to the agent API, which does not serve them.
        let response = agent_api::handle(&app, agent_event("POST", &path, Some("ana"))).await;
        assert_eq!(response.status(), 404, "{kind} through the agent API");
    }
    // And the reopen function serves nothing else.
    let response = reopen::handle(&app, agent_event("GET", "/me", Some("ana"))).await;
    assert_eq!(response.status(), 404);
    assert!(reopen::serves(&format!("{unknown}/push")));
    assert!(!reopen::serves(&format!("{unknown}/messages")));
}
