//! Object types: thin views over service models, resolved through DataLoaders.

use super::context::CtxExt;
use super::enums::*;
use super::errors::ApiError;
use super::errors::{ApiResult, svc};
use super::ids::{NodeType, encode};
use super::pagination::{self, PageInfo};
use async_graphql::{Context, ID, Interface, Json, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    org_unit, person, tenant, ticket, ticket_category, ticket_comment, ticket_event, vendor,
};
use service::tickets::TicketColumns;
use service::{directory, tickets};
use std::borrow::Cow;
use std::sync::Arc;

/// An object with a global ID, fetchable with `node(id:)`.
// Nodes are built one at a time and handed straight to the executor; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The opaque global ID."))]
pub enum Node {
    Ticket(Ticket),
    TicketComment(TicketComment),
    TicketEvent(TicketEvent),
    Person(Person),
    OrgUnit(OrgUnit),
    TicketCategory(TicketCategory),
    Vendor(Vendor),
    DeskCalendar(super::calendars::DeskCalendar),
    SlaPolicy(super::calendars::SlaPolicy),
    FaqArticle(super::search::FaqArticle),
    MailMessage(super::mail::MailMessage),
    Asset(super::ledger::Asset),
    Booking(super::ledger::Booking),
    Repair(super::ledger::Repair),
    License(super::ledger::License),
    ConsumableItem(super::ledger::ConsumableItem),
    SupplyRequest(super::ledger::SupplyRequest),
    PurchaseOrder(super::ledger::PurchaseOrder),
}

/// A helpdesk ticket: an inquiry, incident, service request, security incident, problem or change.
///
/// A ticket from a list may hold only the columns its selection shows (see
/// [`ticket_columns`]); a field reads its columns through [`Ticket::row`], which loads the
/// whole row (batched) when they were not read.
pub struct Ticket {
    row: ticket::Model,
    loaded: TicketColumns,
}

impl From<ticket::Model> for Ticket {
    fn from(row: ticket::Model) -> Self {
        Self {
            row,
            loaded: TicketColumns::all(),
        }
    }
}

impl From<tickets::TicketView> for Ticket {
    fn from(v: tickets::TicketView) -> Self {
        Self {
            row: v.row,
            loaded: v.loaded,
        }
    }
}

/// The columns each `Ticket` field reads, by GraphQL field name; `None` for fields that read
/// nothing beyond the id, and for names `Ticket` does not have.
pub fn ticket_field_columns(field: &str) -> Option<TicketColumns> {
    use ticket::Column as C;
    const SLA: &[C] = &[
        C::SlaPolicyId,
        C::ResponseDueAt,
        C::ResolutionDueAt,
        C::FirstRespondedAt,
        C::SlaPausedAt,
        C::SlaPausedSecs,
        C::ResponseBreachedAt,
        C::ResolutionBreachedAt,
    ];
    const FAILURE_REPORT: &[C] = &[
        C::Cause,
        C::InterimMeasure,
        C::RecoveryOutlook,
        C::RecurrencePrevention,
        C::FailureReportDueAt,
        C::FailureReportSubmittedAt,
    ];
    const SECURITY_REGISTER: &[C] = &[
        C::SecurityOccurredOn,
        C::SecurityEvent,
        C::SecurityInterimAction,
        C::SecurityPermanentAction,
        C::SecurityReportStage,
    ];
    let columns: &[C] = match field {
        "number" => &[C::Number],
        "title" => &[C::Title],
        "description" => &[C::Description],
        "kind" => &[C::Kind],
        "channel" => &[C::Channel],
        "status" | "statusLabel" => &[C::Status],
        "priority" => &[C::Priority],
        "severity" => &[C::Severity],
        "impact" => &[C::Impact],
        "category" => &[C::CategoryId],
        "requester" => &[C::RequesterId],
        "orgUnit" => &[C::OrgUnitId],
        "assignee" => &[C::AssigneeId],
        "escalationTarget" => &[C::EscalationVendorId],
        "outOfScope" => &[C::OutOfScope],
        "outOfScopeSystem" => &[C::OutOfScopeSystem],
        "failureReport" => FAILURE_REPORT,
        "securityRegister" => SECURITY_REGISTER,
        "sla" => SLA,
        "resolvedAt" => &[C::ResolvedAt],
        "closedAt" => &[C::ClosedAt],
        "createdAt" => &[C::CreatedAt],
        "updatedAt" => &[C::UpdatedAt],
        "version" => &[C::Version],
        _ => return None,
    };
    Some(TicketColumns::of(columns))
}

