//! AWS adapters for wadesk's ports: DynamoDB (conversation store), EventBridge
//! (event publisher) and EventBridge Scheduler (timers).

pub mod config;
pub mod counting;
pub mod dynamodb;
pub mod eventbridge;
pub mod identity;
pub mod lambda;
pub mod scheduler;
pub mod secrets;
pub mod telemetry;

pub use counting::RequestCounter;
pub use dynamodb::DynamoStore;
pub use eventbridge::EventBridgePublisher;
pub use scheduler::EventBridgeScheduler;
