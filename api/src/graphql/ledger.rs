//! The ledgers in GraphQL: assets with their history and tickets, loans, repairs, licenses,
//! consumables with stock, department requests, purchasing; import (upload) and export
//! (download link). Same conventions as tickets; scope is enforced in `service::ledger`.

use super::context::CtxExt;
use super::enums::OrderDirection;
use super::errors::{ApiError, ApiResult, svc};
use super::ids::{self, NodeType, encode};
use super::mutation::UserError;
use super::pagination::{self, PageInfo};
use super::types::{OrgUnit, Person, Ticket, Vendor};
use async_graphql::{
    Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject, Upload,
};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    asset, asset_event, booking, consumable_item, delivery, invoice, license, license_assignment,
    purchase_order, repair, stock_level, stock_movement, supply_request,
};
use service::ledger::{assets, licenses, loans, repairs, sheets, stock};
use service::page::{Cursor, Direction, Page};
use service::{ServiceError, ServiceResult};
use std::io::Read;
use uuid::Uuid;

// ---------------------------------------------------------------- enums

/// 機器種別.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::AssetKind")]
pub enum AssetKind {
    /// ノートPC
    Notebook,
    /// デスクトップPC
    Desktop,
    /// 2in1 PC
    TwoInOne,
    /// テレワーク専用PC
    TeleworkPc,
    /// サーバ
    Server,
    /// プリンタ・複合機
    Printer,
    /// プロジェクタ
    Projector,
    /// モバイルWi-Fiルータ
    MobileRouter,
    /// ネットワーク機器
    NetworkDevice,
    /// UPS
    Ups,
    /// 周辺機器 (mouse, AC adapter, monitor, secure-card reader), attached to a terminal.
    Peripheral,
    /// 貸出セット (web-conference kit).
    LoanKit,
    /// カード類 (entry cards, print-room cards).
    Card,
    /// その他
    Other,
}

/// 状態 of an asset.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::AssetStatus")]
pub enum AssetStatus {
    /// 使用中
    InUse,
    /// 予備
    Spare,
    /// 貸出中 (set by lending).
    OnLoan,
    /// 修理中 (set by a repair).
    InRepair,
    /// 廃棄済 (set by retiring).
    Retired,
}

/// Where a reservation or loan stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::BookingStatus")]
pub enum BookingStatus {
    /// 予約
    Reserved,
    /// 貸出中
    CheckedOut,
    /// 返却済
    Returned,
    /// 取消
    Cancelled,
}

/// Where a repair stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::RepairStatus")]
pub enum RepairStatus {
    /// 受付
    Open,
    /// 修理依頼中 (at the vendor).
    Dispatched,
    /// 修理完了・返却 (back, to be re-kitted).
    Returned,
    /// 完了
    Closed,
}

/// 消耗品の区分.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::ConsumableCategory")]
pub enum ConsumableCategory {
    /// トナー
    Toner,
    /// インク
    Ink,
    /// 印刷室用品 (インク・マスター)
    PrintRoom,
    /// マウス
    Mouse,
    /// ヘッドセット
    Headset,
    /// モニター
    Monitor,
    /// セキュリティUSB
    Usb,
    /// LANケーブル
    LanCable,
    /// HUB
    Hub,
    /// その他
    Other,
}

/// 入出庫の種類.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::MovementKind")]
pub enum MovementKind {
    /// 入庫
    Receive,
    /// 払出
    Issue,
    /// 棚卸調整 (signed quantity, a note required).
    Adjust,
    /// 返品・戻入
    Return,
    /// 使用済みトナー回収 (does not change stock).
    CollectUsed,
}

/// Where a 払い出し申請 stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::SupplyRequestStatus")]
pub enum SupplyRequestStatus {
    /// 申請中
    Requested,
    /// 承認済
    Approved,
    /// 却下
    Rejected,
    /// 払出済
    Issued,
    /// 取消
    Cancelled,
}

/// Where an order stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::PurchaseOrderStatus")]
pub enum PurchaseOrderStatus {
    /// 発注済
    Ordered,
    /// 一部納品
    PartiallyDelivered,
    /// 納品済
    Delivered,
    /// 完了 (delivered and a matching invoice recorded).
    Closed,
}

/// The outcome of matching an invoice.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::InvoiceMatch")]
pub enum InvoiceMatch {
    /// 一致
    Matched,
    /// 不一致: see `discrepancies`.
    Discrepancy,
}

/// Fields assets can be ordered by.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum AssetOrderField {
    /// 資産番号
    #[default]
    AssetTag,
    /// Last change.
    UpdatedAt,
    /// Registration.
    CreatedAt,
}

/// A ledger, for import and export.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum LedgerKind {
    /// 構成管理台帳
    Assets,
    /// ライセンス管理台帳
    Licenses,
    /// 消耗品台帳
    Consumables,
    /// RADIUS登録用MACアドレス一覧 (export only): devices with a MAC in use, spare or on loan.
    RadiusMacs,
}

impl From<LedgerKind> for sheets::Ledger {
    fn from(l: LedgerKind) -> Self {
        match l {
            LedgerKind::Assets => sheets::Ledger::Assets,
            LedgerKind::Licenses => sheets::Ledger::Licenses,
            LedgerKind::Consumables => sheets::Ledger::Consumables,
            LedgerKind::RadiusMacs => sheets::Ledger::RadiusMacs,
        }
    }
}

/// The file format of an export.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ExportFormat {
    /// CSV in Shift_JIS (CP932), what Excel opens by double-click.
    CsvShiftJis,
    /// CSV in UTF-8 with a BOM; nothing is lost.
    #[graphql(name = "CSV_UTF8")]
    CsvUtf8,
    /// Excel workbook.
    Xlsx,
}

impl From<ExportFormat> for sheets::ExportFormat {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::CsvShiftJis => sheets::ExportFormat::Csv(sheets::CsvEncoding::ShiftJis),
            ExportFormat::CsvUtf8 => sheets::ExportFormat::Csv(sheets::CsvEncoding::Utf8Bom),
            ExportFormat::Xlsx => sheets::ExportFormat::Xlsx,
        }
    }
}

// ---------------------------------------------------------------- helpers

fn dir(d: OrderDirection) -> Direction {
    match d {
        OrderDirection::Asc => Direction::Asc,
        OrderDirection::Desc => Direction::Desc,
    }
}

/// A page of rows as edges whose cursor is the row's global ID (lists ordered by id).
fn id_edges<M, N>(
    page: Page<M>,
    ty: NodeType,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> (Vec<(String, N)>, bool) {
    let has_next = page.has_next;
    (
        page.items
            .into_iter()
            .map(|m| (encode(ty, id(&m)).0, node(m)))
            .collect(),
        has_next,
    )
}

fn page_info<N>(edges: &[(String, N)], has_next: bool, has_previous: bool) -> PageInfo {
    PageInfo::new(
        has_next,
        has_previous,
        edges.first().map(|e| e.0.clone()),
        edges.last().map(|e| e.0.clone()),
    )
}

/// Turns a service result into a payload's parts: user errors into the payload, the rest errors.
fn respond<T>(r: ServiceResult<T>) -> ApiResult<(Option<T>, Vec<UserError>)> {
    match r {
        Ok(v) => Ok((Some(v), vec![])),
        Err(ServiceError::Invalid(errs)) => Ok((None, errs.into_iter().map(Into::into).collect())),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

fn read_upload(ctx: &Context<'_>, u: &Upload, max: usize) -> ApiResult<(String, String, Vec<u8>)> {
    let v = u
        .value(ctx)
        .map_err(|_| bad("file", "INVALID_UPLOAD", "ファイルを受け取れませんでした"))?;
    let mut data = Vec::new();
    v.content
        .take(max as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|_| bad("file", "INVALID_UPLOAD", "ファイルを読めませんでした"))?;
    if data.len() > max {
        return Err(bad(
            "file",
            "TOO_LARGE",
            &format!("ファイルは{}MB以内にしてください", max / 1024 / 1024),
        ));
    }
    Ok((
        v.filename,
        v.content_type
            .unwrap_or_else(|| "application/octet-stream".into()),
        data,
    ))
}

fn bad(field: &str, code: &'static str, msg: &str) -> async_graphql::Error {
    ApiError::BadInput(vec![service::UserError {
        field: vec!["input".into(), field.into()],
        message: msg.into(),
        code,
    }])
    .into()
}

async fn asset_opt(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<Asset>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx.loaders()?.assets.load_one(id).await?.map(Asset))
}

async fn person_opt(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<Person>> {
    Ok(ctx.loaders()?.person(id).await?.map(Person))
}

async fn org_unit_opt(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<OrgUnit>> {
    Ok(ctx.loaders()?.org_unit(id).await?.map(OrgUnit))
}

async fn item_opt(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<ConsumableItem>> {
    match stock::item(&ctx.state().db.read, ctx.actor()?, id).await {
        Ok(i) => Ok(Some(ConsumableItem(i))),
        Err(ServiceError::NotFound) => Ok(None),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

// ---------------------------------------------------------------- assets

/// A device or item in the configuration ledger (構成管理台帳).
pub struct Asset(pub asset::Model);

#[Object]
/// A device or item in the configuration ledger (構成管理台帳).
impl Asset {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::Asset, self.0.id)
    }
    /// 資産番号
    async fn asset_tag(&self) -> &str {
        &self.0.asset_tag
    }
    /// 機器種別
    async fn kind(&self) -> AssetKind {
        self.0.kind.into()
    }
    /// 機器種別 in Japanese.
    async fn kind_label(&self) -> &'static str {
        self.0.kind.label_ja()
    }
    /// 品名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// メーカー
    async fn maker(&self) -> Option<&str> {
        self.0.maker.as_deref()
    }
    /// 型番
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    /// 製造番号
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    /// コンピュータ名
    async fn computer_name(&self) -> Option<&str> {
        self.0.computer_name.as_deref()
    }
    /// IPアドレス
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }
    /// MACアドレス, `00:1A:2B:3C:4D:5E`.
    async fn mac_address(&self) -> Option<&str> {
        self.0.mac_address.as_deref()
    }
    /// 所属
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        org_unit_opt(ctx, self.0.org_unit_id).await
    }
    /// 設置場所
    async fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
    /// 利用者
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, self.0.user_id).await
    }
    /// 用途
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// 状態
    async fn status(&self) -> AssetStatus {
        self.0.status.into()
    }
    /// 状態 in Japanese.
    async fn status_label(&self) -> &'static str {
        self.0.status.label_ja()
    }
    /// The terminal this peripheral is attached to (or the kit it belongs to).
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_opt(ctx, self.0.parent_id).await
    }
    /// Peripherals attached to this terminal, by tag.
    async fn peripherals(&self, ctx: &Context<'_>) -> ApiResult<Vec<Asset>> {
        Ok(ctx
            .loaders()?
            .peripherals
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Asset)
            .collect())
    }
    /// Whether it is lent out (貸出物品).
    async fn loanable(&self) -> bool {
        self.0.loanable
    }
    /// リース会社
    async fn lessor(&self) -> Option<&str> {
        self.0.lessor.as_deref()
    }
    /// リース開始日
    async fn lease_start(&self) -> Option<NaiveDate> {
        self.0.lease_start
    }
    /// リース終了日
    async fn lease_end(&self) -> Option<NaiveDate> {
        self.0.lease_end
    }
    /// 購入日
    async fn purchased_on(&self) -> Option<NaiveDate> {
        self.0.purchased_on
    }
    /// 保証期限
    async fn warranty_until(&self) -> Option<NaiveDate> {
        self.0.warranty_until
    }
    /// 備考
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Registration.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Optimistic-lock version; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The history (履歴), oldest first.
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AssetEventConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = after
            .as_ref()
            .map(|a| ids::decode(&ID::from(a.as_str()), NodeType::AssetEvent))
            .transpose()?;
        let page = svc(assets::events(
            &ctx.state().db.read,
            ctx.actor()?,
            self.0.id,
            first,
            after_id,
        )
        .await)?;
        let (edges, has_next) = id_edges(page, NodeType::AssetEvent, |e| e.id, AssetEvent);
        Ok(AssetEventConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| AssetEventEdge { cursor, node })
                .collect(),
        })
    }
    /// Tickets about this asset that the viewer may see, newest link first.
    async fn tickets(&self, ctx: &Context<'_>) -> ApiResult<Vec<Ticket>> {
        Ok(ctx
            .loaders()?
            .asset_tickets
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Ticket::from)
            .collect())
    }
    /// License seats held by this asset (desk only; empty otherwise).
    async fn licenses(&self, ctx: &Context<'_>) -> ApiResult<Vec<LicenseAssignment>> {
        let actor = ctx.actor()?;
        if !actor.is_desk() {
            return Ok(vec![]);
        }
        Ok(svc(
            licenses::assignments(&ctx.state().db.read, actor, None, Some(self.0.id), None).await,
        )?
        .into_iter()
        .map(LicenseAssignment)
        .collect())
    }
    /// Reservations and loans of this asset that the viewer may see (at most 100).
    async fn bookings(&self, ctx: &Context<'_>) -> ApiResult<Vec<Booking>> {
        let f = loans::BookingFilter {
            asset_id: Some(self.0.id),
            ..loans::BookingFilter::default()
        };
        Ok(
            svc(loans::list(&ctx.state().db.read, ctx.actor()?, &f, 100, None).await)?
                .items
                .into_iter()
                .map(Booking)
                .collect(),
        )
    }
}

