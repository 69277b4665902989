//! Live ticket events over graphql-transport-ws at `/graphql/ws`.

use super::context::{CtxExt, LiveEvent};
use super::ids::{self, NodeType};
use super::types::TicketEvent;
use async_graphql::{Context, ID, Subscription};
use futures::{Stream, StreamExt};
use service::tickets;
use tokio_stream::wrappers::BroadcastStream;

/// The root subscription.
pub struct SubscriptionRoot;

/// The root subscription, served over graphql-transport-ws at `/graphql/ws`.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Ticket history events as they happen, limited to what the viewer may see; optionally
    /// for one ticket only.
    async fn ticket_events(
        &self,
        ctx: &Context<'_>,
        ticket_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = TicketEvent>> {
        let actor = ctx.actor()?.clone();
        let only = ids::decode_opt(ticket_id.as_ref(), NodeType::Ticket)?;
        if let Some(id) = only {
            // Refuse at once (NOT_FOUND) rather than stream nothing for a ticket out of scope.
            crate::graphql::errors::svc(tickets::get(&ctx.state().db.read, &actor, id).await)?;
        }
        let rx = ctx.state().live.subscribe();
        Ok(BroadcastStream::new(rx).filter_map(move |msg| {
            let actor = actor.clone();
            async move {
                let LiveEvent { event, scope } = match msg {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "subscriber lagged; events skipped");
                        return None;
                    }
                };
                let visible = tickets::can_read(&actor, &scope)
                    && (!event.internal || tickets::can_see_internal(&actor))
                    && only.is_none_or(|id| id == event.ticket_id);
                visible.then_some(TicketEvent(event))
            }
        }))
    }
}
