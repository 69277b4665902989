//! The ledgers (台帳): assets and their history, loans and reservations, repairs with spares,
//! licenses and their assignments, consumables with stock per location, department requests,
//! purchase orders, delivery slips and invoices.
//!
//! What the database itself guarantees: asset tags, MAC addresses and item codes are unique per
//! tenant; stock is never negative (`CHECK`); a license is assigned to an asset or a person at
//! most once at a time (partial unique indexes); asset history is append-only (triggers).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, date, date_null, integer, json_binary, json_binary_null, string,
    string_null, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid,
    uuid_null,
};
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}

fn index(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(*c);
    }
    i.take()
}

fn unique(name: &'static str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    index(name, table, cols).unique().take()
}

/// The tables, in creation order (dropped in reverse).
const TABLES: [&str; 15] = [
    "assets",
    "asset_events",
    "asset_tickets",
    "bookings",
    "repairs",
    "licenses",
    "license_assignments",
    "consumable_items",
    "consumable_models",
    "stock_levels",
    "supply_requests",
    "purchase_orders",
    "deliveries",
    "invoices",
    "stock_movements",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("assets")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("asset_tag"))
                .col(string("kind"))
                .col(string("name"))
                .col(string_null("maker"))
                .col(string_null("model"))
                .col(string_null("serial"))
                .col(string_null("computer_name"))
                .col(string_null("ip_address"))
                .col(string_null("mac_address"))
                .col(uuid_null("org_unit_id"))
                .col(string_null("location"))
                .col(uuid_null("user_id"))
                .col(string_null("purpose"))
                .col(string("status"))
                .col(uuid_null("parent_id"))
                .col(boolean("loanable"))
                .col(string_null("lessor"))
                .col(date_null("lease_start"))
                .col(date_null("lease_end"))
                .col(date_null("purchased_on"))
                .col(date_null("warranty_until"))
                .col(text_null("notes"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(integer("version"))
                .foreign_key(&mut fk("assets", "tenant_id", "tenants"))
                .foreign_key(&mut fk("assets", "org_unit_id", "org_units"))
                .foreign_key(&mut fk("assets", "user_id", "people"))
                .foreign_key(&mut fk("assets", "parent_id", "assets"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_assets_tag",
            "assets",
            &["tenant_id", "asset_tag"],
        ))
        .await?;
        m.create_index(unique(
            "ux_assets_mac",
            "assets",
            &["tenant_id", "mac_address"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_status",
            "assets",
            &["tenant_id", "status", "asset_tag"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_kind",
            "assets",
            &["tenant_id", "kind", "asset_tag"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_org",
            "assets",
            &["tenant_id", "org_unit_id", "asset_tag"],
        ))
        .await?;
        m.create_index(index("ix_assets_user", "assets", &["user_id"]))
            .await?;
        m.create_index(index("ix_assets_parent", "assets", &["parent_id"]))
            .await?;
        m.create_index(index(
            "ix_assets_serial",
            "assets",
            &["tenant_id", "serial"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_computer",
            "assets",
            &["tenant_id", "computer_name"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_ip",
            "assets",
            &["tenant_id", "ip_address"],
        ))
        .await?;
        m.create_index(index(
            "ix_assets_updated",
            "assets",
            &["tenant_id", "updated_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("asset_events")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("asset_id"))
                .col(uuid_null("actor_id"))
                .col(string("kind"))
                .col(json_binary("payload"))
                .col(uuid_null("ticket_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("asset_events", "tenant_id", "tenants"))
                .foreign_key(&mut fk("asset_events", "asset_id", "assets"))
                .foreign_key(&mut fk("asset_events", "actor_id", "people"))
                .foreign_key(&mut fk("asset_events", "ticket_id", "tickets"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_asset_events_asset",
            "asset_events",
            &["asset_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("asset_tickets")
                .col(uuid("asset_id"))
                .col(uuid("ticket_id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("linked_by"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("asset_id").col("ticket_id"))
                .foreign_key(&mut fk("asset_tickets", "asset_id", "assets"))
                .foreign_key(&mut fk("asset_tickets", "ticket_id", "tickets"))
                .foreign_key(&mut fk("asset_tickets", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_asset_tickets_ticket",
            "asset_tickets",
            &["ticket_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("bookings")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("asset_id"))
                .col(uuid("borrower_id"))
                .col(uuid_null("org_unit_id"))
                .col(text_null("purpose"))
                .col(timestamp_with_time_zone("starts_at"))
                .col(timestamp_with_time_zone("due_at"))
                .col(string("status"))
                .col(timestamp_with_time_zone_null("checked_out_at"))
                .col(timestamp_with_time_zone_null("returned_at"))
                .col(timestamp_with_time_zone_null("overdue_notified_at"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("bookings", "tenant_id", "tenants"))
                .foreign_key(&mut fk("bookings", "asset_id", "assets"))
                .foreign_key(&mut fk("bookings", "borrower_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_bookings_asset",
            "bookings",
            &["asset_id", "starts_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_bookings_due",
            "bookings",
            &["tenant_id", "status", "due_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_bookings_borrower",
            "bookings",
            &["borrower_id", "starts_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("repairs")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("asset_id"))
                .col(uuid_null("ticket_id"))
                .col(uuid_null("spare_asset_id"))
                .col(uuid_null("vendor_id"))
                .col(string("status"))
                .col(text_null("fault"))
                .col(json_binary_null("damage_report"))
                .col(string_null("vendor_reference"))
                .col(timestamp_with_time_zone_null("dispatched_at"))
                .col(timestamp_with_time_zone_null("returned_at"))
                .col(timestamp_with_time_zone_null("rekitted_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("repairs", "tenant_id", "tenants"))
                .foreign_key(&mut fk("repairs", "asset_id", "assets"))
                .foreign_key(&mut fk("repairs", "spare_asset_id", "assets"))
                .foreign_key(&mut fk("repairs", "ticket_id", "tickets"))
                .foreign_key(&mut fk("repairs", "vendor_id", "vendors"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_repairs_asset",
            "repairs",
            &["asset_id", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_repairs_status",
            "repairs",
            &["tenant_id", "status", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("licenses")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("code"))
                .col(string("product"))
                .col(string_null("product_version"))
                .col(string_null("edition"))
                .col(integer("seats").check(Expr::col("seats").gte(0)))
                .col(string_null("contract_number"))
                .col(string_null("contract_name"))
                .col(boolean("main_contract"))
                .col(string_null("supplier"))
                .col(date_null("starts_on"))
                .col(date_null("expires_on"))
                .col(text_null("notes"))
                .col(timestamp_with_time_zone_null("alerted_60_at"))
                .col(timestamp_with_time_zone_null("alerted_30_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("licenses", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_licenses_code",
            "licenses",
            &["tenant_id", "code"],
        ))
        .await?;
        m.create_index(index(
            "ix_licenses_expiry",
            "licenses",
            &["tenant_id", "expires_on"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("license_assignments")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("license_id"))
                .col(uuid_null("asset_id"))
                .col(uuid_null("person_id"))
                .col(timestamp_with_time_zone("assigned_at"))
                .col(timestamp_with_time_zone_null("released_at"))
                .col(uuid_null("assigned_by"))
                .foreign_key(&mut fk("license_assignments", "tenant_id", "tenants"))
                .foreign_key(&mut fk("license_assignments", "license_id", "licenses"))
                .foreign_key(&mut fk("license_assignments", "asset_id", "assets"))
                .foreign_key(&mut fk("license_assignments", "person_id", "people"))
                .check(
                    Expr::col("asset_id")
                        .is_null()
                        .and(Expr::col("person_id").is_not_null())
                        .or(Expr::col("asset_id")
                            .is_not_null()
                            .and(Expr::col("person_id").is_null())),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_license_assignments_license",
            "license_assignments",
            &["license_id", "released_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_license_assignments_asset",
            "license_assignments",
            &["asset_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_license_assignments_person",
            "license_assignments",
            &["person_id"],
        ))
        .await?;
        let db = m.get_connection();
        for (name, col) in [
            ("ux_license_assignments_asset", "asset_id"),
            ("ux_license_assignments_person", "person_id"),
        ] {
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {name} ON license_assignments (license_id, {col}) \
                 WHERE released_at IS NULL AND {col} IS NOT NULL"
            ))
            .await?;
        }

        m.create_table(
            Table::create()
                .table("consumable_items")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("code"))
                .col(string("name"))
                .col(string("category"))
                .col(string("unit"))
                .col(big_integer("unit_price").check(Expr::col("unit_price").gte(0)))
                .col(integer("reorder_point").check(Expr::col("reorder_point").gte(0)))
                .col(integer("reorder_quantity").check(Expr::col("reorder_quantity").gte(0)))
                .col(string_null("supplier"))
                .col(text_null("notes"))
                .col(boolean("active"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("consumable_items", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_consumable_items_code",
            "consumable_items",
            &["tenant_id", "code"],
        ))
        .await?;
        m.create_index(index(
            "ix_consumable_items_category",
            "consumable_items",
            &["tenant_id", "category", "code"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("consumable_models")
                .col(uuid("item_id"))
                .col(string("model"))
                .col(uuid("tenant_id"))
                .primary_key(Index::create().col("item_id").col("model"))
                .foreign_key(&mut fk("consumable_models", "item_id", "consumable_items"))
                .foreign_key(&mut fk("consumable_models", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_consumable_models_model",
            "consumable_models",
            &["tenant_id", "model"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("stock_levels")
                .col(uuid("item_id"))
                .col(string("location"))
                .col(uuid("tenant_id"))
                .col(big_integer("quantity").check(Expr::col("quantity").gte(0)))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("item_id").col("location"))
                .foreign_key(&mut fk("stock_levels", "item_id", "consumable_items"))
                .foreign_key(&mut fk("stock_levels", "tenant_id", "tenants"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("supply_requests")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("number"))
                .col(uuid("item_id"))
                .col(integer("quantity").check(Expr::col("quantity").gt(0)))
                .col(uuid_null("org_unit_id"))
                .col(uuid("requested_by"))
                .col(uuid_null("printer_asset_id"))
                .col(text_null("note"))
                .col(string("status"))
                .col(uuid_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("decision_note"))
                .col(string_null("issued_location"))
                .col(timestamp_with_time_zone_null("issued_at"))
                .col(string_null("receipt_signed_by"))
                .col(date_null("receipt_on"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("supply_requests", "tenant_id", "tenants"))
                .foreign_key(&mut fk("supply_requests", "item_id", "consumable_items"))
                .foreign_key(&mut fk("supply_requests", "org_unit_id", "org_units"))
                .foreign_key(&mut fk("supply_requests", "requested_by", "people"))
                .foreign_key(&mut fk("supply_requests", "printer_asset_id", "assets"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_supply_requests_number",
            "supply_requests",
            &["tenant_id", "number"],
        ))
        .await?;
        m.create_index(index(
            "ix_supply_requests_status",
            "supply_requests",
            &["tenant_id", "status", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_supply_requests_requester",
            "supply_requests",
            &["requested_by", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("purchase_orders")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(string("number"))
                .col(string("supplier"))
                .col(date("ordered_on"))
                .col(string("status"))
                .col(json_binary("lines"))
                .col(text_null("note"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("purchase_orders", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_purchase_orders_number",
            "purchase_orders",
            &["tenant_id", "number"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("deliveries")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("purchase_order_id"))
                .col(string("slip_number"))
                .col(date("delivered_on"))
                .col(string("location"))
                .col(json_binary("lines"))
                .col(uuid_null("received_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("deliveries", "tenant_id", "tenants"))
                .foreign_key(&mut fk(
                    "deliveries",
                    "purchase_order_id",
                    "purchase_orders",
                ))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_deliveries_slip",
            "deliveries",
            &["purchase_order_id", "slip_number"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("invoices")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("purchase_order_id"))
                .col(string("invoice_number"))
                .col(date("invoiced_on"))
                .col(json_binary("lines"))
                .col(big_integer("total"))
                .col(string("match_status"))
                .col(json_binary("discrepancies"))
                .col(uuid_null("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("invoices", "tenant_id", "tenants"))
                .foreign_key(&mut fk("invoices", "purchase_order_id", "purchase_orders"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_invoices_number",
            "invoices",
            &["purchase_order_id", "invoice_number"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("stock_movements")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("item_id"))
                .col(string("location"))
                .col(string("kind"))
                .col(integer("quantity"))
                .col(integer("delta"))
                .col(big_integer("balance_after"))
                .col(uuid_null("request_id"))
                .col(uuid_null("delivery_id"))
                .col(uuid_null("org_unit_id"))
                .col(uuid_null("person_id"))
                .col(uuid_null("asset_id"))
                .col(text_null("note"))
                .col(uuid_null("actor_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("stock_movements", "tenant_id", "tenants"))
                .foreign_key(&mut fk("stock_movements", "item_id", "consumable_items"))
                .foreign_key(&mut fk("stock_movements", "request_id", "supply_requests"))
                .foreign_key(&mut fk("stock_movements", "delivery_id", "deliveries"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ix_stock_movements_item",
            "stock_movements",
            &["item_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_stock_movements_tenant",
            "stock_movements",
            &["tenant_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("ledger_counters")
                .col(uuid("tenant_id"))
                .col(string("series"))
                .col(integer("year"))
                .col(big_integer("last_value"))
                .primary_key(Index::create().col("tenant_id").col("series").col("year"))
                .take(),
        )
        .await?;

        // Download links of ledger exports: only the token's hash is kept; short-lived.
        m.create_table(
            Table::create()
                .table("ledger_exports")
                .col(uuid("id").primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("person_id"))
                .col(string("ledger"))
                .col(string("format"))
                .col(string("token_hash"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("ledger_exports", "tenant_id", "tenants"))
                .foreign_key(&mut fk("ledger_exports", "person_id", "people"))
                .take(),
        )
        .await?;
        m.create_index(unique(
            "ux_ledger_exports_token",
            "ledger_exports",
            &["token_hash"],
        ))
        .await?;

        crate::append_only(m, "asset_events").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("ledger_exports").take())
            .await?;
        m.drop_table(Table::drop().table("ledger_counters").take())
            .await?;
        for t in TABLES.iter().rev() {
            m.drop_table(Table::drop().table(*t).take()).await?;
        }
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS asset_events_append_only()")
                .await?;
        }
        Ok(())
    }
}
