//! Counts the requests an SDK client really sends (retries included), by service
//! and operation: how the request budgets (`docs/product.md#94-request-budgets`)
//! are measured.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// An SDK interceptor recording `service:operation` for every request sent.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    sent: Arc<Mutex<Vec<String>>>,
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

    pub fn reset(&self) {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
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
}
