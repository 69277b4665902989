//! Ticket history is append-only: the database itself refuses to change or delete an event,
//! so no code path (or hand-typed SQL) can rewrite who did what.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                for op in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER ticket_events_no_{lower} BEFORE {op} ON ticket_events \
                         BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END",
                        lower = op.to_lowercase()
                    ))
                    .await?;
                }
            }
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'ticket_events is append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events \
                     FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only()",
                )
                .await?;
            }
            other => return Err(DbErr::Migration(format!("unsupported database {other:?}"))),
        }
        Ok(())
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
