//! The desk: offers, accepting, sending, files, taking, transferring,
//! conferences, notes and supervision, ending and wrapping up, the archive and
//! history, reopening, pushing, and a bot's handoff.

use reqwest::Method as M;
use serde_json::{json, Value};

use super::contract::ids;
use super::setup::{self, BOT_CHANNEL, CHANNEL, LUCIA, PDF_HEAD, PNG_BASE64, UNCONFIGURED_CHANNEL};

pub(super) const OFFER_COVERED: &[(&str, &str)] = &[
    ("GET", "/conversations"),
    ("GET", "/conversations/{id}"),
    ("GET", "/conversations/{id}/messages"),
    ("POST", "/conversations/{id}/accept"),
];

/// Lucía's chat is offered to ana (the longest idle available agent of
/// sales), who accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_and_accept() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, bob, cid, ..] = tokens.all();
    let (id, conversation) = setup::lucia_writes(&c).await;

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

    c.covered_exactly(OFFER_COVERED);
}

pub(super) const SEND_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/messages"),
    ("POST", "/webhook"),
    ("GET", "/conversations/{id}/messages"),
];

/// ana answers; WhatsApp reports the answer delivered; the transcript masks
/// the card number Lucía wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_messages() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, ..] = tokens.all();
    let (_, conversation) = setup::accepted_by_ana(&c, &tokens).await;

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
        LUCIA,
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
    assert_eq!(items.len(), 2, "Lucía's and ana's: {transcript}");
    assert_eq!(items[1]["status"], "delivered");
    assert!(
        !items[0]["text"]
            .as_str()
            .unwrap()
            .contains("4111 1111 1111 1111"),
        "masked"
    );

    c.covered_exactly(SEND_COVERED);
}

pub(super) const MEDIA_COVERED: &[(&str, &str)] = &[
    ("POST", "/uploads"),
    ("POST", "/_local/uploads"),
    ("POST", "/conversations/{id}/messages"),
    ("GET", "/conversations/{id}/messages/{message_id}/media"),
    ("GET", "/_local/sent"),
    ("POST", "/_local/inbound"),
    ("GET", "/conversations/{id}/messages"),
    ("POST", "/_local/clock/advance"),
];

/// ana sends a file (an upload target, the form posted to it, then the send);
/// a customer's photo is fetched before the runner answers, served to whoever
/// may see the conversation, and gone after the retention (30 days).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_and_uploads() {
    let (c, tokens) = setup::desk().await;
    let [admin, ana, _, cid, ..] = tokens.all();
    let (_, conversation) = setup::accepted_by_ana(&c, &tokens).await;

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
    let whatsapp = c.expect(M::GET, "/_local/sent", None, None, 200).await;
    let last = whatsapp["items"].as_array().unwrap().last().unwrap();
    assert_eq!(last["media"]["filename"], "receipt.pdf", "{last}");

    // A message without a file has no media.
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
    let (_, photo_conversation) = setup::conversation_of(&photo);
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
        &format!("{photo_conversation}/messages/{}/media", setup::UNKNOWN_ID),
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

    c.covered_exactly(MEDIA_COVERED);
}

pub(super) const TAKE_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/take"),
    ("POST", "/conversations/{id}/transfer"),
    ("GET", "/conversations"),
    ("POST", "/conversations/{id}/accept"),
    ("POST", "/conversations/{id}/wrap-up"),
];

/// Taking ana's chat is refused; she transfers it to bob and wraps up her
/// part. A second chat: bob takes it, ana overtakes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_and_transfer() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, bob, cid, ..] = tokens.all();
    let (id, conversation) = setup::accepted_by_ana(&c, &tokens).await;

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

    let second = setup::second_customer_writes(&c).await;
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

    c.covered_exactly(TAKE_COVERED);
}

pub(super) const CONFERENCE_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/conference"),
    ("GET", "/conversations"),
    ("POST", "/conversations/{id}/conference/accept"),
    ("POST", "/conversations/{id}/conference/exit"),
    ("POST", "/conversations/{id}/wrap-up"),
    ("POST", "/conversations/{id}/conference/end"),
];

