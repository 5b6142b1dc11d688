#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::json;

use super::*;

/// An in-memory queue: a received message is hidden until deleted (for the
/// rest of the run), as SQS's visibility time-out hides it.
#[derive(Default)]
struct Queue {
    waiting: RefCell<VecDeque<ParkedMessage>>,
    deleted: RefCell<Vec<String>>,
    fail_deletes: bool,
}

impl Queue {
    fn with(bodies: &[(&str, Option<&str>)]) -> Self {
        let queue = Self::default();
        for (i, (body, target)) in bodies.iter().enumerate() {
            queue.waiting.borrow_mut().push_back(ParkedMessage {
                message_id: format!("m{i}"),
                receipt_handle: format!("r{i}"),
                body: (*body).to_owned(),
                target_arn: target.map(str::to_owned),
            });
        }
        queue
    }
}

impl ParkingQueue for Queue {
    async fn receive(&self, max: i32) -> Result<Vec<ParkedMessage>, PortError> {
        let mut waiting = self.waiting.borrow_mut();
        let n = usize::try_from(max).unwrap().min(waiting.len());
        Ok(waiting.drain(..n).collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), PortError> {
        if self.fail_deletes {
            return Err("throttled".into());
        }
        self.deleted.borrow_mut().push(receipt_handle.to_owned());
        Ok(())
    }
}

/// Records invocations; fails those whose payload has `"fail": true`.
#[derive(Default)]
struct Functions {
    invoked: RefCell<Vec<(String, Value)>>,
}

impl Invoker for Functions {
    async fn invoke(&self, function: &str, payload: &Value) -> Result<(), PortError> {
        self.invoked
            .borrow_mut()
            .push((function.to_owned(), payload.clone()));
        if payload["fail"] == json!(true) {
            return Err("handler error: table unavailable".into());
        }
        Ok(())
    }
}

fn lambda_record(condition: &str, payload: Value) -> String {
    json!({
        "version": "1.0",
        "requestContext": {
            "requestId": "c2a6f2ae",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:wadesk-dev-opt-out:$LATEST",
            "condition": condition,
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "boom"}
    })
    .to_string()
}

const OPT_OUT: &str = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-dev-opt-out:$LATEST";

#[tokio::test]
async fn a_lambda_record_is_replayed_with_its_original_event_and_deleted() {
    let event = json!({"detail-type": "CustomerOptedOut", "detail": {"id": "e1"}});
    let queue = Queue::with(&[(&lambda_record("RetriesExhausted", event.clone()), None)]);
    let functions = Functions::default();
    let report = redrive(&queue, &functions, &Options::default())
        .await
        .unwrap();
    assert_eq!(
        report,
        vec![Handled {
            message_id: "m0".into(),
            outcome: Outcome::Replayed {
                function: OPT_OUT.into()
            }
        }]
    );
    assert_eq!(
        *functions.invoked.borrow(),
        vec![(OPT_OUT.to_owned(), event)]
    );
    assert_eq!(*queue.deleted.borrow(), vec!["r0".to_owned()]);
}

#[tokio::test]
async fn a_dead_letter_message_is_replayed_through_its_target() {
    let fire = json!({"kind": "window", "customer": "x"});
    let target = "arn:aws:lambda:us-east-1:123456789012:function:wadesk-dev-timers";
    let queue = Queue::with(&[(&fire.to_string(), Some(target))]);
    let functions = Functions::default();
    redrive(&queue, &functions, &Options::default())
        .await
        .unwrap();
    assert_eq!(*functions.invoked.borrow(), vec![(target.to_owned(), fire)]);
}

#[tokio::test]
async fn a_failing_replay_leaves_the_message_and_the_others_go_on() {
    let queue = Queue::with(&[
        (
            &lambda_record("RetriesExhausted", json!({"fail": true})),
            None,
        ),
        (&lambda_record("EventAgeExceeded", json!({"n": 2})), None),
    ]);
    let functions = Functions::default();
    let report = redrive(&queue, &functions, &Options::default())
        .await
        .unwrap();
    assert!(
        matches!(&report[0].outcome, Outcome::Failed { error, .. } if error.contains("table unavailable"))
    );
    assert!(matches!(&report[1].outcome, Outcome::Replayed { .. }));
    assert_eq!(*queue.deleted.borrow(), vec!["r1".to_owned()]);
}

#[tokio::test]
async fn unparseable_events_are_left_unless_asked_for() {
    let body = lambda_record("Unparseable", json!({"when": 1}));
    let queue = Queue::with(&[(&body, None)]);
    let functions = Functions::default();
    let report = redrive(&queue, &functions, &Options::default())
        .await
        .unwrap();
    assert!(
        matches!(&report[0].outcome, Outcome::Skipped { reason } if reason.contains("--include-unparseable"))
    );
    assert!(functions.invoked.borrow().is_empty());

    let queue = Queue::with(&[(&body, None)]);
    let options = Options {
        include_unparseable: true,
        ..Options::default()
    };
    let report = redrive(&queue, &functions, &options).await.unwrap();
    assert!(matches!(&report[0].outcome, Outcome::Replayed { .. }));
}

#[tokio::test]
async fn a_dry_run_invokes_and_deletes_nothing() {
    let queue = Queue::with(&[(&lambda_record("RetriesExhausted", json!({"n": 1})), None)]);
    let functions = Functions::default();
    let options = Options {
        dry_run: true,
        ..Options::default()
    };
    let report = redrive(&queue, &functions, &options).await.unwrap();
    assert!(
        matches!(&report[0].outcome, Outcome::WouldReplay { payload, .. } if payload == r#"{"n":1}"#)
    );
    assert!(functions.invoked.borrow().is_empty());
    assert!(queue.deleted.borrow().is_empty());
}

#[tokio::test]
async fn max_bounds_the_run_and_function_overrides_the_target() {
    let bodies: Vec<String> = (0..25).map(|i| json!({"n": i}).to_string()).collect();
    let queue = Queue::with(
        &bodies
            .iter()
            .map(|b| (b.as_str(), None))
            .collect::<Vec<_>>(),
    );
    let functions = Functions::default();
    let options = Options {
        max: 12,
        function: Some("wadesk-dev-analytics-consumer".into()),
        ..Options::default()
    };
    let report = redrive(&queue, &functions, &options).await.unwrap();
    assert_eq!(report.len(), 12);
    assert_eq!(functions.invoked.borrow().len(), 12);
    assert!(functions
        .invoked
        .borrow()
        .iter()
        .all(|(f, _)| f == "wadesk-dev-analytics-consumer"));
}

#[tokio::test]
async fn a_message_naming_no_function_is_skipped_and_a_failed_delete_reported() {
    let queue = Queue {
        fail_deletes: true,
        ..Queue::with(&[
            (r#"{"detail": {}}"#, None),
            ("not json", None),
            (&lambda_record("RetriesExhausted", json!({"n": 1})), None),
        ])
    };
    let functions = Functions::default();
    let report = redrive(&queue, &functions, &Options::default())
        .await
        .unwrap();
    assert!(
        matches!(&report[0].outcome, Outcome::Skipped { reason } if reason.contains("no function"))
    );
    assert!(
        matches!(&report[1].outcome, Outcome::Skipped { reason } if reason.contains("not JSON"))
    );
    assert!(
        matches!(&report[2].outcome, Outcome::ReplayedNotDeleted { error, .. } if error == "throttled")
    );
}
