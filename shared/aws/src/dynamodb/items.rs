//! Entities to and from items, with serde_dynamo. `None` fields are left out of
//! items (not stored as NULL) so that `if_not_exists` and `attribute_not_exists`
//! mean what they say.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{de::DeserializeOwned, Serialize};
use wadesk_app::StoreError;

use super::keys::{self, Item};

pub fn to_item<T: Serialize>(
    operation: &'static str,
    value: &T,
    pk: String,
    sk: &str,
) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::new(operation, e))?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.extend(keys::key(pk, sk));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(
    operation: &'static str,
    item: Item,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::new(operation, e))
}

pub fn to_value<T: Serialize>(
    operation: &'static str,
    value: &T,
) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::new(operation, e))
}

pub fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

pub fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
