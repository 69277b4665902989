//! One turn of a chat (what the user said, or one reply of the bot), appended as it happens.
//! A ticket opened from the chat carries the latest turns; nothing rewrites them, and the
//! maintenance task deletes them after their retention (`service::chat::TURN_RETENTION_DAYS`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_turns")]
pub struct Model {
    /// Insertion order, which is the order of the turns.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    /// `user` or `bot`.
    pub speaker: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
