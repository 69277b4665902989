//! LINE Messaging API: the webhook (signature on the raw body, then events into the job
//! queue), our replies rendered as LINE messages (text with quick replies, Flex answer cards),
//! and the reply / push client.
//!
//! The reply token is used while it is fresh; when LINE says it is invalid (expired, or used
//! by a first attempt whose answer we lost) the same messages are pushed with an
//! `X-Line-Retry-Key` that stays the same across our retries, so LINE delivers them once.

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use entity::job;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use service::Secret;
use service::jobs::{JsonText, NewJob, Payload};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dialog::{Action, Command, Input, Reply};

/// Job kinds.
pub const EVENT_JOB: &str = "line.event";
pub const SEND_JOB: &str = "line.send";
/// The longest text message, in UTF-16 code units.
pub const TEXT_MAX_UTF16: usize = 5000;
/// Messages in one reply or push.
pub const MESSAGES_MAX: usize = 5;
/// Quick-reply buttons in one message.
pub const QUICK_REPLY_MAX: usize = 13;
/// Characters of a quick-reply or button label.
pub const LABEL_MAX: usize = 20;
/// Characters of a Flex message's `altText` (LINE allows 1,500; notifications show far less).
pub const ALT_TEXT_MAX: usize = 400;
/// Reply tokens are used only while younger than this; older ones go straight to push.
pub const REPLY_TOKEN_SECONDS: i64 = 50;

/// One LINE channel (`[[bots.line]]`): which tenant it serves and its credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LineConfig {
    /// The tenant's slug; the webhook URL is `/bots/line/{tenant}`.
    pub tenant: String,
    /// The channel secret, which signs webhooks.
    pub channel_secret: Secret,
    /// A channel access token (long-lived, or issued for the channel).
    pub channel_access_token: Secret,
    /// The Messaging API's base URL (tests point it at a local fake).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Where the account-link sign-in page sends the user back to (LINE's).
    #[serde(default = "default_access_base")]
    pub access_base: String,
}

fn default_api_base() -> String {
    "https://api.line.me".to_owned()
}

fn default_access_base() -> String {
    "https://access.line.me".to_owned()
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("x-line-signature is missing")]
    NoSignature,
    #[error("x-line-signature does not match the body")]
    BadSignature,
    #[error("the body is not a LINE webhook: {0}")]
    Malformed(String),
}

/// Checks `x-line-signature` (base64 of HMAC-SHA256 over the raw body with the channel
/// secret) in constant time.
pub fn verify_signature(
    secret: &Secret,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), WebhookError> {
    let sig = signature.ok_or(WebhookError::NoSignature)?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .map_err(|_| WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature)
}

/// Signs a body as LINE does (the test suite's and the bench's webhooks).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable_hmac());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    #[allow(clippy::expect_used)]
    Hmac::<Sha256>::new_from_slice(b"").expect("HMAC accepts any key length")
}

/// A webhook's body: the events are kept as the text they came in, each read again only for
/// what the intake decides on ([`Head`]); the event job stores that text as it is.
#[derive(Debug, Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// What the intake reads of an event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    mode: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    webhook_event_id: Option<Cow<'a, str>>,
}

/// An event job's payload: the tenant and the event, which the intake writes out as it came.
#[derive(Debug, Serialize, Deserialize)]
struct EventJob<'a> {
    #[serde(rename = "tenantId")]
    tenant_id: Uuid,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// The events a webhook carries that we act on, as jobs (deduplicated on `webhookEventId`).
