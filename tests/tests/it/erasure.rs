//! Data protection on every store (`docs/product.md#11-data-protection`):
//! a customer erased on request leaves nothing of theirs in the store (a
//! live session ended first, the erasure repeated harmlessly, one
//! interrupted halfway and resumed), and a finished conversation's items
//! carry their retention expiry while a live one's carry none. Then the
//! admin routes over HTTP: export, erasure, the audit trail, and 403 for
//! agents.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use wadesk_app::desk::{self as service, AgentProfile};
use wadesk_app::embedded::{EmbeddedStore, LocalMedia};
use wadesk_app::inbound::{receive_message, InboundOutcome};
use wadesk_app::ports::MediaStore;
use wadesk_app::protection::{apply_retention, continue_erasure, request_erasure};
use wadesk_app::{ConversationStore, DeskStore, EventPublisher, PageRequest};
use wadesk_aws::dynamodb::keys;
use wadesk_aws::s3::{create_bucket, S3MediaStore};
use wadesk_aws::DynamoStore;
use wadesk_domain::desk::Outgoing;
use wadesk_domain::protection::{ErasureCounts, RetentionDays};
use wadesk_domain::{
    Actor, AgentId, AgentState, Attachment, Channel, ConversationId, CustomerKey, DomainEvent,
    InboundMessage, ManualClock, MessageContent, PhoneNumberId, QueueId, Role, WaId, Wamid,
};
use wadesk_tests::{customer, now_seconds, services, text_message, TestServices};

use crate::desk::Desk;

const RETENTION_DAYS: u32 = 30;

fn actor(id: &str, role: Role) -> Actor {
    Actor {
        id: AgentId::parse(id).unwrap(),
        role,
    }
}

/// The channel of `wadesk_tests::customer` keeping finished chats 30 days.
async fn setup<S: DeskStore>(app: &TestServices<S>) {
    let mut channel = Channel::unconfigured(
        PhoneNumberId::parse(wadesk_tests::PHONE_NUMBER_ID).unwrap(),
        wadesk_tests::DISPLAY_PHONE_NUMBER.into(),
    );
    channel.retention_days = RetentionDays::new(RETENTION_DAYS).unwrap();
    app.store.put_channel(&channel).await.unwrap();
    app.store
        .put_wrap_up_reasons(&["Resolved".to_owned()])
        .await
        .unwrap();
    for (id, role) in [("ana", Role::Agent), ("sue", Role::Supervisor)] {
        let agent = service::upsert_agent(
            app,
            &AgentId::parse(id).unwrap(),
            AgentProfile {
                name: id.to_uppercase(),
                role,
                queues: vec![QueueId::default_queue()],
                max_concurrent: 10,
            },
        )
        .await
        .unwrap();
        service::set_state(app, &agent.id, AgentState::Available)
            .await
            .unwrap();
    }
}

/// A customer message; answers its conversation.
async fn writes<S: DeskStore>(
    app: &TestServices<S>,
    key: &CustomerKey,
    wamid: &str,
    text: &str,
) -> ConversationId {
    let now = wadesk_domain::Clock::now(&app.clock);
    match receive_message(app, text_message(key, wamid, now, text))
        .await
        .unwrap()
    {
        InboundOutcome::Stored {
            conversation_id, ..
        } => conversation_id,
        other => panic!("{other:?}"),
    }
}

/// A conversation taken by ana, answered, noted by sue; finished unless `live`.
async fn chat<S: DeskStore>(
    app: &TestServices<S>,
    key: &CustomerKey,
    n: usize,
    messages: usize,
    live: bool,
) -> ConversationId {
    let ana = actor("ana", Role::Agent);
    let id = writes(app, key, &format!("wamid.{}.{n}.0", key.wa_id), "hola").await;
    for i in 1..messages {
        writes(app, key, &format!("wamid.{}.{n}.{i}", key.wa_id), "más").await;
    }
    service::take(app, &ana, id, true).await.unwrap();
    service::send(app, &ana, id, Outgoing::Text("Hello!".into()))
        .await
        .unwrap();
    service::add_note(app, &actor("sue", Role::Supervisor), id, "VIP")
        .await
        .unwrap();
    if !live {
        service::end(app, &ana, id).await.unwrap();
        service::wrap_up(app, &ana, id, "Resolved").await.unwrap();
    }
    id
}

