//! The audit trail over HTTP: transcript reads and history searches are
//! recorded (who, what, when, which route), admins read them filtered and a
//! page at a time, agents cannot.

use reqwest::Method;
use serde_json::{json, Value};

use crate::desk::Desk;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_customer_data_are_in_the_audit_trail_for_admins_only() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let sue = desk.hire("sue", "supervisor").await;
    let id = desk.customer_writes("34611000901", "hola").await;
    desk.post(&id, "take", &ana, json!({}), 200).await;

    let (status, _) = desk
        .get(&format!("/conversations/{id}/messages"), &ana)
        .await;
    assert_eq!(status, 200);
    let (status, _) = desk
        .get("/customers/34611000901/history?q=hola", &sue)
        .await;
    assert_eq!(status, 200);

    let (status, trail) = desk.get("/admin/audit", &desk.admin).await;
    assert_eq!(status, 200, "{trail}");
    let records = trail["items"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["customer"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first.
    assert_eq!(
        seen,
        [
            ("sue", "history_search", "34611000901"),
            ("ana", "transcript_read", "34611000901")
        ]
    );
    assert_eq!(records[1]["conversation"], id.as_str());
    assert_eq!(records[1]["route"], "GET /conversations/{id}/messages");
    assert!(
        !trail.to_string().contains("hola"),
        "the words searched are not kept: {trail}"
    );

    // Filtered by actor and by customer, a page at a time.
    let (_, only_ana) = desk.get("/admin/audit?actor=ana", &desk.admin).await;
    assert_eq!(only_ana["items"].as_array().unwrap().len(), 1);
    let (_, other) = desk
        .get("/admin/audit?customer=34699999999", &desk.admin)
        .await;
    assert_eq!(other["items"], json!([]));
    let (_, first) = desk.get("/admin/audit?limit=1", &desk.admin).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = desk
        .get(
            &format!("/admin/audit?limit=1&cursor={cursor}"),
            &desk.admin,
        )
        .await;
    assert_eq!(second["items"][0]["actor"], "ana");

    // Agents and supervisors may not read it; nobody may change it.
    for token in [&ana, &sue] {
        let (status, answer) = desk.get("/admin/audit", token).await;
        assert_eq!(status, 403, "{answer}");
    }
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        let (status, _) = desk
            .app
            .call(method, "/admin/audit", Some(&desk.admin), Some(json!({})))
            .await;
        assert_eq!(status, 404);
    }
    // Bounded: at most 31 days at once, dates checked.
    for bad in [
        "/admin/audit?from=2026-01-01&to=2026-03-01",
        "/admin/audit?from=yesterday",
        "/admin/audit?from=2026-02-02&to=2026-02-01",
    ] {
        let (status, answer): (u16, Value) = desk.get(bad, &desk.admin).await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
}
