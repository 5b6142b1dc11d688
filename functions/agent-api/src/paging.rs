//! Every list is paginated: `limit` (1–100, default 50) and an opaque `cursor`;
//! the answer is `{"items": [...], "next_cursor": "…" | null}`.
//!
//! A list may be made of several sources read one after another (the views of
//! `GET /conversations`, the statuses of supervision): the cursor says which
//! source to continue and where in it. Its content is the server's business;
//! callers hand back what they were given, and a cursor that does not decode
//! is a 400.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};
use wadesk_app::ports::MAX_PAGE;
use wadesk_app::{Page, PageRequest};

use crate::views::List;
use crate::{ApiError, Result};

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 50;

/// Where a list continues: the source's index and the position in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub source: usize,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| ApiError::Invalid("cursor is not one this API gave".into()))
    }
}

/// A query string value; an empty one is the same as an absent one.
pub fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub limit: usize,
    pub cursor: Cursor,
}

impl ListRequest {
    pub fn parse(request: &Request) -> Result<Self> {
        let limit = match query(request, "limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::Invalid(format!("limit must be a whole number from 1 to {MAX_PAGE}"))
                })?,
        };
        let cursor = match query(request, "cursor") {
            None => Cursor {
                source: 0,
                after: None,
            },
            Some(raw) => Cursor::decode(raw)?,
        };
        Ok(Self { limit, cursor })
    }

    /// The page to read from source `index`, with `room` items still wanted.
    pub fn page_of(&self, index: usize, room: usize) -> PageRequest {
        PageRequest {
            limit: room,
            after: if index == self.cursor.source {
                self.cursor.after.clone()
            } else {
                None
            },
        }
    }
}

/// Collects one answer page over `sources` in order, from where the cursor
/// points. A source's page may come back with fewer items than asked (its
/// items are filtered after reading); the list then stops there with a cursor,
/// so one request's work stays bounded by `limit` items read per source.
pub struct Collector<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    limit: usize,
}

impl<T> Collector<T> {
    pub fn new(list: &ListRequest) -> Self {
        Self {
            items: Vec::new(),
            next: None,
            limit: list.limit,
        }
    }

    /// Room left on this page.
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.items.len())
    }

    /// Takes source `index`'s page, of which `kept` passed the filters.
    /// Returns whether to read the next source.
    pub fn take<U>(&mut self, index: usize, page: Page<U>, kept: Vec<T>, sources: usize) -> bool {
        self.items.extend(kept);
        if let Some(after) = page.next {
            self.next = Some(Cursor {
                source: index,
                after: Some(after),
            });
            return false;
        }
        if index + 1 >= sources {
            return false;
        }
        if self.room() == 0 {
            self.next = Some(Cursor {
                source: index + 1,
                after: None,
            });
            return false;
        }
        true
    }

    pub fn next_cursor(&self) -> Option<String> {
        self.next.as_ref().map(Cursor::encode)
    }

    /// The answer: the items collected and where the list continues.
    pub fn into_list(self) -> List<T> {
        List {
            next_cursor: self.next_cursor(),
            items: self.items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let cursor = Cursor {
            source: 2,
            after: Some("2026-01-01T00:00:00.000000Z#x".into()),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode("").is_err());
    }

    #[test]
    fn a_full_page_ends_on_a_cursor_to_the_next_source() {
        let list = ListRequest {
            limit: 2,
            cursor: Cursor {
                source: 0,
                after: None,
            },
        };
        let mut collector = Collector::new(&list);
        let page = Page {
            items: vec![1, 2],
            next: None,
        };
        assert!(!collector.take(0, page, vec![1, 2], 3));
        assert_eq!(
            collector.next,
            Some(Cursor {
                source: 1,
                after: None
            })
        );
        // The last source exhausted: no cursor.
        let mut collector = Collector::new(&list);
        let page = Page {
            items: vec![1],
            next: None,
        };
        assert!(!collector.take(2, page, vec![1], 3));
        assert_eq!(collector.next, None);
    }
}
