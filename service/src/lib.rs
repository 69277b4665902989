//! The helpdesk's rules: tickets and the SLA clock, the directory, scope, demo data.
//!
//! Plain async functions over a connection and an [`auth::Actor`]; no HTTP, no GraphQL.
//! Every function enforces the actor's tenant and role scope itself.

pub mod auth;
pub mod calendar;
pub mod calendars;
pub mod chat;
pub mod db;
mod deferred;
pub mod demo;
pub mod directory;
pub mod directory_cache;
pub mod error;
pub mod faq;
pub mod jobs;
pub mod ledger;
pub mod mail;
pub mod page;
pub mod reset;
pub mod search;
pub mod secret;
pub mod sla;
pub mod tickets;
pub mod tz;

pub use auth::{Actor, Role, RoleSet};
pub use db::Db;
pub use error::{ServiceError, ServiceResult, UserError};
pub use secret::Secret;
