//! Webhook intake with group commit: a webhook's events become jobs before it is answered,
//! and the jobs of webhooks arriving together are written in one transaction. 200 webhooks at
//! once cost a handful of commits, not 200, so the platforms get their 200 within their
//! deadline (LINE: 2 s) even on SQLite's single writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::{DatabaseConnection, TransactionTrait};
use service::jobs::{self, Claimed, NewJob};
use tokio::sync::{Notify, mpsc, oneshot};

/// Where the intake hands the events it stored to a worker in the same process, and the lease
/// they are stored with.
type Handoff = Arc<std::sync::OnceLock<(mpsc::UnboundedSender<Vec<Claimed>>, chrono::Duration)>>;

/// Jobs of one webhook, and where to say they are stored.
struct Batch {
    jobs: Vec<NewJob>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle webhook handlers submit to (cheap to clone).
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Batch>,
    busy: Arc<Busy>,
    handoff: Handoff,
}

/// Webhooks being taken in (from their handler's start to their answer).
#[derive(Default)]
struct Busy {
    webhooks: AtomicUsize,
    quiet: Notify,
}

impl Busy {
    fn arrive(self: &Arc<Self>) -> Arrival {
        self.webhooks.fetch_add(1, Ordering::AcqRel);
        Arrival(Arc::clone(self))
    }
}

/// A webhook being taken in; dropped when it is answered.
pub struct Arrival(Arc<Busy>);

impl Drop for Arrival {
    fn drop(&mut self) {
        if self.0.webhooks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.quiet.notify_waiters();
        }
    }
}

/// Lets the worker give way to webhooks being taken in (see [`Quiet::wait`]).
#[derive(Clone)]
pub struct Quiet(Arc<Busy>);

impl Quiet {
    /// Waits until no webhook is being taken in, or `at_most`. Acknowledgements come first:
    /// a burst of webhooks (200 at once in the load test) is answered while the turns wait,
    /// instead of each acknowledgement sharing the cores and SQLite's writer with the turns
    /// started by the webhooks before it. The bound keeps turns going under a steady stream.
    pub async fn wait(&self, at_most: Duration) {
        let deadline = tokio::time::Instant::now() + at_most;
        loop {
            let notified = self.0.quiet.notified();
            tokio::pin!(notified);
            // Registered before the count is read, so a last arrival answered in between
            // still wakes this waiter.
            notified.as_mut().enable();
            if self.0.webhooks.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

/// Largest number of webhooks committed together.
const GROUP: usize = 256;

impl Intake {
    /// Starts the writer task; `wake` is notified after each commit so the worker starts at
    /// once (unless the events are handed over, [`Intake::hand_over`]).
    pub fn start(db: DatabaseConnection, wake: Arc<Notify>) -> Self {
        let (tx, rx) = mpsc::channel::<Batch>(4096);
        let handoff = Handoff::default();
        tokio::spawn(writer(db, rx, wake, Arc::clone(&handoff)));
        Self {
            tx,
            busy: Arc::default(),
            handoff,
        }
    }

    /// From now on the events are stored already claimed for `lease` and handed over to the
    /// returned receiver once committed (a worker in this process): no claim statement reads
    /// them back, and their turns start as soon as their webhooks are answered; an event the
    /// webhook handler wrote as text is handed over as that text. Events the receiver does
    /// not take (it was dropped) are taken again by any worker when their lease
    /// runs out. `None` if they are handed over already.
    pub fn hand_over(
        &self,
        lease: chrono::Duration,
    ) -> Option<mpsc::UnboundedReceiver<Vec<Claimed>>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.handoff.set((tx, lease)).ok()?;
        Some(rx)
    }

    /// Counts a webhook as being taken in until the returned guard is dropped (hold it until
    /// the webhook is answered).
    pub fn arrive(&self) -> Arrival {
        self.busy.arrive()
    }

    /// The handle the worker waits on.
    pub fn quiet(&self) -> Quiet {
        Quiet(Arc::clone(&self.busy))
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

async fn writer(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<Batch>,
    wake: Arc<Notify>,
    handoff: Handoff,
) {
    let mut group: Vec<Batch> = Vec::with_capacity(GROUP);
    while rx.recv_many(&mut group, GROUP).await > 0 {
        // Moved, not copied: on failure every webhook of the group is refused and redelivered.
        let jobs = group.iter_mut().flat_map(|b| std::mem::take(&mut b.jobs));
        let to = handoff.get();
        let result = commit(&db, jobs.collect(), to.map(|(_, lease)| *lease)).await;
        let result = match result {
            Ok(claimed) => {
                match to {
                    Some((to, _)) if !claimed.is_empty() => {
                        if to.send(claimed).is_err() {
                            tracing::warn!(
                                "the chat worker stopped; the events just stored are taken again when their lease runs out"
                            );
                        }
                    }
                    Some(_) => {}
                    None => wake.notify_one(),
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, webhooks = group.len(), "storing webhook events failed; the platform will redeliver");
                Err(e.to_string())
            }
        };
        for b in group.drain(..) {
            let _ = b.done.send(result.clone());
        }
    }
}

/// Stores the jobs in one transaction; with a `lease`, already claimed for it, and returned
/// (those not stored before) as a worker takes them.
async fn commit(
    db: &DatabaseConnection,
    jobs: Vec<NewJob>,
    lease: Option<chrono::Duration>,
) -> Result<Vec<Claimed>, sea_orm::DbErr> {
    let err = |e: service::ServiceError| sea_orm::DbErr::Custom(e.to_string());
    let txn = db.begin().await?;
    let now = service::tickets::now();
    let Some(lease) = lease else {
        jobs::enqueue_many(&txn, jobs, now).await.map_err(err)?;
        txn.commit().await?;
        return Ok(vec![]);
    };
    let claimed = jobs::enqueue_claimed_many(&txn, jobs, lease, now)
        .await
        .map_err(err)?;
    txn.commit().await?;
    Ok(claimed.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_worker_waits_while_webhooks_are_taken_in_and_no_longer() {
        let busy = Arc::new(Busy::default());
        let quiet = Quiet(Arc::clone(&busy));
        let start = tokio::time::Instant::now();
        // Nothing arriving: no wait at all.
        quiet.wait(Duration::from_millis(20)).await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        // Two webhooks, answered after 3 and 5 ms: the wait ends with the second.
        let (a, b) = (busy.arrive(), busy.arrive());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            drop(a);
            tokio::time::sleep(Duration::from_millis(2)).await;
            drop(b);
        });
        quiet.wait(Duration::from_millis(20)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(5));
        assert_eq!(busy.webhooks.load(Ordering::Acquire), 0);

        // A webhook that is never answered holds the worker up for the bound only.
        let stuck = busy.arrive();
        let before = tokio::time::Instant::now();
        quiet.wait(Duration::from_millis(20)).await;
        assert_eq!(before.elapsed(), Duration::from_millis(20));
        drop(stuck);
        assert_eq!(busy.webhooks.load(Ordering::Acquire), 0);
    }
}
