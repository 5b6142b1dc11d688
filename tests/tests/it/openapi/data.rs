//! What is kept about customers and agents: a customer's data exported and
//! erased, the audit trail, and the analytics figures.

use reqwest::Method as M;
use serde_json::{json, Value};

use super::setup::{self, CHANNEL};

pub(super) const DATA_PROTECTION_COVERED: &[(&str, &str)] = &[
    ("GET", "/admin/customers/{phone_number_id}/{wa_id}/export"),
    ("DELETE", "/admin/customers/{phone_number_id}/{wa_id}"),
    ("GET", "/admin/audit"),
];

/// A customer's data on request, admins only: exported a page at a time,
/// then erased (their live session ended first); both audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_data_exported_and_erased() {
    let (c, tokens) = setup::desk().await;
    let [admin, ana, _, _, sue, _] = tokens.all();
    setup::customer_writes(
        &c,
        json!({"from": "34611222999", "text": "please forget me"}),
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

    // The audit trail of the reads above: admins only.
    let trail = c.expect(M::GET, "/admin/audit", admin, None, 200).await;
    assert!(!trail["items"].as_array().unwrap().is_empty());
    c.expect_error(M::GET, "/admin/audit", sue, None, 403, "forbidden")
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

    c.covered_exactly(DATA_PROTECTION_COVERED);
}

pub(super) const ANALYTICS_COVERED: &[(&str, &str)] = &[
    ("GET", "/analytics/dashboard"),
    ("GET", "/analytics/chat-statistics"),
];

/// Supervisors and admins see any scope, agents their own; the gauges are on
/// today's entry only. Counted: bob's two reopens (sales) and ana's push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analytics_figures() {
    let (c, tokens) = setup::desk().await;
    let [admin, ana, bob, _, sue, bot] = tokens.all();
    // The day the stack starts on: the setup moves its clock 25 hours, so
    // the first figures may be two dates back when it starts late in a day.
    let started_on = setup::runner_today(&c).await;
    setup::reopened_twice_by_bob(&c, &tokens).await;
    let second = setup::taken_by_ana_past_the_window(&c, &tokens).await;
    setup::finish(&c, &second, ana).await;
    c.given(M::POST, &format!("{second}/push"), ana, None, 200)
        .await;

    let today = setup::runner_today(&c).await;
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
    let wizard = c.app.token("merlin", "admin");
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

    c.covered_exactly(ANALYTICS_COVERED);
}
