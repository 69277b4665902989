//! The bot's dialog, the same on every platform: what to answer to a message or a button.
//!
//! A turn runs in two phases so the single SQLite writer is never held during a search:
//! [`plan`] reads and searches (no writes), [`apply`] does the writes (votes, linking, a
//! ticket, the new state and transcript) in the caller's transaction, with the job that
//! sends the replies and the completion of the event's own job. A crash in between redoes
//! the turn; nothing is written twice.

use chrono::{DateTime, Utc};
use entity::{chat_conversation, tenant, ticket};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use service::ServiceResult;
use service::chat::{self, Awaiting, ChatUser, ConfirmLink, DialogState, StartLink, Turn};
use service::reset::{self, ConfirmReset, ResetPolicy, StartReset};
use service::search::{Confidence, Marks, Search, Suggestions};
use uuid::Uuid;

/// FAQ articles offered when the search is not sure.
pub const CHOICES: usize = 3;
/// Tickets shown for "私の問い合わせ".
const MY_TICKETS: u64 = 5;

/// Something the user can press. Platforms render these as quick replies, Flex buttons or
/// Adaptive Card `Action.Submit`s, and hand the [`Command`] back when pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: String,
    pub command: Command,
    /// Opens this page instead of sending the command (LINE's account-link page).
    pub url: Option<String>,
}

impl Action {
    pub fn new(label: &str, command: Command) -> Self {
        Self {
            label: label.to_owned(),
            command,
            url: None,
        }
    }

    /// A button that opens a page.
    pub fn open(label: &str, url: String) -> Self {
        Self {
            label: label.to_owned(),
            command: Command::Link,
            url: Some(url),
        }
    }
}

/// What a button asks for. Encoded into the platform's postback data (LINE allows 300
/// characters; the longest here is 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Show this FAQ article.
    Show(Uuid),
    /// 解決した / 解決しない.
    Vote { faq: Uuid, helpful: bool },
    /// Open a ticket with the conversation.
    OpenTicket,
    /// Link this chat account to a person.
    Link,
    /// Show my tickets.
    MyTickets,
    /// Stop what the dialog waits for.
    Cancel,
}

impl Command {
    /// The wire form (`show:<uuid>`, `vote:<uuid>:1`, `ticket`, `link`, `mine`, `cancel`).
    pub fn encode(&self) -> String {
        match self {
            Command::Show(id) => format!("show:{id}"),
            Command::Vote { faq, helpful } => format!("vote:{faq}:{}", u8::from(*helpful)),
            Command::OpenTicket => "ticket".to_owned(),
            Command::Link => "link".to_owned(),
            Command::MyTickets => "mine".to_owned(),
            Command::Cancel => "cancel".to_owned(),
        }
    }

    /// Parses the wire form; `None` for anything else (a forged or stale postback).
    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.split(':');
        let cmd = match (parts.next()?, parts.next(), parts.next()) {
            ("show", Some(id), None) => Command::Show(id.parse().ok()?),
            ("vote", Some(id), Some(h @ ("0" | "1"))) => Command::Vote {
                faq: id.parse().ok()?,
                helpful: h == "1",
            },
            ("ticket", None, None) => Command::OpenTicket,
            ("link", None, None) => Command::Link,
            ("mine", None, None) => Command::MyTickets,
            ("cancel", None, None) => Command::Cancel,
            _ => return None,
        };
        parts.next().is_none().then_some(cmd)
    }
}

/// What the bot says, before a platform renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text {
        text: String,
        actions: Vec<Action>,
    },
    /// An FAQ answer card.
    Answer {
        faq: Uuid,
        question: String,
        answer: String,
        actions: Vec<Action>,
    },
    /// FAQ articles to choose from.
    Choices {
        intro: String,
        options: Vec<(Uuid, String)>,
        actions: Vec<Action>,
    },
}

impl Reply {
    fn text(text: impl Into<String>) -> Self {
        Reply::Text {
            text: text.into(),
            actions: vec![],
        }
    }

    fn with(text: impl Into<String>, actions: Vec<Action>) -> Self {
        Reply::Text {
            text: text.into(),
            actions,
        }
    }

    /// The plain text of the reply (the transcript, and platforms' alternative text).
    pub fn plain(&self) -> String {
        match self {
            Reply::Text { text, .. } => text.clone(),
            Reply::Answer {
                question, answer, ..
            } => format!("{question}\n{answer}"),
            Reply::Choices { intro, options, .. } => {
                let mut s = intro.clone();
                for (i, (_, q)) in options.iter().enumerate() {
                    s.push_str(&format!("\n{}. {q}", i + 1));
                }
                s
            }
        }
    }
}

/// What came in, platform-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// A button was pressed (with the label the user saw, for the transcript).
    Command {
        command: Command,
        label: Option<String>,
    },
    /// A message the bot cannot read (a sticker, an image).
    Unsupported,
    /// The user added the bot (LINE follow, Teams conversationUpdate).
    Follow,
    /// The user blocked the bot (LINE unfollow).
    Unfollow,
    /// LINE's account link came back (`accountLink`): the nonce we issued on the sign-in page.
    AccountLinked {
        nonce: Option<String>,
    },
}