/// Delivers what the erasure put on the bus, as the erasure queue does,
/// until it reports the customer erased; answers the final counts.
async fn drain<S: DeskStore, M: MediaStore>(
    app: &TestServices<S>,
    media: &M,
) -> Option<ErasureCounts> {
    let mut erased = None;
    while let Some(event) = app.events.next_undelivered() {
        if let DomainEvent::CustomerErased { erased: counts, .. } = &event.event {
            erased = Some(*counts);
        }
        continue_erasure(app, media, &event).await.unwrap();
    }
    erased
}

/// A customer's photo, stored as the media fetcher stores it; answers its key.
async fn sends_photo<S: DeskStore, M: MediaStore>(
    app: &TestServices<S>,
    media: &M,
    key: &CustomerKey,
) -> String {
    let now = wadesk_domain::Clock::now(&app.clock);
    let message = InboundMessage {
        wamid: Wamid::parse(format!("wamid.{}.photo", key.wa_id)).unwrap(),
        customer: key.clone(),
        profile_name: Some("Ana".into()),
        display_phone_number: wadesk_tests::DISPLAY_PHONE_NUMBER.into(),
        sent_at: now,
        content: MessageContent::Image {
            attachment: Attachment {
                media_id: Some("media-1".into()),
                mime_type: Some("image/jpeg".into()),
                ..Attachment::default()
            },
        },
    };
    let InboundOutcome::Stored {
        conversation_id, ..
    } = receive_message(app, message).await.unwrap()
    else {
        panic!("not stored")
    };
    let stored = app
        .store
        .list_messages(conversation_id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.content.attachment().is_some())
        .unwrap();
    let file = wadesk_domain::protection::media_key(&stored).unwrap();
    media
        .put(&file, b"\xff\xd8\xff photo".to_vec(), "image/jpeg")
        .await
        .unwrap();
    file
}

/// The files a media store holds.
pub trait MediaKeys {
    async fn media_keys(&self) -> Vec<String>;
}

impl MediaKeys for LocalMedia {
    async fn media_keys(&self) -> Vec<String> {
        self.keys()
    }
}

impl MediaKeys for S3MediaStore {
    async fn media_keys(&self) -> Vec<String> {
        self.client()
            .list_objects_v2()
            .bucket(self.bucket())
            .send()
            .await
            .unwrap()
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }
}

/// A fresh bucket on moto, as the template declares it.
async fn media_bucket() -> S3MediaStore {
    let sdk = wadesk_tests::moto_sdk_config().await;
    let bucket = wadesk_tests::unique_name("wadesk-media").to_lowercase();
    let store = S3MediaStore::new(&sdk, &bucket).unwrap();
    create_bucket(store.client(), &bucket, 30).await.unwrap();
    store
}

fn local_media() -> LocalMedia {
    LocalMedia::new(ManualClock::following_wall_time())
}

/// Reads what is left of a customer in a store, by every key pattern of
/// `docs/table-design.md` that can hold their data.
pub trait Leftovers {
    async fn leftovers(&self, key: &CustomerKey, conversations: &[ConversationId]) -> Vec<String>;
}

impl Leftovers for EmbeddedStore {
    async fn leftovers(&self, key: &CustomerKey, conversations: &[ConversationId]) -> Vec<String> {
        let mut found = Vec::new();
        if self.get_customer(key).await.unwrap().is_some() {
            found.push("customer".to_owned());
        }
        for id in conversations {
            if self.get_conversation(*id).await.unwrap().is_some() {
                found.push(format!("conversation {id}"));
            }
            if !self.list_messages(*id).await.unwrap().is_empty() {
                found.push(format!("messages of {id}"));
            }
        }
        let history = self
            .list_history_entries(&key.wa_id, &PageRequest::first(100))
            .await
            .unwrap();
        found.extend(
            history
                .items
                .iter()
                .filter(|e| e.phone_number_id == key.phone_number_id)
                .map(|e| format!("history {}", e.conversation_id)),
        );
        for agent in ["ana", "sue"] {
            let agent = AgentId::parse(agent).unwrap();
            let live = self.list_live_for_agent(&agent).await.unwrap();
            let archive = self
                .list_archive(
                    &agent,
                    Utc::now() - Duration::days(3650),
                    &PageRequest::first(100),
                )
                .await
                .unwrap();
            found.extend(
                live.iter()
                    .chain(archive.items.iter())
                    .filter(|c| c.customer == *key)
                    .map(|c| format!("{agent}'s link to {}", c.id)),
            );
        }
        for wamid in self.wamids_of(key) {
            found.push(format!("wamid {wamid}"));
        }
        found
    }
}

