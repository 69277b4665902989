//! A mail we send (acknowledgement, public comment, resolution): kept with its Message-ID so
//! replies thread and bounces find it; sent by a job.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbound")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Option<Uuid>,
    /// `ack`, `comment` or `resolved`.
    pub kind: String,
    /// Without angle brackets.
    #[sea_orm(unique)]
    pub message_id: String,
    pub to_address: String,
    /// Comma-separated addresses on Cc.
    #[sea_orm(column_type = "Text")]
    pub cc_addresses: String,
    #[sea_orm(column_type = "Text")]
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub in_reply_to: Option<String>,
    /// Space-separated Message-IDs.
    #[sea_orm(column_type = "Text")]
    pub references: String,
    /// `utf-8` or `iso-2022-jp`.
    pub charset: String,
    /// `queued`, `sent`, `failed` (gave up) or `bounced` (a DSN came back).
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
