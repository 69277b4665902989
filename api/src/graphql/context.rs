//! Per-process state and per-request session data available to resolvers.

use super::errors::{ApiError, ApiResult};
use super::loaders::Loaders;
use async_graphql::Context;
use entity::ticket_event;
use service::directory_cache::DirectoryCache;
use service::tickets::TicketScopeKey;
use service::{Actor, Db};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A ticket event as published to live subscribers, with what scope filtering needs.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub event: ticket_event::Model,
    pub scope: TicketScopeKey,
}

/// Process-wide state shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub live: broadcast::Sender<LiveEvent>,
    /// Directory rows shared by all requests for a short time.
    pub directory: Arc<DirectoryCache>,
    /// The full-text index and synonyms.
    pub search: Arc<service::search::Search>,
}

impl AppState {
    /// Publishes events to live subscribers; nobody listening is fine.
    pub fn publish(&self, scope: TicketScopeKey, events: &[ticket_event::Model]) {
        for e in events {
            let _ = self.live.send(LiveEvent {
                event: e.clone(),
                scope,
            });
        }
    }
}

/// Who is asking, for one request (or one WebSocket connection).
#[derive(Clone)]
pub struct Session {
    pub actor: Option<Actor>,
}

/// Shorthands for resolvers.
pub trait CtxExt {
    /// Returns the acting person or `UNAUTHENTICATED`.
    fn actor(&self) -> ApiResult<&Actor>;
    /// Returns the shared state.
    fn state(&self) -> &AppState;
    /// Returns the request's DataLoaders (present whenever an actor is).
    fn loaders(&self) -> ApiResult<&Loaders>;
}

impl CtxExt for Context<'_> {
    fn actor(&self) -> ApiResult<&Actor> {
        self.data_opt::<Session>()
            .and_then(|s| s.actor.as_ref())
            .ok_or_else(|| ApiError::Unauthenticated.into())
    }

    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn loaders(&self) -> ApiResult<&Loaders> {
        self.data_opt::<Loaders>()
            .ok_or_else(|| ApiError::Unauthenticated.into())
    }
}
