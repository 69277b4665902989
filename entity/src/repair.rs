//! A repair of a broken device: its ticket, the spare swapped in, vendor dispatch and return,
//! re-kitting, and the damage report (損傷始末書).

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "repairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub asset_id: Uuid,
    pub ticket_id: Option<Uuid>,
    /// 代替機
    pub spare_asset_id: Option<Uuid>,
    pub vendor_id: Option<Uuid>,
    pub status: RepairStatus,
    #[sea_orm(column_type = "Text", nullable)]
    pub fault: Option<String>,
    /// 損傷始末書: `{submittedOn, submittedBy, orgUnit, circumstances, hearing}`.
    pub damage_report: Option<Json>,
    /// The vendor's repair number.
    pub vendor_reference: Option<String>,
    pub dispatched_at: Option<DateTimeUtc>,
    pub returned_at: Option<DateTimeUtc>,
    pub rekitted_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
