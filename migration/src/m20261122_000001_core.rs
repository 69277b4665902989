//! Tenants, org units, people, vendors, categories, calendars, SLA policies and tickets.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, date_null, integer, integer_null, json_binary, small_integer,
    small_integer_null, string, string_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn pk(col: &'static str) -> ColumnDef {
    uuid(col).primary_key().take()
}

fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.take()
}

fn unique(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = index(name, table, cols);
    idx.unique();
    idx
}

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
                .table("tenants")
                .col(pk("id"))
                .col(string("slug").unique_key())
                .col(string("name"))
                .col(string("ticket_prefix"))
                .col(string_null("helpdesk_email"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("org_units")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("parent_id"))
                .col(string("code"))
                .col(string("name"))
                .col(string("kind"))
                .col(integer("sort_order"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("org_units", "tenant_id", "tenants"))
                .foreign_key(&mut fk("org_units", "parent_id", "org_units"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_org_units_tenant_code",
            "org_units",
            &["tenant_id", "code"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("vendors")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(string("code"))
                .col(string("name"))
                .col(string_null("responsibility"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("vendors", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_vendors_tenant_code",
            "vendors",
            &["tenant_id", "code"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("people")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("org_unit_id"))
                .col(uuid_null("vendor_id"))
                .col(string("email"))
                .col(string("display_name"))
                .col(string_null("display_name_kana"))
                .col(string_null("employee_number"))
                .col(string("kind"))
                .col(string("roles"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("people", "tenant_id", "tenants"))
                .foreign_key(&mut fk("people", "org_unit_id", "org_units"))
                .foreign_key(&mut fk("people", "vendor_id", "vendors"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_people_tenant_email",
            "people",
            &["tenant_id", "email"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("ticket_categories")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("parent_id"))
                .col(string("code"))
                .col(string("name"))
                .col(integer("sort_order"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("ticket_categories", "tenant_id", "tenants"))
                .foreign_key(&mut fk(
                    "ticket_categories",
                    "parent_id",
                    "ticket_categories",
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_ticket_categories_tenant_code",
            "ticket_categories",
            &["tenant_id", "code"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("desk_calendars")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(json_binary("spec"))
                .col(boolean("is_default"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("desk_calendars", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("sla_policies")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(string_null("kind"))
                .col(small_integer_null("priority"))
                .col(string("clock"))
                .col(integer("response_minutes"))
                .col(integer("resolution_minutes"))
                .col(integer_null("failure_report_business_days"))
                .col(uuid("calendar_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("sla_policies", "tenant_id", "tenants"))
                .foreign_key(&mut fk("sla_policies", "calendar_id", "desk_calendars"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ticket_counters")
                .col(uuid("tenant_id"))
                .col(integer("year"))
                .col(big_integer("last_value"))
                .primary_key(Index::create().col("tenant_id").col("year"))
                .foreign_key(&mut fk("ticket_counters", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("tickets")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(string("number"))
                .col(string("kind"))
                .col(string("channel"))
                .col(string("status"))
                .col(small_integer("priority"))
                .col(small_integer_null("severity"))
                .col(string_null("impact"))
                .col(string("title"))
                .col(text("description"))
                .col(uuid_null("category_id"))
                .col(uuid_null("requester_id"))
                .col(uuid_null("org_unit_id"))
                .col(uuid_null("assignee_id"))
                .col(uuid_null("escalation_vendor_id"))
                .col(boolean("out_of_scope"))
                .col(string_null("out_of_scope_system"))
                .col(text_null("cause"))
                .col(text_null("interim_measure"))
                .col(text_null("recovery_outlook"))
                .col(text_null("recurrence_prevention"))
                .col(timestamp_with_time_zone_null("failure_report_due_at"))
                .col(timestamp_with_time_zone_null("failure_report_submitted_at"))
                .col(date_null("security_occurred_on"))
                .col(text_null("security_event"))
                .col(text_null("security_interim_action"))
                .col(text_null("security_permanent_action"))
                .col(string_null("security_report_stage"))
                .col(uuid_null("sla_policy_id"))
                .col(timestamp_with_time_zone_null("response_due_at"))
                .col(timestamp_with_time_zone_null("resolution_due_at"))
                .col(timestamp_with_time_zone_null("first_responded_at"))
                .col(timestamp_with_time_zone_null("sla_paused_at"))
                .col(big_integer("sla_paused_secs"))
                .col(timestamp_with_time_zone_null("response_breached_at"))
                .col(timestamp_with_time_zone_null("resolution_breached_at"))
                .col(timestamp_with_time_zone_null("resolved_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(integer("version"))
                .foreign_key(&mut fk("tickets", "tenant_id", "tenants"))
                .foreign_key(&mut fk("tickets", "category_id", "ticket_categories"))
                .foreign_key(&mut fk("tickets", "requester_id", "people"))
                .foreign_key(&mut fk("tickets", "org_unit_id", "org_units"))
                .foreign_key(&mut fk("tickets", "assignee_id", "people"))
                .foreign_key(&mut fk("tickets", "escalation_vendor_id", "vendors"))
                .foreign_key(&mut fk("tickets", "sla_policy_id", "sla_policies"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_tickets_tenant_number",
            "tickets",
            &["tenant_id", "number"],
        ))
        .await?;
        // Keyset pages: every list is (tenant, [filter], sort key, id).
        for (name, cols) in [
            (
                "ix_tickets_tenant_created",
                &["tenant_id", "created_at", "id"][..],
            ),
            (
                "ix_tickets_tenant_status_created",
                &["tenant_id", "status", "created_at", "id"][..],
            ),
            (
                "ix_tickets_tenant_updated",
                &["tenant_id", "updated_at", "id"][..],
            ),
            (
                "ix_tickets_tenant_requester",
                &["tenant_id", "requester_id", "created_at"][..],
            ),
            (
                "ix_tickets_tenant_assignee",
                &["tenant_id", "assignee_id", "created_at"][..],
            ),
            (
                "ix_tickets_tenant_vendor",
                &["tenant_id", "escalation_vendor_id", "created_at"][..],
            ),
            ("ix_tickets_resolution_due", &["resolution_due_at"][..]),
            ("ix_tickets_response_due", &["response_due_at"][..]),
        ] {
            m.create_index(index(name, "tickets", cols)).await?;
        }

        m.create_table(
            Table::create()
                .table("ticket_comments")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(uuid("ticket_id"))
                .col(uuid_null("author_id"))
                .col(text("body"))
                .col(boolean("internal"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("ticket_comments", "tenant_id", "tenants"))
                .foreign_key(&mut fk("ticket_comments", "ticket_id", "tickets"))
                .foreign_key(&mut fk("ticket_comments", "author_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_ticket_comments_ticket",
            "ticket_comments",
            &["ticket_id", "created_at", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("ticket_events")
                .col(pk("id"))
                .col(uuid("tenant_id"))
                .col(uuid("ticket_id"))
                .col(uuid_null("actor_id"))
                .col(string("kind"))
                .col(json_binary("payload"))
                .col(boolean("internal"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("ticket_events", "tenant_id", "tenants"))
                .foreign_key(&mut fk("ticket_events", "ticket_id", "tickets"))
                .foreign_key(&mut fk("ticket_events", "actor_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_ticket_events_ticket",
            "ticket_events",
            &["ticket_id", "id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "ticket_events",
            "ticket_comments",
            "tickets",
            "ticket_counters",
            "sla_policies",
            "desk_calendars",
            "ticket_categories",
            "people",
            "vendors",
            "org_units",
            "tenants",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
