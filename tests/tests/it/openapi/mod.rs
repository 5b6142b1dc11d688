//! The OpenAPI document (`docs/openapi.json`) against the code.
//!
//! - Every route served (the agent API's `ROUTES`, analytics' `ROUTES`, the
//!   webhook's two, the local runner's own) is documented, and every documented
//!   operation is served.
//! - Over HTTP through the local runner, a representative desk scenario: every
//!   answer must have a status the document gives for that operation, and a body
//!   that the document's schema for it accepts (JSON Schema 2020-12, `$ref`s
//!   resolved against the document's `components`, formats checked). A request
//!   body the server accepted must be accepted by the documented request schema.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};
use wadesk_tests::TestApp;

/// The document the local runner serves (it `include_str!`s the same file).
const DOC: &str = include_str!("../../../docs/openapi.json");

/// The local runner's own routes (`infra/local-runner/src/local_routes.rs`).
const LOCAL_ROUTES: &[(&str, &str)] = &[
    ("POST", "/_local/inbound"),
    ("POST", "/_local/uploads"),
    ("POST", "/_local/clock/advance"),
    ("GET", "/_local/clock"),
    ("GET", "/_local/outbox"),
    ("GET", "/_local/poison"),
    ("GET", "/_local/events"),
    ("GET", "/_local/timers"),
    ("POST", "/_local/token"),
    ("GET", "/_local/conversations/{id}"),
    ("GET", "/openapi.json"),
];

/// The webhook function's routes (`functions/webhook/src/lib.rs`).
const WEBHOOK_ROUTES: &[(&str, &str)] = &[("GET", "/webhook"), ("POST", "/webhook")];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn document() -> Value {
    serde_json::from_str(DOC).unwrap_or_else(|e| panic!("docs/openapi.json is not JSON: {e}"))
}

/// `(METHOD, path template)` of every operation in the document.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for (key, _) in item.as_object().expect("a path item is an object") {
            if HTTP_METHODS.contains(&key.as_str()) {
                operations.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

fn served_operations() -> BTreeSet<(String, String)> {
    agent_api::ROUTES
        .iter()
        .chain(reopen::ROUTES)
        .chain(analytics::ROUTES)
        .chain(WEBHOOK_ROUTES)
        .chain(LOCAL_ROUTES)
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect()
}

/// Resolves a local `$ref` (`#/components/...`) in the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local $refs are used: {reference}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {reference} points at nothing"));
            resolve(doc, target)
        }
        None => value,
    }
}

/// Compiles `schema` (a schema object found anywhere in the document): its
/// `#/components/...` refs resolve against a root that carries the document's
/// components.
fn try_compile(doc: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let mut root = schema.clone();
    root.as_object_mut()
        .ok_or_else(|| format!("schemas in the document are objects: {schema}"))?
        .insert("components".to_owned(), doc["components"].clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("schema does not compile: {e}\n{schema}"))
}

fn compile(doc: &Value, schema: &Value) -> jsonschema::Validator {
    try_compile(doc, schema).unwrap_or_else(|e| panic!("{e}"))
}

/// Every error of `instance` against `validator`, one a line; empty when valid.
fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .map(|e| format!("  at {:?}: {e}", e.instance_path().to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Walks `value`, calling `visit` with each node and its JSON pointer.
fn walk<'a>(value: &'a Value, pointer: &str, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(pointer, value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                walk(child, &format!("{pointer}/{escaped}"), visit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), visit);
            }
        }
        _ => {}
    }
}

#[test]
fn every_route_served_is_documented_and_every_documented_route_is_served() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented_operations(&doc);
    let served = served_operations();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but missing from docs/openapi.json: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "in docs/openapi.json but not served (stale, or the served lists here are out of date): {stale:?}"
    );

    let bearer_routes: BTreeSet<(String, String)> = agent_api::ROUTES
        .iter()
        .chain(reopen::ROUTES)
        .chain(analytics::ROUTES)
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let mut operation_ids = BTreeSet::new();
    for (method, path) in &documented {
        let operation = &doc["paths"][path][method.to_lowercase()];
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(
            operation_ids.insert(id.to_owned()),
            "operationId {id} is used twice"
        );
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path}: no responses"
        );

        // The agent API and analytics need the JWT; nothing else does.
        let expected_security = if bearer_routes.contains(&(method.clone(), path.clone())) {
            json!([{"bearerAuth": []}])
        } else {
            json!([])
        };
        assert_eq!(
            operation["security"], expected_security,
            "{method} {path}: security"
        );

        // Path parameters: exactly those of the template.
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(in_template, declared, "{method} {path}: path parameters");
    }
    let bearer = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");

    // Every $ref points somewhere, and every schema compiles.
    let mut schemas = Vec::new();
    walk(&doc, "", &mut |pointer, node| {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let target = reference.strip_prefix('#').and_then(|p| doc.pointer(p));
            assert!(
                target.is_some(),
                "{pointer}: $ref {reference} points at nothing"
            );
        }
        if pointer.ends_with("/schema")
            || pointer.starts_with("/components/schemas/") && pointer.matches('/').count() == 3
        {
            schemas.push((pointer.to_owned(), node));
        }
    });
    assert!(schemas.len() > 50, "found the schemas: {}", schemas.len());
    for (pointer, schema) in schemas {
        if let Err(error) = try_compile(&doc, schema) {
            panic!("{pointer}: {error}");
        }
    }
}

