//! The registry of open console sockets (`LiveConnections`): one item per
//! socket in the `LIVE` partition, `sk = CONN#{connection id}`, written at
//! `$connect`, deleted at `$disconnect` or when a push finds it gone, and
//! expired by `ttl` if neither happened (API Gateway closes every socket
//! after two hours).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::DateTime;
use wadesk_app::ports::{LiveConnection, LiveConnections};
use wadesk_app::StoreError;
use wadesk_domain::{Actor, Agent, AgentId, Role};

use super::keys::{self, Item};
use super::DynamoStore;

/// How long an item outlives its socket's connection time: past API
/// Gateway's two-hour limit, with DynamoDB's deletion lag on top.
const CONNECTION_TTL_SECONDS: i64 = 3 * 60 * 60;

#[derive(Debug, thiserror::Error)]
#[error("live connection item without a readable `{0}`")]
struct Unreadable(&'static str);

fn text<'i>(item: &'i Item, name: &'static str) -> Result<&'i str, Unreadable> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or(Unreadable(name))
}

fn role_name(role: Role) -> Result<String, serde_json::Error> {
    serde_json::to_value(role).map(|v| v.as_str().unwrap_or_default().to_owned())
}

fn from_item(item: &Item) -> Result<LiveConnection, Unreadable> {
    let id = text(item, keys::SK)?
        .strip_prefix("CONN#")
        .ok_or(Unreadable(keys::SK))?
        .to_owned();
    let actor = Actor {
        id: AgentId::parse(text(item, "agent")?.to_owned()).map_err(|_| Unreadable("agent"))?,
        role: serde_json::from_value(serde_json::Value::String(text(item, "role")?.to_owned()))
            .map_err(|_| Unreadable("role"))?,
    };
    let entry = match item.get("entry") {
        Some(value) => Some(
            value
                .as_s()
                .ok()
                .and_then(|json| serde_json::from_str::<Agent>(json).ok())
                .ok_or(Unreadable("entry"))?,
        ),
        None => None,
    };
    let connected_at = DateTime::parse_from_rfc3339(text(item, "connected_at")?)
        .map_err(|_| Unreadable("connected_at"))?
        .to_utc();
    Ok(LiveConnection {
        id,
        actor,
        entry,
        connected_at,
    })
}

impl LiveConnections for DynamoStore {
    #[tracing::instrument(skip_all, err)]
    async fn register(&self, connection: &LiveConnection) -> Result<(), StoreError> {
        let op = "register_live_connection";
        let mut item = keys::key(
            keys::LIVE_PK.to_owned(),
            &keys::live_connection_sk(&connection.id),
        );
        item.insert(
            "agent".into(),
            AttributeValue::S(connection.actor.id.as_str().to_owned()),
        );
        item.insert(
            "role".into(),
            AttributeValue::S(
                role_name(connection.actor.role).map_err(|e| StoreError::new(op, e))?,
            ),
        );
        if let Some(entry) = &connection.entry {
            let json = serde_json::to_string(entry).map_err(|e| StoreError::new(op, e))?;
            item.insert("entry".into(), AttributeValue::S(json));
        }
        item.insert(
            "connected_at".into(),
            AttributeValue::S(connection.connected_at.to_rfc3339()),
        );
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(
                (connection.connected_at.timestamp() + CONNECTION_TTL_SECONDS).to_string(),
            ),
        );
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::new(op, e))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(keys::key(
                keys::LIVE_PK.to_owned(),
                &keys::live_connection_sk(id),
            )))
            .send()
            .await
            .map_err(|e| StoreError::new("forget_live_connection", e))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn connections(&self) -> Result<Vec<LiveConnection>, StoreError> {
        let op = "live_connections";
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::LIVE_PK.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::new(op, e))?;
            for item in page.items() {
                match from_item(item) {
                    Ok(connection) => found.push(connection),
                    // One bad item must not silence every console.
                    Err(error) => tracing::warn!(%error, "live connection item skipped"),
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}
