//! Enumerations of the ledgers (assets, loans, repairs, consumables, purchasing).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// 機器種別 in the configuration ledger.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// ノートPC
    #[sea_orm(string_value = "notebook")]
    Notebook,
    /// デスクトップPC
    #[sea_orm(string_value = "desktop")]
    Desktop,
    /// 2in1 PC
    #[sea_orm(string_value = "two_in_one")]
    TwoInOne,
    /// テレワーク専用PC
    #[sea_orm(string_value = "telework_pc")]
    TeleworkPc,
    /// サーバ
    #[sea_orm(string_value = "server")]
    Server,
    /// プリンタ・複合機
    #[sea_orm(string_value = "printer")]
    Printer,
    /// プロジェクタ
    #[sea_orm(string_value = "projector")]
    Projector,
    /// モバイルWi-Fiルータ
    #[sea_orm(string_value = "mobile_router")]
    MobileRouter,
    /// ネットワーク機器
    #[sea_orm(string_value = "network_device")]
    NetworkDevice,
    /// UPS
    #[sea_orm(string_value = "ups")]
    Ups,
    /// 周辺機器
    #[sea_orm(string_value = "peripheral")]
    Peripheral,
    /// 貸出セット (web会議セット等)
    #[sea_orm(string_value = "loan_kit")]
    LoanKit,
    /// カード類 (入館カード等)
    #[sea_orm(string_value = "card")]
    Card,
    /// その他
    #[sea_orm(string_value = "other")]
    Other,
}

impl AssetKind {
    /// Every value, in a stable order.
    pub const ALL: [AssetKind; 14] = [
        AssetKind::Notebook,
        AssetKind::Desktop,
        AssetKind::TwoInOne,
        AssetKind::TeleworkPc,
        AssetKind::Server,
        AssetKind::Printer,
        AssetKind::Projector,
        AssetKind::MobileRouter,
        AssetKind::NetworkDevice,
        AssetKind::Ups,
        AssetKind::Peripheral,
        AssetKind::LoanKit,
        AssetKind::Card,
        AssetKind::Other,
    ];

    /// The stored value (`notebook`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Notebook => "notebook",
            AssetKind::Desktop => "desktop",
            AssetKind::TwoInOne => "two_in_one",
            AssetKind::TeleworkPc => "telework_pc",
            AssetKind::Server => "server",
            AssetKind::Printer => "printer",
            AssetKind::Projector => "projector",
            AssetKind::MobileRouter => "mobile_router",
            AssetKind::NetworkDevice => "network_device",
            AssetKind::Ups => "ups",
            AssetKind::Peripheral => "peripheral",
            AssetKind::LoanKit => "loan_kit",
            AssetKind::Card => "card",
            AssetKind::Other => "other",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            AssetKind::Notebook => "ノートPC",
            AssetKind::Desktop => "デスクトップPC",
            AssetKind::TwoInOne => "2in1 PC",
            AssetKind::TeleworkPc => "テレワーク専用PC",
            AssetKind::Server => "サーバ",
            AssetKind::Printer => "プリンタ・複合機",
            AssetKind::Projector => "プロジェクタ",
            AssetKind::MobileRouter => "モバイルWi-Fiルータ",
            AssetKind::NetworkDevice => "ネットワーク機器",
            AssetKind::Ups => "UPS",
            AssetKind::Peripheral => "周辺機器",
            AssetKind::LoanKit => "貸出セット (web会議セット等)",
            AssetKind::Card => "カード類 (入館カード等)",
            AssetKind::Other => "その他",
        }
    }
}

/// 状態 of an asset.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    /// 使用中
    #[sea_orm(string_value = "in_use")]
    InUse,
    /// 予備
    #[sea_orm(string_value = "spare")]
    Spare,
    /// 貸出中
    #[sea_orm(string_value = "on_loan")]
    OnLoan,
    /// 修理中
    #[sea_orm(string_value = "in_repair")]
    InRepair,
    /// 廃棄済
    #[sea_orm(string_value = "retired")]
    Retired,
}

impl AssetStatus {
    /// Every value, in a stable order.
    pub const ALL: [AssetStatus; 5] = [
        AssetStatus::InUse,
        AssetStatus::Spare,
        AssetStatus::OnLoan,
        AssetStatus::InRepair,
        AssetStatus::Retired,
    ];

    /// The stored value (`in_use`).
    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::InUse => "in_use",
            AssetStatus::Spare => "spare",
            AssetStatus::OnLoan => "on_loan",
            AssetStatus::InRepair => "in_repair",
            AssetStatus::Retired => "retired",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            AssetStatus::InUse => "使用中",
            AssetStatus::Spare => "予備",
            AssetStatus::OnLoan => "貸出中",
            AssetStatus::InRepair => "修理中",
            AssetStatus::Retired => "廃棄済",
        }
    }
}

