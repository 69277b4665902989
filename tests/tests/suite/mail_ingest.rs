//! The mail front door end to end on SQLite and PostgreSQL: the corpus through the ingest
//! pipeline, exactly once under redelivery, threading, people, loop protection,
//! attachments, the sender rate cap and the quarantine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::mail::{self, RawMail};
use entity::{
    MailStatus, TicketStatus, mail_message, mail_outbound, person, ticket, ticket_attachment,
    ticket_comment, ticket_event, ticket_watcher,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use service::ServiceError;
use service::mail::{MailSettings, Outcome, Stored, UnknownSender};
use service::tickets;
use tests::{both_backends, test_db};
use uuid::Uuid;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mail/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn raw(bytes: impl Into<Vec<u8>>) -> RawMail {
    RawMail {
        bytes: bytes.into(),
        source_ref: None,
    }
}

/// A plain UTF-8 mail from `from` to the city's helpdesk.
fn mail(from: &str, subject: &str, id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: helpdesk@city.example.jp\r\nSubject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0900\r\nMessage-ID: <{id}>\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

/// Every message of a redelivery was stored before.
fn assert_all_duplicates(stored: &[Stored]) {
    assert!(
        stored.iter().all(|s| matches!(s, Stored::Duplicate { .. })),
        "{stored:?}"
    );
}

/// The kinds of a ticket's history events, oldest first.
async fn event_kinds(db: &DatabaseConnection, ticket_id: Uuid) -> Vec<String> {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(ticket_id))
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn tickets_count(db: &DatabaseConnection) -> u64 {
    ticket::Entity::find().count(db).await.unwrap()
}

async fn outcome_of(report: &service::mail::ProcessReport, id: Uuid) -> Outcome {
    report
        .outcomes
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, o)| o.clone())
        .expect("processed")
}

