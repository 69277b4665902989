//! Webhook intake with group commit: a webhook's events become jobs before it is answered,
//! and the jobs of webhooks arriving together are written in one transaction. 200 webhooks at
//! once cost a handful of commits, not 200, so the platforms get their 200 within their
//! deadline (LINE: 2 s) even on SQLite's single writer.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};
use service::jobs::{self, NewJob};
use tokio::sync::{Notify, mpsc, oneshot};

/// Jobs of one webhook, and where to say they are stored.
struct Batch {
    jobs: Vec<NewJob>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle webhook handlers submit to (cheap to clone).
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Batch>,
}

/// Largest number of webhooks committed together.
const GROUP: usize = 256;

impl Intake {
    /// Starts the writer task; `wake` is notified after each commit so the worker starts at once.
    pub fn start(db: DatabaseConnection, wake: Arc<Notify>) -> Self {
        let (tx, rx) = mpsc::channel::<Batch>(4096);
        tokio::spawn(writer(db, rx, wake));
        Self { tx }
    }

    /// Stores a webhook's jobs (a job already stored under the same kind and dedupe key, a
    /// redelivered event, is left as it is). Returns once they are committed.
    pub async fn submit(&self, jobs: Vec<NewJob>) -> Result<(), String> {
        if jobs.is_empty() {
            return Ok(());
        }
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Batch { jobs, done })
            .await
            .map_err(|_| "intake stopped".to_owned())?;
        rx.await.map_err(|_| "intake stopped".to_owned())?
    }
}

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Batch>, wake: Arc<Notify>) {
    let mut group: Vec<Batch> = Vec::with_capacity(GROUP);
    while rx.recv_many(&mut group, GROUP).await > 0 {
        let result = commit(&db, &group).await.map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, webhooks = group.len(), "storing webhook events failed; the platform will redeliver");
        } else {
            wake.notify_one();
        }
        for b in group.drain(..) {
            let _ = b.done.send(result.clone());
        }
    }
}

async fn commit(db: &DatabaseConnection, group: &[Batch]) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    let now = service::tickets::now();
    let all = group.iter().flat_map(|b| b.jobs.iter().cloned());
    jobs::enqueue_many(&txn, all, now)
        .await
        .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    txn.commit().await
}
