//! One self-service password reset, from the request in chat to the new password set in the
//! directory. The password itself is never here; the one-time link only as a hash.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "password_resets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Whose password is reset.
    pub person_id: Uuid,
    /// Who asked (the person, or a teacher for a student of their school).
    pub requested_by: Uuid,
    /// The chat it was asked in (told the outcome).
    pub conversation_id: Option<Uuid>,
    /// The mailed second factor (`chat_codes`).
    pub code_id: Option<Uuid>,
    /// `code_sent`, `link_sent`, `applying`, `done`, `locked` (wrong codes), `failed`.
    pub status: String,
    pub tries: i32,
    /// Hex SHA-256 of the one-time link's token.
    pub link_hash: Option<String>,
    pub link_expires_at: Option<DateTimeUtc>,
    pub used_at: Option<DateTimeUtc>,
    /// The auto-resolved service request that records it.
    pub ticket_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
