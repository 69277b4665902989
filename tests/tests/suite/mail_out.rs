//! Replies out, on SQLite and PostgreSQL, through a real SMTP server (aiosmtpd): the
//! acknowledgement of a mailed-in ticket, an agent's public comment and the resolution, with
//! threading headers and the subject tag; ISO-2022-JP for a tenant that asks for it; retries
//! with backoff on 4xx, failure recorded on 5xx; a dead worker's job taken over; a reply to
//! our mail threading back onto the ticket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::mail::{self, RawMail, Security, Sender, SmtpConfig};
use chrono::Duration;
use entity::{TicketStatus, mail_outbound, ticket, ticket_event};
use mail_parser::{HeaderValue, MessageParser};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use service::mail::{MailSettings, Outcome};
use service::{jobs, tickets};
use tests::mailpeers::SmtpSink;
use tests::{both_backends, test_db};
use uuid::Uuid;

fn smtp(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        timeout_secs: 5,
        ..SmtpConfig::default()
    }
}

fn request(from: &str, cc: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: helpdesk@city.example.jp\r\n{cc}Subject: {subject}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0900\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn ingest_one(db: &DatabaseConnection, bytes: Vec<u8>) -> Outcome {
    let r = mail::ingest(
        db,
        "pipe",
        None,
        &[RawMail {
            bytes,
            source_ref: None,
        }],
    )
    .await
    .unwrap();
    r.processed.outcomes[0].1.clone()
}

async fn outbound(db: &DatabaseConnection, ticket_id: Uuid) -> Vec<mail_outbound::Model> {
    mail_outbound::Entity::find()
        .filter(mail_outbound::Column::TicketId.eq(ticket_id))
        .order_by_asc(mail_outbound::Column::CreatedAt)
        .order_by_asc(mail_outbound::Column::Id)
        .all(db)
        .await
        .unwrap()
}

fn header(m: &mail_parser::Message<'_>, name: &str) -> Vec<String> {
    match m.header(name) {
        Some(HeaderValue::Text(t)) => vec![t.to_string()],
        Some(HeaderValue::TextList(l)) => l.iter().map(|t| t.to_string()).collect(),
        _ => vec![],
    }
}

both_backends!(
    acknowledgement_comment_and_resolution_go_out_threaded,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        let sink = SmtpSink::start(0).await.unwrap();
        let sender = Sender::new(&smtp(sink.port)).unwrap();

        // A request from a known person with a colleague on Cc.
        let Outcome::Created { ticket_id, number } = ingest_one(
            db,
            request(
                "山田 太郎 <requester@city.example.jp>",
                "Cc: other@city.example.jp\r\n",
                "プリンタが印刷できない",
                "req-1@pc.city.example.jp",
                "3階のプリンタです。\r\n",
            ),
        )
        .await
        else {
            panic!("a ticket")
        };
        let queued = outbound(db, ticket_id).await;
        assert_eq!(queued.len(), 1);
        assert_eq!(
            (queued[0].kind.as_str(), queued[0].status.as_str()),
            ("ack", "queued")
        );

        let r = sender.send_due(db, tickets::now()).await.unwrap();
        assert_eq!(r.sent, 1, "{r:?}");
        let got = sink.wait_for(1, 10).await;
        let (raw, rcpts) = &got[0];
        assert_eq!(rcpts, &vec!["requester@city.example.jp".to_owned()]);
        let ack = MessageParser::default().parse(raw).unwrap();
        let subject = ack.subject().unwrap();
        assert!(
            subject.contains(&format!("[{number}]")) && subject.contains("受け付けました"),
            "{subject}"
        );
        assert_eq!(header(&ack, "In-Reply-To"), ["req-1@pc.city.example.jp"]);
        assert_eq!(
            ack.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-replied")
        );
        assert!(
            ack.from().unwrap().first().unwrap().address().unwrap() == "helpdesk@city.example.jp"
        );
        let body = ack.body_text(0).unwrap();
        assert!(
            body.contains("山田 太郎 様") && body.contains(&format!("受付番号: {number}")),
            "{body}"
        );
        assert!(
            ack.cc().is_none(),
            "the acknowledgement goes to the sender only"
        );
        assert_eq!(outbound(db, ticket_id).await[0].status, "sent");

        // An internal note sends nothing; a public comment does, to the requester with Cc kept.
        let agent = city.agent_actor();
        tickets::add_comment(db, &agent, ticket_id, "ベンダーに確認中（内部）", true)
            .await
            .unwrap();
        assert_eq!(outbound(db, ticket_id).await.len(), 1);
        tickets::add_comment(
            db,
            &agent,
            ticket_id,
            "トナーを交換しました。\n\\\\fs01\\share\\manual を参照してください。",
            false,
        )
        .await
        .unwrap();
        assert_eq!(sender.send_due(db, tickets::now()).await.unwrap().sent, 1);
        let got = sink.wait_for(2, 10).await;
        let (raw, rcpts) = &got[1];
        assert_eq!(
            rcpts.len(),
            2,
            "requester and the Cc'd colleague: {rcpts:?}"
        );
        let answer = MessageParser::default().parse(raw).unwrap();
        assert_eq!(
            answer.subject().unwrap(),
            format!("Re: [{number}] プリンタが印刷できない")
        );
        assert_eq!(header(&answer, "In-Reply-To"), ["req-1@pc.city.example.jp"]);
        let refs = header(&answer, "References");
        assert!(
            refs.contains(&"req-1@pc.city.example.jp".to_owned())
                && refs.contains(&queued[0].message_id),
            "{refs:?}"
        );
        assert!(
            answer
                .body_text(0)
                .unwrap()
                .contains("\\\\fs01\\share\\manual"),
            "backslashes kept"
        );
        assert_eq!(
            answer.cc().unwrap().first().unwrap().address().unwrap(),
            "other@city.example.jp"
        );

        // The requester answers our mail from a client that drops the subject tag: it threads by
        // In-Reply-To onto the same ticket.
        let ours = outbound(db, ticket_id).await[1].message_id.clone();
        let reply = format!(
            "From: requester@city.example.jp\r\nTo: helpdesk@city.example.jp\r\nSubject: Re: プリンタ\r\nDate: Fri, 20 Nov 2026 11:00:00 +0900\r\nMessage-ID: <req-2@pc.city.example.jp>\r\nIn-Reply-To: <{ours}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n直りました。ありがとうございます。\r\n"
        );
        match ingest_one(db, reply.into_bytes()).await {
            Outcome::Commented { ticket_id: t2, .. } => assert_eq!(t2, ticket_id),
            o => panic!("{o:?}"),
        }

        // Resolving sends the resolution, threaded onto the requester's latest mail.
        tickets::change_status(
            db,
            &agent,
            ticket_id,
            TicketStatus::Resolved,
            Some("トナー交換で解決".into()),
        )
        .await
        .unwrap();
        assert_eq!(sender.send_due(db, tickets::now()).await.unwrap().sent, 1);
        let got = sink.wait_for(3, 10).await;
        let done = MessageParser::default().parse(&got[2].0).unwrap();
        assert!(done.subject().unwrap().contains("対応を完了しました"));
        assert_eq!(header(&done, "In-Reply-To"), ["req-2@pc.city.example.jp"]);
        assert!(done.body_text(0).unwrap().contains("トナー交換で解決"));
        let sent_events = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(ticket_id))
            .filter(ticket_event::Column::Kind.eq("mail_sent"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(sent_events, 3);
        // Nothing is left to send, and a second round sends nothing twice.
        assert_eq!(
            sender
                .send_due(db, tickets::now() + Duration::hours(2))
                .await
                .unwrap(),
            Default::default()
        );
        assert_eq!(sink.received().len(), 3);
    }
);

both_backends!(
    a_tenant_on_iso_2022_jp_gets_seven_bit_mail_its_receivers_read,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        service::mail::save_settings(
            db,
            city.id,
            &MailSettings {
                outgoing_charset: "iso-2022-jp".into(),
                ..MailSettings::default()
            },
        )
        .await
        .unwrap();
        let sink = SmtpSink::start(0).await.unwrap();
        let sender = Sender::new(&smtp(sink.port)).unwrap();
        let Outcome::Created { number, .. } = ingest_one(
            db,
            request(
                "requester@city.example.jp",
                "",
                "①の件 ㈱髙橋商事 ﾊﾝｶｸ",
                "iso-1@pc.city.example.jp",
                "よろしく",
            ),
        )
        .await
        else {
            panic!()
        };
        let r = sender.send_due(db, tickets::now()).await.unwrap();
        let out = mail_outbound::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.sent, 1, "{r:?} {:?}", out.last_error);
        let got = sink.wait_for(1, 10).await;
        let raw = &got[0].0;
        assert!(raw.is_ascii(), "ISO-2022-JP mail is 7-bit");
        let text = String::from_utf8_lossy(raw);
        assert!(
            text.to_ascii_lowercase().contains("charset=iso-2022-jp"),
            "{text}"
        );
        assert!(
            text.contains("=?ISO-2022-JP?B?"),
            "subject in ISO-2022-JP encoded words"
        );
        let m = MessageParser::default().parse(raw).unwrap();
        assert_eq!(
            m.subject().unwrap(),
            format!("[{number}] お問い合わせを受け付けました: ①の件 ㈱髙橋商事 ハンカク")
        );
        assert!(
            m.body_text(0)
                .unwrap()
                .contains(&format!("受付番号: {number}"))
        );
        assert!(
            m.from()
                .unwrap()
                .first()
                .unwrap()
                .name()
                .unwrap()
                .ends_with("ヘルプデスク")
        );
    }
);

