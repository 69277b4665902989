//! LINE WORKS (Bot API 2.0): the callback (`X-WORKS-Signature`, HMAC-SHA256 of the raw body
//! with the bot secret, as LINE's), events into the job queue, and the message API with a
//! service-account token (a JWT signed with the app's private key, exchanged at the token
//! endpoint, cached). The dialog is the same as LINE's and Teams'.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use service::Secret;
use service::jobs::NewJob;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::dialog::{Action, Command, Input, Reply};
use super::line::{LABEL_MAX, QUICK_REPLY_MAX, WebhookError};

pub const EVENT_JOB: &str = "lineworks.event";
pub const SEND_JOB: &str = "lineworks.send";
/// The longest text message LINE WORKS takes, in characters.
pub const TEXT_MAX: usize = 2000;

/// One LINE WORKS bot (`[[bots.line_works]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LineWorksConfig {
    /// The tenant's slug; the callback URL is `/bots/lineworks/{tenant}`.
    pub tenant: String,
    pub bot_id: String,
    /// Signs the callbacks.
    pub bot_secret: Secret,
    pub client_id: String,
    pub client_secret: Secret,
    pub service_account: String,
    /// The app's private key (PEM) for the service-account JWT.
    pub private_key_pem: PathBuf,
    #[serde(default = "default_api")]
    pub api_base: String,
    #[serde(default = "default_auth")]
    pub token_endpoint: String,
}

fn default_api() -> String {
    "https://www.worksapis.com/v1.0".to_owned()
}
fn default_auth() -> String {
    "https://auth.worksmobile.com/oauth2/v2.0/token".to_owned()
}

/// The callback's event as a job (deduplicated on a digest of the body: LINE WORKS sends no
/// event id, and `issuedTime` makes two real events differ), or `None` for types not acted on.
pub fn job_for(tenant_id: Uuid, body: &[u8]) -> Result<Option<NewJob>, WebhookError> {
    let ev: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let kind = ev
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| WebhookError::Malformed("no type".to_owned()))?;
    if !matches!(
        kind,
        "message" | "postback" | "join" | "joined" | "leave" | "left"
    ) {
        tracing::info!(
            event_type = kind,
            "LINE WORKS event type not handled; ignored"
        );
        return Ok(None);
    }
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(NewJob {
        tenant_id: Some(tenant_id),
        kind: EVENT_JOB,
        dedupe_key: format!("{tenant_id}:{digest}"),
        payload: json!({ "tenantId": tenant_id, "event": ev }).into(),
        max_attempts: 10,
    }))
}

