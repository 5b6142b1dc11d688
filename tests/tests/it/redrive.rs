//! No asynchronous failure lost, for every asynchronously invoked function
//! (opt-out, timers) and the analytics consumer: its handler fails
//! until the retries are spent (DynamoDB refusing every request, through the
//! fault proxy in front of moto) — Lambda's, whose on-failure destination
//! keeps the event in the function's failure queue (SQS on moto, in Lambda's
//! record shape), or, for the analytics queue's batches, the queue's receives,
//! after which SQS moves the message to the same failure queue — and once the
//! cause is gone the redrive command (`wadesk_redrive`, its SQS adapter on
//! moto) replays it through the same entry point the function's `main` runs,
//! exactly once in effect: replaying it again does nothing more.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use wadesk_app::embedded::LocalWhatsApp;
use wadesk_app::{AnalyticsStore, ConversationStore, DeskStore};
use wadesk_aws::parking::FailureQueue;
use wadesk_aws::DynamoStore;
use wadesk_domain::analytics::{Counters, Scope};
use wadesk_domain::{
    AgentId, AgentState, Channel, Clock, ManualClock, PhoneNumberId, Queue, QueueId, Role,
    TimerInput,
};
use wadesk_redrive::aws::SqsQueue;
use wadesk_redrive::{redrive, Invoker, Options, Outcome, PortError};
use wadesk_tests::fault_proxy::{self, Fault, FaultProxy, Matcher, Rule, SdkRetries};
use wadesk_tests::{moto_endpoint, unique_name, DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID};

use crate::aws_adapters::fresh_resources;
use wadesk_aws::lambda::{aws_app, AwsApp};

const APP_SECRET: &str = "redrive-test-app-secret";
/// Lambda's asynchronous invocation: the first attempt and
/// `MaximumRetryAttempts` (2, the template's EventInvokeConfig) retries.
const ATTEMPTS: usize = 3;
const CUSTOMER: &str = "34600111222";

type TestApp = AwsApp<ManualClock, LocalWhatsApp>;