/// Unknown event types, events for another channel in standby mode and events that are not
/// event objects are logged and dropped here. Call only after [`verify_signature`].
pub fn jobs_for(tenant_id: Uuid, body: &[u8]) -> Result<Vec<NewJob>, WebhookError> {
    let b: Body<'_> =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let mut out = Vec::with_capacity(b.events.len());
    for ev in b.events {
        let head: Head<'_> = match serde_json::from_str(ev.get()) {
            Ok(h) => h,
            Err(e) => {
                tracing::info!(error = %e, "LINE event unreadable; ignored");
                continue;
            }
        };
        let kind = head.kind.as_ref();
        if !matches!(
            kind,
            "message" | "follow" | "unfollow" | "postback" | "accountLink"
        ) {
            tracing::info!(event_type = kind, "LINE event type not handled; ignored");
            continue;
        }
        if head.mode.as_deref() == Some("standby") {
            tracing::info!(event_type = kind, "LINE event in standby mode; ignored");
            continue;
        }
        let key = match head.webhook_event_id.as_deref() {
            Some(id) if !id.is_empty() && id.len() <= 64 => id.to_owned(),
            _ => {
                let digest = Sha256::digest(ev.get().as_bytes());
                format!(
                    "sha256:{}",
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                )
            }
        };
        let payload = JsonText::of(&EventJob {
            tenant_id,
            event: ev,
        })
        .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        out.push(NewJob {
            tenant_id: Some(tenant_id),
            kind: EVENT_JOB,
            dedupe_key: format!("{tenant_id}:{key}"),
            payload: Payload::Text(payload),
            max_attempts: 10,
        });
    }
    Ok(out)
}

/// An event job's tenant and event, from its text when the intake handed it over, else from
/// its stored payload. The event is `Err` when it cannot be read as an [`Event`] (ignored by
/// the worker); `Err` overall when the job has no tenant.
pub fn read_event_job(
    job: &job::Model,
    text: Option<&JsonText>,
) -> Result<(Uuid, Result<Event, serde_json::Error>), serde_json::Error> {
    match text {
        Some(text) => {
            let p: EventJob<'_> = serde_json::from_str(text.as_str())?;
            Ok((p.tenant_id, serde_json::from_str(p.event.get())))
        }
        None => Ok((
            Deserialize::deserialize(&job.payload["tenantId"])?,
            Deserialize::deserialize(&job.payload["event"]),
        )),
    }
}

/// The lane of an event job: its tenant and the group, room or user it came from.
pub fn lane_key(job: &job::Model, text: Option<&JsonText>) -> String {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Key<'a> {
        #[serde(borrow, default)]
        tenant_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        event: Option<KeyEvent<'a>>,
    }
    #[derive(Deserialize)]
    struct KeyEvent<'a> {
        #[serde(borrow, default)]
        source: Option<KeySource<'a>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct KeySource<'a> {
        #[serde(borrow, default)]
        user_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        group_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        room_id: Option<Cow<'a, str>>,
    }
    let key: Key<'_> = match text {
        Some(text) => serde_json::from_str(text.as_str()).unwrap_or_default(),
        None => Key::deserialize(&job.payload).unwrap_or_default(),
    };
    let source = key.event.and_then(|e| e.source);
    let id = source
        .and_then(|s| s.group_id.or(s.room_id).or(s.user_id))
        .unwrap_or_default();
    format!("line:{}:{id}", key.tenant_id.unwrap_or_default())
}

/// A LINE event, the parts we read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub reply_token: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub timestamp: i64,
    pub source: Option<Source>,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub postback: Option<Postback>,
    #[serde(default)]
    pub link: Option<Link>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: String,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub room_id: Option<String>,
}

impl Source {
    /// Where replies and pushes go: the group, the room, or the user.
    pub fn conversation_ref(&self) -> Option<&str> {
        match self.kind.as_str() {
            "group" => self.group_id.as_deref(),
            "room" => self.room_id.as_deref(),
            _ => self.user_id.as_deref(),
        }
    }

