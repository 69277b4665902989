//! A consumable (消耗品): toner, ink, masters, mice, headsets, security USB sticks, cables.

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consumable_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// 品目コード, unique per tenant (the import key).
    pub code: String,
    pub name: String,
    pub category: ConsumableCategory,
    /// 単位 (本, 個, 箱).
    pub unit: String,
    /// 単価 in yen.
    pub unit_price: i64,
    /// 発注点: total stock at or below this suggests a reorder.
    pub reorder_point: i32,
    /// 発注数
    pub reorder_quantity: i32,
    pub supplier: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
