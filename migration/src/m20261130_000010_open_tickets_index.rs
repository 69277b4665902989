//! The open tickets of a tenant, newest first: the list every desk works from. A partial index
//! over the open statuses only, carrying the status, so that a page of new or in-progress
//! tickets reads about as many index entries as it shows (the full `(tenant, created_at)` index
//! walks past every resolved and closed ticket, fetching each row to read its status).
//!
//! `service::tickets` adds the same predicate, word for word, to lists filtered on open
//! statuses: SQLite uses a partial index only when the query repeats its `WHERE`.

use sea_orm_migration::prelude::*;

/// The index's predicate; `service::tickets::read::OPEN_STATUSES_SQL` must stay identical.
const OPEN: &str =
    "status IN ('new', 'in_progress', 'waiting_on_requester', 'waiting_on_vendor', 'escalated')";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX ix_tickets_tenant_open_created ON tickets \
                 (tenant_id, created_at, id, status) WHERE {OPEN}"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX ix_tickets_tenant_open_created")
            .await
            .map(|_| ())
    }
}
