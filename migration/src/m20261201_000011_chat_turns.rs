//! Chat turns in their own append-only table. The transcript was a JSON array in the
//! conversation's row, read, parsed, extended and written back on every turn, so a turn's cost
//! grew with the conversation's history; turns are now appended as rows and read only when a
//! ticket is opened from the chat. Existing transcripts are copied over, then the column goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_pk_auto, string, text, timestamp_with_time_zone, uuid};
use sea_orm_migration::sea_orm::prelude::{ChronoDateTimeUtc, Uuid};
use sea_orm_migration::sea_orm::{JsonValue, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("chat_turns")
                .col(big_pk_auto("id"))
                .col(uuid("tenant_id"))
                .col(uuid("conversation_id"))
                .col(string("speaker"))
                .col(text("text"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("chat_turns", "conversation_id")
                        .to("chat_conversations", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // The latest turns of a conversation; and the oldest of all, for the retention sweep.
        m.create_index(
            Index::create()
                .name("ix_chat_turns_conversation")
                .table("chat_turns")
                .col("conversation_id")
                .col("id")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_chat_turns_at")
                .table("chat_turns")
                .col("at")
                .take(),
        )
        .await?;

        let db = m.get_connection();
        let backend = m.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, tenant_id, transcript FROM chat_conversations ORDER BY id",
            ))
            .await?;
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let tenant: Uuid = row.try_get("", "tenant_id")?;
            let transcript: JsonValue = row.try_get("", "transcript")?;
            let turns: Vec<_> = transcript
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    let at: ChronoDateTimeUtc = t.get("at")?.as_str()?.parse().ok()?;
                    let speaker = t.get("from")?.as_str()?.to_owned();
                    let text = t.get("text")?.as_str()?.to_owned();
                    Some((speaker, text, at))
                })
                .collect();
            if turns.is_empty() {
                continue;
            }
            let mut insert = Query::insert();
            insert.into_table("chat_turns").columns([
                "tenant_id",
                "conversation_id",
                "speaker",
                "text",
                "at",
            ]);
            for (speaker, text, at) in turns {
                insert.values_panic([
                    tenant.into(),
                    id.into(),
                    speaker.into(),
                    text.into(),
                    at.into(),
                ]);
            }
            m.exec_stmt(insert).await?;
        }
        db.execute_unprepared("ALTER TABLE chat_conversations DROP COLUMN transcript")
            .await?;
        Ok(())
    }

    /// Puts the column back empty: the turns' table and what it holds are dropped.
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("chat_conversations")
                .add_column(
                    ColumnDef::new("transcript")
                        .json_binary()
                        .not_null()
                        .default("[]"),
                )
                .take(),
        )
        .await?;
        m.drop_table(Table::drop().table("chat_turns").take()).await
    }
}
