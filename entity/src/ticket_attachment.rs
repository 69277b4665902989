//! A file attached to a ticket (from mail so far); the bytes live in `blobs`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub mail_message_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// `None` when the file was over the size limit and not copied (the raw mail keeps it).
    pub sha256: Option<String>,
    /// `executable`, `macro` or `too_large`: shown on the ticket as a warning.
    pub flag: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
