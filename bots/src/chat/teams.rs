//! Microsoft Teams through the Bot Framework: the bearer JWT on every activity checked
//! against the JWKS from the configured OpenID metadata (RS256, issuer, audience = our app id,
//! 5 minutes of skew, the key endorsed for the activity's channel, the `serviceurl` claim equal
//! to the activity's `serviceUrl`); our replies rendered as Adaptive Cards with
//! `Action.Submit`; the connector client with a cached client-credentials token; and the
//! Teams outgoing webhook (HMAC) for FAQ answers in channels.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use service::Secret;
use service::jobs::NewJob;
use sha2::Sha256;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use super::dialog::{Action, Command, Input, Reply};

/// Job kinds.
pub const ACTIVITY_JOB: &str = "teams.activity";
pub const SEND_JOB: &str = "teams.send";
/// Clock skew allowed on tokens (the Bot Framework's own value).
pub const SKEW_SECONDS: u64 = 300;
/// How long fetched signing keys are trusted before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(24 * 3600);
/// An unknown `kid` refetches the keys at most this often.
const KEYS_REFETCH: Duration = Duration::from_secs(60);

/// The Teams bot (`[bots.teams]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TeamsConfig {
    /// The bot's Microsoft app id: the audience of incoming tokens and the client id of ours.
    pub app_id: String,
    /// The app's client secret.
    pub app_password: Secret,
    /// Which tenant serves an activity: by the Entra tenant id in `channelData.tenant.id`.
    #[serde(default)]
    pub tenants: HashMap<String, String>,
    /// The tenant for activities whose Entra tenant is not listed.
    #[serde(default)]
    pub default_tenant: Option<String>,
    #[serde(default = "default_metadata")]
    pub openid_metadata: String,
    #[serde(default = "default_issuer")]
    pub issuer: String,
    #[serde(default = "default_token_endpoint")]
    pub token_endpoint: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    /// The security token (base64) of a Teams outgoing webhook, for `/bots/teams/outgoing`.
    #[serde(default)]
    pub outgoing_webhook_secret: Option<Secret>,
    /// The tenant the outgoing webhook answers for.
    #[serde(default)]
    pub outgoing_webhook_tenant: Option<String>,
}

fn default_metadata() -> String {
    "https://login.botframework.com/v1/.well-known/openidconfiguration".to_owned()
}
fn default_issuer() -> String {
    "https://api.botframework.com".to_owned()
}
fn default_token_endpoint() -> String {
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token".to_owned()
}
fn default_scope() -> String {
    "https://api.botframework.com/.default".to_owned()
}

impl TeamsConfig {
    /// The tenant slug an activity belongs to.
    pub fn tenant_for(&self, activity: &Value) -> Option<&str> {
        activity["channelData"]["tenant"]["id"]
            .as_str()
            .and_then(|t| self.tenants.get(t))
            .or(self.default_tenant.as_ref())
            .map(String::as_str)
    }
}

/// Why an activity was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no bearer token")]
    NoToken,
    #[error("token refused: {0}")]
    Refused(String),
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

struct Key {
    key: DecodingKey,
    endorsements: Vec<String>,
}

struct KeySet {
    keys: HashMap<String, Key>,
    fetched: Instant,
}

/// Checks the Bot Framework's tokens.
pub struct BotAuth {
    http: reqwest::Client,
    metadata_url: String,
    issuer: String,
    app_id: String,
    keys: RwLock<Option<KeySet>>,
    refetch: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    serviceurl: Option<String>,
}