/// The component schemas are strict: each wrong shape below is refused.
#[test]
fn the_schemas_refuse_wrong_shapes() {
    let doc = document();
    let schema = |name: &str| {
        compile(
            &doc,
            &json!({"$ref": format!("#/components/schemas/{name}")}),
        )
    };
    let accepts = |validator: &jsonschema::Validator, instance: &Value| {
        schema_errors(validator, instance).is_empty()
    };
    let with = |base: &Value, pointer: &str, value: Value| {
        let mut changed = base.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        changed
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{pointer}"))
            .insert(key.to_owned(), value);
        changed
    };
    let without = |base: &Value, field: &str| {
        let mut changed = base.clone();
        changed.as_object_mut().unwrap().remove(field);
        changed
    };

    let conversation = json!({
        "id": "0190f0a0-0000-7000-8000-000000000001", "status": "finished",
        "customer": {"wa_id": "34611222333", "name": null},
        "channel": {"phone_number_id": "100000000000001", "display_phone_number": "+1 555 0100"},
        "queue": "sales", "queue_name": "Sales", "owner": "ana", "participants": ["ana"], "origin": "customer",
        "reopened_by": null, "created_at": "2026-01-02T03:04:05.123456Z", "window_expires_at": "2026-01-03T03:04:05Z",
        "can_reopen": true, "can_push": false, "done": false, "wrap_up_reason": "Resolved", "offered_to": null,
        "invited": null, "pending_wrap_up": [], "waiting_seconds": null, "answered": true
    });
    let validator = schema("Conversation");
    assert!(
        accepts(&validator, &conversation),
        "{}",
        schema_errors(&validator, &conversation)
    );
    for (what, wrong) in [
        ("a field missing", without(&conversation, "can_push")),
        ("an unknown field", with(&conversation, "/extra", json!(1))),
        (
            "an unknown status",
            with(&conversation, "/status", json!("closed")),
        ),
        (
            "a malformed id",
            with(&conversation, "/id", json!("not-a-uuid")),
        ),
        (
            "a malformed time",
            with(&conversation, "/created_at", json!("yesterday")),
        ),
        (
            "a null that is not an Option",
            with(&conversation, "/done", Value::Null),
        ),
        (
            "a number for an id",
            with(&conversation, "/owner", json!(7)),
        ),
        (
            "a negative wait",
            with(&conversation, "/waiting_seconds", json!(-1)),
        ),
        (
            "an unknown customer field",
            with(&conversation, "/customer/phone", json!("x")),
        ),
    ] {
        assert!(!accepts(&validator, &wrong), "Conversation accepts {what}");
    }

    let message = json!({
        "id": "0190f0a0-0000-7000-8000-000000000002", "direction": "outbound", "type": "image", "text": "receipt",
        "attachment": {"url": "https://x/y.png", "filename": "y.png", "size_bytes": 3}, "template": null,
        "author": "ana", "at": "2026-01-02T03:04:05Z", "status": "delivered", "wamid": "wamid.X",
        "media_url": "/conversations/0190f0a0-0000-7000-8000-000000000001/messages/0190f0a0-0000-7000-8000-000000000002/media"
    });
    let validator = schema("Message");
    assert!(
        accepts(&validator, &message),
        "{}",
        schema_errors(&validator, &message)
    );
    for (what, wrong) in [
        (
            "an unknown direction",
            with(&message, "/direction", json!("sideways")),
        ),
        (
            "an unknown delivery status",
            with(&message, "/status", json!("lost")),
        ),
        (
            "an image without its attachment",
            with(&message, "/attachment", Value::Null),
        ),
        (
            "an unknown attachment field",
            with(&message, "/attachment/colour", json!("red")),
        ),
        ("a missing wamid field", without(&message, "wamid")),
        (
            "a media_url that is not the media route",
            with(
                &message,
                "/media_url",
                json!("https://files.example.com/y.png"),
            ),
        ),
    ] {
        assert!(!accepts(&validator, &wrong), "Message accepts {what}");
    }

    let agent = json!({"id": "ana", "name": "ANA", "role": "agent", "state": "rona", "queues": ["sales"],
                       "max_concurrent": 2, "active": 0});
    let validator = schema("Agent");
    assert!(accepts(&validator, &agent));
    assert!(
        !accepts(&validator, &with(&agent, "/state", json!("busy"))),
        "Agent accepts an unknown state"
    );
    assert!(
        !accepts(&validator, &with(&agent, "/role", json!("wizard"))),
        "Agent accepts an unknown role"
    );

    let list = schema("ConversationList");
    assert!(accepts(
        &list,
        &json!({"items": [conversation], "next_cursor": null})
    ));
    assert!(
        !accepts(&list, &json!([conversation])),
        "a list is {{\"items\": [...]}}"
    );

    let conflict = schema("ErrorConflict");
    let taken =
        json!({"error": {"code": "already_taken", "message": "taken by ana", "owner": "ana"}});
    assert!(accepts(&conflict, &taken));
    assert!(
        !accepts(&conflict, &without(&taken["error"], "owner")),
        "an error is {{\"error\": ...}}"
    );
    assert!(
        !accepts(
            &conflict,
            &json!({"error": {"code": "already_taken", "message": "taken"}})
        ),
        "already_taken names the owner"
    );
    assert!(
        !accepts(
            &conflict,
            &json!({"error": {"code": "not_offered", "message": "no", "owner": "ana"}})
        ),
        "only already_taken has an owner"
    );
    assert!(
        !accepts(
            &conflict,
            &json!({"error": {"code": "not_found", "message": "no"}})
        ),
        "409 is not not_found"
    );
    assert!(
        !accepts(
            &conflict,
            &json!({"error": {"code": "invalid_state", "message": "no", "trace": "at main.rs"}})
        ),
        "no other fields"
    );

    let send = schema("SendRequest");
    assert!(accepts(&send, &json!({"text": "hi"})));
    let upload_id = "0190f0a0-0000-7000-8000-000000000003";
    assert!(accepts(
        &send,
        &json!({"attachment": {"upload_id": upload_id, "caption": "your invoice"}})
    ));
    assert!(accepts(
        &send,
        &json!({"attachment": {"upload_id": upload_id}})
    ));
    assert!(
        !accepts(
            &send,
            &json!({"attachment": {"url": "https://x/a.pdf", "filename": "a.pdf", "size_bytes": 1}})
        ),
        "no URL is taken for an attachment"
    );
    assert!(
        !accepts(
            &send,
            &json!({"attachment": {"upload_id": upload_id, "url": "https://x/a.pdf"}})
        ),
        "an upload and nothing else"
    );
    assert!(!accepts(
        &send,
        &json!({"attachment": {"upload_id": "../uploads/x"}})
    ));
    assert!(!accepts(
        &send,
        &json!({"text": "hi", "attachment": {"url": "https://x/a.pdf", "filename": "a.pdf", "size_bytes": 1}})
    ));
    assert!(!accepts(&send, &json!({})));
    assert!(!accepts(&send, &json!({"text": "x".repeat(4097)})));

    // Analytics: the rolling figures always carry the gauges; a past day has
    // none (both `null`), today has both; an average without samples is `null`.
    let figures = json!({
        "from": "2026-01-02T04:00:00Z", "to": "2026-01-03T03:04:05.123456Z", "agent_initiated": 3,
        "user_replied": 1, "declined": 1, "finished": 2, "active": 0, "answered": 1,
        "avg_response_seconds": 12.5, "avg_handling_seconds": null, "window_expiries": 0, "opt_outs": 1, "rona": 0
    });
    let validator = schema("Figures");
    assert!(
        accepts(&validator, &figures),
        "{}",
        schema_errors(&validator, &figures)
    );
    for (what, wrong) in [
        ("a figure missing", without(&figures, "rona")),
        ("an unknown figure", with(&figures, "/chats", json!(1))),
        ("no gauge", with(&figures, "/active", Value::Null)),
        ("a negative count", with(&figures, "/finished", json!(-1))),
        (
            "a fractional count",
            with(&figures, "/declined", json!(1.5)),
        ),
        ("a null count", with(&figures, "/opt_outs", Value::Null)),
        (
            "an average as text",
            with(&figures, "/avg_response_seconds", json!("12.5")),
        ),
        ("a malformed time", with(&figures, "/from", json!("today"))),
        (
            "a date for a time",
            with(&figures, "/to", json!("2026-01-03")),
        ),
        ("a field missing", without(&figures, "avg_handling_seconds")),
    ] {
        assert!(!accepts(&validator, &wrong), "Figures accepts {what}");
    }

    let mut past = with(&figures, "/date", json!("2026-01-02"));
    past = with(&past, "/active", Value::Null);
    past = with(&past, "/answered", Value::Null);
    let today = with(
        &with(&figures, "/date", json!("2026-01-03")),
        "/answered",
        json!(0),
    );
    let validator = schema("DayFigures");
    for day in [&past, &today] {
        assert!(
            accepts(&validator, day),
            "{}",
            schema_errors(&validator, day)
        );
    }
    for (what, wrong) in [
        ("no date", without(&past, "date")),
        (
            "a time for a date",
            with(&past, "/date", json!("2026-01-02T00:00:00Z")),
        ),
        (
            "a malformed date",
            with(&past, "/date", json!("2026-02-30")),
        ),
        (
            "one gauge without the other",
            with(&past, "/active", json!(2)),
        ),
        (
            "the other gauge without the one",
            with(&past, "/answered", json!(2)),
        ),
        ("an unknown figure", with(&today, "/chats", json!(1))),
    ] {
        assert!(!accepts(&validator, &wrong), "DayFigures accepts {what}");
    }
    let dashboard = schema("Dashboard");
    assert!(accepts(&dashboard, &json!({"days": [past, today]})));
    assert!(
        !accepts(&dashboard, &json!({"days": []})),
        "a dashboard has at least one day"
    );
    assert!(
        !accepts(&dashboard, &json!([past])),
        "a dashboard is {{\"days\": [...]}}"
    );
    assert!(
        !accepts(&dashboard, &json!({"days": [figures]})),
        "a day has its date"
    );
}

