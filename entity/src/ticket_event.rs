//! The append-only history of a ticket (履歴): who did what, when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// `None` for the system (the SLA job, the mail ingester).
    pub actor_id: Option<Uuid>,
    /// `created`, `updated`, `commented`, `status_changed`, `assigned`, `escalated`, `sla_breached`...
    pub kind: String,
    /// Kind-specific details: changed fields with old and new values, comment id, breach type.
    pub payload: Json,
    /// Whether only the helpdesk may see this event (internal comments).
    pub internal: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
