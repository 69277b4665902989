//! A license in the license ledger (ライセンス管理台帳): one row per product and procuring contract.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "licenses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// 管理番号, unique per tenant (the import key).
    pub code: String,
    pub product: String,
    pub product_version: Option<String>,
    pub edition: Option<String>,
    pub seats: i32,
    pub contract_number: Option<String>,
    pub contract_name: Option<String>,
    /// Procured under the desk's own contract (本調達分), kept distinct from other procurements.
    pub main_contract: bool,
    pub supplier: Option<String>,
    pub starts_on: Option<Date>,
    pub expires_on: Option<Date>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub alerted_60_at: Option<DateTimeUtc>,
    pub alerted_30_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
