//! Data protection on the table (`docs/product.md#11-data-protection`): a
//! customer's items erased in bounded steps, and a transcript given its
//! conversation's retention expiry a page at a time. Every request here is
//! bounded (at most [`STEP_ITEMS`] items and a few more) and safe to repeat.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, TransactWriteItem, Update, WriteRequest,
};
use wadesk_app::{CommitError, Page, PageRequest, StoreError};
use wadesk_domain::protection::{HistoryEntry, STEP_ITEMS};
use wadesk_domain::{
    Conversation, ConversationId, ConversationStatus, Customer, ExpectedVersion, Message,
    PhoneNumberId, WaId,
};

use super::error::{commit_error, store_error};
use super::items::{conversation_id, number, string, to_value, version_condition};
use super::keys::{self, Item};
use super::store::{DynamoStore, TransactFailure};

/// BatchWriteItem takes at most this many requests.
const BATCH_WRITE_MAX: usize = 25;
/// Unprocessed deletes are retried this many times before the step fails
/// (and its queue delivers it again).
const BATCH_WRITE_ATTEMPTS: usize = 4;

impl DynamoStore {
    /// Deletes these keys with BatchWriteItem (≤ 25 a request), retrying
    /// what DynamoDB leaves unprocessed. A missing item is no error.
    async fn delete_keys(&self, op: &'static str, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_WRITE_MAX) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(store_error(op))
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..BATCH_WRITE_ATTEMPTS {
                let output = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), requests)
                    .send()
                    .await
                    .map_err(store_error(op))?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(self.table()))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt + 1 == BATCH_WRITE_ATTEMPTS {
                    return Err(StoreError::new(op, "deletes left unprocessed"));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    pub(super) async fn history_entries(
        &self,
        wa_id: &WaId,
        page: &PageRequest,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        let op = "list_history_entries";
        let pk = keys::history_pk(wa_id);
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(
                ":prefix",
                AttributeValue::S(keys::HISTORY_SK_PREFIX.to_owned()),
            )
            .consistent_read(true);
        let start = page
            .after
            .as_ref()
            .map(|after| keys::key(pk, &format!("{}{after}", keys::HISTORY_SK_PREFIX)));
        let (items, more) = self.query_page(op, query, page.limit, start).await?;
        let mut entries = Vec::with_capacity(items.len());
        let mut last = None;
        for item in &items {
            let sk = string(item, keys::SK).unwrap_or_default();
            let position = sk
                .strip_prefix(keys::HISTORY_SK_PREFIX)
                .unwrap_or_default()
                .to_owned();
            let created_at = position
                .split_once('#')
                .and_then(|(at, _)| chrono::DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.to_utc())
                .ok_or_else(|| StoreError::new(op, "history item with an unreadable key"))?;
            let phone_number_id = string(item, "phone_number_id")
                .map(PhoneNumberId::parse)
                .transpose()
                .map_err(store_error(op))?
                .ok_or_else(|| StoreError::new(op, "history item without phone_number_id"))?;
            entries.push(HistoryEntry {
                wa_id: wa_id.clone(),
                conversation_id: conversation_id(op, item)?,
                phone_number_id,
                created_at,
            });
            last = Some(position);
        }
        Ok(Page {
            items: entries,
            next: more.then_some(last).flatten(),
        })
    }

    pub(super) async fn delete_messages(
        &self,
        conversation: ConversationId,
        messages: &[Message],
    ) -> Result<(), StoreError> {
        let mut doomed = Vec::with_capacity(messages.len() * 2);
        for message in messages {
            doomed.push(keys::key(
                keys::conversation_pk(conversation),
                &keys::message_sk(message.at, message.id),
            ));
            if let Some(wamid) = &message.wamid {
                doomed.push(keys::key(keys::wamid_pk(wamid), keys::WAMID_SK));
            }
        }
        self.delete_keys("erase_messages", doomed).await
    }

    pub(super) async fn delete_outbox(
        &self,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let op = "erase_outbox";
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(keys::outbox_pk(conversation)))
            .projection_expression("pk, sk")
            .consistent_read(true);
        let (items, _) = self
            .query_page(op, query, limit.min(STEP_ITEMS), None)
            .await?;
        let count = items.len();
        self.delete_keys(op, items).await?;
        Ok(count)
    }

    pub(super) async fn delete_conversation(
        &self,
        entry: &HistoryEntry,
        conversation: Option<&Conversation>,
    ) -> Result<u32, CommitError> {
        let op = "erase_conversation";
        let delete = |key: Item| -> Result<TransactWriteItem, CommitError> {
            Ok(TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(self.table())
                        .set_key(Some(key))
                        .build()
                        .map_err(commit_error(op))?,
                )
                .build())
        };
        // The conversation only while it is not live: one reopened meanwhile
        // is a conflict (the erasure ends its session again first).
        let meta = Delete::builder()
            .table_name(self.table())
            .set_key(Some(keys::key(
                keys::conversation_pk(entry.conversation_id),
                keys::CONVERSATION_SK,
            )))
            .condition_expression("attribute_not_exists(pk) OR #status = :finished")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":finished", to_value(op, &ConversationStatus::Finished)?)
            .build()
            .map_err(commit_error(op))?;
        let mut items = vec![TransactWriteItem::builder().delete(meta).build()];
        let mut links = 0;
        if let Some(conversation) = conversation {
            for (agent, relation) in conversation.agent_links() {
                items.push(delete(keys::key(
                    keys::agent_pk(&agent),
                    &keys::agent_link_sk(conversation, relation),
                ))?);
                links += 1;
            }
        }
        items.push(delete(keys::key(
            keys::history_pk(&entry.wa_id),
            &keys::history_sk(entry.created_at, entry.conversation_id),
        ))?);
        self.transact(op, items).await.map_err(CommitError::from)?;
        Ok(links)
    }

    pub(super) async fn delete_customer(&self, customer: &Customer) -> Result<(), CommitError> {
        let op = "erase_customer";
        // Expects the version read, as every write does; a customer already
        // gone is erased.
        let (version, values) = version_condition(ExpectedVersion::Exactly(customer.version));
        let deleted = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(keys::key(
                keys::customer_pk(&customer.key),
                keys::CUSTOMER_SK,
            )))
            .condition_expression(format!(
                "attribute_not_exists(pk) OR ({version} AND attribute_not_exists(live))"
            ))
            .set_expression_attribute_values(values)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(CommitError::Conflict)
            }
            Err(e) => Err(commit_error(op)(e)),
        }
    }

    pub(super) async fn stamp_retention(
        &self,
        conversation: &Conversation,
        messages: &[Message],
    ) -> Result<(), CommitError> {
        let op = "apply_retention";
        let expiry = conversation.expires_at();
        let pk = keys::conversation_pk(conversation.id);
        // Only while the stored conversation still has this expiry: a later
        // finish or reopen applies its own.
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(keys::key(pk.clone(), keys::CONVERSATION_SK)));
        let check = match expiry {
            Some(at) => check
                .condition_expression("#ttl = :ttl")
                .expression_attribute_values(":ttl", number(at.timestamp())),
            None => {
                check.condition_expression("attribute_exists(pk) AND attribute_not_exists(#ttl)")
            }
        }
        .expression_attribute_names("#ttl", keys::TTL)
        .build()
        .map_err(commit_error(op))?;
        let mut items = vec![TransactWriteItem::builder().condition_check(check).build()];
        for message in messages.iter().take(STEP_ITEMS) {
            let update = Update::builder()
                .table_name(self.table())
                .set_key(Some(keys::key(
                    pk.clone(),
                    &keys::message_sk(message.at, message.id),
                )))
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#ttl", keys::TTL);
            let update = match expiry {
                Some(at) => update
                    .update_expression("SET #ttl = :ttl")
                    .expression_attribute_values(":ttl", number(at.timestamp())),
                None => update.update_expression("REMOVE #ttl"),
            }
            .build()
            .map_err(commit_error(op))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        match self.transact(op, items).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Store(error)) => Err(error.into()),
            Err(TransactFailure::Condition { .. } | TransactFailure::Conflict) => {
                Err(CommitError::Conflict)
            }
        }
    }
}
