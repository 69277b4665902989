//! What gets indexed, and who may see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Faq,
    Ticket,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Faq => "faq",
            DocKind::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "faq" => Some(DocKind::Faq),
            "ticket" => Some(DocKind::Ticket),
            _ => None,
        }
    }
}

/// One searchable thing. For an FAQ article: title = question, body = answer.
/// For a ticket: title, body = description + public comments + resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocKind,
    /// The entity's id (a UUID in the database).
    pub id: String,
    pub tenant: String,
    pub title: String,
    pub body: String,
    pub keywords: Vec<String>,
    pub category: Option<String>,
    /// FAQ audiences (staff, teacher, student); empty for tickets.
    pub audience: Vec<String>,
    /// FAQ: draft / published / archived; ticket: its status.
    pub status: String,
    /// Ticket number (HD-2026-000123).
    pub number: Option<String>,
    /// Ticket requester, for "own tickets" scope.
    pub requester: Option<String>,
    /// Vendors a ticket was escalated to, for vendor scope.
    pub vendors: Vec<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Document {
    /// The index key: kind and id.
    pub fn key(&self) -> String {
        key(self.kind, &self.id)
    }
}

pub fn key(kind: DocKind, id: &str) -> String {
    format!("{}:{id}", kind.as_str())
}

/// What an actor may see, decided by the service from their roles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    pub tenant: String,
    pub faq: FaqAccess,
    pub tickets: TicketAccess,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FaqAccess {
    None,
    /// Published articles for any of these audiences (every audience if empty).
    Published {
        audiences: Vec<String>,
    },
    /// Every article in any status (agents, supervisors, admins).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TicketAccess {
    None,
    /// Tickets this person requested, and/or tickets escalated to this vendor.
    Limited {
        requested_by: Option<String>,
        escalated_to: Option<String>,
    },
    All,
}

/// Filters a caller asks for, inside what [`Access`] allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub kinds: Vec<DocKind>,
    pub categories: Vec<String>,
    pub audiences: Vec<String>,
    pub statuses: Vec<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
}
