//! Live updates on AWS (`functions/live`): the WebSocket API's events and the
//! bus's desk events fed straight to the handler, the registry on moto's
//! DynamoDB, and a local stub for both the issuer (discovery document and
//! JWKS) and the API Gateway management API.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use live::Wiring;
use serde_json::{json, Value};
use wadesk_app::desk::{upsert_agent, AgentProfile};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::ports::LiveConnections;
use wadesk_app::ConversationStore;
use wadesk_aws::jwks::JwksVerifier;
use wadesk_aws::live_push::ManagementApi;
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::DynamoStore;
use wadesk_domain::{AgentId, ConversationId, DomainEvent, EventEnvelope, QueueId, Role};
use wadesk_tests::{customer, now_seconds, services, text_message, TestServices};
use wiremock::matchers::{header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const AUDIENCE: &str = "console-client";
const KID: &str = "test-key-1";

/// The issuer's signing key (P-256, test only) and its public half as a JWK.
const SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEyLsuc/0FWhNLhA2
Ox82aCBnPs/BKOxOMRoHmSXOhrihRANCAATkJPsa0x11aUJA002RT2yhefAcSdzh
TDJK8Mcvv+ia4H27L5tZjA9sidZDAF5u8zcOpUkOyB54wXQh+zvB4XCU
-----END PRIVATE KEY-----";
const JWK_X: &str = "5CT7GtMddWlCQNNNkU9soXnwHEnc4UwySvDHL7_omuA";
const JWK_Y: &str = "fbsvm1mMD2yJ1kMAXm7zNw6lSQ7IHnjBdCH7O8HhcJQ";
/// Another key, which the issuer never published.
const FORGER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6jGQHEtdxGH+AAUF
Iyf07++1rn8ojT/vvKrYH69rrImhRANCAAS26kYZh+ioMpFRxo6/nZM7nvwQeKGj
GUuCwGHFndmNCoMkXHnGNdErcXFVsRRqB4I8UyAL1q5x7dJVSHdi3FC5
-----END PRIVATE KEY-----";

struct Live {
    app: Arc<TestServices<DynamoStore>>,
    stub: MockServer,
    tokens: JwksVerifier,
    pusher: ManagementApi,
    parking: FailureQueue,
}

/// A stub of the issuer (its discovery document and JWKS) that serves as the
/// management API's stand-in too.
pub(crate) async fn issuer_stub() -> MockServer {
    let stub = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": stub.uri(),
            "jwks_uri": format!("{}/keys", stub.uri()),
        })))
        .mount(&stub)
        .await;
    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
            "kid": KID, "x": JWK_X, "y": JWK_Y,
        }]})))
        .mount(&stub)
        .await;
    stub
}

