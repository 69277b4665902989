//! Ticket history is append-only: the database itself refuses to change or delete an event,
//! so no code path (or hand-typed SQL) can rewrite who did what.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::append_only(m, "ticket_events").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                db.execute_unprepared("DROP TRIGGER IF EXISTS ticket_events_no_update")
                    .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS ticket_events_no_delete")
                    .await?;
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS ticket_events_append_only ON ticket_events",
                )
                .await?;
                db.execute_unprepared("DROP FUNCTION IF EXISTS ticket_events_append_only()")
                    .await?;
            }
        }
        Ok(())
    }
}