impl BotAuth {
    pub fn new(cfg: &TeamsConfig) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            metadata_url: cfg.openid_metadata.clone(),
            issuer: cfg.issuer.clone(),
            app_id: cfg.app_id.clone(),
            keys: RwLock::new(None),
            refetch: Mutex::new(None),
        })
    }

    /// Verifies the `Authorization` header of an activity.
    pub async fn verify(
        &self,
        authorization: Option<&str>,
        activity: &Value,
    ) -> Result<(), AuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::NoToken)?;
        let header =
            decode_header(token).map_err(|e| AuthError::Refused(format!("malformed: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Refused(format!("algorithm {:?}", header.alg)));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Refused("no kid".to_owned()))?;
        let channel = activity["channelId"].as_str().unwrap_or_default();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.app_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = SKEW_SECONDS;
        let claims = self
            .with_key(&kid, |k| {
                if !k.endorsements.iter().any(|e| e == channel) {
                    return Err(AuthError::Refused(format!(
                        "key {kid} is not endorsed for channel {channel:?}"
                    )));
                }
                decode::<Claims>(token, &k.key, &validation)
                    .map(|d| d.claims)
                    .map_err(|e| AuthError::Refused(e.to_string()))
            })
            .await?;
        let service_url = activity["serviceUrl"].as_str().unwrap_or_default();
        let claimed = claims.serviceurl.unwrap_or_default();
        if claimed.trim_end_matches('/') != service_url.trim_end_matches('/')
            || service_url.is_empty()
        {
            return Err(AuthError::Refused(
                "serviceurl claim does not match the activity".to_owned(),
            ));
        }
        Ok(())
    }

    async fn with_key<T>(
        &self,
        kid: &str,
        f: impl Fn(&Key) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        {
            let keys = self.keys.read().await;
            if let Some(set) = keys.as_ref().filter(|s| s.fetched.elapsed() < KEYS_TTL)
                && let Some(k) = set.keys.get(kid)
            {
                return f(k);
            }
        }
        // Unknown kid or stale keys: fetch again, but not more than once a minute.
        {
            let mut last = self.refetch.lock().await;
            let fresh = self
                .keys
                .read()
                .await
                .as_ref()
                .is_some_and(|s| s.fetched.elapsed() < KEYS_TTL);
            if fresh && last.is_some_and(|t| t.elapsed() < KEYS_REFETCH) {
                return Err(AuthError::Refused(format!("unknown key {kid}")));
            }
            *last = Some(Instant::now());
            let set = self.fetch().await?;
            *self.keys.write().await = Some(set);
        }
        let keys = self.keys.read().await;
        match keys.as_ref().and_then(|s| s.keys.get(kid)) {
            Some(k) => f(k),
            None => Err(AuthError::Refused(format!("unknown key {kid}"))),
        }
    }

    async fn fetch(&self) -> Result<KeySet, AuthError> {
        let get = |url: String| async move {
            let r = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| AuthError::Keys(format!("{url}: {e}")))?;
            if !r.status().is_success() {
                return Err(AuthError::Keys(format!("{url}: {}", r.status())));
            }
            r.json::<Value>()
                .await
                .map_err(|e| AuthError::Keys(format!("{url}: {e}")))
        };
        let meta = get(self.metadata_url.clone()).await?;
        let jwks_uri = meta["jwks_uri"]
            .as_str()
            .ok_or_else(|| AuthError::Keys("metadata without jwks_uri".to_owned()))?;
        let jwks = get(jwks_uri.to_owned()).await?;
        let mut keys = HashMap::new();
        for k in jwks["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(n), Some(e)) =
                (k["kid"].as_str(), k["n"].as_str(), k["e"].as_str())
            else {
                continue;
            };
            if k["kty"].as_str() != Some("RSA") {
                continue;
            }
            let Ok(key) = DecodingKey::from_rsa_components(n, e) else {
                continue;
            };
            let endorsements = k["endorsements"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            keys.insert(kid.to_owned(), Key { key, endorsements });
        }
        tracing::info!(keys = keys.len(), "Bot Framework signing keys fetched");
        Ok(KeySet {
            keys,
            fetched: Instant::now(),
        })
    }
}

/// The activity as a job (deduplicated on its id), or `None` for activities we do not act on.
pub fn job_for(tenant_id: Uuid, activity: &Value) -> Option<NewJob> {
    let kind = activity["type"].as_str().unwrap_or_default();
    if !matches!(kind, "message" | "conversationUpdate") {
        tracing::info!(
            activity_type = kind,
            "Teams activity type not handled; ignored"
        );
        return None;
    }
    let id = activity["id"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 200)?;
    let conv = activity["conversation"]["id"].as_str().unwrap_or_default();
    Some(NewJob {
        tenant_id: Some(tenant_id),
        kind: ACTIVITY_JOB,
        dedupe_key: format!("{tenant_id}:{conv}:{id}"),
        payload: json!({ "tenantId": tenant_id, "activity": activity }).into(),
        max_attempts: 10,
    })
}

/// What the dialog sees of an activity.
pub fn input(activity: &Value) -> Option<Input> {
    match activity["type"].as_str()? {
        "message" => {
            if let Some(cmd) = activity["value"]["cmd"].as_str() {
                let command = Command::decode(cmd)?;
                let label = activity["value"]["label"].as_str().map(str::to_owned);
                return Some(Input::Command { command, label });
            }
            match activity["text"].as_str() {
                Some(t) => Some(Input::Text(strip_mentions(t))),
                None => Some(Input::Unsupported),
            }
        }
        "conversationUpdate" => {
            let bot = activity["recipient"]["id"].as_str()?;
            let added = activity["membersAdded"].as_array()?;
            added
                .iter()
                .any(|m| m["id"].as_str() == Some(bot))
                .then_some(Input::Follow)
        }
        _ => None,
    }
}

/// Removes `<at>…</at>` mentions (the bot's name in channel messages) and HTML line breaks.
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<at>") {
        out.push_str(&rest[..i]);
        match rest[i..].find("</at>") {
            Some(j) => rest = &rest[i + j + "</at>".len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("<br>", "\n")
        .replace("&nbsp;", " ")
        .trim()
        .to_owned()
}

/// Renders a turn's replies as one Bot Framework message activity: plain replies as its text,
/// the others as Adaptive Card attachments. One activity per turn, so a retried send cannot
/// deliver half a turn twice.
pub fn render(replies: &[Reply]) -> Value {
    let mut texts = vec![];
    let mut attachments = vec![];
    for r in replies {
        let a = render_one(r);
        match a.get("attachments").and_then(Value::as_array) {
            Some(atts) => attachments.extend(atts.iter().cloned()),
            None => texts.push(a["text"].as_str().unwrap_or_default().to_owned()),
        }
    }
    let mut activity = json!({ "type": "message" });
    if !texts.is_empty() {
        activity["text"] = json!(texts.join("\n\n"));
        activity["textFormat"] = json!("plain");
    }
    if !attachments.is_empty() {
        activity["summary"] = json!(
            replies
                .iter()
                .map(Reply::plain)
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(200)
                .collect::<String>()
        );
        activity["attachmentLayout"] = json!("list");
        activity["attachments"] = json!(attachments);
    }
    activity
}

fn submit(a: &Action) -> Value {
    match &a.url {
        Some(url) => json!({ "type": "Action.OpenUrl", "title": a.label, "url": url }),
        None => {
            json!({ "type": "Action.Submit", "title": a.label, "data": { "cmd": a.command.encode(), "label": a.label } })
        }
    }
}

fn card(body: Vec<Value>, actions: Vec<Value>, fallback: &str) -> Value {
    json!({
        "type": "message",
        "summary": fallback.chars().take(200).collect::<String>(),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "type": "AdaptiveCard",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4",
                "fallbackText": fallback.chars().take(1000).collect::<String>(),
                "body": body,
                "actions": actions,
            }
        }]
    })
}

