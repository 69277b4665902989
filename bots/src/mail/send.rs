//! The way out: mail that `service::mail::outbound` queued, sent over SMTP with lettre.
//!
//! A worker claims `mail.send` jobs, renders each message (UTF-8, or ISO-2022-JP for a
//! tenant whose receivers need it), hands it to the SMTP server, and records the result in
//! the same transaction that completes the job. A temporary failure (4xx, a refused
//! connection, a timeout) is retried with backoff; a permanent one (5xx) marks the mail
//! failed with an event on its ticket. A crash between the server's acceptance and the
//! commit sends the mail again with the same Message-ID (at least once, never lost).

use anyhow::Context;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::{Deserialize, Serialize};
use service::Secret;
use service::jobs::{self, Retry};
use service::mail::outbound::{self, Outgoing, SEND_JOB};
use std::path::PathBuf;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

use super::net::{Conn, tls_config};

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTPS 465, IMAPS 993).
    #[default]
    Tls,
    /// Plain connection upgraded with STARTTLS before logging in; refused if the server
    /// does not offer it.
    StartTls,
    /// No encryption: for a relay on the same host only.
    None,
}

/// The SMTP server replies go out through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Secret,
    /// A PEM file of certificates to trust besides the system's (a self-signed server).
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
    /// Messages per round.
    pub batch: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 25,
            security: Security::None,
            username: None,
            password: Secret::default(),
            ca_file: None,
            timeout_secs: 30,
            batch: 50,
        }
    }
}

/// What one sending round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    /// Failed for now; will be tried again.
    pub deferred: usize,
    /// Given up (permanent error or out of attempts).
    pub failed: usize,
}

/// Sends queued mail through one SMTP server, over one connection per round.
pub struct Sender {
    cfg: SmtpConfig,
    /// For SMTPS (TLS from the first byte).
    tls: Option<TlsConnector>,
    /// For STARTTLS, which lettre performs on the open connection.
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
}

/// How long a worker holds a job before another may take it.
const LEASE_SECS: i64 = 300;

impl Sender {
    pub fn new(cfg: &SmtpConfig) -> anyhow::Result<Self> {
        let (mut tls, mut starttls) = (None, None);
        match cfg.security {
            Security::Tls => tls = Some(TlsConnector::from(tls_config(cfg.ca_file.as_ref())?)),
            Security::StartTls => {
                let mut p = TlsParameters::builder(cfg.host.clone());
                if let Some(f) = &cfg.ca_file {
                    let pem =
                        std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
                    p = p.add_root_certificate(Certificate::from_pem(&pem).context("ca_file")?);
                }
                starttls = Some(p.build_rustls().context("TLS parameters")?);
            }
            Security::None => {}
        }
        let credentials = cfg
            .username
            .as_ref()
            .map(|u| Credentials::new(u.clone(), cfg.password.expose().to_owned()));
        Ok(Self {
            cfg: cfg.clone(),
            tls,
            starttls,
            credentials,
            hello: ClientId::default(),
        })
    }

