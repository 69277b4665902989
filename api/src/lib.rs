//! The `madoguchi` server: GraphQL over actix-web, JWT auth, configuration, telemetry, CLI.

pub mod auth;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod link_page;
pub mod reset_page;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod webhooks;
