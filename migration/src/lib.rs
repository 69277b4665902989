//! Madoguchi's database migrations. Every migration must run on SQLite and PostgreSQL;
//! the test suite runs them on both.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_core;
mod m20261122_000002_append_only_history;
mod m20261122_000003_faq_and_search;
mod m20261123_000004_mail;
mod m20261129_000005_mail_cc;
mod m20261130_000006_chat;
mod m20261130_000007_password_reset;
mod m20261130_000008_link_nonces;
mod m20261130_000009_ledgers;

/// Runs Madoguchi's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_core::Migration),
            Box::new(m20261122_000002_append_only_history::Migration),
            Box::new(m20261122_000003_faq_and_search::Migration),
            Box::new(m20261123_000004_mail::Migration),
            Box::new(m20261129_000005_mail_cc::Migration),
            Box::new(m20261130_000006_chat::Migration),
            Box::new(m20261130_000007_password_reset::Migration),
            Box::new(m20261130_000008_link_nonces::Migration),
            Box::new(m20261130_000009_ledgers::Migration),
        ]
    }
}
