//! Someone else who follows a ticket: colleagues on Cc of the mail that opened or replied to it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_watchers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: Uuid,
    /// Lower-cased address.
    #[sea_orm(primary_key, auto_increment = false)]
    pub email: String,
    pub tenant_id: Uuid,
    /// Set when the address is a known person.
    pub person_id: Option<Uuid>,
    /// `mail_cc`, or `mail_from` for an unknown sender kept in triage.
    pub source: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