/// Whether the input asks to link the account (the worker fetches LINE's link token for it).
pub fn wants_link(input: &Input) -> bool {
    match input {
        Input::Command {
            command: Command::Link,
            ..
        } => true,
        Input::Text(t) => is_link(&fold(t)),
        _ => false,
    }
}

/// What [`apply`] must do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    None,
    Vote {
        faq: Uuid,
        helpful: bool,
        then_ticket: bool,
    },
    StartLink {
        email: String,
    },
    ConfirmLink {
        code_id: Option<Uuid>,
        tries: i32,
        entered: String,
    },
    OpenTicket {
        question: String,
    },
    /// Reset the user's own password, or (a teacher) a student's named by mail or number.
    StartReset {
        target: Option<String>,
    },
    ConfirmReset {
        reset_id: Uuid,
        entered: String,
    },
    FinishWebLink {
        nonce: String,
    },
}

/// A planned turn.
#[derive(Debug, Clone)]
pub struct Plan {
    effect: Effect,
    replies: Vec<Reply>,
    state: DialogState,
    user_text: Option<String>,
}

/// Everything a turn needs to read.
pub struct Turnin<'a, C: ConnectionTrait> {
    pub db: &'a C,
    pub search: &'a Search,
    pub conversation: &'a chat_conversation::Model,
    pub user: &'a ChatUser,
    /// Whether the tenant offers password resets in chat.
    pub reset_enabled: bool,
    /// LINE: the account-link sign-in page for this user (with a fresh link token), offered
    /// beside linking by a code in the chat.
    pub link_url: Option<String>,
}

/// What [`apply`] needs besides the plan.
pub struct Setup<'a> {
    /// The tenant's reset rules, when it offers resets.
    pub reset: Option<&'a ResetPolicy>,
    /// The server's public base URL (`https://helpdesk.example.jp`), for reset links.
    pub public_url: &'a str,
}

/// Decides the turn: reads and searches, writes nothing.
pub async fn plan<C: ConnectionTrait>(t: &Turnin<'_, C>, input: Input) -> ServiceResult<Plan> {
    let mut state = chat::state_of(t.conversation);
    let group = chat::is_group(t.conversation);
    let mut user_text = None;
    let (effect, replies) = match input {
        Input::Follow => {
            state = DialogState::default();
            (Effect::None, vec![greeting(t.user)])
        }
        Input::Unfollow => {
            state.blocked = true;
            state.awaiting = Awaiting::Nothing;
            (Effect::None, vec![])
        }
        Input::AccountLinked { nonce: Some(nonce) } if !group => {
            (Effect::FinishWebLink { nonce }, vec![])
        }
        Input::AccountLinked { .. } => (
            Effect::None,
            vec![Reply::text(
                "アカウント連携ができませんでした。もう一度「連携」と送ってお試しください。",
            )],
        ),
        Input::Unsupported => (
            Effect::None,
            vec![Reply::text(
                "申し訳ありません。文字で入力していただくと、FAQからお答えします。",
            )],
        ),
        Input::Command { command, label } => {
            user_text = label;
            on_command(t, &mut state, group, command).await?
        }
        Input::Text(text) => {
            let text = text.trim().to_owned();
            user_text = Some(text.clone());
            on_text(t, &mut state, group, text).await?
        }
    };
    Ok(Plan {
        effect,
        replies,
        state,
        user_text,
    })
}

async fn on_command<C: ConnectionTrait>(
    t: &Turnin<'_, C>,
    state: &mut DialogState,
    group: bool,
    command: Command,
) -> ServiceResult<(Effect, Vec<Reply>)> {
    Ok(match command {
        Command::Show(id) => match chat::faq_article(t.db, t.user, id).await? {
            Some(a) => (
                Effect::None,
                vec![answer_card(a.id, a.question, a.answer, group)],
            ),
            None => (
                Effect::None,
                vec![Reply::text(
                    "そのFAQは現在公開されていません。もう一度ご質問ください。",
                )],
            ),
        },
        Command::Vote { faq, helpful } if !group => {
            let then_ticket = !helpful && t.user.actor.is_some() && state.last_question.is_some();
            let mut replies = vec![];
            if helpful {
                replies.push(Reply::text(
                    "解決してよかったです。ほかにもご不明な点があれば、いつでもどうぞ。",
                ));
            } else if t.user.actor.is_none() {
                replies.push(link_first("担当者へのお問い合わせ"));
            } else if state.last_question.is_none() {
                replies.push(Reply::text("お困りの内容を、もう一度文章で送ってください。担当者にお問い合わせとしてお送りします。"));
            }
            (
                Effect::Vote {
                    faq,
                    helpful,
                    then_ticket,
                },
                replies,
            )
        }
        Command::Vote { .. } => (Effect::None, vec![]),
        Command::OpenTicket => open_ticket(t, state, group),
        Command::Link if group => (Effect::None, vec![personal_only()]),
        Command::Link => {
            if let Some(p) = &t.user.person {
                (
                    Effect::None,
                    vec![Reply::text(format!(
                        "すでに {} さんとして連携済みです。",
                        p.display_name
                    ))],
                )
            } else {
                state.awaiting = Awaiting::LinkEmail;
                let mut ask = ask_email();
                if let (Some(url), Reply::Text { text, actions }) = (&t.link_url, &mut ask) {
                    text.push_str("\nブラウザで連携することもできます。");
                    actions.insert(0, Action::open("ブラウザで連携", url.clone()));
                }
                (Effect::None, vec![ask])
            }
        }
        Command::MyTickets if group => (Effect::None, vec![personal_only()]),
        Command::MyTickets => (Effect::None, vec![my_tickets(t).await?]),
        Command::Cancel => {
            state.awaiting = Awaiting::Nothing;
            (
                Effect::None,
                vec![Reply::text("取り消しました。ご質問をどうぞ。")],
            )
        }
    })
}