/// Where a reservation or loan stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// 予約
    #[sea_orm(string_value = "reserved")]
    Reserved,
    /// 貸出中
    #[sea_orm(string_value = "checked_out")]
    CheckedOut,
    /// 返却済
    #[sea_orm(string_value = "returned")]
    Returned,
    /// 取消
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl BookingStatus {
    /// Every value, in a stable order.
    pub const ALL: [BookingStatus; 4] = [
        BookingStatus::Reserved,
        BookingStatus::CheckedOut,
        BookingStatus::Returned,
        BookingStatus::Cancelled,
    ];

    /// The stored value (`reserved`).
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Reserved => "reserved",
            BookingStatus::CheckedOut => "checked_out",
            BookingStatus::Returned => "returned",
            BookingStatus::Cancelled => "cancelled",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            BookingStatus::Reserved => "予約",
            BookingStatus::CheckedOut => "貸出中",
            BookingStatus::Returned => "返却済",
            BookingStatus::Cancelled => "取消",
        }
    }
}

/// Where a repair stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum RepairStatus {
    /// 受付
    #[sea_orm(string_value = "open")]
    Open,
    /// 修理依頼中
    #[sea_orm(string_value = "dispatched")]
    Dispatched,
    /// 修理完了・返却
    #[sea_orm(string_value = "returned")]
    Returned,
    /// 完了
    #[sea_orm(string_value = "closed")]
    Closed,
}

impl RepairStatus {
    /// Every value, in a stable order.
    pub const ALL: [RepairStatus; 4] = [
        RepairStatus::Open,
        RepairStatus::Dispatched,
        RepairStatus::Returned,
        RepairStatus::Closed,
    ];

    /// The stored value (`open`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepairStatus::Open => "open",
            RepairStatus::Dispatched => "dispatched",
            RepairStatus::Returned => "returned",
            RepairStatus::Closed => "closed",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            RepairStatus::Open => "受付",
            RepairStatus::Dispatched => "修理依頼中",
            RepairStatus::Returned => "修理完了・返却",
            RepairStatus::Closed => "完了",
        }
    }
}

/// 消耗品の区分.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ConsumableCategory {
    /// トナー
    #[sea_orm(string_value = "toner")]
    Toner,
    /// インク
    #[sea_orm(string_value = "ink")]
    Ink,
    /// 印刷室用品 (インク・マスター)
    #[sea_orm(string_value = "print_room")]
    PrintRoom,
    /// マウス
    #[sea_orm(string_value = "mouse")]
    Mouse,
    /// ヘッドセット
    #[sea_orm(string_value = "headset")]
    Headset,
    /// モニター
    #[sea_orm(string_value = "monitor")]
    Monitor,
    /// セキュリティUSB
    #[sea_orm(string_value = "usb")]
    Usb,
    /// LANケーブル
    #[sea_orm(string_value = "lan_cable")]
    LanCable,
    /// HUB
    #[sea_orm(string_value = "hub")]
    Hub,
    /// その他
    #[sea_orm(string_value = "other")]
    Other,
}

impl ConsumableCategory {
    /// Every value, in a stable order.
    pub const ALL: [ConsumableCategory; 10] = [
        ConsumableCategory::Toner,
        ConsumableCategory::Ink,
        ConsumableCategory::PrintRoom,
        ConsumableCategory::Mouse,
        ConsumableCategory::Headset,
        ConsumableCategory::Monitor,
        ConsumableCategory::Usb,
        ConsumableCategory::LanCable,
        ConsumableCategory::Hub,
        ConsumableCategory::Other,
    ];

    /// The stored value (`toner`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumableCategory::Toner => "toner",
            ConsumableCategory::Ink => "ink",
            ConsumableCategory::PrintRoom => "print_room",
            ConsumableCategory::Mouse => "mouse",
            ConsumableCategory::Headset => "headset",
            ConsumableCategory::Monitor => "monitor",
            ConsumableCategory::Usb => "usb",
            ConsumableCategory::LanCable => "lan_cable",
            ConsumableCategory::Hub => "hub",
            ConsumableCategory::Other => "other",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            ConsumableCategory::Toner => "トナー",
            ConsumableCategory::Ink => "インク",
            ConsumableCategory::PrintRoom => "印刷室用品 (インク・マスター)",
            ConsumableCategory::Mouse => "マウス",
            ConsumableCategory::Headset => "ヘッドセット",
            ConsumableCategory::Monitor => "モニター",
            ConsumableCategory::Usb => "セキュリティUSB",
            ConsumableCategory::LanCable => "LANケーブル",
            ConsumableCategory::Hub => "HUB",
            ConsumableCategory::Other => "その他",
        }
    }
}

