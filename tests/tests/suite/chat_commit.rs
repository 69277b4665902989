//! Chat turns committed in groups (`bots::chat::commit`): many conversations at once are each
//! answered exactly once, their send jobs end done and scrubbed, a redelivery changes nothing,
//! and one turn the database refuses fails alone.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use bots::chat::commit::{Committer, TurnWrites};
use bots::chat::line::LineConfig;
use entity::{chat_conversation, job};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use service::Secret;
use service::jobs::{self, NewJob};
use tests::Backend;
use tests::linepeer::LinePeer;

const SECRET: &str = "line-channel-secret-for-tests";
const TOKEN: &str = "line-channel-access-token-for-tests";
const USERS: usize = 24;

async fn many_conversations_at_once(backend: Backend) {
    let peer = LinePeer::start(TOKEN).await.unwrap();
    let tdb = tests::test_db(backend).await;
    let search = std::sync::Arc::new(service::search::Search::in_memory().unwrap());
    let cfg = LineConfig {
        tenant: "city".into(),
        channel_secret: Secret::new(SECRET),
        channel_access_token: Secret::new(TOKEN),
        api_base: peer.base.clone(),
        access_base: "https://access.line.me".into(),
    };
    let worker = bots::chat::Worker::new(
        tdb.db.clone(),
        std::sync::Arc::clone(&search),
        std::slice::from_ref(&cfg),
        None,
        Default::default(),
    )
    .unwrap();
    // One webhook with a question from each of USERS people.
    let specs: Vec<Value> = (0..USERS)
        .map(|i| {
            json!({ "type": "text", "text": "プリンターが動かない", "userId": format!("Umany{i:04}"),
                    "webhookEventId": format!("ev-many-{i}"), "replyToken": format!("rt-many-{i}") })
        })
        .collect();
    let (body, _) = peer.webhook(SECRET, json!(specs), &[]).await.unwrap();
    let deliver = || async {
        let jobs = bots::chat::line::jobs_for(tdb.fixture.city.id, body.as_bytes()).unwrap();
        assert_eq!(jobs.len(), USERS);
        let txn = tdb.db.write.begin().await.unwrap();
        jobs::enqueue_many(&txn, jobs, service::tickets::now())
            .await
            .unwrap();
        txn.commit().await.unwrap();
    };
    deliver().await;
    let r = worker.run_once().await.unwrap();
    assert_eq!((r.events, r.sent, r.failed), (USERS, USERS, 0), "{r:?}");

    // Each reply token used once.
    let calls = peer.requests().await.unwrap();
    let mut per_token: HashMap<String, usize> = HashMap::new();
    for c in &calls {
        if c["path"] == "/v2/bot/message/reply" {
            *per_token
                .entry(c["body"]["replyToken"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(per_token.len(), USERS, "{per_token:?}");
    assert!(per_token.values().all(|n| *n == 1), "{per_token:?}");

    // Events done; send jobs done with the message dropped; each transcript has the question
    // and the answer.
    let db = &tdb.db.write;
    let events = job::Entity::find()
        .filter(job::Column::Kind.eq(bots::chat::line::EVENT_JOB))
        .all(db)
        .await
        .unwrap();
    assert_eq!(events.len(), USERS);
    assert!(events.iter().all(|j| j.status == jobs::DONE), "{events:?}");
    let sends = job::Entity::find()
        .filter(job::Column::Kind.eq(bots::chat::line::SEND_JOB))
        .all(db)
        .await
        .unwrap();
    assert_eq!(sends.len(), USERS);
    for s in &sends {
        assert_eq!(s.status, jobs::DONE);
        assert_eq!(s.payload, json!({ "scrubbed": true }));
        assert_eq!(s.locked_until, None);
    }
    let convs = chat_conversation::Entity::find().all(db).await.unwrap();
    assert_eq!(convs.len(), USERS);
    for c in &convs {
        let t = service::chat::transcript(db, c.id).await.unwrap();
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].text, "プリンターが動かない");
        assert_eq!(t[1].speaker, "bot");
    }

    // The same webhook again: nothing new to do, nothing sent.
    deliver().await;
    let r = worker.run_once().await.unwrap();
    assert_eq!((r.events, r.sent), (0, 0), "{r:?}");
    assert_eq!(peer.requests().await.unwrap().len(), calls.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_conversations_at_once_sqlite() {
    many_conversations_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_conversations_at_once_postgres() {
    many_conversations_at_once(Backend::Postgres).await;
}

/// PostgreSQL refuses a NUL character in `jsonb`: the group it lands in fails, and its turns
/// are written again one by one, so only that turn fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_the_database_refuses_fails_alone() {
    let tdb = tests::test_db(Backend::Postgres).await;
    let db = &tdb.db;
    let tenant = tdb.fixture.city.id;
    let now = service::tickets::now();
    let lease = chrono::Duration::seconds(120);
    let mut turns = vec![];
    for i in 0..3 {
        let conv = service::chat::conversation(
            db,
            tenant,
            service::chat::Platform::Line,
            &format!("Urefuse{i}"),
            service::chat::ChatKind::Personal,
            None,
            None,
            now,
        )
        .await
        .unwrap();
        let event = NewJob {
            tenant_id: Some(tenant),
            kind: bots::chat::line::EVENT_JOB,
            dedupe_key: format!("ev-refuse-{i}"),
            payload: json!({}).into(),
            max_attempts: 5,
        };
        let event = jobs::enqueue_claimed(&db.write, event, lease, now)
            .await
            .unwrap()
            .unwrap();
        let turn = [service::chat::Turn::user(format!("質問{i}"), now)];
        let saved =
            service::chat::saved(&conv, &service::chat::DialogState::default(), &turn).unwrap();
        let text = if i == 1 { "NUL \u{0} here" } else { "fine" };
        turns.push(TurnWrites {
            saved,
            send: Some(NewJob {
                tenant_id: Some(tenant),
                kind: bots::chat::line::SEND_JOB,
                dedupe_key: event.id.to_string(),
                payload: json!({ "messages": [{ "type": "text", "text": text }] }).into(),
                max_attempts: 20,
            }),
            event: event.id,
        });
    }
    let committer = Committer::start(db.write.clone(), lease);
    let results = futures::future::join_all(turns.into_iter().map(|t| committer.turn(t))).await;
    assert!(results[0].as_ref().unwrap().is_some());
    assert!(results[1].is_err(), "{:?}", results[1]);
    assert!(results[2].as_ref().unwrap().is_some());
    let done = job::Entity::find()
        .filter(job::Column::Kind.eq(bots::chat::line::EVENT_JOB))
        .filter(job::Column::Status.eq(jobs::DONE))
        .all(&db.write)
        .await
        .unwrap();
    let mut keys: Vec<String> = done.into_iter().map(|j| j.dedupe_key).collect();
    keys.sort();
    assert_eq!(keys, ["ev-refuse-0", "ev-refuse-2"]);
    let convs = chat_conversation::Entity::find()
        .all(&db.write)
        .await
        .unwrap();
    let mut saved = vec![];
    for c in &convs {
        saved.push(
            service::chat::transcript(&db.write, c.id)
                .await
                .unwrap()
                .len(),
        );
    }
    assert_eq!(saved.iter().sum::<usize>(), 2, "{saved:?}");
}

tests::both_backends!(
    jobs_enqueued_together_are_stored_as_given,
    |backend: Backend| async move {
        // `jobs::enqueue_many` writes its own SQL: every column as SeaORM would, the payload
        // as JSON (jsonb on PostgreSQL) whether given as a tree or as text, a key already stored or repeated in the same batch
        // kept once, and more rows than one statement takes.
        let tdb = tests::test_db(backend).await;
        let db = &tdb.db.write;
        let city = tdb.fixture.city.id;
        let at = service::tickets::now();
        let payload = json!({ "tenantId": city, "event": { "text": "プリンタ \"A3\" が\\詰まる\n😀", "n": 1.5, "ok": true, "none": null, "list": [1, "二"] } });
        let job = |key: &str, max_attempts: i32| NewJob {
            tenant_id: Some(city),
            kind: "test.enqueue",
            dedupe_key: key.to_owned(),
            payload: payload.clone().into(),
            max_attempts,
        };
        jobs::enqueue_many(db, [job("k0", 3)], at).await.unwrap();
        let mut batch = vec![job("k0", 9), job("k1", 0), job("k1", 7)];
        // A payload written as text (as a LINE reply is) is stored as the same JSON.
        batch[1].payload = jobs::Payload::Text(jobs::JsonText::of(&payload).unwrap());
        batch.extend((2..3_002).map(|i| NewJob {
            tenant_id: None,
            payload: json!({ "i": i }).into(),
            ..job(&format!("k{i}"), 5)
        }));
        let txn = tdb.db.write.begin().await.unwrap();
        jobs::enqueue_many(&txn, batch, at).await.unwrap();
        txn.commit().await.unwrap();

        let stored = job::Entity::find()
            .filter(job::Column::Kind.eq("test.enqueue"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(stored.len(), 3_002, "k0 and k1 once each, and 3,000 more");
        let by_key: HashMap<&str, &job::Model> =
            stored.iter().map(|j| (j.dedupe_key.as_str(), j)).collect();
        let (k0, k1) = (by_key["k0"], by_key["k1"]);
        assert_eq!(k0.max_attempts, 3, "the job stored first stays as it was");
        assert_eq!(
            k1.max_attempts, 1,
            "at least one attempt; the repeat is dropped"
        );
        for j in [k0, k1] {
            assert_eq!(j.payload, payload);
            assert_eq!(j.tenant_id, Some(city));
            assert_eq!(
                (
                    j.status.as_str(),
                    j.attempts,
                    j.locked_until,
                    j.last_error.as_deref()
                ),
                (jobs::QUEUED, 0, None, None)
            );
            assert_eq!(j.run_at.timestamp_micros(), at.timestamp_micros());
            assert_eq!(j.created_at, j.run_at);
            assert_eq!(j.updated_at, j.run_at);
        }
        let last = by_key["k3001"];
        assert_eq!(
            (last.tenant_id, &last.payload),
            (None, &json!({ "i": 3_001 }))
        );
        // They are claimed like any job.
        let claimed = jobs::claim_kinds(
            db,
            &["test.enqueue"],
            chrono::Duration::seconds(60),
            10,
            service::tickets::now(),
        )
        .await
        .unwrap();
        assert_eq!(claimed.len(), 10);
        assert!(
            claimed
                .iter()
                .all(|j| j.attempts == 1 && j.locked_until.is_some())
        );

        // Enqueued already claimed (a turn's reply): each written as returned, one attempt
        // begun and leased; a key already taken gives `None` and leaves the stored job alone.
        let lease = chrono::Duration::seconds(60);
        let new = |key: &str, i: i32| NewJob {
            tenant_id: Some(city),
            kind: "test.enqueue",
            dedupe_key: key.to_owned(),
            payload: json!({ "claimed": i, "text": "返信 \"quoted\"" }).into(),
            max_attempts: 20,
        };
        let got = jobs::enqueue_claimed_many(
            db,
            vec![new("c0", 0), new("k0", 1), new("c2", 2)],
            lease,
            at,
        )
        .await
        .unwrap();
        assert!(got[1].is_none(), "k0 was taken");
        for (i, j) in [(0, &got[0]), (2, &got[2])] {
            let j = j.as_ref().unwrap();
            assert!(j.text.is_none(), "a tree stays a tree");
            let j = &j.job;
            let stored = job::Entity::find_by_id(j.id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&stored, j, "returned as stored");
            assert_eq!(
                (
                    stored.attempts,
                    stored.locked_until.map(|t| t.timestamp_micros())
                ),
                (1, Some((at + lease).timestamp_micros()))
            );
            assert_eq!(stored.payload["claimed"], i);
        }
        let k0_again = job::Entity::find()
            .filter(job::Column::DedupeKey.eq("k0"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(k0_again.len(), 1);
        assert_eq!(k0_again[0].max_attempts, 3);
    }
);

tests::both_backends!(
    the_intake_hands_its_events_to_the_worker,
    |backend: Backend| async move {
        // With a worker taking them (`Intake::hand_over`), webhooks' events are stored already
        // claimed and handed over as stored, a redelivered one not again; if nobody takes
        // them, any worker claims them once their lease runs out. Without, they are stored
        // to be claimed at once.
        let tdb = tests::test_db(backend).await;
        let db = &tdb.db.write;
        let city = tdb.fixture.city.id;
        // Written as text, as the LINE webhook writes them.
        let event = |key: &str| NewJob {
            tenant_id: Some(city),
            kind: bots::chat::line::EVENT_JOB,
            dedupe_key: format!("{city}:handover-{key}"),
            payload: jobs::Payload::Text(
                jobs::JsonText::of(
                    &json!({ "tenantId": city, "event": { "type": "message", "key": key } }),
                )
                .unwrap(),
            ),
            max_attempts: 10,
        };
        let lease = chrono::Duration::seconds(120);
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let intake = bots::chat::Intake::start(db.clone(), std::sync::Arc::clone(&wake));
        let mut handed = intake.hand_over(lease).expect("the first worker to ask");
        assert!(intake.hand_over(lease).is_none(), "one worker takes them");

        intake.submit(vec![event("a"), event("b")]).await.unwrap();
        let got = handed.try_recv().expect("handed over once committed");
        assert_eq!(got.len(), 2);
        for j in &got {
            assert!(j.job.payload.is_null(), "handed over as its text, no tree");
            let stored = job::Entity::find_by_id(j.job.id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored, j.clone().into_model(), "handed over as stored");
            assert_eq!((stored.attempts, stored.status.as_str()), (1, jobs::QUEUED));
            assert_eq!(
                stored.locked_until.map(|t| t.timestamp_micros()),
                Some((stored.created_at + lease).timestamp_micros())
            );
        }
        assert_eq!(got[1].clone().into_model().payload["event"]["key"], "b");
        let now = service::tickets::now();
        let kinds = [bots::chat::line::EVENT_JOB];
        let claim = |at| jobs::claim_kinds(db, &kinds, lease, 100, at);
        assert!(claim(now).await.unwrap().is_empty(), "claimed already");

        // Redelivered: stored once, handed over once.
        intake.submit(vec![event("a")]).await.unwrap();
        assert!(handed.try_recv().is_err());

        // The worker is gone: stored claimed all the same, taken again after the lease.
        drop(handed);
        intake.submit(vec![event("c")]).await.unwrap();
        assert!(claim(service::tickets::now()).await.unwrap().is_empty());
        let later = claim(service::tickets::now() + lease + chrono::Duration::seconds(1))
            .await
            .unwrap();
        let keys: Vec<&str> = later
            .iter()
            .map(|j| j.payload["event"]["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "b", "c"], "every lease ran out");

        // An intake nobody takes from: stored to be claimed at once, and the worker woken.
        let plain = bots::chat::Intake::start(db.clone(), std::sync::Arc::clone(&wake));
        let woken = wake.notified();
        plain.submit(vec![event("d")]).await.unwrap();
        woken.await;
        let now = claim(service::tickets::now()).await.unwrap();
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].payload["event"]["key"], "d");
    }
);