async fn on_text<C: ConnectionTrait>(
    t: &Turnin<'_, C>,
    state: &mut DialogState,
    group: bool,
    text: String,
) -> ServiceResult<(Effect, Vec<Reply>)> {
    let folded = fold(&text);
    if text.is_empty() {
        return Ok((
            Effect::None,
            vec![Reply::text("ご質問を文章で送ってください。")],
        ));
    }
    if is_cancel(&folded) && state.awaiting != Awaiting::Nothing {
        state.awaiting = Awaiting::Nothing;
        return Ok((
            Effect::None,
            vec![Reply::text("取り消しました。ご質問をどうぞ。")],
        ));
    }
    match state.awaiting.clone() {
        Awaiting::LinkEmail if looks_like_email(&folded) => {
            return Ok((Effect::StartLink { email: folded }, vec![]));
        }
        Awaiting::LinkEmail => {
            return Ok((
                Effect::None,
                vec![Reply::with(
                    "メールアドレスの形式ではないようです。登録されている職場のメールアドレスを送ってください。",
                    vec![Action::new("やめる", Command::Cancel)],
                )],
            ));
        }
        Awaiting::LinkCode { code_id, tries } if is_code(&folded) => {
            return Ok((
                Effect::ConfirmLink {
                    code_id,
                    tries,
                    entered: folded,
                },
                vec![],
            ));
        }
        Awaiting::ResetCode { reset_id } if is_code(&folded) => {
            return Ok((
                Effect::ConfirmReset {
                    reset_id,
                    entered: folded,
                },
                vec![],
            ));
        }
        Awaiting::LinkCode { .. } | Awaiting::ResetCode { .. } | Awaiting::Nothing => {}
    }
    if !group && t.reset_enabled && is_reset(&folded) {
        if t.user.actor.is_none() {
            return Ok((Effect::None, vec![link_first("パスワードの再設定")]));
        }
        return Ok(match reset_target(&folded) {
            Ok(target) => (Effect::StartReset { target }, vec![]),
            Err(()) => (
                Effect::None,
                vec![Reply::text(
                    "生徒のパスワードを再設定するときは、「生徒のパスワードリセット s2026001」のように、生徒のメールアドレスか番号を付けて送ってください。",
                )],
            ),
        });
    }
    if !group {
        if let Some(number) = ticket_number(&folded) {
            return Ok((Effect::None, vec![ticket_status(t, &number).await?]));
        }
        if is_my_tickets(&folded) {
            return Ok((Effect::None, vec![my_tickets(t).await?]));
        }
        if is_link(&folded) {
            return on_command(t, state, group, Command::Link).await;
        }
        if is_ticket_request(&folded) {
            return Ok(open_ticket(t, state, group));
        }
    }
    if is_help(&folded) {
        return Ok((Effect::None, vec![greeting(t.user)]));
    }
    // A question: the same search `bench/faq-eval` measures.
    state.awaiting = Awaiting::Nothing;
    let s = suggest(t, &text).await?;
    state.last_question = Some(text);
    state.shown = s
        .hits
        .iter()
        .filter_map(|h| h.id.parse().ok())
        .take(CHOICES)
        .collect();
    let reply = match s.confidence {
        Confidence::Answer => match first_article(t, &state.shown).await? {
            Some(a) => answer_card(a.id, a.question, a.answer, group),
            None => decline(group),
        },
        Confidence::Choose => {
            let options: Vec<(Uuid, String)> = s
                .hits
                .iter()
                .take(CHOICES)
                .filter_map(|h| Some((h.id.parse().ok()?, h.title.clone())))
                .collect();
            let actions = if group {
                vec![]
            } else {
                vec![Action::new("どれも違う", Command::OpenTicket)]
            };
            Reply::Choices {
                intro: "次のFAQが近いかもしれません。当てはまるものを選んでください。".to_owned(),
                options,
                actions,
            }
        }
        Confidence::Decline => decline(group),
    };
    Ok((Effect::None, vec![reply]))
}

