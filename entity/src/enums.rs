//! Enumerations shared by the entities.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a ticket came in (受付チャネル).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[sea_orm(string_value = "phone")]
    Phone,
    #[sea_orm(string_value = "email")]
    Email,
    #[sea_orm(string_value = "fax")]
    Fax,
    #[sea_orm(string_value = "teams")]
    Teams,
    #[sea_orm(string_value = "line")]
    Line,
    #[sea_orm(string_value = "web")]
    Web,
    #[sea_orm(string_value = "monitoring")]
    Monitoring,
}

/// What kind of work a ticket is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// 問い合わせ
    #[sea_orm(string_value = "inquiry")]
    Inquiry,
    /// 障害
    #[sea_orm(string_value = "incident")]
    Incident,
    /// 作業依頼
    #[sea_orm(string_value = "service_request")]
    ServiceRequest,
    /// セキュリティインシデント・ウイルス感染
    #[sea_orm(string_value = "security_incident")]
    SecurityIncident,
    /// 課題
    #[sea_orm(string_value = "problem")]
    Problem,
    /// 変更・作業計画
    #[sea_orm(string_value = "change")]
    Change,
}

/// The ticket workflow's states.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    #[sea_orm(string_value = "new")]
    New,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "waiting_on_requester")]
    WaitingOnRequester,
    #[sea_orm(string_value = "waiting_on_vendor")]
    WaitingOnVendor,
    #[sea_orm(string_value = "escalated")]
    Escalated,
    #[sea_orm(string_value = "resolved")]
    Resolved,
    #[sea_orm(string_value = "closed")]
    Closed,
}

/// Ticket priority; stored as a number so that ordering by priority is an index scan.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "i16", db_type = "SmallInteger")]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[sea_orm(num_value = 1)]
    Low,
    #[sea_orm(num_value = 2)]
    Normal,
    #[sea_orm(num_value = 3)]
    High,
    #[sea_orm(num_value = 4)]
    Urgent,
}

/// 障害レベル: how badly a failure hurts, 1 being a full stop of business.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "i16", db_type = "SmallInteger")]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// レベル1: 業務停止
    #[sea_orm(num_value = 1)]
    Level1,
    /// レベル2: 業務に重大な支障
    #[sea_orm(num_value = 2)]
    Level2,
    /// レベル3: 一部機能に支障
    #[sea_orm(num_value = 3)]
    Level3,
    /// レベル4: 軽微
    #[sea_orm(num_value = 4)]
    Level4,
}

/// 業務影響範囲: how far a failure reaches.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// 全庁
    #[sea_orm(string_value = "organization")]
    Organization,
    /// 複数所属
    #[sea_orm(string_value = "multiple_units")]
    MultipleUnits,
    /// 単一所属
    #[sea_orm(string_value = "single_unit")]
    SingleUnit,
    /// 個人
    #[sea_orm(string_value = "individual")]
    Individual,
}

/// What an org unit is (所属の種別).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKind {
    /// 市・組合など団体そのもの
    #[sea_orm(string_value = "organization")]
    Organization,
    /// 部
    #[sea_orm(string_value = "department")]
    Department,
    /// 課・係
    #[sea_orm(string_value = "division")]
    Division,
    /// 出先機関
    #[sea_orm(string_value = "branch_office")]
    BranchOffice,
    /// 教育委員会
    #[sea_orm(string_value = "board_of_education")]
    BoardOfEducation,
    /// 学校園
    #[sea_orm(string_value = "school")]
    School,
}

/// What a person is, independent of their roles in the helpdesk.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// 職員
    #[sea_orm(string_value = "staff")]
    Staff,
    /// 教職員
    #[sea_orm(string_value = "teacher")]
    Teacher,
    /// 児童生徒
    #[sea_orm(string_value = "student")]
    Student,
    /// 委託事業者の要員
    #[sea_orm(string_value = "contractor")]
    Contractor,
}

/// Which clock an SLA policy runs on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// The desk calendar's hours only.
    #[sea_orm(string_value = "business")]
    Business,
    /// Wall-clock time, 24h/365d (emergencies).
    #[sea_orm(string_value = "continuous")]
    Continuous,
}

/// Where an FAQ article is in its life.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum FaqStatus {
    /// 下書き: only the desk sees it.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// 公開: its audience sees it, the bots answer with it.
    #[sea_orm(string_value = "published")]
    Published,
    /// アーカイブ: kept for history, shown to nobody but the desk.
    #[sea_orm(string_value = "archived")]
    Archived,
}

impl FaqStatus {
    /// The stored (and indexed) form.
    pub fn as_str(self) -> &'static str {
        match self {
            FaqStatus::Draft => "draft",
            FaqStatus::Published => "published",
            FaqStatus::Archived => "archived",
        }
    }
}

/// Where an inbound mail is in the pipeline.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// 受信済み: the raw bytes are stored; not processed yet.
    #[sea_orm(string_value = "received")]
    Received,
    /// 処理済み: became a ticket, a comment, or marked a sent mail as bounced.
    #[sea_orm(string_value = "processed")]
    Processed,
    /// 対象外: an automatic mail (auto-reply, bulk, our own) kept but not acted on.
    #[sea_orm(string_value = "ignored")]
    Ignored,
    /// 隔離: could not be processed; waits for an agent to retry or discard it.
    #[sea_orm(string_value = "quarantined")]
    Quarantined,
    /// 破棄: an agent discarded it from quarantine; the raw bytes are still kept.
    #[sea_orm(string_value = "discarded")]
    Discarded,
}