/// 入出庫の種類.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// 入庫
    #[sea_orm(string_value = "receive")]
    Receive,
    /// 払出
    #[sea_orm(string_value = "issue")]
    Issue,
    /// 棚卸調整
    #[sea_orm(string_value = "adjust")]
    Adjust,
    /// 返品・戻入
    #[sea_orm(string_value = "return")]
    Return,
    /// 使用済みトナー回収
    #[sea_orm(string_value = "collect_used")]
    CollectUsed,
}

impl MovementKind {
    /// Every value, in a stable order.
    pub const ALL: [MovementKind; 5] = [
        MovementKind::Receive,
        MovementKind::Issue,
        MovementKind::Adjust,
        MovementKind::Return,
        MovementKind::CollectUsed,
    ];

    /// The stored value (`receive`).
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receive => "receive",
            MovementKind::Issue => "issue",
            MovementKind::Adjust => "adjust",
            MovementKind::Return => "return",
            MovementKind::CollectUsed => "collect_used",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            MovementKind::Receive => "入庫",
            MovementKind::Issue => "払出",
            MovementKind::Adjust => "棚卸調整",
            MovementKind::Return => "返品・戻入",
            MovementKind::CollectUsed => "使用済みトナー回収",
        }
    }
}

/// Where a 払い出し申請 stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum SupplyRequestStatus {
    /// 申請中
    #[sea_orm(string_value = "requested")]
    Requested,
    /// 承認済
    #[sea_orm(string_value = "approved")]
    Approved,
    /// 却下
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// 払出済
    #[sea_orm(string_value = "issued")]
    Issued,
    /// 取消
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl SupplyRequestStatus {
    /// Every value, in a stable order.
    pub const ALL: [SupplyRequestStatus; 5] = [
        SupplyRequestStatus::Requested,
        SupplyRequestStatus::Approved,
        SupplyRequestStatus::Rejected,
        SupplyRequestStatus::Issued,
        SupplyRequestStatus::Cancelled,
    ];

    /// The stored value (`requested`).
    pub fn as_str(self) -> &'static str {
        match self {
            SupplyRequestStatus::Requested => "requested",
            SupplyRequestStatus::Approved => "approved",
            SupplyRequestStatus::Rejected => "rejected",
            SupplyRequestStatus::Issued => "issued",
            SupplyRequestStatus::Cancelled => "cancelled",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            SupplyRequestStatus::Requested => "申請中",
            SupplyRequestStatus::Approved => "承認済",
            SupplyRequestStatus::Rejected => "却下",
            SupplyRequestStatus::Issued => "払出済",
            SupplyRequestStatus::Cancelled => "取消",
        }
    }
}

/// Where an order stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
#[serde(rename_all = "snake_case")]
pub enum PurchaseOrderStatus {
    /// 発注済
    #[sea_orm(string_value = "ordered")]
    Ordered,
    /// 一部納品
    #[sea_orm(string_value = "partially_delivered")]
    PartiallyDelivered,
    /// 納品済
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// 完了
    #[sea_orm(string_value = "closed")]
    Closed,
}

impl PurchaseOrderStatus {
    /// Every value, in a stable order.
    pub const ALL: [PurchaseOrderStatus; 4] = [
        PurchaseOrderStatus::Ordered,
        PurchaseOrderStatus::PartiallyDelivered,
        PurchaseOrderStatus::Delivered,
        PurchaseOrderStatus::Closed,
    ];

    /// The stored value (`ordered`).
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseOrderStatus::Ordered => "ordered",
            PurchaseOrderStatus::PartiallyDelivered => "partially_delivered",
            PurchaseOrderStatus::Delivered => "delivered",
            PurchaseOrderStatus::Closed => "closed",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            PurchaseOrderStatus::Ordered => "発注済",
            PurchaseOrderStatus::PartiallyDelivered => "一部納品",
            PurchaseOrderStatus::Delivered => "納品済",
            PurchaseOrderStatus::Closed => "完了",
        }
    }
}

/// The outcome of matching an invoice against its order and deliveries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum InvoiceMatch {
    /// 一致
    #[sea_orm(string_value = "matched")]
    Matched,
    /// 不一致
    #[sea_orm(string_value = "discrepancy")]
    Discrepancy,
}

impl InvoiceMatch {
    /// Every value, in a stable order.
    pub const ALL: [InvoiceMatch; 2] = [InvoiceMatch::Matched, InvoiceMatch::Discrepancy];

    /// The stored value (`matched`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceMatch::Matched => "matched",
            InvoiceMatch::Discrepancy => "discrepancy",
        }
    }

    /// The Japanese label a ledger shows.
    pub fn label_ja(self) -> &'static str {
        match self {
            InvoiceMatch::Matched => "一致",
            InvoiceMatch::Discrepancy => "不一致",
        }
    }
}
