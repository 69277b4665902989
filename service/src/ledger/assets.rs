//! The configuration ledger (構成管理台帳): assets, their peripherals, their history and their
//! tickets.
//!
//! Every change is one transaction with its history event. Status moves to on-loan, in-repair
//! and retired only through the operations that mean them (loans, repairs, retirement), so the
//! history always says why.

use super::{
    Check, clean, escape_like, is_unique_violation, normalize_ip, normalize_mac, nothing,
    require_desk,
};
use crate::auth::{Actor, Role};
use crate::directory;
use crate::error::{ServiceError, ServiceResult};
use crate::page::{Cursor, Direction, Page, SortKey};
use crate::tickets::{self, now};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    AssetKind, AssetStatus, RepairStatus, asset, asset_event, asset_ticket, license_assignment,
    repair,
};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// Longest asset tag, serial, computer name.
pub const CODE_MAX: usize = 64;
/// Longest name, maker, model, location, purpose, lessor.
pub const NAME_MAX: usize = 200;
/// Longest note.
pub const NOTE_MAX: usize = 4000;

/// An asset as the caller describes it (create, update, import).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssetInput {
    pub asset_tag: String,
    pub kind: Option<AssetKind>,
    pub name: String,
    pub maker: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub computer_name: Option<String>,
    pub ip_address: Option<String>,
    pub mac_address: Option<String>,
    pub org_unit_id: Option<Uuid>,
    pub location: Option<String>,
    pub user_id: Option<Uuid>,
    pub purpose: Option<String>,
    /// Defaults to in use; only in use and spare can be set directly.
    pub status: Option<AssetStatus>,
    pub parent_id: Option<Uuid>,
    pub loanable: bool,
    pub lessor: Option<String>,
    pub lease_start: Option<NaiveDate>,
    pub lease_end: Option<NaiveDate>,
    pub purchased_on: Option<NaiveDate>,
    pub warranty_until: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl From<&asset::Model> for AssetInput {
    fn from(a: &asset::Model) -> Self {
        Self {
            asset_tag: a.asset_tag.clone(),
            kind: Some(a.kind),
            name: a.name.clone(),
            maker: a.maker.clone(),
            model: a.model.clone(),
            serial: a.serial.clone(),
            computer_name: a.computer_name.clone(),
            ip_address: a.ip_address.clone(),
            mac_address: a.mac_address.clone(),
            org_unit_id: a.org_unit_id,
            location: a.location.clone(),
            user_id: a.user_id,
            purpose: a.purpose.clone(),
            status: Some(a.status),
            parent_id: a.parent_id,
            loanable: a.loanable,
            lessor: a.lessor.clone(),
            lease_start: a.lease_start,
            lease_end: a.lease_end,
            purchased_on: a.purchased_on,
            warranty_until: a.warranty_until,
            notes: a.notes.clone(),
        }
    }
}

/// Checks an input's formats and normalises it (trimmed text, canonical MAC and IP). References
/// (org unit, user, parent) are checked by the caller, against the database or a preloaded map.
pub fn normalize(input: AssetInput) -> Result<AssetInput, Vec<crate::UserError>> {
    let mut c = Check::default();
    let tag = input.asset_tag.trim().to_owned();
    c.text("assetTag", &tag, CODE_MAX, true);
    let name = input.name.trim().to_owned();
    c.text("name", &name, NAME_MAX, true);
    if input.kind.is_none() {
        c.push("kind", "REQUIRED", "機器種別を指定してください");
    }
    let text = |v: Option<String>| clean(v);
    let (maker, model, serial) = (text(input.maker), text(input.model), text(input.serial));
    let (computer_name, location, purpose, lessor, notes) = (
        text(input.computer_name),
        text(input.location),
        text(input.purpose),
        text(input.lessor),
        text(input.notes),
    );
    for (f, v, max) in [
        ("maker", &maker, NAME_MAX),
        ("model", &model, NAME_MAX),
        ("serial", &serial, CODE_MAX),
        ("computerName", &computer_name, CODE_MAX),
        ("location", &location, NAME_MAX),
        ("purpose", &purpose, NAME_MAX),
        ("lessor", &lessor, NAME_MAX),
        ("notes", &notes, NOTE_MAX),
    ] {
        c.opt_text(f, v.as_deref(), max);
    }
    let mac = match text(input.mac_address) {
        None => None,
        Some(m) => match normalize_mac(&m) {
            Some(n) => Some(n),
            None => {
                c.push(
                    "macAddress",
                    "INVALID_MAC",
                    format!("MACアドレスの形式が正しくありません: {m}"),
                );
                None
            }
        },
    };
    let ip = match text(input.ip_address) {
        None => None,
        Some(i) => match normalize_ip(&i) {
            Some(n) => Some(n),
            None => {
                c.push(
                    "ipAddress",
                    "INVALID_IP",
                    format!("IPアドレスの形式が正しくありません: {i}"),
                );
                None
            }
        },
    };
    if let (Some(s), Some(e)) = (input.lease_start, input.lease_end)
        && e < s
    {
        c.push(
            "leaseEnd",
            "INVALID_RANGE",
            "リース終了日はリース開始日以降にしてください",
        );
    }
    if c.0.is_empty() {
        Ok(AssetInput {
            asset_tag: tag,
            name,
            maker,
            model,
            serial,
            computer_name,
            ip_address: ip,
            mac_address: mac,
            location,
            purpose,
            lessor,
            notes,
            ..input
        })
    } else {
        Err(c.0)
    }
}

