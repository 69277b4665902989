//! An invoice (請求書) matched against its purchase order and deliveries (突合).

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub purchase_order_id: Uuid,
    pub invoice_number: String,
    pub invoiced_on: Date,
    /// `[{itemId, quantity, unitPrice}]`
    pub lines: Json,
    /// Sum of quantity × unit price, in yen.
    pub total: i64,
    pub match_status: InvoiceMatch,
    /// `[{itemId, field, expected, actual}]`; empty when matched.
    pub discrepancies: Json,
    pub recorded_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