/// Every request the handlers make to DynamoDB.
const DYNAMODB_OPERATIONS: [&str; 8] = [
    "GetItem",
    "BatchGetItem",
    "Query",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

struct Stack {
    proxy: FaultProxy,
    app: TestApp,
    sqs: aws_sdk_sqs::Client,
    failure_queue_url: String,
    scheduler: aws_sdk_scheduler::Client,
    group: String,
    /// The table's stream, as the event-relay's event-source mapping reads it.
    stream: tokio::sync::Mutex<wadesk_local_runner::stream::StreamReader>,
}

impl Stack {
    async fn new(t0: DateTime<Utc>) -> Self {
        let proxy = FaultProxy::start(&moto_endpoint()).await;
        let sdk = fault_proxy::sdk_config(&proxy, SdkRetries::Disabled).await;
        let resources = fresh_resources("wadesk-redrive").await;
        let scheduler = wadesk_tests::scheduler_client(None).await;
        let group = resources.schedule_group.clone();
        let (sqs, failure_queue_url) = wadesk_tests::sqs_queue("wadesk-failures").await;
        let stream = tokio::sync::Mutex::new(wadesk_local_runner::stream::StreamReader::new(
            wadesk_tests::dynamodbstreams_client().await,
            &resources.table,
        ));
        let clock = ManualClock::frozen_at(t0);
        let app = aws_app(&sdk, &resources, clock.clone(), LocalWhatsApp::new(clock));
        let stack = Self {
            proxy,
            app,
            sqs,
            failure_queue_url,
            scheduler,
            group,
            stream,
        };
        stack.seed().await;
        stack
    }

    async fn seed(&self) {
        let store = &self.app.store;
        store
            .put_queue(&Queue {
                id: QueueId::default_queue(),
                name: "Default".into(),
            })
            .await
            .unwrap();
        // From JSON, so settings added to channels later keep their defaults.
        let channel: Channel = serde_json::from_value(json!({
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": DISPLAY_PHONE_NUMBER,
            "chat_enabled": true,
            "default_queue": QueueId::default_queue(),
            "bot": false,
            "mask_sensitive_data": false,
            "reopen_message": "We are back",
            "push_template": null,
        }))
        .unwrap();
        store.put_channel(&channel).await.unwrap();
        let ana = AgentId::parse("ana").unwrap();
        let profile = wadesk_app::desk::AgentProfile {
            name: "Ana".into(),
            role: Role::Agent,
            queues: vec![QueueId::default_queue()],
            max_concurrent: 3,
        };
        Box::pin(wadesk_app::desk::upsert_agent(&self.app, &ana, profile))
            .await
            .unwrap();
        Box::pin(wadesk_app::desk::set_state(
            &self.app,
            &ana,
            AgentState::Available,
        ))
        .await
        .unwrap();
    }

    /// A customer's message, signed, to the webhook handler.
    async fn customer_writes(&self, wamid: &str, text: &str) {
        let body = wadesk_whatsapp::text_message_body(
            PHONE_NUMBER_ID,
            DISPLAY_PHONE_NUMBER,
            CUSTOMER,
            "Lucía",
            text,
            wamid,
            self.app.clock.now().timestamp(),
        )
        .to_string();
        let request = wadesk_tests::signed_webhook_post(APP_SECRET, &body);
        let answer = Box::pin(webhook::handle(
            &self.app,
            &wadesk_app::embedded::LocalPoisonQueue::new(),
            &webhook::WebhookSettings::new(APP_SECRET, "verify"),
            request,
        ))
        .await;
        assert_eq!(answer.status(), 200);
        // The message's events, committed with it, reach the bus through the
        // relay (the table's stream).
        wadesk_local_runner::relay_stream(&mut *self.stream.lock().await, &self.app.events)
            .await
            .unwrap();
    }

    /// The wadesk events on the bus so far, as EventBridge delivers them to a
    /// rule's target.
    fn deliveries_of(&self, detail_type: &str) -> Vec<Value> {
        self.proxy
            .published_details()
            .iter()
            .map(|detail| serde_json::from_str::<Value>(detail).unwrap())
            .filter(|detail| detail["type"] == detail_type)
            .map(|detail| {
                json!({
                    "version": "0",
                    "id": uuid::Uuid::new_v4().to_string(),
                    "detail-type": detail_type,
                    "source": "wadesk",
                    "account": "123456789012",
                    "time": "2026-12-05T10:00:00Z",
                    "region": "us-east-1",
                    "resources": [],
                    "detail": detail,
                })
            })
            .collect()
    }

    /// DynamoDB refuses every request (throttled, then unavailable) until healed.
    fn break_dynamodb(&self) {
        for operation in DYNAMODB_OPERATIONS {
            self.proxy
                .add(Rule::first(Matcher::Target(operation), Fault::Status(503)).times(1_000));
        }
    }

    fn heal(&self) {
        self.proxy.clear();
    }

    /// Lambda's asynchronous invocation of `function` (see [`invoke_async`]).
    async fn invoke_async<F, Fut, T>(&self, function: &str, payload: &Value, handler: F) -> bool
    where
        F: Fn(Value) -> Fut,
        Fut: Future<Output = Result<T, lambda_runtime_error::Error>>,
    {
        invoke_async(
            &self.sqs,
            &self.failure_queue_url,
            function,
            payload,
            handler,
        )
        .await
    }

    fn parking(&self) -> FailureQueue {
        FailureQueue::new(self.sqs.clone(), &self.failure_queue_url)
    }

    fn queue(&self) -> SqsQueue {
        SqsQueue {
            client: self.sqs.clone(),
            queue_url: self.failure_queue_url.clone(),
            // Short, so a test can receive a replayed-but-undeleted message again.
            visibility_timeout: 1,
        }
    }

    async fn messages_waiting(&self) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.failure_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let count = |name| {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .map_or(0, |v| v.parse::<usize>().unwrap())
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }
}

/// Lambda's asynchronous invocation of `function`: up to [`ATTEMPTS`] tries,
/// then the on-failure destination (`failure_queue_url`) gets Lambda's
/// record. Answers whether an attempt succeeded.
pub(crate) async fn invoke_async<F, Fut, T, E>(
    sqs: &aws_sdk_sqs::Client,
    failure_queue_url: &str,
    function: &str,
    payload: &Value,
    handler: F,
) -> bool
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        match handler(payload.clone()).await {
            Ok(_) => return true,
            Err(error) => last_error = error.to_string(),
        }
    }
    let record = json!({
        "version": "1.0",
        "timestamp": "2026-12-05T10:00:00.000Z",
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": format!("{function}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": ATTEMPTS,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Error", "errorMessage": last_error},
    });
    sqs.send_message()
        .queue_url(failure_queue_url)
        .message_body(record.to_string())
        .send()
        .await
        .unwrap();
    false
}

