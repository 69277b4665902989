//! A department's request for consumables (払い出し申請): requested, approved, issued with the
//! signed receipt (受領書) recorded.

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "supply_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// 申請番号 (`SR-2026-000012`).
    pub number: String,
    pub item_id: Uuid,
    pub quantity: i32,
    pub org_unit_id: Option<Uuid>,
    pub requested_by: Uuid,
    /// The printer the toner is for.
    pub printer_asset_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub status: SupplyRequestStatus,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_note: Option<String>,
    pub issued_location: Option<String>,
    pub issued_at: Option<DateTimeUtc>,
    /// Who signed and stamped the receipt (押捺済受領書).
    pub receipt_signed_by: Option<String>,
    pub receipt_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
