//! An account on a chat platform (a LINE user, a Teams user) as the bot knows it, and the
//! person it is linked to once they have proved who they are. Unlinked accounts get FAQ
//! answers only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `line`, `teams` or `line_works`.
    pub platform: String,
    /// The platform's user id (LINE `userId`, Teams `aadObjectId`).
    pub external_id: String,
    pub display_name: Option<String>,
    pub person_id: Option<Uuid>,
    /// How the link was proved: `mail_code`, `line_account_link`, `aad`.
    pub link_method: Option<String>,
    pub linked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
