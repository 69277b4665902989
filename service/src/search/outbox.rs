//! The search outbox: every write that changes what search shows adds a row in
//! its own transaction; the indexer applies rows and deletes them.

use chrono::{DateTime, Utc};
use entity::search_outbox;
use sea_orm::{ConnectionTrait, EntityTrait, NotSet, Set};
use search_index::DocKind;
use uuid::Uuid;

use crate::error::ServiceResult;

/// Records that a document must be (re)indexed; call inside the write's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: DocKind,
    id: Uuid,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let row = search_outbox::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant_id),
        doc_kind: Set(kind.as_str().to_owned()),
        doc_id: Set(id),
        created_at: Set(at),
    };
    if let Some(row) = crate::deferred::outbox(row) {
        search_outbox::Entity::insert(row)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