    pub fn is_group(&self) -> bool {
        matches!(self.kind.as_str(), "group" | "room")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Postback {
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    pub result: String,
    #[serde(default)]
    pub nonce: Option<String>,
}

impl Event {
    /// What the dialog sees; `None` for events it does not take.
    pub fn input(&self) -> Option<Input> {
        match self.kind.as_str() {
            "message" => Some(match self.message.as_ref() {
                Some(m) if m.kind == "text" => Input::Text(m.text.clone().unwrap_or_default()),
                _ => Input::Unsupported,
            }),
            "postback" => {
                let data = &self.postback.as_ref()?.data;
                match Command::decode(data) {
                    Some(command) => Some(Input::Command {
                        command,
                        label: None,
                    }),
                    None => {
                        tracing::info!("LINE postback with unknown data; ignored");
                        None
                    }
                }
            }
            "accountLink" => {
                let link = self.link.as_ref()?;
                Some(Input::AccountLinked {
                    nonce: link.nonce.clone().filter(|_| link.result == "ok"),
                })
            }
            "follow" => Some(Input::Follow),
            "unfollow" => Some(Input::Unfollow),
            _ => None,
        }
    }
}

/// Renders replies as LINE message objects (at most [`MESSAGES_MAX`]; extra replies are
/// joined into the last text). Typed and borrowed from the replies, so that they are written
/// out once, straight to the send job's JSON text, without a tree built first.
pub fn render(replies: &[Reply]) -> Vec<LineMessage<'_>> {
    let mut out: Vec<LineMessage<'_>> = replies.iter().map(render_one).collect();
    if out.len() > MESSAGES_MAX {
        let rest: Vec<String> = replies[MESSAGES_MAX - 1..]
            .iter()
            .map(Reply::plain)
            .collect();
        out.truncate(MESSAGES_MAX - 1);
        out.push(text_message(rest.join("\n\n").into(), &[]));
    }
    out
}

/// A send job's payload as a turn writes it: where the messages go, and the messages.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPayload<'a> {
    pub tenant_id: Uuid,
    /// Whom a push goes to (the conversation).
    pub to: &'a str,
    pub reply_token: Option<&'a str>,
    /// When the event came: its reply token is used only while fresh.
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// LINE's `X-Line-Retry-Key` for pushes, the same across our retries.
    pub retry_key: Uuid,
    pub messages: Vec<LineMessage<'a>>,
}

/// A send job's payload as the sender reads it: the messages stay the text they were
/// written as.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSend<'a> {
    pub tenant_id: Uuid,
    #[serde(borrow, default)]
    pub to: Cow<'a, str>,
    #[serde(borrow, default)]
    pub reply_token: Option<Cow<'a, str>>,
    #[serde(default)]
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub retry_key: Option<Uuid>,
    #[serde(borrow)]
    pub messages: &'a RawValue,
}

/// A LINE message object: a text with quick replies, or a Flex bubble.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LineMessage<'a> {
    Text {
        text: Cow<'a, str>,
        #[serde(rename = "quickReply", skip_serializing_if = "Option::is_none")]
        quick_reply: Option<QuickReply<'a>>,
    },
    Flex {
        #[serde(rename = "altText")]
        alt_text: Cow<'a, str>,
        contents: Bubble<'a>,
    },
}

#[derive(Debug, Serialize)]
pub struct QuickReply<'a> {
    items: Vec<QuickReplyItem<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "action")]
pub struct QuickReplyItem<'a> {
    action: LineAction<'a>,
}

/// A Flex bubble: an optional header, a body, an optional footer of buttons.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "bubble")]
pub struct Bubble<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<FlexBox<'a>>,
    body: FlexBox<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    footer: Option<FlexBox<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "box")]
pub struct FlexBox<'a> {
    layout: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    spacing: Option<&'static str>,
    contents: Vec<Component<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Component<'a> {
    Text {
        text: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        color: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        weight: Option<&'static str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        wrap: bool,
    },
    Button {
        style: &'static str,
        height: &'static str,
        action: LineAction<'a>,
    },
}

/// A button's or quick reply's action: a postback with our command, or a link.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LineAction<'a> {
    Postback {
        label: Cow<'a, str>,
        data: String,
        #[serde(rename = "displayText")]
        display_text: Cow<'a, str>,
    },
    Uri {
        label: Cow<'a, str>,
        uri: Cow<'a, str>,
    },
}

