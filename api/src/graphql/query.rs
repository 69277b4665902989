//! The root query.

use super::calendars::{DeskCalendar, SlaPolicy};
use super::context::CtxExt;
use super::enums::*;
use super::errors::{ApiError, ApiResult, svc};
use super::ids::{self, NodeType};
use super::pagination;
use super::types::*;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use service::page::Direction;
use service::{directory, tickets};
use std::sync::Arc;

/// Which tickets to list. Every given field must match; lists match any of their values.
#[derive(InputObject, Default)]
pub struct TicketFilter {
    /// States to include.
    pub status: Option<Vec<TicketStatus>>,
    /// Kinds to include.
    pub kind: Option<Vec<TicketKind>>,
    /// Priorities to include.
    pub priority: Option<Vec<Priority>>,
    /// Assignees (Person IDs).
    pub assignee_ids: Option<Vec<ID>>,
    /// Only unassigned (true) or only assigned (false) tickets.
    pub unassigned: Option<bool>,
    /// Requesters (Person IDs).
    pub requester_ids: Option<Vec<ID>>,
    /// Org units, each including the units below it (教育委員会 includes its schools).
    pub org_unit_ids: Option<Vec<ID>>,
    /// Categories, each including its subcategories.
    pub category_ids: Option<Vec<ID>>,
    /// Escalation targets (Vendor IDs).
    pub escalation_target_ids: Option<Vec<ID>>,
    /// Opened at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Opened before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only tickets whose SLA was breached (true) or not (false).
    pub sla_breached: Option<bool>,
    /// Text the title or description contains (at most 200 characters).
    pub text_contains: Option<String>,
}

impl TicketFilter {
    fn into_service(self) -> ApiResult<tickets::TicketFilter> {
        if let Some(t) = &self.text_contains
            && t.chars().count() > 200
        {
            return Err(ApiError::BadInput(vec![service::UserError {
                field: vec!["filterBy".into(), "textContains".into()],
                message: "200文字以内で入力してください".into(),
                code: "TOO_LONG",
            }])
            .into());
        }
        Ok(tickets::TicketFilter {
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            kinds: self
                .kind
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            priorities: self
                .priority
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            assignee_ids: ids::decode_list(self.assignee_ids.as_ref(), NodeType::Person)?,
            unassigned: self.unassigned,
            requester_ids: ids::decode_list(self.requester_ids.as_ref(), NodeType::Person)?,
            org_unit_ids: ids::decode_list(self.org_unit_ids.as_ref(), NodeType::OrgUnit)?,
            category_ids: ids::decode_list(self.category_ids.as_ref(), NodeType::TicketCategory)?,
            escalation_vendor_ids: ids::decode_list(
                self.escalation_target_ids.as_ref(),
                NodeType::Vendor,
            )?,
            created_after: self.created_after,
            created_before: self.created_before,
            sla_breached: self.sla_breached,
            text_contains: self.text_contains,
        })
    }
}

