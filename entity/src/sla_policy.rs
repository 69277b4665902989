//! An SLA policy: response and resolution targets for a kind and priority.

use crate::{Priority, SlaClock, TicketKind};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// `None` matches every kind.
    pub kind: Option<TicketKind>,
    /// `None` matches every priority.
    pub priority: Option<Priority>,
    pub clock: SlaClock,
    /// 着手 (first response) target in minutes.
    pub response_minutes: i32,
    /// 復旧・解決 target in minutes.
    pub resolution_minutes: i32,
    /// Business days after resolution by which the failure report (障害報告書) is due; `None` if not required.
    pub failure_report_business_days: Option<i32>,
    pub calendar_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