both_backends!(
    the_corpus_becomes_tickets_once_and_automatic_mail_none,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        // A mail we sent, which the DSN in the corpus reports as undeliverable.
        let first = tickets::create(
            db,
            &city.agent_actor(),
            tickets::NewTicket::new(entity::TicketKind::Inquiry, "既存", ""),
        )
        .await
        .unwrap()
        .ticket;
        mail_outbound::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(city.id),
            ticket_id: Set(Some(first.id)),
            kind: Set("ack".into()),
            message_id: Set("sent-ack-1@madoguchi.local".into()),
            to_address: Set("gone@city.example.jp".into()),
            cc_addresses: Set(String::new()),
            subject: Set("ack".into()),
            body: Set("受け付けました".into()),
            in_reply_to: Set(None),
            references: Set(String::new()),
            charset: Set("utf-8".into()),
            status: Set("sent".into()),
            last_error: Set(None),
            created_at: Set(tickets::now()),
            sent_at: Set(Some(tickets::now())),
        }
        .insert(db)
        .await
        .unwrap();
        let before = tickets_count(db).await;

        let files = corpus();
        let mails: Vec<RawMail> = files
            .iter()
            .map(|(n, b)| RawMail {
                bytes: b.clone(),
                source_ref: Some(n.clone()),
            })
            .collect();
        let report = mail::ingest(db, "maildir", None, &mails).await.unwrap();
        assert!(report.stored.iter().all(|s| matches!(s, Stored::New(_))));
        let by_name = |name: &str| {
            let i = files.iter().position(|(n, _)| n.starts_with(name)).unwrap();
            report.stored[i].id()
        };
        let mut created = Vec::new();
        for (name, _) in &files {
            let o = outcome_of(&report.processed, by_name(name)).await;
            let prefix = &name[..2];
            match prefix {
                "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "20" | "21"
                | "24" => {
                    assert!(matches!(o, Outcome::Created { .. }), "{name}: {o:?}");
                    created.push(name.clone());
                }
                "10" => assert!(
                    matches!(
                        o,
                        Outcome::Ignored {
                            reason: "auto_submitted",
                            ..
                        }
                    ),
                    "{name}: {o:?}"
                ),
                "11" => assert!(
                    matches!(o, Outcome::Ignored { reason: "bulk", .. }),
                    "{name}: {o:?}"
                ),
                "12" => assert!(
                    matches!(
                        o,
                        Outcome::Ignored {
                            reason: "auto_reply",
                            ..
                        }
                    ),
                    "{name}: {o:?}"
                ),
                "13" => assert!(
                    matches!(
                        o,
                        Outcome::Ignored {
                            reason: "own_address",
                            ..
                        }
                    ),
                    "{name}: {o:?}"
                ),
                "14" => assert_eq!(
                    o,
                    Outcome::Bounced {
                        ticket_id: Some(first.id)
                    },
                    "{name}"
                ),
                "22" | "23" => assert!(
                    matches!(
                        o,
                        Outcome::Quarantined {
                            reason: "no_tenant",
                            ..
                        }
                    ),
                    "{name}: {o:?}"
                ),
                _ => panic!("unexpected corpus file {name}"),
            }
        }
        assert_eq!(tickets_count(db).await, before + created.len() as u64);

        // The bounce marked our mail and told the ticket.
        let out = mail_outbound::Entity::find()
            .filter(mail_outbound::Column::MessageId.eq("sent-ack-1@madoguchi.local"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.status, "bounced");
        assert!(out.last_error.unwrap().contains("5.1.1"));
        let ev = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(first.id))
            .filter(ticket_event::Column::Kind.eq("mail_bounced"))
            .one(db)
            .await
            .unwrap();
        assert!(ev.is_some());

        // The Outlook mail: a ticket in Japanese, the requester matched, channel email.
        let m = mail_message::Entity::find_by_id(by_name("01"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.status, m.action.as_deref()),
            (MailStatus::Processed, Some("created"))
        );
        let tk = ticket::Entity::find_by_id(m.ticket_id.unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tk.title, "共有フォルダに入れません①");
        assert!(tk.description.contains(r"\\fs01\share\new"));
        assert_eq!(tk.requester_id, Some(city.requester));
        assert_eq!(tk.channel, entity::Channel::Email);
        assert_eq!(
            tk.org_unit_id,
            Some(city.child_unit),
            "the requester's org unit"
        );

        // Gmail's Cc: the colleague is a watcher with their person, the outsider by address.
        let m = mail_message::Entity::find_by_id(by_name("07"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let watchers = ticket_watcher::Entity::find()
            .filter(ticket_watcher::Column::TicketId.eq(m.ticket_id.unwrap()))
            .order_by_asc(ticket_watcher::Column::Email)
            .all(db)
            .await
            .unwrap();
        let w: Vec<_> = watchers
            .iter()
            .map(|w| (w.email.as_str(), w.person_id.is_some(), w.source.as_str()))
            .collect();
        assert_eq!(
            w,
            [
                ("other@city.example.jp", true, "mail_cc"),
                ("someone@outside.example.com", false, "mail_cc")
            ]
        );

        // Attachments: stored by content, the macro and the executable flagged on the ticket.
        let m = mail_message::Entity::find_by_id(by_name("09"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let atts = ticket_attachment::Entity::find()
            .filter(ticket_attachment::Column::TicketId.eq(m.ticket_id.unwrap()))
            .order_by_asc(ticket_attachment::Column::Id)
            .all(db)
            .await
            .unwrap();
        let a: Vec<_> = atts
            .iter()
            .map(|a| (a.filename.as_str(), a.flag.as_deref(), a.sha256.is_some()))
            .collect();
        assert_eq!(
            a,
            [
                ("利用申請書.xlsx", None, true),
                ("集計表①.xlsm", Some("macro"), true),
                ("請求書.exe", Some("executable"), true)
            ]
        );
        let flagged = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(m.ticket_id.unwrap()))
            .filter(ticket_event::Column::Kind.eq("attachments_flagged"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert!(flagged.internal);
        assert_eq!(flagged.payload["attachments"].as_array().unwrap().len(), 2);

        // An unknown sender under the default rule: a ticket in triage, no contact created.
        let m = mail_message::Entity::find_by_id(by_name("24"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let tk = ticket::Entity::find_by_id(m.ticket_id.unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tk.requester_id, None);
        assert!(
            tk.description
                .starts_with("差出人: 外部 業者 <vendor@outside.example.com>")
        );
        assert!(
            person::Entity::find()
                .filter(person::Column::Email.eq("vendor@outside.example.com"))
                .one(db)
                .await
                .unwrap()
                .is_none()
        );

        // Decoding guesses are on the ticket's history.
        let m = mail_message::Entity::find_by_id(by_name("06"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let created_ev = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(m.ticket_id.unwrap()))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(created_ev.payload["via"], "email");
        assert_eq!(
            created_ev.payload["decodingNotes"][0],
            "文字コードをShift_JISと判定しました（指定はiso-8859-1）"
        );

        // Redelivery of everything, and the Outlook mail again as the pipe would pass it (LF
        // line ends, another trace header): nothing new anywhere.
        let count = tickets_count(db).await;
        let again = mail::ingest(db, "maildir", None, &mails).await.unwrap();
        assert_all_duplicates(&again.stored);
        assert_eq!(again.processed.total(), 0);
        let mut piped = b"Received: from mx2 by mx3; Fri, 20 Nov 2026 09:01:05 +0900\n".to_vec();
        piped.extend(files[0].1.iter().copied().filter(|b| *b != b'\r'));
        let third = mail::ingest(db, "pipe", None, &[raw(piped)]).await.unwrap();
        assert!(matches!(
            third.stored[0],
            Stored::Duplicate {
                status: MailStatus::Processed,
                ..
            }
        ));
        assert_eq!(tickets_count(db).await, count);
        assert_eq!(
            mail_message::Entity::find().count(db).await.unwrap(),
            files.len() as u64
        );
    }
);

both_backends!(
    replies_thread_by_tag_and_by_message_id_in_any_order,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        let from = "山田 太郎 <requester@city.example.jp>";

        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                "印刷できない",
                "orig-1@city.example.jp",
                "",
                "3階の複合機で印刷できません。",
            ))],
        )
        .await
        .unwrap();
        let Outcome::Created { ticket_id, number } = r.processed.outcomes[0].1.clone() else {
            panic!("{:?}", r.processed)
        };
        // The desk asks back; the ticket waits on the requester.
        tickets::change_status(
            db,
            &city.agent_actor(),
            ticket_id,
            TicketStatus::WaitingOnRequester,
            None,
        )
        .await
        .unwrap();

        // A reply by subject tag, Outlook style: the quoted original is trimmed from the comment.
        let body = "再起動したら直りました。\r\n\r\n差出人: ヘルプデスク <helpdesk@city.example.jp>\r\n送信日時: 2026年11月20日 10:00\r\n件名: 印刷できない\r\n\r\n再起動をお試しください。";
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                &format!("RE: [{number}] 印刷できない"),
                "reply-1@city.example.jp",
                "",
                body,
            ))],
        )
        .await
        .unwrap();
        let Outcome::Commented {
            ticket_id: tid,
            comment_id,
        } = r.processed.outcomes[0].1.clone()
        else {
            panic!("{:?}", r.processed)
        };
        assert_eq!(tid, ticket_id);
        let c = ticket_comment::Entity::find_by_id(comment_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.body, "再起動したら直りました。");
        assert_eq!((c.author_id, c.internal), (Some(city.requester), false));
        let tk = ticket::Entity::find_by_id(ticket_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            tk.status,
            TicketStatus::InProgress,
            "the requester answered"
        );

        // A reply with no tag, only In-Reply-To to the reply: same ticket.
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                "追加です",
                "reply-2@city.example.jp",
                "In-Reply-To: <reply-1@city.example.jp>\r\n",
                "もう一台も同じでした。",
            ))],
        )
        .await
        .unwrap();
        assert!(
            matches!(r.processed.outcomes[0].1, Outcome::Commented { ticket_id: x, .. } if x == ticket_id)
        );

        // Resolved, then the requester writes again: the ticket reopens.
        tickets::change_status(
            db,
            &city.agent_actor(),
            ticket_id,
            TicketStatus::Resolved,
            None,
        )
        .await
        .unwrap();
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                &format!("Re: [{number}]"),
                "reply-3@city.example.jp",
                "",
                "また印刷できなくなりました。",
            ))],
        )
        .await
        .unwrap();
        assert!(matches!(
            r.processed.outcomes[0].1,
            Outcome::Commented { .. }
        ));
        assert_eq!(
            ticket::Entity::find_by_id(ticket_id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .status,
            TicketStatus::InProgress
        );

        // Closed, then a reply: a new ticket that says which one it follows.
        tickets::change_status(
            db,
            &city.agent_actor(),
            ticket_id,
            TicketStatus::Resolved,
            None,
        )
        .await
        .unwrap();
        tickets::change_status(
            db,
            &city.agent_actor(),
            ticket_id,
            TicketStatus::Closed,
            None,
        )
        .await
        .unwrap();
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                &format!("Re: [{number}]"),
                "reply-4@city.example.jp",
                "",
                "別の件です。",
            ))],
        )
        .await
        .unwrap();
        let Outcome::Created {
            ticket_id: new_id, ..
        } = r.processed.outcomes[0].1.clone()
        else {
            panic!()
        };
        let new = ticket::Entity::find_by_id(new_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert!(new.description.contains(&number), "{}", new.description);
        assert_eq!(new.title, "（件名なし）");

        // A reply and its original in one batch, the reply first: one ticket, two messages.
        let orig = mail(
            from,
            "VPNにつながらない",
            "vpn-orig@city.example.jp",
            "",
            "自宅からVPNにつながりません。",
        );
        let mut reply = mail(
            from,
            "Re: VPNにつながらない",
            "vpn-reply@city.example.jp",
            "In-Reply-To: <vpn-orig@city.example.jp>\r\nReferences: <vpn-orig@city.example.jp>\r\n",
            "再起動しても同じです。",
        );
        // The reply was written later.
        let s = String::from_utf8(reply)
            .unwrap()
            .replace("10:00:00", "10:30:00");
        reply = s.into_bytes();
        let r = mail::ingest(db, "pipe", None, &[raw(reply.clone()), raw(orig.clone())])
            .await
            .unwrap();
        let kinds: Vec<_> = r
            .processed
            .outcomes
            .iter()
            .map(|(_, o)| matches!(o, Outcome::Created { .. }))
            .collect();
        assert_eq!(
            kinds,
            [true, false],
            "the original first, then the reply as its comment"
        );

        // The reply alone first (the original comes in a later batch): the original still
        // threads onto the ticket the reply opened.
        let orig2 = mail(
            from,
            "メールが送れない",
            "mail-orig@city.example.jp",
            "",
            "送信エラーになります。",
        );
        let reply2 = mail(
            from,
            "Re: メールが送れない",
            "mail-reply@city.example.jp",
            "References: <mail-orig@city.example.jp>\r\n",
            "まだ直りません。",
        );
        let r1 = mail::ingest(db, "pipe", None, &[raw(reply2)])
            .await
            .unwrap();
        let Outcome::Created {
            ticket_id: opened, ..
        } = r1.processed.outcomes[0].1.clone()
        else {
            panic!()
        };
        let r2 = mail::ingest(db, "pipe", None, &[raw(orig2)]).await.unwrap();
        assert!(
            matches!(r2.processed.outcomes[0].1, Outcome::Commented { ticket_id: x, .. } if x == opened)
        );

        // A reused Message-ID with other content is a different message: stored and processed
        // (it threads to that id's ticket, which is closed, so it opens a new one).
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                from,
                "同じIDの別メール",
                "orig-1@city.example.jp",
                "",
                "内容が違います。",
            ))],
        )
        .await
        .unwrap();
        assert!(matches!(r.stored[0], Stored::New(_)));
        let Outcome::Created {
            ticket_id: reused, ..
        } = r.processed.outcomes[0].1.clone()
        else {
            panic!("{:?}", r.processed)
        };
        assert!(
            ticket::Entity::find_by_id(reused)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .description
                .contains(&number)
        );
    }
);

