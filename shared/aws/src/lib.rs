//! AWS adapters for wadesk's ports: DynamoDB (conversation store), EventBridge
//! (event publisher), EventBridge Scheduler (timers) and SQS (the webhook's
//! poison queue).

pub mod config;
pub mod counting;
pub mod dynamodb;
pub mod eventbridge;
pub mod identity;
#[cfg(feature = "live")]
pub mod jwks;
pub mod lambda;
#[cfg(feature = "live")]
pub mod live_push;
pub mod parking;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "s3-signed")]
pub mod s3_signed;
pub mod scheduler;
pub mod secrets;
#[cfg(feature = "signed-http")]
pub mod signed_http;
pub mod sqs;
pub mod telemetry;

pub use counting::RequestCounter;
pub use dynamodb::DynamoStore;
pub use eventbridge::EventBridgePublisher;
pub use scheduler::EventBridgeScheduler;
pub use sqs::SqsPoisonQueue;
