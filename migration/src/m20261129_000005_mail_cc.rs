//! Outgoing mail keeps its Cc: colleagues who were on Cc of the request stay on the answers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text;

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
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("mail_outbound").drop_column("cc_addresses").take())
            .await
    }
}