/// One entry of an asset's history.
pub struct AssetEvent(pub asset_event::Model);

#[Object]
/// One entry of an asset's history.
impl AssetEvent {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::AssetEvent, self.0.id)
    }
    /// `registered`, `updated`, `moved` (学校間移設), `assigned`, `reserved`, `loaned`, `returned`,
    /// `loan_overdue`, `sent_to_repair`, `spare_swapped_in`, `spare_returned`,
    /// `damage_report_received`, `dispatched_to_vendor`, `returned_from_repair`, `rekitted`,
    /// `inspected`, `peripheral_attached`, `peripheral_detached`, `ticket_linked`,
    /// `ticket_unlinked`, `reservation_cancelled`, `retired`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Who did it; null for the system.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, self.0.actor_id).await
    }
    /// Details: changed fields (`{field: {from, to}}`), booking, repair, evidence files.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    /// The ticket the change was made for.
    async fn ticket(&self, ctx: &Context<'_>) -> ApiResult<Option<Ticket>> {
        let Some(id) = self.0.ticket_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.ticket(id).await?.map(Ticket::from))
    }
    /// Files stored with the event (data-erasure evidence of a retirement).
    async fn evidence(&self) -> Vec<EvidenceFile> {
        let Some(files) = self.0.payload["evidence"].as_array() else {
            return vec![];
        };
        files
            .iter()
            .enumerate()
            .map(|(i, f)| EvidenceFile {
                filename: f["filename"].as_str().unwrap_or_default().to_owned(),
                content_type: f["contentType"].as_str().unwrap_or_default().to_owned(),
                size: f["size"].as_i64().unwrap_or(0),
                sha256: f["sha256"].as_str().unwrap_or_default().to_owned(),
                url: format!("/assets/evidence/{}/{i}", self.0.id),
            })
            .collect()
    }
    /// When.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A file kept with an asset's history (写真, 消去証明書).
#[derive(SimpleObject)]
pub struct EvidenceFile {
    /// The file's name as uploaded.
    pub filename: String,
    /// Its MIME type as uploaded.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the content (hex).
    pub sha256: String,
    /// Where to GET it, relative to the API's origin, with the same bearer token.
    pub url: String,
}

/// A page of history.
#[derive(SimpleObject)]
pub struct AssetEventConnection {
    /// The events with their cursors.
    pub edges: Vec<AssetEventEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// An event and its cursor.
#[derive(SimpleObject)]
pub struct AssetEventEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The event.
    pub node: AssetEvent,
}

/// A page of assets.
pub struct AssetConnection {
    edges: Vec<AssetEdge>,
    has_next: bool,
    has_previous: bool,
    filter: assets::AssetFilter,
}

/// An asset and its cursor.
#[derive(SimpleObject)]
pub struct AssetEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The asset.
    pub node: Asset,
}

/// A page of assets.
#[Object]
impl AssetConnection {
    /// Edges with cursors.
    async fn edges(&self) -> &[AssetEdge] {
        &self.edges
    }
    /// The assets, without cursors.
    async fn nodes(&self) -> Vec<&Asset> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Where this page sits.
    async fn page_info(&self) -> PageInfo {
        PageInfo::new(
            self.has_next,
            self.has_previous,
            self.edges.first().map(|e| e.cursor.clone()),
            self.edges.last().map(|e| e.cursor.clone()),
        )
    }
    /// How many assets match the filter in all (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        svc(assets::count(&ctx.state().db.read, ctx.actor()?, &self.filter).await)
    }
}

/// Which assets to list. Every given field must match; lists match any of their values.
#[derive(InputObject, Default)]
pub struct AssetFilter {
    /// Kinds to include.
    pub kind: Option<Vec<AssetKind>>,
    /// States to include.
    pub status: Option<Vec<AssetStatus>>,
    /// Org units, each including the units below it.
    pub org_unit_ids: Option<Vec<ID>>,
    /// Users (Person IDs).
    pub user_ids: Option<Vec<ID>>,
    /// Peripherals of this terminal (an Asset ID).
    pub parent_id: Option<ID>,
    /// Only loanable (true) or not loanable (false) items.
    pub loanable: Option<bool>,
    /// Leases ending on or before this date (リース満了).
    pub lease_ends_by: Option<NaiveDate>,
    /// What an operator types into a search box: the start of an asset tag, serial, computer
    /// name or IP address (`PC01`, `10.20.`); a MAC address in any notation; or Japanese words
    /// of the name or model (`プロジェクタ`).
    pub text_contains: Option<String>,
}

impl AssetFilter {
    fn into_service(self) -> ApiResult<assets::AssetFilter> {
        if self
            .text_contains
            .as_ref()
            .is_some_and(|t| t.chars().count() > 200)
        {
            return Err(ApiError::BadInput(vec![service::UserError {
                field: vec!["filterBy".into(), "textContains".into()],
                message: "200文字以内で入力してください".into(),
                code: "TOO_LONG",
            }])
            .into());
        }
        Ok(assets::AssetFilter {
            kinds: self
                .kind
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            org_unit_ids: ids::decode_list(self.org_unit_ids.as_ref(), NodeType::OrgUnit)?,
            user_ids: ids::decode_list(self.user_ids.as_ref(), NodeType::Person)?,
            parent_id: ids::decode_opt(self.parent_id.as_ref(), NodeType::Asset)?,
            loanable: self.loanable,
            lease_ends_by: self.lease_ends_by,
            text_contains: self.text_contains,
        })
    }
}

/// How to order assets.
#[derive(InputObject)]
pub struct AssetOrder {
    /// The field; ties are broken by id.
    pub field: AssetOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

// ---------------------------------------------------------------- loans and repairs

/// A reservation or loan (貸出).
pub struct Booking(pub booking::Model);

#[Object]
/// A reservation or loan (貸出).
impl Booking {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::Booking, self.0.id)
    }
    /// What is lent.
    async fn asset(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        // Borrowers see the item they booked even though it is not "their" asset.
        Ok(svc(loans::asset_of(&ctx.state().db.read, ctx.actor()?, &self.0).await)?.map(Asset))
    }
    /// 借用者
    async fn borrower(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, Some(self.0.borrower_id)).await
    }
    /// The borrower's org unit at booking time.
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        org_unit_opt(ctx, self.0.org_unit_id).await
    }
    /// 用途
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// From.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// 返却予定
    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }
    /// Where it stands.
    async fn status(&self) -> BookingStatus {
        self.0.status.into()
    }
    /// 貸出日時
    async fn checked_out_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_out_at
    }
    /// 返却日時
    async fn returned_at(&self) -> Option<DateTime<Utc>> {
        self.0.returned_at
    }
    /// Lent and past its due date.
    async fn overdue(&self) -> bool {
        self.0.status == entity::BookingStatus::CheckedOut && self.0.due_at < Utc::now()
    }
}

/// A page of bookings.
#[derive(SimpleObject)]
pub struct BookingConnection {
    /// The bookings with their cursors.
    pub edges: Vec<BookingEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A booking and its cursor.
#[derive(SimpleObject)]
pub struct BookingEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The booking.
    pub node: Booking,
}

/// Which bookings to list.
#[derive(InputObject, Default)]
pub struct BookingFilter {
    /// Of this asset.
    pub asset_id: Option<ID>,
    /// Of this borrower (a Person ID).
    pub borrower_id: Option<ID>,
    /// In these states.
    pub status: Option<Vec<BookingStatus>>,
    /// Only loans past their due date.
    #[graphql(default)]
    pub overdue: bool,
    /// Overlapping the period from this instant…
    pub from: Option<DateTime<Utc>>,
    /// …until this one.
    pub until: Option<DateTime<Utc>>,
}

/// 損傷始末書 as received.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "DamageReportInput")]
pub struct DamageReport {
    /// 提出日
    pub submitted_on: Option<NaiveDate>,
    /// 提出者
    pub submitted_by: String,
    /// 損傷の状況
    pub circumstances: String,
    /// ヒアリング内容
    pub hearing: Option<String>,
}

impl From<DamageReport> for repairs::DamageReport {
    fn from(d: DamageReport) -> Self {
        Self {
            submitted_on: d.submitted_on,
            submitted_by: d.submitted_by,
            circumstances: d.circumstances,
            hearing: d.hearing,
        }
    }
}

/// A repair of a broken device (修理), with its spare (代替機).
pub struct Repair(pub repair::Model);

#[Object]
/// A repair of a broken device (修理), with its spare (代替機).
impl Repair {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::Repair, self.0.id)
    }
    /// The broken device.
    async fn asset(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_opt(ctx, Some(self.0.asset_id)).await
    }
    /// The ticket it was reported on.
    async fn ticket(&self, ctx: &Context<'_>) -> ApiResult<Option<Ticket>> {
        let Some(id) = self.0.ticket_id else {
            return Ok(None);
        };
        Ok(ctx.loaders()?.ticket(id).await?.map(Ticket::from))
    }
    /// 代替機
    async fn spare(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_opt(ctx, self.0.spare_asset_id).await
    }
    /// 修理業者
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Option<Vendor>> {
        Ok(ctx.loaders()?.vendor(self.0.vendor_id).await?.map(Vendor))
    }
    /// Where it stands.
    async fn status(&self) -> RepairStatus {
        self.0.status.into()
    }
    /// 故障内容
    async fn fault(&self) -> Option<&str> {
        self.0.fault.as_deref()
    }
    /// 損傷始末書
    async fn damage_report(&self) -> Option<DamageReport> {
        let d = repairs::DamageReport::from_json(self.0.damage_report.as_ref()?);
        Some(DamageReport {
            submitted_on: d.submitted_on,
            submitted_by: d.submitted_by,
            circumstances: d.circumstances,
            hearing: d.hearing,
        })
    }
    /// The vendor's repair number.
    async fn vendor_reference(&self) -> Option<&str> {
        self.0.vendor_reference.as_deref()
    }
    /// Sent to the vendor.
    async fn dispatched_at(&self) -> Option<DateTime<Utc>> {
        self.0.dispatched_at
    }
    /// Back from the vendor.
    async fn returned_at(&self) -> Option<DateTime<Utc>> {
        self.0.returned_at
    }
    /// Re-kitted (再キッティング).
    async fn rekitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.rekitted_at
    }
    /// Closed.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A page of repairs.
