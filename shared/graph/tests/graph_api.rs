//! `GraphApiClient` against a local Graph API stub on 127.0.0.1.

// Helpers outside #[test] fns unwrap too; clippy.toml only covers the fns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wadesk_app::ports::{MediaKind, OutboundContent, SendError, WhatsAppClient};
use wadesk_domain::{PhoneNumberId, WaId, Wamid};
use wadesk_graph::{BuildError, GraphApiClient};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "EAAGtest-secret-token";
const PHONE_NUMBER_ID: &str = "106540352242922";
const WA_ID: &str = "34600111222";
const WAMID: &str = "wamid.HBgLMzQ2MDAxMTEyMjIVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA";
const MESSAGES_PATH: &str = "/v21.0/106540352242922/messages";

fn client(server: &MockServer) -> GraphApiClient {
    GraphApiClient::new(format!("{}/v21.0", server.uri()), TOKEN).unwrap()
}

fn from() -> PhoneNumberId {
    PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap()
}

fn to() -> WaId {
    WaId::parse(WA_ID).unwrap()
}

fn text() -> OutboundContent {
    OutboundContent::Text {
        body: "Hola, ¿en qué puedo ayudarte?".into(),
    }
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
        "messages": [{"id": WAMID}]
    }))
}

fn graph_error(status: u16, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_subcode": 2494010,
            "error_data": {"messaging_product": "whatsapp", "details": "details here"},
            "fbtrace_id": "AbCdEf123"
        }
    }))
}

/// Expects exactly one POST with the Cloud API headers and `body`, answers 200.
async fn expect_send(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(accepted())
        .expect(1)
        .mount(server)
        .await;
}

/// Answers any POST with `response`.
async fn answer(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// Sends the text to a server that answers `response` once (checked when it drops).
async fn send_text_answered_with(response: ResponseTemplate) -> Result<Wamid, SendError> {
    let server = MockServer::start().await;
    answer(&server, response).await;
    send(&client(&server), &text()).await
}

async fn send(client: &GraphApiClient, content: &OutboundContent) -> Result<Wamid, SendError> {
    client.send(&from(), &to(), content).await
}

fn unavailable_context(result: Result<Wamid, SendError>) -> String {
    match result {
        Err(SendError::Unavailable { source }) => error_chain(&*source),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn unknown_context(result: Result<Wamid, SendError>) -> String {
    match result {
        Err(SendError::OutcomeUnknown { source }) => error_chain(&*source),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
}

fn error_chain(source: &(dyn std::error::Error + 'static)) -> String {
    let mut context = source.to_string();
    let mut next = source.source();
    while let Some(cause) = next {
        context.push_str(": ");
        context.push_str(&cause.to_string());
        next = cause.source();
    }
    context
}

/// A server that reads the request and closes the connection without an answer.
async fn hang_up_after_the_request() -> String {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0_u8; 64 * 1024];
            let _ = socket.read(&mut request).await;
            drop(socket);
        }
    });
    format!("http://{address}/v21.0")
}

#[tokio::test]
async fn a_connection_lost_after_the_request_leaves_the_outcome_unknown() {
    let client = GraphApiClient::new(hang_up_after_the_request().await, TOKEN).unwrap();
    let context = unknown_context(send(&client, &text()).await);
    assert!(!context.is_empty());
}

/// The body the Cloud API expects for one message of `kind`: the envelope every
/// send shares, with the kind's own object under its name.
fn cloud_api_body(kind: &str, payload: Value) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": kind,
        kind: payload
    })
}

#[tokio::test]
async fn each_content_is_sent_as_the_cloud_api_expects() {
    let cases = [
        (
            "text",
            text(),
            cloud_api_body(
                "text",
                json!({"preview_url": false, "body": "Hola, ¿en qué puedo ayudarte?"}),
            ),
        ),
        (
            "image with caption",
            OutboundContent::Media {
                kind: MediaKind::Image,
                media_id: "4490".into(),
                filename: None,
                caption: Some("Su factura".into()),
            },
            cloud_api_body("image", json!({"id": "4490", "caption": "Su factura"})),
        ),
        (
            "document with filename",
            OutboundContent::Media {
                kind: MediaKind::Document,
                media_id: "4491".into(),
                filename: Some("factura.pdf".into()),
                caption: None,
            },
            cloud_api_body("document", json!({"id": "4491", "filename": "factura.pdf"})),
        ),
        (
            "template with parameters",
            OutboundContent::Template {
                name: "reopen_conversation".into(),
                language: "es".into(),
                parameters: vec!["Ana".into(), "#1234".into()],
            },
            cloud_api_body(
                "template",
                json!({
                    "name": "reopen_conversation",
                    "language": {"code": "es"},
                    "components": [{
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ana"},
                            {"type": "text", "text": "#1234"}
                        ]
                    }]
                }),
            ),
        ),
        (
            "template without parameters has no components",
            OutboundContent::Template {
                name: "hello_world".into(),
                language: "en_US".into(),
                parameters: vec![],
            },
            cloud_api_body(
                "template",
                json!({"name": "hello_world", "language": {"code": "en_US"}}),
            ),
        ),
    ];
    for (case, content, body) in cases {
        let server = MockServer::start().await;
        expect_send(&server, body).await;

        let sent = send(&client(&server), &content).await;

        assert_eq!(sent.ok(), Some(Wamid::parse(WAMID).unwrap()), "{case}");
        server.verify().await;
    }
}