/// The columns a selection of `Ticket` fields reads (fragments included).
pub fn ticket_columns<'a>(
    selection: impl IntoIterator<Item = async_graphql::SelectionField<'a>>,
) -> TicketColumns {
    selection
        .into_iter()
        .filter_map(|f| ticket_field_columns(f.name()))
        .fold(TicketColumns::id_only(), TicketColumns::union)
}

impl Ticket {
    /// The row as read, and which of its columns were read (the others hold placeholders).
    pub(crate) fn parts(&self) -> (&ticket::Model, TicketColumns) {
        (&self.row, self.loaded)
    }

    /// The row with the columns `field` reads: the list's own row when it has them, else the
    /// whole row through the ticket loader (batched across the list).
    async fn row(&self, ctx: &Context<'_>, field: &str) -> ApiResult<Cow<'_, ticket::Model>> {
        let needed = ticket_field_columns(field).unwrap_or(TicketColumns::id_only());
        if self.loaded.contains(needed) {
            return Ok(Cow::Borrowed(&self.row));
        }
        let full = ctx.loaders()?.ticket(self.row.id).await?;
        full.map(Cow::Owned)
            .ok_or_else(|| ApiError::NotFound.into())
    }
}

/// 障害報告書: the failure report a resolved incident owes within three business days.
#[derive(SimpleObject)]
pub struct FailureReport {
    /// 発生原因
    cause: Option<String>,
    /// 暫定対応
    interim_measure: Option<String>,
    /// 復旧見込み
    recovery_outlook: Option<String>,
    /// 再発防止策
    recurrence_prevention: Option<String>,
    /// When the report is due (3 business days after resolution, on the desk calendar).
    due_at: Option<DateTime<Utc>>,
    /// When the report was submitted.
    submitted_at: Option<DateTime<Utc>>,
    /// Whether the report is due and not submitted yet.
    overdue: bool,
}

/// セキュリティインシデント台帳の記載事項.
#[derive(SimpleObject)]
pub struct SecurityRegister {
    /// 発生年月日
    occurred_on: Option<NaiveDate>,
    /// 事象
    event: Option<String>,
    /// 一時対応
    interim_action: Option<String>,
    /// 恒久対応
    permanent_action: Option<String>,
    /// How far reporting has gone (第一報・中間報告・最終報告).
    report_stage: Option<SecurityReportStage>,
}

/// The SLA clock of a ticket.
#[derive(SimpleObject)]
pub struct TicketSla {
    /// When the first response (着手) is due.
    response_due_at: Option<DateTime<Utc>>,
    /// When resolution (復旧・解決) is due; moves later while waiting on the requester.
    resolution_due_at: Option<DateTime<Utc>>,
    /// When the desk first responded.
    first_responded_at: Option<DateTime<Utc>>,
    /// Set while the clock is paused (waiting on the requester).
    paused_at: Option<DateTime<Utc>>,
    /// Seconds of clock time spent paused so far.
    paused_seconds: i64,
    /// When the response target was missed, if it was.
    response_breached_at: Option<DateTime<Utc>>,
    /// When the resolution target was missed, if it was.
    resolution_breached_at: Option<DateTime<Utc>>,
    /// Whether either target was missed.
    breached: bool,
}

/// A helpdesk ticket: an inquiry, incident, service request, security incident, problem or change.
#[Object]
impl Ticket {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::Ticket, self.row.id)
    }
    /// Readable number, unique per tenant (`HD-2026-000123`); used on the phone and in mail subjects.
    async fn number(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.row(ctx, "number").await?.number.clone())
    }
    /// 件名
    async fn title(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.row(ctx, "title").await?.title.clone())
    }
    /// 内容
    async fn description(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.row(ctx, "description").await?.description.clone())
    }
    /// What kind of work this is.
    async fn kind(&self, ctx: &Context<'_>) -> ApiResult<TicketKind> {
        Ok(self.row(ctx, "kind").await?.kind.into())
    }
    /// Where it came in.
    async fn channel(&self, ctx: &Context<'_>) -> ApiResult<Channel> {
        Ok(self.row(ctx, "channel").await?.channel.into())
    }
    /// Workflow state.
    async fn status(&self, ctx: &Context<'_>) -> ApiResult<TicketStatus> {
        Ok(self.row(ctx, "status").await?.status.into())
    }
    /// Workflow state in Japanese, as shown to people (対応中).
    async fn status_label(&self, ctx: &Context<'_>) -> ApiResult<&'static str> {
        Ok(tickets::workflow::label_ja(
            self.row(ctx, "statusLabel").await?.status,
        ))
    }
    /// Priority.
    async fn priority(&self, ctx: &Context<'_>) -> ApiResult<Priority> {
        Ok(self.row(ctx, "priority").await?.priority.into())
    }
    /// 障害レベル
    async fn severity(&self, ctx: &Context<'_>) -> ApiResult<Option<Severity>> {
        Ok(self.row(ctx, "severity").await?.severity.map(Into::into))
    }
    /// 業務影響範囲
    async fn impact(&self, ctx: &Context<'_>) -> ApiResult<Option<Impact>> {
        Ok(self.row(ctx, "impact").await?.impact.map(Into::into))
    }
    /// 分類
    async fn category(&self, ctx: &Context<'_>) -> ApiResult<Option<TicketCategory>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .category(self.row(ctx, "category").await?.category_id)
            .await?
            .map(TicketCategory))
    }
    /// The person who asked (依頼者).
    async fn requester(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .person(self.row(ctx, "requester").await?.requester_id)
            .await?
            .map(Person))
    }
    /// The requester's org unit (所属).
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .org_unit(self.row(ctx, "orgUnit").await?.org_unit_id)
            .await?
            .map(OrgUnit))
    }
    /// The desk person working it (担当者).
    async fn assignee(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .person(self.row(ctx, "assignee").await?.assignee_id)
            .await?
            .map(Person))
    }
    /// The vendor it is (or was last) escalated to (二次対応先).
    async fn escalation_target(&self, ctx: &Context<'_>) -> ApiResult<Option<Vendor>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .vendor(
                self.row(ctx, "escalationTarget")
                    .await?
                    .escalation_vendor_id,
            )
            .await?
            .map(Vendor))
    }
    /// 切り分け: the matter belongs to another system or contract.
    async fn out_of_scope(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(self.row(ctx, "outOfScope").await?.out_of_scope)
    }
    /// The other system, when out of scope.
    async fn out_of_scope_system(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(self
            .row(ctx, "outOfScopeSystem")
            .await?
            .out_of_scope_system
            .clone())
    }
    /// 障害報告書 fields.
    async fn failure_report(&self, ctx: &Context<'_>) -> ApiResult<FailureReport> {
        let t = self.row(ctx, "failureReport").await?;
        Ok(FailureReport {
            cause: t.cause.clone(),
            interim_measure: t.interim_measure.clone(),
            recovery_outlook: t.recovery_outlook.clone(),
            recurrence_prevention: t.recurrence_prevention.clone(),
            due_at: t.failure_report_due_at,
            submitted_at: t.failure_report_submitted_at,
            overdue: t.failure_report_submitted_at.is_none()
                && t.failure_report_due_at.is_some_and(|d| d < Utc::now()),
        })
    }
    /// セキュリティインシデント台帳 fields.
    async fn security_register(&self, ctx: &Context<'_>) -> ApiResult<SecurityRegister> {
        let t = self.row(ctx, "securityRegister").await?;
        Ok(SecurityRegister {
            occurred_on: t.security_occurred_on,
            event: t.security_event.clone(),
            interim_action: t.security_interim_action.clone(),
            permanent_action: t.security_permanent_action.clone(),
            report_stage: t
                .security_report_stage
                .as_deref()
                .and_then(SecurityReportStage::from_db),
        })
    }
    /// The SLA clock.
    async fn sla(&self, ctx: &Context<'_>) -> ApiResult<TicketSla> {
        let t = self.row(ctx, "sla").await?;
        Ok(TicketSla {
            response_due_at: t.response_due_at,
            resolution_due_at: t.resolution_due_at,
            first_responded_at: t.first_responded_at,
            paused_at: t.sla_paused_at,
            paused_seconds: t.sla_paused_secs,
            response_breached_at: t.response_breached_at,
            resolution_breached_at: t.resolution_breached_at,
            breached: t.response_breached_at.is_some() || t.resolution_breached_at.is_some(),
        })
    }
    /// When it was resolved.
    async fn resolved_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.row(ctx, "resolvedAt").await?.resolved_at)
    }
    /// When it was closed.
    async fn closed_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime<Utc>>> {
        Ok(self.row(ctx, "closedAt").await?.closed_at)
    }
    /// When it was opened.
    async fn created_at(&self, ctx: &Context<'_>) -> ApiResult<DateTime<Utc>> {
        Ok(self.row(ctx, "createdAt").await?.created_at)
    }
    /// When it last changed.
    async fn updated_at(&self, ctx: &Context<'_>) -> ApiResult<DateTime<Utc>> {
        Ok(self.row(ctx, "updatedAt").await?.updated_at)
    }
    /// Bumped on every change; pass it as `expectedVersion` to update safely.
    async fn version(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        Ok(self.row(ctx, "version").await?.version)
    }
    /// Comments, oldest first. Internal comments only for the desk.
    #[graphql(complexity = "5 + first.unwrap_or(20) as usize * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<TicketCommentConnection> {
        let actor = ctx.actor()?;
        let (first, after) = pagination::args(first, after.as_deref())?;
        // The first page batches across a list of tickets; later pages are per ticket.
        let page = match after {
            None => ctx
                .loaders()?
                .first_comments
                .load_one((self.row.id, first))
                .await?
                .unwrap_or_default(),
            Some(after) => svc(tickets::comments(
                &ctx.state().db.read,
                actor,
                self.row.id,
                first,
                Some(&after),
            )
            .await)?,
        };
        Ok(TicketCommentConnection {
            ticket_id: self.row.id,
            edges: page
                .items
                .into_iter()
                .map(|c| TicketCommentEdge {
                    cursor: pagination::id_cursor(c.id),
                    node: TicketComment(c),
                })
                .collect(),
            has_next: page.has_next,
        })
    }
    /// Assets (devices) linked to this ticket that the viewer may see.
    async fn assets(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::ledger::Asset>> {
        let actor = ctx.actor()?;
        Ok(
            svc(
                service::ledger::assets::of_ticket(&ctx.state().db.read, actor, self.row.id).await,
            )?
            .into_iter()
            .map(super::ledger::Asset)
            .collect(),
        )
    }
    /// History, oldest first (履歴). Events about internal comments only for the desk.
    #[graphql(complexity = "5 + first.unwrap_or(20) as usize * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<TicketEventConnection> {
        let actor = ctx.actor()?;
        let (first, after) = pagination::args(first, after.as_deref())?;
        let page = match after {
            None => ctx
                .loaders()?
                .first_events
                .load_one((self.row.id, first))
                .await?
                .unwrap_or_default(),
            Some(after) => svc(tickets::events(
                &ctx.state().db.read,
                actor,
                self.row.id,
                first,
                Some(&after),
            )
            .await)?,
        };
        Ok(TicketEventConnection {
            edges: page
                .items
                .into_iter()
                .map(|e| TicketEventEdge {
                    cursor: pagination::id_cursor(e.id),
                    node: TicketEvent(e),
                })
                .collect(),
            has_next: page.has_next,
        })
    }
}