/// The error type of the functions' entry points.
mod lambda_runtime_error {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
}

/// A replay's future, borrowing the stack.
pub(crate) type Replaying<'a> = Pin<Box<dyn Future<Output = Result<(), PortError>> + 'a>>;

/// The redrive command's replay, in process: the function's own entry point.
pub(crate) struct InProcess<'a>(pub(crate) Box<dyn Fn(Value) -> Replaying<'a> + 'a>);

impl<'a> InProcess<'a> {
    /// Replays through `handler`: the function's entry point, as the test's
    /// asynchronous invocation called it.
    pub(crate) fn replaying<F, Fut, T, E>(handler: F) -> Self
    where
        F: Fn(Value) -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        E: Into<PortError>,
    {
        InProcess(Box::new(move |payload| {
            let replay = handler(payload);
            Box::pin(async move { replay.await.map(|_| ()).map_err(Into::into) })
        }))
    }
}

impl Invoker for InProcess<'_> {
    async fn invoke(&self, _function: &str, payload: &Value) -> Result<(), PortError> {
        (self.0)(payload.clone()).await
    }
}

pub(crate) fn replayed_once(report: &[wadesk_redrive::Handled], function: &str) {
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(
        report[0].outcome,
        Outcome::Replayed {
            function: format!("{function}:$LATEST")
        }
    );
}

fn t0() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::seconds(1)).unwrap()
}

const OPT_OUT: &str = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-test-opt-out";

#[tokio::test]
async fn opt_out_parked_after_its_retries_is_redriven_once() {
    let stack = Stack::new(t0()).await;
    stack.customer_writes("wamid.redrive-1", "hello").await;
    stack.customer_writes("wamid.redrive-2", "#STOP").await;
    let [opted_out] = <[Value; 1]>::try_from(stack.deliveries_of("CustomerOptedOut")).unwrap();
    let confirmations = || {
        stack
            .app
            .whatsapp
            .sent()
            .into_iter()
            .filter(|e| e.to == CUSTOMER)
            .count()
    };
    let parking = stack.parking();
    let entry = |payload: Value| {
        let (app, parking) = (&stack.app, &parking);
        async move { Box::pin(opt_out::invoke(app, parking, OPT_OUT, &payload)).await }
    };

    stack.break_dynamodb();
    assert!(!stack.invoke_async(OPT_OUT, &opted_out, entry).await);
    stack.heal();
    assert_eq!(stack.messages_waiting().await, 1, "the event is parked");
    assert_eq!(confirmations(), 0, "nothing was sent while DynamoDB failed");

    let invoker = InProcess::replaying(entry);
    let report = redrive(&stack.queue(), &invoker, &Options::default())
        .await
        .unwrap();
    replayed_once(&report, OPT_OUT);
    assert_eq!(stack.messages_waiting().await, 0);
    assert_eq!(confirmations(), 1, "one confirmation");
    let customer = stack
        .app
        .store
        .get_customer(&wadesk_tests::customer(CUSTOMER))
        .await
        .unwrap()
        .unwrap();
    assert!(customer.opt_out.is_opted_out());

    // The same record replayed a second time (a delete that failed, two
    // operators at once): still one confirmation.
    Box::pin(opt_out::invoke(&stack.app, &parking, OPT_OUT, &opted_out))
        .await
        .unwrap();
    assert_eq!(confirmations(), 1, "a second replay sends nothing more");
    let again = redrive(&stack.queue(), &invoker, &Options::default())
        .await
        .unwrap();
    assert!(again.is_empty(), "nothing left to replay: {again:?}");
}

const TIMERS: &str = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-test-timers";