#[tokio::test]
async fn trailing_slash_in_base_url_is_fine() {
    let server = MockServer::start().await;
    answer(&server, accepted()).await;
    let client = GraphApiClient::new(format!("{}/v21.0/", server.uri()), TOKEN).unwrap();

    assert_eq!(client.base_url(), format!("{}/v21.0", server.uri()));
    assert!(send(&client, &text()).await.is_ok());
}

#[tokio::test]
async fn error_131047_means_reengagement_required() {
    let result =
        send_text_answered_with(graph_error(400, 131047, "(#131047) Re-engagement message")).await;

    assert!(
        matches!(result, Err(SendError::ReengagementRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn other_4xx_codes_are_rejected_with_the_code() {
    let result =
        send_text_answered_with(graph_error(400, 131026, "(#131026) Message Undeliverable")).await;

    match result {
        Err(SendError::Rejected { code, title }) => {
            assert_eq!(code, 131026);
            assert_eq!(title, "(#131026) Message Undeliverable");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_no_send_can_use_is_unavailable_with_what_was_wrong() {
    let cases = [
        (
            "a 500 with the status",
            graph_error(500, 1, "An unknown error has occurred."),
            "500",
        ),
        (
            "a 502 without json with the status",
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
            "502",
        ),
        (
            "a garbage success body",
            ResponseTemplate::new(200).set_body_string("not json at all"),
            "200",
        ),
        (
            "an invalid wamid",
            ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "bad id"}]})),
            "invalid message id",
        ),
    ];
    for (case, response, expected) in cases {
        let context = unavailable_context(send_text_answered_with(response).await);

        assert!(context.contains(expected), "{case}: {context}");
    }
}

#[tokio::test]
async fn a_slow_answer_times_out_with_its_outcome_unknown() {
    let server = MockServer::start().await;
    answer(&server, accepted().set_delay(Duration::from_secs(3))).await;
    let client = GraphApiClient::with_timeouts(
        format!("{}/v21.0", server.uri()),
        TOKEN,
        Duration::from_millis(200),
        Duration::from_millis(300),
    )
    .unwrap();

    let started = Instant::now();
    let context = unknown_context(send(&client, &text()).await);

    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(context.contains("within"), "{context}");
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    // A port that was just free: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = GraphApiClient::new(format!("http://127.0.0.1:{port}/v21.0"), TOKEN).unwrap();

    let context = unavailable_context(send(&client, &text()).await);

    assert!(context.contains("could not reach"), "{context}");
}

#[test]
fn debug_never_shows_the_token() {
    let client = GraphApiClient::new("https://graph.facebook.com/v21.0", TOKEN).unwrap();

    let debug = format!("{client:?} {client:#?}");

    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(!debug.contains("EAAG"), "{debug}");
    assert!(debug.contains("graph.facebook.com"), "{debug}");
}

#[test]
fn bad_configuration_is_refused_at_build() {
    assert!(matches!(
        GraphApiClient::new("graph.facebook.com", TOKEN),
        Err(BuildError::InvalidBaseUrl { .. })
    ));
    assert!(matches!(
        GraphApiClient::new("https://graph.facebook.com/v21.0", ""),
        Err(BuildError::EmptyToken)
    ));
}

/// A token kept in a secret store: each read gives the next token.
struct Rotating {
    tokens: Vec<&'static str>,
    reads: std::sync::atomic::AtomicUsize,
}

impl wadesk_graph::TokenSource for Rotating {
    fn token(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<String, wadesk_graph::TokenError>> + Send + '_>,
    > {
        let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let token = self.tokens[n.min(self.tokens.len() - 1)].to_owned();
        Box::pin(async move { Ok(token) })
    }
}

#[tokio::test]
async fn a_refused_token_is_read_again_for_the_next_send() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", "Bearer old-token"))
        .respond_with(graph_error(401, 190, "Error validating access token"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", "Bearer rotated-token"))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    let source = std::sync::Arc::new(Rotating {
        tokens: vec!["old-token", "rotated-token"],
        reads: std::sync::atomic::AtomicUsize::new(0),
    });
    let client = GraphApiClient::from_source(format!("{}/v21.0", server.uri()), source.clone())
        .await
        .unwrap();
    assert!(client.send(&from(), &to(), &text()).await.is_err());
    let wamid = client.send(&from(), &to(), &text()).await.unwrap();
    assert_eq!(wamid, Wamid::parse(WAMID).unwrap());
    // Read at start-up and once after the 401: not on every send.
    assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}
