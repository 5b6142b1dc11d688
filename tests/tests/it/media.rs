//! Files both ways: an agent's upload sent to WhatsApp, a customer's photo
//! fetched and served, over HTTP through the local runner; the S3 adapter and
//! the media fetcher against moto and a Graph API stub.

use std::collections::BTreeMap;

use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};
use wadesk_app::media::FetchOutcome;
use wadesk_app::ports::{MediaAccess, MediaStore};
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::s3::{create_bucket, S3MediaStore};
use wadesk_domain::media::plan_upload;
use wadesk_domain::{AgentId, DomainEvent, EventEnvelope, QueueId};
use wadesk_tests::{customer, moto_sdk_config, unique_name};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::desk::Desk;

/// A PNG signature and IHDR start: enough for the content check.
const PNG_HEAD: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const PDF_HEAD: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
const EXE_HEAD: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00";

fn file_of(head: &[u8], len: usize) -> Vec<u8> {
    let mut bytes = head.to_vec();
    bytes.resize(len, b' ');
    bytes
}

/// A browser's form post: the target's fields first, the file last.
fn form(fields: &BTreeMap<String, String>, filename: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----wadeskTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts `file` to an upload target as the console does; answers the status.
async fn post_form(http: &reqwest::Client, target: &Value, filename: &str, file: &[u8]) -> u16 {
    let fields: BTreeMap<String, String> =
        serde_json::from_value(target["fields"].clone()).unwrap();
    let (content_type, body) = form(&fields, filename, file);
    http.post(target["url"].as_str().unwrap())
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A conversation of `from` that ana accepted.
async fn accepted_by_ana(desk: &Desk, from: &str) -> String {
    let id = desk.customer_writes(from, "Hola, mi factura").await;
    desk.post(&id, "accept", &desk.token("ana"), json!({}), 200)
        .await;
    id
}

/// `POST /uploads` then the form post, as ana: the upload id.
async fn upload(desk: &Desk, filename: &str, mime_type: &str, file: &[u8]) -> String {
    let target = desk
        .expect(
            Method::POST,
            "/uploads",
            &desk.token("ana"),
            json!({"filename": filename, "mime_type": mime_type, "size_bytes": file.len()}),
            201,
        )
        .await;
    assert_eq!(
        post_form(&desk.app.http, &target, filename, file).await,
        204
    );
    target["upload_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_9_9_mb_pdf_is_uploaded_and_sent_through_whatsapps_media_upload() {
    let desk = Desk::new().await;
    let id = accepted_by_ana(&desk, "34611000101").await;
    let pdf = file_of(PDF_HEAD, 9_900_000);
    let upload_id = upload(&desk, "Factura marzo.pdf", "application/pdf", &pdf).await;

    let sent = desk
        .post(
            &id,
            "messages",
            &desk.token("ana"),
            json!({"attachment": {"upload_id": upload_id, "caption": "Su factura"}}),
            201,
        )
        .await;
    assert_eq!(sent["type"], "document");
    assert_eq!(sent["attachment"]["filename"], "Factura marzo.pdf");
    assert_eq!(sent["attachment"]["size_bytes"], 9_900_000);
    assert!(sent["wamid"].is_string(), "WhatsApp took it: {sent}");

    let last = desk.sent_to_whatsapp().await.pop().unwrap();
    assert_eq!(last["type"], "document");
    assert_eq!(last["text"], "Su factura");
    assert_eq!(last["media"]["mime_type"], "application/pdf");
    assert_eq!(last["media"]["filename"], "Factura marzo.pdf");
    assert_eq!(last["media"]["size_bytes"], 9_900_000);

    // The agent's own file is served back through the media route.
    let media_url = sent["media_url"].as_str().unwrap();
    let response = desk
        .app
        .http
        .get(desk.app.url(media_url))
        .bearer_auth(desk.token("ana"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .split(';')
            .next(),
        Some("attachment"),
        "documents are downloaded, never shown in the page"
    );
    assert_eq!(response.bytes().await.unwrap().len(), 9_900_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_11_mb_file_is_refused_at_the_upload_and_by_the_target() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let refused = desk
        .expect(
            Method::POST,
            "/uploads",
            &ana,
            json!({"filename": "big.pdf", "mime_type": "application/pdf", "size_bytes": 11 * 1024 * 1024}),
            400,
        )
        .await;
    assert_eq!(refused["error"]["code"], "invalid_request");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10 MB"),
        "{refused}"
    );
    // A client that declares less and posts more is stopped by the target.
    let target = desk
        .expect(
            Method::POST,
            "/uploads",
            &ana,
            json!({"filename": "big.pdf", "mime_type": "application/pdf", "size_bytes": 1000}),
            201,
        )
        .await;
    let big = file_of(PDF_HEAD, 11 * 1024 * 1024);
    assert_eq!(
        post_form(&desk.app.http, &target, "big.pdf", &big).await,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exe_renamed_pdf_is_refused_for_its_content() {
    let desk = Desk::new().await;
    let id = accepted_by_ana(&desk, "34611000102").await;
    let exe = file_of(EXE_HEAD, 4096);
    let upload_id = upload(&desk, "invoice.pdf", "application/pdf", &exe).await;
    let refused = desk
        .post(
            &id,
            "messages",
            &desk.token("ana"),
            json!({"attachment": {"upload_id": upload_id}}),
            400,
        )
        .await;
    assert_eq!(refused["error"]["code"], "invalid_request");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("named .pdf"), "{message}");
    assert!(message.contains("executable"), "{message}");
    assert!(
        desk.sent_to_whatsapp().await.is_empty(),
        "nothing went to WhatsApp"
    );
    // And a .exe is refused by name before any upload.
    let by_name = desk
        .expect(
            Method::POST,
            "/uploads",
            &desk.token("ana"),
            json!({"filename": "setup.exe", "mime_type": "application/pdf", "size_bytes": 10}),
            400,
        )
        .await;
    assert!(by_name["error"]["message"]
        .as_str()
        .unwrap()
        .contains(".exe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_upload_cannot_be_sent() {
    let desk = Desk::new().await;
    let id = desk.customer_writes("34611000103", "hola").await;
    desk.post(&id, "take", &desk.token("bob"), json!({}), 200)
        .await;
    // ana uploads, bob (the owner) tries to send it.
    let upload_id = upload(&desk, "a.pdf", "application/pdf", &file_of(PDF_HEAD, 100)).await;
    let refused = desk
        .post(
            &id,
            "messages",
            &desk.token("bob"),
            json!({"attachment": {"upload_id": upload_id}}),
            400,
        )
        .await;
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no such upload"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_photo_is_fetched_and_served_to_the_agent_and_no_one_else() {
    let desk = Desk::new().await;
    let id = accepted_by_ana(&desk, "34611000104").await;
    let png = {
        let mut bytes = vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        bytes.extend_from_slice(b"IHDR broken product photo");
        bytes
    };
    let (status, answer) = desk
        .app
        .post_json(
            "/_local/inbound",
            json!({"from": "34611000104", "text": "Así llegó",
                   "image": {"mime_type": "image/png",
                             "base64": base64::engine::general_purpose::STANDARD.encode(&png)}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["conversation_id"], id.as_str());

    let (_, transcript) = desk
        .get(&format!("/conversations/{id}/messages"), &desk.token("ana"))
        .await;
    let photo = transcript["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "image")
        .cloned()
        .unwrap();
    assert_eq!(photo["text"], "Así llegó");
    let media_url = photo["media_url"].as_str().unwrap().to_owned();
    assert_eq!(
        media_url,
        format!(
            "/conversations/{id}/messages/{}/media",
            photo["id"].as_str().unwrap()
        )
    );

    let get = |token: String| {
        let request = desk
            .app
            .http
            .get(desk.app.url(&media_url))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let response = get(desk.token("ana")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);

    // cid serves another queue: 403, the same as for an unknown message.
    let other = get(desk.token("cid")).await;
    assert_eq!(other.status(), 403);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = desk
        .get(
            &format!(
                "/conversations/{id}/messages/{}/media",
                uuid::Uuid::now_v7()
            ),
            &desk.token("cid"),
        )
        .await;
    assert_eq!(status, 403);

    // After the retention (30 days) the route answers 410.
    desk.advance_clock(30 * 86_400).await;
    let gone = get(desk.token("root")).await;
    assert_eq!(gone.status(), 410);
    let body: Value = gone.json().await.unwrap();
    assert_eq!(body["error"]["code"], "gone");
}

// ---- against moto and a Graph API stub ----

async fn media_bucket() -> S3MediaStore {
    let sdk = moto_sdk_config().await;
    let bucket = unique_name("wadesk-media").to_lowercase();
    let store = S3MediaStore::new(&sdk, &bucket).unwrap();
    create_bucket(store.client(), &bucket, 30).await.unwrap();
    store
}

#[tokio::test]
async fn the_bucket_is_private_encrypted_and_expires_files() {
    let store = media_bucket().await;
    let client = store.client();
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    let mut prefixes: Vec<(String, i32)> = lifecycle
        .rules()
        .iter()
        .map(|rule| {
            (
                rule.filter()
                    .and_then(|f| f.prefix())
                    .unwrap_or_default()
                    .to_owned(),
                rule.expiration().and_then(|e| e.days()).unwrap_or_default(),
            )
        })
        .collect();
    prefixes.sort();
    assert_eq!(
        prefixes,
        [("inbound/".to_owned(), 30), ("uploads/".to_owned(), 30)]
    );
    let block = client
        .get_public_access_block()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(block.block_public_acls(), Some(true));
    assert_eq!(block.restrict_public_buckets(), Some(true));
    let encryption = client
        .get_bucket_encryption()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    assert!(encryption.server_side_encryption_configuration().is_some());
}

#[tokio::test]
async fn a_presigned_post_carries_its_conditions_and_the_file_reads_back() {
    let store = media_bucket().await;
    presigned_post_round_trip(&store, store.bucket()).await;
}

/// The store the functions link: the same bucket over SigV4-signed requests
/// without the S3 SDK client, against moto.
#[tokio::test]
async fn the_signed_store_round_trips_on_moto() {
    let sdk_store = media_bucket().await;
    let store = wadesk_aws::s3_signed::SignedS3MediaStore::new(
        &moto_sdk_config().await,
        sdk_store.bucket(),
    )
    .unwrap();
    presigned_post_round_trip(&store, sdk_store.bucket()).await;
    // A customer's file kept by the fetcher, read back, handed out, erased.
    let key = "inbound/c 1/m+1";
    let png = file_of(PNG_HEAD, 300);
    store.put(key, png.clone(), "image/png").await.unwrap();
    let kept = store.read(key, 1024).await.unwrap().unwrap();
    assert_eq!(kept.bytes, png);
    assert_eq!(kept.content_type.as_deref(), Some("image/png"));
    let MediaAccess::Redirect { url } = store.open(key, None).await.unwrap().unwrap() else {
        panic!("S3 redirects");
    };
    assert!(url.contains("response-content-disposition=inline"), "{url}");
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), png);
    store.delete(key).await.unwrap();
    store.delete(key).await.unwrap();
    assert!(store.read(key, 1024).await.unwrap().is_none());
    assert!(store.open(key, None).await.unwrap().is_none());
}

/// moto's IAM-enforcing server checks SigV4 signatures: the signed store's
/// requests pass with the right secret, and one signed with another secret
/// is refused.
#[tokio::test]
async fn the_signed_stores_signatures_are_checked_and_good() {
    let Ok(endpoint) = std::env::var("WADESK_IAM_MOTO_ENDPOINT") else {
        panic!("WADESK_IAM_MOTO_ENDPOINT is not set: run scripts/test.sh");
    };
    let key = std::env::var("WADESK_IAM_MOTO_ADMIN_KEY").unwrap();
    let (id, secret) = key.split_once(':').unwrap();
    let config = |secret: &str| {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(id, secret, None, None, "media-tests"),
                ),
            )
            .build()
    };
    let bucket = unique_name("wadesk-signed").to_lowercase();
    let admin = S3MediaStore::new(&config(secret), &bucket).unwrap();
    create_bucket(admin.client(), &bucket, 30).await.unwrap();
    let store = wadesk_aws::s3_signed::SignedS3MediaStore::new(&config(secret), &bucket).unwrap();
    let key = "inbound/c1/m1";
    let png = file_of(PNG_HEAD, 64);
    store.put(key, png.clone(), "image/png").await.unwrap();
    assert_eq!(store.read(key, 1024).await.unwrap().unwrap().bytes, png);
    // HEAD, signed like the others, then the presigned link.
    let MediaAccess::Redirect { url } = store.open(key, None).await.unwrap().unwrap() else {
        panic!("S3 redirects");
    };
    // (moto's IAM mode cannot serve presigned links at all, the SDK's
    // included: the link itself is fetched from the plain moto above.)
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let forged =
        wadesk_aws::s3_signed::SignedS3MediaStore::new(&config("not-the-secret"), &bucket).unwrap();
    assert!(
        forged.read(key, 1024).await.is_err(),
        "a wrong signature is refused"
    );
    store.delete(key).await.unwrap();
}

async fn presigned_post_round_trip<M: MediaStore>(store: &M, bucket: &str) {
    let ana = AgentId::parse("ana").unwrap();
    let plan = plan_upload(
        "Factura ñ.pdf",
        "application/pdf",
        100,
        uuid::Uuid::new_v4(),
        chrono::Utc::now(),
    )
    .unwrap();
    let target = store.upload_target(&plan, &ana).await.unwrap();
    assert!(target.url.ends_with(bucket), "{}", target.url);
    // The policy S3 enforces: this key, this exact type, 1 byte to 10 MB.
    let policy: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(&target.fields["policy"])
            .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    for condition in [
        json!(["content-length-range", 1, 10 * 1024 * 1024]),
        json!({"Content-Type": "application/pdf"}),
        json!({"key": plan.key}),
        json!({"bucket": bucket}),
        json!({"x-amz-meta-uploader": "ana"}),
    ] {
        assert!(conditions.contains(&condition), "{condition} in {policy}");
    }
    assert_eq!(target.fields["x-amz-algorithm"], "AWS4-HMAC-SHA256");

    // The browser's post (moto takes the form; AWS also checks the policy).
    let view = json!({"url": target.url, "fields": target.fields});
    let pdf = file_of(PDF_HEAD, 100);
    let status = post_form(&reqwest::Client::new(), &view, "x.pdf", &pdf).await;
    assert!((200..300).contains(&status), "moto answered {status}");
    let stored = store
        .read(&plan.key, 10 * 1024 * 1024)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.bytes, pdf);
    assert_eq!(stored.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(stored.filename.as_deref(), Some("Factura ñ.pdf"));
    assert_eq!(stored.uploader, Some(ana));
    // Reading more than allowed is refused, never loaded.
    assert!(store.read(&plan.key, 10).await.is_err());
    assert_eq!(store.read("uploads/none", 10).await.unwrap(), None);

    // A kept file is handed out as a short-lived presigned GET.
    let MediaAccess::Redirect { url } = store.open(&plan.key, None).await.unwrap().unwrap() else {
        panic!("S3 redirects");
    };
    assert!(url.contains("X-Amz-Signature"), "{url}");
    assert!(
        url.contains("response-content-disposition=attachment"),
        "{url}"
    );
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), pdf);
}

fn received(media_id: &str, message_type: &str) -> (EventEnvelope, Value) {
    let envelope = EventEnvelope::new(
        DomainEvent::MessageReceived {
            conversation_id: wadesk_domain::ConversationId::generate(),
            customer: customer("34611000199"),
            message_id: wadesk_domain::MessageId::generate(),
            wamid: wadesk_domain::Wamid::parse(format!("wamid.M{media_id}")).unwrap(),
            message_type: message_type.to_owned(),
            queue: QueueId::default_queue(),
            owner: None,
            conversation_status: wadesk_domain::ConversationStatus::Active,
            media_id: Some(media_id.to_owned()),
        },
        chrono::Utc::now(),
    );
    let payload = json!({
        "version": "0", "id": "e1", "detail-type": "MessageReceived", "source": "wadesk",
        "account": "123456789012", "time": "2026-03-01T12:00:00Z", "region": "us-east-1",
        "resources": [], "detail": envelope,
    });
    (envelope, payload)
}

/// The Graph API stub hands over media `id`: its metadata (a link to the
/// file, `mime_type`, size) and then the file itself.
pub(crate) async fn serve_media(graph: &MockServer, id: &str, mime_type: &str, file: &[u8]) {
    Mock::given(method("GET"))
        .and(path(format!("/v21.0/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": format!("{}/download/{id}", graph.uri()), "mime_type": mime_type,
            "file_size": file.len(), "id": id, "messaging_product": "whatsapp"})))
        .mount(graph)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/download/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(file.to_vec()))
        .mount(graph)
        .await;
}

/// The Graph API client the media fetcher uses, on the stub.
pub(crate) fn graph_client(graph: &MockServer) -> wadesk_graph::GraphApiClient {
    wadesk_graph::GraphApiClient::new(format!("{}/v21.0", graph.uri()), "token").unwrap()
}

#[tokio::test]
async fn the_fetcher_fails_for_a_retry_then_keeps_the_file() {
    let graph = MockServer::start().await;
    let jpeg = file_of(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", 2048);
    Mock::given(method("GET"))
        .and(path("/v21.0/5501"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"message": "Service temporarily unavailable", "code": 2}}),
        ))
        .up_to_n_times(1)
        .mount(&graph)
        .await;
    serve_media(&graph, "5501", "image/jpeg", &jpeg).await;
    let client = graph_client(&graph);
    let store = media_bucket().await;
    let (sqs, queue) = wadesk_tests::sqs_queue("media-fetcher-failures").await;
    let parking = FailureQueue::new(sqs.clone(), &queue);
    let (envelope, payload) = received("5501", "image");

    // First delivery: the Graph API fails, so does the invocation (Lambda retries).
    let first = media_fetcher::handle_invocation(&client, &store, &parking, "fn", &payload).await;
    assert!(
        matches!(first, Err(media_fetcher::InvocationError::Retry(_))),
        "{first:?}"
    );
    // The retry keeps it, sniffed as what it is.
    let second = media_fetcher::handle_invocation(&client, &store, &parking, "fn", &payload)
        .await
        .unwrap();
    assert_eq!(second, "stored");
    let DomainEvent::MessageReceived {
        conversation_id,
        message_id,
        ..
    } = envelope.event
    else {
        unreachable!()
    };
    let key = wadesk_domain::media::inbound_key(conversation_id, message_id);
    let stored = store.read(&key, u64::MAX).await.unwrap().unwrap();
    assert_eq!(stored.bytes, jpeg);
    assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
    let parked = sqs
        .receive_message()
        .queue_url(&queue)
        .send()
        .await
        .unwrap();
    assert!(parked.messages().is_empty(), "nothing parked");
}

#[tokio::test]
async fn a_file_that_can_never_be_fetched_is_parked_with_its_reason() {
    let graph = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/6601"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": {"message": "Unsupported get request", "code": 100}}),
            ),
        )
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/6602"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": format!("{}/download/6602", graph.uri()), "mime_type": "image/jpeg",
            "file_size": 6 * 1024 * 1024, "id": "6602"})))
        .mount(&graph)
        .await;
    let client = graph_client(&graph);
    let store = media_bucket().await;
    let (sqs, queue) = wadesk_tests::sqs_queue("media-fetcher-failures").await;
    let parking = FailureQueue::new(sqs.clone(), &queue);
    for (media_id, needle) in [("6601", "HTTP 404"), ("6602", "over the 5242880 bytes")] {
        let (_, payload) = received(media_id, "image");
        let outcome = media_fetcher::handle_invocation(&client, &store, &parking, "fn", &payload)
            .await
            .unwrap();
        assert_eq!(outcome, "parked");
        let parked = sqs
            .receive_message()
            .queue_url(&queue)
            .send()
            .await
            .unwrap();
        let record: Value = serde_json::from_str(parked.messages()[0].body().unwrap()).unwrap();
        assert_eq!(record["requestContext"]["condition"], "PermanentFailure");
        assert_eq!(record["requestPayload"], payload);
        let reason = record["responsePayload"]["errorMessage"].as_str().unwrap();
        assert!(reason.contains(needle), "{reason}");
        sqs.delete_message()
            .queue_url(&queue)
            .receipt_handle(parked.messages()[0].receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    // The download was never started for the one over the limit.
    assert!(graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .all(|r| !r.url.path().starts_with("/download/")));
    // Other events are not the fetcher's business.
    let (mut envelope, _) = received("7701", "text");
    if let DomainEvent::MessageReceived { media_id, .. } = &mut envelope.event {
        *media_id = None;
    }
    assert_eq!(
        media_fetcher::handle(&client, &store, &envelope)
            .await
            .unwrap(),
        FetchOutcome::Ignored
    );
}

/// No asynchronous failure lost, for the media fetcher too: the Graph API
/// fails through Lambda's three attempts, the record lands in the fetcher's
/// failure queue, and once the Graph API is back one redrive keeps the file;
/// replaying it again changes nothing.
#[tokio::test]
async fn the_fetchers_parked_event_is_redriven_once() {
    use crate::redrive::{invoke_async, replayed_once, InProcess};

    const FETCHER: &str =
        "arn:aws:lambda:us-east-1:123456789012:function:wadesk-test-media-fetcher";
    let graph = MockServer::start().await;
    let png = file_of(PNG_HEAD, 4096);
    Mock::given(method("GET"))
        .and(path("/v21.0/7701"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&graph)
        .await;
    serve_media(&graph, "7701", "image/png", &png).await;
    let client = graph_client(&graph);
    let sdk_store = media_bucket().await;
    let store = wadesk_aws::s3_signed::SignedS3MediaStore::new(
        &moto_sdk_config().await,
        sdk_store.bucket(),
    )
    .unwrap();
    let (sqs, queue) = wadesk_tests::sqs_queue("media-fetcher-failures").await;
    let parking = FailureQueue::new(sqs.clone(), &queue);
    let (envelope, payload) = received("7701", "image");
    let DomainEvent::MessageReceived {
        conversation_id,
        message_id,
        ..
    } = envelope.event
    else {
        unreachable!()
    };
    let key = wadesk_domain::media::inbound_key(conversation_id, message_id);

    let entry = |payload: Value| {
        let (client, store, parking) = (&client, &store, &parking);
        async move { media_fetcher::handle_invocation(client, store, parking, FETCHER, &payload).await }
    };
    assert!(!invoke_async(&sqs, &queue, FETCHER, &payload, entry).await);
    assert!(
        store.read(&key, u64::MAX).await.unwrap().is_none(),
        "nothing kept yet"
    );

    let invoker = InProcess::replaying(entry);
    let redriven = wadesk_redrive::aws::SqsQueue {
        client: sqs.clone(),
        queue_url: queue.clone(),
        visibility_timeout: 1,
    };
    let report = wadesk_redrive::redrive(&redriven, &invoker, &wadesk_redrive::Options::default())
        .await
        .unwrap();
    replayed_once(&report, FETCHER);
    assert_eq!(
        store.read(&key, u64::MAX).await.unwrap().unwrap().bytes,
        png
    );
    // Replayed again: the same file at the same key, nothing parked.
    media_fetcher::handle_invocation(&client, &store, &parking, FETCHER, &payload)
        .await
        .unwrap();
    assert_eq!(
        store.read(&key, u64::MAX).await.unwrap().unwrap().bytes,
        png
    );
    let again = wadesk_redrive::redrive(&redriven, &invoker, &wadesk_redrive::Options::default())
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}
