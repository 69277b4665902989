//! The ways in, sharing one pipeline: store every message's raw bytes (one transaction per
//! batch), then process what is new. The MTA pipe and a maildir folder live here; IMAP in
//! `imap.rs`.

use anyhow::Context;
use sea_orm::DatabaseConnection;
use service::mail::{self, Addresses, ProcessOptions, ProcessReport, Stored};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// What one ingest call did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Per message, in input order.
    pub stored: Vec<Stored>,
    pub processed: ProcessReport,
}

/// One message to ingest: its bytes and where it came from within the source.
pub struct RawMail {
    pub bytes: Vec<u8>,
    pub source_ref: Option<String>,
}

/// Stores then processes a batch. `tenant` overrides the choice by recipient address.
///
/// Once storing returned, the messages are safe: a failure while processing leaves them
/// waiting, and [`process_pending`] takes them up later. The error of this function says
/// which of the two failed (see [`IngestError`]).
pub async fn ingest(
    db: &DatabaseConnection,
    source: &str,
    tenant: Option<Uuid>,
    mails: &[RawMail],
) -> Result<IngestReport, IngestError> {
    let addresses = Addresses::load(db)
        .await
        .map_err(|e| IngestError::Store(e.into()))?;
    let envelopes: Vec<_> = mails
        .iter()
        .map(|m| {
            super::envelope(&m.bytes, source, m.source_ref.clone(), |rcpts| {
                tenant.or_else(|| addresses.tenant_for(rcpts.iter().map(String::as_str)))
            })
        })
        .collect();
    let items: Vec<_> = envelopes
        .into_iter()
        .zip(mails.iter().map(|m| m.bytes.as_slice()))
        .collect();
    let stored = mail::store_batch(db, &items, service::tickets::now())
        .await
        .map_err(|e| IngestError::Store(e.into()))?;
    let waiting: Vec<Uuid> = stored
        .iter()
        .filter_map(|s| match s {
            Stored::New(id) => Some(*id),
            Stored::Duplicate {
                id,
                status: entity::MailStatus::Received,
            } => Some(*id),
            Stored::Duplicate { .. } => None,
        })
        .collect();
    let processed = mail::process_ids(
        db,
        &addresses,
        &super::parse,
        &waiting,
        ProcessOptions::default(),
    )
    .await
    .map_err(|e| IngestError::Process {
        stored: stored.clone(),
        error: e.into(),
    })?;
    Ok(IngestReport { stored, processed })
}

/// Why [`ingest`] failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Nothing was stored: the sender must try again (an MTA pipe exits 75).
    #[error("could not store the mail: {0:#}")]
    Store(anyhow::Error),
    /// Stored, not processed: it waits for the next processing run.
    #[error("stored, but processing failed (it will be retried): {error:#}")]
    Process {
        stored: Vec<Stored>,
        error: anyhow::Error,
    },
}

/// Processes stored mail that waits (after a crash, or when processing failed before).
pub async fn process_pending(db: &DatabaseConnection, limit: u64) -> anyhow::Result<ProcessReport> {
    Ok(mail::process_pending(db, &super::parse, limit).await?)
}

/// Retries quarantined messages (an agent's decision: no sender rate cap).
pub async fn retry(db: &DatabaseConnection, ids: &[Uuid]) -> anyhow::Result<ProcessReport> {
    let addresses = Addresses::load(db).await?;
    Ok(mail::process_ids(
        db,
        &addresses,
        &super::parse,
        ids,
        ProcessOptions { retry: true },
    )
    .await?)
}

/// A maildir folder (`new/`, `cur/`, `tmp/`) that a delivery agent fills.
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Messages waiting in `new/`, oldest name first (delivery agents name files by time).
    pub fn waiting(&self, limit: usize) -> anyhow::Result<Vec<PathBuf>> {
        let dir = self.root.join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        files.truncate(limit);
        Ok(files)
    }

    /// Ingests up to `batch` messages from `new/`; each file moves to `cur/` (flagged seen)
    /// only after its message is stored and processed. Returns how many were taken.
    pub async fn ingest_once(
        &self,
        db: &DatabaseConnection,
        tenant: Option<Uuid>,
        batch: usize,
    ) -> anyhow::Result<(usize, ProcessReport)> {
        let files = self.waiting(batch)?;
        if files.is_empty() {
            return Ok((0, ProcessReport::default()));
        }
        let mut mails = Vec::with_capacity(files.len());
        for f in &files {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            mails.push(RawMail {
                bytes,
                source_ref: name,
            });
        }
        let report = match ingest(db, "maildir", tenant, &mails).await {
            Ok(r) => r.processed,
            // Stored but not processed: the files may go; the rows wait for a later run.
            Err(IngestError::Process { error, .. }) => {
                tracing::warn!(error = %error, "maildir batch stored, processing deferred");
                ProcessReport::default()
            }
            Err(e @ IngestError::Store(_)) => return Err(e.into()),
        };
        for f in &files {
            move_to_cur(&self.root, f)?;
        }
        Ok((files.len(), report))
    }
}

fn move_to_cur(root: &Path, file: &Path) -> anyhow::Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name).to_owned();
    let target = root.join("cur").join(format!("{base}:2,S"));
    std::fs::create_dir_all(root.join("cur"))?;
    std::fs::rename(file, &target).with_context(|| format!("moving {} to cur/", file.display()))?;
    Ok(())
}
