//! The chat front doors (LINE, Teams): chat accounts and the person each is linked to,
//! conversations with their dialog state and transcript, one-time codes (account linking,
//! later password-reset second factors) kept only as hashes, and which chat a ticket came
//! from so its updates go back there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, json_binary, string, string_null, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
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

fn index(
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    if unique {
        i.unique();
    }
    i.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("chat_accounts")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("platform"))
                .col(string("external_id"))
                .col(string_null("display_name"))
                .col(uuid_null("person_id"))
                .col(string_null("link_method"))
                .col(timestamp_with_time_zone_null("linked_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("chat_accounts", "tenant_id", "tenants"))
                .foreign_key(&mut fk("chat_accounts", "person_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ux_chat_accounts_external",
            "chat_accounts",
            &["tenant_id", "platform", "external_id"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_chat_accounts_person",
            "chat_accounts",
            &["person_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("chat_conversations")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("platform"))
                .col(string("conversation_ref"))
                .col(string("kind"))
                .col(uuid_null("account_id"))
                .col(text_null("service_url"))
                .col(json_binary("state"))
                .col(json_binary("transcript"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("chat_conversations", "tenant_id", "tenants"))
                .foreign_key(&mut fk("chat_conversations", "account_id", "chat_accounts"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ux_chat_conversations_ref",
            "chat_conversations",
            &["tenant_id", "platform", "conversation_ref"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("chat_codes")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("account_id"))
                .col(uuid("person_id"))
                .col(string("purpose"))
                .col(string("code_hash"))
                .col(integer("tries"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("chat_codes", "tenant_id", "tenants"))
                .foreign_key(&mut fk("chat_codes", "account_id", "chat_accounts"))
                .foreign_key(&mut fk("chat_codes", "person_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_chat_codes_account",
            "chat_codes",
            &["account_id", "purpose", "created_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("chat_ticket_links")
                .col(uuid("ticket_id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("conversation_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("chat_ticket_links", "ticket_id", "tickets"))
                .foreign_key(&mut fk(
                    "chat_ticket_links",
                    "conversation_id",
                    "chat_conversations",
                ))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "chat_ticket_links",
            "chat_codes",
            "chat_conversations",
            "chat_accounts",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