/// bob invites ana; she joins and exits; again, and bob ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, bob, ..] = tokens.all();
    let (id, conversation) = setup::owned_by_bob(&c, &tokens).await;

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

    c.covered_exactly(CONFERENCE_COVERED);
}

pub(super) const SUPERVISION_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/notes"),
    ("GET", "/supervise/conversations"),
    ("GET", "/_local/sent"),
];

/// A supervisor tips bob off with a note (never sent to the customer) and
/// watches the live conversations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_supervision() {
    let (c, tokens) = setup::desk().await;
    let [admin, ana, bob, _, sue, _] = tokens.all();
    // A walk-in on the billing channel, then Lucía's chat with bob.
    setup::customer_writes(
        &c,
        json!({"from": "34699000111", "name": "Walk-in", "text": "hello from another number",
               "phone_number_id": UNCONFIGURED_CHANNEL}),
    )
    .await;
    let (id, conversation) = setup::owned_by_bob(&c, &tokens).await;
    c.given(
        M::POST,
        &format!("{conversation}/messages"),
        bob,
        Some(json!({"text": "We are on it"})),
        201,
    )
    .await;

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
    assert_eq!(ids(&live).len(), 2, "the walk-in and lucía's: {live}");
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

    let whatsapp = c.expect(M::GET, "/_local/sent", None, None, 200).await;
    let whatsapp = whatsapp["items"].as_array().unwrap();
    assert!(
        whatsapp.iter().any(|m| m["text"] == "We are on it"),
        "bob's answer went out"
    );
    assert!(
        whatsapp.iter().all(|m| m["text"] != "offer a refund"),
        "notes never reach the customer"
    );

    c.covered_exactly(SUPERVISION_COVERED);
}

/// What the first archived conversation offers: `(can_reopen, can_push)`.
fn can_reopen_and_push(archive: &Value) -> (bool, bool) {
    let first = &archive["items"][0];
    let flag = |name: &str| {
        first[name]
            .as_bool()
            .unwrap_or_else(|| panic!("{name} is not a boolean: {first}"))
    };
    (flag("can_reopen"), flag("can_push"))
}

pub(super) const END_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/end"),
    ("POST", "/conversations/{id}/wrap-up"),
    ("GET", "/conversations"),
    ("GET", "/customers/{wa_id}/history"),
    ("POST", "/conversations/{id}/done"),
];

/// bob ends and wraps up; the chat is in his archive and Lucía's history,
/// until he marks it done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_wrap_up_archive_history_and_done() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, bob, _, _, bot] = tokens.all();
    let (id, conversation) = setup::owned_by_bob(&c, &tokens).await;

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
    assert_eq!(can_reopen_and_push(&archive), (true, false));

    let history = format!("/customers/{LUCIA}/history");
    let found = c
        .expect(M::GET, &format!("{history}?q=CHARGED"), ana, None, 200)
        .await;
    assert_eq!(ids(&found), [id.as_str()]);
    assert!(ids(&c
        .expect(M::GET, &format!("{history}?q=pizza"), ana, None, 200)
        .await)
    .is_empty());
    assert_eq!(
        ids(&c.expect(M::GET, &history, ana, None, 200).await).len(),
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
    c.expect_error(M::GET, &history, bot, None, 403, "forbidden")
        .await;

    let done = c
        .expect(M::POST, &format!("{conversation}/done"), bob, None, 200)
        .await;
    assert_eq!(done["done"], true);
    assert!(ids(&c
        .expect(M::GET, "/conversations?view=archive", bob, None, 200)
        .await)
    .is_empty());

    c.covered_exactly(END_COVERED);
}

pub(super) const REOPEN_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/reopen"),
    ("GET", "/conversations"),
    ("POST", "/_local/inbound"),
];

/// Reopened inside the window, the customer replies; reopened again, the
/// customer declines with #STOP, and no reopen gets through after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_within_the_window() {
    let (c, tokens) = setup::desk().await;
    let [_, _, bob, cid, ..] = tokens.all();
    let (id, conversation) = setup::owned_by_bob(&c, &tokens).await;
    setup::finish(&c, &conversation, bob).await;

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
            Some(json!({"from": LUCIA, "name": "Lucía", "text": "yes please"})),
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
    setup::finish(&c, &conversation, bob).await;
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
        Some(json!({"from": LUCIA, "name": "Lucía", "text": "#STOP"})),
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

    c.covered_exactly(REOPEN_COVERED);
}