/// The answer to a question asked in a Teams channel through an outgoing webhook (answered in
/// the same HTTP response, FAQ only, for nobody in particular), as Markdown.
pub async fn channel_answer<C: ConnectionTrait>(
    db: &C,
    search: &Search,
    tenant_id: Uuid,
    text: &str,
) -> ServiceResult<String> {
    let text: String = text
        .chars()
        .take(service::search::MAX_QUERY_CHARS)
        .collect();
    if text.trim().is_empty() {
        return Ok("ご質問を文章で送ってください。".to_owned());
    }
    let s = search
        .suggested_answers_for_guest(db, tenant_id, "staff", &text, Marks::None)
        .await?;
    let user_tenant = |id: &str| id.parse::<Uuid>().ok();
    Ok(match s.confidence {
        Confidence::Answer => {
            let article = match s.hits.first().and_then(|h| user_tenant(&h.id)) {
                Some(id) => entity::faq_article::Entity::find_by_id(id)
                    .filter(entity::faq_article::Column::TenantId.eq(tenant_id))
                    .one(db)
                    .await?,
                None => None,
            };
            match article {
                Some(a) => format!("**{}**\n\n{}", a.question, a.answer),
                None => "申し訳ありません。FAQからは分かりませんでした。".to_owned(),
            }
        }
        Confidence::Choose => {
            let mut out = "次のFAQが近いかもしれません。".to_owned();
            for (i, h) in s.hits.iter().take(CHOICES).enumerate() {
                out.push_str(&format!("\n\n{}. {}", i + 1, h.title));
            }
            out.push_str("\n\n詳しくは、ボットとの個別のチャットで番号の質問を送ってください。");
            out
        }
        Confidence::Decline => "申し訳ありません。FAQからは分かりませんでした。ボットとの個別のチャットでお問い合わせいただけます。".to_owned(),
    })
}

/// Applies the turn in the caller's transaction and returns the replies to send.
pub async fn apply(
    txn: &DatabaseTransaction,
    setup: &Setup<'_>,
    tenant: &tenant::Model,
    conversation: &chat_conversation::Model,
    user: &ChatUser,
    plan: Plan,
    at: DateTime<Utc>,
) -> ServiceResult<Vec<Reply>> {
    let Plan {
        effect,
        mut replies,
        mut state,
        mut user_text,
    } = plan;
    if matches!(
        effect,
        Effect::ConfirmLink { .. } | Effect::ConfirmReset { .. }
    ) {
        // A one-time code is never kept, not even in the transcript.
        user_text = Some("（確認コードを入力）".to_owned());
    }
    // A reset link is sent, but the transcript keeps only that one was.
    let mut secret_link: Option<String> = None;
    match effect {
        Effect::None => {}
        Effect::Vote {
            faq,
            helpful,
            then_ticket,
        } => {
            if chat::vote(txn, user, faq, helpful).await?.is_some() && then_ticket {
                replies.push(
                    create_ticket(
                        txn,
                        user,
                        conversation,
                        &mut state,
                        user_text.as_deref(),
                        at,
                    )
                    .await?,
                );
            }
        }
        Effect::StartLink { email } => {
            let reply = match chat::start_link(txn, tenant, user, &email, at).await? {
                StartLink::Sent { code_id } => {
                    state.awaiting = Awaiting::LinkCode { code_id, tries: 0 };
                    Reply::with(
                        format!(
                            "登録されているアドレスであれば、6桁の確認コードをメールでお送りしました。届いたコードをこのトークに入力してください（有効期限{}分）。",
                            chat::CODE_MINUTES
                        ),
                        vec![Action::new("やめる", Command::Cancel)],
                    )
                }
                StartLink::TooMany => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::text(
                        "確認コードの送信回数が上限に達しました。1時間ほどおいてから、もう一度お試しください。",
                    )
                }
                StartLink::NoMail => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::text(
                        "現在、メールでの確認ができません。ヘルプデスクにお電話でお問い合わせください。",
                    )
                }
            };
            replies.push(reply);
        }
        Effect::ConfirmLink {
            code_id,
            tries,
            entered,
        } => {
            let reply = match chat::confirm_link(txn, user, code_id, tries, &entered, at).await? {
                ConfirmLink::Linked(p) => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::with(
                        format!(
                            "{} さんとして連携しました。お問い合わせの登録や状況の確認ができるようになりました。",
                            p.display_name
                        ),
                        vec![Action::new("私の問い合わせ", Command::MyTickets)],
                    )
                }
                ConfirmLink::Wrong { left } => {
                    state.awaiting = Awaiting::LinkCode {
                        code_id,
                        tries: tries + 1,
                    };
                    Reply::with(
                        format!("確認コードが違います。あと{left}回入力できます。"),
                        vec![Action::new("やめる", Command::Cancel)],
                    )
                }
                ConfirmLink::Expired => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::with(
                        "確認コードが無効になりました（期限切れ、または入力の回数を超えました）。もう一度お試しください。",
                        vec![Action::new("アカウント連携", Command::Link)],
                    )
                }
            };
            replies.push(reply);
        }
        Effect::OpenTicket { question } => {
            replies.push(
                create_ticket(txn, user, conversation, &mut state, Some(&question), at).await?,
            );
        }
        Effect::FinishWebLink { nonce } => {
            let reply = match chat::web_link_finish(txn, &user.account, &nonce, at).await? {
                Some(p) => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::with(
                        format!(
                            "{} さんとして連携しました。お問い合わせの登録や状況の確認ができるようになりました。",
                            p.display_name
                        ),
                        vec![Action::new("私の問い合わせ", Command::MyTickets)],
                    )
                }
                None => Reply::text(
                    "アカウント連携の有効期限が切れたか、すでに使われています。もう一度「連携」と送ってください。",
                ),
            };
            replies.push(reply);
        }
        Effect::StartReset { target } => {
            replies.push(
                start_reset(
                    txn,
                    setup,
                    tenant,
                    conversation,
                    user,
                    &mut state,
                    target.as_deref(),
                    at,
                )
                .await?,
            );
        }
        Effect::ConfirmReset { reset_id, entered } => {
            let reply = match reset::confirm_code(txn, user, reset_id, &entered, at).await? {
                ConfirmReset::Link { token, expires_at } => {
                    state.awaiting = Awaiting::Nothing;
                    let url = format!(
                        "{}/reset/{}",
                        setup.public_url.trim_end_matches('/'),
                        token.expose()
                    );
                    secret_link = Some(url.clone());
                    let until = expires_at
                        .with_timezone(&service::tz::TOKYO)
                        .format("%H:%M");
                    Reply::text(format!(
                        "確認できました。次のリンクを開いて、新しいパスワードを設定してください（{until}まで・1回限り有効）。\nパスワードはこのトークには入力しないでください。\n\n{url}"
                    ))
                }
                ConfirmReset::Wrong { left } => Reply::with(
                    format!("確認コードが違います。あと{left}回入力できます。"),
                    vec![Action::new("やめる", Command::Cancel)],
                ),
                ConfirmReset::Locked => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::text(format!(
                        "確認コードの誤りが続いたため、パスワードの再設定を停止しました。{}分ほどおいてから、もう一度お試しください。",
                        reset::LOCK_MINUTES
                    ))
                }
                ConfirmReset::Expired => {
                    state.awaiting = Awaiting::Nothing;
                    Reply::text(
                        "確認コードの有効期限が切れました。もう一度「パスワードリセット」と送ってください。",
                    )
                }
            };
            replies.push(reply);
        }
    }
    let turns = transcript_turns(user_text, &replies, secret_link.as_deref(), at);
    chat::save(txn, conversation, &state, &turns, at).await?;
    Ok(replies)
}

