//! The chat front doors' rules (LINE, Teams): who is talking, what they may do, and what the
//! dialog remembers. Protocols, signatures and message formats live in `bots`; this module
//! knows nothing of them.
//!
//! - A chat account is linked to a person only after they prove it: a one-time code mailed
//!   to the person's registered address (10 minutes, 3 tries, only its hash stored). Until
//!   then the account gets FAQ answers and nothing personal.
//! - A linked person acts in chat as a requester, whatever other roles they hold: chat is a
//!   requester's front door, and a desk login is not something a chat message should carry.
//! - A conversation keeps its dialog state and its latest turns, so a restart does not lose
//!   a dialog and a ticket opened from it carries the transcript.
//! - A ticket opened in a chat remembers it; the desk's public comments and the resolution
//!   are queued to that chat as a job, in the transaction of the change.

use crate::db::First as _;
use chrono::{DateTime, Duration, Utc};
use entity::{
    Channel, FaqStatus, PersonKind, TicketKind, TicketStatus, chat_account, chat_code,
    chat_conversation, chat_ticket_link, chat_turn, faq_article, link_nonce, person, tenant,
    ticket,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Actor, Role, RoleSet};
use crate::error::{ServiceError, ServiceResult};
use crate::jobs::{self, NewJob};
use crate::mail::outbound;
use crate::tickets::{self, NewTicket};
use crate::tz;

/// The job kind that carries a ticket update to the chat the ticket came from.
pub const NOTICE_JOB: &str = "chat.notice";
/// How long a mailed code is valid.
pub const CODE_MINUTES: i64 = 10;
/// Wrong entries before a code is burned.
pub const CODE_TRIES: i32 = 3;
/// Codes an account may ask for in an hour.
pub const CODES_PER_HOUR: u64 = 3;
/// The latest turns a ticket opened from a chat carries.
pub const TRANSCRIPT_TURNS: u64 = 30;
/// Days a chat turn is kept; [`prune_turns`] deletes older ones.
pub const TURN_RETENTION_DAYS: i64 = 90;
/// Longest ticket title made from a chat question, in characters.
const TITLE_CHARS: usize = 60;

/// A chat platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Line,
    LineWorks,
    Teams,
}

impl Platform {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Line => "line",
            Platform::LineWorks => "line_works",
            Platform::Teams => "teams",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Platform::Line, Platform::LineWorks, Platform::Teams]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Line => "LINE",
            Platform::LineWorks => "LINE WORKS",
            Platform::Teams => "Teams",
        }
    }

    /// The ticket channel of a ticket opened in this chat.
    pub fn channel(self) -> Channel {
        match self {
            Platform::Line | Platform::LineWorks => Channel::Line,
            Platform::Teams => Channel::Teams,
        }
    }
}

/// A 1:1 chat with the bot, or a group / room / channel it is in. Groups get FAQ answers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Personal,
    Group,
}

impl ChatKind {
    fn as_str(self) -> &'static str {
        match self {
            ChatKind::Personal => "personal",
            ChatKind::Group => "group",
        }
    }
}

/// Who is talking: the chat account and, once linked, the person acting as a requester.
#[derive(Debug, Clone)]
pub struct ChatUser {
    pub account: chat_account::Model,
    pub person: Option<person::Model>,
    pub actor: Option<Actor>,
    /// Whose FAQ they get: `staff`, `teacher` or `student` (`staff` until linked).
    pub audience: &'static str,
}

impl ChatUser {
    /// The key their FAQ votes are stored under (the person once linked).
    pub fn voter(&self) -> String {
        match &self.actor {
            Some(a) => a.person_id.to_string(),
            None => format!("chat:{}", self.account.id),
        }
    }
}

/// What the dialog waits for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Awaiting {
    #[default]
    Nothing,
    /// The mail address to send a linking code to.
    LinkEmail,
    /// The code that was mailed (`code_id` is `None` when the address is not registered: the
    /// dialog looks the same, so it does not tell who is registered).
    LinkCode { code_id: Option<Uuid>, tries: i32 },
    /// The second factor of a password reset.
    ResetCode { reset_id: Uuid },
}

/// A conversation's dialog state, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DialogState {
    pub awaiting: Awaiting,
    /// The last question asked, for "not solved" and "open a ticket".
    pub last_question: Option<String>,
    /// The FAQ articles shown for it.
    pub shown: Vec<Uuid>,
    /// The user blocked the bot (LINE unfollow): nothing is pushed until they come back.
    pub blocked: bool,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub at: DateTime<Utc>,
    /// `user` or `bot`.
    pub speaker: String,
    pub text: String,
}

impl Turn {
    pub fn user(text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            at,
            speaker: "user".to_owned(),
            text: text.into(),
        }
    }
    pub fn bot(text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            at,
            speaker: "bot".to_owned(),
            text: text.into(),
        }
    }
}

/// Finds or creates the account of a platform user: looked up on the read pool, so only a
/// new account takes SQLite's single writer.
pub async fn account(
    db: &crate::Db,
    tenant_id: Uuid,
    platform: Platform,
    external_id: &str,
    display_name: Option<&str>,
    at: DateTime<Utc>,
) -> ServiceResult<chat_account::Model> {
    let find = || {
        chat_account::Entity::find()
            .filter(chat_account::Column::TenantId.eq(tenant_id))
            .filter(chat_account::Column::Platform.eq(platform.as_str()))
            .filter(chat_account::Column::ExternalId.eq(external_id))
    };
    if let Some(a) = find().first(&db.read).await? {
        return Ok(a);
    }
    new_account(db, tenant_id, platform, external_id, display_name, at).await
}

/// Creates the account of a platform user, or returns the one a message of theirs being
/// answered at the same moment created: one statement on SQLite's single writer (a first
/// message from hundreds of people at once queues there).
async fn new_account(
    db: &crate::Db,
    tenant_id: Uuid,
    platform: Platform,
    external_id: &str,
    display_name: Option<&str>,
    at: DateTime<Utc>,
) -> ServiceResult<chat_account::Model> {
    let row = account_row(tenant_id, platform, external_id, display_name, at);
    Ok(chat_account::Entity::insert(row)
        .on_conflict(account_made_meanwhile())
        .exec_with_returning(&db.write)
        .await?)
}