#[tokio::test]
async fn window_fire_parked_after_its_retries_is_redriven_once() {
    let stack = Stack::new(t0()).await;
    stack.customer_writes("wamid.redrive-w1", "hello").await;
    stack
        .app
        .clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    let names = stack
        .scheduler
        .list_schedules()
        .group_name(&stack.group)
        .send()
        .await
        .unwrap();
    let window = names
        .schedules()
        .iter()
        .find(|s| s.name().unwrap_or_default().starts_with("window-"))
        .unwrap();
    let schedule = stack
        .scheduler
        .get_schedule()
        .group_name(&stack.group)
        .name(window.name().unwrap())
        .send()
        .await
        .unwrap();
    // Scheduler invokes the function with the schedule's input as it is.
    let fire: Value = serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
    serde_json::from_value::<TimerInput>(fire.clone()).unwrap();
    let parking = stack.parking();
    let entry = |payload: Value| {
        let (app, parking) = (&stack.app, &parking);
        async move { Box::pin(timers::invoke(app, parking, TIMERS, &payload)).await }
    };
    let expiries = || {
        stack
            .deliveries_of("WindowExpired")
            .iter()
            .map(|d| d["detail"]["id"].as_str().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };

    stack.break_dynamodb();
    assert!(!stack.invoke_async(TIMERS, &fire, entry).await);
    stack.heal();
    assert_eq!(stack.messages_waiting().await, 1, "the fire is parked");
    assert!(expiries().is_empty());

    let invoker = InProcess::replaying(entry);
    let report = redrive(&stack.queue(), &invoker, &Options::default())
        .await
        .unwrap();
    replayed_once(&report, TIMERS);
    assert_eq!(expiries().len(), 1, "the window expired once");
    let customer = stack
        .app
        .store
        .get_customer(&wadesk_tests::customer(CUSTOMER))
        .await
        .unwrap()
        .unwrap();
    assert!(!customer.window_is_open(stack.app.clock.now()));

    // Replayed again: the same WindowExpired (same id) at most, never a second.
    Box::pin(timers::invoke(&stack.app, &parking, TIMERS, &fire))
        .await
        .unwrap();
    assert_eq!(expiries().len(), 1, "a second replay expires nothing more");
}

const CONSUMER: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:wadesk-test-analytics-consumer";

/// The analytics queue's receives before SQS moves a message to its
/// dead-letter queue (the template's `maxReceiveCount`).
const ANALYTICS_RECEIVES: i32 = 5;

/// Lambda's SQS poller, once: receives what is visible on `queue_url`,
/// invokes the consumer with it in Lambda's SQS event shape, deletes the
/// messages it did not report failed and makes the failed ones visible at
/// once (standing in for the visibility time-out). Answers how many messages
/// it received.
async fn poll_analytics_queue(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    store: &DynamoStore,
    parking: &FailureQueue,
) -> usize {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    if messages.is_empty() {
        return 0;
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id().unwrap(),
                "receiptHandle": m.receipt_handle().unwrap(),
                "body": m.body().unwrap(),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:analytics",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    let answer =
        analytics::invoke_consumer(store, parking, CONSUMER, &json!({ "Records": records }))
            .await
            .unwrap();
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    for message in messages {
        let handle = message.receipt_handle().unwrap();
        if failed.contains(&message.message_id().unwrap()) {
            sqs.change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        } else {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .unwrap();
        }
    }
    messages.len()
}

#[tokio::test]
async fn counted_event_failed_on_every_receive_is_redriven_and_counted_once() {
    let stack = Stack::new(t0()).await;
    // A #STOP's event as the bus delivers it (how it reached the bus is the
    // inbound path's business, tested elsewhere).
    let stop = wadesk_domain::EventEnvelope::new(
        wadesk_domain::DomainEvent::CustomerOptedOut {
            customer: wadesk_tests::customer(CUSTOMER),
            wamid: wadesk_domain::Wamid::parse("wamid.redrive-a2").unwrap(),
            conversation_id: None,
            session_status: None,
            owner: None,
        },
        stack.app.clock.now(),
    );
    let opted_out = json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "CustomerOptedOut",
        "source": "wadesk",
        "account": "123456789012",
        "time": "2026-12-05T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": serde_json::to_value(&stop).unwrap(),
    });
    let parking = stack.parking();
    let store = &stack.app.store;
    let opt_outs = || async {
        let now = stack.app.clock.now();
        let hour = Duration::hours(1);
        let mut total = Counters::default();
        for (_, counters) in store
            .hourly(
                &Scope::Channel(PhoneNumberId::parse(PHONE_NUMBER_ID).unwrap()),
                (now - Duration::days(1)).duration_trunc(hour).unwrap(),
                (now + Duration::days(1)).duration_trunc(hour).unwrap(),
            )
            .await
            .unwrap()
        {
            total += &counters;
        }
        total.opt_outs
    };
    // The analytics queue, its dead letters going to the failure queue as in
    // the template; the bus rule puts the EventBridge event on it as the body.
    let failure_queue_arn = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.failure_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let analytics_queue = stack
        .sqs
        .create_queue()
        .queue_name(unique_name("wadesk-analytics"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({
                "deadLetterTargetArn": failure_queue_arn,
                "maxReceiveCount": ANALYTICS_RECEIVES.to_string(),
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // The event bus's delivery of the opt-out to the analytics queue.
    let deliver = || async {
        stack
            .sqs
            .send_message()
            .queue_url(&analytics_queue)
            .message_body(opted_out.to_string())
            .send()
            .await
            .unwrap();
    };
    deliver().await;

    stack.break_dynamodb();
    for receive in 0..ANALYTICS_RECEIVES {
        let received = poll_analytics_queue(&stack.sqs, &analytics_queue, store, &parking).await;
        assert_eq!(received, 1, "receive {receive}");
    }
    // The next receive finds it moved to the dead-letter queue.
    assert_eq!(
        poll_analytics_queue(&stack.sqs, &analytics_queue, store, &parking).await,
        0
    );
    stack.heal();
    assert_eq!(stack.messages_waiting().await, 1, "the event is kept");
    assert_eq!(opt_outs().await, 0);

    let invoker = InProcess::replaying(|payload: Value| {
        let parking = &parking;
        async move { analytics::invoke_consumer(store, parking, CONSUMER, &payload).await }
    });
    // A dead letter names no function: the operator says which.
    let options = Options {
        function: Some(CONSUMER.into()),
        ..Options::default()
    };
    let report = redrive(&stack.queue(), &invoker, &options).await.unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(
        report[0].outcome,
        Outcome::Replayed {
            function: CONSUMER.into()
        }
    );
    assert_eq!(opt_outs().await, 1, "counted once");

    // Counting is idempotent: a second replay, and the same message delivered
    // by the queue again, count nothing more.
    analytics::invoke_consumer(store, &parking, CONSUMER, &opted_out)
        .await
        .unwrap();
    deliver().await;
    assert_eq!(
        poll_analytics_queue(&stack.sqs, &analytics_queue, store, &parking).await,
        1
    );
    assert_eq!(opt_outs().await, 1, "a second replay counts nothing more");
    assert_eq!(stack.messages_waiting().await, 0);
}

#[tokio::test]
async fn an_unparseable_event_is_parked_at_once_and_left_by_a_plain_redrive() {
    let stack = Stack::new(t0()).await;
    let parking = stack.parking();
    let garbage = json!({"detail-type": "CustomerOptedOut", "detail": {"not": "an event"}});
    let calls = std::cell::Cell::new(0);
    let entry = |payload: Value| {
        calls.set(calls.get() + 1);
        let (app, parking) = (&stack.app, &parking);
        async move { Box::pin(opt_out::invoke(app, parking, OPT_OUT, &payload)).await }
    };
    assert!(
        stack.invoke_async(OPT_OUT, &garbage, entry).await,
        "parked, not failed"
    );
    assert_eq!(calls.get(), 1, "not retried");
    assert_eq!(stack.messages_waiting().await, 1);
    let invoker = InProcess(Box::new(|_: Value| {
        Box::pin(async {
            Err::<(), PortError>("an unparseable event is not replayed by default".into())
        }) as Replaying<'_>
    }));
    let report = redrive(&stack.queue(), &invoker, &Options::default())
        .await
        .unwrap();
    assert!(
        matches!(&report[..], [h] if matches!(&h.outcome, Outcome::Skipped { reason } if reason.contains("unparseable"))),
        "{report:?}"
    );
}