fn render_one(r: &Reply) -> Value {
    match r {
        Reply::Text { text, actions } if actions.is_empty() => {
            json!({ "type": "message", "text": text, "textFormat": "plain" })
        }
        Reply::Text { text, actions } => card(
            vec![json!({ "type": "TextBlock", "text": text, "wrap": true })],
            actions.iter().map(submit).collect(),
            text,
        ),
        Reply::Answer {
            question,
            answer,
            actions,
            ..
        } => card(
            vec![
                json!({ "type": "TextBlock", "text": "FAQ", "size": "Small", "isSubtle": true }),
                json!({ "type": "TextBlock", "text": question, "weight": "Bolder", "wrap": true }),
                json!({ "type": "TextBlock", "text": answer, "wrap": true }),
            ],
            actions.iter().map(submit).collect(),
            &r.plain(),
        ),
        Reply::Choices {
            intro,
            options,
            actions,
        } => {
            let mut acts: Vec<Value> = options
                .iter()
                .enumerate()
                .map(|(i, (id, q))| {
                    submit(&Action::new(&format!("{}. {q}", i + 1), Command::Show(*id)))
                })
                .collect();
            acts.extend(actions.iter().map(submit));
            card(
                vec![json!({ "type": "TextBlock", "text": intro, "wrap": true })],
                acts,
                &r.plain(),
            )
        }
    }
}

/// What the connector said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// 429 (with the `Retry-After` seconds when given), 5xx, or a network error.
    Retry {
        error: String,
        after: Option<u64>,
    },
    Permanent(String),
}

/// The Bot Connector client: a client-credentials token, cached until shortly before it
/// expires, and the conversation APIs.
pub struct Connector {
    http: reqwest::Client,
    token_endpoint: String,
    app_id: String,
    password: Secret,
    scope: String,
    token: Mutex<Option<(Secret, Instant)>>,
}

