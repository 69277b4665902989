//! A device or item in the configuration ledger (構成管理台帳): terminals, servers, printers,
//! peripherals attached to a terminal, loan kits and cards.

use crate::ledger_enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// 資産番号, unique per tenant.
    pub asset_tag: String,
    pub kind: AssetKind,
    /// 品名 as the ledger shows it.
    pub name: String,
    pub maker: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub computer_name: Option<String>,
    pub ip_address: Option<String>,
    /// Upper-case, colon-separated (`00:1A:2B:3C:4D:5E`); unique per tenant.
    pub mac_address: Option<String>,
    pub org_unit_id: Option<Uuid>,
    /// 設置場所 (building, floor, room, school).
    pub location: Option<String>,
    /// 利用者
    pub user_id: Option<Uuid>,
    /// 用途
    pub purpose: Option<String>,
    pub status: AssetStatus,
    /// The terminal a peripheral is attached to, or the kit an item belongs to.
    pub parent_id: Option<Uuid>,
    /// Whether it is lent out (貸出物品): web-conference kits, loaner PCs, entry cards.
    pub loanable: bool,
    /// リース会社
    pub lessor: Option<String>,
    pub lease_start: Option<Date>,
    pub lease_end: Option<Date>,
    pub purchased_on: Option<Date>,
    pub warranty_until: Option<Date>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Optimistic-lock version, bumped by every change.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