fn text<'a>(text: Cow<'a, str>, size: Option<&'static str>, wrap: bool) -> Component<'a> {
    Component::Text {
        text,
        size,
        color: None,
        weight: None,
        wrap,
    }
}

fn button<'a>(style: &'static str, action: LineAction<'a>) -> Component<'a> {
    Component::Button {
        style,
        height: "sm",
        action,
    }
}

fn render_one(r: &Reply) -> LineMessage<'_> {
    match r {
        Reply::Text { text, actions } => text_message(clip_utf16(text, TEXT_MAX_UTF16), actions),
        Reply::Answer {
            question,
            answer,
            actions,
            ..
        } => {
            let header = FlexBox {
                layout: "vertical",
                spacing: None,
                contents: vec![
                    Component::Text {
                        text: "FAQ".into(),
                        size: Some("xs"),
                        color: Some("#888888"),
                        weight: None,
                        wrap: false,
                    },
                    Component::Text {
                        text: clip_chars(question, 200),
                        size: None,
                        color: None,
                        weight: Some("bold"),
                        wrap: true,
                    },
                ],
            };
            let body = FlexBox {
                layout: "vertical",
                spacing: None,
                contents: vec![text(clip_chars(answer, 2_000), Some("sm"), true)],
            };
            let footer = (!actions.is_empty()).then(|| FlexBox {
                layout: "horizontal",
                spacing: Some("sm"),
                contents: actions
                    .iter()
                    .enumerate()
                    .map(|(i, a)| button(if i == 0 { "primary" } else { "secondary" }, postback(a)))
                    .collect(),
            });
            flex(
                format!("FAQ: {question}"),
                Bubble {
                    header: Some(header),
                    body,
                    footer,
                },
            )
        }
        Reply::Choices {
            intro,
            options,
            actions,
        } => {
            let mut rows = vec![text(clip_chars(intro, 200), Some("sm"), true)];
            for (i, (id, q)) in options.iter().enumerate() {
                let a = Action::new(&format!("{}. {q}", i + 1), Command::Show(*id));
                let label = clip_chars(&a.label, 200).into_owned();
                rows.push(button("link", postback_owned(a)));
                rows.push(Component::Text {
                    text: label.into(),
                    size: Some("xs"),
                    color: Some("#555555"),
                    weight: None,
                    wrap: true,
                });
            }
            let footer = (!actions.is_empty()).then(|| FlexBox {
                layout: "vertical",
                spacing: None,
                contents: actions
                    .iter()
                    .map(|a| button("secondary", postback(a)))
                    .collect(),
            });
            flex(
                r.plain(),
                Bubble {
                    header: None,
                    body: FlexBox {
                        layout: "vertical",
                        spacing: Some("sm"),
                        contents: rows,
                    },
                    footer,
                },
            )
        }
    }
}

/// A Flex message of `bubble`, with its alternative text for notifications.
fn flex(alt_text: String, bubble: Bubble<'_>) -> LineMessage<'_> {
    LineMessage::Flex {
        alt_text: clip_chars(&alt_text, ALT_TEXT_MAX).into_owned().into(),
        contents: bubble,
    }
}

fn text_message<'a>(text: Cow<'a, str>, actions: &'a [Action]) -> LineMessage<'a> {
    let quick_reply = (!actions.is_empty()).then(|| QuickReply {
        items: actions
            .iter()
            .take(QUICK_REPLY_MAX)
            .map(|a| QuickReplyItem {
                action: postback(a),
            })
            .collect(),
    });
    LineMessage::Text { text, quick_reply }
}

fn postback(a: &Action) -> LineAction<'_> {
    let label = clip_chars(&a.label, LABEL_MAX);
    match &a.url {
        Some(uri) => LineAction::Uri {
            label,
            uri: uri.into(),
        },
        None => LineAction::Postback {
            display_text: label.clone(),
            label,
            data: a.command.encode(),
        },
    }
}

