//! A chat (a 1:1 chat with the bot, or a group/channel it is in): where replies and ticket
//! updates go, the dialog state, and its turns (`chat_turn`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub platform: String,
    /// LINE: the `userId`, `groupId` or `roomId` to push to; Teams: the conversation id.
    pub conversation_ref: String,
    /// `personal` or `group`.
    pub kind: String,
    /// The account of a personal chat.
    pub account_id: Option<Uuid>,
    /// Teams: the `serviceUrl` replies go to.
    #[sea_orm(column_type = "Text", nullable)]
    pub service_url: Option<String>,
    /// The dialog state (`service::chat::DialogState`).
    pub state: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
