//! The whole mail loop through the running server, on SQLite and PostgreSQL: a staff member's
//! mail lands in a real Dovecot mailbox, the server's IMAP job (IDLE) makes it a ticket, the
//! acknowledgement goes out through a real SMTP server (aiosmtpd), an agent answers through
//! GraphQL, the answer is mailed threaded, and the staff member's reply to it (delivered to
//! the mailbox again) lands on the same ticket as a comment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::mail::imap::{ImapConfig, ImapPoller};
use bots::mail::{Security, SmtpConfig};
use mail_parser::MessageParser;
use serde_json::json;
use service::Secret;
use std::time::{Duration, Instant};
use tests::mailpeers::{Dovecot, SmtpSink};
use tests::{Backend, TestApp, both_backends, try_spawn_app_with};

fn imap(d: &Dovecot) -> ImapConfig {
    ImapConfig {
        name: "city".into(),
        host: "localhost".into(),
        port: d.imaps_port,
        security: Security::Tls,
        username: d.user.clone(),
        password: Secret::new(d.password.clone()),
        ca_file: Some(d.ca.clone()),
        poll_secs: 3600,
        ..ImapConfig::default()
    }
}

async fn deliver(d: &Dovecot, bytes: &[u8]) {
    let mut s = ImapPoller::new(imap(d), None)
        .unwrap()
        .connect()
        .await
        .unwrap();
    s.append("INBOX", None, None, bytes).await.unwrap();
    s.logout().await.unwrap();
}

async fn wait_until<F, Fut, T>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what}: not within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn app(backend: Backend, d: &Dovecot, sink: &SmtpSink) -> TestApp {
    let (imap, port) = (imap(d), sink.port);
    try_spawn_app_with(backend, move |c| {
        c.mail.poll_millis = 100;
        c.mail.imap = vec![imap];
        c.mail.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: Security::None,
            ..SmtpConfig::default()
        });
    })
    .await
    .unwrap()
}

both_backends!(
    a_mailed_request_is_acknowledged_answered_and_the_reply_threads,
    |backend| async move {
        let d = Dovecot::start().await.unwrap();
        let sink = SmtpSink::start(0).await.unwrap();
        let app = app(backend, &d, &sink).await;
        let city = &app.fixture.city;
        let agent = app.token(&city.slug, city.agent, &["agent"]);

        let request = "From: 山田 太郎 <requester@city.example.jp>\r\nTo: helpdesk@city.example.jp\r\nSubject: =?ISO-2022-JP?B?GyRCNiZNLSVVJSklayVAGyhC?=\r\nDate: Fri, 20 Nov 2026 10:00:00 +0900\r\nMessage-ID: <e2e-1@pc.city.example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\x1b$B6&M-%U%)%k%@$,8+$($^$;$s\x1b(B\r\n";
        deliver(&d, request.as_bytes()).await;

        // The acknowledgement arrives with the new ticket's number.
        let got = sink.wait_for(1, 20).await;
        assert_eq!(got.len(), 1, "no acknowledgement\n{}", d.log());
        let ack = MessageParser::default().parse(&got[0].0).unwrap();
        let subject = ack.subject().unwrap().to_owned();
        let number = subject.split(['[', ']']).nth(1).unwrap().to_owned();
        assert!(subject.ends_with("共有フォルダ"), "{subject}");

        let list = app
            .gql(
                &agent,
                "query { tickets(first: 50) { nodes { id number title channel } } }",
                json!({}),
            )
            .await;
        let node = list["data"]["tickets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["number"] == number.as_str())
            .cloned()
            .unwrap();
        assert_eq!(
            (node["title"].as_str(), node["channel"].as_str()),
            (Some("共有フォルダ"), Some("EMAIL"))
        );
        let ticket_id = node["id"].as_str().unwrap().to_owned();

        // The agent answers publicly; the answer is mailed, threaded on the request.
        let r = app
        .gql(
            &agent,
            "mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { userErrors { code } } }",
            json!({"i": {"ticketId": ticket_id, "body": "アクセス権を付与しました。再度お試しください。"}}),
        )
        .await;
        assert_eq!(
            r["data"]["addTicketComment"]["userErrors"],
            json!([]),
            "{r}"
        );
        let got = sink.wait_for(2, 20).await;
        assert_eq!(got.len(), 2);
        let answer = MessageParser::default().parse(&got[1].0).unwrap();
        assert!(
            answer
                .body_text(0)
                .unwrap()
                .contains("アクセス権を付与しました")
        );
        let answer_id = answer.message_id().unwrap().to_owned();

        // The staff member replies to the answer (quoting it); it becomes a comment on the ticket.
        let reply = format!(
            "From: requester@city.example.jp\r\nTo: helpdesk@city.example.jp\r\nSubject: Re: {subject}\r\nDate: Fri, 20 Nov 2026 11:00:00 +0900\r\nMessage-ID: <e2e-2@pc.city.example.jp>\r\nIn-Reply-To: <{answer_id}>\r\nReferences: <e2e-1@pc.city.example.jp> <{answer_id}>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n見えるようになりました。\r\n\r\n> アクセス権を付与しました。\r\n"
        );
        deliver(&d, reply.as_bytes()).await;
        let comments = wait_until("the reply as a comment", || {
        let (app, agent, id) = (&app, &agent, ticket_id.clone());
        async move {
            let r = app
                .gql(agent, "query($id: ID!) { node(id: $id) { ... on Ticket { comments(first: 10) { nodes { body } } } } }", json!({"id": id}))
                .await;
            let nodes = r["data"]["node"]["comments"]["nodes"].as_array().cloned().unwrap_or_default();
            (nodes.len() == 2).then_some(nodes)
        }
    })
    .await;
        assert_eq!(
            comments[1]["body"], "見えるようになりました。",
            "quoted text trimmed"
        );
        // Exactly one ticket came of the two mails.
        let list = app
            .gql(
                &agent,
                "query { tickets(first: 50) { nodes { title } } }",
                json!({}),
            )
            .await;
        let titles: Vec<_> = list["data"]["tickets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["title"] == "共有フォルダ")
            .collect();
        assert_eq!(titles.len(), 1);
        // The timeline shows both mails sent.
        let r = app
        .gql(&agent, "query($id: ID!) { node(id: $id) { ... on Ticket { events(first: 50) { nodes { kind } } } } }", json!({"id": ticket_id}))
        .await;
        let sent = r["data"]["node"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "MAIL_SENT")
            .count();
        assert_eq!(sent, 2, "{r}");
    }
);