/// The turns a transcript keeps: what the user said and the replies as plain text, with a
/// reset link replaced by a mention of it.
fn transcript_turns(
    user_text: Option<String>,
    replies: &[Reply],
    secret_link: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<Turn> {
    let mut turns = vec![];
    if let Some(text) = user_text {
        turns.push(Turn::user(text, at));
    }
    turns.extend(replies.iter().map(|r| {
        let text = r.plain();
        let text = match secret_link {
            Some(link) => text.replace(link, "（再設定用リンク）"),
            None => text,
        };
        Turn::bot(text, at)
    }));
    turns
}

/// A turn whose only write is its conversation's row (an FAQ answer, a ticket's status, a
/// menu: most turns), for the worker to commit together with other conversations' turns.
#[derive(Debug, Clone)]
pub struct PlainTurn {
    /// The conversation's new state and transcript.
    pub saved: chat::Saved,
    pub replies: Vec<Reply>,
}

impl Plan {
    /// This plan as a [`PlainTurn`], when its effect writes nothing else; the plan back
    /// otherwise, for [`apply`].
    #[allow(clippy::result_large_err)]
    pub fn into_plain(
        self,
        conversation: &chat_conversation::Model,
        at: DateTime<Utc>,
    ) -> ServiceResult<Result<PlainTurn, Plan>> {
        if self.effect != Effect::None {
            return Ok(Err(self));
        }
        let turns = transcript_turns(self.user_text, &self.replies, None, at);
        Ok(Ok(PlainTurn {
            saved: chat::saved(conversation, &self.state, &turns)?,
            replies: self.replies,
        }))
    }
}

#[allow(clippy::too_many_arguments)]
async fn start_reset(
    txn: &DatabaseTransaction,
    setup: &Setup<'_>,
    tenant: &tenant::Model,
    conversation: &chat_conversation::Model,
    user: &ChatUser,
    state: &mut DialogState,
    target: Option<&str>,
    at: DateTime<Utc>,
) -> ServiceResult<Reply> {
    let (Some(policy), Some(me)) = (setup.reset, user.person.as_ref()) else {
        return Ok(Reply::text(
            "ボットでのパスワード再設定は利用できません。ヘルプデスクにお問い合わせください。",
        ));
    };
    let target = match target {
        None => me.clone(),
        Some(who) => match reset::find_person(txn, tenant.id, who).await? {
            Some(p) => p,
            None => {
                return Ok(Reply::text(format!(
                    "「{who}」に当たる方が見つかりませんでした。メールアドレスか番号をご確認ください。"
                )));
            }
        },
    };
    Ok(
        match reset::start(txn, tenant, policy, user, conversation.id, &target, at).await? {
            StartReset::CodeSent { reset_id } => {
                state.awaiting = Awaiting::ResetCode { reset_id };
                let whose = if target.id == me.id {
                    String::new()
                } else {
                    format!("{} さんの", target.display_name)
                };
                Reply::with(
                    format!(
                        "{whose}パスワードを再設定します。ご本人確認のため、登録されているメールアドレスに6桁の確認コードをお送りしました。このトークに入力してください（有効期限{}分）。",
                        reset::CODE_MINUTES
                    ),
                    vec![Action::new("やめる", Command::Cancel)],
                )
            }
            StartReset::TooMany => Reply::text(
                "本日のパスワード再設定の回数の上限に達しました。ヘルプデスクにお問い合わせください。",
            ),
            StartReset::Locked => Reply::text(format!(
                "確認コードの誤りが続いたため、しばらく再設定できません。{}分ほどおいてから、もう一度お試しください。",
                reset::LOCK_MINUTES
            )),
            StartReset::NotAllowed => Reply::text(
                "その方のパスワードは、ボットからは再設定できません。ヘルプデスクにお問い合わせください。",
            ),
            StartReset::NoMail => Reply::text(
                "現在、メールでの本人確認ができません。ヘルプデスクにお電話でお問い合わせください。",
            ),
        },
    )
}

async fn create_ticket(
    txn: &DatabaseTransaction,
    user: &ChatUser,
    conversation: &chat_conversation::Model,
    state: &mut DialogState,
    pressed: Option<&str>,
    at: DateTime<Utc>,
) -> ServiceResult<Reply> {
    let Some(question) = state.last_question.take() else {
        return Ok(Reply::text("お困りの内容を文章で送ってください。"));
    };
    let mut transcript = chat::transcript(txn, conversation.id).await?;
    transcript.extend(pressed.map(|p| Turn::user(p, at)));
    let t = chat::open_ticket(txn, user, conversation, &question, &transcript, at).await?;
    state.shown.clear();
    Ok(Reply::with(
        format!(
            "担当者へのお問い合わせとして受け付けました。\n受付番号: {}\n件名: {}\n\n回答はこのトークでお知らせします。状況は「{}」と送ると確認できます。",
            t.number, t.title, t.number
        ),
        vec![Action::new("私の問い合わせ", Command::MyTickets)],
    ))
}

fn open_ticket<C: ConnectionTrait>(
    t: &Turnin<'_, C>,
    state: &mut DialogState,
    group: bool,
) -> (Effect, Vec<Reply>) {
    if group {
        return (Effect::None, vec![personal_only()]);
    }
    if t.user.actor.is_none() {
        return (Effect::None, vec![link_first("担当者へのお問い合わせ")]);
    }
    match state.last_question.clone() {
        Some(question) => (Effect::OpenTicket { question }, vec![]),
        None => (
            Effect::None,
            vec![Reply::text(
                "お困りの内容を文章で送ってください。FAQで見つからなければ、そのまま担当者にお問い合わせとしてお送りできます。",
            )],
        ),
    }
}

async fn suggest<C: ConnectionTrait>(t: &Turnin<'_, C>, text: &str) -> ServiceResult<Suggestions> {
    let text: String = text
        .chars()
        .take(service::search::MAX_QUERY_CHARS)
        .collect();
    match &t.user.actor {
        // A chat shows the article itself, never highlighted snippets.
        Some(actor) => {
            t.search
                .suggested_answers(t.db, actor, &text, Marks::None)
                .await
        }
        None => {
            t.search
                .suggested_answers_for_guest(
                    t.db,
                    t.user.account.tenant_id,
                    t.user.audience,
                    &text,
                    Marks::None,
                )
                .await
        }
    }
}

async fn first_article<C: ConnectionTrait>(
    t: &Turnin<'_, C>,
    shown: &[Uuid],
) -> ServiceResult<Option<entity::faq_article::Model>> {
    match shown.first() {
        Some(id) => chat::faq_article(t.db, t.user, *id).await,
        None => Ok(None),
    }
}

async fn ticket_status<C: ConnectionTrait>(
    t: &Turnin<'_, C>,
    number: &str,
) -> ServiceResult<Reply> {
    if t.user.actor.is_none() {
        return Ok(link_first("お問い合わせ状況の確認"));
    }
    Ok(match chat::ticket_by_number(t.db, t.user, number).await? {
        Some(tk) => Reply::text(status_line(&tk, true)),
        None => Reply::text(format!(
            "{number} は見つかりませんでした。番号をご確認ください（ご自身のお問い合わせのみ確認できます）。"
        )),
    })
}

async fn my_tickets<C: ConnectionTrait>(t: &Turnin<'_, C>) -> ServiceResult<Reply> {
    if t.user.actor.is_none() {
        return Ok(link_first("お問い合わせ状況の確認"));
    }
    let list = chat::my_tickets(t.db, t.user, MY_TICKETS).await?;
    if list.is_empty() {
        return Ok(Reply::text("お問い合わせはまだありません。"));
    }
    let mut s = format!("最近のお問い合わせ（{}件）", list.len());
    for tk in &list {
        s.push_str("\n\n");
        s.push_str(&status_line(tk, false));
    }
    Ok(Reply::text(s))
}

fn status_line(t: &ticket::Model, long: bool) -> String {
    let status = service::tickets::workflow::label_ja(t.status);
    let opened = t
        .created_at
        .with_timezone(&service::tz::TOKYO)
        .format("%Y/%m/%d %H:%M");
    if long {
        format!(
            "【{}】{}\n状況: {status}\n受付: {opened}",
            t.number, t.title
        )
    } else {
        format!("{}（{status}）\n{}", t.number, t.title)
    }
}

fn answer_card(id: Uuid, question: String, answer: String, group: bool) -> Reply {
    let actions = if group {
        vec![]
    } else {
        vec![
            Action::new(
                "解決した",
                Command::Vote {
                    faq: id,
                    helpful: true,
                },
            ),
            Action::new(
                "解決しない",
                Command::Vote {
                    faq: id,
                    helpful: false,
                },
            ),
        ]
    };
    Reply::Answer {
        faq: id,
        question,
        answer,
        actions,
    }
}

fn decline(group: bool) -> Reply {
    let text = "申し訳ありません。FAQからは分かりませんでした。";
    if group {
        Reply::text(format!(
            "{text}個別のトークでボットに話しかけると、担当者にお問い合わせできます。"
        ))
    } else {
        Reply::with(
            format!("{text}担当者にお問い合わせしますか？"),
            vec![Action::new("問い合わせる", Command::OpenTicket)],
        )
    }
}

fn greeting(user: &ChatUser) -> Reply {
    let mut text = "ヘルプデスクのボットです。パソコンやシステムのお困りごとを文章で送ってください。FAQからお答えします。".to_owned();
    match &user.person {
        Some(p) => {
            text.push_str(&format!("\n\n{} さんとして連携済みです。「私の問い合わせ」でお問い合わせの状況を確認できます。", p.display_name));
            Reply::with(
                text,
                vec![Action::new("私の問い合わせ", Command::MyTickets)],
            )
        }
        None => {
            text.push_str(
                "\n\n担当者へのお問い合わせや状況の確認には、最初にアカウント連携が必要です。",
            );
            Reply::with(text, vec![Action::new("アカウント連携", Command::Link)])
        }
    }
}

fn link_first(what: &str) -> Reply {
    Reply::with(
        format!(
            "{what}には、アカウント連携が必要です。職場のメールアドレスに確認コードをお送りして、ご本人であることを確認します。"
        ),
        vec![Action::new("アカウント連携", Command::Link)],
    )
}

fn ask_email() -> Reply {
    Reply::with(
        "職場のメールアドレスを送ってください。登録されているアドレスに確認コードをお送りします。",
        vec![Action::new("やめる", Command::Cancel)],
    )
}

fn personal_only() -> Reply {
    Reply::text(
        "グループではFAQのご案内のみです。お問い合わせや状況の確認は、ボットとの個別のトークでどうぞ。",
    )
}

/// NFKC-like folding for commands: full-width ASCII to half-width, trimmed.
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    !s.contains(char::is_whitespace)
        && s.len() <= 254
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
}