both_backends!(
    temporary_failures_are_retried_with_backoff_and_permanent_ones_recorded,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let sink = SmtpSink::start(2).await.unwrap();
        let sender = Sender::new(&smtp(sink.port)).unwrap();
        let Outcome::Created { ticket_id, .. } = ingest_one(
            db,
            request(
                "requester@city.example.jp",
                "",
                "VPNに接続できない",
                "retry-1@pc",
                "自宅から",
            ),
        )
        .await
        else {
            panic!()
        };
        let t0 = tickets::now();
        let r = sender.send_due(db, t0).await.unwrap();
        assert_eq!((r.sent, r.deferred), (0, 1));
        let out = &outbound(db, ticket_id).await[0];
        assert_eq!(out.status, "queued");
        assert!(
            out.last_error.as_deref().unwrap().contains("451"),
            "{:?}",
            out.last_error
        );
        // Not due again before the backoff (30 s, then 60 s).
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::seconds(10))
                .await
                .unwrap(),
            Default::default()
        );
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::seconds(31))
                .await
                .unwrap()
                .deferred,
            1
        );
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::seconds(60))
                .await
                .unwrap(),
            Default::default()
        );
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::seconds(95))
                .await
                .unwrap()
                .sent,
            1
        );
        assert_eq!(sink.wait_for(1, 10).await.len(), 1);
        assert_eq!(outbound(db, ticket_id).await[0].status, "sent");

        // A recipient the server refuses (550): failed at once, with an event on the ticket.
        let Outcome::Created { ticket_id: t2, .. } = ingest_one(
            db,
            request("nobody@city.example.jp", "", "宛先不明", "perm-1@pc", "x"),
        )
        .await
        else {
            panic!()
        };
        let r = sender.send_due(db, tickets::now()).await.unwrap();
        assert_eq!(r.failed, 1, "{r:?}");
        let out = &outbound(db, t2).await[0];
        assert_eq!(out.status, "failed");
        assert!(out.last_error.as_deref().unwrap().contains("550"));
        let failed = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(t2))
            .filter(ticket_event::Column::Kind.eq("mail_failed"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(failed, 1);
        assert_eq!(
            jobs::counts(db, "mail.send").await.unwrap(),
            [("done".to_owned(), 1), ("failed".to_owned(), 1)]
        );
    }
);

