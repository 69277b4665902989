//! The IMAP way in: a mailbox polled, or watched with IDLE where the server offers it.
//!
//! Position is kept per source in `mail_sources` as (UIDVALIDITY, last UID taken). Each
//! round fetches what is newer with `BODY.PEEK[]` (fetching does not mark it read), stores
//! and processes it through the one pipeline, and only after that transaction committed
//! flags the messages `\Seen` (or moves them to a folder) and advances the position. A crash
//! in between fetches them again; storing recognises them, so nothing is done twice. When
//! the server's UIDVALIDITY changes (the mailbox was rebuilt) the position restarts at 0 and
//! the mailbox is read again, with the same protection.

use anyhow::{Context, bail};
use async_imap::{Client, Session};
use chrono::Utc;
use entity::mail_source;
use futures::TryStreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use service::Secret;
use service::mail::ProcessReport;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

pub use super::net::Conn;
use super::net::tls_config;
use super::{IngestError, RawMail, Security, ingest};

/// What to do with a message on the server once its ticket is committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterProcessing {
    /// Flag it `\Seen` and leave it where it is.
    #[default]
    Seen,
    /// Move it to `move_to` (with MOVE, or COPY + `\Deleted` + EXPUNGE).
    Move,
}

/// One IMAP mailbox to read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ImapConfig {
    /// Names the position kept in the database; unique per mailbox.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Secret,
    pub mailbox: String,
    /// Tenant slug for every message; by default the recipient address decides.
    pub tenant: Option<String>,
    /// A PEM file of certificates to trust besides the system's (a self-signed server).
    pub ca_file: Option<PathBuf>,
    pub after: AfterProcessing,
    pub move_to: String,
    /// Use IDLE when the server offers it; otherwise poll every `poll_secs`.
    pub idle: bool,
    pub poll_secs: u64,
    /// Messages per transaction.
    pub batch: usize,
}

impl Default for ImapConfig {
    fn default() -> Self {
        Self {
            name: "imap".to_owned(),
            host: "localhost".to_owned(),
            port: 993,
            security: Security::Tls,
            username: String::new(),
            password: Secret::default(),
            mailbox: "INBOX".to_owned(),
            tenant: None,
            ca_file: None,
            after: AfterProcessing::Seen,
            move_to: "Processed".to_owned(),
            idle: true,
            poll_secs: 60,
            batch: 100,
        }
    }
}

/// What one round did.
#[derive(Debug, Default, Clone)]
pub struct ImapReport {
    pub fetched: usize,
    pub processed: ProcessReport,
    pub uid_validity: u32,
    pub last_uid: u32,
    /// The position was reset because the server's UIDVALIDITY changed.
    pub uid_validity_changed: bool,
    pub idle_supported: bool,
}

/// Reads one IMAP mailbox into the pipeline.
pub struct ImapPoller {
    cfg: ImapConfig,
    tenant: Option<Uuid>,
    tls: Option<TlsConnector>,
}

type ImapSession = Session<Conn>;

impl ImapPoller {
    /// `tenant`: the tenant every message goes to (resolved from `cfg.tenant` by the caller).
    pub fn new(cfg: ImapConfig, tenant: Option<Uuid>) -> anyhow::Result<Self> {
        let tls = match cfg.security {
            Security::None => None,
            _ => Some(TlsConnector::from(tls_config(cfg.ca_file.as_ref())?)),
        };
        Ok(Self { cfg, tenant, tls })
    }

