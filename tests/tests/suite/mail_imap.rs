//! The IMAP way in against a real Dovecot on loopback (IMAPS and STARTTLS with a throwaway
//! CA), on SQLite and PostgreSQL: messages become tickets once, are flagged or moved only
//! after that is committed, a lost flag or a second fetch changes nothing, a rebuilt mailbox
//! (new UIDVALIDITY) is read again without duplicates, IDLE picks new mail up at once, polling
//! does where IDLE is switched off, and a server whose certificate we do not trust is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_imap::Session;
use bots::mail::Security;
use bots::mail::imap::{AfterProcessing, Conn, ImapConfig, ImapPoller};
use entity::{mail_source, ticket};
use futures::TryStreamExt;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set};
use service::Secret;
use tests::mailpeers::Dovecot;
use tests::{both_backends, test_db};

fn mail(id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: 山田 太郎 <requester@city.example.jp>\r\nTo: helpdesk@city.example.jp\r\nSubject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0900\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n本文です。\r\n"
    )
    .into_bytes()
}

fn config(d: &Dovecot, name: &str, security: Security) -> ImapConfig {
    ImapConfig {
        name: name.into(),
        host: "localhost".into(),
        port: if security == Security::Tls {
            d.imaps_port
        } else {
            d.imap_port
        },
        security,
        username: d.user.clone(),
        password: Secret::new(d.password.clone()),
        ca_file: Some(d.ca.clone()),
        poll_secs: 1,
        ..ImapConfig::default()
    }
}

/// A second client, as a mail user agent would be: delivers with APPEND and looks at flags.
async fn peer(d: &Dovecot) -> Session<Conn> {
    ImapPoller::new(config(d, "peer", Security::Tls), None)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn append(s: &mut Session<Conn>, mailbox: &str, bytes: &[u8]) {
    s.append(mailbox, None, None, bytes).await.unwrap();
}

/// (uid, seen) of every message in `mailbox`.
async fn flags(s: &mut Session<Conn>, mailbox: &str) -> Vec<(u32, bool)> {
    let mb = s.select(mailbox).await.unwrap();
    if mb.exists == 0 {
        return vec![];
    }
    let fetched: Vec<_> = s
        .fetch("1:*", "(UID FLAGS)")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut out: Vec<(u32, bool)> = fetched
        .iter()
        .map(|f| {
            (
                f.uid.unwrap(),
                f.flags().any(|fl| fl == async_imap::types::Flag::Seen),
            )
        })
        .collect();
    out.sort();
    out
}

async fn tickets(db: &DatabaseConnection) -> u64 {
    ticket::Entity::find().count(db).await.unwrap()
}

both_backends!(
    imaps_mail_becomes_tickets_once_and_is_flagged_after_commit,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let d = Dovecot::start().await.unwrap();
        let mut p = peer(&d).await;
        for i in 1..=3 {
            append(
                &mut p,
                "INBOX",
                &mail(&format!("imap-{i}@pc"), &format!("問い合わせ{i}")),
            )
            .await;
        }
        let before = tickets(db).await;
        let poller = ImapPoller::new(config(&d, "city-inbox", Security::Tls), None).unwrap();
        let r = poller
            .run_once(db)
            .await
            .unwrap_or_else(|e| panic!("{e:#}\n{}", d.log()));
        assert_eq!((r.fetched, r.processed.created), (3, 3));
        assert!(r.idle_supported);
        assert_eq!(tickets(db).await, before + 3);
        assert_eq!(
            flags(&mut p, "INBOX").await,
            [(1, true), (2, true), (3, true)]
        );
        let pos = mail_source::Entity::find_by_id("city-inbox".to_owned())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (pos.last_uid, pos.uid_validity),
            (3, i64::from(r.uid_validity))
        );

        // Nothing new: nothing fetched.
        assert_eq!(poller.run_once(db).await.unwrap().fetched, 0);

        // The flags and the position were lost (a crash after the commit, before the server was
        // told): everything is fetched again, and nothing is done twice.
        let _: Vec<_> = p
            .uid_store("1:3", "-FLAGS.SILENT (\\Seen)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let mut pos: mail_source::ActiveModel = pos.into();
        pos.last_uid = Set(0);
        pos.update(db).await.unwrap();
        let r = poller.run_once(db).await.unwrap();
        assert_eq!((r.fetched, r.processed.created), (3, 0));
        assert_eq!(tickets(db).await, before + 3);
        assert_eq!(
            flags(&mut p, "INBOX").await,
            [(1, true), (2, true), (3, true)]
        );

        // A server certificate we do not trust is refused before logging in.
        let untrusted = ImapConfig {
            ca_file: None,
            ..config(&d, "untrusted", Security::Tls)
        };
        let err = ImapPoller::new(untrusted, None)
            .unwrap()
            .run_once(db)
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").to_lowercase().contains("certificate"),
            "{err:#}"
        );
    }
);