/// How to order tickets.
#[derive(InputObject)]
pub struct TicketOrder {
    /// The field to order by; ties are broken by id.
    pub field: TicketOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

/// Resolves a global ID to a node the actor may see.
async fn resolve_node(ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
    let actor = ctx.actor()?;
    let loaders = ctx.loaders()?;
    let db = &ctx.state().db.read;
    let (ty, uuid) = ids::decode_any(&id)?;
    Ok(match ty {
        NodeType::Ticket => loaders
            .tickets
            .load_one(uuid)
            .await?
            .map(|t| Node::Ticket(Ticket::from(t))),
        NodeType::Person => loaders
            .people
            .load_one(uuid)
            .await?
            .map(|p| Node::Person(Person(p))),
        NodeType::OrgUnit => loaders
            .org_units
            .load_one(uuid)
            .await?
            .map(|o| Node::OrgUnit(OrgUnit(o))),
        NodeType::TicketCategory => loaders
            .categories
            .load_one(uuid)
            .await?
            .map(|c| Node::TicketCategory(TicketCategory(c))),
        NodeType::Vendor => {
            let visible = svc(directory::vendors(db, actor).await)?;
            visible
                .into_iter()
                .find(|v| v.id == uuid)
                .map(|v| Node::Vendor(Vendor(Arc::new(v))))
        }
        NodeType::FaqArticle => match service::faq::get(db, actor, uuid).await {
            Ok(a) => Some(Node::FaqArticle(super::search::FaqArticle(a))),
            Err(service::ServiceError::NotFound) => None,
            Err(e) => return Err(super::errors::ApiError::from(e).into()),
        },
        NodeType::TicketComment => svc(tickets::comment_by_id(db, actor, uuid).await)?
            .map(|c| Node::TicketComment(TicketComment(c))),
        NodeType::TicketEvent => svc(tickets::event_by_id(db, actor, uuid).await)?
            .map(|e| Node::TicketEvent(TicketEvent(e))),
        NodeType::DeskCalendar => match service::calendars::get(db, actor, uuid).await {
            Ok(row) => Some(Node::DeskCalendar(DeskCalendar::new(row)?)),
            Err(service::ServiceError::NotFound | service::ServiceError::Forbidden(_)) => None,
            Err(e) => return Err(super::errors::ApiError::from(e).into()),
        },
        NodeType::SlaPolicy => match service::calendars::policies(db, actor).await {
            Ok(list) => list
                .into_iter()
                .find(|p| p.id == uuid)
                .map(|p| Node::SlaPolicy(SlaPolicy(p))),
            Err(service::ServiceError::Forbidden(_)) => None,
            Err(e) => return Err(super::errors::ApiError::from(e).into()),
        },
        NodeType::MailMessage => match service::mail::quarantine::get(db, actor, uuid).await {
            Ok(m) => Some(Node::MailMessage(super::mail::MailMessage(m))),
            Err(service::ServiceError::NotFound | service::ServiceError::Forbidden(_)) => None,
            Err(e) => return Err(super::errors::ApiError::from(e).into()),
        },
        NodeType::Tenant
        | NodeType::AssetEvent
        | NodeType::LicenseAssignment
        | NodeType::StockMovement => None,
        NodeType::Asset
        | NodeType::Booking
        | NodeType::Repair
        | NodeType::License
        | NodeType::ConsumableItem
        | NodeType::SupplyRequest
        | NodeType::PurchaseOrder => super::ledger::resolve_node(ctx, ty, uuid).await?,
    })
}

/// The root query.
#[derive(Default)]
pub struct QueryRoot;

/// The root query: everything is scoped to the viewer's tenant and role.
#[Object(name = "TicketQuery")]
impl QueryRoot {
    /// Fetches any object by its global ID. Objects outside the viewer's scope are null.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        resolve_node(ctx, id).await
    }

