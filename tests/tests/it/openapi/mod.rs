//! The OpenAPI document (`docs/openapi.json`) against the code.
//!
//! - Every route served (the agent API's `ROUTES`, analytics' `ROUTES`, the
//!   webhook's two, the local runner's own) is documented, and every documented
//!   operation is served.
//! - Over HTTP through the local runner, one test per area of the API, each on
//!   its own stack: every answer must have a status the document gives for that
//!   operation, and a body that the document's schema for it accepts (JSON
//!   Schema 2020-12, `$ref`s resolved against the document's `components`,
//!   formats checked). A request body the server accepted must be accepted by
//!   the documented request schema.
//! - Coverage: each area declares the operations it covers and checks it called
//!   exactly those (`Contract::covered_exactly`); the declarations together are
//!   every documented operation (`the_areas_together_cover_every_documented_operation`).

mod admin;
mod contract;
mod data;
mod desk;
mod local;
mod setup;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use contract::{
    compile, document, documented_operations, resolve, schema_errors, try_compile, walk,
};

/// What each area test covers (its `covered_exactly` list), by test.
const AREAS: &[(&str, &[(&str, &str)])] = &[
    ("local::the_local_routes", local::LOCAL_ROUTES_COVERED),
    ("local::the_webhook", local::WEBHOOK_COVERED),
    (
        "local::signing_in_and_the_agents_state",
        local::SIGN_IN_COVERED,
    ),
    ("local::the_error_answers", local::ERRORS_COVERED),
    ("admin::the_admin_directory", admin::DIRECTORY_COVERED),
    ("desk::offer_and_accept", desk::OFFER_COVERED),
    ("desk::sending_messages", desk::SEND_COVERED),
    ("desk::media_and_uploads", desk::MEDIA_COVERED),
    ("desk::take_and_transfer", desk::TAKE_COVERED),
    ("desk::a_conference", desk::CONFERENCE_COVERED),
    ("desk::notes_and_supervision", desk::SUPERVISION_COVERED),
    (
        "desk::end_wrap_up_archive_history_and_done",
        desk::END_COVERED,
    ),
    ("desk::reopening_within_the_window", desk::REOPEN_COVERED),
    ("desk::pushing_after_the_window", desk::PUSH_COVERED),
    (
        "desk::a_bot_hands_its_conversation_over",
        desk::HANDOFF_COVERED,
    ),
    (
        "data::a_customers_data_exported_and_erased",
        data::DATA_PROTECTION_COVERED,
    ),
    ("data::the_analytics_figures", data::ANALYTICS_COVERED),
];

/// The area tests run in parallel and in any order; each proves it called
/// what it declares, so the declarations together prove the coverage.
#[test]
fn the_areas_together_cover_every_documented_operation() {
    let documented = documented_operations(&document());
    let mut declared = BTreeSet::new();
    for (area, operations) in AREAS {
        assert!(!operations.is_empty(), "{area} declares nothing");
        for (method, path) in *operations {
            let operation = ((*method).to_owned(), (*path).to_owned());
            assert!(
                documented.contains(&operation),
                "{area} declares {method} {path}, which is not documented"
            );
            declared.insert(operation);
        }
    }
    let missed: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missed.is_empty(),
        "documented operations no area covers: {missed:?}"
    );
}

/// The local runner's own routes (`infra/local-runner/src/local_routes.rs`).
const LOCAL_ROUTES: &[(&str, &str)] = &[
    ("POST", "/_local/inbound"),
    ("POST", "/_local/uploads"),
    ("POST", "/_local/clock/advance"),
    ("GET", "/_local/clock"),
    ("GET", "/_local/sent"),
    ("GET", "/_local/poison"),
    ("GET", "/_local/events"),
    ("GET", "/_local/timers"),
    ("POST", "/_local/token"),
    ("GET", "/_local/conversations/{id}"),
    ("GET", "/openapi.json"),
];

/// The webhook function's routes (`functions/webhook/src/lib.rs`).
const WEBHOOK_ROUTES: &[(&str, &str)] = &[("GET", "/webhook"), ("POST", "/webhook")];

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
