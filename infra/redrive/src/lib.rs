//! Redrive: replays what a failure queue or dead-letter queue holds through
//! the function that failed on it, one message at a time, and deletes a
//! message only once its replay succeeded (`docs/deploy.md`, "Failure queues
//! and redrive").
//!
//! The queues hold two shapes:
//! - Lambda's on-failure records (`requestContext.functionArn`, the original
//!   event under `requestPayload`), also the shape the functions park an
//!   unparseable event in (`condition: "Unparseable"`);
//! - EventBridge's and Scheduler's dead-letter messages: the event (or the
//!   schedule's input) as the body, the target in the `TARGET_ARN` attribute.
//!
//! The functions are idempotent, so a replay that runs twice (its delete
//! failed, or two operators ran the command) does no harm. The queue and the
//! function are ports: the command wires SQS and Lambda, the tests the same
//! handlers the functions run.

use std::future::Future;

use serde_json::Value;

/// One message received from a parking queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedMessage {
    pub message_id: String,
    /// Deletes the message (valid until its visibility time-out ends).
    pub receipt_handle: String,
    pub body: String,
    /// The `TARGET_ARN` message attribute of a dead-letter message.
    pub target_arn: Option<String>,
}

/// What to replay, read from a [`ParkedMessage`].
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The function to invoke (name or ARN).
    pub function: String,
    /// The event, exactly as the function first received it.
    pub payload: Value,
    /// Lambda's reason (`RetriesExhausted`, `EventAgeExceeded`, `Unparseable`);
    /// `None` for a dead-letter message.
    pub condition: Option<String>,
}

/// A message that says nothing replayable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnreadableMessage {
    #[error("the message body is not JSON")]
    NotJson,
    #[error("the message names no function to replay it through (no requestContext.functionArn, no TARGET_ARN attribute, no --function)")]
    NoFunction,
}

impl Replay {
    /// Reads `message`; `function` (the command's `--function`) wins over what
    /// the message names.
    pub fn of(message: &ParkedMessage, function: Option<&str>) -> Result<Self, UnreadableMessage> {
        let body: Value =
            serde_json::from_str(&message.body).map_err(|_| UnreadableMessage::NotJson)?;
        let is_lambda_record = body.get("requestPayload").is_some()
            && body.get("requestContext").is_some_and(Value::is_object);
        let (payload, named, condition) = if is_lambda_record {
            let context = &body["requestContext"];
            (
                body["requestPayload"].clone(),
                context["functionArn"].as_str().map(str::to_owned),
                context["condition"].as_str().map(str::to_owned),
            )
        } else {
            (body, message.target_arn.clone(), None)
        };
        let function = function
            .map(str::to_owned)
            .or(named)
            .filter(|f| !f.is_empty())
            .ok_or(UnreadableMessage::NoFunction)?;
        Ok(Self {
            function,
            payload,
            condition,
        })
    }

    /// Parked by the function itself because it does not parse: replaying it
    /// parks it again unless what produced it was fixed.
    pub fn is_unparseable(&self) -> bool {
        self.condition.as_deref() == Some("Unparseable")
    }
}

/// An error of a port, for the report.
pub type PortError = Box<dyn std::error::Error + Send + Sync>;

/// The queue parked messages are read from.
pub trait ParkingQueue {
    /// Up to `max` (≤ 10) messages, hidden from other readers for the rest of
    /// the run (so a message that fails again is not read twice in one run).
    fn receive(&self, max: i32) -> impl Future<Output = Result<Vec<ParkedMessage>, PortError>>;
    fn delete(&self, receipt_handle: &str) -> impl Future<Output = Result<(), PortError>>;
}

/// Invokes a function synchronously with an event; an error when the
/// function failed (or could not be invoked).
pub trait Invoker {
    fn invoke(
        &self,
        function: &str,
        payload: &Value,
    ) -> impl Future<Output = Result<(), PortError>>;
}

/// What the command was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this many messages.
    pub max: usize,
    /// Print what would be replayed; invoke and delete nothing.
    pub dry_run: bool,
    /// Replay messages a function parked because they did not parse.
    pub include_unparseable: bool,
    /// The function to replay through, whatever the messages name.
    pub function: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max: 100,
            dry_run: false,
            include_unparseable: false,
            function: None,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Replayed and deleted.
    Replayed { function: String },
    /// Replayed, but the delete failed: it comes back after its visibility
    /// time-out, and replaying it again is harmless.
    ReplayedNotDeleted { function: String, error: String },
    /// The function failed again: the message stays.
    Failed { function: String, error: String },
    /// Left in the queue, with why.
    Skipped { reason: String },
    /// `--dry-run`: what would be replayed.
    WouldReplay { function: String, payload: String },
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub message_id: String,
    pub outcome: Outcome,
}

/// Replays up to `options.max` messages; an error only when the queue
/// cannot be read at all.
pub async fn redrive<Q: ParkingQueue, I: Invoker>(
    queue: &Q,
    invoker: &I,
    options: &Options,
) -> Result<Vec<Handled>, PortError> {
    let mut report = Vec::new();
    while report.len() < options.max {
        let wanted = (options.max - report.len()).min(10);
        let messages = queue.receive(i32::try_from(wanted).unwrap_or(10)).await?;
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let outcome = handle(queue, invoker, options, &message).await;
            report.push(Handled {
                message_id: message.message_id,
                outcome,
            });
        }
    }
    Ok(report)
}

async fn handle<Q: ParkingQueue, I: Invoker>(
    queue: &Q,
    invoker: &I,
    options: &Options,
    message: &ParkedMessage,
) -> Outcome {
    let replay = match Replay::of(message, options.function.as_deref()) {
        Ok(replay) => replay,
        Err(error) => {
            return Outcome::Skipped {
                reason: error.to_string(),
            }
        }
    };
    if replay.is_unparseable() && !options.include_unparseable {
        return Outcome::Skipped {
            reason: "parked as unparseable: fix what produced it, then pass --include-unparseable"
                .into(),
        };
    }
    if options.dry_run {
        return Outcome::WouldReplay {
            function: replay.function,
            payload: replay.payload.to_string(),
        };
    }
    if let Err(error) = invoker.invoke(&replay.function, &replay.payload).await {
        return Outcome::Failed {
            function: replay.function,
            error: error.to_string(),
        };
    }
    match queue.delete(&message.receipt_handle).await {
        Ok(()) => Outcome::Replayed {
            function: replay.function,
        },
        Err(error) => Outcome::ReplayedNotDeleted {
            function: replay.function,
            error: error.to_string(),
        },
    }
}

pub mod aws;

#[cfg(test)]
mod tests;
