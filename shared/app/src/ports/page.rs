//! One page of a list, and where the next one starts.

use wadesk_domain::Timestamp;

/// A position that sorts as (time, id) does: fixed-width RFC 3339 with
/// microseconds, then the id. The DynamoDB keys use the same form.
pub fn position(at: Timestamp, id: impl std::fmt::Display) -> String {
    format!(
        "{}#{id}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// The most items one page may hold (the HTTP contract's `limit` bound).
pub const MAX_PAGE: usize = 100;

/// Which page to read: at most `limit` items after position `after` (`None`:
/// from the start). A position is the store's own, opaque to callers: they
/// only hand back what a [`Page`] gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        Self {
            limit: limit.clamp(1, MAX_PAGE),
            after: None,
        }
    }
}

/// Items in the list's order, and the position to continue from (`None`: the
/// list is exhausted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page of an already ordered list whose items have positions that
    /// sort in list order (`key`): what the embedded store serves.
    pub fn of_sorted(list: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let mut items: Vec<T> = list
            .into_iter()
            .filter(|item| {
                request
                    .after
                    .as_ref()
                    .is_none_or(|after| key(item).as_str() > after.as_str())
            })
            .collect();
        let more = items.len() > request.limit;
        items.truncate(request.limit);
        let next = if more { items.last().map(&key) } else { None };
        Self { items, next }
    }

    /// Like [`Page::of_sorted`] for a list in descending position order.
    pub fn of_sorted_desc(list: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let mut items: Vec<T> = list
            .into_iter()
            .filter(|item| {
                request
                    .after
                    .as_ref()
                    .is_none_or(|after| key(item).as_str() < after.as_str())
            })
            .collect();
        let more = items.len() > request.limit;
        items.truncate(request.limit);
        let next = if more { items.last().map(&key) } else { None };
        Self { items, next }
    }
}
