//! Group commit for the turns of many conversations.
//!
//! Most turns write only their conversation's row (an FAQ answer, a ticket's status), the
//! reply's send job and the event job's completion. Written one turn per transaction, 200
//! questions at once queue at SQLite's single writer, each transaction holding it across
//! several round trips while its task waits for a core. Here one task writes the turns that
//! are waiting in one transaction: the conversations one statement each, the send jobs with
//! one multi-row insert, the events' and the delivered sends' completions with one update
//! each. A turn with any other effect (a ticket, a vote, a code) keeps its own transaction.
//!
//! The accounts and conversations of first messages are made here too, many in one
//! transaction (see [`service::chat::open_many`]), before their turns are planned.
//!
//! If a group fails, its turns are written again one by one, so one bad turn fails alone.

use chrono::{DateTime, Duration, Utc};
use entity::{chat_account, chat_conversation};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use service::chat::{self, NewChat, Saved};
use service::jobs::{self, Claimed, NewJob};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// A turn's writes.
pub struct TurnWrites {
    pub saved: Saved,
    /// The reply's send job, written already claimed by this worker.
    pub send: Option<NewJob>,
    /// The event job the turn completes.
    pub event: Uuid,
}

/// A first message's account and conversation.
type Opened = (chat_account::Model, chat_conversation::Model);

enum Item {
    Turn(TurnWrites, oneshot::Sender<Result<Option<Claimed>, String>>),
    /// A first message: its account and conversation to make.
    Open(NewChat, oneshot::Sender<Result<Opened, String>>),
    /// A send job delivered: completed (and scrubbed) with the next group.
    Sent(Uuid),
    /// Answered once everything submitted before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The handle turns are submitted to (cheap to clone).
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Item>,
}

/// Largest number of items in one transaction: bounds how long a group holds SQLite's writer
/// (the webhook intake waits behind it).
const GROUP: usize = 64;

impl Committer {
    /// Starts the writer task; send jobs are claimed for `lease`. The task ends when the last
    /// handle is dropped.
    pub fn start(db: DatabaseConnection, lease: Duration) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(writer(db, rx, lease));
        Self { tx }
    }

    /// Commits a turn; returns its send job, claimed by the caller (`None`: no reply, or a
    /// send job for the same event exists already and is not the caller's to do).
    pub async fn turn(&self, writes: TurnWrites) -> anyhow::Result<Option<Claimed>> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Item::Turn(writes, done))
            .await
            .map_err(|_| anyhow::anyhow!("the turn writer stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the turn writer stopped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Makes a first message's account and conversation (or returns those made meanwhile),
    /// with the other first messages waiting.
    pub async fn open(&self, chat: NewChat) -> anyhow::Result<Opened> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Item::Open(chat, done))
            .await
            .map_err(|_| anyhow::anyhow!("the turn writer stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the turn writer stopped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Records a delivered send job with the next group, without waiting for it. If the
    /// process dies first, the job's lease runs out and it is sent again (LINE pushes it with
    /// its retry key).
    pub async fn sent(&self, id: Uuid) {
        if self.tx.send(Item::Sent(id)).await.is_err() {
            tracing::warn!(job = %id, "the turn writer stopped; the delivered message will be sent again when its lease runs out");
        }
    }

    /// Waits until everything submitted so far is committed.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Item>, lease: Duration) {
    let mut group: Vec<Item> = Vec::with_capacity(GROUP);
    while rx.recv_many(&mut group, GROUP).await > 0 {
        let now = service::tickets::now();
        match write(&db, &group, lease, now).await {
            Ok(written) => answer(group.drain(..), written, lease, now),
            Err(e) => {
                tracing::warn!(error = %e, items = group.len(), "a group of chat turns failed; writing them one by one");
                for item in group.drain(..) {
                    let one = std::slice::from_ref(&item);
                    let result = write(&db, one, lease, now).await;
                    if let (Item::Sent(id), Err(e)) = (&item, &result) {
                        tracing::warn!(job = %id, error = %e, "recording a delivered chat message failed; it will be sent again when its lease runs out");
                    }
                    match result {
                        Ok(written) => answer(std::iter::once(item), written, lease, now),
                        Err(e) => match item {
                            Item::Turn(_, done) => {
                                let _ = done.send(Err(e.to_string()));
                            }
                            Item::Open(_, done) => {
                                let _ = done.send(Err(e.to_string()));
                            }
                            Item::Sent(_) | Item::Flush(_) => {}
                        },
                    }
                }
            }
        }
    }
}

/// What a group wrote: the ids of the turns' send jobs, in order of the turns that have one
/// (`None`: its event's reply was written before, and is not ours to send), and the first
/// messages' rows, in order.
#[derive(Default)]
struct Written {
    sends: Vec<Option<Uuid>>,
    opened: Vec<Opened>,
}

/// Gives each turn its send job (made from the turn's own, which was written as `written`
/// says), each first message its rows, and each flush its answer.
fn answer(
    items: impl Iterator<Item = Item>,
    written: Written,
    lease: Duration,
    now: DateTime<Utc>,
) {
    let mut ids = written.sends.into_iter();
    let mut opened = written.opened.into_iter();
    for item in items {
        match item {
            Item::Turn(w, done) => {
                let send = w.send.and_then(|j| {
                    let id = ids.next().flatten()?;
                    Some(jobs::claimed(j, id, lease, now))
                });
                let _ = done.send(Ok(send));
            }
            Item::Open(_, done) => {
                let rows = opened.next().ok_or_else(|| "no rows made".to_owned());
                let _ = done.send(rows);
            }
            Item::Flush(done) => {
                let _ = done.send(());
            }
            Item::Sent(_) => {}
        }
    }
}

/// Writes a group in one transaction (first messages' rows first). The items are only
/// borrowed: if the group fails, they are written again one by one.
async fn write(
    db: &DatabaseConnection,
    items: &[Item],
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Written, DbErr> {
    let mut opens = vec![];
    let mut saved = vec![];
    let mut events = vec![];
    let mut delivered = vec![];
    let mut sends = vec![];
    for item in items {
        match item {
            Item::Turn(w, _) => {
                saved.push(&w.saved);
                events.push(w.event);
                sends.extend(w.send.as_ref());
            }
            Item::Open(c, _) => opens.push(c.sender()),
            Item::Sent(id) => delivered.push(*id),
            Item::Flush(_) => {}
        }
    }
    if opens.is_empty() && saved.is_empty() && delivered.is_empty() {
        return Ok(Written::default());
    }
    let err = |e: service::ServiceError| DbErr::Custom(e.to_string());
    let txn = db.begin().await?;
    let opened = chat::open_many(&txn, &opens, now).await.map_err(err)?;
    chat::save_many(&txn, &saved, now).await.map_err(err)?;
    let ids = jobs::insert_claimed(&txn, &sends, lease, now)
        .await
        .map_err(err)?;
    jobs::complete_many(&txn, &events, now).await.map_err(err)?;
    jobs::complete_scrubbed_many(&txn, &delivered, now)
        .await
        .map_err(err)?;
    txn.commit().await?;
    Ok(Written { sends: ids, opened })
}