impl Leftovers for DynamoStore {
    /// Every item of the (test's own) table that names the customer or one
    /// of their conversations: the customer, conversation, message, agent
    /// link, history, wamid and outbox patterns alike.
    async fn leftovers(&self, key: &CustomerKey, conversations: &[ConversationId]) -> Vec<String> {
        let mut needles: Vec<String> = conversations.iter().map(ToString::to_string).collect();
        needles.push(keys::customer_pk(key));
        let items: Vec<keys::Item> = self
            .client()
            .scan()
            .table_name(self.table())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        items
            .iter()
            .filter(|item| {
                let text = format!("{item:?}");
                let history_of_channel = text.contains(&keys::history_pk(&key.wa_id))
                    && text.contains(key.phone_number_id.as_str());
                history_of_channel || needles.iter().any(|n| text.contains(n.as_str()))
            })
            .map(|item| {
                format!(
                    "{} / {}",
                    wadesk_aws::dynamodb::items::string(item, keys::PK).unwrap_or_default(),
                    wadesk_aws::dynamodb::items::string(item, keys::SK).unwrap_or_default()
                )
            })
            .collect()
    }
}

trait WamidsOf {
    fn wamids_of(&self, key: &CustomerKey) -> Vec<String>;
}

impl WamidsOf for EmbeddedStore {
    fn wamids_of(&self, key: &CustomerKey) -> Vec<String> {
        self.wamid_records()
            .into_iter()
            .filter(|(_, record)| record.customer == *key)
            .map(|(wamid, _)| wamid.to_string())
            .collect()
    }
}

pub async fn a_customer_is_erased_entirely<S: DeskStore + Leftovers, M: MediaStore + MediaKeys>(
    store: S,
    media: M,
) {
    let app = services(store, now_seconds());
    setup(&app).await;
    let key = customer("34611000001");
    // Someone else, and the same person on another channel: kept.
    let other = customer("34611000002");
    let elsewhere = CustomerKey::new(
        PhoneNumberId::parse("200000000000002").unwrap(),
        key.wa_id.clone(),
    );
    let photo = sends_photo(&app, &media, &key).await;
    let first = chat(&app, &key, 1, 3, false).await;
    let second = chat(&app, &key, 2, 2, false).await;
    let live = chat(&app, &key, 3, 2, true).await;
    let kept = chat(&app, &other, 1, 1, false).await;
    let kept_elsewhere = writes(&app, &elsewhere, "wamid.elsewhere", "hola").await;
    let ana = app
        .store
        .get_agent(&AgentId::parse("ana").unwrap())
        .await
        .unwrap()
        .unwrap();
    let live_before = app.store.list_live_for_agent(&ana.id).await.unwrap();
    assert!(
        live_before.iter().any(|c| c.id == live),
        "the live conversation is ana's"
    );
    assert!(!app.timers.armed_windows().iter().all(|w| w.customer != key));
    while app.events.next_undelivered().is_some() {}

    let others_file = sends_photo(&app, &media, &other).await;
    while app.events.next_undelivered().is_some() {}
    let progress = request_erasure(&app, &media, &AgentId::parse("root").unwrap(), &key)
        .await
        .unwrap();
    let erased = if progress.complete {
        progress.erased
    } else {
        drain(&app, &media)
            .await
            .expect("the queue finishes the erasure")
    };

    let ours = [first, second, live];
    assert_eq!(app.store.leftovers(&key, &ours).await, Vec::<String>::new());
    assert_eq!(
        (
            erased.profile,
            erased.conversations,
            erased.history_links,
            erased.notes
        ),
        (1, 3, 3, 3)
    );
    // The photo, 3 + 2 + 2 customer messages, an agent reply each, the
    // erasure's notice.
    assert_eq!(erased.messages, 1 + 3 + 2 + 2 + 3 + 1);
    // Their file is gone from the bucket; someone else's stays.
    assert_eq!(erased.media, 1);
    let files = media.media_keys().await;
    assert!(!files.contains(&photo), "{files:?}");
    assert!(files.contains(&others_file), "{files:?}");
    assert_eq!(erased.timers, 1);
    assert!(app.timers.armed_windows().iter().all(|w| w.customer != key));
    // The live session was ended first, through the desk: ana is free again.
    // (Her freed place may have been offered what waits in her queue.)
    let after = app.store.get_agent(&ana.id).await.unwrap().unwrap();
    let live_after = app.store.list_live_for_agent(&ana.id).await.unwrap();
    assert!(
        live_after.iter().all(|c| c.customer != key),
        "{live_after:?}"
    );
    assert_eq!(usize::try_from(after.load).unwrap(), live_after.len());
    // Others' data stays.
    assert!(app.store.get_conversation(kept).await.unwrap().is_some());
    assert!(app
        .store
        .get_conversation(kept_elsewhere)
        .await
        .unwrap()
        .is_some());
    assert!(app.store.get_customer(&elsewhere).await.unwrap().is_some());

    // Again: nothing to do, nothing wrong.
    let again = request_erasure(&app, &media, &AgentId::parse("root").unwrap(), &key)
        .await
        .unwrap();
    assert!(again.complete);
    assert_eq!(again.erased, ErasureCounts::default());

    // A later message starts a fresh customer.
    let fresh = writes(&app, &key, "wamid.fresh", "hola otra vez").await;
    let customer = app.store.get_customer(&key).await.unwrap().unwrap();
    assert_eq!(customer.last_conversation, Some(fresh));
    let conversation = app.store.get_conversation(fresh).await.unwrap().unwrap();
    assert_eq!(conversation.previous, None, "no link to the erased history");
}

