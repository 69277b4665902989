//! FAQ articles with versions and votes; per-tenant search synonyms; the search outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, boolean, date_null, integer, json_binary, string, text,
    timestamp_with_time_zone, timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("faq_articles")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("code"))
                .col(string("category"))
                .col(string("audience"))
                .col(text("question"))
                .col(text("answer"))
                .col(text("keywords"))
                .col(string("status"))
                .col(integer("version"))
                .col(big_integer("view_count"))
                .col(big_integer("helpful_count"))
                .col(big_integer("not_helpful_count"))
                .col(date_null("last_reviewed_on"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("published_at"))
                .foreign_key(&mut fk("faq_articles", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_faq_articles_tenant_code")
                .table("faq_articles")
                .col("tenant_id")
                .col("code")
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("faq_article_versions")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("article_id"))
                .col(integer("version"))
                .col(string("category"))
                .col(string("audience"))
                .col(text("question"))
                .col(text("answer"))
                .col(text("keywords"))
                .col(string("status"))
                .col(uuid_null("editor_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(
                    "faq_article_versions",
                    "article_id",
                    "faq_articles",
                ))
                .foreign_key(&mut fk("faq_article_versions", "editor_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_faq_article_versions_article_version")
                .table("faq_article_versions")
                .col("article_id")
                .col("version")
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("faq_votes")
                .col(uuid("article_id"))
                .col(string("voter"))
                .col(uuid("tenant_id"))
                .col(boolean("helpful"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("article_id").col("voter"))
                .foreign_key(&mut fk("faq_votes", "article_id", "faq_articles"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("search_synonyms")
                .col(uuid("tenant_id").primary_key())
                .col(json_binary("groups"))
                .col(integer("version"))
                .col(uuid_null("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("search_synonyms", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("search_outbox")
                .col(big_pk_auto("id"))
                .col(uuid("tenant_id"))
                .col(string("doc_kind"))
                .col(uuid("doc_id"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "search_outbox",
            "search_synonyms",
            "faq_votes",
            "faq_article_versions",
            "faq_articles",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