/// The stack over HTTP, with every answer checked against the document.
struct Contract {
    app: TestApp,
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// `(METHOD, template)` → statuses seen.
    exercised: Mutex<BTreeMap<(String, String), BTreeSet<u16>>>,
}

impl Contract {
    async fn spawn() -> Self {
        Self {
            app: TestApp::spawn().await,
            doc: document(),
            validators: Mutex::new(HashMap::new()),
            exercised: Mutex::new(BTreeMap::new()),
        }
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        cache
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(compile(&self.doc, schema)))
            .clone()
    }

    /// The documented path template `path` (without its query) matches; the
    /// one with the most literal segments wins.
    fn template_of(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let matches = parts.iter().zip(&segments).all(|(part, segment)| {
                if part.starts_with('{') && part.ends_with('}') {
                    !segment.is_empty()
                } else {
                    literal += usize::from(part == segment);
                    part == segment
                }
            });
            if matches && best.as_ref().is_none_or(|(score, _)| literal > *score) {
                best = Some((literal, template.clone()));
            }
        }
        best.map(|(_, template)| template)
    }

    /// Sends a request and checks the answer against the document; answers the
    /// status and the body (JSON, or a string for other media types).
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let mut request = self.app.http.request(method.clone(), self.app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        let answer = self.check(
            &method,
            path,
            body.as_deref(),
            status,
            media_type.as_deref(),
            &text,
        );
        (status, answer)
    }

    fn check(
        &self,
        method: &Method,
        path: &str,
        request_body: Option<&str>,
        status: u16,
        media_type: Option<&str>,
        text: &str,
    ) -> Value {
        let (bare, query) = path.split_once('?').unwrap_or((path, ""));
        let template = self
            .template_of(bare)
            .unwrap_or_else(|| panic!("{method} {path}: no path of docs/openapi.json matches"));
        let operation = &self.doc["paths"][&template][method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template}: not in docs/openapi.json (answered {status}: {text})"
        );
        let what = format!("{method} {template}");
        self.exercised
            .lock()
            .unwrap()
            .entry((method.to_string(), template.clone()))
            .or_default()
            .insert(status);

        // Query parameters must be documented.
        let parameters: Vec<&Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&self.doc, p))
            .collect();
        let url =
            reqwest::Url::parse(&format!("http://localhost/?{query}")).expect("a query string");
        for (name, _) in url.query_pairs() {
            assert!(
                parameters
                    .iter()
                    .any(|p| p["in"] == "query" && p["name"] == name.as_ref()),
                "{what}: query parameter {name:?} is not documented"
            );
        }

        // The status must be documented, and the body must fit its schema.
        let responses = operation["responses"].as_object().expect("responses");
        let response = responses.get(&status.to_string()).unwrap_or_else(|| {
            panic!(
                "{what} answered {status}, which is not documented (documented: {:?}); body: {text}",
                responses.keys().collect::<Vec<_>>()
            )
        });
        let response = resolve(&self.doc, response);
        let answer = match response.get("content").and_then(Value::as_object) {
            None => {
                assert!(
                    text.is_empty(),
                    "{what} {status}: documented without a body, answered {text:?}"
                );
                Value::Null
            }
            Some(content) => {
                let media_type = media_type
                    .unwrap_or_else(|| panic!("{what} {status}: no content-type; body: {text}"));
                let range = format!("{}/*", media_type.split('/').next().unwrap_or_default());
                let documented = content
                    .get(media_type)
                    .or_else(|| content.get(&range))
                    .unwrap_or_else(|| {
                        panic!(
                            "{what} {status}: answered {media_type}, documented {:?}; body: {text}",
                            content.keys().collect::<Vec<_>>()
                        )
                    });
                let instance = if media_type == "application/json" {
                    serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("{what} {status}: not JSON ({e}): {text}"))
                } else {
                    Value::String(text.to_owned())
                };
                let key = format!("{what} {status} {media_type}");
                let validator = self.validator(&key, &documented["schema"]);
                let errors = schema_errors(&validator, &instance);
                assert!(
                    errors.is_empty(),
                    "{what} answered {status} with a body its documented schema refuses:\n{errors}\nbody: {}",
                    serde_json::to_string_pretty(&instance).unwrap_or_default()
                );
                instance
            }
        };

        // What the server accepted, the documented request schema accepts too.
        if (200..300).contains(&status) {
            if let (Some(body), Some(request_body)) = (request_body, operation.get("requestBody")) {
                let request_body = resolve(&self.doc, request_body);
                let schema = &request_body["content"]["application/json"]["schema"];
                let instance: Value =
                    serde_json::from_str(body).expect("request bodies here are JSON");
                let validator = self.validator(&format!("{what} request"), schema);
                let errors = schema_errors(&validator, &instance);
                assert!(
                    errors.is_empty(),
                    "{what} accepted a request body its documented request schema refuses:\n{errors}\nbody: {instance}"
                );
            }
        }
        answer
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send(method, path, token, body.map(|b| b.to_string()), &[])
            .await
    }

    /// A call that must answer `status`; answers the body.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (got, answer) = self.call(method.clone(), path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    /// As `expect`, for a 4xx with error `code`.
    async fn expect_error(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Value {
        let answer = self.expect(method.clone(), path, token, body, status).await;
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        answer
    }

    /// A browser's form post to an upload target (`POST /uploads`'s `url`,
    /// locally the runner's `POST /_local/uploads`): every field as given,
    /// then the file as `file`.
    async fn post_form(&self, target: &Value, fields: &Value, file: &[u8]) -> (u16, Value) {
        let boundary = "----wadeskOpenApiBoundary";
        let mut body = Vec::new();
        for (name, value) in fields.as_object().expect("fields") {
            let value = value.as_str().expect("a field is a string");
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = reqwest::Url::parse(target["url"].as_str().expect("a url")).expect("a URL");
        let response = self
            .app
            .http
            .post(url.clone())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status().as_u16();
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let text = response.text().await.unwrap_or_default();
        let answer = self.check(
            &Method::POST,
            url.path(),
            None,
            status,
            media_type.as_deref(),
            &text,
        );
        (status, answer)
    }

    /// `GET` of a message's `media_url`: the status, the content type and
    /// the length of the body.
    async fn media(&self, url: &str, token: Option<&str>) -> (u16, String, usize) {
        let mut request = self.app.http.get(self.app.url(url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
        let bytes = response.bytes().await.unwrap_or_default();
        // The check reads a file as text; only its length matters here.
        let text = if media_type.as_deref() == Some("application/json") {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            "x".repeat(bytes.len())
        };
        self.check(
            &Method::GET,
            url,
            None,
            status,
            media_type.as_deref(),
            &text,
        );
        (status, media_type.unwrap_or_default(), bytes.len())
    }

    /// A signed webhook delivery, as WhatsApp makes it.
    async fn webhook(&self, body: &Value) -> (u16, Value) {
        let raw = body.to_string();
        let signature = wadesk_whatsapp::signature::sign(
            self.app.settings.app_secret.as_bytes(),
            raw.as_bytes(),
        );
        self.send(
            Method::POST,
            "/webhook",
            None,
            Some(raw),
            &[("x-hub-signature-256", signature)],
        )
        .await
    }
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect()
}

const CHANNEL: &str = "100000000000001";
/// The first bytes of a PDF: what the send's content check looks for.
const PDF_HEAD: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
/// A 1×1 PNG.
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const UNCONFIGURED_CHANNEL: &str = "100000000000099";
const BOT_CHANNEL: &str = "100000000000077";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handlers_answer_as_the_document_says() {
    let c = Contract::spawn().await;
    let app = &c.app;
    // The day the scenario starts on: its clock moves a day on the way, so
    // the first figures may be two dates back when it starts late in a day.
    let started_on = {
        let clock = c.expect(M::GET, "/_local/clock", None, None, 200).await;
        chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
            .date_naive()
    };
    let admin = app.token("root", "admin");
    let (ana, bob, cid, sue) = (
        app.token("ana", "agent"),
        app.token("bob", "agent"),
        app.token("cid", "agent"),
        app.token("sue", "supervisor"),
    );
    let bot = app.token("helper-bot", "bot");
    let (ana, bob, cid, sue, admin, bot) = (
        Some(ana.as_str()),
        Some(bob.as_str()),
        Some(cid.as_str()),
        Some(sue.as_str()),
        Some(admin.as_str()),
        Some(bot.as_str()),
    );
    use Method as M;

    // The runner serves this very document.
    let served = c.expect(M::GET, "/openapi.json", None, None, 200).await;
    assert_eq!(served, c.doc, "GET /openapi.json serves docs/openapi.json");

    // The local runner's own surface.
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

    // The webhook: verification, signatures, a batch, a duplicate.
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

    // An admin sets up the directory.
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

    // Agents: profile and state.
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
    let ghost = app.token("ghost", "admin");
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
    c.expect_error(
        M::PUT,
        "/me/state",
        ana,
        Some(json!({"state": "rona"})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::PUT,
        "/me/state",
        ana,
        Some(json!({"state": "asleep"})),
        400,
        "invalid_request",
    )
    .await;
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
    let me = c.expect(M::GET, "/me", sue, None, 200).await;
    assert_eq!(
        (&me["role"], &me["state"]),
        (&json!("supervisor"), &json!("not_ready"))
    );

    // A customer writes: offered to ana (the longest idle available agent of sales).
    let inbound = c
        .expect(M::POST, "/_local/inbound", None,
            Some(json!({"from": "34611222333", "name": "Lucía", "text": "Hola, my card 4111 1111 1111 1111 was charged twice"})), 200)
        .await;
    let id = inbound["conversation_id"].as_str().unwrap().to_owned();
    let conversation = format!("/conversations/{id}");
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
        "/_local/conversations/0190f0a0-0000-7000-8000-000000000000",
        None,
        None,
        404,
        "not_found",
    )
    .await;
    c.expect(M::GET, "/_local/events", None, None, 200).await;
    let timers = c.expect(M::GET, "/_local/timers", None, None, 200).await;
    assert!(!timers["items"].as_array().unwrap().is_empty());

    let offered = c
        .expect(M::GET, "/conversations?view=offered", ana, None, 200)
        .await;
    assert_eq!(ids(&offered), [id.as_str()]);
    assert_eq!(offered["items"][0]["queue_name"], "Sales");
    assert!(ids(&c
        .expect(M::GET, "/conversations?view=offered", bob, None, 200)
        .await)
    .is_empty());
    let lists = c
        .expect(
            M::GET,
            "/conversations?view=offered,unanswered,active,reopened,archive",
            bob,
            None,
            200,
        )
        .await;
    assert_eq!(ids(&lists), [id.as_str()], "unanswered in bob's queue");
    c.expect_error(
        M::GET,
        "/conversations?view=everything",
        ana,
        None,
        400,
        "invalid_request",
    )
    .await;
    c.expect(M::GET, &conversation, ana, None, 200).await;
    c.expect_error(M::GET, &conversation, cid, None, 403, "forbidden")
        .await;
    c.expect_error(
        M::GET,
        &format!("{conversation}/messages"),
        cid,
        None,
        403,
        "forbidden",
    )
    .await;
    // An agent cannot tell an unknown conversation from one they may not
    // see; a supervisor, who may see them all, is told it is not there.
    c.expect_error(
        M::GET,
        "/conversations/0190f0a0-0000-7000-8000-000000000000",
        ana,
        None,
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::GET,
        "/conversations/0190f0a0-0000-7000-8000-000000000000",
        sue,
        None,
        404,
        "not_found",
    )
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

    // Accept, send, a delivery status.
    c.expect_error(
        M::POST,
        &format!("{conversation}/accept"),
        bob,
        Some(json!({})),
        409,
        "not_offered",
    )
    .await;
    let accepted = c
        .expect(M::POST, &format!("{conversation}/accept"), ana, None, 200)
        .await;
    assert_eq!(
        (&accepted["status"], &accepted["owner"]),
        (&json!("active"), &json!("ana"))
    );
    assert_eq!(
        ids(&c.expect(M::GET, "/conversations", ana, None, 200).await),
        [id.as_str()]
    );
    let sent = c
        .expect(
            M::POST,
            &format!("{conversation}/messages"),
            ana,
            Some(json!({"text": "Let me check that for you"})),
            201,
        )
        .await;
    assert_eq!(sent["direction"], "outbound");
    // A file: an upload target, the form posted to it, then the send.
    let receipt = [PDF_HEAD, &[b' '; 2048]].concat();
    let target = c
        .expect(
            M::POST,
            "/uploads",
            ana,
            Some(
                json!({"filename": "receipt.pdf", "mime_type": "application/pdf",
                        "size_bytes": receipt.len()}),
            ),
            201,
        )
        .await;
    c.expect_error(
        M::POST,
        "/uploads",
        ana,
        Some(json!({"filename": "setup.exe", "mime_type": "application/pdf", "size_bytes": 10})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::POST,
        "/uploads",
        None,
        Some(json!({"filename": "a.pdf", "mime_type": "application/pdf", "size_bytes": 10})),
        401,
        "unauthenticated",
    )
    .await;
    let mut forged = target["fields"].clone();
    forged["policy"] = json!("forged");
    let (status, refused) = c.post_form(&target, &forged, &receipt).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("upload_refused")),
        "{refused}"
    );
    let (status, taken) = c.post_form(&target, &target["fields"], &receipt).await;
    assert_eq!(status, 204, "{taken}");
    let attachment =
        json!({"attachment": {"upload_id": target["upload_id"], "caption": "your receipt"}});
    let document = c
        .expect(
            M::POST,
            &format!("{conversation}/messages"),
            ana,
            Some(attachment),
            201,
        )
        .await;
    assert_eq!(document["type"], "document");
    let media_url = document["media_url"].as_str().unwrap().to_owned();
    assert_eq!(
        c.media(&media_url, ana).await,
        (200, "application/pdf".to_owned(), receipt.len())
    );
    c.expect_error(M::GET, &media_url, cid, None, 403, "forbidden")
        .await;
    let outbox = c.expect(M::GET, "/_local/outbox", None, None, 200).await;
    let last = outbox["items"].as_array().unwrap().last().unwrap();
    assert_eq!(last["media"]["filename"], "receipt.pdf", "{last}");
    c.expect_error(
        M::POST,
        &format!("{conversation}/messages"),
        ana,
        Some(json!({"text": "x".repeat(4097)})),
        400,
        "invalid_request",
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/messages"),
        ana,
        Some(json!({"text": "hi", "colour": "red"})),
        400,
        "invalid_request",
    )
    .await;
    let wamid = sent["wamid"].as_str().unwrap();
    let delivered = wadesk_whatsapp::status_body(
        CHANNEL,
        "+1 555 0100",
        wamid,
        "34611222333",
        "delivered",
        chrono::Utc::now().timestamp(),
        None,
    );
    let (status, summary) = c.webhook(&delivered).await;
    assert_eq!(
        (status, &summary["statuses_applied"]),
        (200, &json!(1)),
        "{summary}"
    );
    let transcript = c
        .expect(M::GET, &format!("{conversation}/messages"), ana, None, 200)
        .await;
    let items = transcript["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1]["status"], "delivered");
    assert!(
        !items[0]["text"]
            .as_str()
            .unwrap()
            .contains("4111 1111 1111 1111"),
        "masked"
    );

    // Take and overtake.
    let taken = c
        .expect_error(
            M::POST,
            &format!("{conversation}/take"),
            bob,
            Some(json!({})),
            409,
            "already_taken",
        )
        .await;
    assert_eq!(taken["error"]["owner"], "ana");
    c.expect_error(
        M::POST,
        &format!("{conversation}/take"),
        cid,
        None,
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/take"),
        bob,
        Some(json!({"force": "yes"})),
        400,
        "invalid_request",
    )
    .await;

    // Transfer to bob; ana wraps up her part.
    c.expect_error(
        M::POST,
        &format!("{conversation}/transfer"),
        ana,
        Some(json!({"agent": "bob", "queue": "sales"})),
        400,
        "invalid_request",
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/transfer"),
        ana,
        Some(json!({"agent": "bob"})),
        200,
    )
    .await;
    assert_eq!(
        ids(&c
            .expect(M::GET, "/conversations?view=offered", bob, None, 200)
            .await),
        [id.as_str()]
    );
    c.expect(M::POST, &format!("{conversation}/accept"), bob, None, 200)
        .await;
    assert_eq!(
        ids(&c
            .expect(M::GET, "/conversations?view=active", ana, None, 200)
            .await),
        [id.as_str()],
        "ana owes a wrap-up"
    );
    c.expect(
        M::POST,
        &format!("{conversation}/wrap-up"),
        ana,
        Some(json!({"reason": "Escalated"})),
        200,
    )
    .await;

    // Conference: bob invites ana; she joins and exits; again, and bob ends it.
    c.expect_error(
        M::POST,
        &format!("{conversation}/conference"),
        bob,
        Some(json!({})),
        400,
        "invalid_request",
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/conference"),
        bob,
        Some(json!({"agent": "ana"})),
        200,
    )
    .await;
    assert_eq!(
        ids(&c
            .expect(M::GET, "/conversations?view=offered", ana, None, 200)
            .await),
        [id.as_str()]
    );
    let joined = c
        .expect(
            M::POST,
            &format!("{conversation}/conference/accept"),
            ana,
            None,
            200,
        )
        .await;
    assert_eq!(joined["participants"], json!(["bob", "ana"]));
    c.expect(
        M::POST,
        &format!("{conversation}/conference/exit"),
        ana,
        None,
        200,
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/wrap-up"),
        ana,
        Some(json!({"reason": "Resolved"})),
        200,
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/conference"),
        bob,
        Some(json!({"agent": "ana"})),
        200,
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/conference/accept"),
        ana,
        None,
        200,
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/conference/end"),
        ana,
        None,
        403,
        "forbidden",
    )
    .await;
    let ended = c
        .expect(
            M::POST,
            &format!("{conversation}/conference/end"),
            bob,
            None,
            200,
        )
        .await;
    if ended["pending_wrap_up"]
        .as_array()
        .unwrap()
        .contains(&json!("ana"))
    {
        c.expect(
            M::POST,
            &format!("{conversation}/wrap-up"),
            ana,
            Some(json!({"reason": "Resolved"})),
            200,
        )
        .await;
    }

    // Supervision and tip-off.
    c.expect(
        M::POST,
        &format!("{conversation}/notes"),
        sue,
        Some(json!({"text": "offer a refund"})),
        201,
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/notes"),
        ana,
        Some(json!({"text": "psst"})),
        403,
        "forbidden",
    )
    .await;
    let huge = json!({"text": "x".repeat(70 * 1024)});
    c.expect_error(
        M::POST,
        &format!("{conversation}/notes"),
        sue,
        Some(huge),
        413,
        "too_large",
    )
    .await;
    let supervised = c
        .expect(
            M::GET,
            "/supervise/conversations?status=active&agent=bob",
            sue,
            None,
            200,
        )
        .await;
    assert_eq!(ids(&supervised), [id.as_str()]);
    let live = c
        .expect(M::GET, "/supervise/conversations", admin, None, 200)
        .await;
    assert_eq!(
        ids(&live).len(),
        2,
        "the walk-in (unanswered in billing) and lucía's"
    );
    c.expect_error(
        M::GET,
        "/supervise/conversations",
        ana,
        None,
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::GET,
        "/supervise/conversations?status=sleeping",
        sue,
        None,
        400,
        "invalid_request",
    )
    .await;

    // End, wrap up, archive, history, done.
    let ended = c
        .expect(M::POST, &format!("{conversation}/end"), bob, None, 200)
        .await;
    assert_eq!(ended["status"], "wrap_up");
    c.expect_error(
        M::POST,
        &format!("{conversation}/wrap-up"),
        bob,
        Some(json!({"reason": "Nonsense"})),
        400,
        "invalid_request",
    )
    .await;
    let finished = c
        .expect(
            M::POST,
            &format!("{conversation}/wrap-up"),
            bob,
            Some(json!({"reason": "Resolved"})),
            200,
        )
        .await;
    assert_eq!(
        (&finished["status"], &finished["wrap_up_reason"]),
        (&json!("finished"), &json!("Resolved"))
    );
    c.expect_error(
        M::POST,
        &format!("{conversation}/end"),
        bob,
        None,
        409,
        "invalid_state",
    )
    .await;
    let archive = c
        .expect(M::GET, "/conversations?view=archive", bob, None, 200)
        .await;
    assert_eq!(ids(&archive), [id.as_str()]);
    assert_eq!(
        (
            &archive["items"][0]["can_reopen"],
            &archive["items"][0]["can_push"]
        ),
        (&json!(true), &json!(false))
    );
    let found = c
        .expect(
            M::GET,
            "/customers/34611222333/history?q=CHARGED",
            ana,
            None,
            200,
        )
        .await;
    assert_eq!(ids(&found), [id.as_str()]);
    assert!(ids(&c
        .expect(
            M::GET,
            "/customers/34611222333/history?q=pizza",
            ana,
            None,
            200
        )
        .await)
    .is_empty());
    assert_eq!(
        ids(&c
            .expect(M::GET, "/customers/34611222333/history", ana, None, 200)
            .await)
        .len(),
        1
    );
    c.expect_error(
        M::GET,
        "/customers/a%20b/history",
        ana,
        None,
        404,
        "not_found",
    )
    .await;
    c.expect_error(
        M::GET,
        "/customers/34611222333/history",
        bot,
        None,
        403,
        "forbidden",
    )
    .await;
    let done = c
        .expect(M::POST, &format!("{conversation}/done"), bob, None, 200)
        .await;
    assert_eq!(done["done"], true);
    assert!(ids(&c
        .expect(M::GET, "/conversations?view=archive", bob, None, 200)
        .await)
    .is_empty());
    c.expect_error(
        M::POST,
        "/conversations/0190f0a0-0000-7000-8000-000000000000/accept",
        ana,
        None,
        403,
        "forbidden",
    )
    .await;

    // Reopen inside the window; the customer replies; reopened again, the customer
    // declines with #STOP, and no reopen gets through after it.
    c.expect_error(
        M::POST,
        &format!("{conversation}/reopen"),
        cid,
        None,
        403,
        "forbidden",
    )
    .await;
    let reopened = c
        .expect(M::POST, &format!("{conversation}/reopen"), bob, None, 200)
        .await;
    assert_eq!(
        (
            &reopened["status"],
            &reopened["origin"],
            &reopened["reopened_by"]
        ),
        (&json!("reopened"), &json!("agent_reopen"), &json!("bob"))
    );
    c.expect_error(
        M::POST,
        &format!("{conversation}/reopen"),
        bob,
        None,
        409,
        "session_active_elsewhere",
    )
    .await;
    assert_eq!(
        ids(&c
            .expect(M::GET, "/conversations?view=reopened", bob, None, 200)
            .await),
        [id.as_str()]
    );
    let replied = c
        .expect(
            M::POST,
            "/_local/inbound",
            None,
            Some(json!({"from": "34611222333", "name": "Lucía", "text": "yes please"})),
            200,
        )
        .await;
    assert_eq!(
        (
            replied["conversation_id"].as_str(),
            &replied["conversation_status"]
        ),
        (Some(id.as_str()), &json!("active"))
    );
    c.expect(M::POST, &format!("{conversation}/end"), bob, None, 200)
        .await;
    c.expect(
        M::POST,
        &format!("{conversation}/wrap-up"),
        bob,
        Some(json!({"reason": "Resolved"})),
        200,
    )
    .await;
    c.expect(
        M::POST,
        &format!("{conversation}/reopen"),
        bob,
        Some(json!({})),
        200,
    )
    .await;
    c.expect(
        M::POST,
        "/_local/inbound",
        None,
        Some(json!({"from": "34611222333", "name": "Lucía", "text": "#STOP"})),
        200,
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/reopen"),
        bob,
        None,
        409,
        "opted_out",
    )
    .await;

    // A second customer: bob takes it; after 24 hours only a template may go.
    let second = c
        .expect(
            M::POST,
            "/_local/inbound",
            None,
            Some(json!({"from": "34611222444", "text": "anyone?"})),
            200,
        )
        .await;
    let second = format!(
        "/conversations/{}",
        second["conversation_id"].as_str().unwrap()
    );
    let taken = c
        .expect(
            M::POST,
            &format!("{second}/take"),
            bob,
            Some(json!({"force": false})),
            200,
        )
        .await;
    assert_eq!(taken["owner"], "bob");
    let overtaken = c
        .expect(
            M::POST,
            &format!("{second}/take"),
            ana,
            Some(json!({"force": true})),
            200,
        )
        .await;
    assert_eq!(overtaken["owner"], "ana");
    let advanced = c
        .expect(
            M::POST,
            "/_local/clock/advance",
            None,
            Some(json!({"seconds": 25 * 3600})),
            200,
        )
        .await;
    assert!(advanced["timers_fired"].as_u64().unwrap() >= 1);
    c.expect_error(
        M::POST,
        &format!("{second}/messages"),
        ana,
        Some(json!({"text": "sorry for the wait"})),
        409,
        "window_closed",
    )
    .await;
    c.expect(M::POST, &format!("{second}/end"), ana, None, 200)
        .await;
    c.expect(
        M::POST,
        &format!("{second}/wrap-up"),
        ana,
        Some(json!({"reason": "Resolved"})),
        200,
    )
    .await;
    let archive = c
        .expect(M::GET, "/conversations?view=archive", ana, None, 200)
        .await;
    assert_eq!(
        (
            &archive["items"][0]["can_reopen"],
            &archive["items"][0]["can_push"]
        ),
        (&json!(false), &json!(true))
    );

    for token in [ana, bob] {
        assert_eq!(c.expect(M::GET, "/me", token, None, 200).await["active"], 0);
    }

    // After the window: no reopen, one push.
    c.expect_error(
        M::POST,
        &format!("{second}/reopen"),
        ana,
        None,
        409,
        "window_closed",
    )
    .await;
    let pushed = c
        .expect(M::POST, &format!("{second}/push"), ana, None, 200)
        .await;
    assert_eq!(
        (&pushed["status"], &pushed["origin"]),
        (&json!("reopened"), &json!("push"))
    );
    c.expect_error(
        M::POST,
        &format!("{second}/push"),
        ana,
        None,
        409,
        "push_already_sent",
    )
    .await;

    // A bot hands its conversation over to a queue.
    c.expect(M::PUT, &format!("/admin/channels/{BOT_CHANNEL}"), admin,
        Some(json!({"display_phone_number": "+1 555 0177", "default_queue": "sales", "bot": true, "reopen_message": "Hello again"})), 200).await;
    let third = c
        .expect(M::POST, "/_local/inbound", None,
            Some(json!({"from": "34611222555", "text": "I need a person", "phone_number_id": BOT_CHANNEL})), 200)
        .await;
    assert_eq!(third["conversation_status"], "bot");
    let third = format!(
        "/conversations/{}",
        third["conversation_id"].as_str().unwrap()
    );
    c.expect_error(
        M::POST,
        &format!("{third}/handoff"),
        ana,
        Some(json!({"queue": "billing"})),
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{third}/handoff"),
        bot,
        Some(json!({"queue": "nope"})),
        400,
        "invalid_request",
    )
    .await;
    let handed = c
        .expect(
            M::POST,
            &format!("{third}/handoff"),
            bot,
            Some(json!({"queue": "billing"})),
            200,
        )
        .await;
    assert_eq!(
        (&handed["status"], &handed["queue"]),
        (&json!("unanswered"), &json!("billing"))
    );
    // Handed over, it is no longer the bot's to see or act on.
    c.expect_error(
        M::POST,
        &format!("{third}/handoff"),
        bot,
        Some(json!({"queue": "billing"})),
        403,
        "forbidden",
    )
    .await;

    let outbox = c.expect(M::GET, "/_local/outbox", None, None, 200).await;
    let outbox = outbox["items"].as_array().unwrap();
    assert!(
        outbox.iter().all(|m| m["text"] != "offer a refund"),
        "notes never reach the customer"
    );
    assert!(
        outbox.iter().any(|m| m["type"] == "template"),
        "the push went out"
    );

    // The wrap-up reasons, for anyone in the directory.
    let reasons = c.expect(M::GET, "/wrap-up-reasons", ana, None, 200).await;
    assert!(!reasons["reasons"].as_array().unwrap().is_empty());

    // The audit trail of the reads above: admins only.
    let trail = c.expect(M::GET, "/admin/audit", admin, None, 200).await;
    assert!(!trail["items"].as_array().unwrap().is_empty());
    c.expect_error(M::GET, "/admin/audit", sue, None, 403, "forbidden")
        .await;

    // Analytics, after all that: supervisors and admins see any scope, agents
    // their own; the gauges are on today's entry only.
    let now = c.expect(M::GET, "/_local/clock", None, None, 200).await;
    let today = chrono::DateTime::parse_from_rfc3339(now["now"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .date_naive();
    let yesterday = today - chrono::Duration::days(1);
    let days = |dashboard: &Value| -> Vec<Value> { dashboard["days"].as_array().unwrap().clone() };
    let total = |dashboard: &Value, figure: &str| -> u64 {
        days(dashboard)
            .iter()
            .map(|day| day[figure].as_u64().unwrap())
            .sum()
    };

    let everything = c
        .expect(M::GET, "/analytics/dashboard", sue, None, 200)
        .await;
    let all_days = days(&everything);
    assert_eq!(
        all_days.len(),
        7,
        "the last 7 days by default: {everything}"
    );
    assert_eq!(all_days[6]["date"], today.to_string());
    assert_eq!(
        all_days[0]["date"],
        (today - chrono::Duration::days(6)).to_string()
    );
    for day in &all_days[..6] {
        assert_eq!(
            (&day["active"], &day["answered"]),
            (&Value::Null, &Value::Null),
            "{day}"
        );
    }
    assert!(all_days[6]["active"].is_u64() && all_days[6]["answered"].is_u64());
    assert_eq!(
        total(&everything, "agent_initiated"),
        3,
        "bob's two reopens and ana's push: {everything}"
    );
    let filtered = c
        .expect(
            M::GET,
            &format!("/analytics/dashboard?from={started_on}&to={today}&agent=bob&queue=sales"),
            sue,
            None,
            200,
        )
        .await;
    assert_eq!(
        days(&filtered).len(),
        usize::try_from((today - started_on).num_days()).unwrap() + 1
    );
    assert_eq!(total(&filtered, "agent_initiated"), 2, "{filtered}");
    let as_times = c
        .expect(
            M::GET,
            &format!("/analytics/dashboard?from={yesterday}T23:59:59Z&to={today}T00:00:00%2B00:00&agent=bob"),
            sue,
            None,
            200,
        )
        .await;
    assert_eq!(
        days(&as_times)
            .iter()
            .map(|day| day["date"].clone())
            .collect::<Vec<_>>(),
        [json!(yesterday.to_string()), json!(today.to_string())],
        "a time stands for its UTC date"
    );
    let week_ago = today - chrono::Duration::days(7);
    let past = c
        .expect(
            M::GET,
            &format!("/analytics/dashboard?from={week_ago}&to={week_ago}&channel={CHANNEL}"),
            admin,
            None,
            200,
        )
        .await;
    assert_eq!(
        (&past["days"][0]["active"], &past["days"][0]["finished"]),
        (&Value::Null, &json!(0)),
        "{past}"
    );
    let rolling = c
        .expect(M::GET, "/analytics/chat-statistics", sue, None, 200)
        .await;
    assert!(rolling["active"].is_u64() && rolling["answered"].is_u64());
    c.expect(
        M::GET,
        "/analytics/chat-statistics?agent=bob&queue=sales",
        sue,
        None,
        200,
    )
    .await;
    c.expect(
        M::GET,
        &format!("/analytics/chat-statistics?channel={CHANNEL}"),
        admin,
        None,
        200,
    )
    .await;

    // An agent: their own figures, and nothing wider.
    let own = c
        .expect(M::GET, "/analytics/dashboard", bob, None, 200)
        .await;
    let bobs = c
        .expect(M::GET, "/analytics/dashboard?agent=bob", sue, None, 200)
        .await;
    assert_eq!(own, bobs, "an agent's own figures by default");
    assert_eq!(total(&own, "agent_initiated"), 2);
    let own = c
        .expect(
            M::GET,
            &format!("/analytics/dashboard?from={started_on}&agent=bob&queue=sales"),
            bob,
            None,
            200,
        )
        .await;
    assert_eq!(own, filtered, "an agent within a queue");
    c.expect(M::GET, "/analytics/chat-statistics", ana, None, 200)
        .await;
    c.expect(
        M::GET,
        "/analytics/chat-statistics?agent=ana&queue=sales",
        ana,
        None,
        200,
    )
    .await;
    for (path, token) in [
        ("/analytics/dashboard?agent=bob", ana),
        ("/analytics/dashboard?queue=sales", ana),
        ("/analytics/chat-statistics?agent=bob&queue=sales", ana),
        ("/analytics/chat-statistics?channel=100000000000001", ana),
        ("/analytics/dashboard", bot),
        ("/analytics/chat-statistics", bot),
    ] {
        c.expect_error(M::GET, path, token, None, 403, "forbidden")
            .await;
    }
    // A role claim counts for nothing: a subject not in the directory is refused.
    let wizard = app.token("merlin", "admin");
    c.expect_error(
        M::GET,
        "/analytics/chat-statistics",
        Some(wizard.as_str()),
        None,
        403,
        "not_in_directory",
    )
    .await;

    // No token, or a bad one.
    for path in ["/analytics/dashboard", "/analytics/chat-statistics"] {
        c.expect_error(M::GET, path, None, None, 401, "unauthenticated")
            .await;
        c.expect_error(
            M::GET,
            path,
            Some("not.a.jwt"),
            None,
            401,
            "unauthenticated",
        )
        .await;
    }

    // Bad dates and filters.
    let too_early = today - chrono::Duration::days(92);
    for path in [
        "/analytics/dashboard?from=yesterday".to_owned(),
        "/analytics/dashboard?to=2026-13-01".to_owned(),
        "/analytics/dashboard?from=2026-1-2".to_owned(),
        "/analytics/dashboard?to=2026-01-02T25:00:00Z".to_owned(),
        format!("/analytics/dashboard?from={today}&to={yesterday}"),
        format!("/analytics/dashboard?from={too_early}&to={today}"),
        "/analytics/dashboard?agent=a%20b".to_owned(),
        format!("/analytics/dashboard?channel={CHANNEL}&queue=sales"),
        "/analytics/chat-statistics?channel=not-digits".to_owned(),
        format!("/analytics/chat-statistics?channel={CHANNEL}&agent=bob"),
    ] {
        c.expect_error(M::GET, &path, sue, None, 400, "invalid_request")
            .await;
    }
    c.expect_error(
        M::GET,
        "/analytics/dashboard?from=last-week",
        bob,
        None,
        400,
        "invalid_request",
    )
    .await;
    c.expect(
        M::GET,
        &format!(
            "/analytics/dashboard?from={}&to={today}",
            today - chrono::Duration::days(91)
        ),
        sue,
        None,
        200,
    )
    .await;

    // A customer's data on request, admins only: exported a page at a
    // time, then erased (their live session ended first); both audited.
    c.expect(
        M::POST,
        "/_local/inbound",
        None,
        Some(json!({"from": "34611222999", "text": "please forget me"})),
        200,
    )
    .await;
    let customer = format!("/admin/customers/{CHANNEL}/34611222999");
    let export = c
        .expect(
            M::GET,
            &format!("{customer}/export?limit=2"),
            admin,
            None,
            200,
        )
        .await;
    assert_eq!(export["items"][0]["type"], "customer");
    assert!(export["next_cursor"].is_string());
    c.expect_error(
        M::GET,
        &format!("{customer}/export"),
        sue,
        None,
        403,
        "forbidden",
    )
    .await;
    c.expect_error(M::DELETE, &customer, ana, None, 403, "forbidden")
        .await;
    let erased = c.expect(M::DELETE, &customer, admin, None, 200).await;
    assert_eq!(erased["status"], "complete");
    assert_eq!(erased["erased"]["conversations"], 1);
    let again = c.expect(M::DELETE, &customer, admin, None, 200).await;
    assert_eq!(again["erased"]["conversations"], 0);
    let trail = c
        .expect(
            M::GET,
            "/admin/audit?customer=34611222999",
            admin,
            None,
            200,
        )
        .await;
    assert!(trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "customer_erasure"));

    // A customer's photo: fetched before the runner answers, served to whoever
    // may see the conversation; a message without a file has none; after the
    // retention (30 days) it is gone.
    let photo = c
        .expect(
            M::POST,
            "/_local/inbound",
            None,
            Some(json!({"from": "34611222777", "text": "the broken part",
                        "image": {"mime_type": "image/png", "base64": PNG_BASE64}})),
            200,
        )
        .await;
    let photo_conversation = format!(
        "/conversations/{}",
        photo["conversation_id"].as_str().unwrap()
    );
    let transcript = c
        .expect(
            M::GET,
            &format!("{photo_conversation}/messages"),
            admin,
            None,
            200,
        )
        .await;
    let message = &transcript["items"][0];
    assert_eq!(message["type"], "image", "{message}");
    let media_url = message["media_url"].as_str().unwrap().to_owned();
    let (status, media_type, _) = c.media(&media_url, admin).await;
    assert_eq!((status, media_type.as_str()), (200, "image/png"));
    c.expect_error(M::GET, &media_url, cid, None, 403, "forbidden")
        .await;
    c.expect_error(
        M::GET,
        &format!("{photo_conversation}/messages/0190f0a0-0000-7000-8000-000000000000/media"),
        admin,
        None,
        404,
        "not_found",
    )
    .await;
    c.expect(
        M::POST,
        "/_local/clock/advance",
        None,
        Some(json!({"seconds": 31 * 24 * 3600})),
        200,
    )
    .await;
    c.expect_error(M::GET, &media_url, admin, None, 410, "gone")
        .await;

    // The scenario went through every documented operation.
    let exercised = c.exercised.lock().unwrap().clone();
    let missed: Vec<_> = documented_operations(&c.doc)
        .into_iter()
        .filter(|op| !exercised.contains_key(op))
        .collect();
    assert!(
        missed.is_empty(),
        "documented operations the scenario never called: {missed:?}"
    );
}