/// The SQL form of "the actor may see this asset".
pub(crate) fn scope_condition(actor: &Actor) -> Condition {
    let tenant = Condition::all().add(asset::Column::TenantId.eq(actor.tenant_id));
    if actor.is_desk() {
        return tenant;
    }
    let mut any = Condition::any();
    let mut granted = false;
    if actor.has(Role::Requester) {
        any = any.add(asset::Column::UserId.eq(actor.person_id));
        granted = true;
    }
    if actor.has(Role::Vendor)
        && let Some(v) = actor.vendor_id
    {
        // A vendor sees the devices a repair was dispatched to it for, while the repair is open.
        any = any.add(
            asset::Column::Id.in_subquery(
                Query::select()
                    .column(repair::Column::AssetId)
                    .from(repair::Entity)
                    .and_where(repair::Column::VendorId.eq(v))
                    .and_where(repair::Column::TenantId.eq(actor.tenant_id))
                    .and_where(
                        repair::Column::Status
                            .is_in([RepairStatus::Open, RepairStatus::Dispatched]),
                    )
                    .to_owned(),
            ),
        );
        granted = true;
    }
    if !granted {
        any = any.add(nothing());
    }
    tenant.add(any)
}

/// Loads one asset in scope.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<asset::Model> {
    asset::Entity::find_by_id(id)
        .filter(scope_condition(actor))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Loads one asset in scope by its tag.
pub async fn get_by_tag(
    db: &impl ConnectionTrait,
    actor: &Actor,
    tag: &str,
) -> ServiceResult<asset::Model> {
    asset::Entity::find()
        .filter(asset::Column::AssetTag.eq(tag.trim()))
        .filter(scope_condition(actor))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Loads several assets in scope (for DataLoaders); missing or foreign ids are absent.
pub async fn get_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<asset::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(asset::Entity::find()
        .filter(asset::Column::Id.is_in(crate::db::stable_in_list(ids)))
        .filter(scope_condition(actor))
        .all(db)
        .await?)
}

/// Which assets a list shows. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub kinds: Vec<AssetKind>,
    pub statuses: Vec<AssetStatus>,
    /// Org units including the units below them.
    pub org_unit_ids: Vec<Uuid>,
    pub user_ids: Vec<Uuid>,
    /// Peripherals of this terminal (or items of this kit).
    pub parent_id: Option<Uuid>,
    pub loanable: Option<bool>,
    /// Leases ending on or before this date (リース満了).
    pub lease_ends_by: Option<NaiveDate>,
    /// What an operator types: the start of a tag, serial, computer name or IP address; a
    /// MAC address in any notation; or Japanese words of the name or model.
    pub text_contains: Option<String>,
}

/// What an asset list is sorted by; ties broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssetOrderField {
    #[default]
    AssetTag,
    UpdatedAt,
    CreatedAt,
}

impl AssetOrderField {
    fn column(self) -> asset::Column {
        match self {
            Self::AssetTag => asset::Column::AssetTag,
            Self::UpdatedAt => asset::Column::UpdatedAt,
            Self::CreatedAt => asset::Column::CreatedAt,
        }
    }

    /// The sort key of `a` under this order, for its cursor.
    pub fn key_of(self, a: &asset::Model) -> SortKey {
        match self {
            Self::AssetTag => SortKey::Text(a.asset_tag.clone()),
            Self::UpdatedAt => SortKey::Time(a.updated_at),
            Self::CreatedAt => SortKey::Time(a.created_at),
        }
    }
}

fn like(text: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(text))).escape('\\')
}

fn prefix_like(text: &str) -> LikeExpr {
    LikeExpr::new(format!("{}%", escape_like(text))).escape('\\')
}