both_backends!(
    nothing_is_lost_when_the_server_is_down_or_a_worker_dies,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        // No SMTP server yet: the port refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sender = Sender::new(&smtp(port)).unwrap();
        let Outcome::Created { ticket_id, .. } = ingest_one(
            db,
            request(
                "requester@city.example.jp",
                "",
                "メールが送れない",
                "down-1@pc",
                "至急",
            ),
        )
        .await
        else {
            panic!()
        };
        let t0 = tickets::now();
        assert_eq!(sender.send_due(db, t0).await.unwrap().deferred, 1);

        // A worker claims the job and dies without finishing: nobody else takes it while the
        // lease runs, the next worker does after it.
        let claimed = jobs::claim(
            db,
            "mail.send",
            Duration::minutes(5),
            10,
            t0 + Duration::seconds(31),
        )
        .await
        .unwrap();
        assert_eq!(claimed.len(), 1);
        let sink = SmtpSink::start_on(port, 0).await.unwrap();
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::minutes(2))
                .await
                .unwrap(),
            Default::default()
        );
        assert_eq!(
            sender
                .send_due(db, t0 + Duration::minutes(6))
                .await
                .unwrap()
                .sent,
            1
        );
        assert_eq!(sink.wait_for(1, 10).await.len(), 1);
        let out = &outbound(db, ticket_id).await[0];
        assert_eq!(out.status, "sent");
        let tk = ticket::Entity::find_by_id(ticket_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tk.status, TicketStatus::New);
        sink.stop().await;
    }
);

