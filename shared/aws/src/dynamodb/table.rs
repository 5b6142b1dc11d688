use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use wadesk_app::StoreError;

use super::keys::{GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL};

/// Creates the table as `infra/template.yaml` declares it (for the local runner
/// on a DynamoDB endpoint, and tests). An existing table is left as it is.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let op = "create_table";
    let err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::new(op, e);
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(err)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(err)
    };
    let gsi1 = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key(GSI1_PK, KeyType::Hash)?)
        .key_schema(key(GSI1_SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(err)?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(GSI1_PK)?)
        .attribute_definitions(attribute(GSI1_SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi1)
        // The outbox relay reads new items from the stream, the erasure
        // function the old images of messages the TTL removed.
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(err)?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(StoreError::new(op, e)),
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .map_err(err)?,
        )
        .send()
        .await
        .map_err(|e| StoreError::new(op, e))?;
    Ok(())
}