/// A new account's row.
fn account_row(
    tenant_id: Uuid,
    platform: Platform,
    external_id: &str,
    display_name: Option<&str>,
    at: DateTime<Utc>,
) -> chat_account::ActiveModel {
    chat_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        platform: Set(platform.as_str().to_owned()),
        external_id: Set(external_id.to_owned()),
        display_name: Set(display_name.map(|n| n.chars().take(100).collect())),
        person_id: Set(None),
        link_method: Set(None),
        linked_at: Set(None),
        created_at: Set(at),
    }
}

/// An account made meanwhile (by another message of the same person) is returned as it is.
fn account_made_meanwhile() -> OnConflict {
    use chat_account::Column as A;
    made_meanwhile([A::TenantId, A::Platform, A::ExternalId])
}

/// A row made meanwhile with the same `key` is returned as it is: the update sets the key's
/// last column to itself (`DO NOTHING` would return no row).
fn made_meanwhile<C: sea_orm::sea_query::IntoIden + Copy>(key: [C; 3]) -> OnConflict {
    OnConflict::columns(key).update_column(key[2]).to_owned()
}

/// A new conversation's row (its dialog state empty).
fn conversation_row(
    tenant_id: Uuid,
    platform: Platform,
    conversation_ref: &str,
    kind: ChatKind,
    account_id: Option<Uuid>,
    service_url: Option<&str>,
    at: DateTime<Utc>,
) -> chat_conversation::ActiveModel {
    chat_conversation::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        platform: Set(platform.as_str().to_owned()),
        conversation_ref: Set(conversation_ref.to_owned()),
        kind: Set(kind.as_str().to_owned()),
        account_id: Set(account_id),
        service_url: Set(service_url.map(str::to_owned)),
        state: Set(json!({})),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// A conversation made meanwhile is returned as it is.
fn conversation_made_meanwhile() -> OnConflict {
    use chat_conversation::Column as C;
    made_meanwhile([C::TenantId, C::Platform, C::ConversationRef])
}

/// Who wrote, and in which chat: what a platform's event names.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub tenant_id: Uuid,
    pub platform: Platform,
    /// The writer's id on the platform.
    pub external_id: &'a str,
    pub display_name: Option<&'a str>,
    /// The chat's id on the platform (a 1:1 chat's is the writer's on LINE).
    pub conversation_ref: &'a str,
    pub kind: ChatKind,
    /// Teams' `serviceUrl`, kept current on the conversation.
    pub service_url: Option<&'a str>,
}

/// A [`Sender`] that owns its fields (to hand to another task).
#[derive(Debug, Clone)]
pub struct NewChat {
    pub tenant_id: Uuid,
    pub platform: Platform,
    pub external_id: String,
    pub display_name: Option<String>,
    pub conversation_ref: String,
    pub kind: ChatKind,
    pub service_url: Option<String>,
}

impl NewChat {
    pub fn of(s: &Sender<'_>) -> Self {
        Self {
            tenant_id: s.tenant_id,
            platform: s.platform,
            external_id: s.external_id.to_owned(),
            display_name: s.display_name.map(str::to_owned),
            conversation_ref: s.conversation_ref.to_owned(),
            kind: s.kind,
            service_url: s.service_url.map(str::to_owned),
        }
    }

    pub fn sender(&self) -> Sender<'_> {
        Sender {
            tenant_id: self.tenant_id,
            platform: self.platform,
            external_id: &self.external_id,
            display_name: self.display_name.as_deref(),
            conversation_ref: &self.conversation_ref,
            kind: self.kind,
            service_url: self.service_url.as_deref(),
        }
    }
}

/// What is stored of a message's account and conversation (see [`find_account_and_conversation`]).
// Returned and matched at once, never stored: boxing the rows would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Found {
    /// Both, and the conversation's `serviceUrl` is current.
    Both(chat_account::Model, chat_conversation::Model),
    /// The account only, or a conversation whose `serviceUrl` moved.
    Account(chat_account::Model),
    /// Neither: the person's first message.
    Nothing,
}

/// Reads a message's account and conversation together, with one statement.
pub async fn find_account_and_conversation(
    read: &impl ConnectionTrait,
    s: &Sender<'_>,
) -> ServiceResult<Found> {
    let backend = read.get_database_backend();
    let stmt = sea_orm::Statement::from_sql_and_values(
        backend,
        account_and_conversation_sql(backend),
        [
            s.conversation_ref.into(),
            s.tenant_id.into(),
            s.platform.as_str().into(),
            s.external_id.into(),
        ],
    );
    let Some(row) = read.query_one_raw(stmt).await? else {
        return Ok(Found::Nothing);
    };
    let (account, conversation) = account_and_conversation_row(&row)?;
    Ok(match conversation {
        Some(c) if s.service_url.is_none() || c.service_url.as_deref() == s.service_url => {
            Found::Both(account, c)
        }
        _ => Found::Account(account),
    })
}