impl Connector {
    pub fn new(cfg: &TeamsConfig) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()?,
            token_endpoint: cfg.token_endpoint.clone(),
            app_id: cfg.app_id.clone(),
            password: cfg.app_password.clone(),
            scope: cfg.scope.clone(),
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
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.password.expose()),
            ("scope", self.scope.as_str()),
        ];
        let res = self
            .http
            .post(&self.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| Outcome::Retry {
                error: format!("token endpoint unreachable: {e}"),
                after: None,
            })?;
        let status = res.status();
        if !status.is_success() {
            let e = format!("token endpoint answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                Outcome::Retry {
                    error: e,
                    after: None,
                }
            } else {
                Outcome::Permanent(e)
            });
        }
        let v: Value = res.json().await.map_err(|e| Outcome::Retry {
            error: format!("token response: {e}"),
            after: None,
        })?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| Outcome::Permanent("token response without access_token".to_owned()))?;
        let ttl = v["expires_in"]
            .as_u64()
            .unwrap_or(3600)
            .saturating_sub(300)
            .max(30);
        let t = Secret::new(token);
        *cached = Some((t.clone(), Instant::now() + Duration::from_secs(ttl)));
        Ok(t)
    }

    /// Sends an activity to a conversation, as a reply to `reply_to` when given.
    pub async fn send(
        &self,
        service_url: &str,
        conversation: &str,
        reply_to: Option<&str>,
        activity: &Value,
    ) -> Outcome {
        let token = match self.token().await {
            Ok(t) => t,
            Err(o) => return o,
        };
        let base = service_url.trim_end_matches('/');
        let conv = encode_segment(conversation);
        let url = match reply_to {
            Some(id) => format!(
                "{base}/v3/conversations/{conv}/activities/{}",
                encode_segment(id)
            ),
            None => format!("{base}/v3/conversations/{conv}/activities"),
        };
        let res = match self
            .http
            .post(&url)
            .bearer_auth(token.expose())
            .json(activity)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    error: format!("connector unreachable: {e}"),
                    after: None,
                };
            }
        };
        let status = res.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        if status.as_u16() == 401 {
            // A token the connector no longer takes: fetch a new one next time.
            *self.token.lock().await = None;
        }
        let after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let error = format!("{} {body}", status.as_u16());
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 401 {
            Outcome::Retry { error, after }
        } else {
            Outcome::Permanent(error)
        }
    }

    /// The member's profile (`email`, `userPrincipalName`, `aadObjectId`), to link the
    /// account to a person.
    pub async fn member(
        &self,
        service_url: &str,
        conversation: &str,
        user_id: &str,
    ) -> anyhow::Result<Value> {
        let token = self.token().await.map_err(|o| anyhow::anyhow!("{o:?}"))?;
        let url = format!(
            "{}/v3/conversations/{}/members/{}",
            service_url.trim_end_matches('/'),
            encode_segment(conversation),
            encode_segment(user_id)
        );
        let res = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .send()
            .await?
            .error_for_status()?;
        Ok(res.json().await?)
    }
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a Teams outgoing webhook's `Authorization: HMAC <base64>` (HMAC-SHA256 over the raw
/// body with the base64-decoded security token), in constant time.
pub fn verify_outgoing(secret: &Secret, body: &[u8], authorization: Option<&str>) -> bool {
    let Some(sig) = authorization.and_then(|h| h.strip_prefix("HMAC ")) else {
        return false;
    };
    let Ok(key) = base64::engine::general_purpose::STANDARD.decode(secret.expose().trim()) else {
        return false;
    };
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped_from_channel_messages() {
        assert_eq!(
            strip_mentions("<at>窓口ボット</at> プリンタが使えない"),
            "プリンタが使えない"
        );
        assert_eq!(
            strip_mentions("VPNにつながらない<br>至急"),
            "VPNにつながらない\n至急"
        );
        assert_eq!(strip_mentions("<at>unterminated"), "");
    }

    #[test]
    fn outgoing_webhook_hmac_uses_the_decoded_token() {
        let key = b"0123456789abcdef0123456789abcdef";
        let secret = Secret::new(base64::engine::general_purpose::STANDARD.encode(key));
        let body = br#"{"type":"message","text":"hi"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(body);
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert!(verify_outgoing(&secret, body, Some(&format!("HMAC {sig}"))));
        assert!(!verify_outgoing(
            &secret,
            b"{}",
            Some(&format!("HMAC {sig}"))
        ));
        assert!(!verify_outgoing(&secret, body, Some(&sig)));
        assert!(!verify_outgoing(&secret, body, None));
    }

    #[test]
    fn submits_carry_the_command_and_text_replies_without_buttons_are_plain() {
        let id = Uuid::now_v7();
        let a = render(&[
            Reply::Text {
                text: "こんにちは".into(),
                actions: vec![],
            },
            Reply::Answer {
                faq: id,
                question: "Q".into(),
                answer: "A".into(),
                actions: vec![Action::new(
                    "解決した",
                    Command::Vote {
                        faq: id,
                        helpful: true,
                    },
                )],
            },
        ]);
        assert_eq!(a["type"], "message");
        assert_eq!(a["text"], "こんにちは");
        let card = &a["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(
            card["content"]["actions"][0]["data"]["cmd"],
            format!("vote:{id}:1")
        );
        let activity = json!({ "type": "message", "value": card["content"]["actions"][0]["data"] });
        assert_eq!(
            input(&activity),
            Some(Input::Command {
                command: Command::Vote {
                    faq: id,
                    helpful: true
                },
                label: Some("解決した".into())
            })
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(
            encode_segment("a:b@thread.tacv2;messageid=1"),
            "a:b@thread.tacv2%3Bmessageid%3D1"
        );
    }
}