/// A comment on a ticket.
pub struct TicketComment(pub ticket_comment::Model);

/// A comment on a ticket.
#[Object]
impl TicketComment {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::TicketComment, self.0.id)
    }
    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whether only the desk sees it (内部メモ).
    async fn internal(&self) -> bool {
        self.0.internal
    }
    /// Who wrote it; null for the system.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        let loaders = ctx.loaders()?;
        Ok(loaders.person(self.0.author_id).await?.map(Person))
    }
    /// The ticket it belongs to.
    async fn ticket(&self, ctx: &Context<'_>) -> ApiResult<Option<Ticket>> {
        Ok(ctx
            .loaders()?
            .ticket(self.0.ticket_id)
            .await?
            .map(Ticket::from))
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One entry of a ticket's append-only history.
pub struct TicketEvent(pub ticket_event::Model);

/// One entry of a ticket's append-only history.
#[Object]
impl TicketEvent {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::TicketEvent, self.0.id)
    }
    /// What happened.
    async fn kind(&self) -> TicketEventKind {
        TicketEventKind::from_db(&self.0.kind)
    }
    /// Who did it; null for the system (the SLA job).
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        let loaders = ctx.loaders()?;
        Ok(loaders.person(self.0.actor_id).await?.map(Person))
    }
    /// Details by kind: `{changes: {field: {from, to}}}` for UPDATED, `{from, to, note}` for
    /// STATUS_CHANGED, `{target, dueAt}` for SLA_BREACHED, `{commentId, internal}` for COMMENTED.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    /// Whether only the desk sees it.
    async fn internal(&self) -> bool {
        self.0.internal
    }
    /// The ticket it belongs to.
    async fn ticket(&self, ctx: &Context<'_>) -> ApiResult<Option<Ticket>> {
        Ok(ctx
            .loaders()?
            .ticket(self.0.ticket_id)
            .await?
            .map(Ticket::from))
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A person of the tenant: staff, teacher, student, operator or vendor staff.
pub struct Person(pub Arc<person::Model>);

/// A person of the tenant: staff, teacher, student, operator or vendor staff.
#[Object]
impl Person {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::Person, self.0.id)
    }
    /// 氏名
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// 読み仮名
    async fn display_name_kana(&self) -> Option<&str> {
        self.0.display_name_kana.as_deref()
    }
    /// Mail address; only for the desk and the person themself.
    async fn email(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let actor = ctx.actor()?;
        Ok(directory::can_see_contact(actor, &self.0).then_some(self.0.email.as_str()))
    }
    /// 職員番号; only for the desk and the person themself.
    async fn employee_number(&self, ctx: &Context<'_>) -> ApiResult<Option<&str>> {
        let actor = ctx.actor()?;
        Ok(directory::can_see_contact(actor, &self.0)
            .then_some(self.0.employee_number.as_deref())
            .flatten())
    }
    /// What the person is.
    async fn kind(&self) -> PersonKind {
        self.0.kind.into()
    }
    /// Helpdesk roles; only for the desk and the person themself.
    async fn roles(&self, ctx: &Context<'_>) -> ApiResult<Vec<Role>> {
        let actor = ctx.actor()?;
        if !directory::can_see_contact(actor, &self.0) {
            return Ok(vec![]);
        }
        Ok(directory::roles_of(&self.0)
            .iter()
            .map(Into::into)
            .collect())
    }
    /// 所属
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        let loaders = ctx.loaders()?;
        Ok(loaders.org_unit(self.0.org_unit_id).await?.map(OrgUnit))
    }
    /// The vendor a vendor-staff person works for.
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Option<Vendor>> {
        let loaders = ctx.loaders()?;
        Ok(loaders.vendor(self.0.vendor_id).await?.map(Vendor))
    }
    /// Whether the account is active.
    async fn active(&self) -> bool {
        self.0.active
    }
}