both_backends!(
    senders_rules_rate_cap_and_quarantine,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        service::mail::save_settings(
            db,
            city.id,
            &MailSettings {
                unknown_sender: UnknownSender::Contact,
                sender_rate_per_hour: 2,
                max_attachment_bytes: 10,
                ..MailSettings::default()
            },
        )
        .await
        .unwrap();

        // An unknown sender under the contact rule becomes a requester in the directory.
        let r = mail::ingest(
            db,
            "pipe",
            None,
            &[raw(mail(
                "新人 職員 <new@city.example.jp>",
                "はじめまして",
                "n-1@city.example.jp",
                "",
                "よろしくお願いします。",
            ))],
        )
        .await
        .unwrap();
        let Outcome::Created { ticket_id, .. } = r.processed.outcomes[0].1.clone() else {
            panic!()
        };
        let p = person::Entity::find()
            .filter(person::Column::Email.eq("new@city.example.jp"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.display_name.as_str(), p.roles.as_str()),
            ("新人 職員", "requester")
        );
        assert_eq!(
            ticket::Entity::find_by_id(ticket_id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .requester_id,
            Some(p.id)
        );

        // Two new tickets an hour per sender here; the third waits in quarantine.
        let flood: Vec<RawMail> = (0..3)
            .map(|i| {
                raw(mail(
                    "new@city.example.jp",
                    &format!("件{i}"),
                    &format!("f-{i}@city.example.jp"),
                    "",
                    "本文",
                ))
            })
            .collect();
        let r = mail::ingest(db, "pipe", None, &flood).await.unwrap();
        let reasons: Vec<_> = r
            .processed
            .outcomes
            .iter()
            .map(|(_, o)| match o {
                Outcome::Created { .. } => "created",
                Outcome::Quarantined { reason, .. } => reason,
                _ => "other",
            })
            .collect();
        assert_eq!(
            reasons,
            ["created", "rate_limited", "rate_limited"],
            "one ticket opened before this batch"
        );
        let held = r.processed.outcomes[2].0;

        // Agents see the quarantine of their tenant only; requesters not at all.
        let agent = city.agent_actor();
        let page = service::mail::quarantine::list(db, &agent, &[], 10, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(
            page.items
                .iter()
                .all(|m| m.reason.as_deref() == Some("rate_limited"))
        );
        assert!(
            page.items[0]
                .detail
                .as_deref()
                .unwrap()
                .contains("1時間に2件")
        );
        assert!(matches!(
            service::mail::quarantine::list(db, &city.requester_actor(), &[], 10, None).await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            service::mail::quarantine::get(db, &t.fixture.edu.agent_actor(), held).await,
            Err(ServiceError::NotFound)
        ));
        assert!(
            service::mail::quarantine::raw(db, &agent, held)
                .await
                .unwrap()
                .starts_with(b"From: new@city.example.jp")
        );

        // Retry is the agent's decision: no rate cap. Discard keeps the message, out of the queue.
        service::mail::quarantine::retryable(db, &agent, held)
            .await
            .unwrap();
        let r = mail::retry(db, &[held]).await.unwrap();
        assert!(matches!(r.outcomes[0].1, Outcome::Created { .. }), "{r:?}");
        let other = page.items.iter().find(|m| m.id != held).unwrap().id;
        let d = service::mail::quarantine::discard(db, &agent, other)
            .await
            .unwrap();
        assert_eq!(d.status, MailStatus::Discarded);
        let Err(ServiceError::Invalid(e)) =
            service::mail::quarantine::discard(db, &agent, other).await
        else {
            panic!()
        };
        assert_eq!(e[0].code, "NOT_QUARANTINED");
        assert!(
            service::mail::quarantine::list(db, &agent, &[], 10, None)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        // Over the size limit: recorded and flagged, not copied (the raw mail keeps it).
        let with_file = "From: new@city.example.jp\r\nTo: helpdesk@city.example.jp\r\nSubject: [HD-2026-000001] file\r\nMessage-ID: <big-1@city.example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n添付します\r\n--B\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJeLjz9MKMSAwIG9iago=\r\n--B--\r\n";
        let r = mail::ingest(db, "pipe", None, &[raw(with_file)])
            .await
            .unwrap();
        let tid = match &r.processed.outcomes[0].1 {
            Outcome::Created { ticket_id, .. } | Outcome::Commented { ticket_id, .. } => *ticket_id,
            o => panic!("{o:?}"),
        };
        let a = ticket_attachment::Entity::find()
            .filter(ticket_attachment::Column::TicketId.eq(tid))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.flag.as_deref(), a.sha256.is_none(), a.size),
            (Some("too_large"), true, 23)
        );
    }
);

