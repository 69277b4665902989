//! A tenant's mail rules; a tenant without a row uses the defaults in `service::mail`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_mail_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// `contact` (add the sender to the directory as a requester) or `triage`
    /// (open the ticket without a requester for an agent to sort out).
    pub unknown_sender: String,
    /// `utf-8` or `iso-2022-jp` (for old receivers).
    pub outgoing_charset: String,
    /// New tickets one sender may open by mail in an hour; more are quarantined.
    pub sender_rate_per_hour: i32,
    /// Larger attachments are recorded but not copied out of the raw mail.
    pub max_attachment_bytes: i64,
    /// Further addresses of ours (aliases, the SMTP sender), comma-separated; mail from
    /// them is never turned into tickets.
    #[sea_orm(column_type = "Text")]
    pub own_addresses: String,
    /// Mail requesters an acknowledgement with the ticket number when their mail opens one.
    pub acknowledge: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