fn is_code(s: &str) -> bool {
    let digits: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())
}

fn is_cancel(s: &str) -> bool {
    matches!(s, "やめる" | "キャンセル" | "取り消し" | "中止" | "cancel")
}

fn is_help(s: &str) -> bool {
    matches!(s, "ヘルプ" | "使い方" | "help" | "メニュー")
}

fn is_link(s: &str) -> bool {
    matches!(s, "連携" | "アカウント連携" | "ログイン" | "本人確認")
}

fn is_my_tickets(s: &str) -> bool {
    matches!(
        s,
        "私の問い合わせ"
            | "私のお問い合わせ"
            | "問い合わせ状況"
            | "お問い合わせ状況"
            | "問い合わせ一覧"
            | "状況確認"
    )
}

fn is_reset(s: &str) -> bool {
    let s = s.to_uppercase();
    let about = ["パスワード", "PW", "ﾊﾟｽﾜｰﾄﾞ", "PASSWORD"]
        .iter()
        .any(|w| s.contains(w));
    let act = ["リセット", "再設定", "初期化", "RESET"]
        .iter()
        .any(|w| s.contains(w));
    about && act && s.chars().count() <= 40
}

/// Whose password a reset request names: `None` for the user's own, or (「生徒のパスワードリセット
/// s2026001」) the student's mail address or number, the last word of the message; an error
/// when a student is meant but not named.
fn reset_target(s: &str) -> Result<Option<String>, ()> {
    if !s.starts_with("生徒") {
        return Ok(None);
    }
    match s.split_whitespace().last() {
        Some(last) if !is_reset(last) && last.chars().any(|c| c.is_ascii_alphanumeric()) => {
            Ok(Some(last.to_owned()))
        }
        _ => Err(()),
    }
}

