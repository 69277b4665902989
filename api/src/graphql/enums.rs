//! GraphQL enums, mirrored from the entity enums (the database is not the contract).

use async_graphql::Enum;

/// Where a ticket came in (受付チャネル).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::Channel")]
pub enum Channel {
    /// 電話
    Phone,
    /// メール
    Email,
    /// FAX
    Fax,
    /// Microsoft Teams
    Teams,
    /// LINE / LINE WORKS
    Line,
    /// Web フォーム・ポータル
    Web,
    /// 監視ツールのアラート
    Monitoring,
}

/// What kind of work a ticket is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::TicketKind")]
pub enum TicketKind {
    /// 問い合わせ
    Inquiry,
    /// 障害
    Incident,
    /// 作業依頼（アカウント作成、閲覧解除、貸出、トナー払い出しなど）
    ServiceRequest,
    /// セキュリティインシデント・ウイルス感染
    SecurityIncident,
    /// 課題（課題管理表）
    Problem,
    /// 変更・作業計画（作業計画書）
    Change,
}

/// The workflow state of a ticket.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::TicketStatus")]
pub enum TicketStatus {
    /// 新規（一次受付前）
    New,
    /// 対応中
    InProgress,
    /// 依頼者回答待ち（SLAの時計は止まる）
    WaitingOnRequester,
    /// 事業者回答待ち
    WaitingOnVendor,
    /// エスカレーション中（二次対応）
    Escalated,
    /// 解決済み（障害回復確認）
    Resolved,
    /// 完了（回復報告済み）
    Closed,
}

/// Ticket priority.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::Priority")]
pub enum Priority {
    /// 低
    Low,
    /// 中
    Normal,
    /// 高
    High,
    /// 緊急
    Urgent,
}

/// 障害レベル: how badly a failure hurts, level 1 being a stop of business.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::Severity")]
pub enum Severity {
    /// レベル1: 業務停止
    Level1,
    /// レベル2: 業務に重大な支障
    Level2,
    /// レベル3: 一部機能に支障
    Level3,
    /// レベル4: 軽微
    Level4,
}

/// 業務影響範囲: how far a failure reaches.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::Impact")]
pub enum Impact {
    /// 全庁
    Organization,
    /// 複数所属
    MultipleUnits,
    /// 単一所属
    SingleUnit,
    /// 個人
    Individual,
}

/// What an org unit is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::OrgUnitKind")]
pub enum OrgUnitKind {
    /// 団体（市・組合）
    Organization,
    /// 部
    Department,
    /// 課・係
    Division,
    /// 出先機関
    BranchOffice,
    /// 教育委員会
    BoardOfEducation,
    /// 学校園
    School,
}

/// What a person is, apart from their helpdesk roles.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::PersonKind")]
pub enum PersonKind {
    /// 職員
    Staff,
    /// 教職員
    Teacher,
    /// 児童生徒
    Student,
    /// 委託事業者の要員
    Contractor,
}

/// A helpdesk role.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "service::Role")]
pub enum Role {
    /// Asks and follows their own tickets (staff, teachers, students).
    Requester,
    /// Helpdesk operator: works every ticket of the tenant.
    Agent,
    /// The DX division: oversight of the desk.
    Supervisor,
    /// Tenant administrator.
    Admin,
    /// Escalation target: sees only what was escalated to its vendor.
    Vendor,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum OrderDirection {
    /// Ascending.
    Asc,
    /// Descending.
    #[default]
    Desc,
}

/// Fields tickets can be ordered by.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum TicketOrderField {
    /// When the ticket was opened.
    #[default]
    CreatedAt,
    /// When the ticket last changed.
    UpdatedAt,
    /// The readable number.
    Number,
    /// Priority (urgent first when descending).
    Priority,
}

/// What happened in a ticket's history.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum TicketEventKind {
    /// 起票
    Created,
    /// 項目の変更
    Updated,
    /// コメント
    Commented,
    /// 状態の変更
    StatusChanged,
    /// 再オープン
    Reopened,
    /// 担当者の変更
    Assigned,
    /// エスカレーション
    Escalated,
    /// SLA違反
    SlaBreached,
    /// 危険な添付ファイル（実行ファイル・マクロ付き・サイズ超過）
    AttachmentsFlagged,
    /// 依頼者へのメール送信
    MailSent,
    /// 依頼者へのメールが送れなかった（再送を打ち切り）
    MailFailed,
    /// 送ったメールが不達で戻ってきた
    MailBounced,
    /// チャットボットでのパスワード再設定（監査記録）
    PasswordReset,
    /// 機器の紐付け（構成管理台帳の資産）
    AssetLinked,
    /// A kind this server version does not know.
    Other,
}

impl TicketEventKind {
    /// Maps the stored kind.
    pub fn from_db(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "updated" => Self::Updated,
            "commented" => Self::Commented,
            "status_changed" => Self::StatusChanged,
            "reopened" => Self::Reopened,
            "assigned" => Self::Assigned,
            "escalated" => Self::Escalated,
            "sla_breached" => Self::SlaBreached,
            "attachments_flagged" => Self::AttachmentsFlagged,
            "mail_sent" => Self::MailSent,
            "mail_failed" => Self::MailFailed,
            "password_reset" => Self::PasswordReset,
            "mail_bounced" => Self::MailBounced,
            "asset_linked" => Self::AssetLinked,
            _ => Self::Other,
        }
    }
}

/// 報告段階 of a security incident (第一報・中間報告・最終報告).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum SecurityReportStage {
    /// 第一報
    First,
    /// 中間報告
    Interim,
    /// 最終報告
    Final,
}

impl SecurityReportStage {
    /// Returns the stored form.
    pub fn as_db(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Interim => "interim",
            Self::Final => "final",
        }
    }

    /// Parses the stored form.
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "first" => Some(Self::First),
            "interim" => Some(Self::Interim),
            "final" => Some(Self::Final),
            _ => None,
        }
    }
}