pub(crate) fn signed_token(key: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(KID.into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A valid token of `stub`'s issuer for `sub`, ten minutes long.
pub(crate) fn valid_token(stub: &MockServer, sub: &str) -> String {
    signed_token(
        SIGNING_KEY,
        &json!({"iss": stub.uri(), "sub": sub, "aud": AUDIENCE, "exp": now_seconds().timestamp() + 600}),
    )
}

/// The management API stub answers `status` for pushes to `connection`,
/// signed with SigV4 for API Gateway in the SDK's region.
pub(crate) async fn socket_answers(stub: &MockServer, connection: &str, status: u16) {
    Mock::given(method("POST"))
        // The id percent-encoded in the path (ids end in `=`).
        .and(path(format!(
            "/live/@connections/{}",
            connection.replace('=', "%3D")
        )))
        .and(header_regex(
            "authorization",
            r"^AWS4-HMAC-SHA256 Credential=\w+/\d{8}/us-east-1/execute-api/aws4_request,",
        ))
        .respond_with(ResponseTemplate::new(status))
        .mount(stub)
        .await;
}

/// The connections a hint was posted to, with the hints, by connection.
pub(crate) async fn pushed(stub: &MockServer) -> Vec<(String, Value)> {
    let mut pushed: Vec<(String, Value)> = stub
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| {
            let id = r
                .url
                .path()
                .trim_start_matches("/live/@connections/")
                .to_owned();
            (id, serde_json::from_slice(&r.body).unwrap())
        })
        .collect();
    pushed.sort_by(|a, b| a.0.cmp(&b.0));
    pushed
}

impl Live {
    async fn new() -> Self {
        let stub = issuer_stub().await;
        let sdk = wadesk_tests::moto_sdk_config().await;
        let app = services(wadesk_tests::dynamo_store(None).await, now_seconds());
        for (name, role, queue) in [
            ("ana", Role::Agent, "sales"),
            ("bob", Role::Agent, "sales"),
            ("carl", Role::Agent, "default"),
            ("sue", Role::Supervisor, "sales"),
        ] {
            let profile = AgentProfile {
                name: name.into(),
                role,
                queues: vec![QueueId::parse(queue).unwrap()],
                max_concurrent: 2,
            };
            upsert_agent(&app, &AgentId::parse(name).unwrap(), profile)
                .await
                .unwrap();
        }
        Self {
            tokens: JwksVerifier::new(stub.uri(), AUDIENCE),
            pusher: ManagementApi::new(&sdk, format!("{}/live", stub.uri())).unwrap(),
            // Nothing here is parked: every event parses.
            parking: FailureQueue::new(aws_sdk_sqs::Client::new(&sdk), "not-used"),
            app,
            stub,
        }
    }

    fn token_with(&self, key: &str, claims: Value) -> String {
        signed_token(key, &claims)
    }

    fn token(&self, sub: &str) -> String {
        valid_token(&self.stub, sub)
    }

    async fn invoke(&self, payload: Value) -> Result<Value, lambda_runtime::Error> {
        let ports = Wiring {
            app: &*self.app,
            tokens: &self.tokens,
            pusher: &self.pusher,
            parking: &self.parking,
        };
        live::invoke(
            &ports,
            "arn:aws:lambda:us-east-1:123456789012:function:live",
            &payload,
        )
        .await
    }

    /// `$connect` with `token` in the query; the status answered.
    async fn connect(&self, connection: &str, token: Option<&str>) -> i64 {
        let query = token.map_or(Value::Null, |t| json!({ "token": t }));
        let answer = self
            .invoke(route_event("$connect", "CONNECT", connection, query, None))
            .await
            .unwrap();
        answer["statusCode"].as_i64().unwrap()
    }

    async fn registered(&self) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .app
            .store
            .connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.actor.id.as_str().to_owned()))
            .collect();
        found.sort();
        found
    }

    async fn socket_answers(&self, connection: &str, status: u16) {
        socket_answers(&self.stub, connection, status).await;
    }

    async fn pushed(&self) -> Vec<(String, Value)> {
        pushed(&self.stub).await
    }
}

/// An API Gateway WebSocket proxy event of `route`.
pub(crate) fn route_event(
    route: &str,
    kind: &str,
    connection: &str,
    query: Value,
    body: Option<&str>,
) -> Value {
    json!({
        "requestContext": {
            "routeKey": route,
            "eventType": kind,
            "messageDirection": "IN",
            "connectionId": connection,
            "requestId": "req-1",
            "apiId": "live-api",
            "stage": "live",
            "domainName": "live-api.execute-api.us-east-1.amazonaws.com",
            "connectedAt": 1_764_979_200_000_i64,
            "requestTimeEpoch": 1_764_979_200_000_i64,
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "queryStringParameters": query,
        "isBase64Encoded": false,
        "body": body,
    })
}

/// A desk event as the bus's rule delivers it.
pub(crate) fn delivered(event: &EventEnvelope) -> Value {
    json!({
        "version": "0",
        "id": event.id.to_string(),
        "detail-type": event.type_name(),
        "source": "wadesk",
        "account": "123456789012",
        "time": event.at.to_rfc3339(),
        "region": "us-east-1",
        "resources": [],
        "detail": event,
    })
}

pub(crate) fn offered(conversation_id: ConversationId, agent: &str) -> EventEnvelope {
    EventEnvelope::new(
        DomainEvent::ConversationOffered {
            conversation_id,
            agent: AgentId::parse(agent).unwrap(),
            queue: QueueId::parse("sales").unwrap(),
        },
        now_seconds(),
    )
}

/// Connects each `(connection, agent)` with a valid token.
async fn connected(live: &Live, sockets: &[(&str, &str)]) {
    for (connection, agent) in sockets {
        assert_eq!(
            live.connect(connection, Some(&live.token(agent))).await,
            200
        );
    }
}

#[tokio::test]
async fn connect_with_a_valid_token_registers_the_caller_with_role_and_queues() {
    let live = Live::new().await;
    connected(&live, &[("ana-1=", "ana")]).await;
    let connections = live.app.store.connections().await.unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].id, "ana-1=");
    assert_eq!(connections[0].actor.role, Role::Agent);
    let entry = connections[0].entry.as_ref().unwrap();
    assert_eq!(entry.queues, vec![QueueId::parse("sales").unwrap()]);
}

