//! The mail front door's rules: store the raw message first, then turn it into exactly one
//! ticket or comment (or a bounce, or nothing for automatic mail), or quarantine it with a
//! reason. Decoding lives in `bots::mail`; this module sees [`InboundMail`], already decoded.
//!
//! Exactly once: a message is stored under a dedupe key (Message-ID plus a digest of what a
//! redelivery cannot change), and processing claims the stored row in the same transaction
//! that writes the ticket, so redelivery, a second fetch or a crash never doubles anything.

pub mod outbound;
mod process;
pub mod quarantine;
mod store;

pub use process::*;
pub use store::*;

use crate::db::First as _;
use chrono::{DateTime, Utc};
use entity::tenant_mail_settings;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::ServiceResult;

/// A mail address as written in a header; the address lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub address: String,
    pub name: Option<String>,
}

impl MailAddress {
    pub fn new(address: &str, name: Option<&str>) -> Self {
        Self {
            address: address.trim().to_lowercase(),
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        }
    }

    /// `山田 太郎 <yamada@example.jp>`, or the bare address.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} <{}>", self.address),
            None => self.address.clone(),
        }
    }
}

/// A decoded inbound message, as `bots::mail` hands it over.
#[derive(Debug, Clone, Default)]
pub struct InboundMail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub subject: String,
    pub sent_at: Option<DateTime<Utc>>,
    /// The whole body as text (HTML-only mail converted), for a new ticket's description.
    pub text: String,
    /// The body with quoted text and the signature trimmed, for a comment.
    pub reply_text: String,
    pub attachments: Vec<InboundAttachment>,
    /// Set for mail a machine sent on its own: never a ticket.
    pub automatic: Option<Automatic>,
    /// Set for a delivery status notification (bounce).
    pub bounce: Option<Bounce>,
    /// What decoding had to guess or repair (a charset detected from the bytes, a broken
    /// part), kept on the ticket's event so an agent can tell why text looks odd.
    pub notes: Vec<String>,
}

/// A file attached to an inbound mail.
#[derive(Debug, Clone)]
pub struct InboundAttachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Why a message counts as automatic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automatic {
    /// `Auto-Submitted:` other than `no` (RFC 3834).
    AutoSubmitted(String),
    /// `Precedence: bulk / junk / list`, or a `List-Id`.
    Bulk(String),
    /// An out-of-office or other auto-reply recognised by its headers or subject.
    AutoReply(String),
}

impl Automatic {
    /// The stable reason code stored on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Automatic::AutoSubmitted(_) => "auto_submitted",
            Automatic::Bulk(_) => "bulk",
            Automatic::AutoReply(_) => "auto_reply",
        }
    }

    /// The reason in Japanese, for agents.
    pub fn detail(&self) -> String {
        match self {
            Automatic::AutoSubmitted(v) => {
                format!("自動送信メールのため対象外（Auto-Submitted: {v}）")
            }
            Automatic::Bulk(v) => format!("一斉配信・メーリングリストのため対象外（{v}）"),
            Automatic::AutoReply(v) => format!("自動応答（不在通知など）のため対象外（{v}）"),
        }
    }
}

/// What a delivery status notification says about a mail we sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounce {
    /// Message-IDs of the original mail found in the report.
    pub original_message_ids: Vec<String>,
    pub recipient: Option<String>,
    /// `Status:` and `Diagnostic-Code:` of the report, or its first line of text.
    pub diagnostic: String,
}

/// A tenant's mail rules, with defaults for a tenant that has none stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub unknown_sender: UnknownSender,
    /// `utf-8` or `iso-2022-jp`.
    pub outgoing_charset: String,
    pub sender_rate_per_hour: u32,
    pub max_attachment_bytes: u64,
    pub own_addresses: Vec<String>,
    /// Acknowledge a mailed-in request with the ticket number (default on).
    pub acknowledge: bool,
}

