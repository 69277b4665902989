//! Self-service password resets from the chat: one row per attempt (the second factor's code
//! is a `chat_codes` row; the one-time link is kept only as a hash). The rows are the rate
//! limits' memory and the audit trail next to the ticket each reset leaves.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, string, string_null, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from("password_resets", col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("password_resets")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("person_id"))
                .col(uuid("requested_by"))
                .col(uuid_null("conversation_id"))
                .col(uuid_null("code_id"))
                .col(string("status"))
                .col(integer("tries"))
                .col(string_null("link_hash"))
                .col(timestamp_with_time_zone_null("link_expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(uuid_null("ticket_id"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("tenant_id", "tenants"))
                .foreign_key(&mut fk("person_id", "people"))
                .foreign_key(&mut fk("requested_by", "people"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_password_resets_link")
                .table("password_resets")
                .col("link_hash")
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_password_resets_person")
                .table("password_resets")
                .col("tenant_id")
                .col("person_id")
                .col("created_at")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_password_resets_requester")
                .table("password_resets")
                .col("requested_by")
                .col("created_at")
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("password_resets").take())
            .await
    }
}