/// An org unit (所属): 部, 課, 出先機関, 教育委員会, 学校.
pub struct OrgUnit(pub Arc<org_unit::Model>);

/// An org unit (所属): 部, 課, 出先機関, 教育委員会, 学校.
#[Object]
impl OrgUnit {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::OrgUnit, self.0.id)
    }
    /// 所属コード
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 所属名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the unit is.
    async fn kind(&self) -> OrgUnitKind {
        self.0.kind.into()
    }
    /// The unit above (教育委員会 above a school).
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        let loaders = ctx.loaders()?;
        Ok(loaders.org_unit(self.0.parent_id).await?.map(OrgUnit))
    }
}

/// A ticket category (分類).
pub struct TicketCategory(pub Arc<ticket_category::Model>);

/// A ticket category (分類).
#[Object]
impl TicketCategory {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::TicketCategory, self.0.id)
    }
    /// Stable code (`account.password-reset`).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 分類名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The category above.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<TicketCategory>> {
        let loaders = ctx.loaders()?;
        Ok(loaders
            .category(self.0.parent_id)
            .await?
            .map(TicketCategory))
    }
}

/// An escalation target (二次対応先): a system vendor or the integrated-operations contractor.
pub struct Vendor(pub Arc<vendor::Model>);

/// An escalation target (二次対応先): a system vendor or the integrated-operations contractor.
#[Object]
impl Vendor {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::Vendor, self.0.id)
    }
    /// Stable code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 事業者名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 担当範囲
    async fn responsibility(&self) -> Option<&str> {
        self.0.responsibility.as_deref()
    }
}