    /// Opens a connection: TCP without Nagle, TLS as configured, EHLO, AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let c = &self.cfg;
        let timeout = std::time::Duration::from_secs(c.timeout_secs.max(1));
        let tcp = Conn::tcp(&c.host, c.port, timeout)
            .await
            .map_err(SmtpError::Connect)?;
        let conn = match &self.tls {
            Some(tls) => Conn::tls(tls, &c.host, tcp)
                .await
                .map_err(SmtpError::Connect)?,
            None => Conn::Plain(tcp),
        };
        let mut smtp =
            AsyncSmtpConnection::connect_with_transport(Box::new(conn), &self.hello).await?;
        if let Some(p) = &self.starttls {
            smtp.starttls(p.clone(), &self.hello).await?;
        }
        if let Some(creds) = &self.credentials {
            smtp.auth(&[Mechanism::Plain, Mechanism::Login], creds)
                .await?;
        }
        Ok(smtp)
    }

    /// Sends what is due at `now`. Errors are the database's; SMTP errors are recorded on
    /// the mail and its job.
    pub async fn send_due(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> anyhow::Result<SendReport> {
        let mut report = SendReport::default();
        let claimed = jobs::claim(
            db,
            SEND_JOB,
            Duration::seconds(LEASE_SECS),
            self.cfg.batch.max(1),
            now,
        )
        .await?;
        let mut conn: Option<AsyncSmtpConnection> = None;
        for job in claimed {
            let id = job
                .payload
                .get("outboundId")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok());
            let Some(out) = (match id {
                Some(id) => outbound::load(db, id).await?,
                None => None,
            }) else {
                // Sent already (the job's completion was lost) or gone: nothing to do.
                jobs::complete(db, job.id, now).await?;
                continue;
            };
            let result = match render(&out) {
                Ok(msg) => self.deliver(&mut conn, &msg).await,
                Err(e) => Err((format!("メールを組み立てられません: {e:#}"), true)),
            };
            let txn = db.begin().await?;
            let at = service::tickets::now();
            match result {
                Ok(()) => {
                    outbound::mark_sent(&txn, &out.mail, at).await?;
                    jobs::complete(&txn, job.id, at).await?;
                    report.sent += 1;
                }
                Err((error, permanent)) => {
                    tracing::warn!(outbound = %out.mail.id, attempts = job.attempts, error = %error, "mail not sent");
                    match jobs::fail(&txn, &job, &error, permanent, now).await? {
                        Retry::At(_) => {
                            outbound::note_error(&txn, &out.mail, &error).await?;
                            report.deferred += 1;
                        }
                        Retry::GaveUp => {
                            outbound::mark_failed(&txn, &out.mail, &error, at).await?;
                            report.failed += 1;
                        }
                    }
                }
            }
            txn.commit().await?;
        }
        if let Some(mut c) = conn {
            let _ = c.quit().await;
        }
        Ok(report)
    }

    /// Hands one message to the server on the round's connection (opened on first use, and
    /// again after a broken one). `Err((reason, permanent))`.
    async fn deliver(
        &self,
        conn: &mut Option<AsyncSmtpConnection>,
        msg: &Message,
    ) -> Result<(), (String, bool)> {
        if conn.as_ref().is_some_and(AsyncSmtpConnection::has_broken) {
            *conn = None;
        }
        let c = match conn {
            Some(c) => c,
            None => match self.connect().await {
                Ok(c) => conn.insert(c),
                Err(e) => return Err((e.to_string(), e.is_permanent())),
            },
        };
        let result = c.send(msg.envelope(), &msg.formatted()).await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let permanent = e.is_permanent();
                // After a refused recipient the server expects a new transaction: RSET. A
                // temporary failure, or a failed RSET, starts over on a new connection.
                let reusable = permanent
                    && c.command(lettre::transport::smtp::commands::Rset)
                        .await
                        .is_ok();
                if !reusable {
                    *conn = None;
                }
                Err((format!("SMTP: {e}"), permanent))
            }
        }
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
enum SmtpError {
    #[error("SMTP: {0:#}")]
    Connect(anyhow::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl SmtpError {
    fn is_permanent(&self) -> bool {
        matches!(self, SmtpError::Smtp(e) if e.is_permanent())
    }
}

/// Renders a queued mail as a MIME message in its charset.
pub fn render(out: &Outgoing) -> anyhow::Result<Message> {
    let m = &out.mail;
    let iso = m.charset.eq_ignore_ascii_case("iso-2022-jp");
    let from_addr: lettre::Address = out.from_address.parse().context("From address")?;
    let to_addr: lettre::Address = m.to_address.parse().context("To address")?;
    let mut b = Message::builder()
        .message_id(Some(format!("<{}>", m.message_id)))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".to_owned(),
        ));
    if iso {
        // lettre would write UTF-8 encoded words; old receivers need ISO-2022-JP ones.
        b = b
            .raw_header(pre_encoded(
                "From",
                format!("{} <{from_addr}>", out.from_name),
                format!("{} <{from_addr}>", encoded_words(&out.from_name)),
            ))
            .raw_header(pre_encoded(
                "Subject",
                m.subject.clone(),
                encoded_words(&m.subject),
            ));
    } else {
        b = b
            .from(Mailbox::new(Some(out.from_name.clone()), from_addr.clone()))
            .subject(m.subject.clone());
    }
    let mut rcpts = vec![to_addr.clone()];
    b = b.to(Mailbox::new(None, to_addr));
    for cc in &out.cc {
        if let Ok(a) = cc.parse::<lettre::Address>() {
            rcpts.push(a.clone());
            b = b.cc(Mailbox::new(None, a));
        }
    }
    // Set explicitly: lettre cannot derive it from a pre-encoded From.
    b = b.envelope(lettre::address::Envelope::new(Some(from_addr), rcpts).context("envelope")?);
    if let Some(r) = &m.in_reply_to {
        b = b.in_reply_to(format!("<{r}>"));
    }
    let refs: Vec<String> = m
        .references
        .split_whitespace()
        .map(|r| format!("<{r}>"))
        .collect();
    if !refs.is_empty() {
        b = b.references(refs.join(" "));
    }
    if m.kind == "ack" {
        // RFC 3834: an automatic answer, so other responders do not answer it.
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".to_owned(),
        ));
    }
    let msg = if iso {
        let bytes = encode_iso2022jp(&m.body);
        // 7bit as Japanese mailers send it (lettre's own check refuses the escape bytes);
        // base64 when a line is too long for SMTP (998 bytes).
        let body = if bytes.split(|b| *b == b'\n').all(|l| l.len() < 998) {
            Body::dangerous_pre_encoded(bytes, ContentTransferEncoding::SevenBit)
        } else {
            Body::new_with_encoding(bytes, ContentTransferEncoding::Base64)
                .map_err(|_| anyhow::anyhow!("ISO-2022-JP body cannot be encoded"))?
        };
        b.header(ContentType::parse("text/plain; charset=ISO-2022-JP").context("content type")?)
            .body(body)?
    } else {
        b.header(ContentType::TEXT_PLAIN).body(m.body.clone())?
    };
    Ok(msg)
}

