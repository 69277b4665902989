//! Opaque global IDs: `base64url("Type:uuid")`. Encoded and decoded here and nowhere else.

use super::errors::ApiError;
use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The node types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Ticket,
    TicketComment,
    TicketEvent,
    Person,
    OrgUnit,
    TicketCategory,
    Vendor,
    Tenant,
    DeskCalendar,
    SlaPolicy,
    FaqArticle,
    MailMessage,
    Asset,
    AssetEvent,
    Booking,
    Repair,
    License,
    LicenseAssignment,
    ConsumableItem,
    StockMovement,
    SupplyRequest,
    PurchaseOrder,
}

impl NodeType {
    const ALL: [NodeType; 22] = [
        NodeType::Ticket,
        NodeType::TicketComment,
        NodeType::TicketEvent,
        NodeType::Person,
        NodeType::OrgUnit,
        NodeType::TicketCategory,
        NodeType::Vendor,
        NodeType::Tenant,
        NodeType::DeskCalendar,
        NodeType::SlaPolicy,
        NodeType::FaqArticle,
        NodeType::MailMessage,
        NodeType::Asset,
        NodeType::AssetEvent,
        NodeType::Booking,
        NodeType::Repair,
        NodeType::License,
        NodeType::LicenseAssignment,
        NodeType::ConsumableItem,
        NodeType::StockMovement,
        NodeType::SupplyRequest,
        NodeType::PurchaseOrder,
    ];

    fn as_str(self) -> &'static str {
        match self {
            NodeType::Ticket => "Ticket",
            NodeType::TicketComment => "TicketComment",
            NodeType::TicketEvent => "TicketEvent",
            NodeType::Person => "Person",
            NodeType::OrgUnit => "OrgUnit",
            NodeType::TicketCategory => "TicketCategory",
            NodeType::Vendor => "Vendor",
            NodeType::Tenant => "Tenant",
            NodeType::DeskCalendar => "DeskCalendar",
            NodeType::SlaPolicy => "SlaPolicy",
            NodeType::FaqArticle => "FaqArticle",
            NodeType::MailMessage => "MailMessage",
            NodeType::Asset => "Asset",
            NodeType::AssetEvent => "AssetEvent",
            NodeType::Booking => "Booking",
            NodeType::Repair => "Repair",
            NodeType::License => "License",
            NodeType::LicenseAssignment => "LicenseAssignment",
            NodeType::ConsumableItem => "ConsumableItem",
            NodeType::StockMovement => "StockMovement",
            NodeType::SupplyRequest => "SupplyRequest",
            NodeType::PurchaseOrder => "PurchaseOrder",
        }
    }
}

/// Encodes a global ID. A list encodes a few hundred of these a page, so the text to encode
/// is put together on the stack (the longest type name is 17 bytes, a simple uuid 32).
pub fn encode(t: NodeType, id: Uuid) -> ID {
    let mut out = String::with_capacity(72);
    encode_into(t, id, &mut out);
    ID(out)
}

/// Appends a global ID's text to `out`.
pub fn encode_into(t: NodeType, id: Uuid, out: &mut String) {
    let name = t.as_str().as_bytes();
    let mut raw = [0u8; 64];
    raw[..name.len()].copy_from_slice(name);
    raw[name.len()] = b':';
    let start = name.len() + 1;
    let end = start + uuid::fmt::Simple::LENGTH;
    id.simple().encode_lower(&mut raw[start..end]);
    URL_SAFE_NO_PAD.encode_string(&raw[..end], out);
}

/// Decodes any global ID into its type and uuid.
pub fn decode_any(id: &ID) -> Result<(NodeType, Uuid), ApiError> {
    let raw = URL_SAFE_NO_PAD
        .decode(id.as_str())
        .map_err(|_| ApiError::InvalidId(id.to_string()))?;
    let text = std::str::from_utf8(&raw).map_err(|_| ApiError::InvalidId(id.to_string()))?;
    let (ty, uuid) = text
        .split_once(':')
        .ok_or_else(|| ApiError::InvalidId(id.to_string()))?;
    let t = NodeType::ALL
        .into_iter()
        .find(|t| t.as_str() == ty)
        .ok_or_else(|| ApiError::InvalidId(id.to_string()))?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| ApiError::InvalidId(id.to_string()))?;
    Ok((t, uuid))
}

/// Decodes a global ID that must be of type `want`.
pub fn decode(id: &ID, want: NodeType) -> Result<Uuid, ApiError> {
    match decode_any(id)? {
        (t, uuid) if t == want => Ok(uuid),
        _ => Err(ApiError::InvalidId(id.to_string())),
    }
}

/// Decodes an optional global ID.
pub fn decode_opt(id: Option<&ID>, want: NodeType) -> Result<Option<Uuid>, ApiError> {
    id.map(|i| decode(i, want)).transpose()
}

/// Decodes a list of global IDs of one type.
pub fn decode_list(ids: Option<&Vec<ID>>, want: NodeType) -> Result<Vec<Uuid>, ApiError> {
    ids.map(|v| v.iter().map(|i| decode(i, want)).collect())
        .unwrap_or(Ok(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_carry_their_type() {
        let u = Uuid::now_v7();
        let id = encode(NodeType::Ticket, u);
        assert_eq!(decode(&id, NodeType::Ticket).unwrap(), u);
        assert!(decode(&id, NodeType::Person).is_err());
        assert!(decode_any(&ID::from("not-an-id")).is_err());
        assert!(decode_any(&ID::from(URL_SAFE_NO_PAD.encode("Ticket:xyz"))).is_err());
    }

    #[test]
    fn every_type_encodes_as_base64_of_its_name_and_uuid() {
        let u = Uuid::now_v7();
        for t in NodeType::ALL {
            let id = encode(t, u);
            let want = URL_SAFE_NO_PAD.encode(format!("{}:{}", t.as_str(), u.simple()));
            assert_eq!(id.0, want, "{t:?}");
            assert_eq!(decode_any(&id).unwrap(), (t, u));
        }
    }
}
