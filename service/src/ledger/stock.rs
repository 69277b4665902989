//! Consumables (消耗品): items with the printer models they fit, stock per location, movements,
//! department requests (払い出し申請 → 承認 → 払出 → 受領書), purchase orders (発注) with
//! delivery slips (納品書) and invoice matching (請求書との突合), and reorder suggestions.
//!
//! Stock never goes negative: an outgoing movement is one conditional `UPDATE ... WHERE
//! quantity >= n RETURNING quantity` (atomic on both engines, re-checked under PostgreSQL's row
//! lock), and the column has a `CHECK (quantity >= 0)` besides. Every change of stock is a
//! movement row carrying the balance after it, so stock is always exactly accounted.

use super::{Check, clean, require_desk, require_supervisor};
use crate::auth::{Actor, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::page::Page;
use crate::tickets::now;
use crate::{directory, tz};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    ConsumableCategory, InvoiceMatch, MovementKind, PurchaseOrderStatus, SupplyRequestStatus,
    consumable_item, consumable_model, delivery, invoice, purchase_order, stock_level,
    stock_movement, supply_request,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Largest quantity in one movement or line.
pub const QUANTITY_MAX: i32 = 100_000;

// ---------------------------------------------------------------- items

/// A consumable as the caller describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    pub code: String,
    pub name: String,
    pub category: ConsumableCategory,
    pub unit: String,
    pub unit_price: i64,
    pub reorder_point: i32,
    pub reorder_quantity: i32,
    pub supplier: Option<String>,
    pub notes: Option<String>,
    pub active: bool,
    /// Printer models it fits (toner, ink).
    pub models: Vec<String>,
}

impl ItemInput {
    /// An item of `category` with a code and name, the rest defaulted.
    pub fn new(
        code: impl Into<String>,
        name: impl Into<String>,
        category: ConsumableCategory,
    ) -> Self {
        Self {
            code: code.into(),
            name: name.into(),
            category,
            unit: "個".into(),
            unit_price: 0,
            reorder_point: 0,
            reorder_quantity: 0,
            supplier: None,
            notes: None,
            active: true,
            models: Vec::new(),
        }
    }
}

/// Checks and trims an item input.
pub fn normalize_item(i: ItemInput) -> Result<ItemInput, Vec<crate::UserError>> {
    let mut c = Check::default();
    let code = i.code.trim().to_owned();
    let name = i.name.trim().to_owned();
    let unit = if i.unit.trim().is_empty() {
        "個".to_owned()
    } else {
        i.unit.trim().to_owned()
    };
    c.text("code", &code, super::assets::CODE_MAX, true);
    c.text("name", &name, super::assets::NAME_MAX, true);
    c.text("unit", &unit, 16, true);
    c.non_negative("unitPrice", i.unit_price);
    c.non_negative("reorderPoint", i64::from(i.reorder_point));
    c.non_negative("reorderQuantity", i64::from(i.reorder_quantity));
    let supplier = clean(i.supplier);
    c.opt_text("supplier", supplier.as_deref(), super::assets::NAME_MAX);
    let notes = clean(i.notes);
    c.opt_text("notes", notes.as_deref(), super::assets::NOTE_MAX);
    let mut models: Vec<String> = i
        .models
        .iter()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    models.sort();
    models.dedup();
    for m in &models {
        c.text("models", m, super::assets::NAME_MAX, true);
    }
    if c.0.is_empty() {
        Ok(ItemInput {
            code,
            name,
            unit,
            supplier,
            notes,
            models,
            ..i
        })
    } else {
        Err(c.0)
    }
}