/// What an operator types into the ledger's search box, as conditions the indexes answer: a
/// MAC address in any notation matches exactly; anything else matches the start of the asset
/// tag, serial, computer name or IP address (as typed and upper-cased, since labels are
/// printed in capitals); words with Japanese in them also match inside the name and model
/// (a scan, but such words are never codes).
fn text_condition(text: &str) -> Condition {
    let folded: String = text
        .chars()
        .map(super::fold_width)
        .collect::<String>()
        .trim()
        .to_owned();
    if let Some(mac) = normalize_mac(&folded) {
        return Condition::any().add(asset::Column::MacAddress.eq(mac));
    }
    let mut any = Condition::any();
    let mut terms = vec![folded.clone()];
    if folded.to_ascii_uppercase() != folded {
        terms.push(folded.to_ascii_uppercase());
    }
    for term in &terms {
        let upper = format!("{term}\u{10FFFF}");
        for col in [
            asset::Column::AssetTag,
            asset::Column::Serial,
            asset::Column::ComputerName,
            asset::Column::IpAddress,
        ] {
            // The range uses the index; LIKE keeps it exact under any collation.
            any = any.add(
                Condition::all()
                    .add(Expr::col(col).gte(term.as_str()))
                    .add(Expr::col(col).lt(upper.as_str()))
                    .add(Expr::col(col).like(prefix_like(term))),
            );
        }
    }
    if !folded.is_ascii() {
        any = any.add(Expr::col(asset::Column::Name).like(like(&folded)));
        any = any.add(Expr::col(asset::Column::Model).like(like(&folded)));
    }
    any
}

async fn filter_condition(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: &AssetFilter,
) -> ServiceResult<Condition> {
    let mut c = scope_condition(actor);
    if !f.kinds.is_empty() {
        c = c.add(asset::Column::Kind.is_in(f.kinds.iter().copied()));
    }
    if !f.statuses.is_empty() {
        c = c.add(asset::Column::Status.is_in(f.statuses.iter().copied()));
    }
    if !f.org_unit_ids.is_empty() {
        let units = directory::org_unit_subtree(db, actor.tenant_id, &f.org_unit_ids).await?;
        c = c.add(asset::Column::OrgUnitId.is_in(units));
    }
    if !f.user_ids.is_empty() {
        c = c.add(asset::Column::UserId.is_in(f.user_ids.iter().copied()));
    }
    if let Some(p) = f.parent_id {
        c = c.add(asset::Column::ParentId.eq(p));
    }
    if let Some(l) = f.loanable {
        c = c.add(asset::Column::Loanable.eq(l));
    }
    if let Some(d) = f.lease_ends_by {
        c = c.add(asset::Column::LeaseEnd.lte(d));
    }
    if let Some(t) = f
        .text_contains
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        c = c.add(text_condition(t));
    }
    Ok(c)
}

/// Lists assets in scope, one keyset page at a time.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &AssetFilter,
    field: AssetOrderField,
    direction: Direction,
    first: u64,
    after: Option<&Cursor>,
) -> ServiceResult<Page<asset::Model>> {
    let mut cond = filter_condition(db, actor, filter).await?;
    let col = field.column();
    if let Some(cursor) = after {
        let ok = matches!(
            (field, &cursor.key),
            (AssetOrderField::AssetTag, SortKey::Text(_))
                | (
                    AssetOrderField::UpdatedAt | AssetOrderField::CreatedAt,
                    SortKey::Time(_)
                )
        );
        if !ok {
            return Err(ServiceError::invalid(
                "after",
                "INVALID_CURSOR",
                "カーソルが並び順と一致しません",
            ));
        }
        let v = cursor.key.to_value();
        let (past_key, past_id) = match direction {
            Direction::Asc => (
                Expr::col(col).gt(v.clone()),
                Expr::col(asset::Column::Id).gt(cursor.id),
            ),
            Direction::Desc => (
                Expr::col(col).lt(v.clone()),
                Expr::col(asset::Column::Id).lt(cursor.id),
            ),
        };
        cond = cond.add(
            Condition::any()
                .add(past_key)
                .add(Condition::all().add(Expr::col(col).eq(v)).add(past_id)),
        );
    }
    let ord = match direction {
        Direction::Asc => Order::Asc,
        Direction::Desc => Order::Desc,
    };
    let rows = asset::Entity::find()
        .filter(cond)
        .order_by(col, ord.clone())
        .order_by(asset::Column::Id, ord)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// Counts the assets a filter matches in scope.
pub async fn count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &AssetFilter,
) -> ServiceResult<u64> {
    let cond = filter_condition(db, actor, filter).await?;
    Ok(asset::Entity::find().filter(cond).count(db).await?)
}