/// The organisation the viewer belongs to.
pub struct Tenant(pub tenant::Model);

/// The organisation the viewer belongs to.
#[Object]
impl Tenant {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::Tenant, self.0.id)
    }
    /// Short name used in URLs and the CLI.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// 団体名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The helpdesk's mail address.
    async fn helpdesk_email(&self) -> Option<&str> {
        self.0.helpdesk_email.as_deref()
    }
}

/// The person making the request.
pub struct Viewer {
    pub person: person::Model,
    pub tenant: tenant::Model,
    pub roles: Vec<Role>,
}

/// The person making the request.
#[Object]
impl Viewer {
    /// The viewer as a person.
    async fn person(&self) -> Person {
        Person(Arc::new(self.person.clone()))
    }
    /// The viewer's tenant.
    async fn tenant(&self) -> Tenant {
        Tenant(self.tenant.clone())
    }
    /// The roles the viewer's token carries.
    async fn roles(&self) -> &[Role] {
        &self.roles
    }
}

/// An edge in a ticket list. Its cursor is encoded only when asked for: a list of `nodes`
/// needs at most the first and last.
pub struct TicketEdge {
    /// The list's order, whose key the cursor carries.
    pub order: tickets::TicketOrderField,
    pub node: Ticket,
}

impl TicketEdge {
    fn cursor_string(&self) -> String {
        pagination::encode_cursor(&service::page::Cursor {
            key: self.order.key_of(&self.node.row),
            id: self.node.row.id,
        })
    }
}

