//! A one-time code sent to a person's registered mail address (to link a chat account, or
//! as the second factor of a password reset). Only its salted hash is kept.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    pub person_id: Uuid,
    /// `link` or `reset`.
    pub purpose: String,
    /// Hex SHA-256 of the id and the code.
    pub code_hash: String,
    /// Wrong codes entered so far.
    pub tries: i32,
    pub expires_at: DateTimeUtc,
    /// Set when the code was used, or when it was given up after too many tries.
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
