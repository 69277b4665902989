//! The GraphQL contract: schema, resolvers and their conventions (GitHub's): `Node` and
//! `node(id:)`, opaque IDs, keyset connections, one-input mutations with `userErrors`.

pub mod calendars;
pub mod context;
pub mod enums;
pub mod errors;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod pagination;
pub mod query;
pub mod subscription;
pub mod types;

use crate::config::GraphqlConfig;
use async_graphql::{Schema, SchemaBuilder};
use context::AppState;

/// The executable schema.
pub type AppSchema =
    Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

fn builder()
-> SchemaBuilder<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot> {
    Schema::build(
        query::QueryRoot,
        mutation::MutationRoot,
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