    /// Connects, protects the connection as configured, and logs in.
    pub async fn connect(&self) -> anyhow::Result<ImapSession> {
        let c = &self.cfg;
        let tcp = Conn::tcp(&c.host, c.port, Duration::from_secs(30)).await?;
        let conn = match (c.security, &self.tls) {
            (Security::Tls, Some(tls)) => Conn::tls(tls, &c.host, tcp).await?,
            (Security::StartTls, Some(tls)) => {
                let mut client = Client::new(tcp);
                greeting(&mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .context("the server refused STARTTLS")?;
                Conn::tls(tls, &c.host, client.into_inner()).await?
            }
            _ => Conn::Plain(tcp),
        };
        let mut client = Client::new(conn);
        if c.security != Security::StartTls {
            greeting(&mut client).await?;
        }
        let session = client
            .login(&c.username, c.password.expose())
            .await
            .map_err(|(e, _)| anyhow::anyhow!("IMAP login as {} failed: {e}", c.username))?;
        Ok(session)
    }

    /// One connection: takes everything new, then logs out.
    pub async fn run_once(&self, db: &DatabaseConnection) -> anyhow::Result<ImapReport> {
        let mut s = self.connect().await?;
        let r = self.sync(&mut s, db).await;
        let _ = s.logout().await;
        r
    }

    /// Takes everything new in the mailbox, batch by batch.
    pub async fn sync(
        &self,
        s: &mut ImapSession,
        db: &DatabaseConnection,
    ) -> anyhow::Result<ImapReport> {
        let caps = s.capabilities().await.context("CAPABILITY")?;
        let can_move = caps.has_str("MOVE");
        let can_uid_expunge = caps.has_str("UIDPLUS");
        let mbox = s
            .select(mailbox_name(&self.cfg.mailbox))
            .await
            .with_context(|| format!("SELECT {}", self.cfg.mailbox))?;
        let move_to = mailbox_name(&self.cfg.move_to);
        let validity = mbox.uid_validity.unwrap_or(0);
        let mut report = ImapReport {
            uid_validity: validity,
            idle_supported: caps.has_str("IDLE"),
            ..Default::default()
        };
        let stored = mail_source::Entity::find_by_id(self.cfg.name.clone())
            .one(db)
            .await?;
        let mut last = match &stored {
            Some(p) if p.uid_validity == i64::from(validity) => {
                u32::try_from(p.last_uid).unwrap_or(0)
            }
            Some(p) => {
                tracing::warn!(source = %self.cfg.name, old = p.uid_validity, new = validity, "UIDVALIDITY changed; reading the mailbox again");
                report.uid_validity_changed = true;
                0
            }
            None => 0,
        };
        if stored.is_none() || report.uid_validity_changed {
            save_position(db, &self.cfg.name, validity, last, report.idle_supported).await?;
        }
        loop {
            let mut uids: Vec<u32> = s
                .uid_search(format!("UID {}:*", last + 1))
                .await
                .context("UID SEARCH")?
                .into_iter()
                .filter(|u| *u > last)
                .collect();
            if uids.is_empty() {
                break;
            }
            uids.sort_unstable();
            uids.truncate(self.cfg.batch.max(1));
            let set = uid_set(&uids);
            let mut mails = Vec::with_capacity(uids.len());
            {
                let fetches: Vec<_> = s
                    .uid_fetch(&set, "(UID BODY.PEEK[])")
                    .await
                    .context("UID FETCH")?
                    .try_collect()
                    .await
                    .context("UID FETCH")?;
                for f in fetches {
                    if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                        mails.push((
                            uid,
                            RawMail {
                                bytes: body.to_vec(),
                                source_ref: Some(format!("{}:{validity}:{uid}", self.cfg.name)),
                            },
                        ));
                    }
                }
            }
            mails.sort_by_key(|(u, _)| *u);
            let taken: Vec<u32> = mails.iter().map(|(u, _)| *u).collect();
            let missing: Vec<u32> = uids
                .iter()
                .copied()
                .filter(|u| !taken.contains(u))
                .collect();
            if !missing.is_empty() {
                // Expunged between SEARCH and FETCH (another client moved or deleted them).
                tracing::warn!(source = %self.cfg.name, uids = %uid_set(&missing), "IMAP returned no body for these messages; skipped");
            }
            let raws: Vec<RawMail> = mails.into_iter().map(|(_, m)| m).collect();
            match ingest(db, "imap", self.tenant, &raws).await {
                Ok(r) => {
                    report.fetched += raws.len();
                    merge(&mut report.processed, r.processed);
                }
                // Stored but not processed: leave them unmarked; the next round takes them
                // again, storing finds them, and processing is retried.
                Err(IngestError::Process { error, .. }) => {
                    return Err(error.context("processing fetched mail (stored; will be retried)"));
                }
                Err(e) => return Err(e.into()),
            }
            // Committed: now the server may be told.
            let done = uid_set(&taken);
            if !taken.is_empty() {
                match self.cfg.after {
                    AfterProcessing::Seen => add_flag(s, &done, "\\Seen").await?,
                    AfterProcessing::Move if can_move => {
                        s.uid_mv(&done, &move_to).await.context("UID MOVE")?;
                    }
                    AfterProcessing::Move => {
                        s.uid_copy(&done, &move_to).await.context("UID COPY")?;
                        add_flag(s, &done, "\\Deleted").await?;
                        if can_uid_expunge {
                            let _: Vec<_> = s.uid_expunge(&done).await?.try_collect().await?;
                        } else {
                            let _: Vec<_> = s.expunge().await?.try_collect().await?;
                        }
                    }
                }
            }
            // The highest UID looked at, even one the server did not return a body for.
            last = uids.last().copied().unwrap_or(last).max(last);
            save_position(db, &self.cfg.name, validity, last, report.idle_supported).await?;
        }
        report.last_uid = last;
        Ok(report)
    }

