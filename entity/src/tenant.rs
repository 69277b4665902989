//! A tenant: an organisation that contracts the helpdesk (a city, a union, a board of education).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL- and CLI-safe short name, unique (`sakura-city`).
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// Prefix of readable ticket numbers (`HD` in `HD-2026-000123`).
    pub ticket_prefix: String,
    /// The helpdesk's own mail address for this tenant.
    pub helpdesk_email: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// Returns a select for the tenant with this slug.
    pub fn find_by_slug(slug: &str) -> Select<Entity> {
        Self::find().filter(Column::Slug.eq(slug))
    }
}