#[derive(SimpleObject)]
pub struct RepairConnection {
    /// The repairs with their cursors.
    pub edges: Vec<RepairEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A repair and its cursor.
#[derive(SimpleObject)]
pub struct RepairEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The repair.
    pub node: Repair,
}

// ---------------------------------------------------------------- licenses

async fn seats_assigned(ctx: &Context<'_>, l: &license::Model) -> ApiResult<i64> {
    Ok(ctx
        .loaders()?
        .seat_counts
        .load_one(l.id)
        .await?
        .unwrap_or(0))
}

/// A license (ライセンス管理台帳): one row per product and procuring contract.
pub struct License(pub license::Model);

#[Object]
/// A license (ライセンス管理台帳): one row per product and procuring contract.
impl License {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::License, self.0.id)
    }
    /// 管理番号
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 製品名
    async fn product(&self) -> &str {
        &self.0.product
    }
    /// バージョン
    async fn product_version(&self) -> Option<&str> {
        self.0.product_version.as_deref()
    }
    /// エディション
    async fn edition(&self) -> Option<&str> {
        self.0.edition.as_deref()
    }
    /// 保有数
    async fn seats(&self) -> i32 {
        self.0.seats
    }
    /// 契約番号
    async fn contract_number(&self) -> Option<&str> {
        self.0.contract_number.as_deref()
    }
    /// 契約名
    async fn contract_name(&self) -> Option<&str> {
        self.0.contract_name.as_deref()
    }
    /// Procured under the desk's own contract (本調達分), kept distinct from others.
    async fn main_contract(&self) -> bool {
        self.0.main_contract
    }
    /// 調達先
    async fn supplier(&self) -> Option<&str> {
        self.0.supplier.as_deref()
    }
    /// 開始日
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.0.starts_on
    }
    /// 有効期限
    async fn expires_on(&self) -> Option<NaiveDate> {
        self.0.expires_on
    }
    /// 備考
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Seats assigned now.
    async fn assigned(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        seats_assigned(ctx, &self.0).await
    }
    /// Seats free (negative when over-allocated).
    async fn available(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(i64::from(self.0.seats) - seats_assigned(ctx, &self.0).await?)
    }
    /// More seats assigned than bought (ライセンス超過).
    async fn over_allocated(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(seats_assigned(ctx, &self.0).await? > i64::from(self.0.seats))
    }
    /// The active assignments.
    async fn assignments(&self, ctx: &Context<'_>) -> ApiResult<Vec<LicenseAssignment>> {
        Ok(svc(licenses::assignments(
            &ctx.state().db.read,
            ctx.actor()?,
            Some(self.0.id),
            None,
            None,
        )
        .await)?
        .into_iter()
        .map(LicenseAssignment)
        .collect())
    }
}

/// A seat of a license given to an asset or a person.
pub struct LicenseAssignment(pub license_assignment::Model);

#[Object]
/// A seat of a license given to an asset or a person.
impl LicenseAssignment {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::LicenseAssignment, self.0.id)
    }
    /// The license.
    async fn license(&self, ctx: &Context<'_>) -> ApiResult<Option<License>> {
        match licenses::get(&ctx.state().db.read, ctx.actor()?, self.0.license_id).await {
            Ok(l) => Ok(Some(License(l))),
            Err(ServiceError::NotFound | ServiceError::Forbidden(_)) => Ok(None),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
    /// The asset holding the seat.
    async fn asset(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_opt(ctx, self.0.asset_id).await
    }
    /// The person holding the seat.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, self.0.person_id).await
    }
    /// Since when.
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.assigned_at
    }
}

/// A page of licenses.
#[derive(SimpleObject)]
pub struct LicenseConnection {
    /// The licenses with their cursors.
    pub edges: Vec<LicenseEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A license and its cursor.
#[derive(SimpleObject)]
pub struct LicenseEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The license.
    pub node: License,
}

/// Which licenses to list.
#[derive(InputObject, Default)]
pub struct LicenseFilter {
    /// Product name containing this text.
    pub product_contains: Option<String>,
    /// Only this contract's (true) or only other procurements' (false).
    pub main_contract: Option<bool>,
    /// Expiring on or before this date.
    pub expires_by: Option<NaiveDate>,
}

// ---------------------------------------------------------------- consumables

/// Stock of an item at one location.
#[derive(SimpleObject)]
pub struct StockLevel {
    /// 保管場所
    pub location: String,
    /// 在庫数
    pub quantity: i64,
}

impl From<stock_level::Model> for StockLevel {
    fn from(l: stock_level::Model) -> Self {
        Self {
            location: l.location,
            quantity: l.quantity,
        }
    }
}

/// A consumable (消耗品).
pub struct ConsumableItem(pub consumable_item::Model);

#[Object]
/// A consumable (消耗品).
impl ConsumableItem {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::ConsumableItem, self.0.id)
    }
    /// 品目コード
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 品名
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 区分
    async fn category(&self) -> ConsumableCategory {
        self.0.category.into()
    }
    /// 単位
    async fn unit(&self) -> &str {
        &self.0.unit
    }
    /// 単価 (yen).
    async fn unit_price(&self) -> i64 {
        self.0.unit_price
    }
    /// 発注点
    async fn reorder_point(&self) -> i32 {
        self.0.reorder_point
    }
    /// 発注数
    async fn reorder_quantity(&self) -> i32 {
        self.0.reorder_quantity
    }
    /// 調達先
    async fn supplier(&self) -> Option<&str> {
        self.0.supplier.as_deref()
    }
    /// 備考
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Whether it can be requested.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Printer models it fits (対応機種).
    async fn compatible_models(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        Ok(ctx
            .loaders()?
            .models
            .load_one(self.0.id)
            .await?
            .unwrap_or_default())
    }
    /// Stock per location.
    async fn stock(&self, ctx: &Context<'_>) -> ApiResult<Vec<StockLevel>> {
        Ok(ctx
            .loaders()?
            .stock
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect())
    }
    /// Stock over all locations.
    async fn total_stock(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(ctx
            .loaders()?
            .stock
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .iter()
            .map(|x| x.quantity)
            .sum())
    }
    /// Movements, newest first (desk only).
    async fn movements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<StockMovementConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::StockMovement)?;
        let page = svc(stock::movements(
            &ctx.state().db.read,
            ctx.actor()?,
            self.0.id,
            first,
            after_id,
        )
        .await)?;
        let (edges, has_next) = id_edges(page, NodeType::StockMovement, |m| m.id, StockMovement);
        Ok(StockMovementConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| StockMovementEdge { cursor, node })
                .collect(),
        })
    }
}

/// A page of consumables.
#[derive(SimpleObject)]
pub struct ConsumableItemConnection {
    /// The items with their cursors.
    pub edges: Vec<ConsumableItemEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A consumable and its cursor.
#[derive(SimpleObject)]
pub struct ConsumableItemEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The item.
    pub node: ConsumableItem,
}

/// Which consumables to list.
#[derive(InputObject, Default)]
pub struct ConsumableItemFilter {
    /// Categories to include.
    pub category: Option<Vec<ConsumableCategory>>,
    /// Only items that fit this printer model.
    pub fits_model: Option<String>,
    /// Only active (true) or inactive (false) items.
    pub active: Option<bool>,
}

/// One change of stock.
pub struct StockMovement(pub stock_movement::Model);

#[Object]
/// One change of stock.
impl StockMovement {
    /// The opaque global ID.
    async fn id(&self) -> ID {
        encode(NodeType::StockMovement, self.0.id)
    }
    /// The item.
    async fn item(&self, ctx: &Context<'_>) -> ApiResult<Option<ConsumableItem>> {
        item_opt(ctx, self.0.item_id).await
    }
    /// 保管場所
    async fn location(&self) -> &str {
        &self.0.location
    }
    /// What kind of movement.
    async fn kind(&self) -> MovementKind {
        self.0.kind.into()
    }
    /// Units moved.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// The effect on stock (negative for issues).
    async fn delta(&self) -> i32 {
        self.0.delta
    }
    /// Stock at the location after this movement.
    async fn balance_after(&self) -> i64 {
        self.0.balance_after
    }
    /// The request it issued.
    async fn request(&self, ctx: &Context<'_>) -> ApiResult<Option<SupplyRequest>> {
        let Some(id) = self.0.request_id else {
            return Ok(None);
        };
        match stock::request(&ctx.state().db.read, ctx.actor()?, id).await {
            Ok(r) => Ok(Some(SupplyRequest(r))),
            Err(ServiceError::NotFound) => Ok(None),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
    /// The org unit it went to.
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        org_unit_opt(ctx, self.0.org_unit_id).await
    }
    /// 備考
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Who recorded it.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, self.0.actor_id).await
    }
    /// When.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A page of movements.
#[derive(SimpleObject)]
pub struct StockMovementConnection {
    /// The movements with their cursors.
    pub edges: Vec<StockMovementEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A movement and its cursor.
#[derive(SimpleObject)]
pub struct StockMovementEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The movement.
    pub node: StockMovement,
}

/// A department's request for consumables (払い出し申請).
pub struct SupplyRequest(pub supply_request::Model);

#[Object]
/// A department's request for consumables (払い出し申請).
impl SupplyRequest {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::SupplyRequest, self.0.id)
    }
    /// 申請番号 (`SR-2026-000012`, numbered per fiscal year).
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The item asked for.
    async fn item(&self, ctx: &Context<'_>) -> ApiResult<Option<ConsumableItem>> {
        item_opt(ctx, self.0.item_id).await
    }
    /// 数量
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// 申請課
    async fn org_unit(&self, ctx: &Context<'_>) -> ApiResult<Option<OrgUnit>> {
        org_unit_opt(ctx, self.0.org_unit_id).await
    }
    /// 申請者
    async fn requested_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, Some(self.0.requested_by)).await
    }
    /// The printer it is for.
    async fn printer(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_opt(ctx, self.0.printer_asset_id).await
    }
    /// 備考
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Where it stands.
    async fn status(&self) -> SupplyRequestStatus {
        self.0.status.into()
    }
    /// Who approved or rejected it.
    async fn decided_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person_opt(ctx, self.0.decided_by).await
    }
    /// When it was approved or rejected.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The approver's note.
    async fn decision_note(&self) -> Option<&str> {
        self.0.decision_note.as_deref()
    }
    /// Where it was issued from.
    async fn issued_location(&self) -> Option<&str> {
        self.0.issued_location.as_deref()
    }
    /// 払出日時
    async fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.0.issued_at
    }
    /// Who signed the receipt (受領書).
    async fn receipt_signed_by(&self) -> Option<&str> {
        self.0.receipt_signed_by.as_deref()
    }
    /// 受領日
    async fn receipt_on(&self) -> Option<NaiveDate> {
        self.0.receipt_on
    }
    /// 申請日時
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A page of requests.
#[derive(SimpleObject)]
pub struct SupplyRequestConnection {
    /// The requests with their cursors.
    pub edges: Vec<SupplyRequestEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// A request and its cursor.
#[derive(SimpleObject)]
pub struct SupplyRequestEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The request.
    pub node: SupplyRequest,
}

