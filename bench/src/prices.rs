//! Public on-demand list prices used for the cost per message, with where and
//! when they were read. US East (N. Virginia), the region every public price
//! list quotes; `samconfig.toml` deploys to eu-west-1, where DynamoDB and
//! Lambda list about 10–13 % higher. Free tiers are left out.

/// When the prices below were looked up.
pub const PRICES_READ_ON: &str = "2026-12-05";
pub const REGION: &str = "us-east-1";

/// DynamoDB on-demand (Standard table class), per million request units,
/// since the 2024-11-01 price cut.
pub const DYNAMODB_WRITE_PER_MILLION: f64 = 0.625;
pub const DYNAMODB_READ_PER_MILLION: f64 = 0.125;

/// EventBridge custom events put on a bus, per million (64 KB chunks).
pub const EVENTBRIDGE_EVENT_PER_MILLION: f64 = 1.00;

/// EventBridge Scheduler invocations, per million (beyond 14 M free a month).
pub const SCHEDULER_INVOCATION_PER_MILLION: f64 = 1.00;

/// Lambda on arm64 (Graviton, the architecture the template fixes in
/// `Globals`): requests per million, and per GB-second of duration (first
/// 6 billion GB-s a month), billed in 1 ms increments.
pub const LAMBDA_REQUEST_PER_MILLION: f64 = 0.20;
pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
/// The template's `MemorySize`.
pub const LAMBDA_MEMORY_MB: f64 = 128.0;

/// API Gateway HTTP API, per million requests (first 300 M a month, 512 KB each).
pub const HTTP_API_REQUEST_PER_MILLION: f64 = 1.00;

/// SQS standard queues, per million requests (64 KB chunks, beyond the first
/// million a month): the analytics queue.
pub const SQS_REQUEST_PER_MILLION: f64 = 0.40;

/// SQS requests per counted event on the analytics queue: EventBridge's
/// `SendMessage`, and its share of the `ReceiveMessage` and
/// `DeleteMessageBatch` of Lambda's poller (10 messages each). The poller's
/// empty long polls cost the same whatever the traffic (a few cents a month),
/// so they are not a cost per message.
pub const SQS_REQUESTS_PER_EVENT: f64 = 1.0 + 2.0 / 10.0;

/// One line per price, for the table.
pub fn lines() -> Vec<String> {
    vec![
        format!("DynamoDB on-demand: ${DYNAMODB_WRITE_PER_MILLION}/M write units, ${DYNAMODB_READ_PER_MILLION}/M read units (since 2024-11-01)"),
        format!("EventBridge custom events: ${EVENTBRIDGE_EVENT_PER_MILLION:.2}/M; Scheduler invocations: ${SCHEDULER_INVOCATION_PER_MILLION:.2}/M"),
        format!("Lambda arm64: ${LAMBDA_REQUEST_PER_MILLION:.2}/M requests, ${LAMBDA_GB_SECOND}/GB-s at {LAMBDA_MEMORY_MB} MB, billed per started ms"),
        format!("API Gateway HTTP API: ${HTTP_API_REQUEST_PER_MILLION:.2}/M requests"),
        format!("SQS standard: ${SQS_REQUEST_PER_MILLION:.2}/M requests"),
    ]
}

/// The analytics batch the cost model measures: what the analytics queue
/// gathers in its 5-minute window (the template's
/// `MaximumBatchingWindowInSeconds`) from a contact center of
/// `ANALYTICS_BATCH_AGENTS` agents in `ANALYTICS_BATCH_QUEUES` queues on
/// `ANALYTICS_BATCH_CHANNELS` channels: each agent answers
/// `ANALYTICS_REPLIES_PER_AGENT` times (an agent's answer a minute), one
/// window per agent expires and every other agent finishes a conversation.
/// A smaller center, or a quiet hour, gathers fewer events per agent, and
/// each costs more (the table's single-event row is the other end).
pub const ANALYTICS_BATCH_AGENTS: usize = 50;
pub const ANALYTICS_BATCH_QUEUES: usize = 4;
pub const ANALYTICS_BATCH_CHANNELS: usize = 2;
pub const ANALYTICS_REPLIES_PER_AGENT: usize = 5;

/// The operation of `aws-requests` that counts that batch.
pub const ANALYTICS_BATCH_KEY: &str = "analytics_batch";

/// How many events that batch holds.
pub fn analytics_batch_events() -> usize {
    ANALYTICS_BATCH_AGENTS * (ANALYTICS_REPLIES_PER_AGENT + 1) + ANALYTICS_BATCH_AGENTS.div_ceil(2)
}

/// What one Lambda invocation of `billed_ms` costs (request + duration).
pub fn lambda_invocation(billed_ms: f64) -> f64 {
    LAMBDA_REQUEST_PER_MILLION / 1e6
        + billed_ms / 1000.0 * (LAMBDA_MEMORY_MB / 1024.0) * LAMBDA_GB_SECOND
}

/// Lambda bills duration per started millisecond.
pub fn billed_ms(measured_ms: f64) -> f64 {
    measured_ms.ceil().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_millisecond_invocation() {
        // $0.20/M + 0.001 s × 0.125 GB × $0.0000133334
        let cost = lambda_invocation(1.0);
        assert!((cost - (2e-7 + 1.66668e-9)).abs() < 1e-12, "{cost}");
        assert_eq!(billed_ms(0.04), 1.0);
        assert_eq!(billed_ms(3.2), 4.0);
    }
}
