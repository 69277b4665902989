//! A seat of a license given to an asset or a person; released seats keep their row.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub license_id: Uuid,
    pub asset_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub assigned_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
    pub assigned_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