/// A line of an order or invoice.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "PriceLineInput", complex)]
pub struct PriceLine {
    /// The item (a ConsumableItem ID).
    pub item_id: ID,
    /// 数量
    pub quantity: i32,
    /// 単価 (yen).
    pub unit_price: i64,
}

#[async_graphql::ComplexObject]
impl PriceLine {
    /// The item.
    async fn item(&self, ctx: &Context<'_>) -> ApiResult<Option<ConsumableItem>> {
        item_opt(ctx, ids::decode(&self.item_id, NodeType::ConsumableItem)?).await
    }
    /// 金額 = quantity × unit price.
    async fn amount(&self) -> i64 {
        i64::from(self.quantity) * self.unit_price
    }
}

impl From<stock::PriceLine> for PriceLine {
    fn from(l: stock::PriceLine) -> Self {
        Self {
            item_id: encode(NodeType::ConsumableItem, l.item_id),
            quantity: l.quantity,
            unit_price: l.unit_price,
        }
    }
}

/// A line of a delivery slip.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "DeliveryLineInput")]
pub struct DeliveryLine {
    /// The item (a ConsumableItem ID).
    pub item_id: ID,
    /// 数量
    pub quantity: i32,
}

fn price_lines(lines: Vec<PriceLine>) -> ApiResult<Vec<stock::PriceLine>> {
    lines
        .into_iter()
        .map(|l| {
            Ok(stock::PriceLine {
                item_id: ids::decode(&l.item_id, NodeType::ConsumableItem)?,
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
        })
        .collect()
}

/// An order to a supplier (発注).
pub struct PurchaseOrder(pub purchase_order::Model);

#[Object]
/// An order to a supplier (発注).
impl PurchaseOrder {
    /// The opaque global ID.
    pub async fn id(&self) -> ID {
        encode(NodeType::PurchaseOrder, self.0.id)
    }
    /// 発注番号 (`PO-2026-000003`).
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// 発注先
    async fn supplier(&self) -> &str {
        &self.0.supplier
    }
    /// 発注日
    async fn ordered_on(&self) -> NaiveDate {
        self.0.ordered_on
    }
    /// Where it stands.
    async fn status(&self) -> PurchaseOrderStatus {
        self.0.status.into()
    }
    /// 明細
    async fn lines(&self) -> Vec<PriceLine> {
        stock::price_lines(&self.0.lines)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// 合計金額 (yen).
    async fn total(&self) -> i64 {
        stock::price_lines(&self.0.lines)
            .iter()
            .map(|l| i64::from(l.quantity) * l.unit_price)
            .sum()
    }
    /// 備考
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Delivery slips received against it.
    async fn deliveries(&self, ctx: &Context<'_>) -> ApiResult<Vec<Delivery>> {
        let (d, _) =
            svc(stock::order_documents(&ctx.state().db.read, ctx.actor()?, self.0.id).await)?;
        Ok(d.into_iter().map(Delivery).collect())
    }
    /// Invoices recorded against it, with their matching.
    async fn invoices(&self, ctx: &Context<'_>) -> ApiResult<Vec<Invoice>> {
        let (_, i) =
            svc(stock::order_documents(&ctx.state().db.read, ctx.actor()?, self.0.id).await)?;
        Ok(i.into_iter().map(Invoice).collect())
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A page of orders.
#[derive(SimpleObject)]
pub struct PurchaseOrderConnection {
    /// The orders with their cursors.
    pub edges: Vec<PurchaseOrderEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}

/// An order and its cursor.
#[derive(SimpleObject)]
pub struct PurchaseOrderEdge {
    /// Pass as `after` to continue.
    pub cursor: String,
    /// The order.
    pub node: PurchaseOrder,
}

/// A delivery slip (納品書).
pub struct Delivery(pub delivery::Model);

#[Object]
/// A delivery slip (納品書).
impl Delivery {
    /// The delivery's id (not a node).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// 納品書番号
    async fn slip_number(&self) -> &str {
        &self.0.slip_number
    }
    /// 納品日
    async fn delivered_on(&self) -> NaiveDate {
        self.0.delivered_on
    }
    /// Where the goods went into stock.
    async fn location(&self) -> &str {
        &self.0.location
    }
    /// 明細
    async fn lines(&self) -> Vec<DeliveryLine> {
        stock::delivery_lines(&self.0.lines)
            .into_iter()
            .map(|l| DeliveryLine {
                item_id: encode(NodeType::ConsumableItem, l.item_id),
                quantity: l.quantity,
            })
            .collect()
    }
}

/// One difference of an invoice from its order and deliveries.
#[derive(SimpleObject)]
pub struct Discrepancy {
    /// The item (a ConsumableItem ID).
    pub item_id: ID,
    /// `quantity` (invoiced vs delivered), `unit_price` (invoiced vs ordered), `not_ordered`,
    /// `not_invoiced`.
    pub field: String,
    /// What the order or deliveries say.
    pub expected: i64,
    /// What the invoice says.
    pub actual: i64,
}

/// An invoice (請求書) and its matching (突合).
pub struct Invoice(pub invoice::Model);

#[Object]
/// An invoice (請求書) and its matching (突合).
impl Invoice {
    /// The invoice's id (not a node).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// 請求書番号
    async fn invoice_number(&self) -> &str {
        &self.0.invoice_number
    }
    /// 請求日
    async fn invoiced_on(&self) -> NaiveDate {
        self.0.invoiced_on
    }
    /// 明細
    async fn lines(&self) -> Vec<PriceLine> {
        stock::price_lines(&self.0.lines)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// 請求金額 (yen).
    async fn total(&self) -> i64 {
        self.0.total
    }
    /// The outcome of matching.
    async fn match_status(&self) -> InvoiceMatch {
        self.0.match_status.into()
    }
    /// What did not match; empty when matched.
    async fn discrepancies(&self) -> Vec<Discrepancy> {
        serde_json::from_value::<Vec<stock::Discrepancy>>(self.0.discrepancies.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|d| Discrepancy {
                item_id: encode(NodeType::ConsumableItem, d.item_id),
                field: d.field,
                expected: d.expected,
                actual: d.actual,
            })
            .collect()
    }
}

/// An item to reorder.
pub struct ReorderSuggestion(stock::ReorderSuggestion);

#[Object]
/// An item to reorder.
impl ReorderSuggestion {
    /// The item.
    async fn item(&self) -> ConsumableItem {
        ConsumableItem(self.0.item.clone())
    }
    /// Stock over all locations.
    async fn on_hand(&self) -> i64 {
        self.0.on_hand
    }
    /// Ordered and not yet delivered.
    async fn on_order(&self) -> i64 {
        self.0.on_order
    }
    /// What to order.
    async fn suggested(&self) -> i64 {
        self.0.suggested
    }
}

// ---------------------------------------------------------------- import

/// A problem with one cell or row of an imported file.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// Line in the file (the header is line 1).
    pub line: i64,
    /// The column's header as the file has it; empty for the whole row.
    pub column: String,
    /// Stable code: REQUIRED, TOO_LONG, INVALID_VALUE, INVALID_DATE, INVALID_NUMBER, INVALID_MAC,
    /// INVALID_IP, UNKNOWN_REFERENCE, DUPLICATE, STATUS_BY_OPERATION, OUT_OF_RANGE, PARENT_REFUSED
    /// (a peripheral whose terminal's row was refused).
    pub code: String,
    /// What is wrong, in Japanese.
    pub message: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(SimpleObject)]
pub struct ImportReport {
    /// The encoding detected: `UTF-8`, `UTF-8 (BOM)`, `UTF-16`, `Shift_JIS`.
    pub encoding: String,
    /// Data rows read.
    pub rows: i64,
    /// Rows added (or that would be).
    pub created: i64,
    /// Rows changed (or that would be).
    pub updated: i64,
    /// Rows identical to the ledger.
    pub unchanged: i64,
    /// Every problem, by line and column.
    pub errors: Vec<ImportRowError>,
    /// Headers the ledger does not know (ignored).
    pub ignored_columns: Vec<String>,
    /// Whether anything was written.
    pub applied: bool,
}

impl From<sheets::ImportReport> for ImportReport {
    fn from(r: sheets::ImportReport) -> Self {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            encoding: r.encoding.to_owned(),
            rows: n(r.rows),
            created: n(r.created),
            updated: n(r.updated),
            unchanged: n(r.unchanged),
            errors: r
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    line: n(e.line),
                    column: e.column,
                    code: e.code.to_owned(),
                    message: e.message,
                })
                .collect(),
            ignored_columns: r.ignored_columns,
            applied: r.applied,
        }
    }
}

// ---------------------------------------------------------------- queries

/// Ledger queries.
#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// Assets in the viewer's scope (desk: the tenant; requesters: what they use).
    async fn assets(
        &self,
        ctx: &Context<'_>,
        filter_by: Option<AssetFilter>,
        order_by: Option<AssetOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AssetConnection> {
        let actor = ctx.actor()?;
        let (first, cursor) = pagination::args(first, after.as_deref())?;
        let filter = filter_by.unwrap_or_default().into_service()?;
        let (field, direction) = match order_by {
            Some(o) => (
                match o.field {
                    AssetOrderField::AssetTag => assets::AssetOrderField::AssetTag,
                    AssetOrderField::UpdatedAt => assets::AssetOrderField::UpdatedAt,
                    AssetOrderField::CreatedAt => assets::AssetOrderField::CreatedAt,
                },
                dir(o.direction),
            ),
            None => (assets::AssetOrderField::AssetTag, Direction::Asc),
        };
        let page = svc(assets::list(
            &ctx.state().db.read,
            actor,
            &filter,
            field,
            direction,
            first,
            cursor.as_ref(),
        )
        .await)?;
        Ok(AssetConnection {
            has_next: page.has_next,
            has_previous: cursor.is_some(),
            edges: page
                .items
                .into_iter()
                .map(|a| AssetEdge {
                    cursor: pagination::encode_cursor(&Cursor {
                        key: field.key_of(&a),
                        id: a.id,
                    }),
                    node: Asset(a),
                })
                .collect(),
            filter,
        })
    }

    /// One asset by its tag (資産番号), if in scope.
    async fn asset_by_tag(&self, ctx: &Context<'_>, asset_tag: String) -> ApiResult<Option<Asset>> {
        match assets::get_by_tag(&ctx.state().db.read, ctx.actor()?, &asset_tag).await {
            Ok(a) => Ok(Some(Asset(a))),
            Err(ServiceError::NotFound) => Ok(None),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }

    /// Reservations and loans (desk: all; requesters: their own), by id.
    async fn bookings(
        &self,
        ctx: &Context<'_>,
        filter_by: Option<BookingFilter>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<BookingConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::Booking)?;
        let f = filter_by.unwrap_or_default();
        let filter = loans::BookingFilter {
            asset_id: ids::decode_opt(f.asset_id.as_ref(), NodeType::Asset)?,
            borrower_id: ids::decode_opt(f.borrower_id.as_ref(), NodeType::Person)?,
            statuses: f
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            overdue: f.overdue,
            from: f.from,
            until: f.until,
        };
        let page =
            svc(loans::list(&ctx.state().db.read, ctx.actor()?, &filter, first, after_id).await)?;
        let (edges, has_next) = id_edges(page, NodeType::Booking, |b| b.id, Booking);
        Ok(BookingConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| BookingEdge { cursor, node })
                .collect(),
        })
    }

    /// Repairs, newest first (desk only).
    async fn repairs(
        &self,
        ctx: &Context<'_>,
        asset_id: Option<ID>,
        status: Option<Vec<RepairStatus>>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<RepairConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::Repair)?;
        let asset_id = ids::decode_opt(asset_id.as_ref(), NodeType::Asset)?;
        let statuses: Vec<entity::RepairStatus> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page = svc(repairs::list(
            &ctx.state().db.read,
            ctx.actor()?,
            asset_id,
            &statuses,
            first,
            after_id,
        )
        .await)?;
        let (edges, has_next) = id_edges(page, NodeType::Repair, |r| r.id, Repair);
        Ok(RepairConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| RepairEdge { cursor, node })
                .collect(),
        })
    }

    /// The license ledger by code (desk only).
    async fn licenses(
        &self,
        ctx: &Context<'_>,
        filter_by: Option<LicenseFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<LicenseConnection> {
        let (first, _) = pagination::args(first, None)?;
        let f = filter_by.unwrap_or_default();
        let filter = licenses::LicenseFilter {
            product_contains: f.product_contains,
            main_contract: f.main_contract,
            expires_by: f.expires_by,
        };
        let page = svc(licenses::list(
            &ctx.state().db.read,
            ctx.actor()?,
            &filter,
            first,
            after.as_deref(),
        )
        .await)?;
        let has_next = page.has_next;
        let edges: Vec<(String, License)> = page
            .items
            .into_iter()
            .map(|l| (l.code.clone(), License(l)))
            .collect();
        Ok(LicenseConnection {
            page_info: page_info(&edges, has_next, after.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| LicenseEdge { cursor, node })
                .collect(),
        })
    }

    /// The consumables catalogue by code (everyone of the tenant, to request from it).
    async fn consumable_items(
        &self,
        ctx: &Context<'_>,
        filter_by: Option<ConsumableItemFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ConsumableItemConnection> {
        let (first, _) = pagination::args(first, None)?;
        let f = filter_by.unwrap_or_default();
        let filter = stock::ItemFilter {
            categories: f
                .category
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            fits_model: f.fits_model,
            active: f.active,
        };
        let page = svc(stock::items(
            &ctx.state().db.read,
            ctx.actor()?,
            &filter,
            first,
            after.as_deref(),
        )
        .await)?;
        let has_next = page.has_next;
        let edges: Vec<(String, ConsumableItem)> = page
            .items
            .into_iter()
            .map(|i| (i.code.clone(), ConsumableItem(i)))
            .collect();
        Ok(ConsumableItemConnection {
            page_info: page_info(&edges, has_next, after.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| ConsumableItemEdge { cursor, node })
                .collect(),
        })
    }

    /// 払い出し申請, newest first (desk: all; requesters: their own).
    async fn supply_requests(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<SupplyRequestStatus>>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<SupplyRequestConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::SupplyRequest)?;
        let statuses: Vec<entity::SupplyRequestStatus> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page = svc(stock::requests(
            &ctx.state().db.read,
            ctx.actor()?,
            &statuses,
            first,
            after_id,
        )
        .await)?;
        let (edges, has_next) = id_edges(page, NodeType::SupplyRequest, |r| r.id, SupplyRequest);
        Ok(SupplyRequestConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| SupplyRequestEdge { cursor, node })
                .collect(),
        })
    }

    /// Orders, newest first (desk only).
    async fn purchase_orders(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<PurchaseOrderStatus>>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> ApiResult<PurchaseOrderConnection> {
        let (first, _) = pagination::args(first, None)?;
        let after_id = ids::decode_opt(after.as_ref(), NodeType::PurchaseOrder)?;
        let statuses: Vec<entity::PurchaseOrderStatus> = status
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let page = svc(stock::orders(
            &ctx.state().db.read,
            ctx.actor()?,
            &statuses,
            first,
            after_id,
        )
        .await)?;
        let (edges, has_next) = id_edges(page, NodeType::PurchaseOrder, |p| p.id, PurchaseOrder);
        Ok(PurchaseOrderConnection {
            page_info: page_info(&edges, has_next, after_id.is_some()),
            edges: edges
                .into_iter()
                .map(|(cursor, node)| PurchaseOrderEdge { cursor, node })
                .collect(),
        })
    }

    /// Items whose stock, with what is on order, is at or below the reorder point (desk only).
    async fn reorder_suggestions(&self, ctx: &Context<'_>) -> ApiResult<Vec<ReorderSuggestion>> {
        Ok(
            svc(stock::reorder_suggestions(&ctx.state().db.read, ctx.actor()?).await)?
                .into_iter()
                .map(ReorderSuggestion)
                .collect(),
        )
    }
}

