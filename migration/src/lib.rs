//! Madoguchi's database migrations. Every migration must run on SQLite and PostgreSQL;
//! the test suite runs them on both.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_core;
mod m20261122_000002_append_only_history;
mod m20261122_000003_faq_and_search;
mod m20261123_000004_mail;
mod m20261129_000005_mail_cc;
mod m20261130_000006_chat;
mod m20261130_000007_password_reset;
mod m20261130_000008_link_nonces;
mod m20261130_000009_ledgers;
mod m20261130_000010_open_tickets_index;
mod m20261201_000011_chat_turns;

/// Makes a history table append-only in the database itself: any UPDATE or DELETE aborts.
/// Triggers `{table}_no_update` / `{table}_no_delete` on SQLite; trigger and function
/// `{table}_append_only` on PostgreSQL.
pub(crate) async fn append_only(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::DatabaseBackend;
    let db = m.get_connection();
    match m.get_database_backend() {
        DatabaseBackend::Sqlite => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_{lower} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
                    lower = op.to_lowercase()
                ))
                .await?;
            }
        }
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            ))
            .await?;
        }
        other => return Err(DbErr::Migration(format!("unsupported database {other:?}"))),
    }
    Ok(())
}

/// Runs Madoguchi's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_core::Migration),
            Box::new(m20261122_000002_append_only_history::Migration),
            Box::new(m20261122_000003_faq_and_search::Migration),
            Box::new(m20261123_000004_mail::Migration),
            Box::new(m20261129_000005_mail_cc::Migration),
            Box::new(m20261130_000006_chat::Migration),
            Box::new(m20261130_000007_password_reset::Migration),
            Box::new(m20261130_000008_link_nonces::Migration),
            Box::new(m20261130_000009_ledgers::Migration),
            Box::new(m20261130_000010_open_tickets_index::Migration),
            Box::new(m20261201_000011_chat_turns::Migration),
        ]
    }
}