#[tokio::test]
async fn connect_without_a_token_or_with_one_that_proves_nothing_is_401() {
    let live = Live::new().await;
    let uri = live.stub.uri();
    let exp = now_seconds().timestamp() + 600;
    let cases = [
        ("absent", None),
        ("not a JWT", Some("not-a-token".to_owned())),
        (
            "signed by another key",
            Some(live.token_with(FORGER_KEY, json!({"iss": uri, "sub": "ana", "aud": AUDIENCE, "exp": exp}))),
        ),
        (
            "expired",
            Some(live.token_with(SIGNING_KEY, json!({"iss": uri, "sub": "ana", "aud": AUDIENCE, "exp": exp - 3600}))),
        ),
        (
            "another issuer",
            Some(live.token_with(SIGNING_KEY, json!({"iss": "https://elsewhere.example", "sub": "ana", "aud": AUDIENCE, "exp": exp}))),
        ),
        (
            "another audience",
            Some(live.token_with(SIGNING_KEY, json!({"iss": uri, "sub": "ana", "aud": "another-app", "exp": exp}))),
        ),
    ];
    for (case, token) in cases {
        assert_eq!(live.connect("c-1", token.as_deref()).await, 401, "{case}");
    }
    assert!(
        live.registered().await.is_empty(),
        "no refused socket is registered"
    );
}

#[tokio::test]
async fn a_cognito_access_token_with_the_client_id_is_accepted() {
    let live = Live::new().await;
    let token = live.token_with(
        SIGNING_KEY,
        json!({"iss": live.stub.uri(), "sub": "bob", "client_id": AUDIENCE, "token_use": "access", "exp": now_seconds().timestamp() + 600}),
    );
    assert_eq!(live.connect("bob-1=", Some(&token)).await, 200);
}

#[tokio::test]
async fn connect_of_a_valid_identity_not_in_the_directory_is_403() {
    let live = Live::new().await;
    assert_eq!(live.connect("x-1", Some(&live.token("mallory"))).await, 403);
    assert!(live.registered().await.is_empty());
}

