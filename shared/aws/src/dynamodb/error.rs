use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use wadesk_app::{CommitError, StoreError};

use super::keys::Item;

/// How a cancelled transaction is read: which item's condition failed.
pub enum Cancelled {
    /// The condition of the item at this index failed; the item as it was, if returned.
    Condition { index: usize, old: Option<Item> },
    /// Another transaction touched the same items at the same time.
    Conflict,
}

pub fn cancellation(
    error: &SdkError<TransactWriteItemsError, aws_smithy_runtime_api::http::Response>,
) -> Option<Cancelled> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return None;
    };
    let reasons: &[CancellationReason] = cancelled.cancellation_reasons();
    if let Some((index, reason)) = reasons
        .iter()
        .enumerate()
        .find(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
    {
        return Some(Cancelled::Condition {
            index,
            old: reason.item().cloned(),
        });
    }
    Some(Cancelled::Conflict)
}

/// The store refuses an item of the transaction for its size (over 400 KB):
/// no retry can store it. DynamoDB cancels the transaction with a
/// `ValidationError` reason for that item; moto answers `ValidationException`.
/// Any other validation failure (a malformed request: a bug) is not a refusal
/// of the item, and stays a failure to retry (and to alarm on).
pub fn item_refused(
    error: &SdkError<TransactWriteItemsError, aws_smithy_runtime_api::http::Response>,
) -> Option<String> {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let service = error.as_service_error()?;
    let about_size = |message: Option<&str>| {
        message.is_some_and(|m| m.to_ascii_lowercase().contains("item size"))
    };
    if let TransactWriteItemsError::TransactionCanceledException(cancelled) = service {
        return cancelled
            .cancellation_reasons()
            .iter()
            .find(|r| r.code() == Some("ValidationError") && about_size(r.message()))
            .map(|r| r.message().unwrap_or_default().to_owned());
    }
    (service.code() == Some("ValidationException") && about_size(service.message()))
        .then(|| service.message().unwrap_or_default().to_owned())
}

pub fn store_error<E>(operation: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| StoreError::new(operation, error)
}

pub fn commit_error<E>(operation: &'static str) -> impl FnOnce(E) -> CommitError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| CommitError::Store(StoreError::new(operation, error))
}
