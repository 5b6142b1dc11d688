//! The table's DynamoDB stream, read as the event-relay Lambda's event-source
//! mapping reads it: records after the last checkpoint, filtered to inserted
//! items carrying events (the outbox entries), handed over as the Lambda
//! event JSON the function receives, and checkpointed by the function's batch
//! item failures answer.
//!
//! For the local runner on a DynamoDB endpoint and for the tests on moto; in
//! AWS, Lambda does this.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use event_relay::{DynamoDbEventResponse, StreamEvent};
use serde_json::{json, Map, Value};
use wadesk_aws::dynamodb::outbox::carries_events;

/// Records per batch (the template's `BatchSize`).
pub const BATCH_SIZE: i32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("table {table} has no stream")]
    NoStream { table: String },
    #[error("DynamoDB Streams `{operation}` failed")]
    Request {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("a stream record is not a Lambda stream event record")]
    Record(#[source] serde_json::Error),
}

fn request<E>(operation: &'static str) -> impl FnOnce(E) -> StreamError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| StreamError::Request {
        operation,
        source: Box::new(error),
    }
}

/// One batch for the relay: the event to hand it, and where the records read
/// (filtered-out ones included) end.
#[derive(Debug, Clone)]
pub struct Batch {
    pub event: StreamEvent,
    shard: String,
    /// The sequence number of every record in `event`, in order.
    sequence_numbers: Vec<String>,
    /// The last record read from the shard for this batch.
    last: String,
    /// The read stopped at the batch size: the shard may hold more records.
    pub more: bool,
}

/// Reads one table's stream from its beginning, keeping a checkpoint per shard.
#[derive(Debug)]
pub struct StreamReader {
    client: Client,
    table: String,
    stream_arn: Option<String>,
    /// The stream's shards, described once (moto's and DynamoDB Local's
    /// streams keep theirs; a real table's rotate, which Lambda follows).
    shards: Vec<String>,
    checkpoints: HashMap<String, String>,
}

