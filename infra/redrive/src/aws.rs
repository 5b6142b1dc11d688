//! The command's adapters: the queue on SQS, the replay a synchronous Lambda
//! invocation.

use aws_sdk_lambda::types::InvocationType;
use aws_smithy_types::Blob;
use serde_json::Value;

use crate::{Invoker, ParkedMessage, ParkingQueue, PortError};

/// The attribute EventBridge and Scheduler put on a dead-letter message.
const TARGET_ARN: &str = "TARGET_ARN";

/// A failure queue or dead-letter queue on SQS.
pub struct SqsQueue {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// Seconds a received message stays hidden: longer than one replay, so a
    /// message that fails again is not received twice in one run.
    pub visibility_timeout: i32,
}

impl ParkingQueue for SqsQueue {
    async fn receive(&self, max: i32) -> Result<Vec<ParkedMessage>, PortError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(self.visibility_timeout)
            .wait_time_seconds(1)
            .message_attribute_names(TARGET_ARN)
            .send()
            .await
            .map_err(|e| format!("receiving from {}: {e}", self.queue_url))?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| ParkedMessage {
                target_arn: m
                    .message_attributes
                    .as_ref()
                    .and_then(|a| a.get(TARGET_ARN))
                    .and_then(|v| v.string_value.clone()),
                message_id: m.message_id.unwrap_or_default(),
                receipt_handle: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| format!("deleting from {}: {e}", self.queue_url))?;
        Ok(())
    }
}

/// Replays by invoking the function synchronously (`RequestResponse`): the
/// answer says whether it succeeded, which an asynchronous invoke would not.
pub struct LambdaInvoker {
    pub client: aws_sdk_lambda::Client,
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: &Value) -> Result<(), PortError> {
        let output = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| format!("invoking {function}: {e}"))?;
        if let Some(kind) = output.function_error {
            let answer = output
                .payload
                .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                .unwrap_or_default();
            return Err(format!("{function} failed ({kind}): {answer}").into());
        }
        Ok(())
    }
}