both_backends!(
    starttls_moves_processed_mail_and_survives_a_new_uidvalidity,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let d = Dovecot::start().await.unwrap();
        let mut p = peer(&d).await;
        p.create("Desk").await.unwrap();
        p.create(bots::mail::imap::mailbox_name("処理済み"))
            .await
            .unwrap();
        append(&mut p, "Desk", &mail("desk-1@pc", "共有フォルダ")).await;
        append(&mut p, "Desk", &mail("desk-2@pc", "パスワード")).await;
        let cfg = ImapConfig {
            mailbox: "Desk".into(),
            after: AfterProcessing::Move,
            move_to: "処理済み".into(),
            ..config(&d, "desk", Security::StartTls)
        };
        let poller = ImapPoller::new(cfg, None).unwrap();
        let before = tickets(db).await;
        let r = poller
            .run_once(db)
            .await
            .unwrap_or_else(|e| panic!("{e:#}\n{}", d.log()));
        assert_eq!(r.processed.created, 2);
        assert!(flags(&mut p, "Desk").await.is_empty(), "moved out");
        let done = bots::mail::imap::mailbox_name("処理済み");
        assert_eq!(
            flags(&mut p, &done).await.len(),
            2,
            "moved to the Japanese-named folder"
        );

        // The mailbox is rebuilt (new UIDVALIDITY) and someone restores an old message into it
        // beside a new one: the old one is recognised, the new one becomes a ticket.
        p.select("INBOX").await.unwrap();
        p.delete("Desk").await.unwrap();
        p.create("Desk").await.unwrap();
        append(&mut p, "Desk", &mail("desk-1@pc", "共有フォルダ")).await;
        append(&mut p, "Desk", &mail("desk-3@pc", "プリンタ")).await;
        let r2 = poller.run_once(db).await.unwrap();
        assert!(r2.uid_validity_changed && r2.uid_validity != r.uid_validity);
        assert_eq!(
            (r2.fetched, r2.processed.created, r2.processed.already_done),
            (2, 1, 0)
        );
        assert_eq!(tickets(db).await, before + 3);
        assert_eq!(flags(&mut p, &done).await.len(), 4);
    }
);

both_backends!(idle_takes_new_mail_as_it_arrives, |backend| async move {
    let t = test_db(backend).await;
    let db = t.db.write.clone();
    let d = Dovecot::start().await.unwrap();
    // Polling every hour: only IDLE can bring the mail in within the test's time.
    let cfg = ImapConfig {
        poll_secs: 3600,
        ..config(&d, "idle", Security::Tls)
    };
    let poller = ImapPoller::new(cfg, None).unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn({
        let db = db.clone();
        async move { poller.run(db, stop_rx).await }
    });
    // Connected and idling once its position is stored.
    for _ in 0..100 {
        if mail_source::Entity::find_by_id("idle".to_owned())
            .one(&db)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = tickets(&db).await;
    let mut p = peer(&d).await;
    let sent = std::time::Instant::now();
    append(&mut p, "INBOX", &mail("idle-1@pc", "IDLEで届く")).await;
    while tickets(&db).await == before {
        assert!(
            sent.elapsed().as_secs() < 10,
            "no ticket 10 s after delivery\n{}",
            d.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("stops")
        .unwrap();
    assert_eq!(flags(&mut p, "INBOX").await, [(1, true)]);
});

both_backends!(
    polling_takes_new_mail_when_idle_is_off,
    |backend| async move {
        let t = test_db(backend).await;
        let db = t.db.write.clone();
        let d = Dovecot::start().await.unwrap();
        let cfg = ImapConfig {
            idle: false,
            poll_secs: 1,
            ..config(&d, "poll", Security::Tls)
        };
        let poller = ImapPoller::new(cfg, None).unwrap();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn({
            let db = db.clone();
            async move { poller.run(db, stop_rx).await }
        });
        let before = tickets(&db).await;
        let mut p = peer(&d).await;
        append(&mut p, "INBOX", &mail("poll-1@pc", "ポーリングで届く")).await;
        let sent = std::time::Instant::now();
        while tickets(&db).await == before {
            assert!(
                sent.elapsed().as_secs() < 10,
                "no ticket 10 s after delivery\n{}",
                d.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("stops")
            .unwrap();
        let pos = mail_source::Entity::find_by_id("poll".to_owned())
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pos.last_uid, 1);
    }
);
