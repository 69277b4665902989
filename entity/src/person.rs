//! A person known to a tenant: staff, teachers, students, operators and vendor staff.

use crate::PersonKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub org_unit_id: Option<Uuid>,
    /// Set for vendor staff: the escalation target they work for.
    pub vendor_id: Option<Uuid>,
    /// Lower-cased mail address, unique per tenant.
    pub email: String,
    pub display_name: String,
    /// 読み仮名, for sorting and search.
    pub display_name_kana: Option<String>,
    /// 職員番号 / 教職員番号.
    pub employee_number: Option<String>,
    pub kind: PersonKind,
    /// Helpdesk roles, comma-separated (`requester,agent`); parsed by `service::auth::RoleSet`.
    pub roles: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