pub async fn an_interrupted_erasure_resumes<S: DeskStore + Leftovers, M: MediaStore + MediaKeys>(
    store: S,
    media: M,
) {
    let app = services(store, now_seconds());
    setup(&app).await;
    let key = customer("34611000003");
    // Enough messages that the request leaves steps to the queue.
    let ours = [
        chat(&app, &key, 1, 30, false).await,
        chat(&app, &key, 2, 20, false).await,
        chat(&app, &key, 3, 2, true).await,
    ];
    while app.events.next_undelivered().is_some() {}
    let root = AgentId::parse("root").unwrap();
    let progress = request_erasure(&app, &media, &root, &key).await.unwrap();
    assert!(!progress.complete, "{progress:?}");
    // One step delivered twice (the queue delivers at least once), then the
    // chain breaks: its next step is lost.
    let step = app.events.next_undelivered().unwrap();
    continue_erasure(&app, &media, &step).await.unwrap();
    continue_erasure(&app, &media, &step).await.unwrap();
    while app.events.next_undelivered().is_some() {}
    assert_ne!(app.store.leftovers(&key, &ours).await, Vec::<String>::new());

    // The admin asks again: it goes on from what is left.
    let resumed = request_erasure(&app, &media, &root, &key).await.unwrap();
    if !resumed.complete {
        drain(&app, &media)
            .await
            .expect("the queue finishes the erasure");
    }
    assert!(media.media_keys().await.is_empty());
    assert_eq!(app.store.leftovers(&key, &ours).await, Vec::<String>::new());
}

