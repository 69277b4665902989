//! Connection arguments and opaque cursors.

use super::errors::{ApiError, ApiResult};
use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use service::UserError;
use service::page::{Cursor, SortKey};
use uuid::Uuid;

/// Largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;
/// Page size when `first` is omitted.
pub const DEFAULT_PAGE: i32 = 20;

/// Where a page sits in its list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page.
    has_next_page: bool,
    /// Whether items precede this page.
    has_previous_page: bool,
    /// Cursor of the first item.
    start_cursor: Option<String>,
    /// Cursor of the last item; pass it as `after` for the next page.
    end_cursor: Option<String>,
}

impl PageInfo {
    /// Builds page info.
    pub fn new(
        has_next: bool,
        has_previous: bool,
        start: Option<String>,
        end: Option<String>,
    ) -> Self {
        Self {
            has_next_page: has_next,
            has_previous_page: has_previous,
            start_cursor: start,
            end_cursor: end,
        }
    }
}

fn bad(field: &str, code: &'static str, msg: &str) -> async_graphql::Error {
    ApiError::BadInput(vec![UserError {
        field: vec![field.to_owned()],
        message: msg.to_owned(),
        code,
    }])
    .into()
}

/// Validates `first` (1..=100) and decodes `after`.
pub fn args(first: Option<i32>, after: Option<&str>) -> ApiResult<(u64, Option<Cursor>)> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(bad(
            "first",
            "OUT_OF_RANGE",
            "first は 1〜100 で指定してください",
        ));
    }
    let cursor = after.map(decode_cursor).transpose()?;
    Ok((first as u64, cursor))
}

/// Encodes a cursor opaquely.
pub fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(s: &str) -> ApiResult<Cursor> {
    URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            bad(
                "after",
                "INVALID_CURSOR",
                "カーソルの形式が正しくありません",
            )
        })
}

/// Returns the cursor for a list ordered by id alone.
pub fn id_cursor(id: Uuid) -> String {
    encode_cursor(&Cursor {
        key: SortKey::None,
        id,
    })
}