both_backends!(
    agents_work_the_quarantine_through_graphql,
    |backend| async move {
        let app = tests::spawn_app(backend).await;
        let db = &app.db.write;
        let city = &app.fixture.city;
        service::mail::save_settings(
            db,
            city.id,
            &MailSettings {
                sender_rate_per_hour: 1,
                ..MailSettings::default()
            },
        )
        .await
        .unwrap();
        let flood: Vec<RawMail> = (0..3)
            .map(|i| {
                raw(mail(
                    "requester@city.example.jp",
                    &format!("件{i}"),
                    &format!("g-{i}@city.example.jp"),
                    "",
                    "本文",
                ))
            })
            .collect();
        mail::ingest(db, "pipe", None, &flood).await.unwrap();

        const LIST: &str = "query($after: ID) { mailQuarantine(first: 1, after: $after) { edges { node { id status reason detail fromAddress subject size attempts ticket { number } } } pageInfo { hasNextPage endCursor } } }";
        let agent = app.token(&city.slug, city.agent, &["agent"]);
        let body = app.gql(&agent, LIST, serde_json::json!({})).await;
        let q = &body["data"]["mailQuarantine"];
        assert_eq!(q["edges"].as_array().unwrap().len(), 1, "{body}");
        let node = &q["edges"][0]["node"];
        assert_eq!(
            (
                node["status"].as_str(),
                node["reason"].as_str(),
                node["subject"].as_str()
            ),
            (Some("QUARANTINED"), Some("rate_limited"), Some("件2")),
            "newest first"
        );
        assert!(node["ticket"].is_null());
        assert_eq!(q["pageInfo"]["hasNextPage"], true);
        let second = app
            .gql(
                &agent,
                LIST,
                serde_json::json!({"after": q["pageInfo"]["endCursor"]}),
            )
            .await;
        let other_id = second["data"]["mailQuarantine"]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            second["data"]["mailQuarantine"]["pageInfo"]["hasNextPage"],
            false
        );

        // Requesters may not look; another tenant's agent sees an empty quarantine.
        let requester = app.token(&city.slug, city.requester, &["requester"]);
        let (_, body) = app
            .post(Some(&requester), LIST, serde_json::json!({}))
            .await;
        assert_eq!(tests::error_code(&body).as_deref(), Some("FORBIDDEN"));
        let edu = app.token(&app.fixture.edu.slug, app.fixture.edu.agent, &["agent"]);
        let body = app.gql(&edu, LIST, serde_json::json!({})).await;
        assert!(
            body["data"]["mailQuarantine"]["edges"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Retry makes the ticket; a second retry is a user error; discard takes the other out.
        const RETRY: &str = "mutation($id: ID!) { retryMail(input: {mailId: $id, clientMutationId: \"r\"}) { clientMutationId mail { status action ticket { title channel } } userErrors { field code message } } }";
        let id = node["id"].as_str().unwrap();
        let body = app.gql(&agent, RETRY, serde_json::json!({"id": id})).await;
        let r = &body["data"]["retryMail"];
        assert_eq!(r["mail"]["status"], "PROCESSED", "{body}");
        assert_eq!(r["mail"]["ticket"]["title"], "件2");
        assert_eq!(r["mail"]["ticket"]["channel"], "EMAIL");
        let body = app.gql(&agent, RETRY, serde_json::json!({"id": id})).await;
        assert_eq!(
            body["data"]["retryMail"]["userErrors"][0]["code"],
            "NOT_QUARANTINED"
        );
        let body = app
            .gql(&edu, RETRY, serde_json::json!({"id": other_id}))
            .await;
        assert_eq!(
            tests::error_code(&body).as_deref(),
            Some("NOT_FOUND"),
            "{body}"
        );
        const DISCARD: &str = "mutation($id: ID!) { discardMail(input: {mailId: $id}) { mail { status } userErrors { code } } }";
        let body = app
            .gql(&agent, DISCARD, serde_json::json!({"id": other_id}))
            .await;
        assert_eq!(body["data"]["discardMail"]["mail"]["status"], "DISCARDED");
        // A malformed id is a typed error.
        let (_, body) = app
            .post(Some(&agent), DISCARD, serde_json::json!({"id": "nonsense"}))
            .await;
        assert_eq!(
            tests::error_code(&body).as_deref(),
            Some("INVALID_ID"),
            "{body}"
        );
    }
);

both_backends!(
    a_message_that_fails_mid_batch_is_quarantined_and_the_rest_go_on_once,
    |backend| async move {
        use sea_orm::ConnectionTrait as _;
        let t = test_db(backend).await;
        let db = &t.db.write;
        // A real database error in the middle of a batch: tickets titled BOOM cannot be
        // inserted.
        let trigger: &[&str] = match backend {
            tests::Backend::Sqlite => &["CREATE TRIGGER boom BEFORE INSERT ON tickets \
                 WHEN NEW.title LIKE '%BOOM%' BEGIN SELECT RAISE(ABORT, 'boom'); END"],
            tests::Backend::Postgres => &[
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN \
                 IF NEW.title LIKE '%BOOM%' THEN RAISE EXCEPTION 'boom'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER boom BEFORE INSERT ON tickets \
                 FOR EACH ROW EXECUTE FUNCTION boom()",
            ],
        };
        for sql in trigger {
            db.execute_unprepared(sql).await.unwrap();
        }
        let before = tickets_count(db).await;
        let from = "山田 太郎 <requester@city.example.jp>";
        let batch = [
            raw(mail(
                from,
                "プリンタ",
                "b-1@city.example.jp",
                "",
                "印刷できません。",
            )),
            raw(mail(
                from,
                "BOOM",
                "b-2@city.example.jp",
                "",
                "失敗します。",
            )),
            // A reply, in the same batch, to the first.
            raw(mail(
                from,
                "Re: プリンタ",
                "b-3@city.example.jp",
                "In-Reply-To: <b-1@city.example.jp>\r\n",
                "再起動しても同じです。",
            )),
            raw(mail(
                from,
                "VPN",
                "b-4@city.example.jp",
                "",
                "つながりません。",
            )),
        ];
        let r = mail::ingest(db, "pipe", None, &batch).await.unwrap();
        let ids: Vec<Uuid> = r.stored.iter().map(|s| s.id()).collect();
        let Outcome::Created {
            ticket_id: first, ..
        } = outcome_of(&r.processed, ids[0]).await
        else {
            panic!("{:?}", r.processed.outcomes)
        };
        assert!(
            matches!(
                outcome_of(&r.processed, ids[1]).await,
                Outcome::Quarantined {
                    reason: "processing_error",
                    ..
                }
            ),
            "{:?}",
            r.processed.outcomes
        );
        assert!(matches!(
            outcome_of(&r.processed, ids[2]).await,
            Outcome::Commented { ticket_id, .. } if ticket_id == first
        ));
        let Outcome::Created { ticket_id: vpn, .. } = outcome_of(&r.processed, ids[3]).await else {
            panic!()
        };
        assert_eq!(tickets_count(db).await, before + 2);
        assert_eq!(
            r.processed.careful_batches, 1,
            "the batch ran again message by message"
        );
        let quarantined = mail_message::Entity::find_by_id(ids[1])
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(quarantined.status, MailStatus::Quarantined);

        // What the first attempt at the batch wrote went with its rollback: every append is
        // there once.
        for (tk, kinds) in [
            (first, vec!["created", "commented"]),
            (vpn, vec!["created"]),
        ] {
            assert_eq!(event_kinds(db, tk).await, kinds);
            let acks = mail_outbound::Entity::find()
                .filter(mail_outbound::Column::TicketId.eq(tk))
                .count(db)
                .await
                .unwrap();
            assert_eq!(acks, 1, "one acknowledgement a new ticket");
        }
        let sends = entity::job::Entity::find()
            .filter(entity::job::Column::Kind.eq(service::mail::outbound::SEND_JOB))
            .count(db)
            .await
            .unwrap();
        assert_eq!(sends, 2);
        let outbox = entity::search_outbox::Entity::find()
            .filter(entity::search_outbox::Column::DocId.is_in([first, vpn]))
            .count(db)
            .await
            .unwrap();
        assert_eq!(outbox, 3, "one search-outbox row an event");

        // Redelivered, the batch changes nothing.
        let again = mail::ingest(db, "pipe", None, &batch).await.unwrap();
        assert_all_duplicates(&again.stored);
        assert_eq!(tickets_count(db).await, before + 2);
    }
);

both_backends!(
    a_clean_batch_writes_its_appends_once,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let from = "山田 太郎 <requester@city.example.jp>";
        // Each reply comes before its original in the batch: sorted by their Date, each
        // threads onto a ticket whose Message-IDs the batch has yet to write.
        // (Fifteen: under the default cap of twenty new tickets an hour a sender.)
        let batch: Vec<RawMail> = (0..15)
            .flat_map(|i| {
                [
                    raw(String::from_utf8(mail(
                        from,
                        &format!("Re: 件名{i}"),
                        &format!("c-{i}-r@city.example.jp"),
                        &format!("In-Reply-To: <c-{i}@city.example.jp>\r\n"),
                        "追記です。",
                    ))
                    .unwrap()
                    .replace("10:00:00", "10:05:00")),
                    raw(mail(
                        from,
                        &format!("件名{i}"),
                        &format!("c-{i}@city.example.jp"),
                        "",
                        "本文",
                    )),
                ]
            })
            .collect();
        let r = mail::ingest(db, "maildir", None, &batch).await.unwrap();
        assert_eq!(
            (r.processed.created, r.processed.commented),
            (15, 15),
            "{:?}",
            r.processed.outcomes
        );
        assert_eq!(
            r.processed.careful_batches, 0,
            "one transaction, appends deferred"
        );
        let created: Vec<Uuid> = r
            .processed
            .outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Created { ticket_id, .. } => Some(*ticket_id),
                _ => None,
            })
            .collect();
        for tk in &created {
            assert_eq!(event_kinds(db, *tk).await, ["created", "commented"]);
        }
        let acks = mail_outbound::Entity::find()
            .filter(mail_outbound::Column::TicketId.is_in(created.clone()))
            .count(db)
            .await
            .unwrap();
        assert_eq!(acks, 15);
        let threads = entity::mail_thread_id::Entity::find()
            .filter(entity::mail_thread_id::Column::TicketId.is_in(created.clone()))
            .count(db)
            .await
            .unwrap();
        // Per ticket: the original, the reply, and our acknowledgement.
        assert_eq!(threads, 45);
        let outbox = entity::search_outbox::Entity::find()
            .filter(entity::search_outbox::Column::DocId.is_in(created))
            .count(db)
            .await
            .unwrap();
        assert_eq!(outbox, 30);
    }
);