pub(super) const PUSH_COVERED: &[(&str, &str)] = &[
    ("POST", "/conversations/{id}/messages"),
    ("POST", "/conversations/{id}/end"),
    ("POST", "/conversations/{id}/wrap-up"),
    ("GET", "/conversations"),
    ("GET", "/me"),
    ("POST", "/conversations/{id}/reopen"),
    ("POST", "/conversations/{id}/push"),
    ("GET", "/_local/sent"),
];

/// After 24 hours only a template may go: no text, no reopen, one push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_after_the_window() {
    let (c, tokens) = setup::desk().await;
    let [_, ana, bob, ..] = tokens.all();
    let conversation = setup::taken_by_ana_past_the_window(&c, &tokens).await;

    c.expect_error(
        M::POST,
        &format!("{conversation}/messages"),
        ana,
        Some(json!({"text": "sorry for the wait"})),
        409,
        "window_closed",
    )
    .await;
    c.expect(M::POST, &format!("{conversation}/end"), ana, None, 200)
        .await;
    c.expect(
        M::POST,
        &format!("{conversation}/wrap-up"),
        ana,
        Some(json!({"reason": "Resolved"})),
        200,
    )
    .await;
    let archive = c
        .expect(M::GET, "/conversations?view=archive", ana, None, 200)
        .await;
    assert_eq!(can_reopen_and_push(&archive), (false, true));
    for token in [ana, bob] {
        assert_eq!(c.expect(M::GET, "/me", token, None, 200).await["active"], 0);
    }

    c.expect_error(
        M::POST,
        &format!("{conversation}/reopen"),
        ana,
        None,
        409,
        "window_closed",
    )
    .await;
    let pushed = c
        .expect(M::POST, &format!("{conversation}/push"), ana, None, 200)
        .await;
    assert_eq!(
        (&pushed["status"], &pushed["origin"]),
        (&json!("reopened"), &json!("push"))
    );
    c.expect_error(
        M::POST,
        &format!("{conversation}/push"),
        ana,
        None,
        409,
        "push_already_sent",
    )
    .await;
    let whatsapp = c.expect(M::GET, "/_local/sent", None, None, 200).await;
    assert!(
        whatsapp["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["type"] == "template"),
        "the push went out"
    );

    c.covered_exactly(PUSH_COVERED);
}

pub(super) const HANDOFF_COVERED: &[(&str, &str)] = &[("POST", "/conversations/{id}/handoff")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_hands_its_conversation_over() {
    let (c, tokens) = setup::desk().await;
    let [admin, ana, _, _, _, bot] = tokens.all();
    c.given(M::PUT, &format!("/admin/channels/{BOT_CHANNEL}"), admin,
        Some(json!({"display_phone_number": "+1 555 0177", "default_queue": "sales", "bot": true, "reopen_message": "Hello again"})), 200).await;
    let inbound = setup::customer_writes(
        &c,
        json!({"from": "34611222555", "text": "I need a person", "phone_number_id": BOT_CHANNEL}),
    )
    .await;
    assert_eq!(inbound["conversation_status"], "bot");
    let (_, conversation) = setup::conversation_of(&inbound);

    c.expect_error(
        M::POST,
        &format!("{conversation}/handoff"),
        ana,
        Some(json!({"queue": "billing"})),
        403,
        "forbidden",
    )
    .await;
    c.expect_error(
        M::POST,
        &format!("{conversation}/handoff"),
        bot,
        Some(json!({"queue": "nope"})),
        400,
        "invalid_request",
    )
    .await;
    let handed = c
        .expect(
            M::POST,
            &format!("{conversation}/handoff"),
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
        &format!("{conversation}/handoff"),
        bot,
        Some(json!({"queue": "billing"})),
        403,
        "forbidden",
    )
    .await;

    c.covered_exactly(HANDOFF_COVERED);
}
