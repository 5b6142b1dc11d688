//! Parking an asynchronous event that can never succeed (it does not parse):
//! retrying it would only fail again, twice, before Lambda parks it anyway.
//! The entry point parks it at once in the function's own failure queue, with
//! its reason, in the shape of Lambda's own on-failure records (the event
//! under `requestPayload`), so one redrive reads both.

use aws_sdk_sqs::Client;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::config::{required, MissingSetting};

/// Where an entry point parks what can never succeed.
pub trait Parking: Send + Sync {
    fn park(
        &self,
        record: String,
    ) -> impl std::future::Future<Output = Result<(), ParkError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("parking an event that cannot be handled failed")]
pub struct ParkError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The function's failure queue (`WADESK_FAILURE_QUEUE_URL`: the template
/// names the queue of the function's on-failure destination, which the
/// function may already send to).
#[derive(Debug, Clone)]
pub struct FailureQueue {
    client: Client,
    queue_url: String,
}

impl FailureQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, MissingSetting> {
        Ok(Self::new(
            Client::new(sdk),
            required("WADESK_FAILURE_QUEUE_URL")?,
        ))
    }
}

impl Parking for FailureQueue {
    async fn park(&self, record: String) -> Result<(), ParkError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(record)
            .send()
            .await
            .map_err(|e| ParkError(Box::new(e)))?;
        Ok(())
    }
}

/// The record of a parked event: Lambda's on-failure shape (`requestPayload`,
/// `requestContext.condition`) with the reason the event cannot be handled.
pub fn parked_record(function: &str, reason: &str, event: &Value) -> String {
    json!({
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "requestContext": {
            "functionArn": function,
            "condition": "Unparseable",
            "approximateInvokeCount": 1,
        },
        "responseContext": {"functionError": "Unparseable"},
        "responsePayload": {"errorType": "Unparseable", "errorMessage": reason},
        "requestPayload": event,
    })
    .to_string()
}

/// The event as `T`, or `None` once it is parked with the reason it does
/// not parse. An error only when it could not even be parked (then Lambda
/// retries, and parks it itself in the end). Read from the borrowed value:
/// the payload is not copied on the way to the handler.
pub async fn parse_or_park<T: DeserializeOwned, P: Parking>(
    parking: &P,
    function: &str,
    event: &Value,
) -> Result<Option<T>, ParkError> {
    match T::deserialize(event) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(error) => {
            let reason = format!("the event does not parse: {error}");
            tracing::error!(%reason, "event parked in the failure queue, not retried");
            parking
                .park(parked_record(function, &reason, event))
                .await?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Parked(Mutex<Vec<String>>);

    impl Parking for Parked {
        async fn park(&self, record: String) -> Result<(), ParkError> {
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Fire {
        at: String,
    }

    #[tokio::test]
    async fn a_good_event_is_handed_over_and_a_bad_one_parked_with_its_reason() {
        let parked = Parked::default();
        let good = parse_or_park::<Fire, _>(&parked, "fn", &json!({"at": "now"}))
            .await
            .unwrap();
        assert_eq!(good, Some(Fire { at: "now".into() }));
        assert!(parked.0.lock().unwrap().is_empty());
        let bad = parse_or_park::<Fire, _>(&parked, "fn", &json!({"when": 1}))
            .await
            .unwrap();
        assert_eq!(bad, None);
        let records = parked.0.lock().unwrap();
        let record: Value = serde_json::from_str(&records[0]).unwrap();
        assert_eq!(record["requestPayload"], json!({"when": 1}));
        assert_eq!(record["requestContext"]["condition"], "Unparseable");
        assert!(record["responsePayload"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("missing field `at`"));
    }
}