    /// Fetches several objects by global ID, in order; null where not visible.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > pagination::MAX_PAGE as usize {
            return Err(ApiError::BadInput(vec![service::UserError {
                field: vec!["ids".into()],
                message: "一度に指定できるIDは100件までです".into(),
                code: "OUT_OF_RANGE",
            }])
            .into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(resolve_node(ctx, id).await?);
        }
        Ok(out)
    }

    /// The person making the request.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        let actor = ctx.actor()?;
        let db = &ctx.state().db.read;
        let person = svc(directory::person(db, actor.tenant_id, actor.person_id).await)?
            .ok_or_else(|| async_graphql::Error::from(ApiError::NotFound))?;
        let tenant = svc(directory::tenant(db, actor.tenant_id).await)?
            .ok_or_else(|| async_graphql::Error::from(ApiError::NotFound))?;
        Ok(Viewer {
            person,
            tenant,
            roles: actor.roles.iter().map(Into::into).collect(),
        })
    }

    /// A ticket by its readable number (`HD-2026-000123`). Errors with NOT_FOUND outside scope.
    async fn ticket(&self, ctx: &Context<'_>, number: String) -> ApiResult<Ticket> {
        let actor = ctx.actor()?;
        if number.len() > 64 {
            return Err(ApiError::NotFound.into());
        }
        Ok(Ticket::from(svc(tickets::get_by_number(
            &ctx.state().db.read,
            actor,
            &number,
        )
        .await)?))
    }

    /// Tickets in the viewer's scope: the whole tenant for the desk, their own for requesters,
    /// what was escalated to them for vendors. Keyset-paginated: `first` (max 100) and `after`.
    #[graphql(complexity = "5 + first.unwrap_or(20) as usize * child_complexity")]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        order_by: Option<TicketOrder>,
        filter_by: Option<TicketFilter>,
    ) -> ApiResult<TicketConnection> {
        let actor = ctx.actor()?;
        let (first, after) = pagination::args(first, after.as_deref())?;
        let filter = filter_by.unwrap_or_default().into_service()?;
        let order = order_by
            .map(|o| tickets::TicketOrder {
                field: match o.field {
                    TicketOrderField::CreatedAt => tickets::TicketOrderField::CreatedAt,
                    TicketOrderField::UpdatedAt => tickets::TicketOrderField::UpdatedAt,
                    TicketOrderField::Number => tickets::TicketOrderField::Number,
                    TicketOrderField::Priority => tickets::TicketOrderField::Priority,
                },
                direction: match o.direction {
                    OrderDirection::Asc => Direction::Asc,
                    OrderDirection::Desc => Direction::Desc,
                },
            })
            .unwrap_or_default();
        let has_previous = after.is_some();
        // Read only the columns the selection shows (`nodes { … }` and `edges { node { … } }`).
        let look = ctx.look_ahead();
        let columns = ticket_columns(
            look.field("nodes")
                .selection_fields()
                .into_iter()
                .chain(look.field("edges").field("node").selection_fields())
                .flat_map(|f| f.selection_set().collect::<Vec<_>>()),
        );
        let page = svc(tickets::list_view(
            &ctx.state().db.read,
            actor,
            &filter,
            order,
            first,
            after.as_ref(),
            columns,
        )
        .await)?;
        let edges = page
            .items
            .into_iter()
            .map(|t| TicketEdge {
                order: order.field,
                node: Ticket::from(t),
            })
            .collect();
        Ok(TicketConnection {
            edges,
            has_next: page.has_next,
            has_previous,
            filter,
        })
    }

    /// The tenant's org units (所属), in display order.
    async fn org_units(&self, ctx: &Context<'_>) -> ApiResult<Vec<OrgUnit>> {
        let actor = ctx.actor()?;
        Ok(
            svc(directory::org_units(&ctx.state().db.read, actor).await)?
                .into_iter()
                .map(|m| OrgUnit(Arc::new(m)))
                .collect(),
        )
    }

    /// The tenant's ticket categories (分類), in display order.
    async fn ticket_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<TicketCategory>> {
        let actor = ctx.actor()?;
        Ok(
            svc(directory::categories(&ctx.state().db.read, actor).await)?
                .into_iter()
                .map(|m| TicketCategory(Arc::new(m)))
                .collect(),
        )
    }

    /// Escalation targets: all for the desk, its own for a vendor, none for requesters.
    async fn vendors(&self, ctx: &Context<'_>) -> ApiResult<Vec<Vendor>> {
        let actor = ctx.actor()?;
        Ok(svc(directory::vendors(&ctx.state().db.read, actor).await)?
            .into_iter()
            .map(|m| Vendor(Arc::new(m)))
            .collect())
    }

    /// The tenant's desk calendars, the default first (desk only).
    async fn desk_calendars(&self, ctx: &Context<'_>) -> ApiResult<Vec<DeskCalendar>> {
        let actor = ctx.actor()?;
        svc(service::calendars::list(&ctx.state().db.read, actor).await)?
            .into_iter()
            .map(DeskCalendar::new)
            .collect()
    }

    /// The tenant's SLA policies (desk only).
    async fn sla_policies(&self, ctx: &Context<'_>) -> ApiResult<Vec<SlaPolicy>> {
        let actor = ctx.actor()?;
        Ok(
            svc(service::calendars::policies(&ctx.state().db.read, actor).await)?
                .into_iter()
                .map(SlaPolicy)
                .collect(),
        )
    }

    /// Desk people who can be assigned tickets (desk only).
    async fn agents(&self, ctx: &Context<'_>) -> ApiResult<Vec<Person>> {
        let actor = ctx.actor()?;
        Ok(svc(directory::agents(&ctx.state().db.read, actor).await)?
            .into_iter()
            .map(|m| Person(Arc::new(m)))
            .collect())
    }
}
