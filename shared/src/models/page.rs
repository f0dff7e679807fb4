//! Cursor pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::{AppError, AppResult, FieldError};

/// Smallest, default and largest page size.
pub const LIMIT_MIN: i64 = 1;
/// Page size when none is asked for.
pub const LIMIT_DEFAULT: i64 = 20;
/// Largest page size.
pub const LIMIT_MAX: i64 = 100;

/// A checked page request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size.
    pub limit: i64,
    /// The decoded cursor's parts, if any.
    pub after: Option<Vec<String>>,
}

impl PageRequest {
    /// Checks a list's `limit` and `cursor` as received: the limit's range, and a cursor this
    /// API returned; 422 naming the field otherwise.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> AppResult<PageRequest> {
        let mut errors = vec![];
        let limit = match limit.map(str::parse::<i64>) {
            None => LIMIT_DEFAULT,
            Some(Ok(n)) if (LIMIT_MIN..=LIMIT_MAX).contains(&n) => n,
            Some(_) => {
                errors
                    .push(FieldError::new("limit", format!("must be a whole number from {LIMIT_MIN} to {LIMIT_MAX}")));
                LIMIT_DEFAULT
            }
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => match decode(raw) {
                Some(parts) => Some(parts),
                None => {
                    errors.push(FieldError::new("cursor", "is not a cursor this API returned"));
                    None
                }
            },
        };
        if errors.is_empty() { Ok(PageRequest { limit, after }) } else { Err(AppError::Validation(errors)) }
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The cursor part at `index`, parsed; 422 when a cursor does not have that shape.
    pub fn key<T: std::str::FromStr>(&self, index: usize) -> AppResult<Option<T>> {
        match &self.after {
            None => Ok(None),
            Some(parts) => parts
                .get(index)
                .and_then(|p| p.parse().ok())
                .map(Some)
                .ok_or_else(|| AppError::invalid("cursor", "is not a cursor for this list")),
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts the extra row fetched by [`PageRequest::fetch`] and makes the cursor from the last row kept.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> Vec<String>) -> Page<T> {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more { rows.last().map(|last| encode(&key(last))) } else { None };
        Page { items: rows, next_cursor }
    }

    /// A whole list on one page.
    pub fn all(items: Vec<T>) -> Page<T> {
        Page { items, next_cursor: None }
    }

    /// The same page with each row shown another way.
    pub fn map<U>(self, show: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(show).collect(), next_cursor: self.next_cursor }
    }
}

fn encode(parts: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("|"))
}

fn decode(raw: &str) -> Option<Vec<String>> {
    if raw.len() > 512 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(text.split('|').map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>, cursor: Option<&str>) -> AppResult<PageRequest> {
        PageRequest::parse(limit, cursor)
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(params(None, None).unwrap().limit, 20);
        assert_eq!(params(Some("1"), None).unwrap().limit, 1);
        assert_eq!(params(Some("100"), None).unwrap().limit, 100);
        for bad in ["0", "101", "-1", "ten", "1.5", ""] {
            assert!(params(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let page =
            Page::from_rows(vec![1, 2, 3], &PageRequest { limit: 2, after: None }, |n| vec![n.to_string(), "x".into()]);
        assert_eq!(page.items, vec![1, 2]);
        let cursor = page.next_cursor.unwrap();
        let request = params(None, Some(&cursor)).unwrap();
        assert_eq!(request.key::<i32>(0).unwrap(), Some(2));
        assert!(request.key::<uuid::Uuid>(1).is_err());
        assert!(params(None, Some("!!!")).is_err());
        let last = Page::from_rows(vec![1, 2], &PageRequest { limit: 2, after: None }, |n| vec![n.to_string()]);
        assert_eq!(last.next_cursor, None);
    }
}
