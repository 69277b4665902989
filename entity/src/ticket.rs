//! A ticket: an inquiry, incident, service request, security incident, problem or change.

use crate::{Channel, Impact, Priority, Severity, TicketKind, TicketStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Readable number, unique per tenant (`HD-2026-000123`).
    pub number: String,
    pub kind: TicketKind,
    pub channel: Channel,
    pub status: TicketStatus,
    pub priority: Priority,
    pub severity: Option<Severity>,
    pub impact: Option<Impact>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub category_id: Option<Uuid>,
    pub requester_id: Option<Uuid>,
    pub org_unit_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// The vendor the ticket is (or was last) escalated to (二次対応先).
    pub escalation_vendor_id: Option<Uuid>,
    /// 切り分け: the matter belongs to another system or contract.
    pub out_of_scope: bool,
    pub out_of_scope_system: Option<String>,
    // 障害報告書
    #[sea_orm(column_type = "Text", nullable)]
    pub cause: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub interim_measure: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub recovery_outlook: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub recurrence_prevention: Option<String>,
    pub failure_report_due_at: Option<DateTimeUtc>,
    pub failure_report_submitted_at: Option<DateTimeUtc>,
    // セキュリティインシデント台帳
    pub security_occurred_on: Option<Date>,
    #[sea_orm(column_type = "Text", nullable)]
    pub security_event: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub security_interim_action: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub security_permanent_action: Option<String>,
    /// 第一報 / 中間報告 / 最終報告 as reported so far: `none`, `first`, `interim`, `final`.
    pub security_report_stage: Option<String>,
    // SLA
    pub sla_policy_id: Option<Uuid>,
    pub response_due_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    pub first_responded_at: Option<DateTimeUtc>,
    pub sla_paused_at: Option<DateTimeUtc>,
    /// Clock time spent waiting on the requester so far, in seconds of the policy's clock.
    pub sla_paused_secs: i64,
    pub response_breached_at: Option<DateTimeUtc>,
    pub resolution_breached_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Optimistic-lock counter, bumped on every change.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
