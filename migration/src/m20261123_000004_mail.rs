//! The mail front door: content-addressed blobs, inbound messages as received (raw first),
//! the Message-IDs that thread onto tickets, attachments and Cc'd watchers, outbound mail,
//! the job queue that sends it, IMAP positions, and each tenant's mail settings.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, blob, boolean, integer, json_binary, string, string_null, text, text_null,
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
                .table("blobs")
                .col(string("sha256").primary_key())
                .col(big_integer("size"))
                .col(blob("data"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tenant_mail_settings")
                .col(uuid("tenant_id").primary_key())
                .col(string("unknown_sender"))
                .col(string("outgoing_charset"))
                .col(integer("sender_rate_per_hour"))
                .col(big_integer("max_attachment_bytes"))
                .col(text("own_addresses"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("tenant_mail_settings", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("mail_messages")
                .col(uuid("id").primary_key())
                .col(uuid_null("tenant_id"))
                .col(string("source"))
                .col(string_null("source_ref"))
                .col(string("dedupe_key"))
                .col(string_null("message_id"))
                .col(string("raw_sha256"))
                .col(big_integer("raw_size"))
                .col(string_null("from_address"))
                .col(text_null("subject"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(timestamp_with_time_zone("received_at"))
                .col(string("status"))
                .col(string_null("action"))
                .col(string_null("reason"))
                .col(text_null("detail"))
                .col(integer("attempts"))
                .col(uuid_null("ticket_id"))
                .col(uuid_null("comment_id"))
                .col(timestamp_with_time_zone_null("processed_at"))
                .foreign_key(&mut fk("mail_messages", "tenant_id", "tenants"))
                .foreign_key(&mut fk("mail_messages", "ticket_id", "tickets"))
                .foreign_key(
                    ForeignKey::create()
                        .from("mail_messages", "raw_sha256")
                        .to("blobs", "sha256")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "ux_mail_messages_tenant_key",
            "mail_messages",
            &["tenant_id", "dedupe_key"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_mail_messages_status",
            "mail_messages",
            &["status", "received_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_mail_messages_sender",
            "mail_messages",
            &["tenant_id", "from_address", "received_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_mail_messages_ticket",
            "mail_messages",
            &["ticket_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("mail_thread_ids")
                .col(uuid("tenant_id"))
                .col(string("message_id"))
                .col(uuid("ticket_id"))
                .col(string("origin"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("tenant_id").col("message_id"))
                .foreign_key(&mut fk("mail_thread_ids", "tenant_id", "tenants"))
                .foreign_key(&mut fk("mail_thread_ids", "ticket_id", "tickets"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ticket_attachments")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("ticket_id"))
                .col(uuid_null("comment_id"))
                .col(uuid_null("mail_message_id"))
                .col(text("filename"))
                .col(string("content_type"))
                .col(big_integer("size"))
                .col(string_null("sha256"))
                .col(string_null("flag"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("ticket_attachments", "tenant_id", "tenants"))
                .foreign_key(&mut fk("ticket_attachments", "ticket_id", "tickets"))
                .foreign_key(&mut fk(
                    "ticket_attachments",
                    "mail_message_id",
                    "mail_messages",
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from("ticket_attachments", "sha256")
                        .to("blobs", "sha256")
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_ticket_attachments_ticket",
            "ticket_attachments",
            &["ticket_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("ticket_watchers")
                .col(uuid("ticket_id"))
                .col(string("email"))
                .col(uuid("tenant_id"))
                .col(uuid_null("person_id"))
                .col(string("source"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("ticket_id").col("email"))
                .foreign_key(&mut fk("ticket_watchers", "ticket_id", "tickets"))
                .foreign_key(&mut fk("ticket_watchers", "person_id", "people"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("mail_outbound")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid_null("ticket_id"))
                .col(string("kind"))
                .col(string("message_id"))
                .col(string("to_address"))
                .col(text("subject"))
                .col(text("body"))
                .col(string_null("in_reply_to"))
                .col(text("references"))
                .col(string("charset"))
                .col(string("status"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .foreign_key(&mut fk("mail_outbound", "tenant_id", "tenants"))
                .foreign_key(&mut fk("mail_outbound", "ticket_id", "tickets"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ux_mail_outbound_message_id",
            "mail_outbound",
            &["message_id"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("jobs")
                .col(uuid("id").primary_key())
                .col(uuid_null("tenant_id"))
                .col(string("kind"))
                .col(string("dedupe_key"))
                .col(json_binary("payload"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(integer("max_attempts"))
                .col(timestamp_with_time_zone("run_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ux_jobs_dedupe",
            "jobs",
            &["kind", "dedupe_key"],
            true,
        ))
        .await?;
        m.create_index(index("ix_jobs_due", "jobs", &["status", "run_at"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("mail_sources")
                .col(string("name").primary_key())
                .col(big_integer("uid_validity"))
                .col(big_integer("last_uid"))
                .col(boolean("idle_supported"))
                .col(timestamp_with_time_zone("updated_at"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "mail_sources",
            "jobs",
            "mail_outbound",
            "ticket_watchers",
            "ticket_attachments",
            "mail_thread_ids",
            "mail_messages",
            "tenant_mail_settings",
            "blobs",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