/// Resolves a ledger node by global ID within scope; `None` when it is not a ledger type or not visible.
pub async fn resolve_node(
    ctx: &Context<'_>,
    ty: NodeType,
    id: Uuid,
) -> ApiResult<Option<super::types::Node>> {
    use super::types::Node;
    let actor = ctx.actor()?;
    let db = &ctx.state().db.read;
    let hide = |e: ServiceError| -> ApiResult<()> {
        match e {
            ServiceError::NotFound | ServiceError::Forbidden(_) => Ok(()),
            e => Err(ApiError::from(e).into()),
        }
    };
    macro_rules! found {
        ($call:expr, $wrap:expr) => {
            match $call.await {
                Ok(v) => Some($wrap(v)),
                Err(e) => {
                    hide(e)?;
                    None
                }
            }
        };
    }
    Ok(match ty {
        NodeType::Asset => found!(assets::get(db, actor, id), |a| Node::Asset(Asset(a))),
        NodeType::Booking => found!(loans::get(db, actor, id), |b| Node::Booking(Booking(b))),
        NodeType::Repair => found!(repairs::get(db, actor, id), |r| Node::Repair(Repair(r))),
        NodeType::License => found!(licenses::get(db, actor, id), |l| Node::License(License(l))),
        NodeType::ConsumableItem => found!(stock::item(db, actor, id), |i| Node::ConsumableItem(
            ConsumableItem(i)
        )),
        NodeType::SupplyRequest => found!(stock::request(db, actor, id), |r| Node::SupplyRequest(
            SupplyRequest(r)
        )),
        NodeType::PurchaseOrder => found!(stock::order(db, actor, id), |p| Node::PurchaseOrder(
            PurchaseOrder(p)
        )),
        _ => None,
    })
}

// ---------------------------------------------------------------- mutations

macro_rules! payload {
    ($(#[$doc:meta])* $name:ident, $field:ident, $ty:ty) => {
        $(#[$doc])*
        #[derive(SimpleObject)]
        pub struct $name {
            /// Echoes the input's clientMutationId.
            pub client_mutation_id: Option<String>,
            /// The result; null when userErrors is not empty.
            pub $field: Option<$ty>,
            /// What was wrong with the input; empty on success.
            pub user_errors: Vec<UserError>,
        }

        impl $name {
            fn from<T>(client_mutation_id: Option<String>, r: ServiceResult<T>, wrap: impl FnOnce(T) -> $ty) -> ApiResult<Self> {
                let (v, user_errors) = respond(r)?;
                Ok(Self { client_mutation_id, $field: v.map(wrap), user_errors })
            }
        }
    };
}

payload!(
    /// The result of an asset mutation.
    AssetPayload, asset, Asset
);
payload!(
    /// The result of `recordAssetInspection`.
    AssetEventPayload, event, AssetEvent
);
payload!(
    /// The result of a booking mutation.
    BookingPayload, booking, Booking
);
payload!(
    /// The result of a repair mutation.
    RepairPayload, repair, Repair
);
payload!(
    /// The result of a license mutation.
    LicensePayload, license, License
);
payload!(
    /// The result of `assignLicense` and `releaseLicense`.
    LicenseAssignmentPayload, assignment, LicenseAssignment
);
payload!(
    /// The result of a consumable mutation.
    ConsumableItemPayload, item, ConsumableItem
);
payload!(
    /// The result of `recordStockMovement`.
    StockMovementPayload, movement, StockMovement
);
payload!(
    /// The result of a supply-request mutation.
    SupplyRequestPayload, request, SupplyRequest
);
payload!(
    /// The result of `placePurchaseOrder`.
    PurchaseOrderPayload, order, PurchaseOrder
);
payload!(
    /// The result of `recordDelivery`.
    DeliveryPayload, delivery, Delivery
);
payload!(
    /// The result of `recordInvoice`.
    InvoicePayload, invoice, Invoice
);
payload!(
    /// The result of `importLedger`.
    ImportLedgerPayload, report, ImportReport
);

/// The fields of an asset. In `updateAsset`, omitted fields stay and `null` clears.
#[derive(InputObject)]
pub struct CreateAssetInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// 資産番号 (unique in the tenant).
    pub asset_tag: String,
    /// 機器種別
    pub kind: AssetKind,
    /// 品名
    pub name: String,
    /// メーカー
    pub maker: Option<String>,
    /// 型番
    pub model: Option<String>,
    /// 製造番号
    pub serial: Option<String>,
    /// コンピュータ名
    pub computer_name: Option<String>,
    /// IPアドレス (v4 or v6).
    pub ip_address: Option<String>,
    /// MACアドレス in any notation; stored as `00:1A:2B:3C:4D:5E`, unique in the tenant.
    pub mac_address: Option<String>,
    /// 所属 (an OrgUnit ID).
    pub org_unit_id: Option<ID>,
    /// 設置場所
    pub location: Option<String>,
    /// 利用者 (a Person ID).
    pub user_id: Option<ID>,
    /// 用途
    pub purpose: Option<String>,
    /// IN_USE (default) or SPARE; the other states come from operations.
    pub status: Option<AssetStatus>,
    /// The terminal a peripheral is attached to (an Asset ID).
    pub parent_id: Option<ID>,
    /// Lent out (貸出物品).
    #[graphql(default)]
    pub loanable: bool,
    /// リース会社
    pub lessor: Option<String>,
    /// リース開始日
    pub lease_start: Option<NaiveDate>,
    /// リース終了日
    pub lease_end: Option<NaiveDate>,
    /// 購入日
    pub purchased_on: Option<NaiveDate>,
    /// 保証期限
    pub warranty_until: Option<NaiveDate>,
    /// 備考
    pub notes: Option<String>,
}

/// Input of `updateAsset`: omitted fields stay, `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateAssetInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Asset ID.
    pub asset_id: ID,
    /// Fail with CONFLICT unless the asset is still at this version.
    pub expected_version: Option<i32>,
    /// 資産番号
    pub asset_tag: Option<String>,
    /// 機器種別
    pub kind: Option<AssetKind>,
    /// 品名
    pub name: Option<String>,
    /// メーカー
    pub maker: MaybeUndefined<String>,
    /// 型番
    pub model: MaybeUndefined<String>,
    /// 製造番号
    pub serial: MaybeUndefined<String>,
    /// コンピュータ名
    pub computer_name: MaybeUndefined<String>,
    /// IPアドレス
    pub ip_address: MaybeUndefined<String>,
    /// MACアドレス
    pub mac_address: MaybeUndefined<String>,
    /// 所属 (moving it records `moved`: 学校間移設).
    pub org_unit_id: MaybeUndefined<ID>,
    /// 設置場所
    pub location: MaybeUndefined<String>,
    /// 利用者 (records `assigned`).
    pub user_id: MaybeUndefined<ID>,
    /// 用途
    pub purpose: MaybeUndefined<String>,
    /// IN_USE or SPARE.
    pub status: Option<AssetStatus>,
    /// The terminal a peripheral is attached to.
    pub parent_id: MaybeUndefined<ID>,
    /// Lent out.
    pub loanable: Option<bool>,
    /// リース会社
    pub lessor: MaybeUndefined<String>,
    /// リース開始日
    pub lease_start: MaybeUndefined<NaiveDate>,
    /// リース終了日
    pub lease_end: MaybeUndefined<NaiveDate>,
    /// 購入日
    pub purchased_on: MaybeUndefined<NaiveDate>,
    /// 保証期限
    pub warranty_until: MaybeUndefined<NaiveDate>,
    /// 備考
    pub notes: MaybeUndefined<String>,
}

