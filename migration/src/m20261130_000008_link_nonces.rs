//! LINE's account link through madoguchi's sign-in page: the person proves their address
//! with a mailed code on the page (no chat account is known there yet), then a nonce goes to
//! LINE and comes back with the `accountLink` event. Code and nonce are kept only as hashes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, string, string_null, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid,
    uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("link_nonces")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid_null("person_id"))
                .col(string("platform"))
                .col(string("code_hash"))
                .col(integer("tries"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(string_null("nonce_hash"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("link_nonces", "tenant_id")
                        .to("tenants", "id")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("link_nonces", "person_id")
                        .to("people", "id")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_link_nonces_nonce")
                .table("link_nonces")
                .col("nonce_hash")
                .unique()
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("link_nonces").take())
            .await
    }
}