fn is_ticket_request(s: &str) -> bool {
    matches!(
        s,
        "問い合わせる"
            | "問い合わせたい"
            | "担当者"
            | "オペレーター"
            | "担当者と話したい"
            | "チケット作成"
    )
}

/// A ticket number in the text (`HD-2026-000123`, also in full-width or lower case).
fn ticket_number(s: &str) -> Option<String> {
    let up = s.to_ascii_uppercase();
    let b = up.as_bytes();
    up.char_indices().map(|(i, _)| i).find_map(|i| {
        let rest = &up[i..];
        let (prefix, tail) = rest.split_once('-')?;
        if prefix.is_empty() || prefix.len() > 8 || !prefix.bytes().all(|c| c.is_ascii_uppercase())
        {
            return None;
        }
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            return None;
        }
        let tb = tail.as_bytes();
        let ok = tb.len() >= 11
            && tb[..4].iter().all(u8::is_ascii_digit)
            && tb[4] == b'-'
            && tb[5..11].iter().all(u8::is_ascii_digit)
            && tb.get(11).is_none_or(|c| !c.is_ascii_digit());
        ok.then(|| format!("{prefix}-{}", &tail[..11]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_refuse_anything_else() {
        let id = Uuid::now_v7();
        for c in [
            Command::Show(id),
            Command::Vote {
                faq: id,
                helpful: true,
            },
            Command::Vote {
                faq: id,
                helpful: false,
            },
            Command::OpenTicket,
            Command::Link,
            Command::MyTickets,
            Command::Cancel,
        ] {
            assert_eq!(Command::decode(&c.encode()), Some(c));
            assert!(c.encode().len() <= 48);
        }
        for bad in [
            "",
            "show:",
            "show:nope",
            "vote:x:1",
            &format!("vote:{id}:2"),
            "ticket:1",
            "mine:x",
            "rm -rf",
        ] {
            assert_eq!(Command::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn ticket_numbers_are_found_in_what_people_type() {
        assert_eq!(
            ticket_number("HD-2026-000123 の状況は？").as_deref(),
            Some("HD-2026-000123")
        );
        assert_eq!(
            ticket_number(&fold("ｈｄ－２０２６－０００１２３の状況")).as_deref(),
            Some("HD-2026-000123")
        );
        assert_eq!(
            ticket_number(&fold("ＨＤ-２０２６-０００１２３の状況")).as_deref(),
            Some("HD-2026-000123")
        );
        assert_eq!(
            ticket_number("状況 hd-2026-000042 教えて").as_deref(),
            Some("HD-2026-000042")
        );
        assert_eq!(ticket_number("1HD-2026-000123"), None);
        assert_eq!(ticket_number("HD-2026-0001234"), None);
        assert_eq!(ticket_number("プリンタが動かない"), None);
    }

    #[test]
    fn codes_and_addresses_are_recognised() {
        assert!(
            is_code("123456")
                && is_code(&fold("１２３ ４５６"))
                && !is_code("12345")
                && !is_code("1234567")
        );
        assert!(looks_like_email("taro@city.sakura.example.jp"));
        assert!(
            !looks_like_email("taro at city")
                && !looks_like_email("@x.jp")
                && !looks_like_email("a@b")
        );
    }

    #[test]
    fn reset_requests_and_their_targets_are_recognised() {
        assert!(
            is_reset("パスワードリセット")
                && is_reset(&fold("ＰＷリセットしたい"))
                && is_reset("パスワードを再設定したい")
        );
        assert!(!is_reset("パスワードを忘れました") && !is_reset("リセットボタンが押せない"));
        assert_eq!(reset_target("パスワードリセット"), Ok(None));
        assert_eq!(
            reset_target(&fold("生徒のパスワードリセット　s2026001")),
            Ok(Some("s2026001".to_owned()))
        );
        assert_eq!(
            reset_target("生徒のパスワードリセット pupil@edu.example.jp"),
            Ok(Some("pupil@edu.example.jp".to_owned()))
        );
        assert_eq!(reset_target("生徒のパスワードリセット"), Err(()));
    }

    #[test]
    fn plain_text_of_choices_numbers_the_options() {
        let r = Reply::Choices {
            intro: "候補".to_owned(),
            options: vec![(Uuid::nil(), "A".to_owned()), (Uuid::nil(), "B".to_owned())],
            actions: vec![],
        };
        assert_eq!(r.plain(), "候補\n1. A\n2. B");
    }
}