fn overlay<T>(slot: &mut Option<T>, v: MaybeUndefined<T>) {
    match v {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *slot = None,
        MaybeUndefined::Value(x) => *slot = Some(x),
    }
}

fn overlay_id(slot: &mut Option<Uuid>, v: MaybeUndefined<ID>, ty: NodeType) -> ApiResult<()> {
    match v {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *slot = None,
        MaybeUndefined::Value(x) => *slot = Some(ids::decode(&x, ty)?),
    }
    Ok(())
}

/// Input of `retireAsset` (multipart upload for the evidence).
#[derive(InputObject)]
pub struct RetireAssetInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Asset ID.
    pub asset_id: ID,
    /// 廃棄理由
    pub reason: String,
    /// データ消去方法 (物理破壊, 消去ソフト…).
    pub erasure_method: Option<String>,
    /// 消去日
    pub erased_on: Option<NaiveDate>,
    /// 消去証明書番号
    pub certificate_number: Option<String>,
    /// Photos or certificates (at most 20 MB each).
    pub evidence: Option<Vec<Upload>>,
}

/// Input of `recordAssetInspection`.
#[derive(InputObject)]
pub struct RecordAssetInspectionInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Asset ID.
    pub asset_id: ID,
    /// 点検結果 (e.g. 異常なし).
    pub result: String,
    /// 備考
    pub note: Option<String>,
}

/// Input of `linkAssetToTicket` and `unlinkAssetFromTicket`.
#[derive(InputObject)]
pub struct AssetTicketInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Asset ID.
    pub asset_id: ID,
    /// The Ticket ID.
    pub ticket_id: ID,
}

/// Input of `reserveAsset` and `lendAsset`.
#[derive(InputObject)]
pub struct BookAssetInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// A loanable Asset ID.
    pub asset_id: ID,
    /// Desk only: for whom (a Person ID); requesters book for themselves.
    pub borrower_id: Option<ID>,
    /// From (ignored by `lendAsset`, which starts now).
    pub starts_at: Option<DateTime<Utc>>,
    /// 返却予定
    pub due_at: DateTime<Utc>,
    /// 用途
    pub purpose: Option<String>,
}

/// Input of the booking transitions.
#[derive(InputObject)]
pub struct BookingInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Booking ID.
    pub booking_id: ID,
    /// `checkOutBooking`: a new due date; `returnBooking`: ignored.
    pub due_at: Option<DateTime<Utc>>,
    /// `returnBooking`: a note (破損なし…).
    pub note: Option<String>,
}

/// Input of `openRepair`.
#[derive(InputObject)]
pub struct OpenRepairInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The broken Asset ID.
    pub asset_id: ID,
    /// The Ticket it was reported on.
    pub ticket_id: Option<ID>,
    /// 故障内容
    pub fault: Option<String>,
    /// A spare Asset ID to hand the user now (代替機).
    pub spare_asset_id: Option<ID>,
    /// 損傷始末書, when the department caused the damage.
    pub damage_report: Option<DamageReport>,
}

/// Input of the repair transitions.
#[derive(InputObject)]
pub struct RepairInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The Repair ID.
    pub repair_id: ID,
    /// `dispatchRepair`: the Vendor ID.
    pub vendor_id: Option<ID>,
    /// `dispatchRepair`: the vendor's repair number.
    pub vendor_reference: Option<String>,
    /// `receiveRepair`: a note.
    pub note: Option<String>,
    /// `closeRepair`: re-kitted (再キッティング).
    #[graphql(default)]
    pub rekitted: bool,
    /// `closeRepair`: give the device back to its user and the spare back to the pool.
    #[graphql(default)]
    pub swap_back: bool,
    /// `recordDamageReport`: the report.
    pub damage_report: Option<DamageReport>,
}

/// Input of `createLicense` and `updateLicense` (all fields are replaced).
#[derive(InputObject)]
pub struct LicenseInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// `updateLicense`: the License ID.
    pub license_id: Option<ID>,
    /// 管理番号 (unique in the tenant).
    pub code: String,
    /// 製品名
    pub product: String,
    /// バージョン
    pub product_version: Option<String>,
    /// エディション
    pub edition: Option<String>,
    /// 保有数
    pub seats: i32,
    /// 契約番号
    pub contract_number: Option<String>,
    /// 契約名
    pub contract_name: Option<String>,
    /// 本調達分
    #[graphql(default)]
    pub main_contract: bool,
    /// 調達先
    pub supplier: Option<String>,
    /// 開始日
    pub starts_on: Option<NaiveDate>,
    /// 有効期限 (alerts go out at 60 and 30 days).
    pub expires_on: Option<NaiveDate>,
    /// 備考
    pub notes: Option<String>,
}

/// Input of `assignLicense`.
#[derive(InputObject)]
pub struct AssignLicenseInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The License ID.
    pub license_id: ID,
    /// An Asset ID (or a person).
    pub asset_id: Option<ID>,
    /// A Person ID (or an asset).
    pub person_id: Option<ID>,
    /// Assign even when no seat is free (the license then shows as over-allocated).
    #[graphql(default)]
    pub allow_over_allocation: bool,
}

/// Input of `releaseLicense`.
#[derive(InputObject)]
pub struct ReleaseLicenseInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The LicenseAssignment ID.
    pub assignment_id: ID,
}

/// Input of `createConsumableItem` and `updateConsumableItem` (all fields are replaced).
#[derive(InputObject)]
pub struct ConsumableItemInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// `updateConsumableItem`: the ConsumableItem ID.
    pub item_id: Option<ID>,
    /// 品目コード
    pub code: String,
    /// 品名
    pub name: String,
    /// 区分
    pub category: ConsumableCategory,
    /// 単位 (default 個).
    #[graphql(default)]
    pub unit: String,
    /// 単価 (yen).
    #[graphql(default)]
    pub unit_price: i64,
    /// 発注点
    #[graphql(default)]
    pub reorder_point: i32,
    /// 発注数
    #[graphql(default)]
    pub reorder_quantity: i32,
    /// 調達先
    pub supplier: Option<String>,
    /// 備考
    pub notes: Option<String>,
    /// Can be requested.
    #[graphql(default = true)]
    pub active: bool,
    /// Printer models it fits.
    #[graphql(default)]
    pub compatible_models: Vec<String>,
}

/// Input of `recordStockMovement`.
#[derive(InputObject)]
pub struct RecordStockMovementInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The ConsumableItem ID.
    pub item_id: ID,
    /// 保管場所
    pub location: String,
    /// The kind of movement.
    pub kind: MovementKind,
    /// Units (positive); for ADJUST the signed correction.
    pub quantity: i32,
    /// The org unit it went to (issues).
    pub org_unit_id: Option<ID>,
    /// The printer it is for.
    pub asset_id: Option<ID>,
    /// 備考 (required for ADJUST).
    pub note: Option<String>,
}

/// Input of `fileSupplyRequest`.
#[derive(InputObject)]
pub struct FileSupplyRequestInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The ConsumableItem ID.
    pub item_id: ID,
    /// 数量
    pub quantity: i32,
    /// Desk only: on whose behalf (a Person ID).
    pub requested_by: Option<ID>,
    /// The printer it is for (an Asset ID).
    pub printer_id: Option<ID>,
    /// 備考
    pub note: Option<String>,
}

/// Input of the supply-request transitions.
#[derive(InputObject)]
pub struct SupplyRequestInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The SupplyRequest ID.
    pub request_id: ID,
    /// `decideSupplyRequest`: approve (true) or reject (false).
    pub approve: Option<bool>,
    /// `decideSupplyRequest`: a note.
    pub note: Option<String>,
    /// `issueSupplyRequest`: the location it is issued from.
    pub location: Option<String>,
    /// `recordSupplyReceipt`: who signed the receipt.
    pub signed_by: Option<String>,
    /// `recordSupplyReceipt`: the receipt's date.
    pub received_on: Option<NaiveDate>,
}

/// Input of `placePurchaseOrder`.
#[derive(InputObject)]
pub struct PlacePurchaseOrderInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// 発注先
    pub supplier: String,
    /// 発注日
    pub ordered_on: NaiveDate,
    /// 明細
    pub lines: Vec<PriceLine>,
    /// 備考
    pub note: Option<String>,
}

/// Input of `recordDelivery`.
#[derive(InputObject)]
pub struct RecordDeliveryInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The PurchaseOrder ID.
    pub purchase_order_id: ID,
    /// 納品書番号 (the same number again is received once).
    pub slip_number: String,
    /// 納品日
    pub delivered_on: NaiveDate,
    /// Where the goods go into stock.
    pub location: String,
    /// 明細
    pub lines: Vec<DeliveryLine>,
}

/// Input of `recordInvoice`.
#[derive(InputObject)]
pub struct RecordInvoiceInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// The PurchaseOrder ID.
    pub purchase_order_id: ID,
    /// 請求書番号
    pub invoice_number: String,
    /// 請求日
    pub invoiced_on: NaiveDate,
    /// 明細
    pub lines: Vec<PriceLine>,
}

/// Input of `importLedger` (a multipart request with the file).
#[derive(InputObject)]
pub struct ImportLedgerInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// Which ledger the file holds.
    pub ledger: LedgerKind,
    /// The CSV (UTF-8 with or without BOM, or Shift_JIS as Excel saves it).
    pub file: Upload,
    /// Check and report, write nothing.
    #[graphql(default)]
    pub dry_run: bool,
    /// Write nothing when any row is wrong.
    #[graphql(default)]
    pub strict: bool,
}

/// Input of `createLedgerExport`.
#[derive(InputObject)]
pub struct CreateLedgerExportInput {
    /// Echoed back in the payload.
    pub client_mutation_id: Option<String>,
    /// Which ledger.
    pub ledger: LedgerKind,
    /// The file format.
    pub format: ExportFormat,
}

