//! A chat message's account and conversation (`service::chat::account_and_conversation`):
//! made on the first message, read together with one statement afterwards, a group chat kept
//! apart from its members' 1:1 chats, and Teams' `serviceUrl` kept current.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use service::chat::{self, ChatKind, Platform, Sender};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tests::{Backend, both_backends};

/// `db` with the statements on each pool counted (read, write).
fn counted(db: &service::Db) -> (service::Db, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (reads, writes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (mut read, mut write) = (db.read.clone(), db.write.clone());
    let r = Arc::clone(&reads);
    read.set_metric_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let w = Arc::clone(&writes);
    write.set_metric_callback(move |_| {
        w.fetch_add(1, Ordering::SeqCst);
    });
    (service::Db { read, write }, reads, writes)
}

both_backends!(
    made_once_then_read_together,
    |backend: Backend| async move {
        let tdb = tests::test_db(backend).await;
        let city = tdb.fixture.city.id;
        let one = Sender {
            tenant_id: city,
            platform: Platform::Line,
            external_id: "Uaccounts-1",
            display_name: None,
            conversation_ref: "Uaccounts-1",
            kind: ChatKind::Personal,
            service_url: None,
        };
        // The first message: one joint read, the conversation looked up, then one statement
        // each on the writer.
        let (db, reads, writes) = counted(&tdb.db);
        let (a, c) = chat::account_and_conversation(&db, &db.read, &one, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            (reads.load(Ordering::SeqCst), writes.load(Ordering::SeqCst)),
            (2, 2)
        );
        assert_eq!(
            (a.tenant_id, a.platform.as_str(), a.external_id.as_str()),
            (city, "line", "Uaccounts-1")
        );
        assert_eq!(
            (c.conversation_ref.as_str(), c.kind.as_str(), c.account_id),
            ("Uaccounts-1", "personal", Some(a.id))
        );

        // The next message: the same rows, one statement, nothing written.
        let (db, reads, writes) = counted(&tdb.db);
        let (a2, c2) = chat::account_and_conversation(&db, &db.read, &one, Utc::now())
            .await
            .unwrap();
        assert_eq!((a2, c2.id), (a.clone(), c.id));
        assert_eq!(
            (reads.load(Ordering::SeqCst), writes.load(Ordering::SeqCst)),
            (1, 0)
        );

        // The same person in a group: their account, the group's own conversation with no owner.
        let group = Sender {
            conversation_ref: "Caccounts-group",
            kind: ChatKind::Group,
            ..one
        };
        let (a3, g) = chat::account_and_conversation(&tdb.db, &tdb.db.read, &group, Utc::now())
            .await
            .unwrap();
        assert_eq!(a3.id, a.id);
        assert_ne!(g.id, c.id);
        assert_eq!((g.kind.as_str(), g.account_id), ("group", None));
        // Someone else in that group: their own account, the same conversation.
        let other = Sender {
            external_id: "Uaccounts-2",
            ..group
        };
        let (b, g2) = chat::account_and_conversation(&tdb.db, &tdb.db.read, &other, Utc::now())
            .await
            .unwrap();
        assert_ne!(b.id, a.id);
        assert_eq!(g2.id, g.id);
        // Another tenant never sees these rows.
        let elsewhere = Sender {
            tenant_id: tdb.fixture.edu.id,
            ..one
        };
        let (x, y) = chat::account_and_conversation(&tdb.db, &tdb.db.read, &elsewhere, Utc::now())
            .await
            .unwrap();
        assert_ne!((x.id, y.id), (a.id, c.id));
        assert_eq!(
            (x.tenant_id, y.tenant_id),
            (tdb.fixture.edu.id, tdb.fixture.edu.id)
        );
    }
);

both_backends!(
    first_messages_at_the_same_moment_make_one_account,
    |backend: Backend| async move {
        let tdb = tests::test_db(backend).await;
        let s = Sender {
            tenant_id: tdb.fixture.city.id,
            platform: Platform::Line,
            external_id: "Uaccounts-race",
            display_name: None,
            conversation_ref: "Uaccounts-race",
            kind: ChatKind::Personal,
            service_url: None,
        };
        let at = Utc::now();
        let made = futures::future::join_all(
            (0..8).map(|_| chat::account_and_conversation(&tdb.db, &tdb.db.read, &s, at)),
        )
        .await;
        let ids: std::collections::HashSet<_> = made
            .into_iter()
            .map(|r| {
                let (a, c) = r.unwrap();
                assert_eq!(c.account_id, Some(a.id));
                (a.id, c.id)
            })
            .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
    }
);

both_backends!(
    first_messages_are_made_together,
    |backend: Backend| async move {
        let tdb = tests::test_db(backend).await;
        let city = tdb.fixture.city.id;
        let one = |who: &'static str, chat: &'static str, kind| Sender {
            tenant_id: city,
            platform: Platform::Line,
            external_id: who,
            display_name: None,
            conversation_ref: chat,
            kind,
            service_url: None,
        };
        let senders = [
            one("Uopen-a", "Uopen-a", ChatKind::Personal),
            one("Uopen-a", "Uopen-a", ChatKind::Personal),
            one("Uopen-b", "Copen-g", ChatKind::Group),
            one("Uopen-c", "Copen-g", ChatKind::Group),
            one("Uopen-a", "Copen-g", ChatKind::Group),
        ];
        // Made before, by a message alone: returned as it is.
        let (c0, _) = chat::account_and_conversation(
            &tdb.db,
            &tdb.db.read,
            &one("Uopen-c", "Uopen-c", ChatKind::Personal),
            Utc::now(),
        )
        .await
        .unwrap();

        let (db, _, writes) = counted(&tdb.db);
        let made = chat::open_many(&db.write, &senders, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            writes.load(Ordering::SeqCst),
            2,
            "one statement for each table"
        );
        assert_eq!(made.len(), senders.len());
        let (a, a1) = &made[0];
        assert_eq!(
            (a.external_id.as_str(), a1.kind.as_str()),
            ("Uopen-a", "personal")
        );
        assert_eq!(a1.account_id, Some(a.id));
        assert_eq!((made[1].0.id, made[1].1.id), (a.id, a1.id));
        let (b, g) = &made[2];
        assert_eq!((g.kind.as_str(), g.account_id), ("group", None));
        assert_eq!(made[3].0.id, c0.id);
        assert_eq!(made[3].1.id, g.id);
        assert_eq!((made[4].0.id, made[4].1.id), (a.id, g.id));
        assert!(b.id != a.id && b.id != c0.id);

        // The same rows as a message alone finds, and again from another batch.
        for (s, (account, conversation)) in senders.iter().zip(&made) {
            let (x, y) = chat::account_and_conversation(&tdb.db, &tdb.db.read, s, Utc::now())
                .await
                .unwrap();
            assert_eq!((&x, y.id), (account, conversation.id));
        }
        let again = chat::open_many(&tdb.db.write, &senders[2..3], Utc::now())
            .await
            .unwrap();
        assert_eq!((again[0].0.id, again[0].1.id), (b.id, g.id));
        assert!(
            chat::open_many(&tdb.db.write, &[], Utc::now())
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both_backends!(
    teams_service_url_is_kept_current,
    |backend: Backend| async move {
        let tdb = tests::test_db(backend).await;
        let teams = Sender {
            tenant_id: tdb.fixture.city.id,
            platform: Platform::Teams,
            external_id: "aad-accounts",
            display_name: Some("窓口 太郎"),
            conversation_ref: "a:accounts",
            kind: ChatKind::Personal,
            service_url: Some("https://smba.example/jp/"),
        };
        let (a, c) = chat::account_and_conversation(&tdb.db, &tdb.db.read, &teams, Utc::now())
            .await
            .unwrap();
        assert_eq!(a.display_name.as_deref(), Some("窓口 太郎"));
        assert_eq!(c.service_url.as_deref(), Some("https://smba.example/jp/"));
        let moved = Sender {
            service_url: Some("https://smba.example/apac/"),
            ..teams
        };
        let (a2, c2) = chat::account_and_conversation(&tdb.db, &tdb.db.read, &moved, Utc::now())
            .await
            .unwrap();
        assert_eq!((a2.id, c2.id), (a.id, c.id));
        assert_eq!(
            c2.service_url.as_deref(),
            Some("https://smba.example/apac/")
        );
        let stored = chat::conversation_by_id(&tdb.db.read, c.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.service_url.as_deref(),
            Some("https://smba.example/apac/")
        );
    }
);
