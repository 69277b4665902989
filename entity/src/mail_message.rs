//! An inbound mail as received: stored (raw bytes in `blobs`) before anything is done with it,
//! then processed into a ticket or comment, ignored as automatic, or quarantined with a reason.

use crate::MailStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` when no tenant's address was among the recipients (quarantined).
    pub tenant_id: Option<Uuid>,
    /// `pipe`, `maildir` or `imap`.
    pub source: String,
    /// Where it came from within the source (maildir file name, `mailbox/uidvalidity/uid`).
    pub source_ref: Option<String>,
    /// What makes a redelivery the same message: SHA-256 over Message-ID, From, Date,
    /// Subject and body (trace headers added on the way are left out).
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub raw_sha256: String,
    pub raw_size: i64,
    pub from_address: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    /// The Date header.
    pub sent_at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
    pub status: MailStatus,
    /// What processing did: `created`, `commented`, `bounce`.
    pub action: Option<String>,
    /// Why it was ignored or quarantined (a stable code such as `auto_submitted`).
    pub reason: Option<String>,
    /// The reason in words, in Japanese, for agents.
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub attempts: i32,
    pub ticket_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