/// The accounts and conversations of first messages, made together: one multi-row statement
/// for the accounts and one for the conversations, where a message alone takes one each. With
/// hundreds of people writing to the bot for the first time at once (a school adding it), each
/// statement alone was a transaction of its own on SQLite's single writer. Messages of the same
/// person, or in the same chat, share their rows; a row made meanwhile is returned as it is
/// (as [`account_and_conversation`] does). In the order of `chats`.
pub async fn open_many(
    db: &impl ConnectionTrait,
    chats: &[Sender<'_>],
    at: DateTime<Utc>,
) -> ServiceResult<Vec<(chat_account::Model, chat_conversation::Model)>> {
    use std::collections::{HashMap, HashSet};
    if chats.is_empty() {
        return Ok(vec![]);
    }
    // Keys as stored: (tenant, platform, id on the platform).
    let person = |s: &Sender<'_>| {
        let platform = s.platform.as_str().to_owned();
        (s.tenant_id, platform, s.external_id.to_owned())
    };
    let mut seen = HashSet::new();
    let accounts: Vec<chat_account::ActiveModel> = chats
        .iter()
        .filter(|s| seen.insert(person(s)))
        .map(|s| account_row(s.tenant_id, s.platform, s.external_id, s.display_name, at))
        .collect();
    let accounts: HashMap<_, chat_account::Model> = chat_account::Entity::insert_many(accounts)
        .on_conflict(account_made_meanwhile())
        .exec_with_returning(db)
        .await?
        .into_iter()
        .map(|a| ((a.tenant_id, a.platform.clone(), a.external_id.clone()), a))
        .collect();
    let account_of = |s: &Sender<'_>| accounts.get(&person(s)).ok_or(ServiceError::NotFound);
    let chat = |s: &Sender<'_>| {
        let platform = s.platform.as_str().to_owned();
        (s.tenant_id, platform, s.conversation_ref.to_owned())
    };
    let mut seen = HashSet::new();
    let mut conversations = Vec::new();
    for s in chats.iter().filter(|s| seen.insert(chat(s))) {
        let owner = (s.kind == ChatKind::Personal)
            .then(|| account_of(s).map(|a| a.id))
            .transpose()?;
        conversations.push(conversation_row(
            s.tenant_id,
            s.platform,
            s.conversation_ref,
            s.kind,
            owner,
            s.service_url,
            at,
        ));
    }
    let conversations: HashMap<_, chat_conversation::Model> =
        chat_conversation::Entity::insert_many(conversations)
            .on_conflict(conversation_made_meanwhile())
            .exec_with_returning(db)
            .await?
            .into_iter()
            .map(|c| {
                (
                    (c.tenant_id, c.platform.clone(), c.conversation_ref.clone()),
                    c,
                )
            })
            .collect();
    chats
        .iter()
        .map(|s| {
            let a = account_of(s)?.clone();
            let c = conversations.get(&chat(s)).ok_or(ServiceError::NotFound)?;
            Ok((a, c.clone()))
        })
        .collect()
}