both_backends!(
    starttls_and_smtps_are_verified_against_the_configured_ca,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        for (smtps, security, id) in [
            (false, Security::StartTls, "tls-1@pc"),
            (true, Security::Tls, "tls-2@pc"),
        ] {
            let (sink, ca) = SmtpSink::start_tls(smtps).await.unwrap();
            let cfg = |ca_file| SmtpConfig {
                host: "localhost".into(),
                port: sink.port,
                security,
                ca_file,
                timeout_secs: 5,
                ..SmtpConfig::default()
            };
            let Outcome::Created { ticket_id, .. } = ingest_one(
                db,
                request("requester@city.example.jp", "", "暗号化", id, "x"),
            )
            .await
            else {
                panic!()
            };
            // A server whose certificate we cannot verify gets nothing (and the mail waits).
            let r = Sender::new(&cfg(None))
                .unwrap()
                .send_due(db, tickets::now())
                .await
                .unwrap();
            assert_eq!(r.deferred, 1, "{security:?}: {r:?}");
            assert!(
                outbound(db, ticket_id).await[0]
                    .last_error
                    .as_deref()
                    .unwrap()
                    .to_lowercase()
                    .contains("certificate")
            );
            let r = Sender::new(&cfg(Some(ca)))
                .unwrap()
                .send_due(db, tickets::now() + Duration::minutes(1))
                .await
                .unwrap();
            assert_eq!(r.sent, 1, "{security:?}: {r:?}");
            assert_eq!(sink.wait_for(1, 10).await.len(), 1);
        }
    }
);

both_backends!(
    a_tenant_can_switch_the_acknowledgement_off,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        service::mail::save_settings(
            db,
            city.id,
            &MailSettings {
                acknowledge: false,
                ..MailSettings::default()
            },
        )
        .await
        .unwrap();
        let Outcome::Created { ticket_id, .. } = ingest_one(
            db,
            request(
                "requester@city.example.jp",
                "",
                "確認不要",
                "noack-1@pc",
                "x",
            ),
        )
        .await
        else {
            panic!()
        };
        assert!(
            outbound(db, ticket_id).await.is_empty(),
            "no acknowledgement"
        );
        // Answers are still mailed.
        tickets::add_comment(db, &city.agent_actor(), ticket_id, "対応しました", false)
            .await
            .unwrap();
        let out = outbound(db, ticket_id).await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "comment");
        assert_eq!(out[0].in_reply_to.as_deref(), Some("noack-1@pc"));
    }
);

