//! What an agent's lists cost on DynamoDB (moto), counted at the SDK: the
//! active view never reads the archive, however long it grows, and the
//! archive is read a page at a time.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::Duration;
use lambda_http::RequestExt;
use wadesk_app::desk as service;
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::{ConversationStore, DeskStore};
use wadesk_aws::dynamodb::{items, keys};
use wadesk_aws::RequestCounter;
use wadesk_domain::conversation::ARCHIVE_LINK;
use wadesk_domain::{
    Actor, Agent, AgentChange, AgentId, ConversationId, ConversationStatus, QueueId, Role,
};
use wadesk_tests::{customer, now_seconds, services, text_message};

const SECRET: &str = "bounded-reads-secret";

/// `GET {path}` as `sub`, through the agent API's handler, as API Gateway
/// would hand it over.
fn get(path_and_query: &str, sub: &str) -> lambda_http::Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut parameters: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        parameters
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let token = wadesk_local_runner::auth::mint(SECRET.as_bytes(), sub, "agent", 600).unwrap();
    let request = lambda_http::http::Request::builder()
        .method("GET")
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(lambda_http::Body::Empty)
        .unwrap()
        .with_query_string_parameters(parameters);
    wadesk_local_runner::auth::authorize(request, SECRET.as_bytes())
}

#[tokio::test]
async fn the_active_view_costs_the_same_with_5000_finished_conversations_as_with_none() {
    let counter = RequestCounter::new();
    let store = wadesk_tests::dynamo_store(Some(&counter)).await;
    let client = store.client().clone();
    let table = store.table().to_owned();
    let t0 = now_seconds();
    let app = services(store, t0);
    let ana = AgentId::parse("ana").unwrap();
    // Conversations of an unconfigured channel wait in the default queue.
    let queue = QueueId::default_queue();
    app.store
        .save_agent(&AgentChange::new(
            None,
            Agent::new(ana.clone(), "Ana".into(), Role::Agent, vec![queue], 5, t0),
        ))
        .await
        .unwrap();
    let actor = Actor {
        id: ana.clone(),
        role: Role::Agent,
    };
    // Two live conversations and one finished one, through the real flow.
    let mut live = Vec::new();
    for n in 0..3 {
        let key = customer(&format!("3465000000{n}"));
        let at = t0 + Duration::seconds(n);
        let InboundOutcome::Stored {
            conversation_id, ..
        } = receive_message(&*app, text_message(&key, &format!("wamid.BR{n}"), at, "hi"))
            .await
            .unwrap()
        else {
            panic!("not stored")
        };
        service::take(&*app, &actor, conversation_id, false)
            .await
            .unwrap();
        live.push(conversation_id);
    }
    let finished_id = live.pop().unwrap();
    service::end(&*app, &actor, finished_id).await.unwrap();
    app.store
        .put_wrap_up_reasons(&["Resolved".to_owned()])
        .await
        .unwrap();
    service::wrap_up(&*app, &actor, finished_id, "Resolved")
        .await
        .unwrap();
    let finished = app
        .store
        .get_conversation(finished_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.status, ConversationStatus::Finished);

    let measure = |path: &'static str| {
        let app = app.clone();
        let counter = counter.clone();
        async move {
            counter.reset();
            let response = agent_api::handle(&*app, get(path, "ana")).await;
            assert_eq!(response.status(), 200, "{path}");
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            (counter.requests(), counter.items_read(), body)
        }
    };
    let (requests_before, items_before, body) = measure("/conversations?view=active").await;
    let listed: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = live.iter().map(ToString::to_string).collect();
    assert_eq!(listed, expected);

    // 5,000 more finished conversations in ana's archive: each the finished
    // one again under a new id, with its archive link, as the desk writes them.
    let mut writes = Vec::new();
    for n in 0..5_000 {
        let mut copy = finished.clone();
        copy.id = ConversationId::generate();
        copy.created_at = t0 - Duration::minutes(n);
        let sk = keys::agent_link_sk(&copy, ARCHIVE_LINK);
        for item in [
            items::conversation_item("seed", &copy).unwrap(),
            items::agent_link_item(&ana, &sk, copy.id, ARCHIVE_LINK),
        ] {
            writes.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build(),
            );
        }
    }
    for chunk in writes.chunks(25) {
        let output = client
            .batch_write_item()
            .request_items(&table, chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert!(output.unprocessed_items.unwrap_or_default().is_empty());
    }

    let (requests_after, items_after, body) = measure("/conversations?view=active").await;
    let listed_after: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed_after, listed);
    println!(
        "GET /conversations?view=active, agent with 0 finished: {} requests, {} items read {:?}",
        requests_before.len(),
        items_before,
        requests_before
    );
    println!(
        "GET /conversations?view=active, agent with 5001 finished: {} requests, {} items read {:?}",
        requests_after.len(),
        items_after,
        requests_after
    );
    assert_eq!(requests_after, requests_before, "same requests");
    assert_eq!(items_after, items_before, "same items read");

    // The archive is read a page at a time: one page of links, one batch of
    // conversations (plus the rendering's reads), whatever its length.
    let (requests, items_read, body) = measure("/conversations?view=archive&limit=50").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 50);
    assert!(body["next_cursor"].is_string());
    println!(
        "GET /conversations?view=archive&limit=50: {} requests, {} items read",
        requests.len(),
        items_read
    );
    assert!(items_read <= 50 + 50 + 10, "{items_read} items read");
}