/// What to do with mail from an address nobody in the directory has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownSender {
    /// Add the sender to the directory as a requester.
    Contact,
    /// Open the ticket without a requester; an agent sorts it out.
    Triage,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            unknown_sender: UnknownSender::Triage,
            outgoing_charset: "utf-8".to_owned(),
            sender_rate_per_hour: 20,
            max_attachment_bytes: 25 * 1024 * 1024,
            own_addresses: Vec::new(),
            acknowledge: true,
        }
    }
}

impl From<tenant_mail_settings::Model> for MailSettings {
    fn from(m: tenant_mail_settings::Model) -> Self {
        Self {
            unknown_sender: if m.unknown_sender == "contact" {
                UnknownSender::Contact
            } else {
                UnknownSender::Triage
            },
            outgoing_charset: m.outgoing_charset,
            sender_rate_per_hour: u32::try_from(m.sender_rate_per_hour).unwrap_or(0),
            max_attachment_bytes: u64::try_from(m.max_attachment_bytes).unwrap_or(0),
            own_addresses: split_addresses(&m.own_addresses),
            acknowledge: m.acknowledge,
        }
    }
}

fn split_addresses(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect()
}

/// Loads a tenant's mail settings (defaults when none are stored).
pub async fn settings(db: &impl ConnectionTrait, tenant_id: Uuid) -> ServiceResult<MailSettings> {
    Ok(tenant_mail_settings::Entity::find_by_id(tenant_id)
        .first(db)
        .await?
        .map(MailSettings::from)
        .unwrap_or_default())
}

/// Stores a tenant's mail settings (admin tooling and tests).
pub async fn save_settings(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    s: &MailSettings,
) -> ServiceResult<()> {
    use sea_orm::sea_query::OnConflict;
    let row = tenant_mail_settings::ActiveModel {
        tenant_id: sea_orm::Set(tenant_id),
        unknown_sender: sea_orm::Set(
            match s.unknown_sender {
                UnknownSender::Contact => "contact",
                UnknownSender::Triage => "triage",
            }
            .to_owned(),
        ),
        outgoing_charset: sea_orm::Set(s.outgoing_charset.clone()),
        sender_rate_per_hour: sea_orm::Set(
            i32::try_from(s.sender_rate_per_hour).unwrap_or(i32::MAX),
        ),
        max_attachment_bytes: sea_orm::Set(
            i64::try_from(s.max_attachment_bytes).unwrap_or(i64::MAX),
        ),
        own_addresses: sea_orm::Set(s.own_addresses.join(",")),
        acknowledge: sea_orm::Set(s.acknowledge),
        updated_at: sea_orm::Set(crate::tickets::now()),
    };
    tenant_mail_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tenant_mail_settings::Column::TenantId)
                .update_columns([
                    tenant_mail_settings::Column::UnknownSender,
                    tenant_mail_settings::Column::OutgoingCharset,
                    tenant_mail_settings::Column::SenderRatePerHour,
                    tenant_mail_settings::Column::MaxAttachmentBytes,
                    tenant_mail_settings::Column::OwnAddresses,
                    tenant_mail_settings::Column::Acknowledge,
                    tenant_mail_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The actor's tenant's mail settings (desk roles).
pub async fn settings_for(
    db: &impl ConnectionTrait,
    actor: &crate::Actor,
) -> ServiceResult<MailSettings> {
    if !actor.is_desk() {
        return Err(crate::ServiceError::Forbidden(
            "mail settings are for the desk",
        ));
    }
    settings(db, actor.tenant_id).await
}

/// Largest attachment a tenant may allow (the raw mail keeps larger ones in any case).
pub const MAX_ATTACHMENT_LIMIT: u64 = 100 * 1024 * 1024;

/// Changes the actor's tenant's mail settings (admin only); each bad field is a user error.
pub async fn update_settings(
    db: &impl ConnectionTrait,
    actor: &crate::Actor,
    s: MailSettings,
) -> ServiceResult<MailSettings> {
    use crate::error::UserError;
    if !actor.has(crate::Role::Admin) {
        return Err(crate::ServiceError::Forbidden(
            "only an admin changes mail settings",
        ));
    }
    let mut errors = Vec::new();
    if !matches!(s.outgoing_charset.as_str(), "utf-8" | "iso-2022-jp") {
        errors.push(UserError::new(
            "outgoingCharset",
            "INVALID",
            "utf-8 か iso-2022-jp を指定してください",
        ));
    }
    if s.sender_rate_per_hour > 10_000 {
        errors.push(UserError::new(
            "senderRatePerHour",
            "OUT_OF_RANGE",
            "0〜10000 の範囲で指定してください（0 は制限なし）",
        ));
    }
    if s.max_attachment_bytes > MAX_ATTACHMENT_LIMIT {
        errors.push(UserError::new(
            "maxAttachmentBytes",
            "OUT_OF_RANGE",
            "100 MB 以下で指定してください",
        ));
    }
    let mut own = Vec::new();
    for a in &s.own_addresses {
        let a = a.trim().to_lowercase();
        let valid = a.len() <= 254
            && a.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !a.contains(char::is_whitespace)
            });
        if !valid {
            errors.push(UserError::new(
                "ownAddresses",
                "INVALID_ADDRESS",
                format!("メールアドレスとして正しくありません: {a}"),
            ));
        } else if !own.contains(&a) {
            own.push(a);
        }
    }
    if !errors.is_empty() {
        return Err(crate::ServiceError::Invalid(errors));
    }
    let s = MailSettings {
        own_addresses: own,
        ..s
    };
    save_settings(db, actor.tenant_id, &s).await?;
    Ok(s)
}

