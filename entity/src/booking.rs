//! A reservation or loan of a loanable asset (貸出): reserved for future dates, checked out with a
//! due date, returned.

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub asset_id: Uuid,
    pub borrower_id: Uuid,
    pub org_unit_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub purpose: Option<String>,
    pub starts_at: DateTimeUtc,
    /// 返却予定
    pub due_at: DateTimeUtc,
    pub status: BookingStatus,
    pub checked_out_at: Option<DateTimeUtc>,
    pub returned_at: Option<DateTimeUtc>,
    /// When the borrower was told the loan is overdue (once).
    pub overdue_notified_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