/// An edge in a ticket list.
#[Object]
impl TicketEdge {
    /// Opaque cursor to continue after this ticket.
    async fn cursor(&self) -> String {
        self.cursor_string()
    }
    /// The ticket.
    async fn node(&self) -> &Ticket {
        &self.node
    }
}

/// A page of tickets.
pub struct TicketConnection {
    pub edges: Vec<TicketEdge>,
    pub has_next: bool,
    pub has_previous: bool,
    pub filter: tickets::TicketFilter,
}

/// A page of tickets.
#[Object]
impl TicketConnection {
    /// Edges with cursors.
    async fn edges(&self) -> &[TicketEdge] {
        &self.edges
    }
    /// The tickets, without cursors.
    async fn nodes(&self) -> super::plain::TicketList<'_> {
        super::plain::TicketList(self.edges.iter().map(|e| &e.node).collect())
    }
    /// Where this page sits.
    async fn page_info(&self) -> PageInfo {
        PageInfo::new(
            self.has_next,
            self.has_previous,
            self.edges.first().map(TicketEdge::cursor_string),
            self.edges.last().map(TicketEdge::cursor_string),
        )
    }
    /// How many tickets match the filter in all (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        let actor = ctx.actor()?;
        svc(tickets::count(&ctx.state().db.read, actor, &self.filter).await)
    }
}

/// An edge in a comment list.
#[derive(SimpleObject)]
pub struct TicketCommentEdge {
    /// Opaque cursor to continue after this comment.
    pub cursor: String,
    /// The comment.
    pub node: TicketComment,
}

/// A page of comments.
pub struct TicketCommentConnection {
    pub ticket_id: uuid::Uuid,
    pub edges: Vec<TicketCommentEdge>,
    pub has_next: bool,
}

/// A page of comments.
#[Object]
impl TicketCommentConnection {
    /// Edges with cursors.
    async fn edges(&self) -> &[TicketCommentEdge] {
        &self.edges
    }
    /// The comments, without cursors.
    async fn nodes(&self) -> Vec<&TicketComment> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Where this page sits.
    async fn page_info(&self) -> PageInfo {
        PageInfo::new(
            self.has_next,
            false,
            self.edges.first().map(|e| e.cursor.clone()),
            self.edges.last().map(|e| e.cursor.clone()),
        )
    }
    /// How many comments the viewer can see on the ticket.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(ctx
            .loaders()?
            .comment_counts
            .load_one(self.ticket_id)
            .await?
            .unwrap_or(0))
    }
}

/// An edge in a history list.
#[derive(SimpleObject)]
pub struct TicketEventEdge {
    /// Opaque cursor to continue after this event.
    pub cursor: String,
    /// The event.
    pub node: TicketEvent,
}

/// A page of history.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TicketEventConnection {
    /// Edges with cursors.
    pub edges: Vec<TicketEventEdge>,
    #[graphql(skip)]
    pub has_next: bool,
}

#[async_graphql::ComplexObject]
impl TicketEventConnection {
    /// The events, without cursors.
    async fn nodes(&self) -> Vec<&TicketEvent> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Where this page sits.
    async fn page_info(&self) -> PageInfo {
        PageInfo::new(
            self.has_next,
            false,
            self.edges.first().map(|e| e.cursor.clone()),
            self.edges.last().map(|e| e.cursor.clone()),
        )
    }
}
