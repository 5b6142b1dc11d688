//! Counts the requests an SDK client really sends (retries included), by service
//! and operation: how the request budgets (`docs/product.md#94-request-budgets`)
//! are measured.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// An SDK interceptor recording `service:operation` for every request sent,
/// and the DynamoDB items its answers carried.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    sent: Arc<Mutex<Vec<String>>>,
    items_read: Arc<Mutex<usize>>,
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request so far, in order, as `service:operation`.
    pub fn requests(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests went to `service` (e.g. `dynamodb`, `scheduler`).
    pub fn count(&self, service: &str) -> usize {
        let prefix = format!("{service}:");
        self.requests()
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .count()
    }

    /// DynamoDB items the answers so far carried: a Query's or Scan's
    /// `Count`, a BatchGetItem's `Responses`, a GetItem's `Item`.
    pub fn items_read(&self) -> usize {
        *self
            .items_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn reset(&self) {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self
            .items_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = 0;
    }
}

/// The items one DynamoDB answer body carries (0 for anything else).
fn items_in(body: &[u8]) -> usize {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    let count = answer
        .get("Count")
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    let batch = answer
        .get("Responses")
        .and_then(serde_json::Value::as_object)
        .map(|tables| {
            tables
                .values()
                .filter_map(serde_json::Value::as_array)
                .map(Vec::len)
                .sum()
        });
    let single = answer.get("Item").map(|_| 1);
    count.or(batch).or(single).unwrap_or(0)
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let label = cfg.load::<Metadata>().map_or_else(
            || "unknown:unknown".to_owned(),
            |m| format!("{}:{}", m.service().to_ascii_lowercase(), m.name()),
        );
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(label);
        Ok(())
    }

    // After deserialization: by then the SDK has read the whole (non-streaming)
    // answer into memory.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = context.response().body().bytes() {
            *self
                .items_read
                .lock()
                .unwrap_or_else(PoisonError::into_inner) += items_in(body);
        }
        Ok(())
    }
}