/// The result of `createLedgerExport`.
#[derive(SimpleObject)]
pub struct CreateLedgerExportPayload {
    /// Echoes the input's clientMutationId.
    pub client_mutation_id: Option<String>,
    /// Where to GET the file, relative to the API's origin (`/exports/…`); works until
    /// `expiresAt`, without a token.
    pub url: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

fn item_input(i: ConsumableItemInput) -> stock::ItemInput {
    stock::ItemInput {
        code: i.code,
        name: i.name,
        category: i.category.into(),
        unit: i.unit,
        unit_price: i.unit_price,
        reorder_point: i.reorder_point,
        reorder_quantity: i.reorder_quantity,
        supplier: i.supplier,
        notes: i.notes,
        active: i.active,
        models: i.compatible_models,
    }
}

fn license_input(i: &LicenseInput) -> licenses::LicenseInput {
    licenses::LicenseInput {
        code: i.code.clone(),
        product: i.product.clone(),
        product_version: i.product_version.clone(),
        edition: i.edition.clone(),
        seats: i.seats,
        contract_number: i.contract_number.clone(),
        contract_name: i.contract_name.clone(),
        main_contract: i.main_contract,
        supplier: i.supplier.clone(),
        starts_on: i.starts_on,
        expires_on: i.expires_on,
        notes: i.notes.clone(),
    }
}

fn required<T>(v: Option<T>, field: &str) -> ApiResult<T> {
    v.ok_or_else(|| bad(field, "REQUIRED", "入力してください"))
}

/// Ledger mutations.
#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Registers an asset (desk only).
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        input: CreateAssetInput,
    ) -> ApiResult<AssetPayload> {
        let i = assets::AssetInput {
            asset_tag: input.asset_tag,
            kind: Some(input.kind.into()),
            name: input.name,
            maker: input.maker,
            model: input.model,
            serial: input.serial,
            computer_name: input.computer_name,
            ip_address: input.ip_address,
            mac_address: input.mac_address,
            org_unit_id: ids::decode_opt(input.org_unit_id.as_ref(), NodeType::OrgUnit)?,
            location: input.location,
            user_id: ids::decode_opt(input.user_id.as_ref(), NodeType::Person)?,
            purpose: input.purpose,
            status: input.status.map(Into::into),
            parent_id: ids::decode_opt(input.parent_id.as_ref(), NodeType::Asset)?,
            loanable: input.loanable,
            lessor: input.lessor,
            lease_start: input.lease_start,
            lease_end: input.lease_end,
            purchased_on: input.purchased_on,
            warranty_until: input.warranty_until,
            notes: input.notes,
        };
        AssetPayload::from(
            input.client_mutation_id,
            assets::create(&ctx.state().db.write, ctx.actor()?, i).await,
            Asset,
        )
    }

    /// Changes an asset (desk only). Moving it to another org unit or place records `moved`
    /// (学校間移設); another user records `assigned`.
    async fn update_asset(
        &self,
        ctx: &Context<'_>,
        input: UpdateAssetInput,
    ) -> ApiResult<AssetPayload> {
        let actor = ctx.actor()?;
        let db = &ctx.state().db.write;
        let id = ids::decode(&input.asset_id, NodeType::Asset)?;
        let current = svc(assets::get(db, actor, id).await)?;
        let mut i = assets::AssetInput::from(&current);
        if let Some(v) = input.asset_tag {
            i.asset_tag = v;
        }
        if let Some(v) = input.kind {
            i.kind = Some(v.into());
        }
        if let Some(v) = input.name {
            i.name = v;
        }
        overlay(&mut i.maker, input.maker);
        overlay(&mut i.model, input.model);
        overlay(&mut i.serial, input.serial);
        overlay(&mut i.computer_name, input.computer_name);
        overlay(&mut i.ip_address, input.ip_address);
        overlay(&mut i.mac_address, input.mac_address);
        overlay_id(&mut i.org_unit_id, input.org_unit_id, NodeType::OrgUnit)?;
        overlay(&mut i.location, input.location);
        overlay_id(&mut i.user_id, input.user_id, NodeType::Person)?;
        overlay(&mut i.purpose, input.purpose);
        if let Some(v) = input.status {
            i.status = Some(v.into());
        }
        overlay_id(&mut i.parent_id, input.parent_id, NodeType::Asset)?;
        if let Some(v) = input.loanable {
            i.loanable = v;
        }
        overlay(&mut i.lessor, input.lessor);
        overlay(&mut i.lease_start, input.lease_start);
        overlay(&mut i.lease_end, input.lease_end);
        overlay(&mut i.purchased_on, input.purchased_on);
        overlay(&mut i.warranty_until, input.warranty_until);
        overlay(&mut i.notes, input.notes);
        AssetPayload::from(
            input.client_mutation_id,
            assets::update(db, actor, id, i, input.expected_version).await,
            Asset,
        )
    }

    /// Retires an asset (廃棄) with its data-erasure evidence (desk only).
    async fn retire_asset(
        &self,
        ctx: &Context<'_>,
        input: RetireAssetInput,
    ) -> ApiResult<AssetPayload> {
        let id = ids::decode(&input.asset_id, NodeType::Asset)?;
        let mut evidence = Vec::new();
        for u in input.evidence.unwrap_or_default() {
            let (filename, content_type, data) = read_upload(ctx, &u, assets::EVIDENCE_MAX)?;
            evidence.push(assets::Evidence {
                filename,
                content_type,
                data,
            });
        }
        let r = assets::Retirement {
            reason: input.reason,
            erasure_method: input.erasure_method,
            erased_on: input.erased_on,
            certificate_number: input.certificate_number,
            evidence,
        };
        AssetPayload::from(
            input.client_mutation_id,
            assets::retire(&ctx.state().db.write, ctx.actor()?, id, r).await,
            Asset,
        )
    }

    /// Records an inspection (点検) in the asset's history (desk only).
    async fn record_asset_inspection(
        &self,
        ctx: &Context<'_>,
        input: RecordAssetInspectionInput,
    ) -> ApiResult<AssetEventPayload> {
        let id = ids::decode(&input.asset_id, NodeType::Asset)?;
        AssetEventPayload::from(
            input.client_mutation_id,
            assets::inspect(
                &ctx.state().db.write,
                ctx.actor()?,
                id,
                &input.result,
                input.note,
            )
            .await,
            AssetEvent,
        )
    }

    /// Links a ticket to an asset (desk only); both histories record it.
    async fn link_asset_to_ticket(
        &self,
        ctx: &Context<'_>,
        input: AssetTicketInput,
    ) -> ApiResult<AssetPayload> {
        let a = ids::decode(&input.asset_id, NodeType::Asset)?;
        let t = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        AssetPayload::from(
            input.client_mutation_id,
            assets::link_ticket(&ctx.state().db.write, ctx.actor()?, a, t).await,
            Asset,
        )
    }

    /// Unlinks a ticket from an asset (desk only).
    async fn unlink_asset_from_ticket(
        &self,
        ctx: &Context<'_>,
        input: AssetTicketInput,
    ) -> ApiResult<AssetPayload> {
        let a = ids::decode(&input.asset_id, NodeType::Asset)?;
        let t = ids::decode(&input.ticket_id, NodeType::Ticket)?;
        AssetPayload::from(
            input.client_mutation_id,
            assets::unlink_ticket(&ctx.state().db.write, ctx.actor()?, a, t).await,
            Asset,
        )
    }

    /// Reserves a loanable item for a period; overlapping bookings are refused
    /// (OVERLAPPING_BOOKING). Requesters reserve for themselves.
    async fn reserve_asset(
        &self,
        ctx: &Context<'_>,
        input: BookAssetInput,
    ) -> ApiResult<BookingPayload> {
        let new = loans::NewBooking {
            asset_id: ids::decode(&input.asset_id, NodeType::Asset)?,
            borrower_id: ids::decode_opt(input.borrower_id.as_ref(), NodeType::Person)?,
            starts_at: required(input.starts_at, "startsAt")?,
            due_at: input.due_at,
            purpose: input.purpose,
        };
        BookingPayload::from(
            input.client_mutation_id,
            loans::reserve(&ctx.state().db.write, ctx.actor()?, new).await,
            Booking,
        )
    }

    /// Lends an item now until `dueAt`, without a prior reservation (desk only).
    async fn lend_asset(
        &self,
        ctx: &Context<'_>,
        input: BookAssetInput,
    ) -> ApiResult<BookingPayload> {
        let new = loans::NewBooking {
            asset_id: ids::decode(&input.asset_id, NodeType::Asset)?,
            borrower_id: ids::decode_opt(input.borrower_id.as_ref(), NodeType::Person)?,
            starts_at: service::tickets::now(),
            due_at: input.due_at,
            purpose: input.purpose,
        };
        BookingPayload::from(
            input.client_mutation_id,
            loans::lend(&ctx.state().db.write, ctx.actor()?, new).await,
            Booking,
        )
    }

    /// Hands a reserved item over (desk only).
    async fn check_out_booking(
        &self,
        ctx: &Context<'_>,
        input: BookingInput,
    ) -> ApiResult<BookingPayload> {
        let id = ids::decode(&input.booking_id, NodeType::Booking)?;
        BookingPayload::from(
            input.client_mutation_id,
            loans::check_out(&ctx.state().db.write, ctx.actor()?, id, input.due_at).await,
            Booking,
        )
    }

    /// Takes a lent item back (desk only).
    async fn return_booking(
        &self,
        ctx: &Context<'_>,
        input: BookingInput,
    ) -> ApiResult<BookingPayload> {
        let id = ids::decode(&input.booking_id, NodeType::Booking)?;
        BookingPayload::from(
            input.client_mutation_id,
            loans::give_back(&ctx.state().db.write, ctx.actor()?, id, input.note).await,
            Booking,
        )
    }

    /// Cancels a reservation (the borrower their own, the desk any).
    async fn cancel_booking(
        &self,
        ctx: &Context<'_>,
        input: BookingInput,
    ) -> ApiResult<BookingPayload> {
        let id = ids::decode(&input.booking_id, NodeType::Booking)?;
        BookingPayload::from(
            input.client_mutation_id,
            loans::cancel(&ctx.state().db.write, ctx.actor()?, id).await,
            Booking,
        )
    }

    /// Sends a broken device to repair, with its ticket, a spare and the damage report (desk only).
    async fn open_repair(
        &self,
        ctx: &Context<'_>,
        input: OpenRepairInput,
    ) -> ApiResult<RepairPayload> {
        let new = repairs::NewRepair {
            asset_id: ids::decode(&input.asset_id, NodeType::Asset)?,
            ticket_id: ids::decode_opt(input.ticket_id.as_ref(), NodeType::Ticket)?,
            fault: input.fault,
            spare_asset_id: ids::decode_opt(input.spare_asset_id.as_ref(), NodeType::Asset)?,
            damage_report: input.damage_report.map(Into::into),
        };
        RepairPayload::from(
            input.client_mutation_id,
            repairs::open(&ctx.state().db.write, ctx.actor()?, new).await,
            Repair,
        )
    }

    /// Records the damage report (損傷始末書) of a repair (desk only).
    async fn record_damage_report(
        &self,
        ctx: &Context<'_>,
        input: RepairInput,
    ) -> ApiResult<RepairPayload> {
        let id = ids::decode(&input.repair_id, NodeType::Repair)?;
        let report = required(input.damage_report, "damageReport")?;
        RepairPayload::from(
            input.client_mutation_id,
            repairs::record_damage_report(&ctx.state().db.write, ctx.actor()?, id, report.into())
                .await,
            Repair,
        )
    }

    /// Sends the device to the vendor (desk only); the vendor then sees it.
    async fn dispatch_repair(
        &self,
        ctx: &Context<'_>,
        input: RepairInput,
    ) -> ApiResult<RepairPayload> {
        let id = ids::decode(&input.repair_id, NodeType::Repair)?;
        let vendor = ids::decode(&required(input.vendor_id, "vendorId")?, NodeType::Vendor)?;
        RepairPayload::from(
            input.client_mutation_id,
            repairs::dispatch(
                &ctx.state().db.write,
                ctx.actor()?,
                id,
                vendor,
                input.vendor_reference,
            )
            .await,
            Repair,
        )
    }

    /// Records the device back from the vendor (desk only).
    async fn receive_repair(
        &self,
        ctx: &Context<'_>,
        input: RepairInput,
    ) -> ApiResult<RepairPayload> {
        let id = ids::decode(&input.repair_id, NodeType::Repair)?;
        RepairPayload::from(
            input.client_mutation_id,
            repairs::receive_back(&ctx.state().db.write, ctx.actor()?, id, input.note).await,
            Repair,
        )
    }

    /// Closes a repair: re-kitted, and the spare swapped back if asked (desk only).
    async fn close_repair(
        &self,
        ctx: &Context<'_>,
        input: RepairInput,
    ) -> ApiResult<RepairPayload> {
        let id = ids::decode(&input.repair_id, NodeType::Repair)?;
        RepairPayload::from(
            input.client_mutation_id,
            repairs::close(
                &ctx.state().db.write,
                ctx.actor()?,
                id,
                input.rekitted,
                input.swap_back,
            )
            .await,
            Repair,
        )
    }

    /// Registers a license (desk only).
    async fn create_license(
        &self,
        ctx: &Context<'_>,
        input: LicenseInput,
    ) -> ApiResult<LicensePayload> {
        let i = license_input(&input);
        LicensePayload::from(
            input.client_mutation_id,
            licenses::create(&ctx.state().db.write, ctx.actor()?, i).await,
            License,
        )
    }

    /// Replaces a license's fields (desk only).
    async fn update_license(
        &self,
        ctx: &Context<'_>,
        input: LicenseInput,
    ) -> ApiResult<LicensePayload> {
        let id = ids::decode(
            &required(input.license_id.clone(), "licenseId")?,
            NodeType::License,
        )?;
        let i = license_input(&input);
        LicensePayload::from(
            input.client_mutation_id,
            licenses::update(&ctx.state().db.write, ctx.actor()?, id, i).await,
            License,
        )
    }

    /// Gives a seat to an asset or a person (desk only); NO_FREE_SEAT unless over-allocation is allowed.
    async fn assign_license(
        &self,
        ctx: &Context<'_>,
        input: AssignLicenseInput,
    ) -> ApiResult<LicenseAssignmentPayload> {
        let l = ids::decode(&input.license_id, NodeType::License)?;
        let a = ids::decode_opt(input.asset_id.as_ref(), NodeType::Asset)?;
        let p = ids::decode_opt(input.person_id.as_ref(), NodeType::Person)?;
        LicenseAssignmentPayload::from(
            input.client_mutation_id,
            licenses::assign(
                &ctx.state().db.write,
                ctx.actor()?,
                l,
                a,
                p,
                input.allow_over_allocation,
            )
            .await,
            LicenseAssignment,
        )
    }

    /// Takes a seat back (desk only).
    async fn release_license(
        &self,
        ctx: &Context<'_>,
        input: ReleaseLicenseInput,
    ) -> ApiResult<LicenseAssignmentPayload> {
        let id = ids::decode(&input.assignment_id, NodeType::LicenseAssignment)?;
        LicenseAssignmentPayload::from(
            input.client_mutation_id,
            licenses::release(&ctx.state().db.write, ctx.actor()?, id).await,
            LicenseAssignment,
        )
    }

    /// Registers a consumable (desk only).
    async fn create_consumable_item(
        &self,
        ctx: &Context<'_>,
        input: ConsumableItemInput,
    ) -> ApiResult<ConsumableItemPayload> {
        let cmid = input.client_mutation_id.clone();
        ConsumableItemPayload::from(
            cmid,
            stock::create_item(&ctx.state().db.write, ctx.actor()?, item_input(input)).await,
            ConsumableItem,
        )
    }

    /// Replaces a consumable's fields (desk only).
    async fn update_consumable_item(
        &self,
        ctx: &Context<'_>,
        input: ConsumableItemInput,
    ) -> ApiResult<ConsumableItemPayload> {
        let cmid = input.client_mutation_id.clone();
        let id = ids::decode(
            &required(input.item_id.clone(), "itemId")?,
            NodeType::ConsumableItem,
        )?;
        ConsumableItemPayload::from(
            cmid,
            stock::update_item(&ctx.state().db.write, ctx.actor()?, id, item_input(input)).await,
            ConsumableItem,
        )
    }

    /// Records a movement of stock (desk only). Stock never goes negative (INSUFFICIENT_STOCK).
    async fn record_stock_movement(
        &self,
        ctx: &Context<'_>,
        input: RecordStockMovementInput,
    ) -> ApiResult<StockMovementPayload> {
        let m = stock::NewMovement {
            item_id: ids::decode(&input.item_id, NodeType::ConsumableItem)?,
            location: input.location,
            kind: input.kind.into(),
            quantity: input.quantity,
            refs: stock::MovementRefs {
                org_unit_id: ids::decode_opt(input.org_unit_id.as_ref(), NodeType::OrgUnit)?,
                asset_id: ids::decode_opt(input.asset_id.as_ref(), NodeType::Asset)?,
                note: input.note,
                ..stock::MovementRefs::default()
            },
        };
        StockMovementPayload::from(
            input.client_mutation_id,
            stock::record_movement(&ctx.state().db.write, ctx.actor()?, m).await,
            StockMovement,
        )
    }

    /// Files a 払い出し申請 (requesters for themselves; the desk for anyone).
    async fn file_supply_request(
        &self,
        ctx: &Context<'_>,
        input: FileSupplyRequestInput,
    ) -> ApiResult<SupplyRequestPayload> {
        let r = stock::NewRequest {
            item_id: ids::decode(&input.item_id, NodeType::ConsumableItem)?,
            quantity: input.quantity,
            requested_by: ids::decode_opt(input.requested_by.as_ref(), NodeType::Person)?,
            printer_asset_id: ids::decode_opt(input.printer_id.as_ref(), NodeType::Asset)?,
            note: input.note,
        };
        SupplyRequestPayload::from(
            input.client_mutation_id,
            stock::file_request(&ctx.state().db.write, ctx.actor()?, r).await,
            SupplyRequest,
        )
    }

    /// Approves or rejects a request (supervisor or admin).
    async fn decide_supply_request(
        &self,
        ctx: &Context<'_>,
        input: SupplyRequestInput,
    ) -> ApiResult<SupplyRequestPayload> {
        let id = ids::decode(&input.request_id, NodeType::SupplyRequest)?;
        let approve = required(input.approve, "approve")?;
        SupplyRequestPayload::from(
            input.client_mutation_id,
            stock::decide(&ctx.state().db.write, ctx.actor()?, id, approve, input.note).await,
            SupplyRequest,
        )
    }

    /// Issues an approved request from a location (desk only).
    async fn issue_supply_request(
        &self,
        ctx: &Context<'_>,
        input: SupplyRequestInput,
    ) -> ApiResult<SupplyRequestPayload> {
        let id = ids::decode(&input.request_id, NodeType::SupplyRequest)?;
        let location = required(input.location, "location")?;
        SupplyRequestPayload::from(
            input.client_mutation_id,
            stock::issue_request(&ctx.state().db.write, ctx.actor()?, id, &location).await,
            SupplyRequest,
        )
    }

    /// Records the signed receipt (押捺済受領書) of an issued request (desk only).
    async fn record_supply_receipt(
        &self,
        ctx: &Context<'_>,
        input: SupplyRequestInput,
    ) -> ApiResult<SupplyRequestPayload> {
        let id = ids::decode(&input.request_id, NodeType::SupplyRequest)?;
        let by = required(input.signed_by, "signedBy")?;
        let on = required(input.received_on, "receivedOn")?;
        SupplyRequestPayload::from(
            input.client_mutation_id,
            stock::record_receipt(&ctx.state().db.write, ctx.actor()?, id, &by, on).await,
            SupplyRequest,
        )
    }

    /// Withdraws a request not yet issued (the requester their own, the desk any).
    async fn cancel_supply_request(
        &self,
        ctx: &Context<'_>,
        input: SupplyRequestInput,
    ) -> ApiResult<SupplyRequestPayload> {
        let id = ids::decode(&input.request_id, NodeType::SupplyRequest)?;
        SupplyRequestPayload::from(
            input.client_mutation_id,
            stock::cancel_request(&ctx.state().db.write, ctx.actor()?, id).await,
            SupplyRequest,
        )
    }

    /// Places an order with a supplier (desk only).
    async fn place_purchase_order(
        &self,
        ctx: &Context<'_>,
        input: PlacePurchaseOrderInput,
    ) -> ApiResult<PurchaseOrderPayload> {
        let lines = price_lines(input.lines)?;
        PurchaseOrderPayload::from(
            input.client_mutation_id,
            stock::place_order(
                &ctx.state().db.write,
                ctx.actor()?,
                &input.supplier,
                input.ordered_on,
                lines,
                input.note,
            )
            .await,
            PurchaseOrder,
        )
    }

    /// Records a delivery slip and receives it into stock (desk only); idempotent by slip number.
    async fn record_delivery(
        &self,
        ctx: &Context<'_>,
        input: RecordDeliveryInput,
    ) -> ApiResult<DeliveryPayload> {
        let po = ids::decode(&input.purchase_order_id, NodeType::PurchaseOrder)?;
        let lines = input
            .lines
            .into_iter()
            .map(|l| {
                Ok(stock::DeliveryLine {
                    item_id: ids::decode(&l.item_id, NodeType::ConsumableItem)?,
                    quantity: l.quantity,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        DeliveryPayload::from(
            input.client_mutation_id,
            stock::record_delivery(
                &ctx.state().db.write,
                ctx.actor()?,
                po,
                &input.slip_number,
                input.delivered_on,
                &input.location,
                lines,
            )
            .await,
            Delivery,
        )
    }

    /// Records an invoice and matches it against the order and deliveries (desk only).
    async fn record_invoice(
        &self,
        ctx: &Context<'_>,
        input: RecordInvoiceInput,
    ) -> ApiResult<InvoicePayload> {
        let po = ids::decode(&input.purchase_order_id, NodeType::PurchaseOrder)?;
        let lines = price_lines(input.lines)?;
        InvoicePayload::from(
            input.client_mutation_id,
            stock::record_invoice(
                &ctx.state().db.write,
                ctx.actor()?,
                po,
                &input.invoice_number,
                input.invoiced_on,
                lines,
            )
            .await,
            Invoice,
        )
    }

    /// Imports a ledger file (desk only): every row is checked first; errors are reported by
    /// line and column; idempotent by asset tag, license code or item code.
    async fn import_ledger(
        &self,
        ctx: &Context<'_>,
        input: ImportLedgerInput,
    ) -> ApiResult<ImportLedgerPayload> {
        let actor = ctx.actor()?;
        if !actor.is_desk() {
            return Err(ApiError::Forbidden.into());
        }
        let (_, _, data) = read_upload(ctx, &input.file, sheets::MAX_FILE)?;
        let opts = sheets::ImportOptions {
            dry_run: input.dry_run,
            strict: input.strict,
        };
        let r = sheets::import(
            &ctx.state().db.write,
            actor,
            input.ledger.into(),
            &data,
            opts,
            &|_, _| {},
        )
        .await;
        ImportLedgerPayload::from(input.client_mutation_id, r, Into::into)
    }

    /// Makes a download link for a ledger export (desk only), valid for 15 minutes.
    async fn create_ledger_export(
        &self,
        ctx: &Context<'_>,
        input: CreateLedgerExportInput,
    ) -> ApiResult<CreateLedgerExportPayload> {
        let (token, expires_at) = svc(sheets::export_link(
            &ctx.state().db.write,
            ctx.actor()?,
            input.ledger.into(),
            input.format.into(),
        )
        .await)?;
        Ok(CreateLedgerExportPayload {
            client_mutation_id: input.client_mutation_id,
            url: format!("/exports/{}", token.expose()),
            expires_at,
        })
    }
}