/// [`postback`] of an action made on the spot (the choices' numbered buttons).
fn postback_owned(a: Action) -> LineAction<'static> {
    let owned = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
    match postback(&a) {
        LineAction::Uri { label, uri } => LineAction::Uri {
            label: owned(label),
            uri: owned(uri),
        },
        LineAction::Postback {
            label,
            data,
            display_text,
        } => LineAction::Postback {
            label: owned(label),
            data,
            display_text: owned(display_text),
        },
    }
}

/// Cuts `s` to at most `max` UTF-16 code units (LINE counts text that way), ending with `…`
/// when cut, never splitting a surrogate pair.
pub fn clip_utf16(s: &str, max: usize) -> Cow<'_, str> {
    if s.encode_utf16().count() <= max {
        return s.into();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + c.len_utf16() > max - 1 {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out.into()
}

fn clip_chars(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return s.into();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out.into()
}

/// What the Messaging API said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The reply token is expired or used: push instead.
    InvalidReplyToken,
    /// Worth trying again later (429, 5xx, a network error).
    Retry(String),
    /// Will never work (a bad request, a revoked token).
    Permanent(String),
}

/// The Messaging API client of one channel.
#[derive(Clone)]
pub struct LineApi {
    http: reqwest::Client,
    base: String,
    /// The reply and push endpoints, parsed once (not for every message).
    reply_url: reqwest::Url,
    push_url: reqwest::Url,
    /// `Bearer {token}`, written once and marked sensitive.
    authorization: reqwest::header::HeaderValue,
}

/// The body of a reply or a push, with the messages spliced in as the send job stored them
/// (JSON text: they are not parsed or written again).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Messages<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'a str>,
    messages: &'a RawValue,
}

impl LineApi {
    pub fn new(cfg: &LineConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            // The channel's token goes to the configured API and nowhere else; LINE's API
            // does not redirect, and an answer that does is an error, not a place to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = cfg.api_base.trim_end_matches('/').to_owned();
        let url = |path: &str| {
            reqwest::Url::parse(&format!("{base}{path}"))
                .map_err(|e| anyhow::anyhow!("bots.line api_base {base:?}: {e}"))
        };
        let mut authorization = reqwest::header::HeaderValue::from_str(&format!(
            "Bearer {}",
            cfg.channel_access_token.expose()
        ))
        .map_err(|_| anyhow::anyhow!("bots.line channel_access_token is not a header value"))?;
        authorization.set_sensitive(true);
        Ok(Self {
            http,
            reply_url: url("/v2/bot/message/reply")?,
            push_url: url("/v2/bot/message/push")?,
            base,
            authorization,
        })
    }

