//! Keyset pagination: a page of rows and the cursor that continues after a row.

use chrono::{DateTime, Utc};
use sea_orm::Value;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

/// The value of the sort column at a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
    Int(i64),
    /// For lists ordered by id alone.
    None,
}

impl SortKey {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            SortKey::Time(t) => Value::from(*t),
            SortKey::Text(s) => Value::from(s.clone()),
            SortKey::Int(i) => Value::from(*i),
            SortKey::None => Value::from(Option::<i64>::None),
        }
    }
}

/// Where a page ends: the sort key and the id of its last row. `api` encodes it opaquely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub key: SortKey,
    #[serde(rename = "i")]
    pub id: Uuid,
}

/// A page of rows and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            has_next: false,
        }
    }
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `LIMIT first + 1`: the extra row only says that
    /// more follow, and is dropped.
    pub fn from_overfetch(mut rows: Vec<T>, first: u64) -> Self {
        let has_next = rows.len() as u64 > first;
        rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        Self {
            items: rows,
            has_next,
        }
    }
}
