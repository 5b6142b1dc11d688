//! Real API Gateway HTTP API (payload 2.0) events, parsed by lambda_http as on
//! Lambda and handed to the webhook handler.

use wadesk_app::embedded::EmbeddedStore;
use wadesk_tests::{now_seconds, services};
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
    let request = lambda_http::request::from_str(&raw).unwrap();
    let response = handle(&app, &settings, request).await;
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
    let request =
        lambda_http::request::from_str(&event("POST", "", Some(&body), Some(&signature))).unwrap();
    let response = handle(&app, &settings, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.store.conversations().len(), 1);
}