/// What the dialog sees of an event.
pub fn input(ev: &Value) -> Option<Input> {
    match ev["type"].as_str()? {
        "message" => Some(match ev["content"]["type"].as_str() {
            Some("text") => Input::Text(
                ev["content"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            _ => Input::Unsupported,
        }),
        "postback" => {
            let data = ev["data"].as_str()?;
            Command::decode(data).map(|command| Input::Command {
                command,
                label: None,
            })
        }
        "join" | "joined" => Some(Input::Follow),
        "leave" | "left" => Some(Input::Unfollow),
        _ => None,
    }
}

/// Where to send: the user, or the group room (`channelId`).
pub fn target(ev: &Value) -> Option<(&str, bool)> {
    match ev["source"]["channelId"].as_str() {
        Some(c) if !c.is_empty() => Some((c, true)),
        _ => ev["source"]["userId"].as_str().map(|u| (u, false)),
    }
}

fn action(a: &Action) -> Value {
    let label: String = a.label.chars().take(LABEL_MAX).collect();
    match &a.url {
        Some(uri) => json!({ "type": "uri", "label": label, "uri": uri }),
        None => {
            json!({ "type": "postback", "label": label, "data": a.command.encode(), "displayText": label })
        }
    }
}

/// Renders replies as LINE WORKS message contents (text with quick replies; the answer card
/// and the choices as text, their buttons as quick replies).
pub fn render(replies: &[Reply]) -> Vec<Value> {
    replies
        .iter()
        .map(|r| {
            let (text, actions) = match r {
                Reply::Text { text, actions } => (text.clone(), actions.clone()),
                Reply::Answer { question, answer, actions, .. } => (format!("【FAQ】{question}\n\n{answer}"), actions.clone()),
                Reply::Choices { options, actions, .. } => {
                    let mut acts: Vec<Action> =
                        options.iter().enumerate().map(|(i, (id, q))| Action::new(&format!("{}. {q}", i + 1), Command::Show(*id))).collect();
                    acts.extend(actions.iter().cloned());
                    (r.plain(), acts)
                }
            };
            let text: String = if text.chars().count() > TEXT_MAX {
                let mut t: String = text.chars().take(TEXT_MAX - 1).collect();
                t.push('…');
                t
            } else {
                text
            };
            let mut content = json!({ "type": "text", "text": text });
            if !actions.is_empty() {
                content["quickReply"] = json!({ "items": actions.iter().take(QUICK_REPLY_MAX).map(|a| json!({ "action": action(a) })).collect::<Vec<_>>() });
            }
            json!({ "content": content })
        })
        .collect()
}

/// What the message API said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry(String),
    Permanent(String),
}

/// The message API client of one bot.
pub struct LineWorksApi {
    cfg: LineWorksConfig,
    key: EncodingKey,
    http: reqwest::Client,
    token: Mutex<Option<(Secret, Instant)>>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
}

impl LineWorksApi {
    pub fn new(cfg: &LineWorksConfig) -> anyhow::Result<Self> {
        let pem = std::fs::read(&cfg.private_key_pem)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", cfg.private_key_pem.display()))?;
        Ok(Self {
            key: EncodingKey::from_rsa_pem(&pem)?,
            cfg: cfg.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            token: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<Secret, Outcome> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.cfg.client_id,
            sub: &self.cfg.service_account,
            iat: now,
            exp: now + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| Outcome::Permanent(format!("cannot sign the service-account JWT: {e}")))?;
        let form = [
            ("assertion", assertion.as_str()),
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", self.cfg.client_id.as_str()),
            ("client_secret", self.cfg.client_secret.expose()),
            ("scope", "bot"),
        ];
        let res = self
            .http
            .post(&self.cfg.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| Outcome::Retry(format!("token endpoint unreachable: {e}")))?;
        let status = res.status();
        if !status.is_success() {
            let e = format!("token endpoint answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                Outcome::Retry(e)
            } else {
                Outcome::Permanent(e)
            });
        }
        let v: Value = res
            .json()
            .await
            .map_err(|e| Outcome::Retry(format!("token response: {e}")))?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| Outcome::Permanent("no access_token".to_owned()))?;
        let ttl = v["expires_in"]
            .as_u64()
            .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(3600);
        let t = Secret::new(token);
        *cached = Some((
            t.clone(),
            Instant::now() + Duration::from_secs(ttl.saturating_sub(300).max(30)),
        ));
        Ok(t)
    }

    /// Sends one message content to a user or a group room.
    pub async fn send(&self, to: &str, room: bool, content: &Value) -> Outcome {
        let token = match self.token().await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let kind = if room { "channels" } else { "users" };
        let url = format!(
            "{}/bots/{}/{kind}/{to}/messages",
            self.cfg.api_base.trim_end_matches('/'),
            self.cfg.bot_id
        );
        let res = match self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .json(content)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("LINE WORKS unreachable: {e}")),
        };
        let status = res.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        if status.as_u16() == 401 {
            *self.token.lock().await = None;
        }
        let body: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let e = format!("{} {body}", status.as_u16());
        if status.as_u16() == 429 || status.as_u16() == 401 || status.is_server_error() {
            Outcome::Retry(e)
        } else {
            Outcome::Permanent(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_jobs_keyed_by_their_digest() {
        let t = Uuid::now_v7();
        let body = br#"{"type":"message","source":{"userId":"u1","domainId":1},"issuedTime":"2026-11-30T01:00:00.000Z","content":{"type":"text","text":"VPN"}}"#;
        let j = job_for(t, body).unwrap().unwrap();
        assert_eq!(j.dedupe_key, job_for(t, body).unwrap().unwrap().dedupe_key);
        let payload = j.payload.into_value();
        assert_eq!(input(&payload["event"]), Some(Input::Text("VPN".into())));
        assert_eq!(target(&payload["event"]), Some(("u1", false)));
        assert!(job_for(t, br#"{"type":"beacon"}"#).unwrap().is_none());
        assert!(job_for(t, b"[]").is_err() && job_for(t, b"{oops").is_err());
        let room: Value = serde_json::from_str(
            r#"{"type":"postback","data":"mine","source":{"userId":"u1","channelId":"c9"}}"#,
        )
        .unwrap();
        assert_eq!(target(&room), Some(("c9", true)));
        assert_eq!(
            input(&room),
            Some(Input::Command {
                command: Command::MyTickets,
                label: None
            })
        );
    }

    #[test]
    fn replies_are_text_with_quick_replies() {
        let id = Uuid::now_v7();
        let out = render(&[Reply::Answer {
            faq: id,
            question: "Q".into(),
            answer: "A".repeat(3000),
            actions: vec![Action::new(
                "解決した",
                Command::Vote {
                    faq: id,
                    helpful: true,
                },
            )],
        }]);
        let c = &out[0]["content"];
        assert_eq!(c["type"], "text");
        assert_eq!(c["text"].as_str().unwrap().chars().count(), TEXT_MAX);
        assert_eq!(
            c["quickReply"]["items"][0]["action"]["data"],
            format!("vote:{id}:1")
        );
    }
}