pub async fn an_erasure_reads_past_other_channels_a_few_pages_a_step<S: DeskStore + Leftovers>(
    store: S,
) {
    let app = services(store, now_seconds());
    setup(&app).await;
    let key = customer("34611000010");
    // The same person on another number, with chat off there: every message
    // a conversation of its own, all older than the one to erase.
    let elsewhere = CustomerKey::new(
        PhoneNumberId::parse("200000000000003").unwrap(),
        key.wa_id.clone(),
    );
    let mut channel = Channel::unconfigured(elsewhere.phone_number_id.clone(), "+2".into());
    channel.chat_enabled = false;
    app.store.put_channel(&channel).await.unwrap();
    for n in 0..60 {
        writes(&app, &elsewhere, &format!("wamid.else.{n}"), "hola").await;
        app.clock.advance(Duration::seconds(1));
    }
    let ours = [chat(&app, &key, 1, 2, false).await];
    while app.events.next_undelivered().is_some() {}

    let media = local_media();
    let root = AgentId::parse("root").unwrap();
    let progress = request_erasure(&app, &media, &root, &key).await.unwrap();
    let erased = if progress.complete {
        progress.erased
    } else {
        drain(&app, &media)
            .await
            .expect("the queue finishes the erasure")
    };
    assert_eq!(erased.conversations, 1);
    assert_eq!(app.store.leftovers(&key, &ours).await, Vec::<String>::new());
    let kept = app
        .store
        .list_history_entries(&key.wa_id, &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(kept.items.len(), 60, "the other number's history stays");
}

/// The retention expiry each item of a conversation carries.
pub trait Expiries {
    /// (item, expiry in epoch seconds) for the conversation, its messages,
    /// its history entry and its archive link.
    async fn expiries(&self, id: ConversationId) -> Vec<(String, Option<i64>)>;
}

impl Expiries for EmbeddedStore {
    /// Here messages, links and history expire with their conversation.
    async fn expiries(&self, id: ConversationId) -> Vec<(String, Option<i64>)> {
        let Some(conversation) = self.get_conversation(id).await.unwrap() else {
            return Vec::new();
        };
        let at = conversation.expires_at().map(|t| t.timestamp());
        let mut found = vec![("conversation".to_owned(), at)];
        for message in self.list_messages(id).await.unwrap() {
            found.push((format!("message {}", message.id), at));
        }
        found
    }
}

impl Expiries for DynamoStore {
    async fn expiries(&self, id: ConversationId) -> Vec<(String, Option<i64>)> {
        let ttl = |item: &keys::Item| {
            item.get(keys::TTL)
                .and_then(|v| v.as_n().ok())
                .map(|n| n.parse::<i64>().unwrap())
        };
        let sk = |item: &keys::Item| {
            wadesk_aws::dynamodb::items::string(item, keys::SK).unwrap_or_default()
        };
        let query = |pk: String| {
            self.client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
        };
        let mut found: Vec<(String, Option<i64>)> = query(keys::conversation_pk(id))
            .await
            .unwrap()
            .iter()
            .map(|item| (sk(item), ttl(item)))
            .collect();
        let Some(conversation) = self.get_conversation(id).await.unwrap() else {
            return found;
        };
        for pk in [
            keys::history_pk(&conversation.customer.wa_id),
            keys::agent_pk(&AgentId::parse("ana").unwrap()),
        ] {
            found.extend(
                query(pk.clone())
                    .await
                    .unwrap()
                    .iter()
                    .filter(|item| sk(item).ends_with(&id.to_string()))
                    .map(|item| (format!("{pk} / {}", sk(item)), ttl(item))),
            );
        }
        found
    }
}

/// The events a desk commit left in the store's outbox, delivered to the
/// retention worker as the erasure queue would.
async fn deliver_retention<S: DeskStore>(
    app: &TestServices<S>,
    events: Vec<wadesk_domain::EventEnvelope>,
) {
    app.events.publish(&events).await.unwrap();
    while let Some(event) = app.events.next_undelivered() {
        apply_retention(app, &event).await.unwrap();
    }
}

pub trait OutboxOf {
    async fn outbox_of(&self, id: ConversationId) -> Vec<wadesk_domain::EventEnvelope>;
}

impl OutboxOf for EmbeddedStore {
    async fn outbox_of(&self, _id: ConversationId) -> Vec<wadesk_domain::EventEnvelope> {
        self.take_outbox()
    }
}

impl OutboxOf for DynamoStore {
    async fn outbox_of(&self, id: ConversationId) -> Vec<wadesk_domain::EventEnvelope> {
        self.outbox(id).await.unwrap()
    }
}

pub async fn finished_conversations_expire_and_live_ones_do_not<
    S: DeskStore + Expiries + OutboxOf,
>(
    store: S,
) {
    let t0 = now_seconds();
    let app = services(store, t0);
    setup(&app).await;
    let finished = chat(&app, &customer("34611000004"), 1, 30, false).await;
    let live = chat(&app, &customer("34611000005"), 1, 2, true).await;
    deliver_retention(&app, app.store.outbox_of(finished).await).await;

    // The clock moved past the period: every item of the finished one
    // carries an expiry now in the past; the live one's carry none.
    let later: DateTime<Utc> = t0 + Duration::days(i64::from(RETENTION_DAYS) + 1);
    let stored = app.store.get_conversation(finished).await.unwrap().unwrap();
    let expiry = stored.expires_at().unwrap();
    assert_eq!(
        expiry,
        stored.finished_at.unwrap() + Duration::days(RETENTION_DAYS.into())
    );
    let items = app.store.expiries(finished).await;
    assert!(items.len() > 30, "{items:?}");
    for (item, at) in &items {
        assert_eq!(*at, Some(expiry.timestamp()), "{item}");
        assert!(at.unwrap() < later.timestamp(), "{item}");
    }
    for (item, at) in app.store.expiries(live).await {
        assert_eq!(at, None, "{item}");
    }

    // Reopened, it is live again: no expiry on any of its items.
    service::reopen(&app, &actor("ana", Role::Agent), finished)
        .await
        .unwrap();
    deliver_retention(&app, app.store.outbox_of(finished).await).await;
    for (item, at) in app.store.expiries(finished).await {
        assert_eq!(at, None, "{item}");
    }
}

pub async fn a_chat_disabled_conversation_expires_with_its_automatic_reply<
    S: DeskStore + Expiries,
>(
    store: S,
) {
    let app = services(store, now_seconds());
    setup(&app).await;
    let mut channel = app
        .store
        .get_channel(&PhoneNumberId::parse(wadesk_tests::PHONE_NUMBER_ID).unwrap())
        .await
        .unwrap()
        .unwrap();
    channel.chat_enabled = false;
    app.store.put_channel(&channel).await.unwrap();
    let id = writes(&app, &customer("34611000007"), "wamid.off.1", "hola").await;
    while let Some(event) = app.events.next_undelivered() {
        apply_retention(&app, &event).await.unwrap();
    }
    let items = app.store.expiries(id).await;
    let messages: Vec<_> = items
        .iter()
        .filter(|(item, _)| item.contains("MSG#") || item.starts_with("message"))
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "the customer's message and the automatic reply: {items:?}"
    );
    let expiry = app
        .store
        .get_conversation(id)
        .await
        .unwrap()
        .unwrap()
        .expires_at();
    assert!(expiry.is_some());
    for (item, at) in &items {
        assert_eq!(*at, expiry.map(|t| t.timestamp()), "{item}");
    }
}