/// Writes an item and its models (insert or replace by id), without checks.
pub(crate) async fn save_item(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    existing: Option<&consumable_item::Model>,
    i: &ItemInput,
    at: DateTime<Utc>,
) -> ServiceResult<consumable_item::Model> {
    let id = existing.map_or_else(Uuid::now_v7, |e| e.id);
    let row = consumable_item::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        code: Set(i.code.clone()),
        name: Set(i.name.clone()),
        category: Set(i.category),
        unit: Set(i.unit.clone()),
        unit_price: Set(i.unit_price),
        reorder_point: Set(i.reorder_point),
        reorder_quantity: Set(i.reorder_quantity),
        supplier: Set(i.supplier.clone()),
        notes: Set(i.notes.clone()),
        active: Set(i.active),
        created_at: Set(existing.map_or(at, |e| e.created_at)),
        updated_at: Set(at),
    };
    let item = if existing.is_some() {
        row.update(db).await
    } else {
        row.insert(db).await
    }
    .map_err(|e| {
        if super::is_unique_violation(&e) {
            ServiceError::invalid("code", "DUPLICATE", "この品目コードは既に登録されています")
        } else {
            e.into()
        }
    })?;
    consumable_model::Entity::delete_many()
        .filter(consumable_model::Column::ItemId.eq(id))
        .exec(db)
        .await?;
    if !i.models.is_empty() {
        consumable_model::Entity::insert_many(i.models.iter().map(|m| {
            consumable_model::ActiveModel {
                item_id: Set(id),
                model: Set(m.clone()),
                tenant_id: Set(tenant_id),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(item)
}

/// Registers a consumable (desk only).
pub async fn create_item(
    db: &DatabaseConnection,
    actor: &Actor,
    i: ItemInput,
) -> ServiceResult<consumable_item::Model> {
    require_desk(actor)?;
    let i = normalize_item(i).map_err(ServiceError::Invalid)?;
    let txn = db.begin().await?;
    let item = save_item(&txn, actor.tenant_id, None, &i, now()).await?;
    txn.commit().await?;
    Ok(item)
}

/// Changes a consumable (desk only).
pub async fn update_item(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    i: ItemInput,
) -> ServiceResult<consumable_item::Model> {
    require_desk(actor)?;
    let i = normalize_item(i).map_err(ServiceError::Invalid)?;
    let txn = db.begin().await?;
    let old = item(&txn, actor, id).await?;
    let item = save_item(&txn, actor.tenant_id, Some(&old), &i, now()).await?;
    txn.commit().await?;
    Ok(item)
}

/// Loads one consumable of the tenant (everyone of the tenant may see the catalogue).
pub async fn item(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<consumable_item::Model> {
    consumable_item::Entity::find_by_id(id)
        .filter(consumable_item::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Loads several consumables of the tenant.
pub async fn items_by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<Vec<consumable_item::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(consumable_item::Entity::find()
        .filter(consumable_item::Column::TenantId.eq(actor.tenant_id))
        .filter(consumable_item::Column::Id.is_in(crate::db::stable_in_list(ids)))
        .all(db)
        .await?)
}

/// Which consumables a list shows.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub categories: Vec<ConsumableCategory>,
    /// Only items that fit this printer model (e.g. the model of the caller's printer).
    pub fits_model: Option<String>,
    pub active: Option<bool>,
}

/// Lists consumables by code (the whole tenant may read the catalogue, to request from it).
pub async fn items(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: &ItemFilter,
    first: u64,
    after_code: Option<&str>,
) -> ServiceResult<Page<consumable_item::Model>> {
    let mut c = Condition::all().add(consumable_item::Column::TenantId.eq(actor.tenant_id));
    if !f.categories.is_empty() {
        c = c.add(consumable_item::Column::Category.is_in(f.categories.iter().copied()));
    }
    if let Some(a) = f.active {
        c = c.add(consumable_item::Column::Active.eq(a));
    }
    if let Some(m) = f
        .fits_model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        c = c.add(
            consumable_item::Column::Id.in_subquery(
                Query::select()
                    .column(consumable_model::Column::ItemId)
                    .from(consumable_model::Entity)
                    .and_where(consumable_model::Column::TenantId.eq(actor.tenant_id))
                    .and_where(consumable_model::Column::Model.eq(m))
                    .to_owned(),
            ),
        );
    }
    if let Some(a) = after_code {
        c = c.add(consumable_item::Column::Code.gt(a));
    }
    let rows = consumable_item::Entity::find()
        .filter(c)
        .order_by_asc(consumable_item::Column::Code)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// The printer models each item fits, for several items.
pub async fn models_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<String>>> {
    let rows = consumable_model::Entity::find()
        .filter(consumable_model::Column::TenantId.eq(actor.tenant_id))
        .filter(consumable_model::Column::ItemId.is_in(ids.to_vec()))
        .order_by_asc(consumable_model::Column::Model)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.item_id).or_default().push(r.model);
    }
    Ok(out)
}

/// Stock per location of several items.
pub async fn levels_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<stock_level::Model>>> {
    let rows = stock_level::Entity::find()
        .filter(stock_level::Column::TenantId.eq(actor.tenant_id))
        .filter(stock_level::Column::ItemId.is_in(ids.to_vec()))
        .order_by_asc(stock_level::Column::Location)
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<stock_level::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.item_id).or_default().push(r);
    }
    Ok(out)
}

// ---------------------------------------------------------------- movements

/// What a movement is attached to.
#[derive(Debug, Clone, Default)]
pub struct MovementRefs {
    pub request_id: Option<Uuid>,
    pub delivery_id: Option<Uuid>,
    pub org_unit_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub note: Option<String>,
}

/// A movement as the caller asks for it.
#[derive(Debug, Clone)]
pub struct NewMovement {
    pub item_id: Uuid,
    pub location: String,
    pub kind: MovementKind,
    /// Units moved; for `Adjust` the signed correction (棚卸差異).
    pub quantity: i32,
    pub refs: MovementRefs,
}

fn insufficient(location: &str, have: i64, want: i32) -> ServiceError {
    ServiceError::invalid(
        "quantity",
        "INSUFFICIENT_STOCK",
        format!("在庫が足りません（{location}: 在庫 {have}、必要 {want}）"),
    )
}

/// Applies `delta` to the stock of an item at a location and returns the balance after it;
/// refuses (and changes nothing) when the stock would go negative.
async fn change_level(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    item_id: Uuid,
    location: &str,
    delta: i64,
    at: DateTime<Utc>,
) -> ServiceResult<i64> {
    if delta >= 0 {
        let stmt = Query::insert()
            .into_table(stock_level::Entity)
            .columns([
                stock_level::Column::ItemId,
                stock_level::Column::Location,
                stock_level::Column::TenantId,
                stock_level::Column::Quantity,
                stock_level::Column::UpdatedAt,
            ])
            .values_panic([
                item_id.into(),
                location.into(),
                tenant_id.into(),
                delta.into(),
                at.into(),
            ])
            .on_conflict(
                OnConflict::columns([stock_level::Column::ItemId, stock_level::Column::Location])
                    .value(
                        stock_level::Column::Quantity,
                        Expr::col((stock_level::Entity, stock_level::Column::Quantity)).add(delta),
                    )
                    .value(stock_level::Column::UpdatedAt, Expr::val(at))
                    .to_owned(),
            )
            .returning_col(stock_level::Column::Quantity)
            .to_owned();
        let row = db
            .query_one(&stmt)
            .await?
            .ok_or_else(|| ServiceError::Config("stock upsert returned no row".to_owned()))?;
        return Ok(row.try_get("", "quantity")?);
    }
    let stmt = Query::update()
        .table(stock_level::Entity)
        .value(
            stock_level::Column::Quantity,
            Expr::col(stock_level::Column::Quantity).add(delta),
        )
        .value(stock_level::Column::UpdatedAt, Expr::val(at))
        .and_where(stock_level::Column::ItemId.eq(item_id))
        .and_where(stock_level::Column::Location.eq(location))
        .and_where(Expr::col(stock_level::Column::Quantity).gte(-delta))
        .returning_col(stock_level::Column::Quantity)
        .to_owned();
    match db.query_one(&stmt).await? {
        Some(row) => Ok(row.try_get("", "quantity")?),
        None => {
            let have = stock_level::Entity::find_by_id((item_id, location.to_owned()))
                .one(db)
                .await?
                .map_or(0, |l| l.quantity);
            Err(insufficient(
                location,
                have,
                i32::try_from(-delta).unwrap_or(i32::MAX),
            ))
        }
    }
}

/// Records a movement inside the caller's transaction, changing stock with it.
pub(crate) async fn move_in(
    db: &impl ConnectionTrait,
    actor_id: Option<Uuid>,
    tenant_id: Uuid,
    m: NewMovement,
    at: DateTime<Utc>,
) -> ServiceResult<stock_movement::Model> {
    let location = m.location.trim().to_owned();
    let mut c = Check::default();
    c.text("location", &location, super::assets::NAME_MAX, true);
    match m.kind {
        MovementKind::Adjust => {
            if m.quantity == 0 {
                c.push(
                    "quantity",
                    "OUT_OF_RANGE",
                    "調整数は0以外で指定してください",
                );
            }
            if clean(m.refs.note.clone()).is_none() {
                c.push("note", "REQUIRED", "棚卸調整には理由を入力してください");
            }
        }
        _ => c.positive("quantity", i64::from(m.quantity)),
    }
    if m.quantity.abs() > QUANTITY_MAX {
        c.push(
            "quantity",
            "OUT_OF_RANGE",
            format!("数量は{QUANTITY_MAX}以下にしてください"),
        );
    }
    c.opt_text("note", m.refs.note.as_deref(), super::assets::NOTE_MAX);
    c.done()?;
    let delta = match m.kind {
        MovementKind::Receive | MovementKind::Return => m.quantity,
        MovementKind::Issue => -m.quantity,
        MovementKind::Adjust => m.quantity,
        MovementKind::CollectUsed => 0,
    };
    let balance = if delta == 0 {
        stock_level::Entity::find_by_id((m.item_id, location.clone()))
            .one(db)
            .await?
            .map_or(0, |l| l.quantity)
    } else {
        change_level(db, tenant_id, m.item_id, &location, i64::from(delta), at).await?
    };
    Ok(stock_movement::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        item_id: Set(m.item_id),
        location: Set(location),
        kind: Set(m.kind),
        quantity: Set(m.quantity.abs()),
        delta: Set(delta),
        balance_after: Set(balance),
        request_id: Set(m.refs.request_id),
        delivery_id: Set(m.refs.delivery_id),
        org_unit_id: Set(m.refs.org_unit_id),
        person_id: Set(m.refs.person_id),
        asset_id: Set(m.refs.asset_id),
        note: Set(clean(m.refs.note)),
        actor_id: Set(actor_id),
        created_at: Set(at),
    }
    .insert(db)
    .await?)
}