/// Checks that the references of an input exist in the actor's tenant.
async fn check_references(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &AssetInput,
    self_id: Option<Uuid>,
) -> ServiceResult<()> {
    let mut c = Check::default();
    if let Some(o) = input.org_unit_id
        && directory::org_unit(db, actor.tenant_id, o).await?.is_none()
    {
        c.push("orgUnitId", "UNKNOWN_REFERENCE", "所属が見つかりません");
    }
    if let Some(p) = input.user_id
        && directory::person(db, actor.tenant_id, p).await?.is_none()
    {
        c.push("userId", "UNKNOWN_REFERENCE", "利用者が見つかりません");
    }
    if let Some(parent) = input.parent_id {
        if Some(parent) == self_id {
            c.push("parentId", "INVALID_VALUE", "自分自身には接続できません");
        } else {
            match asset::Entity::find_by_id(parent)
                .filter(asset::Column::TenantId.eq(actor.tenant_id))
                .one(db)
                .await?
            {
                None => c.push(
                    "parentId",
                    "UNKNOWN_REFERENCE",
                    "接続先の機器が見つかりません",
                ),
                Some(p) if p.parent_id.is_some() => c.push(
                    "parentId",
                    "INVALID_VALUE",
                    "周辺機器にさらに周辺機器は接続できません",
                ),
                Some(_) => {}
            }
        }
    }
    c.done()
}

fn status_settable(s: Option<AssetStatus>) -> bool {
    matches!(s, None | Some(AssetStatus::InUse | AssetStatus::Spare))
}

fn duplicate(e: sea_orm::DbErr, mac: bool) -> ServiceError {
    if is_unique_violation(&e) {
        let msg = e.to_string();
        if mac && msg.contains("mac") {
            ServiceError::invalid(
                "macAddress",
                "DUPLICATE",
                "このMACアドレスは別の機器に登録されています",
            )
        } else {
            ServiceError::invalid(
                "assetTag",
                "DUPLICATE",
                "この資産番号は既に登録されています",
            )
        }
    } else {
        e.into()
    }
}

pub(crate) fn to_active(
    tenant_id: Uuid,
    id: Uuid,
    i: &AssetInput,
    at: DateTime<Utc>,
) -> asset::ActiveModel {
    asset::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        asset_tag: Set(i.asset_tag.clone()),
        kind: Set(i.kind.unwrap_or(AssetKind::Other)),
        name: Set(i.name.clone()),
        maker: Set(i.maker.clone()),
        model: Set(i.model.clone()),
        serial: Set(i.serial.clone()),
        computer_name: Set(i.computer_name.clone()),
        ip_address: Set(i.ip_address.clone()),
        mac_address: Set(i.mac_address.clone()),
        org_unit_id: Set(i.org_unit_id),
        location: Set(i.location.clone()),
        user_id: Set(i.user_id),
        purpose: Set(i.purpose.clone()),
        status: Set(i.status.unwrap_or(AssetStatus::InUse)),
        parent_id: Set(i.parent_id),
        loanable: Set(i.loanable),
        lessor: Set(i.lessor.clone()),
        lease_start: Set(i.lease_start),
        lease_end: Set(i.lease_end),
        purchased_on: Set(i.purchased_on),
        warranty_until: Set(i.warranty_until),
        notes: Set(i.notes.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        version: Set(1),
    }
}

/// Appends one event to an asset's history.
pub(crate) async fn record(
    db: &impl ConnectionTrait,
    a: &asset::Model,
    actor_id: Option<Uuid>,
    kind: &str,
    payload: Value,
    ticket_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> ServiceResult<asset_event::Model> {
    Ok(asset_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(a.tenant_id),
        asset_id: Set(a.id),
        actor_id: Set(actor_id),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        ticket_id: Set(ticket_id),
        created_at: Set(at),
    }
    .insert(db)
    .await?)
}

/// Registers an asset (desk only).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: AssetInput,
) -> ServiceResult<asset::Model> {
    require_desk(actor)?;
    let input = normalize(input).map_err(ServiceError::Invalid)?;
    if !status_settable(input.status) {
        return Err(ServiceError::invalid(
            "status",
            "STATUS_BY_OPERATION",
            "貸出中・修理中・廃棄済は各操作で設定されます",
        ));
    }
    let txn = db.begin().await?;
    check_references(&txn, actor, &input, None).await?;
    let at = now();
    let a = to_active(actor.tenant_id, Uuid::now_v7(), &input, at)
        .insert(&txn)
        .await
        .map_err(|e| duplicate(e, input.mac_address.is_some()))?;
    record(
        &txn,
        &a,
        Some(actor.person_id),
        "registered",
        json!({ "assetTag": a.asset_tag }),
        None,
        at,
    )
    .await?;
    if let Some(p) = a.parent_id {
        attach_event(&txn, actor, p, &a, true, at).await?;
    }
    txn.commit().await?;
    Ok(a)
}