macro_rules! protection_suite {
    ($adapter:ident, $make:expr, $media:expr) => {
        mod $adapter {
            #[tokio::test]
            async fn a_customer_is_erased_entirely() {
                super::a_customer_is_erased_entirely($make, $media).await;
            }
            #[tokio::test]
            async fn an_interrupted_erasure_resumes() {
                super::an_interrupted_erasure_resumes($make, $media).await;
            }
            #[tokio::test]
            async fn an_erasure_reads_past_other_channels_a_few_pages_a_step() {
                super::an_erasure_reads_past_other_channels_a_few_pages_a_step($make).await;
            }
            #[tokio::test]
            async fn a_chat_disabled_conversation_expires_with_its_automatic_reply() {
                super::a_chat_disabled_conversation_expires_with_its_automatic_reply($make).await;
            }
            #[tokio::test]
            async fn finished_conversations_expire_and_live_ones_do_not() {
                super::finished_conversations_expire_and_live_ones_do_not($make).await;
            }
        }
    };
}

protection_suite!(
    embedded,
    wadesk_tests::embedded_store(),
    super::local_media()
);
protection_suite!(
    dynamodb,
    wadesk_tests::dynamo_store(None).await,
    super::media_bucket().await
);

/// A message item as the stream reports its removal to Lambda: the old
/// image is the item as stored; DynamoDB's TTL names itself as the remover.
fn stream_removal(item: keys::Item, sequence_number: &str, by_ttl: bool) -> Value {
    let keys: keys::Item = item
        .iter()
        .filter(|(name, _)| *name == "pk" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mut record = json!({
        "eventID": format!("e{sequence_number}"),
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/wadesk/stream/2026-12-05T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_764_892_800,
            "Keys": serde_dynamo::Item::from(keys),
            "OldImage": serde_dynamo::Item::from(item),
            "SequenceNumber": sequence_number,
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    });
    if by_ttl {
        record["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    record
}

/// On AWS the table's TTL deletes an expired message some time after its
/// expiry, and the stream hands the erasure function its old image: the
/// message's file is deleted with it, whatever the bucket's lifecycle would
/// keep. A delete by anyone else (an erasure deletes the files itself) and
/// other items are passed over; a failed deletion is retried from its record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_messages_the_ttl_removed_are_deleted_from_the_stream() {
    let app = services(wadesk_tests::dynamo_store(None).await, Utc::now());
    setup(&app).await;
    let media = media_bucket().await;
    let expired = customer("34611000931");
    let erased = customer("34611000932");
    let expired_file = sends_photo(&app, &media, &expired).await;
    let erased_file = sends_photo(&app, &media, &erased).await;

    // The stored message items, read as the stream would report them.
    let stored: Vec<keys::Item> = app
        .store
        .client()
        .scan()
        .table_name(app.store.table())
        .send()
        .await
        .unwrap()
        .items()
        .to_vec();
    let message_of = |file: &str| {
        let conversation = file.split('/').nth(1).unwrap().to_owned();
        stored
            .iter()
            .find(|item| {
                wadesk_aws::dynamodb::items::string(item, "sk")
                    .is_some_and(|sk| sk.starts_with(keys::MESSAGE_SK_PREFIX))
                    && wadesk_aws::dynamodb::items::string(item, "pk")
                        .is_some_and(|pk| pk.ends_with(&conversation))
                    && wadesk_aws::dynamodb::items::string(item, "type").as_deref() == Some("image")
            })
            .cloned()
            .unwrap_or_else(|| panic!("no stored message for {file}"))
    };
    let conversation_item = stored
        .iter()
        .find(|item| wadesk_aws::dynamodb::items::string(item, "sk").as_deref() == Some("META"))
        .cloned()
        .unwrap();
    let batch = json!({"Records": [
        stream_removal(conversation_item, "100", true),
        stream_removal(message_of(&erased_file), "200", false),
        stream_removal(message_of(&expired_file), "300", true),
    ]});

    // S3 out of reach: the batch is delivered again from the expired
    // message's record, and nothing was lost meanwhile.
    let unreachable = wadesk_tests::moto_sdk_config()
        .await
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let missing = S3MediaStore::new(&unreachable, media.bucket()).unwrap();
    let delivery = erasure::Delivery::parse(batch.clone()).unwrap();
    let failing = erasure::invoke(&app, &missing, delivery).await;
    let failing = serde_json::to_value(failing).unwrap();
    assert_eq!(
        failing["batchItemFailures"],
        json!([{"itemIdentifier": "300"}]),
        "{failing}"
    );

    let delivery = erasure::Delivery::parse(batch.clone()).unwrap();
    let answer = serde_json::to_value(erasure::invoke(&app, &media, delivery).await).unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let left = media.media_keys().await;
    assert!(!left.contains(&expired_file), "{left:?}");
    assert!(
        left.contains(&erased_file),
        "not the TTL's delete: {left:?}"
    );

    // Delivered again: harmless.
    let delivery = erasure::Delivery::parse(batch).unwrap();
    let again = serde_json::to_value(erasure::invoke(&app, &media, delivery).await).unwrap();
    assert_eq!(again["batchItemFailures"], json!([]), "{again}");
    assert!(erasure::Delivery::parse(json!({"Records": [{"eventSource": "aws:s3"}]})).is_err());
}

/// Over HTTP: export and erasure are admin-only and in the audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erasure_are_for_admins_and_in_the_audit_trail() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let id = desk.customer_writes("34611000906", "hola").await;
    desk.post(&id, "take", &ana, json!({}), 200).await;
    let channel = "100000000000001";
    let customer = format!("/admin/customers/{channel}/34611000906");

    for (method, path) in [
        (Method::GET, format!("{customer}/export")),
        (Method::DELETE, customer.clone()),
    ] {
        let (status, answer) = desk.app.call(method, &path, Some(&ana), None).await;
        assert_eq!(status, 403, "{answer}");
    }

    // The export, a page at a time: profile, conversation, messages.
    let mut kinds = Vec::new();
    let mut path = format!("{customer}/export?limit=1");
    loop {
        let (status, page) = desk.get(&path, &desk.admin).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        kinds.extend(items.iter().map(|i| i["type"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{customer}/export?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        kinds[..3],
        ["customer", "conversation", "message"],
        "{kinds:?}"
    );
    let (status, _) = desk
        .get(&format!("{customer}/export?cursor=garbage"), &desk.admin)
        .await;
    assert_eq!(status, 400);

    let (status, erased) = desk
        .app
        .call(Method::DELETE, &customer, Some(&desk.admin), None)
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["status"], "complete");
    assert_eq!(erased["erased"]["conversations"], 1);
    let (status, _) = desk.get(&format!("/conversations/{id}"), &desk.admin).await;
    assert_eq!(status, 404);

    let (_, trail) = desk
        .get("/admin/audit?customer=34611000906", &desk.admin)
        .await;
    let actions: BTreeSet<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains("customer_export"), "{trail}");
    assert!(actions.contains("customer_erasure"), "{trail}");
    let erasure = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "customer_erasure")
        .unwrap();
    assert_eq!(erasure["actor"], "root");
    assert_eq!(
        erasure["route"],
        "DELETE /admin/customers/{phone_number_id}/{wa_id}"
    );
    let (status, _) = desk.get("/admin/audit", &ana).await;
    assert_eq!(status, 403);
}

/// The channel's retention is an admin setting with a validated range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_keeps_its_retention_setting() {
    let desk = Desk::new().await;
    let body = |days: Value| {
        json!({"display_phone_number": "+1 555 0100", "default_queue": "sales",
               "reopen_message": "Hi again!", "retention_days": days})
    };
    let path = "/admin/channels/100000000000001";
    let (status, channel) = desk
        .app
        .call(Method::PUT, path, Some(&desk.admin), Some(body(json!(90))))
        .await;
    assert_eq!(status, 200, "{channel}");
    assert_eq!(channel["retention_days"], 90);
    for bad in [json!(0), json!(3651), json!("a year")] {
        let (status, answer) = desk
            .app
            .call(Method::PUT, path, Some(&desk.admin), Some(body(bad)))
            .await;
        assert_eq!(status, 400, "{answer}");
    }
    let _ = WaId::parse("34611000906").unwrap();
}