/// Records a movement (desk only): receive, issue, adjust, return, used-toner collection.
pub async fn record_movement(
    db: &DatabaseConnection,
    actor: &Actor,
    m: NewMovement,
) -> ServiceResult<stock_movement::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    item(&txn, actor, m.item_id).await?;
    let mv = move_in(&txn, Some(actor.person_id), actor.tenant_id, m, now()).await?;
    txn.commit().await?;
    Ok(mv)
}

/// An item's movements, newest first (desk only).
pub async fn movements(
    db: &impl ConnectionTrait,
    actor: &Actor,
    item_id: Uuid,
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<stock_movement::Model>> {
    require_desk(actor)?;
    let mut q = stock_movement::Entity::find()
        .filter(stock_movement::Column::TenantId.eq(actor.tenant_id))
        .filter(stock_movement::Column::ItemId.eq(item_id));
    if let Some(a) = after {
        q = q.filter(stock_movement::Column::Id.lt(a));
    }
    let rows = q
        .order_by_desc(stock_movement::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

// ---------------------------------------------------------------- requests

fn request_scope(actor: &Actor) -> Condition {
    let c = Condition::all().add(supply_request::Column::TenantId.eq(actor.tenant_id));
    if actor.is_desk() {
        c
    } else if actor.has(Role::Requester) {
        c.add(supply_request::Column::RequestedBy.eq(actor.person_id))
    } else {
        c.add(super::nothing())
    }
}

/// Loads one request in scope.
pub async fn request(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<supply_request::Model> {
    supply_request::Entity::find_by_id(id)
        .filter(request_scope(actor))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A department's request as filed.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub item_id: Uuid,
    pub quantity: i32,
    /// Desk only (filing for someone who phoned); requesters file for themselves.
    pub requested_by: Option<Uuid>,
    pub printer_asset_id: Option<Uuid>,
    pub note: Option<String>,
}

/// Files a 払い出し申請. Requesters for themselves and their org unit; the desk for anyone.
pub async fn file_request(
    db: &DatabaseConnection,
    actor: &Actor,
    r: NewRequest,
) -> ServiceResult<supply_request::Model> {
    if !actor.is_desk() && !actor.has(Role::Requester) {
        return Err(ServiceError::Forbidden("only staff request consumables"));
    }
    let requester = match r.requested_by {
        Some(p) if p != actor.person_id => {
            require_desk(actor)?;
            p
        }
        _ => actor.person_id,
    };
    let mut c = Check::default();
    c.positive("quantity", i64::from(r.quantity));
    if r.quantity > QUANTITY_MAX {
        c.push(
            "quantity",
            "OUT_OF_RANGE",
            format!("数量は{QUANTITY_MAX}以下にしてください"),
        );
    }
    c.opt_text("note", r.note.as_deref(), super::assets::NOTE_MAX);
    c.done()?;
    let txn = db.begin().await?;
    let it = item(&txn, actor, r.item_id).await.map_err(|_| {
        ServiceError::invalid("itemId", "UNKNOWN_REFERENCE", "品目が見つかりません")
    })?;
    if !it.active {
        return Err(ServiceError::invalid(
            "itemId",
            "INACTIVE",
            "この品目は現在払い出していません",
        ));
    }
    let person = directory::person(&txn, actor.tenant_id, requester)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("requestedBy", "UNKNOWN_REFERENCE", "申請者が見つかりません")
        })?;
    if let Some(p) = r.printer_asset_id
        && entity::asset::Entity::find_by_id(p)
            .filter(entity::asset::Column::TenantId.eq(actor.tenant_id))
            .one(&txn)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid(
            "printerAssetId",
            "UNKNOWN_REFERENCE",
            "プリンタが見つかりません",
        ));
    }
    let at = now();
    let year = fiscal_year(at);
    let number = super::next_number(&txn, actor.tenant_id, "SR", year).await?;
    let row = supply_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        number: Set(number),
        item_id: Set(it.id),
        quantity: Set(r.quantity),
        org_unit_id: Set(person.org_unit_id),
        requested_by: Set(person.id),
        printer_asset_id: Set(r.printer_asset_id),
        note: Set(clean(r.note)),
        status: Set(SupplyRequestStatus::Requested),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_note: Set(None),
        issued_location: Set(None),
        issued_at: Set(None),
        receipt_signed_by: Set(None),
        receipt_on: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The fiscal year (年度, April to March) an instant falls in, in Japan.
pub fn fiscal_year(at: DateTime<Utc>) -> i32 {
    let d = at.with_timezone(&tz::TOKYO).date_naive();
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

async fn transition(
    txn: &DatabaseTransaction,
    r: supply_request::Model,
    from: &[SupplyRequestStatus],
    f: impl FnOnce(&mut supply_request::ActiveModel),
) -> ServiceResult<supply_request::Model> {
    if !from.contains(&r.status) {
        return Err(ServiceError::invalid(
            "requestId",
            "INVALID_TRANSITION",
            format!(
                "この申請は「{}」のため、この操作はできません",
                r.status.label_ja()
            ),
        ));
    }
    let mut row = r.into_active_model();
    f(&mut row);
    row.updated_at = Set(now());
    Ok(row.update(txn).await?)
}

/// Approves or rejects a request (supervisor or admin).
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    approve: bool,
    note: Option<String>,
) -> ServiceResult<supply_request::Model> {
    require_supervisor(actor)?;
    let txn = db.begin().await?;
    let r = request(&txn, actor, id).await?;
    let at = now();
    let r = transition(&txn, r, &[SupplyRequestStatus::Requested], |row| {
        row.status = Set(if approve {
            SupplyRequestStatus::Approved
        } else {
            SupplyRequestStatus::Rejected
        });
        row.decided_by = Set(Some(actor.person_id));
        row.decided_at = Set(Some(at));
        row.decision_note = Set(clean(note));
    })
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Issues an approved request from a location (desk only): stock goes down in the same
/// transaction, or nothing happens when there is not enough.
pub async fn issue_request(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    location: &str,
) -> ServiceResult<supply_request::Model> {
    require_desk(actor)?;
    let txn = db.begin().await?;
    let r = request(&txn, actor, id).await?;
    if r.status != SupplyRequestStatus::Approved {
        return Err(ServiceError::invalid(
            "requestId",
            "INVALID_TRANSITION",
            format!(
                "承認済の申請だけ払い出せます（現在: {}）",
                r.status.label_ja()
            ),
        ));
    }
    let at = now();
    let mv = move_in(
        &txn,
        Some(actor.person_id),
        actor.tenant_id,
        NewMovement {
            item_id: r.item_id,
            location: location.to_owned(),
            kind: MovementKind::Issue,
            quantity: r.quantity,
            refs: MovementRefs {
                request_id: Some(r.id),
                org_unit_id: r.org_unit_id,
                person_id: Some(r.requested_by),
                asset_id: r.printer_asset_id,
                note: Some(r.number.clone()),
                ..MovementRefs::default()
            },
        },
        at,
    )
    .await?;
    // The status guard in the UPDATE makes a second, concurrent issue of the same request fail
    // (and roll back its stock movement) instead of issuing twice.
    let res = supply_request::Entity::update_many()
        .col_expr(
            supply_request::Column::Status,
            Expr::val(SupplyRequestStatus::Issued.as_str()),
        )
        .col_expr(
            supply_request::Column::IssuedLocation,
            Expr::val(mv.location.clone()),
        )
        .col_expr(supply_request::Column::IssuedAt, Expr::val(at))
        .col_expr(supply_request::Column::UpdatedAt, Expr::val(at))
        .filter(supply_request::Column::Id.eq(r.id))
        .filter(supply_request::Column::Status.eq(SupplyRequestStatus::Approved))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(ServiceError::Conflict("request issued meanwhile"));
    }
    let r = request(&txn, actor, id).await?;
    txn.commit().await?;
    Ok(r)
}

/// Records the signed receipt (押捺済受領書) of an issued request (desk only).
pub async fn record_receipt(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    signed_by: &str,
    on: NaiveDate,
) -> ServiceResult<supply_request::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text("signedBy", signed_by, super::assets::NAME_MAX, true);
    c.done()?;
    let txn = db.begin().await?;
    let r = request(&txn, actor, id).await?;
    let r = transition(&txn, r, &[SupplyRequestStatus::Issued], |row| {
        row.receipt_signed_by = Set(Some(signed_by.trim().to_owned()));
        row.receipt_on = Set(Some(on));
    })
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Withdraws a request not yet issued: the requester their own, the desk any.
pub async fn cancel_request(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<supply_request::Model> {
    let txn = db.begin().await?;
    let r = request(&txn, actor, id).await?;
    let r = transition(
        &txn,
        r,
        &[
            SupplyRequestStatus::Requested,
            SupplyRequestStatus::Approved,
        ],
        |row| {
            row.status = Set(SupplyRequestStatus::Cancelled);
        },
    )
    .await?;
    txn.commit().await?;
    Ok(r)
}

/// Lists requests in scope, newest first.
pub async fn requests(
    db: &impl ConnectionTrait,
    actor: &Actor,
    statuses: &[SupplyRequestStatus],
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<supply_request::Model>> {
    let mut q = supply_request::Entity::find().filter(request_scope(actor));
    if !statuses.is_empty() {
        q = q.filter(supply_request::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(a) = after {
        q = q.filter(supply_request::Column::Id.lt(a));
    }
    let rows = q
        .order_by_desc(supply_request::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

// ---------------------------------------------------------------- purchasing

/// One line of an order or invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceLine {
    pub item_id: Uuid,
    pub quantity: i32,
    /// Yen per unit.
    pub unit_price: i64,
}

/// One line of a delivery slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryLine {
    pub item_id: Uuid,
    pub quantity: i32,
}

/// Reads the lines stored on an order or invoice.
pub fn price_lines(v: &serde_json::Value) -> Vec<PriceLine> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Reads the lines stored on a delivery.
pub fn delivery_lines(v: &serde_json::Value) -> Vec<DeliveryLine> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn check_lines(c: &mut Check, field: &str, lines: &[(Uuid, i32, i64)]) {
    if lines.is_empty() {
        c.push(field, "REQUIRED", "明細を1行以上入力してください");
    }
    for (n, (_, q, p)) in lines.iter().enumerate() {
        if *q <= 0 || *q > QUANTITY_MAX {
            c.push(
                &format!("{field}.{n}.quantity"),
                "OUT_OF_RANGE",
                format!("数量は1〜{QUANTITY_MAX}で指定してください"),
            );
        }
        if *p < 0 {
            c.push(
                &format!("{field}.{n}.unitPrice"),
                "OUT_OF_RANGE",
                "単価は0以上で指定してください",
            );
        }
    }
}

/// Loads one order (desk only).
pub async fn order(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<purchase_order::Model> {
    require_desk(actor)?;
    purchase_order::Entity::find_by_id(id)
        .filter(purchase_order::Column::TenantId.eq(actor.tenant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Places an order with a supplier (desk only); the number is handed out per fiscal year.
pub async fn place_order(
    db: &DatabaseConnection,
    actor: &Actor,
    supplier: &str,
    ordered_on: NaiveDate,
    lines: Vec<PriceLine>,
    note: Option<String>,
) -> ServiceResult<purchase_order::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text("supplier", supplier, super::assets::NAME_MAX, true);
    check_lines(
        &mut c,
        "lines",
        &lines
            .iter()
            .map(|l| (l.item_id, l.quantity, l.unit_price))
            .collect::<Vec<_>>(),
    );
    c.done()?;
    let txn = db.begin().await?;
    let ids: Vec<Uuid> = lines.iter().map(|l| l.item_id).collect();
    let known = items_by_ids(&txn, actor, &ids).await?;
    if let Some(n) = lines
        .iter()
        .position(|l| !known.iter().any(|k| k.id == l.item_id))
    {
        return Err(ServiceError::invalid(
            &format!("lines.{n}.itemId"),
            "UNKNOWN_REFERENCE",
            "品目が見つかりません",
        ));
    }
    let at = now();
    let number = super::next_number(&txn, actor.tenant_id, "PO", fiscal_year(at)).await?;
    let po = purchase_order::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        number: Set(number),
        supplier: Set(supplier.trim().to_owned()),
        ordered_on: Set(ordered_on),
        status: Set(PurchaseOrderStatus::Ordered),
        lines: Set(json!(lines)),
        note: Set(clean(note)),
        created_by: Set(Some(actor.person_id)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(po)
}

/// Quantities delivered so far per item of an order.
async fn delivered(db: &impl ConnectionTrait, po_id: Uuid) -> ServiceResult<BTreeMap<Uuid, i64>> {
    Ok(delivered_by_order(db, &[po_id])
        .await?
        .remove(&po_id)
        .unwrap_or_default())
}

/// [`delivered`] for several orders in one query.
async fn delivered_by_order(
    db: &impl ConnectionTrait,
    po_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, BTreeMap<Uuid, i64>>> {
    let mut out: HashMap<Uuid, BTreeMap<Uuid, i64>> = HashMap::new();
    if po_ids.is_empty() {
        return Ok(out);
    }
    for d in delivery::Entity::find()
        .filter(delivery::Column::PurchaseOrderId.is_in(po_ids.to_vec()))
        .all(db)
        .await?
    {
        let got = out.entry(d.purchase_order_id).or_default();
        for l in delivery_lines(&d.lines) {
            *got.entry(l.item_id).or_insert(0) += i64::from(l.quantity);
        }
    }
    Ok(out)
}

fn ordered(po: &purchase_order::Model) -> BTreeMap<Uuid, (i64, i64)> {
    let mut out = BTreeMap::new();
    for l in price_lines(&po.lines) {
        let e = out.entry(l.item_id).or_insert((0, l.unit_price));
        e.0 += i64::from(l.quantity);
    }
    out
}

/// Records a delivery slip against an order and receives its lines into stock at `location`
/// (desk only). The same slip number recorded again returns the first record and receives
/// nothing twice.
pub async fn record_delivery(
    db: &DatabaseConnection,
    actor: &Actor,
    po_id: Uuid,
    slip_number: &str,
    delivered_on: NaiveDate,
    location: &str,
    lines: Vec<DeliveryLine>,
) -> ServiceResult<delivery::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text("slipNumber", slip_number, super::assets::CODE_MAX, true);
    c.text("location", location, super::assets::NAME_MAX, true);
    check_lines(
        &mut c,
        "lines",
        &lines
            .iter()
            .map(|l| (l.item_id, l.quantity, 0))
            .collect::<Vec<_>>(),
    );
    c.done()?;
    let txn = db.begin().await?;
    let po = purchase_order::Entity::find_by_id(po_id)
        .filter(purchase_order::Column::TenantId.eq(actor.tenant_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(d) = delivery::Entity::find()
        .filter(delivery::Column::PurchaseOrderId.eq(po.id))
        .filter(delivery::Column::SlipNumber.eq(slip_number.trim()))
        .one(&txn)
        .await?
    {
        return Ok(d);
    }
    let ord = ordered(&po);
    if let Some(n) = lines.iter().position(|l| !ord.contains_key(&l.item_id)) {
        return Err(ServiceError::invalid(
            &format!("lines.{n}.itemId"),
            "NOT_ORDERED",
            "発注にない品目です",
        ));
    }
    let at = now();
    let d = delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        purchase_order_id: Set(po.id),
        slip_number: Set(slip_number.trim().to_owned()),
        delivered_on: Set(delivered_on),
        location: Set(location.trim().to_owned()),
        lines: Set(json!(lines)),
        received_by: Set(Some(actor.person_id)),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    for l in &lines {
        move_in(
            &txn,
            Some(actor.person_id),
            actor.tenant_id,
            NewMovement {
                item_id: l.item_id,
                location: location.to_owned(),
                kind: MovementKind::Receive,
                quantity: l.quantity,
                refs: MovementRefs {
                    delivery_id: Some(d.id),
                    note: Some(format!("{} 納品書 {}", po.number, d.slip_number)),
                    ..MovementRefs::default()
                },
            },
            at,
        )
        .await?;
    }
    let got = delivered(&txn, po.id).await?;
    let complete = ord
        .iter()
        .all(|(item, (q, _))| got.get(item).copied().unwrap_or(0) >= *q);
    let mut row = po.into_active_model();
    row.status = Set(if complete {
        PurchaseOrderStatus::Delivered
    } else {
        PurchaseOrderStatus::PartiallyDelivered
    });
    row.updated_at = Set(at);
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(d)
}

/// One difference an invoice has from its order and deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discrepancy {
    pub item_id: Uuid,
    /// `quantity` (invoiced vs delivered), `unit_price` (invoiced vs ordered), `not_ordered`,
    /// `not_invoiced` (delivered but missing from the invoice).
    pub field: String,
    pub expected: i64,
    pub actual: i64,
}

/// Matches invoice lines against what was ordered (unit price) and delivered (quantity).
pub fn match_invoice(
    ordered: &BTreeMap<Uuid, (i64, i64)>,
    delivered: &BTreeMap<Uuid, i64>,
    lines: &[PriceLine],
) -> Vec<Discrepancy> {
    let mut invoiced: BTreeMap<Uuid, (i64, Vec<i64>)> = BTreeMap::new();
    for l in lines {
        let e = invoiced.entry(l.item_id).or_insert((0, Vec::new()));
        e.0 += i64::from(l.quantity);
        e.1.push(l.unit_price);
    }
    let mut out = Vec::new();
    for (item, (qty, prices)) in &invoiced {
        let Some((_, price)) = ordered.get(item) else {
            out.push(Discrepancy {
                item_id: *item,
                field: "not_ordered".into(),
                expected: 0,
                actual: *qty,
            });
            continue;
        };
        let got = delivered.get(item).copied().unwrap_or(0);
        if *qty != got {
            out.push(Discrepancy {
                item_id: *item,
                field: "quantity".into(),
                expected: got,
                actual: *qty,
            });
        }
        for p in prices {
            if p != price {
                out.push(Discrepancy {
                    item_id: *item,
                    field: "unit_price".into(),
                    expected: *price,
                    actual: *p,
                });
            }
        }
    }
    for (item, got) in delivered {
        if *got > 0 && !invoiced.contains_key(item) {
            out.push(Discrepancy {
                item_id: *item,
                field: "not_invoiced".into(),
                expected: *got,
                actual: 0,
            });
        }
    }
    out
}

/// Records an invoice and matches it (desk only): discrepancies in quantity or unit price are
/// flagged on it; a matched invoice of a fully delivered order closes the order. The same invoice
/// number recorded again returns the first record.
pub async fn record_invoice(
    db: &DatabaseConnection,
    actor: &Actor,
    po_id: Uuid,
    invoice_number: &str,
    invoiced_on: NaiveDate,
    lines: Vec<PriceLine>,
) -> ServiceResult<invoice::Model> {
    require_desk(actor)?;
    let mut c = Check::default();
    c.text(
        "invoiceNumber",
        invoice_number,
        super::assets::CODE_MAX,
        true,
    );
    check_lines(
        &mut c,
        "lines",
        &lines
            .iter()
            .map(|l| (l.item_id, l.quantity, l.unit_price))
            .collect::<Vec<_>>(),
    );
    c.done()?;
    let txn = db.begin().await?;
    let po = order(&txn, actor, po_id).await?;
    if let Some(i) = invoice::Entity::find()
        .filter(invoice::Column::PurchaseOrderId.eq(po.id))
        .filter(invoice::Column::InvoiceNumber.eq(invoice_number.trim()))
        .one(&txn)
        .await?
    {
        return Ok(i);
    }
    let got = delivered(&txn, po.id).await?;
    let diffs = match_invoice(&ordered(&po), &got, &lines);
    let total: i64 = lines
        .iter()
        .map(|l| i64::from(l.quantity) * l.unit_price)
        .sum();
    let at = now();
    let inv = invoice::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(actor.tenant_id),
        purchase_order_id: Set(po.id),
        invoice_number: Set(invoice_number.trim().to_owned()),
        invoiced_on: Set(invoiced_on),
        lines: Set(json!(lines)),
        total: Set(total),
        match_status: Set(if diffs.is_empty() {
            InvoiceMatch::Matched
        } else {
            InvoiceMatch::Discrepancy
        }),
        discrepancies: Set(json!(diffs)),
        recorded_by: Set(Some(actor.person_id)),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    if diffs.is_empty() && po.status == PurchaseOrderStatus::Delivered {
        let mut row = po.into_active_model();
        row.status = Set(PurchaseOrderStatus::Closed);
        row.updated_at = Set(at);
        row.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(inv)
}

/// Lists orders, newest first (desk only).
pub async fn orders(
    db: &impl ConnectionTrait,
    actor: &Actor,
    statuses: &[PurchaseOrderStatus],
    first: u64,
    after: Option<Uuid>,
) -> ServiceResult<Page<purchase_order::Model>> {
    require_desk(actor)?;
    let mut q =
        purchase_order::Entity::find().filter(purchase_order::Column::TenantId.eq(actor.tenant_id));
    if !statuses.is_empty() {
        q = q.filter(purchase_order::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(a) = after {
        q = q.filter(purchase_order::Column::Id.lt(a));
    }
    let rows = q
        .order_by_desc(purchase_order::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, first))
}

/// The deliveries and invoices of an order (desk only).
pub async fn order_documents(
    db: &impl ConnectionTrait,
    actor: &Actor,
    po_id: Uuid,
) -> ServiceResult<(Vec<delivery::Model>, Vec<invoice::Model>)> {
    let po = order(db, actor, po_id).await?;
    let d = delivery::Entity::find()
        .filter(delivery::Column::PurchaseOrderId.eq(po.id))
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await?;
    let i = invoice::Entity::find()
        .filter(invoice::Column::PurchaseOrderId.eq(po.id))
        .order_by_asc(invoice::Column::Id)
        .all(db)
        .await?;
    Ok((d, i))
}

/// An item whose stock (with what is on order) is at or below its reorder point.
#[derive(Debug, Clone)]
pub struct ReorderSuggestion {
    pub item: consumable_item::Model,
    pub on_hand: i64,
    pub on_order: i64,
    /// What to order: the item's reorder quantity, or enough to get above the point.
    pub suggested: i64,
}

/// The items to reorder (desk only), lowest stock relative to its point first.
pub async fn reorder_suggestions(
    db: &impl ConnectionTrait,
    actor: &Actor,
) -> ServiceResult<Vec<ReorderSuggestion>> {
    require_desk(actor)?;
    let items = consumable_item::Entity::find()
        .filter(consumable_item::Column::TenantId.eq(actor.tenant_id))
        .filter(consumable_item::Column::Active.eq(true))
        .all(db)
        .await?;
    let on_hand: HashMap<Uuid, i64> = stock_level::Entity::find()
        .select_only()
        .column(stock_level::Column::ItemId)
        .column_as(
            Expr::col(stock_level::Column::Quantity)
                .sum()
                .cast_as("BIGINT"),
            "q",
        )
        .filter(stock_level::Column::TenantId.eq(actor.tenant_id))
        .group_by(stock_level::Column::ItemId)
        .into_tuple::<(Uuid, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(i, q)| (i, q.unwrap_or(0)))
        .collect();
    let mut on_order: HashMap<Uuid, i64> = HashMap::new();
    let open = purchase_order::Entity::find()
        .filter(purchase_order::Column::TenantId.eq(actor.tenant_id))
        .filter(purchase_order::Column::Status.is_in([
            PurchaseOrderStatus::Ordered,
            PurchaseOrderStatus::PartiallyDelivered,
        ]))
        .all(db)
        .await?;
    let open_ids: Vec<Uuid> = open.iter().map(|po| po.id).collect();
    let got = delivered_by_order(db, &open_ids).await?;
    for po in &open {
        let got = got.get(&po.id);
        for (item, (q, _)) in ordered(po) {
            let arrived = got.and_then(|g| g.get(&item)).copied().unwrap_or(0);
            *on_order.entry(item).or_insert(0) += Ord::max(q - arrived, 0);
        }
    }
    let mut out: Vec<ReorderSuggestion> = items
        .into_iter()
        .filter_map(|item| {
            let have = on_hand.get(&item.id).copied().unwrap_or(0);
            let coming = on_order.get(&item.id).copied().unwrap_or(0);
            let point = i64::from(item.reorder_point);
            (point > 0 && have + coming <= point).then(|| {
                let suggested =
                    Ord::max(i64::from(item.reorder_quantity), point + 1 - have - coming);
                ReorderSuggestion {
                    item,
                    on_hand: have,
                    on_order: coming,
                    suggested,
                }
            })
        })
        .collect();
    out.sort_by_key(|s| {
        (
            s.on_hand + s.on_order - i64::from(s.item.reorder_point),
            s.item.code.clone(),
        )
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoices_are_matched_on_delivered_quantity_and_ordered_price() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let ordered: BTreeMap<Uuid, (i64, i64)> = [(a, (10, 4800)), (b, (5, 12000))].into();
        let delivered: BTreeMap<Uuid, i64> = [(a, 10), (b, 4)].into();
        let ok = [
            PriceLine {
                item_id: a,
                quantity: 10,
                unit_price: 4800,
            },
            PriceLine {
                item_id: b,
                quantity: 4,
                unit_price: 12000,
            },
        ];
        assert!(match_invoice(&ordered, &delivered, &ok).is_empty());
        let bad = [
            PriceLine {
                item_id: a,
                quantity: 10,
                unit_price: 5000,
            },
            PriceLine {
                item_id: b,
                quantity: 5,
                unit_price: 12000,
            },
            PriceLine {
                item_id: c,
                quantity: 1,
                unit_price: 100,
            },
        ];
        let d = match_invoice(&ordered, &delivered, &bad);
        assert!(d.contains(&Discrepancy {
            item_id: a,
            field: "unit_price".into(),
            expected: 4800,
            actual: 5000
        }));
        assert!(d.contains(&Discrepancy {
            item_id: b,
            field: "quantity".into(),
            expected: 4,
            actual: 5
        }));
        assert!(d.contains(&Discrepancy {
            item_id: c,
            field: "not_ordered".into(),
            expected: 0,
            actual: 1
        }));
        assert_eq!(d.len(), 3);
        let missing = [PriceLine {
            item_id: a,
            quantity: 10,
            unit_price: 4800,
        }];
        assert_eq!(
            match_invoice(&ordered, &delivered, &missing),
            vec![Discrepancy {
                item_id: b,
                field: "not_invoiced".into(),
                expected: 4,
                actual: 0
            }]
        );
    }

    #[test]
    fn the_fiscal_year_starts_in_april_in_japan() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            fiscal_year(at("2027-03-31T14:59:59Z")),
            2026,
            "23:59 on 31 March in Tokyo"
        );
        assert_eq!(
            fiscal_year(at("2027-03-31T15:00:00Z")),
            2027,
            "00:00 on 1 April in Tokyo"
        );
        assert_eq!(fiscal_year(at("2026-11-30T00:00:00Z")), 2026);
    }
}