both_backends!(
    mail_settings_through_graphql_are_admin_only_validated_and_take_effect,
    |backend| async move {
        use serde_json::json;
        let app = tests::spawn_app(backend).await;
        let city = &app.fixture.city;
        let (admin, agent, requester) = (
            app.token(&city.slug, city.admin, &["admin", "agent"]),
            app.token(&city.slug, city.agent, &["agent"]),
            app.token(&city.slug, city.requester, &["requester"]),
        );
        const READ: &str = "query { mailSettings { helpdeskAddress unknownSender outgoingCharset senderRatePerHour maxAttachmentBytes acknowledge ownAddresses } }";
        const UPDATE: &str = "mutation($i: UpdateMailSettingsInput!) { updateMailSettings(input: $i) { mailSettings { unknownSender outgoingCharset senderRatePerHour acknowledge ownAddresses } userErrors { field code message } } }";

        let r = app.gql(&agent, READ, json!({})).await;
        assert_eq!(
            r["data"]["mailSettings"]["helpdeskAddress"], "helpdesk@city.example.jp",
            "{r}"
        );
        assert_eq!(r["data"]["mailSettings"]["outgoingCharset"], "UTF_8");
        assert_eq!(r["data"]["mailSettings"]["acknowledge"], true);
        assert_eq!(
            tests::error_code(&app.gql(&requester, READ, json!({})).await).as_deref(),
            Some("FORBIDDEN")
        );

        // An agent may read but not change them.
        let change = json!({"i": {"outgoingCharset": "ISO_2022_JP", "unknownSender": "CONTACT", "ownAddresses": ["NoReply@City.example.jp"]}});
        assert_eq!(
            tests::error_code(&app.gql(&agent, UPDATE, change.clone()).await).as_deref(),
            Some("FORBIDDEN")
        );

        // Bad values come back as user errors, and nothing changes.
        let bad = app
            .gql(
                &admin,
                UPDATE,
                json!({"i": {"senderRatePerHour": -1, "ownAddresses": ["not an address"]}}),
            )
            .await;
        let errors = bad["data"]["updateMailSettings"]["userErrors"]
            .as_array()
            .unwrap()
            .clone();
        assert!(errors.iter().any(|e| e["code"] == "OUT_OF_RANGE"), "{bad}");
        let bad = app
            .gql(
                &admin,
                UPDATE,
                json!({"i": {"ownAddresses": ["not an address"]}}),
            )
            .await;
        assert_eq!(
            bad["data"]["updateMailSettings"]["userErrors"][0]["code"], "INVALID_ADDRESS",
            "{bad}"
        );
        assert_eq!(
            app.gql(&agent, READ, json!({})).await["data"]["mailSettings"]["unknownSender"],
            "TRIAGE"
        );

        let ok = app.gql(&admin, UPDATE, change).await;
        let s = &ok["data"]["updateMailSettings"]["mailSettings"];
        assert_eq!(
            (s["outgoingCharset"].as_str(), s["unknownSender"].as_str()),
            (Some("ISO_2022_JP"), Some("CONTACT")),
            "{ok}"
        );
        assert_eq!(s["ownAddresses"], json!(["noreply@city.example.jp"]));

        // Another tenant's admin changes only their own tenant's settings.
        let edu = &app.fixture.edu;
        let edu_admin = app.token(&edu.slug, edu.admin, &["admin", "agent"]);
        let r = app
            .gql(
                &edu_admin,
                UPDATE,
                json!({"i": {"outgoingCharset": "UTF_8", "unknownSender": "TRIAGE"}}),
            )
            .await;
        assert_eq!(
            r["data"]["updateMailSettings"]["userErrors"],
            json!([]),
            "{r}"
        );
        let city_now = app.gql(&agent, READ, json!({})).await;
        assert_eq!(
            city_now["data"]["mailSettings"]["outgoingCharset"], "ISO_2022_JP",
            "{city_now}"
        );
        let edu_now = app.gql(&edu_admin, READ, json!({})).await;
        assert_eq!(
            edu_now["data"]["mailSettings"]["helpdeskAddress"], "helpdesk@edu.example.jp",
            "{edu_now}"
        );

        // In effect: an unknown sender becomes a contact, and mail from our own alias is ignored.
        let db = &app.db.write;
        match ingest_one(
            db,
            request(
                "新人 <newcomer@city.example.jp>",
                "",
                "初めての問い合わせ",
                "set-1@pc",
                "x",
            ),
        )
        .await
        {
            Outcome::Created { ticket_id, .. } => {
                let t = ticket::Entity::find_by_id(ticket_id)
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(t.requester_id.is_some(), "the sender became a contact");
                assert_eq!(outbound(db, ticket_id).await[0].charset, "iso-2022-jp");
            }
            o => panic!("{o:?}"),
        }
        match ingest_one(
            db,
            request("noreply@city.example.jp", "", "自動送信", "set-2@pc", "x"),
        )
        .await
        {
            Outcome::Ignored { reason, .. } => assert_eq!(reason, "own_address"),
            o => panic!("{o:?}"),
        }
    }
);

both_backends!(
    a_one_time_code_mail_goes_out_and_its_body_is_not_kept,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let sink = SmtpSink::start(0).await.unwrap();
        let sender = Sender::new(&smtp(sink.port)).unwrap();
        let tenant = service::directory::tenant(db, t.fixture.city.id)
            .await
            .unwrap()
            .unwrap();
        let body = "山田 太郎 様\n\n確認コード: 482913\n".to_owned();
        let id = service::mail::outbound::queue_personal(
            db,
            &tenant,
            "requester@city.example.jp",
            "link_code",
            "【さくら市】LINE連携の確認コード".into(),
            body,
            tickets::now(),
        )
        .await
        .unwrap()
        .expect("the tenant has a helpdesk address");
        let r = sender.send_due(db, tickets::now()).await.unwrap();
        assert_eq!(r.sent, 1, "{r:?}");
        let got = sink.wait_for(1, 10).await;
        let m = MessageParser::default().parse(&got[0].0).unwrap();
        assert_eq!(m.subject(), Some("【さくら市】LINE連携の確認コード"));
        assert!(m.body_text(0).unwrap().contains("確認コード: 482913"));
        let row = mail_outbound::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "sent");
        assert!(
            !row.body.contains("482913"),
            "the code is blanked once sent: {}",
            row.body
        );
    }
);