async fn attach_event(
    db: &impl ConnectionTrait,
    actor: &Actor,
    parent_id: Uuid,
    child: &asset::Model,
    attached: bool,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    if let Some(parent) = asset::Entity::find_by_id(parent_id).one(db).await? {
        let kind = if attached {
            "peripheral_attached"
        } else {
            "peripheral_detached"
        };
        record(
            db,
            &parent,
            Some(actor.person_id),
            kind,
            json!({ "assetId": child.id, "assetTag": child.asset_tag }),
            None,
            at,
        )
        .await?;
    }
    Ok(())
}

/// The fields whose change is its own kind of event.
fn diff(old: &asset::Model, new: &AssetInput) -> (Map<String, Value>, bool, bool) {
    let mut changed = Map::new();
    let mut put = |k: &str, o: Value, n: Value| {
        if o != n {
            changed.insert(k.to_owned(), json!({ "from": o, "to": n }));
        }
    };
    put("assetTag", json!(old.asset_tag), json!(new.asset_tag));
    put("kind", json!(old.kind), json!(new.kind.unwrap_or(old.kind)));
    put("name", json!(old.name), json!(new.name));
    put("maker", json!(old.maker), json!(new.maker));
    put("model", json!(old.model), json!(new.model));
    put("serial", json!(old.serial), json!(new.serial));
    put(
        "computerName",
        json!(old.computer_name),
        json!(new.computer_name),
    );
    put("ipAddress", json!(old.ip_address), json!(new.ip_address));
    put("macAddress", json!(old.mac_address), json!(new.mac_address));
    put("orgUnitId", json!(old.org_unit_id), json!(new.org_unit_id));
    put("location", json!(old.location), json!(new.location));
    put("userId", json!(old.user_id), json!(new.user_id));
    put("purpose", json!(old.purpose), json!(new.purpose));
    put(
        "status",
        json!(old.status),
        json!(new.status.unwrap_or(old.status)),
    );
    put("parentId", json!(old.parent_id), json!(new.parent_id));
    put("loanable", json!(old.loanable), json!(new.loanable));
    put("lessor", json!(old.lessor), json!(new.lessor));
    put("leaseStart", json!(old.lease_start), json!(new.lease_start));
    put("leaseEnd", json!(old.lease_end), json!(new.lease_end));
    put(
        "purchasedOn",
        json!(old.purchased_on),
        json!(new.purchased_on),
    );
    put(
        "warrantyUntil",
        json!(old.warranty_until),
        json!(new.warranty_until),
    );
    put("notes", json!(old.notes), json!(new.notes));
    let moved = changed.contains_key("orgUnitId") || changed.contains_key("location");
    let assigned = changed.contains_key("userId");
    (changed, moved, assigned)
}