#[tokio::test]
async fn disconnect_forgets_the_socket_and_a_keep_alive_is_answered_with_nothing() {
    let live = Live::new().await;
    connected(&live, &[("ana-1=", "ana"), ("bob-1=", "bob")]).await;
    let ping = live
        .invoke(route_event(
            "$default",
            "MESSAGE",
            "ana-1=",
            Value::Null,
            Some(r#"{"action":"ping"}"#),
        ))
        .await
        .unwrap();
    assert_eq!(ping["statusCode"], 200);
    assert!(ping.get("body").is_none_or(Value::is_null), "{ping}");
    let answer = live
        .invoke(route_event(
            "$disconnect",
            "DISCONNECT",
            "ana-1=",
            Value::Null,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(
        live.registered().await,
        [("bob-1=".to_owned(), "bob".to_owned())]
    );
}

#[tokio::test]
async fn a_desk_event_is_pushed_to_the_sockets_it_names_and_to_overseers_only() {
    let live = Live::new().await;
    connected(
        &live,
        &[("ana-1=", "ana"), ("bob-1=", "bob"), ("sue-1=", "sue")],
    )
    .await;
    for connection in ["ana-1=", "bob-1=", "sue-1="] {
        live.socket_answers(connection, 200).await;
    }
    // Offered to ana, about a conversation not stored (nothing to read).
    let event = offered(ConversationId::generate(), "ana");
    let answer = live.invoke(delivered(&event)).await.unwrap();
    assert_eq!(answer["delivered"], 2);
    let pushed = live.pushed().await;
    let to: Vec<&str> = pushed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        to,
        ["ana-1%3D", "sue-1%3D"],
        "bob is neither named nor an overseer"
    );
    let hint = &pushed[0].1;
    assert_eq!(hint["type"], "ConversationOffered");
    assert_eq!(hint["agents"], json!(["ana"]));
    assert_eq!(
        hint.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["agent", "agents", "at", "conversation_id", "type"],
        "a hint, never content"
    );
}

#[tokio::test]
async fn an_agent_serving_the_stored_conversations_queue_is_told_one_serving_another_is_not() {
    let live = Live::new().await;
    let now = now_seconds();
    let key = customer("34699001234");
    let InboundOutcome::Stored {
        conversation_id, ..
    } = receive_message(&live.app, text_message(&key, "wamid.LIVE1", now, "hola"))
        .await
        .unwrap()
    else {
        panic!("the message was not stored");
    };
    let queue = live
        .app
        .store
        .get_conversation(conversation_id)
        .await
        .unwrap()
        .unwrap()
        .queue;
    assert_eq!(queue, QueueId::default_queue());
    connected(&live, &[("bob-1=", "bob"), ("carl-1=", "carl")]).await;
    live.socket_answers("carl-1=", 200).await;
    // Names an agent with no socket: carl is told through the conversation's queue.
    live.invoke(delivered(&offered(conversation_id, "zoe")))
        .await
        .unwrap();
    let to: Vec<String> = live.pushed().await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(to, ["carl-1%3D"]);
}

#[tokio::test]
async fn a_socket_the_management_api_answers_gone_is_forgotten() {
    let live = Live::new().await;
    connected(&live, &[("ana-1=", "ana"), ("sue-1=", "sue")]).await;
    live.socket_answers("ana-1=", 200).await;
    live.socket_answers("sue-1=", 410).await;
    let answer = live
        .invoke(delivered(&offered(ConversationId::generate(), "ana")))
        .await
        .unwrap();
    assert_eq!(answer["gone"], 1);
    assert_eq!(
        live.registered().await,
        [("ana-1=".to_owned(), "ana".to_owned())]
    );
}

#[tokio::test]
async fn a_push_the_management_api_refuses_fails_the_invocation_so_lambda_retries_it() {
    let live = Live::new().await;
    connected(&live, &[("ana-1=", "ana")]).await;
    live.socket_answers("ana-1=", 500).await;
    let result = live
        .invoke(delivered(&offered(ConversationId::generate(), "ana")))
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        live.registered().await.len(),
        1,
        "a failing socket is not forgotten"
    );
}

/// The push's SigV4 signature is the one AWS checks: moto's IAM-enforcing
/// server, which recomputes every request's signature, accepts the signed
/// `POST @connections/{id}` (an id ending in `=`, encoded in the path) and
/// refuses the same push signed with a wrong secret.
#[tokio::test]
async fn the_push_is_signed_as_the_management_api_checks_it() {
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
    use aws_credential_types::Credentials;
    use wadesk_app::ports::{LivePush, Pushed};

    let iam = wadesk_tests::iam::IamStack::new().await;
    // moto serves the management API at its root (`/@connections/...`).
    let endpoint = wadesk_tests::iam::iam_moto_endpoint();
    let signed = ManagementApi::new(&iam.admin, &endpoint).unwrap();
    let hint = r#"{"type":"ConversationOffered"}"#;
    assert_eq!(
        signed.push("L0SM9cOFvHcCIhw=", hint).await.unwrap(),
        Pushed::Delivered
    );
    let admin = iam
        .admin
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    let forged = iam
        .admin
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            admin.access_key_id(),
            "not-the-secret",
            None,
            None,
            "forger",
        )))
        .build();
    let refused = ManagementApi::new(&forged, &endpoint)
        .unwrap()
        .push("L0SM9cOFvHcCIhw=", hint)
        .await;
    assert!(refused.is_err(), "{refused:?}");
}