impl StreamReader {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            stream_arn: None,
            shards: Vec::new(),
            checkpoints: HashMap::new(),
        }
    }

    /// A reader with its own DynamoDB Streams client on `sdk`.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    async fn stream_arn(&mut self) -> Result<String, StreamError> {
        if let Some(arn) = &self.stream_arn {
            return Ok(arn.clone());
        }
        let listed = self
            .client
            .list_streams()
            .table_name(&self.table)
            .send()
            .await
            .map_err(request("list_streams"))?;
        let arn = listed
            .streams()
            .iter()
            .find_map(|s| s.stream_arn().map(str::to_owned))
            .ok_or_else(|| StreamError::NoStream {
                table: self.table.clone(),
            })?;
        self.stream_arn = Some(arn.clone());
        Ok(arn)
    }

    /// The next batch of inserted outbox items after the checkpoints, or
    /// `None` when the stream has nothing new. Records the filter drops are
    /// checkpointed as they are read, as the event-source mapping does.
    pub async fn next_batch(&mut self) -> Result<Option<Batch>, StreamError> {
        let arn = self.stream_arn().await?;
        if self.shards.is_empty() {
            self.shards = self.describe_shards(&arn).await?;
        }
        for shard in self.shards.clone() {
            loop {
                // A fresh iterator each time: moto replaces a table's shard
                // when it rolls a transaction back, so an old one goes stale.
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&arn)
                    .shard_id(&shard);
                let iterator = match self.checkpoints.get(&shard) {
                    Some(after) => iterator
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .sequence_number(after),
                    None => iterator.shard_iterator_type(ShardIteratorType::TrimHorizon),
                };
                let iterator = iterator
                    .send()
                    .await
                    .map_err(request("get_shard_iterator"))?;
                let Some(iterator) = iterator.shard_iterator() else {
                    break;
                };
                let output = self
                    .client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(BATCH_SIZE)
                    .send()
                    .await
                    .map_err(request("get_records"))?;
                let records = output.records();
                let more = i32::try_from(records.len()).unwrap_or(i32::MAX) >= BATCH_SIZE;
                let Some(last) = records
                    .last()
                    .and_then(|r| r.dynamodb())
                    .and_then(|d| d.sequence_number())
                    .map(str::to_owned)
                else {
                    break;
                };
                let mut sequence_numbers = Vec::new();
                let mut kept = Vec::new();
                for record in records.iter().filter(|r| is_inserted_with_events(r)) {
                    sequence_numbers.push(
                        record
                            .dynamodb()
                            .and_then(|d| d.sequence_number())
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    kept.push(record_json(&arn, record));
                }
                if kept.is_empty() {
                    self.checkpoints.insert(shard.clone(), last);
                    if more {
                        continue;
                    }
                    break;
                }
                let event: StreamEvent = serde_json::from_value(json!({ "Records": kept }))
                    .map_err(StreamError::Record)?;
                return Ok(Some(Batch {
                    event,
                    shard,
                    sequence_numbers,
                    last,
                    more,
                }));
            }
        }
        Ok(None)
    }

    async fn describe_shards(&self, arn: &str) -> Result<Vec<String>, StreamError> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(arn)
            .send()
            .await
            .map_err(request("describe_stream"))?;
        Ok(described
            .stream_description()
            .map(|d| {
                d.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Lambda's checkpoint after the function answered `response` for
    /// `batch`: done up to the first reported failure (the next batch starts
    /// there), or the whole batch. Answers whether there was a failure.
    pub fn checkpoint(&mut self, batch: &Batch, response: &DynamoDbEventResponse) -> bool {
        let failed = response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.as_deref())
            .filter_map(|id| batch.sequence_numbers.iter().position(|s| s == id))
            .min();
        match failed {
            None => {
                self.checkpoints
                    .insert(batch.shard.clone(), batch.last.clone());
                false
            }
            Some(0) => true,
            Some(index) => {
                self.checkpoints.insert(
                    batch.shard.clone(),
                    batch.sequence_numbers[index - 1].clone(),
                );
                true
            }
        }
    }
}

/// The event-source mapping's filter (`infra/template.yaml`):
/// `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"events": {"S": [{"exists": true}]}}}}`.
fn is_inserted_with_events(record: &Record) -> bool {
    let inserted = record.event_name().is_some_and(|n| n.as_str() == "INSERT");
    inserted
        && record
            .dynamodb()
            .and_then(|d| d.new_image())
            .is_some_and(|image| carries_events(image, AttributeValue::is_s))
}

/// A stream record as the Lambda event carries it (DynamoDB JSON images).
fn record_json(arn: &str, record: &Record) -> Value {
    let change = record.dynamodb();
    let image = |item: Option<&HashMap<String, AttributeValue>>| -> Value {
        item.map_or(Value::Null, |item| {
            Value::Object(
                item.iter()
                    .map(|(k, v)| (k.clone(), attribute_json(v)))
                    .collect::<Map<_, _>>(),
            )
        })
    };
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source(),
        "awsRegion": record.aws_region().unwrap_or_default(),
        "eventSourceARN": arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change
                .and_then(|c| c.approximate_creation_date_time())
                .map(aws_smithy_types::DateTime::as_secs_f64),
            "Keys": image(change.and_then(|c| c.keys())),
            "NewImage": image(change.and_then(|c| c.new_image())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
            "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|v| v.as_str()),
        },
    })
}

fn attribute_json(value: &AttributeValue) -> Value {
    let blob = |b: &aws_smithy_types::Blob| Value::from(aws_smithy_types::base64::encode(b));
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": blob(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(list) => json!({ "SS": list }),
        AttributeValue::Ns(list) => json!({ "NS": list }),
        AttributeValue::Bs(list) => json!({ "BS": list.iter().map(blob).collect::<Vec<_>>() }),
        AttributeValue::L(list) => {
            json!({ "L": list.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({
            "M": map
                .iter()
                .map(|(k, v)| (k.clone(), attribute_json(v)))
                .collect::<Map<_, _>>()
        }),
        _ => json!({ "NULL": true }),
    }
}
