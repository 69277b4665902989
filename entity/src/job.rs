//! The job queue: work that must happen after a commit and survive restarts (sending mail,
//! bot replies). Claimed with a lease, retried with backoff.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    /// What to do (`mail.send`).
    pub kind: String,
    /// Unique per kind: enqueueing the same work twice is a no-op.
    pub dedupe_key: String,
    pub payload: Json,
    /// `queued`, `done` or `failed` (gave up after `max_attempts`).
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTimeUtc,
    /// A worker holds the job until then; after that another may take it.
    pub locked_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
