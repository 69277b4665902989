//! The append-only history of an asset: moved, assigned, loaned, repaired, inspected, retired.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "asset_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub asset_id: Uuid,
    pub actor_id: Option<Uuid>,
    /// `registered`, `updated`, `moved`, `assigned`, `loaned`, `returned`, `sent_to_repair`,
    /// `returned_from_repair`, `spare_swapped_in`, `inspected`, `retired`, `ticket_linked`...
    pub kind: String,
    pub payload: Json,
    /// The ticket the change was made for, if any.
    pub ticket_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