/// Why an attachment deserves a warning on the ticket, from its name and its bytes.
///
/// Executables by extension or by an `MZ` header; Office files with macros by extension or
/// by a `vbaProject.bin` entry in the zip (file names in a zip's directory are stored
/// uncompressed, so a byte search finds it).
pub fn attachment_flag(filename: &str, data: &[u8]) -> Option<&'static str> {
    const EXECUTABLE: &[&str] = &[
        "exe", "com", "bat", "cmd", "scr", "pif", "cpl", "msi", "msp", "dll", "js", "jse", "vbs",
        "vbe", "wsf", "wsh", "ps1", "psm1", "hta", "jar", "lnk", "reg", "sct", "iso", "img",
    ];
    const MACRO: &[&str] = &[
        "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm", "xlsb",
    ];
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if EXECUTABLE.contains(&ext.as_str()) || data.starts_with(b"MZ") {
        return Some("executable");
    }
    if MACRO.contains(&ext.as_str())
        || (data.starts_with(b"PK\x03\x04") && contains(data, b"vbaProject.bin"))
    {
        return Some("macro");
    }
    None
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_and_macros_are_flagged_by_name_or_content() {
        assert_eq!(attachment_flag("請求書.exe", b""), Some("executable"));
        assert_eq!(
            attachment_flag("invoice.pdf", b"MZ\x90\0"),
            Some("executable")
        );
        assert_eq!(attachment_flag("集計.XLSM", b""), Some("macro"));
        let docx_with_macros = b"PK\x03\x04....word/vbaProject.bin....";
        assert_eq!(
            attachment_flag("報告書.docx", docx_with_macros),
            Some("macro")
        );
        assert_eq!(
            attachment_flag("報告書.docx", b"PK\x03\x04....word/document.xml"),
            None
        );
        assert_eq!(attachment_flag("写真.jpg", b"\xff\xd8\xff"), None);
        assert_eq!(attachment_flag("noextension", b"hello"), None);
    }

    #[test]
    fn stored_settings_parse_own_addresses_and_the_unknown_sender_rule() {
        let s = MailSettings::from(tenant_mail_settings::Model {
            tenant_id: Uuid::nil(),
            unknown_sender: "contact".into(),
            outgoing_charset: "iso-2022-jp".into(),
            sender_rate_per_hour: 5,
            max_attachment_bytes: 1000,
            own_addresses: "Noreply@City.example.jp, helpdesk-out@city.example.jp".into(),
            acknowledge: true,
            updated_at: Utc::now(),
        });
        assert_eq!(s.unknown_sender, UnknownSender::Contact);
        assert_eq!(
            s.own_addresses,
            ["noreply@city.example.jp", "helpdesk-out@city.example.jp"]
        );
        assert_eq!(s.sender_rate_per_hour, 5);
    }
}
