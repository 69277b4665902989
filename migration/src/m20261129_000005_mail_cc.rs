//! Outgoing mail keeps its Cc (colleagues who were on Cc of the request stay on the answers),
//! and a tenant may switch off the acknowledgement of mailed-in requests.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("mail_outbound")
                .add_column(text("cc_addresses").default(""))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("tenant_mail_settings")
                .add_column(boolean("acknowledge").default(true))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenant_mail_settings")
                .drop_column("acknowledge")
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("mail_outbound")
                .drop_column("cc_addresses")
                .take(),
        )
        .await
    }
}
