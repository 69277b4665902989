//! One change of stock (入出庫): receive, issue, adjust, return, used-toner collection.

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub item_id: Uuid,
    pub location: String,
    pub kind: MovementKind,
    /// How many units moved (positive).
    pub quantity: i32,
    /// The effect on stock (negative for issues; 0 for used-toner collection).
    pub delta: i32,
    /// Stock at the location after this movement.
    pub balance_after: i64,
    pub request_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub org_unit_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub actor_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