/// A header written as `encoded` (already RFC 2047 and folded), read back by lettre as `raw`.
fn pre_encoded(name: &'static str, raw: String, encoded: String) -> HeaderValue {
    HeaderValue::dangerous_new_pre_encoded(HeaderName::new_from_ascii_str(name), raw, encoded)
}

/// Text in ISO-2022-JP as Japanese mail software writes it: JIS X 0208 with the NEC and IBM
/// extensions (①, ㈱, 髙), half-width kana widened; what has no JIS code becomes 〓.
pub fn encode_iso2022jp(text: &str) -> Vec<u8> {
    let enc = encoding_rs::ISO_2022_JP;
    let mut clean = String::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let (_, _, unmappable) = enc.encode(c.encode_utf8(&mut buf));
        clean.push(if unmappable { '〓' } else { c });
    }
    let crlf = clean.replace("\r\n", "\n").replace('\n', "\r\n");
    enc.encode(&crlf).0.into_owned()
}

/// RFC 2047 encoded words in ISO-2022-JP, each one self-contained (it ends back in ASCII)
/// and short enough for a 76-column line, folded with CRLF and a space.
pub fn encoded_words(text: &str) -> String {
    if text.is_ascii() && !text.contains("=?") {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    let flush = |chunk: &mut String, words: &mut Vec<String>| {
        if !chunk.is_empty() {
            let b64 = base64::engine::general_purpose::STANDARD.encode(encode_iso2022jp(chunk));
            words.push(format!("=?ISO-2022-JP?B?{b64}?="));
            chunk.clear();
        }
    };
    for c in text.chars() {
        chunk.push(c);
        // 11 two-byte characters plus escapes: 30 bytes, 40 in base64, 58 with the wrapper.
        if encode_iso2022jp(&chunk).len() > 28 {
            flush(&mut chunk, &mut words);
        }
    }
    flush(&mut chunk, &mut words);
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso2022jp_keeps_microsoft_extensions_and_widens_half_width_kana() {
        let b = encode_iso2022jp("①㈱髙 ﾃｽﾄ 😀");
        assert!(b.is_ascii(), "7-bit only");
        let (back, _, errors) = encoding_rs::ISO_2022_JP.decode(&b);
        assert!(!errors);
        assert_eq!(back, "①㈱髙 テスト 〓");
    }

    #[test]
    fn encoded_words_are_short_self_contained_and_decode_back() {
        let subject = "[HD-2026-000123] お問い合わせを受け付けました: 共有フォルダ（\\\\fs01\\share）に接続できない";
        let words = encoded_words(subject);
        for line in words.split("\r\n ") {
            assert!(line.len() <= 75, "{line}");
            let b64 = line
                .trim_start_matches("=?ISO-2022-JP?B?")
                .trim_end_matches("?=");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            let last_escape = raw.iter().rposition(|b| *b == 0x1b);
            assert!(
                last_escape.is_none_or(|i| raw[i..].starts_with(b"\x1b(B")),
                "ends in ASCII: {raw:?}"
            );
        }
        let header = format!("Subject: {words}\r\n\r\n");
        let parsed = mail_parser::MessageParser::default()
            .parse(header.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some(subject));
        assert_eq!(encoded_words("plain ascii"), "plain ascii");
    }
}