/// Applies a validated input to a row and appends the events that say what changed: `moved`
/// (学校間移設: org unit or location), `assigned` (user), `updated` (anything else). Nothing
/// changed, nothing written. Used by `update` and by the import.
pub(crate) async fn apply(
    db: &impl ConnectionTrait,
    actor: &Actor,
    old: &asset::Model,
    input: &AssetInput,
    ticket_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> ServiceResult<Option<asset::Model>> {
    let (changed, moved, assigned) = diff(old, input);
    if changed.is_empty() {
        return Ok(None);
    }
    let mut row = to_active(old.tenant_id, old.id, input, at);
    row.created_at = Set(old.created_at);
    row.version = Set(old.version + 1);
    let res = asset::Entity::update_many()
        .set(row)
        .filter(asset::Column::Id.eq(old.id))
        .filter(asset::Column::Version.eq(old.version))
        .exec(db)
        .await
        .map_err(|e| duplicate(e, input.mac_address.is_some()))?;
    if res.rows_affected == 0 {
        return Err(ServiceError::Conflict("asset changed meanwhile"));
    }
    let a = asset::Entity::find_by_id(old.id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let pick = |keys: &[&str]| -> Value {
        Value::Object(
            changed
                .iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    if moved {
        record(
            db,
            &a,
            Some(actor.person_id),
            "moved",
            pick(&["orgUnitId", "location", "computerName"]),
            ticket_id,
            at,
        )
        .await?;
    }
    if assigned {
        record(
            db,
            &a,
            Some(actor.person_id),
            "assigned",
            pick(&["userId"]),
            ticket_id,
            at,
        )
        .await?;
    }
    let rest: Map<String, Value> = changed
        .iter()
        .filter(|(k, _)| {
            !(matches!(k.as_str(), "orgUnitId" | "location" | "userId")
                || (moved && k.as_str() == "computerName"))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !rest.is_empty() {
        record(
            db,
            &a,
            Some(actor.person_id),
            "updated",
            Value::Object(rest),
            ticket_id,
            at,
        )
        .await?;
    }
    if old.parent_id != a.parent_id {
        if let Some(p) = old.parent_id {
            attach_event(db, actor, p, &a, false, at).await?;
        }
        if let Some(p) = a.parent_id {
            attach_event(db, actor, p, &a, true, at).await?;
        }
    }
    Ok(Some(a))
}

/// Changes an asset (desk only). `input` is the whole asset as it should be (the API overlays
/// the fields a client sent on the current row). Fails with a conflict unless the asset is
/// still at `expected_version` when one is given.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: AssetInput,
    expected_version: Option<i32>,
) -> ServiceResult<asset::Model> {
    require_desk(actor)?;
    let input = normalize(input).map_err(ServiceError::Invalid)?;
    let txn = db.begin().await?;
    let old = get(&txn, actor, id).await?;
    if expected_version.is_some_and(|v| v != old.version) {
        return Err(ServiceError::Conflict("asset changed meanwhile"));
    }
    if input.status != Some(old.status) && !status_settable(input.status) {
        return Err(ServiceError::invalid(
            "status",
            "STATUS_BY_OPERATION",
            "貸出中・修理中・廃棄済は各操作で設定されます",
        ));
    }
    if old.status == AssetStatus::Retired {
        return Err(ServiceError::invalid(
            "assetId",
            "RETIRED",
            "廃棄済の機器は変更できません",
        ));
    }
    if input.status != Some(old.status)
        && matches!(old.status, AssetStatus::OnLoan | AssetStatus::InRepair)
    {
        return Err(ServiceError::invalid(
            "status",
            "STATUS_BY_OPERATION",
            "貸出中・修理中の機器は返却・修理完了で状態が戻ります",
        ));
    }
    check_references(&txn, actor, &input, Some(id)).await?;
    let a = apply(&txn, actor, &old, &input, None, now()).await?;
    txn.commit().await?;
    Ok(a.unwrap_or(old))
}

/// Why an asset's status changes: the history event an operation records with it.
pub(crate) struct StatusEvent<'a> {
    pub kind: &'a str,
    pub payload: Value,
    pub ticket_id: Option<Uuid>,
}

/// Moves an asset to another status as part of an operation (loan, repair), with its event.
pub(crate) async fn set_status(
    db: &impl ConnectionTrait,
    actor: &Actor,
    a: &asset::Model,
    status: AssetStatus,
    ev: StatusEvent<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<asset::Model> {
    let mut row = a.clone().into_active_model();
    row.status = Set(status);
    row.updated_at = Set(at);
    row.version = Set(a.version + 1);
    let res = asset::Entity::update_many()
        .set(row)
        .filter(asset::Column::Id.eq(a.id))
        .filter(asset::Column::Version.eq(a.version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::Conflict("asset changed meanwhile"));
    }
    let mut payload = ev.payload;
    if let Value::Object(m) = &mut payload {
        m.insert("status".into(), json!({ "from": a.status, "to": status }));
    }
    record(
        db,
        a,
        Some(actor.person_id),
        ev.kind,
        payload,
        ev.ticket_id,
        at,
    )
    .await?;
    asset::Entity::find_by_id(a.id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Records an inspection (点検) of an asset (desk only).
pub async fn inspect(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    result: &str,
    note: Option<String>,
) -> ServiceResult<asset_event::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text("result", result, NAME_MAX, true);
    c.opt_text("note", note.as_deref(), NOTE_MAX);
    c.done()?;
    let txn = db.begin().await?;
    let a = get(&txn, actor, id).await?;
    let ev = record(
        &txn,
        &a,
        Some(actor.person_id),
        "inspected",
        json!({ "result": result.trim(), "note": clean(note) }),
        None,
        now(),
    )
    .await?;
    txn.commit().await?;
    Ok(ev)
}

/// A file proving data erasure (データ消去証明, 写真).
#[derive(Debug, Clone)]
pub struct Evidence {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Largest evidence file.
pub const EVIDENCE_MAX: usize = 20 * 1024 * 1024;

/// How an asset leaves the ledger.
#[derive(Debug, Clone, Default)]
pub struct Retirement {
    pub reason: String,
    /// データ消去方法 (物理破壊, 消去ソフト...).
    pub erasure_method: Option<String>,
    pub erased_on: Option<NaiveDate>,
    /// 証明書番号
    pub certificate_number: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// Retires an asset (廃棄) with its data-erasure evidence (desk only): evidence files are stored
/// content-addressed, its license seats released, its peripherals detached.
pub async fn retire(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    r: Retirement,
) -> ServiceResult<asset::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text("reason", &r.reason, NAME_MAX, true);
    c.opt_text("erasureMethod", r.erasure_method.as_deref(), NAME_MAX);
    c.opt_text(
        "certificateNumber",
        r.certificate_number.as_deref(),
        CODE_MAX,
    );
    for (i, e) in r.evidence.iter().enumerate() {
        if e.data.len() > EVIDENCE_MAX {
            c.push(
                &format!("evidence.{i}"),
                "TOO_LARGE",
                "証跡ファイルは20MB以内にしてください",
            );
        }
    }
    c.done()?;
    let txn = db.begin().await?;
    let a = get(&txn, actor, id).await?;
    match a.status {
        AssetStatus::Retired => {
            return Err(ServiceError::invalid(
                "assetId",
                "RETIRED",
                "既に廃棄済です",
            ));
        }
        AssetStatus::OnLoan => {
            return Err(ServiceError::invalid(
                "assetId",
                "ON_LOAN",
                "貸出中の機器は返却後に廃棄してください",
            ));
        }
        _ => {}
    }
    let at = now();
    let mut files = Vec::new();
    for e in &r.evidence {
        let sha = crate::mail::sha256_hex(&e.data);
        crate::mail::put_blob(&txn, &sha, &e.data, at).await?;
        files.push(json!({ "sha256": sha, "filename": e.filename, "contentType": e.content_type, "size": e.data.len() }));
    }
    let released = license_assignment::Entity::update_many()
        .col_expr(license_assignment::Column::ReleasedAt, Expr::val(at))
        .filter(license_assignment::Column::AssetId.eq(a.id))
        .filter(license_assignment::Column::ReleasedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    let children = asset::Entity::find()
        .filter(asset::Column::ParentId.eq(a.id))
        .all(&txn)
        .await?;
    for ch in &children {
        let mut input = AssetInput::from(ch);
        input.parent_id = None;
        apply(&txn, actor, ch, &input, None, at).await?;
    }
    let payload = json!({
        "reason": r.reason.trim(),
        "erasureMethod": clean(r.erasure_method),
        "erasedOn": r.erased_on,
        "certificateNumber": clean(r.certificate_number),
        "evidence": files,
        "licensesReleased": released,
        "peripheralsDetached": children.len(),
    });
    let a = set_status(
        &txn,
        actor,
        &a,
        AssetStatus::Retired,
        StatusEvent {
            kind: "retired",
            payload,
            ticket_id: None,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(a)
}

/// An asset's history, oldest first.
pub async fn events(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<asset_event::Model>> {
    let a = get(db, actor, id).await?;
    let mut q = asset_event::Entity::find().filter(asset_event::Column::AssetId.eq(a.id));
    if let Some(c) = after {
        q = q.filter(asset_event::Column::Id.gt(c));
    }
    let rows = q
        .order_by_asc(asset_event::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// One evidence file of a retirement (or any event that stored files), by the event's id and
/// the file's position, if the actor may see the asset. Returns (file name, content type, bytes).
pub async fn evidence_file(
    db: &impl ConnectionTrait,
    actor: &Actor,
    event_id: Uuid,
    index: usize,
) -> ServiceResult<(String, String, Vec<u8>)> {
    let ev = asset_event::Entity::find_by_id(event_id)
        .filter(asset_event::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    get(db, actor, ev.asset_id).await?;
    let file = ev.payload["evidence"]
        .get(index)
        .ok_or(ServiceError::NotFound)?;
    let sha = file["sha256"].as_str().ok_or(ServiceError::NotFound)?;
    let data = crate::mail::blob_data(db, sha)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok((
        file["filename"].as_str().unwrap_or("evidence").to_owned(),
        file["contentType"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_owned(),
        data,
    ))
}

/// Links a ticket to an asset (desk only); both histories record it. Linking twice is a no-op.
pub async fn link_ticket(
    db: &DatabaseConnection,
    actor: &Actor,
    asset_id: Uuid,
    ticket_id: Uuid,
) -> ServiceResult<asset::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let a = get(&txn, actor, asset_id).await?;
    let t = tickets::get(&txn, actor, ticket_id).await?;
    link_in(&txn, actor, &a, &t, now()).await?;
    txn.commit().await?;
    Ok(a)
}

pub(crate) async fn link_in(
    db: &impl ConnectionTrait,
    actor: &Actor,
    a: &asset::Model,
    t: &entity::ticket::Model,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let exists = asset_ticket::Entity::find_by_id((a.id, t.id))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    asset_ticket::Entity::insert(asset_ticket::ActiveModel {
        asset_id: Set(a.id),
        ticket_id: Set(t.id),
        tenant_id: Set(a.tenant_id),
        linked_by: Set(Some(actor.person_id)),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    record(
        db,
        a,
        Some(actor.person_id),
        "ticket_linked",
        json!({ "ticketNumber": t.number }),
        Some(t.id),
        at,
    )
    .await?;
    tickets::record_event(
        db,
        t,
        Some(actor.person_id),
        "asset_linked",
        json!({ "assetId": a.id, "assetTag": a.asset_tag, "name": a.name }),
        true,
        at,
    )
    .await?;
    Ok(())
}

/// Unlinks a ticket from an asset (desk only).
pub async fn unlink_ticket(
    db: &DatabaseConnection,
    actor: &Actor,
    asset_id: Uuid,
    ticket_id: Uuid,
) -> ServiceResult<asset::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let a = get(&txn, actor, asset_id).await?;
    let t = tickets::get(&txn, actor, ticket_id).await?;
    let gone = asset_ticket::Entity::delete_by_id((a.id, t.id))
        .exec(&txn)
        .await?
        .rows_affected;
    if gone > 0 {
        record(
            &txn,
            &a,
            Some(actor.person_id),
            "ticket_unlinked",
            json!({ "ticketNumber": t.number }),
            Some(t.id),
            now(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(a)
}

/// The tickets linked to an asset that the actor may see, newest link first.
pub async fn tickets_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    asset_id: Uuid,
) -> ServiceResult<Vec<entity::ticket::Model>> {
    let a = get(db, actor, asset_id).await?;
    Ok(tickets_of_many(db, actor, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default())
}

/// [`tickets_of`] for several assets in three queries (for DataLoaders); assets outside the
/// actor's scope get nothing.
pub async fn tickets_of_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    asset_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<entity::ticket::Model>>> {
    let visible: Vec<Uuid> = get_many(db, actor, asset_ids)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut out: HashMap<Uuid, Vec<entity::ticket::Model>> =
        visible.iter().map(|id| (*id, Vec::new())).collect();
    if visible.is_empty() {
        return Ok(out);
    }
    let links = asset_ticket::Entity::find()
        .filter(asset_ticket::Column::TenantId.eq(actor.tenant_id))
        .filter(asset_ticket::Column::AssetId.is_in(visible))
        .order_by_desc(asset_ticket::Column::CreatedAt)
        .all(db)
        .await?;
    let ticket_ids: Vec<Uuid> = links
        .iter()
        .map(|l| l.ticket_id)
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    let found: HashMap<Uuid, entity::ticket::Model> = tickets::get_many(db, actor, &ticket_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    for l in links {
        if let (Some(t), Some(list)) = (found.get(&l.ticket_id), out.get_mut(&l.asset_id)) {
            list.push(t.clone());
        }
    }
    Ok(out)
}

/// The peripherals attached to each of several terminals that the actor may see, by tag.
pub async fn peripherals_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    parent_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<asset::Model>>> {
    let mut out: HashMap<Uuid, Vec<asset::Model>> =
        parent_ids.iter().map(|id| (*id, Vec::new())).collect();
    if parent_ids.is_empty() {
        return Ok(out);
    }
    let rows = asset::Entity::find()
        .filter(scope_condition(actor))
        .filter(asset::Column::ParentId.is_in(parent_ids.to_vec()))
        .order_by_asc(asset::Column::AssetTag)
        .all(db)
        .await?;
    for r in rows {
        if let Some(list) = r.parent_id.and_then(|p| out.get_mut(&p)) {
            list.push(r);
        }
    }
    Ok(out)
}

/// The assets linked to a ticket that the actor may see.
pub async fn of_ticket(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ticket_id: Uuid,
) -> ServiceResult<Vec<asset::Model>> {
    let t = tickets::get(db, actor, ticket_id).await?;
    let ids: Vec<Uuid> = asset_ticket::Entity::find()
        .select_only()
        .column(asset_ticket::Column::AssetId)
        .filter(asset_ticket::Column::TicketId.eq(t.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut found = get_many(db, actor, &ids).await?;
    found.sort_by(|a, b| a.asset_tag.cmp(&b.asset_tag));
    Ok(found)
}