    /// `POST /v2/bot/user/{userId}/linkToken`: a token for LINE's account link (valid 10
    /// minutes, once).
    pub async fn link_token(&self, user_id: &str) -> anyhow::Result<String> {
        let url = format!("{}/v2/bot/user/{user_id}/linkToken", self.base);
        let res = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .send()
            .await?
            .error_for_status()?;
        let v: Value = res.json().await?;
        v["linkToken"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no linkToken in LINE's answer"))
    }

    /// `POST /v2/bot/message/reply`.
    pub async fn reply(&self, reply_token: &str, messages: &RawValue) -> Outcome {
        let body = Messages {
            reply_token: Some(reply_token),
            to: None,
            messages,
        };
        self.post(&self.reply_url, &body, None).await
    }

    /// `POST /v2/bot/message/push` with a retry key: LINE answers 409 to a key it has already
    /// accepted, which means the messages went out.
    pub async fn push(&self, to: &str, messages: &RawValue, retry_key: Uuid) -> Outcome {
        let body = Messages {
            reply_token: None,
            to: Some(to),
            messages,
        };
        match self.post(&self.push_url, &body, Some(retry_key)).await {
            Outcome::Permanent(e) if e.starts_with("409") => Outcome::Sent,
            other => other,
        }
    }

    async fn post(
        &self,
        url: &reqwest::Url,
        body: &Messages<'_>,
        retry_key: Option<Uuid>,
    ) -> Outcome {
        let mut req = self
            .http
            .post(url.clone())
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .json(body);
        if let Some(k) = retry_key {
            req = req.header("X-Line-Retry-Key", k.to_string());
        }
        let res = match req.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("LINE API unreachable: {e}")),
        };
        let status = res.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let text = res.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        if status.as_u16() == 400 && message.to_ascii_lowercase().contains("invalid reply token") {
            return Outcome::InvalidReplyToken;
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Outcome::Retry(format!("{} {message}", status.as_u16()));
        }
        Outcome::Permanent(format!("{} {message}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signatures_are_checked_on_the_raw_body() {
        let secret = Secret::new("s3cret");
        let body = br#"{"destination":"U1","events":[]}"#;
        let sig = sign(&secret, body);
        assert_eq!(verify_signature(&secret, body, Some(&sig)), Ok(()));
        assert_eq!(
            verify_signature(
                &secret,
                b"{\"destination\":\"U1\",\"events\":[] }",
                Some(&sig)
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(&Secret::new("other"), body, Some(&sig)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(&secret, body, Some("not base64!")),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(&secret, body, None),
            Err(WebhookError::NoSignature)
        );
    }

    #[test]
    fn known_events_become_jobs_keyed_by_webhook_event_id() {
        let t = Uuid::now_v7();
        let body = json!({ "destination": "U0", "events": [
            { "type": "message", "webhookEventId": "01H1", "mode": "active", "message": { "type": "text", "id": "1", "text": "hi" } },
            { "type": "beacon", "webhookEventId": "01H2" },
            { "type": "message", "webhookEventId": "01H3", "mode": "standby" },
            { "type": "follow" }
        ]});
        let jobs = jobs_for(t, body.to_string().as_bytes()).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].dedupe_key, format!("{t}:01H1"));
        assert!(jobs[1].dedupe_key.starts_with(&format!("{t}:sha256:")));
        assert!(jobs_for(t, br#"{"events": []}"#).unwrap().is_empty());
        assert!(matches!(
            jobs_for(t, b"{not json"),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            jobs_for(t, br#"{"events": {}}"#),
            Err(WebhookError::Malformed(_))
        ));
        // An event that is not an event object is dropped; the others still become jobs.
        let jobs = jobs_for(t, br#"{"events": [5, {"type": 7}, {"type": "follow"}]}"#).unwrap();
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn event_jobs_keep_the_event_as_it_came_and_read_back_from_text_or_tree() {
        let t = Uuid::now_v7();
        // As LINE sends it: escapes, and a field we do not know, stay as they are.
        let event = r#"{"type":"message","webhookEventId":"01H9","mode":"active","timestamp":1700000000000,"replyToken":"rt","source":{"type":"user","userId":"U\u0031"},"message":{"type":"text","id":"1","text":"VPN\nにつながらない"},"new":{"x":[1]}}"#;
        let body = format!(r#"{{"destination":"U0","events":[{event}]}}"#);
        let mut jobs = jobs_for(t, body.as_bytes()).unwrap();
        let Some(NewJob {
            payload: Payload::Text(text),
            ..
        }) = jobs.pop()
        else {
            panic!("the event job is written as text");
        };
        assert_eq!(
            text.as_str(),
            format!(r#"{{"tenantId":"{t}","event":{event}}}"#)
        );
        let stored = job::Model {
            id: Uuid::now_v7(),
            tenant_id: Some(t),
            kind: EVENT_JOB.to_owned(),
            dedupe_key: String::new(),
            payload: text.to_value(),
            status: "queued".to_owned(),
            attempts: 1,
            max_attempts: 10,
            run_at: chrono::Utc::now(),
            locked_until: None,
            last_error: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let handed = job::Model {
            payload: Value::Null,
            ..stored.clone()
        };
        // Handed over as text, or read back from the database as a tree: the same event.
        for (j, text) in [(&handed, Some(&text)), (&stored, None)] {
            let (tenant, event) = read_event_job(j, text).unwrap();
            assert_eq!(tenant, t);
            let event = event.unwrap();
            assert_eq!(event.reply_token.as_deref(), Some("rt"));
            assert!(matches!(event.input(), Some(Input::Text(q)) if q == "VPN\nにつながらない"));
            assert_eq!(lane_key(j, text), format!("line:{t}:U1"));
        }
        // A group's events share a lane whoever sends them.
        let group = json!({ "tenantId": t, "event": { "source": { "type": "group", "groupId": "C1", "userId": "U2" } } });
        assert_eq!(
            lane_key(
                &job::Model {
                    payload: group,
                    ..stored.clone()
                },
                None
            ),
            format!("line:{t}:C1")
        );
        // An unreadable event is told apart from a job without a tenant.
        let odd = job::Model {
            payload: json!({ "tenantId": t, "event": { "type": 5 } }),
            ..stored.clone()
        };
        assert!(read_event_job(&odd, None).unwrap().1.is_err());
        let none = job::Model {
            payload: json!({ "event": {} }),
            ..stored
        };
        assert!(read_event_job(&none, None).is_err());
    }

    #[test]
    fn text_is_cut_at_5000_utf16_units_without_splitting_surrogates() {
        let s = "𠮷".repeat(3000); // 2 units each
        let c = clip_utf16(&s, TEXT_MAX_UTF16);
        assert!(c.encode_utf16().count() <= TEXT_MAX_UTF16);
        assert!(c.ends_with('…'));
        assert_eq!(clip_utf16("短い", TEXT_MAX_UTF16), "短い");
    }

    #[test]
    fn more_than_five_replies_are_folded_into_the_fifth() {
        let replies: Vec<Reply> = (0..7)
            .map(|i| Reply::Text {
                text: format!("m{i}"),
                actions: vec![],
            })
            .collect();
        let out = serde_json::to_value(render(&replies)).unwrap();
        let out = out.as_array().unwrap();
        assert_eq!(out.len(), MESSAGES_MAX);
        assert_eq!(out[4]["text"], "m4\n\nm5\n\nm6");
    }

    /// Every kind of message, as sent: an answer card with vote buttons, choices with a
    /// footer, a text with quick replies and a link button.
    fn every_kind_of_reply() -> Vec<Reply> {
        let faq = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let other = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);
        vec![
            Reply::Answer {
                faq,
                question: "パスワードを忘れた".to_owned(),
                answer: "パスワード再設定ページから再設定してください。".to_owned(),
                actions: vec![
                    Action::new("解決した", Command::Vote { faq, helpful: true }),
                    Action::new(
                        "解決しない",
                        Command::Vote {
                            faq,
                            helpful: false,
                        },
                    ),
                ],
            },
            Reply::Choices {
                intro: "次のどれかに当てはまりますか？".to_owned(),
                options: vec![
                    (faq, "パスワードを忘れた".to_owned()),
                    (other, "プリンタが使えない".to_owned()),
                ],
                actions: vec![Action::new("問い合わせる", Command::OpenTicket)],
            },
            Reply::Text {
                text: "アカウントを連携してください。".to_owned(),
                actions: vec![
                    Action::new("連携する", Command::Link),
                    Action {
                        label: "サインイン".to_owned(),
                        command: Command::Link,
                        url: Some(
                            "https://madoguchi.example/link/line/city?linkToken=t".to_owned(),
                        ),
                    },
                    Action::new("やめる", Command::Cancel),
                ],
            },
        ]
    }

    #[test]
    fn replies_render_as_line_messages() {
        // Through a tree, whose keys are sorted: the file was written that way.
        let out = serde_json::to_value(render(&every_kind_of_reply())).unwrap();
        let out = serde_json::to_string_pretty(&out).unwrap();
        let expected = include_str!("testdata/line_messages.json");
        assert_eq!(out.trim(), expected.trim());
    }
}