/// The account and the conversation of a message ([`account`], then [`conversation`], its
/// owner when it is a 1:1 chat). Both exist for all but a chat's first message, and are then
/// read together with one statement on the read pool: a chat turn's own reads are what most
/// of its database work is, with hundreds of them at once.
pub async fn account_and_conversation(
    db: &crate::Db,
    read: &impl ConnectionTrait,
    s: &Sender<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<(chat_account::Model, chat_conversation::Model)> {
    let account = match find_account_and_conversation(read, s).await? {
        Found::Both(account, c) => return Ok((account, c)),
        Found::Account(account) => account,
        // A first message: no account to look up again.
        Found::Nothing => {
            new_account(
                db,
                s.tenant_id,
                s.platform,
                s.external_id,
                s.display_name,
                at,
            )
            .await?
        }
    };
    let conversation = conversation_of(db, &account, s, at).await?;
    Ok((account, conversation))
}

/// The conversation of a message whose `account` is known ([`conversation`], its owner the
/// account when it is a 1:1 chat): made if new, its `serviceUrl` kept current.
pub async fn conversation_of(
    db: &crate::Db,
    account: &chat_account::Model,
    s: &Sender<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<chat_conversation::Model> {
    let owner = (s.kind == ChatKind::Personal).then_some(account.id);
    conversation(
        db,
        s.tenant_id,
        s.platform,
        s.conversation_ref,
        s.kind,
        owner,
        s.service_url,
        at,
    )
    .await
}

/// The columns [`account_and_conversation_sql`] selects, in the order
/// [`account_and_conversation_row`] reads them.
const ACCOUNT_COLUMNS: [chat_account::Column; 9] = {
    use chat_account::Column as A;
    [
        A::Id,
        A::TenantId,
        A::Platform,
        A::ExternalId,
        A::DisplayName,
        A::PersonId,
        A::LinkMethod,
        A::LinkedAt,
        A::CreatedAt,
    ]
};
const CONVERSATION_COLUMNS: [chat_conversation::Column; 10] = {
    use chat_conversation::Column as C;
    [
        C::Id,
        C::TenantId,
        C::Platform,
        C::ConversationRef,
        C::Kind,
        C::AccountId,
        C::ServiceUrl,
        C::State,
        C::CreatedAt,
        C::UpdatedAt,
    ]
};

/// `SELECT` an account and, when there is one, its conversation, by conversation ref, tenant,
/// platform and the account's external id: written once per backend (SeaORM built the same
/// query tree anew for every chat message).
fn account_and_conversation_sql(backend: sea_orm::DatabaseBackend) -> String {
    use sea_orm::{DatabaseBackend, IdenStatic as _};
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    let columns = |alias: &str, names: &[&str]| {
        names
            .iter()
            .map(|c| format!("{alias}.\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = |backend| {
        let p = |i| crate::db::placeholders(backend, i, 1);
        format!(
            "SELECT {}, {} FROM chat_accounts a LEFT JOIN chat_conversations c \
             ON c.tenant_id = a.tenant_id AND c.platform = a.platform AND c.conversation_ref = {} \
             WHERE a.tenant_id = {} AND a.platform = {} AND a.external_id = {} LIMIT 1",
            columns("a", &ACCOUNT_COLUMNS.map(|c| c.as_str())),
            columns("c", &CONVERSATION_COLUMNS.map(|c| c.as_str())),
            p(1),
            p(2),
            p(3),
            p(4),
        )
    };
    let [sqlite, postgres] =
        SQL.get_or_init(|| [sql(DatabaseBackend::Sqlite), sql(DatabaseBackend::Postgres)]);
    match backend {
        DatabaseBackend::Postgres => postgres.clone(),
        _ => sqlite.clone(),
    }
}

/// Reads a row of [`account_and_conversation_sql`] by position: by name SeaORM formats each
/// column's name and looks it up in the row, which cost more than the values (a chat turn
/// reads this row every time).
fn account_and_conversation_row(
    row: &sea_orm::QueryResult,
) -> Result<(chat_account::Model, Option<chat_conversation::Model>), sea_orm::DbErr> {
    let account = chat_account::Model {
        id: row.try_get_by_index(0)?,
        tenant_id: row.try_get_by_index(1)?,
        platform: row.try_get_by_index(2)?,
        external_id: row.try_get_by_index(3)?,
        display_name: row.try_get_by_index(4)?,
        person_id: row.try_get_by_index(5)?,
        link_method: row.try_get_by_index(6)?,
        linked_at: row.try_get_by_index(7)?,
        created_at: row.try_get_by_index(8)?,
    };
    const C: usize = ACCOUNT_COLUMNS.len();
    let conversation = match row.try_get_by_index::<Option<Uuid>>(C)? {
        None => None,
        Some(id) => Some(chat_conversation::Model {
            id,
            tenant_id: row.try_get_by_index(C + 1)?,
            platform: row.try_get_by_index(C + 2)?,
            conversation_ref: row.try_get_by_index(C + 3)?,
            kind: row.try_get_by_index(C + 4)?,
            account_id: row.try_get_by_index(C + 5)?,
            service_url: row.try_get_by_index(C + 6)?,
            state: row.try_get_by_index(C + 7)?,
            created_at: row.try_get_by_index(C + 8)?,
            updated_at: row.try_get_by_index(C + 9)?,
        }),
    };
    Ok((account, conversation))
}

/// The user behind an account: the linked person (if still active) acting as a requester.
pub async fn user(
    db: &impl ConnectionTrait,
    account: chat_account::Model,
) -> ServiceResult<ChatUser> {
    let person = match account.person_id {
        Some(pid) => {
            person::Entity::find_by_id(pid)
                .filter(person::Column::TenantId.eq(account.tenant_id))
                .filter(person::Column::Active.eq(true))
                .first(db)
                .await?
        }
        None => None,
    };
    let actor = person.as_ref().map(|p| Actor {
        person_id: p.id,
        tenant_id: p.tenant_id,
        roles: RoleSet::default().with(Role::Requester),
        vendor_id: None,
    });
    let audience = match person.as_ref().map(|p| p.kind) {
        Some(PersonKind::Teacher) => "teacher",
        Some(PersonKind::Student) => "student",
        _ => "staff",
    };
    Ok(ChatUser {
        account,
        person,
        actor,
        audience,
    })
}

/// Finds or creates a conversation (looked up on the read pool, like [`account`]), keeping
/// its Teams `serviceUrl` current.
#[allow(clippy::too_many_arguments)]
pub async fn conversation(
    db: &crate::Db,
    tenant_id: Uuid,
    platform: Platform,
    conversation_ref: &str,
    kind: ChatKind,
    account_id: Option<Uuid>,
    service_url: Option<&str>,
    at: DateTime<Utc>,
) -> ServiceResult<chat_conversation::Model> {
    let find = || {
        chat_conversation::Entity::find()
            .filter(chat_conversation::Column::TenantId.eq(tenant_id))
            .filter(chat_conversation::Column::Platform.eq(platform.as_str()))
            .filter(chat_conversation::Column::ConversationRef.eq(conversation_ref))
    };
    if let Some(c) = find().first(&db.read).await? {
        if service_url.is_some() && c.service_url.as_deref() != service_url {
            let mut a = c.into_active_model();
            a.service_url = Set(service_url.map(str::to_owned));
            return Ok(a.update(&db.write).await?);
        }
        return Ok(c);
    }
    let row = conversation_row(
        tenant_id,
        platform,
        conversation_ref,
        kind,
        account_id,
        service_url,
        at,
    );
    Ok(chat_conversation::Entity::insert(row)
        .on_conflict(conversation_made_meanwhile())
        .exec_with_returning(&db.write)
        .await?)
}

/// The dialog state of a conversation (a fresh one when the stored JSON is unreadable).
pub fn state_of(c: &chat_conversation::Model) -> DialogState {
    serde::Deserialize::deserialize(&c.state).unwrap_or_default()
}

/// The latest [`TRANSCRIPT_TURNS`] turns of a conversation, oldest first.
pub async fn transcript(
    db: &impl ConnectionTrait,
    conversation_id: Uuid,
) -> ServiceResult<Vec<Turn>> {
    let mut rows = chat_turn::Entity::find()
        .filter(chat_turn::Column::ConversationId.eq(conversation_id))
        .order_by_desc(chat_turn::Column::Id)
        .limit(TRANSCRIPT_TURNS)
        .all(db)
        .await?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(|r| Turn {
            at: r.at,
            speaker: r.speaker,
            text: r.text,
        })
        .collect())
}

/// Deletes the turns older than [`TURN_RETENTION_DAYS`]; returns how many.
pub async fn prune_turns(db: &impl ConnectionTrait, now: DateTime<Utc>) -> ServiceResult<u64> {
    Ok(chat_turn::Entity::delete_many()
        .filter(chat_turn::Column::At.lt(now - Duration::days(TURN_RETENTION_DAYS)))
        .exec(db)
        .await?
        .rows_affected)
}

/// Whether a conversation is a group chat (FAQ answers only).
pub fn is_group(c: &chat_conversation::Model) -> bool {
    c.kind == ChatKind::Group.as_str()
}

/// Stores the dialog state and appends turns.
pub async fn save(
    db: &impl ConnectionTrait,
    c: &chat_conversation::Model,
    state: &DialogState,
    turns: &[Turn],
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    save_many(db, &[&saved(c, state, turns)?], at).await
}

/// What [`save`] writes for a conversation: the new state and the turns to append, for
/// [`save_many`].
pub fn saved(
    c: &chat_conversation::Model,
    state: &DialogState,
    turns: &[Turn],
) -> ServiceResult<Saved> {
    Ok(Saved {
        conversation_id: c.id,
        tenant_id: c.tenant_id,
        state: serde_json::to_value(state).map_err(|e| ServiceError::Config(e.to_string()))?,
        turns: turns.to_vec(),
    })
}

/// A conversation's new state and its new turns, as [`saved`] computes them.
#[derive(Debug, Clone)]
pub struct Saved {
    pub conversation_id: Uuid,
    pub tenant_id: Uuid,
    pub state: Value,
    pub turns: Vec<Turn>,
}

/// Writes the turns of many conversations (a group commit's): the states of all with one
/// `UPDATE … FROM (VALUES …)` (the last one given for a conversation wins), the turns of all
/// with one multi-row insert. A statement a conversation was a round trip to SQLite's single
/// writer each, with the whole group waiting behind it.
pub async fn save_many(
    db: &impl ConnectionTrait,
    rows: &[&Saved],
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    let mut states: Vec<(Uuid, &Value)> = vec![];
    let mut turns: Vec<(Uuid, Uuid, &Turn)> = vec![];
    for row in rows {
        match states.iter_mut().find(|(id, _)| *id == row.conversation_id) {
            Some((_, state)) => *state = &row.state,
            None => states.push((row.conversation_id, &row.state)),
        }
        turns.extend(
            row.turns
                .iter()
                .map(|t| (row.tenant_id, row.conversation_id, t)),
        );
    }
    // SQLite allows 32,766 bound values in a statement; a state binds 2, a turn 5.
    for chunk in states.chunks(1_000) {
        update_states(db, chunk, at).await?;
    }
    for chunk in turns.chunks(1_000) {
        insert_turns(db, chunk).await?;
    }
    Ok(())
}

/// `UPDATE chat_conversations SET state = v.column2, updated_at = ? FROM (VALUES (id, state),
/// …) AS v WHERE id = v.column1` (SQLite ≥ 3.33 and PostgreSQL name a `VALUES` list's columns
/// `column1`, `column2`, … alike). States are bound as their JSON text (cast to `jsonb` on
/// PostgreSQL), as the driver would write them, without a copy of each tree to bind.
async fn update_states(
    db: &impl ConnectionTrait,
    states: &[(Uuid, &Value)],
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    if states.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(1 + 2 * states.len());
    values.push(at.into());
    let rows = (0..states.len())
        .map(|i| {
            let id = crate::db::placeholders(backend, 2 + 2 * i, 1);
            let state = crate::db::json_placeholder(backend, 3 + 2 * i);
            format!("({id}, {state})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    for (id, state) in states {
        values.push((*id).into());
        values.push(
            serde_json::to_string(state)
                .map_err(|e| ServiceError::Config(format!("dialog state: {e}")))?
                .into(),
        );
    }
    let sql = format!(
        "UPDATE chat_conversations SET state = v.column2, updated_at = {at} \
         FROM (VALUES {rows}) AS v WHERE chat_conversations.id = v.column1",
        at = crate::db::placeholders(backend, 1, 1),
    );
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await?;
    Ok(())
}

/// Appends turns (tenant, conversation, turn) with one statement.
async fn insert_turns(
    db: &impl ConnectionTrait,
    turns: &[(Uuid, Uuid, &Turn)],
) -> ServiceResult<()> {
    if turns.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(5 * turns.len());
    let rows = (0..turns.len())
        .map(|i| format!("({})", crate::db::placeholders(backend, 1 + 5 * i, 5)))
        .collect::<Vec<_>>()
        .join(", ");
    for (tenant, conversation, t) in turns {
        values.extend([
            (*tenant).into(),
            (*conversation).into(),
            t.speaker.as_str().into(),
            t.text.as_str().into(),
            t.at.into(),
        ]);
    }
    let sql = format!(
        "INSERT INTO chat_turns (tenant_id, conversation_id, speaker, text, at) VALUES {rows}"
    );
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
    .await?;
    Ok(())
}

/// What became of a request for a linking code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLink {
    /// A code was mailed when the address is registered (`code_id` is `None` when it is not;
    /// the user is told the same either way).
    Sent { code_id: Option<Uuid> },
    /// Too many codes asked for in the last hour.
    TooMany,
    /// The tenant has no helpdesk address to mail from.
    NoMail,
}

/// Mails a 6-digit linking code to `email` when it is a registered, active person of the
/// tenant. The code itself is never stored, only a salted hash.
pub async fn start_link(
    txn: &DatabaseTransaction,
    tenant: &tenant::Model,
    user: &ChatUser,
    email: &str,
    at: DateTime<Utc>,
) -> ServiceResult<StartLink> {
    let recent = chat_code::Entity::find()
        .filter(chat_code::Column::AccountId.eq(user.account.id))
        .filter(chat_code::Column::Purpose.eq("link"))
        .filter(chat_code::Column::CreatedAt.gt(at - Duration::hours(1)))
        .count(txn)
        .await?;
    if recent >= CODES_PER_HOUR {
        return Ok(StartLink::TooMany);
    }
    if tenant
        .helpdesk_email
        .as_deref()
        .is_none_or(|a| a.trim().is_empty())
    {
        return Ok(StartLink::NoMail);
    }
    let email = email.trim().to_lowercase();
    let Some(p) = person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant.id))
        .filter(person::Column::Email.eq(email.as_str()))
        .filter(person::Column::Active.eq(true))
        .first(txn)
        .await?
    else {
        tracing::info!(account = %user.account.id, "linking code asked for an unregistered address");
        return Ok(StartLink::Sent { code_id: None });
    };
    let (id, code) = issue_code(txn, tenant.id, user.account.id, p.id, "link", at).await?;
    let platform = Platform::parse(&user.account.platform).unwrap_or(Platform::Line);
    let (subject, body) = link_code_mail(tenant, &p, platform, &code, "ボットとのトーク");
    outbound::queue_personal(txn, tenant, &p.email, "link_code", subject, body, at).await?;
    Ok(StartLink::Sent { code_id: Some(id) })
}

/// Stores a new 6-digit one-time code for `person` (only its salted hash, valid for
/// [`CODE_MINUTES`]) and returns its id and the code to mail.
pub(crate) async fn issue_code(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    account_id: Uuid,
    person_id: Uuid,
    purpose: &str,
    at: DateTime<Utc>,
) -> ServiceResult<(Uuid, String)> {
    let id = Uuid::now_v7();
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    chat_code::Entity::insert(chat_code::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        account_id: Set(account_id),
        person_id: Set(person_id),
        purpose: Set(purpose.to_owned()),
        code_hash: Set(code_hash(id, &code)),
        tries: Set(0),
        expires_at: Set(at + Duration::minutes(CODE_MINUTES)),
        used_at: Set(None),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok((id, code))
}

/// Whether `entered` (digits, spaces and hyphens allowed) is the code of `row`, compared in
/// constant time.
pub(crate) fn code_matches(row: &chat_code::Model, entered: &str) -> bool {
    let entered: String = entered.chars().filter(char::is_ascii_digit).collect();
    constant_time_eq(
        code_hash(row.id, &entered).as_bytes(),
        row.code_hash.as_bytes(),
    )
}

fn link_code_mail(
    tenant: &tenant::Model,
    p: &person::Model,
    platform: Platform,
    code: &str,
    place: &str,
) -> (String, String) {
    let platform = platform.label();
    let subject = format!("【{}】{platform}連携の確認コード", tenant.name);
    let body = format!(
        "{} 様\n\n{platform}のヘルプデスクボットとの連携のため、確認コードをお送りします。\n\n確認コード: {code}\n\n{place}にこのコードを入力してください。有効期限は{CODE_MINUTES}分です。\nお心当たりのない場合は、このメールを破棄してください（連携は行われません）。\n\n――\n{} ヘルプデスク\n",
        p.display_name, tenant.name
    );
    (subject, body)
}

/// LINE account link, on madoguchi's sign-in page: mails a code to `email` when it is a
/// registered, active person's (at most [`CODES_PER_HOUR`] an hour). Returns the sign-in's id
/// either way, so the page does not tell who is registered.
pub async fn web_link_start(
    db: &impl ConnectionTrait,
    tenant: &tenant::Model,
    platform: Platform,
    email: &str,
    at: DateTime<Utc>,
) -> ServiceResult<Uuid> {
    let email = email.trim().to_lowercase();
    let p = person::Entity::find()
        .filter(person::Column::TenantId.eq(tenant.id))
        .filter(person::Column::Email.eq(email.as_str()))
        .filter(person::Column::Active.eq(true))
        .first(db)
        .await?;
    let recent = match &p {
        Some(p) => {
            link_nonce::Entity::find()
                .filter(link_nonce::Column::PersonId.eq(p.id))
                .filter(link_nonce::Column::CreatedAt.gt(at - Duration::hours(1)))
                .count(db)
                .await?
        }
        None => 0,
    };
    let id = Uuid::now_v7();
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let mail_it = p.as_ref().filter(|_| recent < CODES_PER_HOUR);
    link_nonce::Entity::insert(link_nonce::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.id),
        person_id: Set(mail_it.map(|p| p.id)),
        platform: Set(platform.as_str().to_owned()),
        code_hash: Set(code_hash(id, &code)),
        tries: Set(0),
        expires_at: Set(at + Duration::minutes(CODE_MINUTES)),
        nonce_hash: Set(None),
        used_at: Set(None),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    if let Some(p) = mail_it {
        let (subject, body) = link_code_mail(tenant, p, platform, &code, "連携のページ");
        outbound::queue_personal(db, tenant, &p.email, "link_code", subject, body, at).await?;
    }
    Ok(id)
}

/// What became of a code entered on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebLinkConfirm {
    /// Right: hand this nonce to LINE (kept only as a hash, valid for [`CODE_MINUTES`]).
    Nonce(crate::Secret),
    Wrong {
        left: i32,
    },
    Expired,
}

/// Checks the code of a sign-in and, when right, makes the nonce for LINE.
pub async fn web_link_confirm(
    db: &impl ConnectionTrait,
    id: Uuid,
    entered: &str,
    at: DateTime<Utc>,
) -> ServiceResult<WebLinkConfirm> {
    let Some(row) = link_nonce::Entity::find_by_id(id).first(db).await? else {
        return Ok(WebLinkConfirm::Expired);
    };
    if row.used_at.is_some()
        || row.nonce_hash.is_some()
        || row.expires_at <= at
        || row.tries >= CODE_TRIES
    {
        return Ok(WebLinkConfirm::Expired);
    }
    let entered: String = entered.chars().filter(char::is_ascii_digit).collect();
    let right = row.person_id.is_some()
        && constant_time_eq(
            code_hash(row.id, &entered).as_bytes(),
            row.code_hash.as_bytes(),
        );
    let mut a = row.clone().into_active_model();
    if !right {
        let tries = row.tries + 1;
        a.tries = Set(tries);
        a.update(db).await?;
        return Ok(if tries >= CODE_TRIES {
            WebLinkConfirm::Expired
        } else {
            WebLinkConfirm::Wrong {
                left: CODE_TRIES - tries,
            }
        });
    }
    let nonce: [u8; 24] = rand::random();
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    a.nonce_hash = Set(Some(code_hash(Uuid::nil(), &nonce)));
    a.expires_at = Set(at + Duration::minutes(CODE_MINUTES));
    a.update(db).await?;
    Ok(WebLinkConfirm::Nonce(crate::Secret::new(nonce)))
}

/// LINE's `accountLink` event with a nonce we issued: links the account to the person who
/// signed in. `None` for an unknown, used or expired nonce.
pub async fn web_link_finish(
    db: &impl ConnectionTrait,
    account: &chat_account::Model,
    nonce: &str,
    at: DateTime<Utc>,
) -> ServiceResult<Option<person::Model>> {
    let Some(row) = link_nonce::Entity::find()
        .filter(link_nonce::Column::NonceHash.eq(code_hash(Uuid::nil(), nonce)))
        .filter(link_nonce::Column::TenantId.eq(account.tenant_id))
        .first(db)
        .await?
    else {
        return Ok(None);
    };
    if row.used_at.is_some() || row.expires_at <= at {
        return Ok(None);
    }
    let Some(p) = (match row.person_id {
        Some(pid) => {
            person::Entity::find_by_id(pid)
                .filter(person::Column::Active.eq(true))
                .first(db)
                .await?
        }
        None => None,
    }) else {
        return Ok(None);
    };
    let mut a = row.into_active_model();
    a.used_at = Set(Some(at));
    a.update(db).await?;
    link(db, account, &p, "line_account_link", at).await?;
    Ok(Some(p))
}

/// What became of an entered code.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmLink {
    Linked(Box<person::Model>),
    /// Wrong; this many tries are left.
    Wrong {
        left: i32,
    },
    /// Out of time, or out of tries: ask for a new code.
    Expired,
}

/// Checks an entered linking code and links the account when it is right.
pub async fn confirm_link(
    txn: &DatabaseTransaction,
    user: &ChatUser,
    awaiting_code: Option<Uuid>,
    tries_so_far: i32,
    entered: &str,
    at: DateTime<Utc>,
) -> ServiceResult<ConfirmLink> {
    let wrong = |tries: i32| {
        if tries >= CODE_TRIES {
            ConfirmLink::Expired
        } else {
            ConfirmLink::Wrong {
                left: CODE_TRIES - tries,
            }
        }
    };
    let Some(code_id) = awaiting_code else {
        return Ok(wrong(tries_so_far + 1));
    };
    let Some(row) = chat_code::Entity::find_by_id(code_id)
        .filter(chat_code::Column::AccountId.eq(user.account.id))
        .filter(chat_code::Column::Purpose.eq("link"))
        .filter(chat_code::Column::UsedAt.is_null())
        .first(txn)
        .await?
    else {
        return Ok(ConfirmLink::Expired);
    };
    if row.expires_at <= at {
        return Ok(ConfirmLink::Expired);
    }
    if !code_matches(&row, entered) {
        let tries = row.tries + 1;
        let mut a = row.into_active_model();
        a.tries = Set(tries);
        if tries >= CODE_TRIES {
            a.used_at = Set(Some(at));
        }
        a.update(txn).await?;
        return Ok(wrong(tries));
    }
    let person_id = row.person_id;
    let mut a = row.into_active_model();
    a.used_at = Set(Some(at));
    a.update(txn).await?;
    let p = person::Entity::find_by_id(person_id)
        .filter(person::Column::Active.eq(true))
        .first(txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    link(txn, &user.account, &p, "mail_code", at).await?;
    Ok(ConfirmLink::Linked(Box::new(p)))
}

/// Links an account to a person (a proved link: a mailed code, LINE account link, or the
/// directory id Teams carries).
pub async fn link(
    db: &impl ConnectionTrait,
    account: &chat_account::Model,
    p: &person::Model,
    method: &str,
    at: DateTime<Utc>,
) -> ServiceResult<chat_account::Model> {
    if p.tenant_id != account.tenant_id {
        return Err(ServiceError::NotFound);
    }
    let mut a = account.clone().into_active_model();
    a.person_id = Set(Some(p.id));
    a.link_method = Set(Some(method.to_owned()));
    a.linked_at = Set(Some(at));
    let a = a.update(db).await?;
    tracing::info!(account = %a.id, person = %p.id, method, "chat account linked");
    Ok(a)
}

/// Removes an account's link (the person asked to, or the desk did).
pub async fn unlink(
    db: &impl ConnectionTrait,
    account: &chat_account::Model,
) -> ServiceResult<chat_account::Model> {
    let mut a = account.clone().into_active_model();
    a.person_id = Set(None);
    a.link_method = Set(None);
    a.linked_at = Set(None);
    Ok(a.update(db).await?)
}

fn code_hash(id: Uuid, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(code.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Opens an inquiry for a linked user from a chat, with the conversation's transcript, and
/// remembers the chat so the ticket's updates go back there.
pub async fn open_ticket(
    txn: &DatabaseTransaction,
    user: &ChatUser,
    c: &chat_conversation::Model,
    question: &str,
    transcript: &[Turn],
    at: DateTime<Utc>,
) -> ServiceResult<ticket::Model> {
    let actor = user
        .actor
        .as_ref()
        .ok_or(ServiceError::Forbidden("link the chat account first"))?;
    let platform = Platform::parse(&c.platform).unwrap_or(Platform::Line);
    let question = question.trim();
    let mut title: String = question
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(TITLE_CHARS)
        .collect();
    if title.trim().is_empty() {
        title = format!("{}からのお問い合わせ", platform.label());
    }
    let mut description = format!(
        "{}のボットから受け付けました。\n\n{question}\n\n― 会話の記録 ―\n",
        platform.label()
    );
    for t in transcript {
        let who = if t.speaker == "user" {
            "利用者"
        } else {
            "ボット"
        };
        let when = t.at.with_timezone(&tz::TOKYO).format("%m/%d %H:%M");
        description.push_str(&format!("[{when}] {who}: {}\n", t.text.replace('\n', " ")));
    }
    let description: String = description.chars().take(tickets::BODY_MAX).collect();
    let change = tickets::create_in(
        txn,
        actor,
        NewTicket::new(TicketKind::Inquiry, title, description),
        Some(platform.channel()),
        at,
    )
    .await?;
    chat_ticket_link::Entity::insert(chat_ticket_link::ActiveModel {
        ticket_id: Set(change.ticket.id),
        tenant_id: Set(change.ticket.tenant_id),
        conversation_id: Set(c.id),
        created_at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(change.ticket)
}

/// A ticket of the linked user by its number; `None` when there is none they may see.
pub async fn ticket_by_number(
    db: &impl ConnectionTrait,
    user: &ChatUser,
    number: &str,
) -> ServiceResult<Option<ticket::Model>> {
    let Some(actor) = &user.actor else {
        return Ok(None);
    };
    match tickets::get_by_number(db, actor, number).await {
        Ok(t) => Ok(Some(t)),
        Err(ServiceError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The linked user's latest tickets, open ones first.
pub async fn my_tickets(
    db: &impl ConnectionTrait,
    user: &ChatUser,
    limit: u64,
) -> ServiceResult<Vec<ticket::Model>> {
    let Some(actor) = &user.actor else {
        return Ok(vec![]);
    };
    let mut rows = ticket::Entity::find()
        .filter(ticket::Column::TenantId.eq(actor.tenant_id))
        .filter(ticket::Column::RequesterId.eq(actor.person_id))
        .order_by_desc(ticket::Column::CreatedAt)
        .limit(limit * 4)
        .all(db)
        .await?;
    rows.sort_by_key(|t| {
        (
            matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed),
            std::cmp::Reverse(t.created_at),
        )
    });
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(rows)
}

/// A published FAQ article the user may read.
pub async fn faq_article(
    db: &impl ConnectionTrait,
    user: &ChatUser,
    id: Uuid,
) -> ServiceResult<Option<faq_article::Model>> {
    // The audience is checked here rather than with `LIKE ?` in SQL: SQLite re-prepares a
    // statement whose LIKE pattern is a bound parameter every time it is bound.
    Ok(faq_article::Entity::find_by_id(id)
        .filter(faq_article::Column::TenantId.eq(user.account.tenant_id))
        .filter(faq_article::Column::Status.eq(FaqStatus::Published))
        .first(db)
        .await?
        .filter(|a| a.audience.split(',').any(|x| x == user.audience)))
}

/// Records a 「解決した／解決しない」 vote on an article.
pub async fn vote(
    txn: &DatabaseTransaction,
    user: &ChatUser,
    id: Uuid,
    helpful: bool,
) -> ServiceResult<Option<faq_article::Model>> {
    let Some(a) = faq_article(txn, user, id).await? else {
        return Ok(None);
    };
    Ok(Some(
        crate::faq::vote_on(txn, a, &user.voter(), helpful).await?,
    ))
}

/// Why a ticket's chat hears from us.
#[derive(Debug, Clone)]
pub enum Notice<'a> {
    Comment { body: &'a str },
    Resolved { note: Option<&'a str> },
}

/// The text of a ticket update, in Japanese.
pub fn notice_text(t: &ticket::Model, notice: &Notice<'_>) -> String {
    match notice {
        Notice::Comment { body } => {
            format!("【{}】担当者からの回答です。\n\n{}", t.number, body.trim())
        }
        Notice::Resolved { note } => {
            let note = note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| format!("\n\n{n}"))
                .unwrap_or_default();
            format!(
                "【{}】「{}」の対応を完了しました。{note}\n\n解決していない場合は、このトークで「{} 再開」と送ってください。",
                t.number, t.title, t.number
            )
        }
    }
}

/// Queues a ticket update to the chat the ticket came from (in the change's transaction);
/// nothing when it came from elsewhere or the user blocked the bot.
pub async fn notify(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    notice: Notice<'_>,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    if !matches!(t.channel, Channel::Line | Channel::Teams) {
        return Ok(());
    }
    let Some(l) = chat_ticket_link::Entity::find_by_id(t.id).first(db).await? else {
        return Ok(());
    };
    let Some(c) = chat_conversation::Entity::find_by_id(l.conversation_id)
        .first(db)
        .await?
    else {
        return Ok(());
    };
    if state_of(&c).blocked {
        return Ok(());
    }
    let id = Uuid::now_v7();
    jobs::enqueue(
        db,
        NewJob {
            tenant_id: Some(t.tenant_id),
            kind: NOTICE_JOB,
            dedupe_key: id.to_string(),
            payload:
                json!({ "conversationId": c.id, "ticketId": t.id, "text": notice_text(t, &notice) })
                    .into(),
            max_attempts: 20,
        },
        at,
    )
    .await
}

/// Loads a conversation by id.
pub async fn conversation_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> ServiceResult<Option<chat_conversation::Model>> {
    Ok(chat_conversation::Entity::find_by_id(id).first(db).await?)
}

/// Accounts linked to a person (for the desk, and for tests).
pub async fn accounts_of(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    person_id: Uuid,
) -> ServiceResult<Vec<chat_account::Model>> {
    Ok(chat_account::Entity::find()
        .filter(
            Condition::all()
                .add(chat_account::Column::TenantId.eq(tenant_id))
                .add(chat_account::Column::PersonId.eq(person_id)),
        )
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_and_conversation_row_is_read_in_the_entities_column_order() {
        use sea_orm::{IdenStatic as _, Iterable as _};
        assert_eq!(
            ACCOUNT_COLUMNS.map(|c| c.as_str()).to_vec(),
            chat_account::Column::iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            CONVERSATION_COLUMNS.map(|c| c.as_str()).to_vec(),
            chat_conversation::Column::iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn dialog_state_round_trips_and_defaults_from_empty_json() {
        let s = DialogState {
            awaiting: Awaiting::LinkCode {
                code_id: Some(Uuid::nil()),
                tries: 1,
            },
            last_question: Some("プリンタが使えない".to_owned()),
            shown: vec![Uuid::nil()],
            blocked: false,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["awaiting"]["kind"], "link_code");
        assert_eq!(serde_json::from_value::<DialogState>(v).unwrap(), s);
        assert_eq!(
            serde_json::from_value::<DialogState>(json!({})).unwrap(),
            DialogState::default()
        );
    }

    #[test]
    fn code_hashes_depend_on_the_id_and_compare_in_constant_time() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(code_hash(a, "123456"), code_hash(b, "123456"));
        assert!(constant_time_eq(
            code_hash(a, "123456").as_bytes(),
            code_hash(a, "123456").as_bytes()
        ));
        assert!(!constant_time_eq(
            code_hash(a, "123456").as_bytes(),
            code_hash(a, "123457").as_bytes()
        ));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