    /// Reads the mailbox until `stop`: IDLE where offered (re-issued every `idle` minutes
    /// at most, as RFC 2177 advises), else polling; reconnects with backoff after errors.
    pub async fn run(&self, db: DatabaseConnection, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        while !*stop.borrow() {
            let r = self.session_loop(&db, &mut stop).await;
            if *stop.borrow() {
                break;
            }
            if let Err(e) = r {
                tracing::warn!(source = %self.cfg.name, error = %format!("{e:#}"), retry_in = ?backoff, "IMAP");
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => break,
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }

    async fn session_loop(
        &self,
        db: &DatabaseConnection,
        stop: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let mut s = self.connect().await?;
        loop {
            let r = self.sync(&mut s, db).await?;
            if r.fetched > 0 {
                let p = &r.processed;
                tracing::info!(source = %self.cfg.name, messages = r.fetched, created = p.created, commented = p.commented, ignored = p.ignored, quarantined = p.quarantined, "imap");
            }
            if self.cfg.idle && r.idle_supported {
                let mut idle = s.idle();
                idle.init().await.context("IDLE")?;
                let (wait, interrupt) = idle.wait_with_timeout(Duration::from_secs(25 * 60));
                let stopped = tokio::select! {
                    r = wait => { r.context("IDLE")?; false }
                    _ = stop.changed() => true,
                };
                drop(interrupt);
                s = idle.done().await.context("IDLE DONE")?;
                if stopped {
                    let _ = s.logout().await;
                    return Ok(());
                }
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(self.cfg.poll_secs.max(1))) => {}
                    _ = stop.changed() => {
                        let _ = s.logout().await;
                        return Ok(());
                    }
                }
                s.noop().await.context("NOOP")?;
            }
        }
    }
}

async fn greeting<T>(client: &mut Client<T>) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match client
        .read_response()
        .await
        .context("reading the greeting")?
    {
        Some(_) => Ok(()),
        None => bail!("the server closed the connection before greeting"),
    }
}

async fn add_flag(s: &mut ImapSession, uids: &str, flag: &str) -> anyhow::Result<()> {
    let _: Vec<_> = s
        .uid_store(uids, format!("+FLAGS.SILENT ({flag})"))
        .await
        .context("UID STORE")?
        .try_collect()
        .await
        .context("UID STORE")?;
    Ok(())
}

async fn save_position(
    db: &DatabaseConnection,
    name: &str,
    validity: u32,
    last: u32,
    idle: bool,
) -> anyhow::Result<()> {
    let row = mail_source::ActiveModel {
        name: Set(name.to_owned()),
        uid_validity: Set(i64::from(validity)),
        last_uid: Set(i64::from(last)),
        idle_supported: Set(idle),
        updated_at: Set(Utc::now()),
    };
    mail_source::Entity::insert(row)
        .on_conflict(
            OnConflict::column(mail_source::Column::Name)
                .update_columns([
                    mail_source::Column::UidValidity,
                    mail_source::Column::LastUid,
                    mail_source::Column::IdleSupported,
                    mail_source::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn merge(into: &mut ProcessReport, r: ProcessReport) {
    into.created += r.created;
    into.commented += r.commented;
    into.bounced += r.bounced;
    into.ignored += r.ignored;
    into.quarantined += r.quarantined;
    into.already_done += r.already_done;
    into.careful_batches += r.careful_batches;
    into.outcomes.extend(r.outcomes);
}

/// A mailbox name as IMAP writes it (RFC 3501 modified UTF-7): `処理済み` → `&UeZ0Bm4IMH8-`,
/// so Japanese folder names work on servers without UTF8=ACCEPT.
pub fn mailbox_name(name: &str) -> String {
    use base64::Engine;
    const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::IMAP_MUTF7,
        base64::engine::general_purpose::NO_PAD,
    );
    let mut out = String::with_capacity(name.len());
    let mut wide: Vec<u16> = Vec::new();
    let flush = |wide: &mut Vec<u16>, out: &mut String| {
        if !wide.is_empty() {
            let bytes: Vec<u8> = wide.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&B64.encode(bytes));
            out.push('-');
            wide.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut wide, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            wide.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut wide, &mut out);
    out
}

/// `1:3,7,9:10` from sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_names_are_modified_utf7() {
        // RFC 3501's own example: ~peter/mail/台北/日本語
        assert_eq!(
            mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("A&B"), "A&-B");
        assert_eq!(mailbox_name("処理済み"), "&UeZ0Bm4IMH8-");
    }

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }
}
