//! A sign-in on madoguchi's account-link page: the mailed code the person must enter, then
//! the nonce handed to LINE and matched when LINE's `accountLink` event comes back.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_nonces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// `None` when the address given is not registered (the page behaves the same).
    pub person_id: Option<Uuid>,
    pub platform: String,
    /// Hex SHA-256 of the id and the code.
    pub code_hash: String,
    pub tries: i32,
    pub expires_at: DateTimeUtc,
    /// Hex SHA-256 of the nonce, once the code was right.
    pub nonce_hash: Option<String>,
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