both_backends!(
    two_workers_on_the_same_stored_mail_process_each_message_once,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        let from = "山田 太郎 <requester@city.example.jp>";
        let raws: Vec<Vec<u8>> = (0..12)
            .map(|i| {
                mail(
                    from,
                    &format!("二重{i}"),
                    &format!("w-{i}@city.example.jp"),
                    "",
                    "本文",
                )
            })
            .collect();
        let items: Vec<_> = raws
            .iter()
            .map(|r| {
                (
                    mail::envelope(r, "pipe", None, |_| Some(city.id)),
                    r.as_slice(),
                )
            })
            .collect();
        let stored = service::mail::store_batch(db, &items, tickets::now())
            .await
            .unwrap();
        let ids: Vec<Uuid> = stored.iter().map(|s| s.id()).collect();
        let addresses = service::mail::Addresses::load(db).await.unwrap();
        let before = tickets_count(db).await;
        // Two workers (the server's own processing and a maildir run, say) on overlapping
        // rows at once: one takes each message, the other leaves it.
        let (a, b) = tokio::join!(
            service::mail::process_ids(db, &addresses, &mail::parse, &ids, Default::default()),
            service::mail::process_ids(db, &addresses, &mail::parse, &ids[4..], Default::default()),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.created + b.created, 12, "{a:?} {b:?}");
        assert_eq!(a.already_done + b.already_done, 8, "{a:?} {b:?}");
        assert_eq!((a.careful_batches, b.careful_batches), (0, 0));
        assert_eq!(tickets_count(db).await, before + 12);
        let acks = mail_outbound::Entity::find().count(db).await.unwrap();
        assert_eq!(acks, 12);
    }
);