/// A customer's photo through the runner's simulator (fetched into its
/// media store like the media fetcher does on AWS).
async fn customer_sends_photo(desk: &Desk, from: &str) {
    let (status, answer) = desk
        .app
        .post_json(
            "/_local/inbound",
            json!({"from": from, "image": {"mime_type": "image/png", "base64": "iVBORw0KGgo="}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// Locally the embedded store honours the retention: once the runner's clock
/// passes a finished conversation's expiry it is gone, with its files (the
/// channel's day, not the bucket's 30); a live one stays with its files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_forgets_finished_conversations_after_their_retention() {
    let desk = Desk::new().await;
    let ana = desk.token("ana");
    let (status, channel) = desk
        .app
        .call(
            Method::PUT,
            "/admin/channels/100000000000001",
            Some(&desk.admin),
            Some(
                json!({"display_phone_number": "+1 555 0100", "default_queue": "sales",
                        "reopen_message": "Hi again!", "retention_days": 1}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{channel}");
    let finished = desk.customer_writes("34611000908", "hola").await;
    let live = desk.customer_writes("34611000909", "hola").await;
    customer_sends_photo(&desk, "34611000908").await;
    customer_sends_photo(&desk, "34611000909").await;
    let files = |desk: &Desk| desk.app.runner.media.store.keys();
    let both = files(&desk);
    assert_eq!(both.len(), 2, "{both:?}");
    desk.post(&finished, "take", &ana, json!({}), 200).await;
    desk.finish(&finished, &ana).await;

    desk.advance_clock(86_400 - 60).await;
    let (status, _) = desk
        .get(&format!("/conversations/{finished}"), &desk.admin)
        .await;
    assert_eq!(status, 200, "kept until its expiry");
    assert_eq!(files(&desk), both, "files kept until their messages expire");
    desk.advance_clock(120).await;
    let (status, _) = desk
        .get(&format!("/conversations/{finished}"), &desk.admin)
        .await;
    assert_eq!(status, 404, "expired a day after it finished");
    let left = files(&desk);
    assert_eq!(
        left.len(),
        1,
        "the finished chat's file went with it: {left:?}"
    );
    assert!(
        left[0].contains(&live),
        "the live chat's file stays: {left:?}"
    );
    let (status, _) = desk
        .get(&format!("/conversations/{live}"), &desk.admin)
        .await;
    assert_eq!(status, 200, "a live conversation never expires");
}
