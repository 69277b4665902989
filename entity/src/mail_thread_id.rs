//! A Message-ID known to belong to a ticket's thread: inbound mail, mail we sent, and the
//! ids an inbound mail referred to (so an original that arrives after its reply still threads).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_thread_ids")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Without angle brackets, as mail-parser gives it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: String,
    pub ticket_id: Uuid,
    /// `inbound`, `outbound` or `reference`.
    pub origin: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
