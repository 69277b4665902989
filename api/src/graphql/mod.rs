//! The GraphQL contract: schema, resolvers and their conventions (GitHub's): `Node` and
//! `node(id:)`, opaque IDs, keyset connections, one-input mutations with `userErrors`.

pub mod calendars;
pub mod context;
pub mod documents;
pub mod enums;
pub mod errors;
pub mod ids;
pub mod json_text;
pub mod ledger;
pub mod loaders;
pub mod mail;
pub mod mutation;
pub mod pagination;
pub mod plain;
pub mod query;
pub mod search;
pub mod subscription;
pub mod types;

use crate::config::GraphqlConfig;
use async_graphql::{Schema, SchemaBuilder};
use context::AppState;

/// The root query: tickets and the directory, the FAQ and search, inbound mail, the ledgers.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    query::QueryRoot,
    search::SearchQuery,
    mail::MailQuery,
    mail::MailSettingsQuery,
    ledger::LedgerQuery,
);

/// The root mutation.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    mutation::MutationRoot,
    search::SearchMutation,
    mail::MailMutation,
    mail::MailSettingsMutation,
    ledger::LedgerMutation,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, subscription::SubscriptionRoot>;

fn builder() -> SchemaBuilder<Query, Mutation, subscription::SubscriptionRoot> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::SubscriptionRoot,
    )
    .register_output_type::<types::Node>()
}

/// Builds the schema with its limits and shared state.
pub fn build(state: AppState, limits: &GraphqlConfig) -> AppSchema {
    builder()
        .data(state)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(32)
        .finish()
}

/// Returns the SDL of the contract (what `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}
