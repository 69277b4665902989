//! Where an IMAP poller got to in a mailbox: the UIDVALIDITY it saw and the last UID it stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_sources")]
pub struct Model {
    /// `imap://user@host/INBOX`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub uid_validity: i64,
    pub last_uid: i64,
    pub idle_supported: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
