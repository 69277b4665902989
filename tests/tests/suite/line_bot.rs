//! The LINE bot through the running server: webhooks built and signed with LINE's official
//! SDK, our replies and pushes validated by the SDK's request models on a local LINE
//! platform; FAQ answers, account linking by a mailed code, a ticket with the transcript,
//! status questions, updates pushed back, redelivery, expired reply tokens, forged and broken
//! webhooks.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bots::chat::line::LineConfig;
use entity::{Channel, ticket};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use service::Secret;
use tests::linepeer::{Chat, LinePeer, mailed_code, messages, postbacks, text_of};
use tests::{Backend, TestApp, spawn_app_with_faq};

const SECRET: &str = "line-channel-secret-for-tests";
const TOKEN: &str = "line-channel-access-token-for-tests";

async fn start(backend: Backend) -> (TestApp, LinePeer) {
    start_with(backend, |_| {}).await
}

async fn start_with(
    backend: Backend,
    configure: impl FnOnce(&mut api::config::Config),
) -> (TestApp, LinePeer) {
    let peer = LinePeer::start(TOKEN).await.expect("LINE peer starts");
    let base = peer.base.clone();
    let app = spawn_app_with_faq(backend, |c| {
        c.bots.line = vec![LineConfig {
            tenant: "city".to_owned(),
            channel_secret: Secret::new(SECRET),
            channel_access_token: Secret::new(TOKEN),
            api_base: base,
            access_base: "https://access.line.me".into(),
        }];
        configure(c);
    })
    .await;
    (app, peer)
}

async fn line_dialog(backend: Backend) {
    let (app, peer) = start(backend).await;
    let mut chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: format!("U{}", "a".repeat(32)),
        n: 0,
    };

    // Following the bot: a greeting that offers linking.
    let r = chat.send(json!({ "type": "follow" })).await;
    assert!(text_of(&r).contains("ヘルプデスクのボット"), "{r:#?}");
    assert!(postbacks(&r).contains(&"link".to_owned()));

    // A question, before linking: an FAQ answer (or a choice) from the same search the
    // evaluation measures.
    let r = chat.say("パスワード忘れちゃってPCに入れない").await;
    assert_eq!(r[0]["path"], "/v2/bot/message/reply");
    let m = messages(&r);
    assert_eq!(m[0]["type"], "flex", "{m:#?}");
    assert!(
        m[0]["altText"].as_str().unwrap().contains("パスワード")
            || text_of(&r).contains("パスワード")
    );

    // Personal things need a link first.
    let r = chat.say("私の問い合わせ").await;
    assert!(
        text_of(&r).contains("アカウント連携が必要"),
        "{}",
        text_of(&r)
    );

    // Linking with a code mailed to the registered address: a wrong code first.
    let email = "requester@city.example.jp";
    let r = chat.press("link").await;
    assert!(text_of(&r).contains("メールアドレスを送って"));
    let r = chat.say("ＲＥＱＵＥＳＴＥＲ@city.example.jp").await;
    assert!(text_of(&r).contains("確認コード"), "{}", text_of(&r));
    let code = mailed_code(&app, email, "link_code").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = chat.say(wrong).await;
    assert!(text_of(&r).contains("あと2回"), "{}", text_of(&r));
    let r = chat.say(&code).await;
    assert!(
        text_of(&r).contains("山田 太郎 さんとして連携しました"),
        "{}",
        text_of(&r)
    );
    let accounts = service::chat::accounts_of(
        &app.db.read,
        app.fixture.city.id,
        app.fixture.city.requester,
    )
    .await
    .unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].link_method.as_deref(), Some("mail_code"));

    // A question nobody wrote an FAQ for, then "not solved" / "問い合わせる": a ticket with
    // the transcript, on the LINE channel, for the linked person.
    let r = chat
        .say("庁舎3階の会議室のプロジェクターから焦げ臭いにおいがして煙が出ている")
        .await;
    let offered = postbacks(&r);
    let data = offered
        .iter()
        .find(|d| d.starts_with("vote:") && d.ends_with(":0"))
        .or_else(|| offered.iter().find(|d| *d == "ticket"))
        .expect("a way to reach a person")
        .clone();
    let r = chat.press(&data).await;
    let text = text_of(&r);
    assert!(text.contains("受付番号: "), "{text}");
    let number = text
        .split("受付番号: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let t = ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number.as_str()))
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.channel, Channel::Line);
    assert_eq!(t.requester_id, Some(app.fixture.city.requester));
    assert!(
        t.description.contains("プロジェクター"),
        "{}",
        t.description
    );
    assert!(t.description.contains("会話の記録"), "{}", t.description);
    assert!(
        t.description.contains("パスワード忘れちゃって"),
        "the transcript reaches back: {}",
        t.description
    );
    assert!(
        !t.description.contains(&code),
        "the linking code never reaches a ticket"
    );

    // Status by number and "my tickets".
    let r = chat.say(&format!("{number} の状況は？")).await;
    let text = text_of(&r);
    assert!(
        text.contains(&number) && text.contains("状況: 新規"),
        "{text}"
    );
    let r = chat.say("私の問い合わせ").await;
    assert!(text_of(&r).contains(&number));

    // Somebody else's number is not found.
    let other = service::tickets::create(&app.db.write, &app.fixture.city.agent_actor(), {
        let mut n =
            service::tickets::NewTicket::new(entity::TicketKind::Inquiry, "別の人の件", "x");
        n.requester_id = Some(app.fixture.city.other_requester);
        n
    })
    .await
    .unwrap()
    .ticket;
    let r = chat.say(&format!("{} の状況", other.number)).await;
    assert!(
        text_of(&r).contains("見つかりませんでした"),
        "{}",
        text_of(&r)
    );

    // The desk answers publicly: the answer is pushed to the chat the ticket came from.
    let before = peer.requests().await.unwrap().len();
    service::tickets::add_comment(
        &app.db.write,
        &app.fixture.city.agent_actor(),
        t.id,
        "プロジェクターの使用を中止してください。すぐに伺います。",
        false,
    )
    .await
    .unwrap();
    let user = chat.user.clone();
    let calls = peer
        .wait_until(15, |c| {
            c[before..]
                .iter()
                .any(|x| x["body"]["to"] == user.as_str() && x["status"] == 200)
        })
        .await
        .unwrap();
    let pushed: Vec<Value> = calls[before..]
        .iter()
        .filter(|x| x["body"]["to"] == user.as_str())
        .cloned()
        .collect();
    assert_eq!(pushed[0]["path"], "/v2/bot/message/push");
    assert!(
        pushed[0]["retryKey"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    assert!(
        text_of(&pushed).contains("使用を中止してください"),
        "{pushed:#?}"
    );
    // An internal note is not pushed.
    service::tickets::add_comment(
        &app.db.write,
        &app.fixture.city.agent_actor(),
        t.id,
        "内部メモ: 機器交換を手配",
        true,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!text_of(&peer.requests().await.unwrap()).contains("内部メモ"));

    // Unfollow: nothing is pushed any more.
    chat.n += 1;
    let (body, sig) = peer
        .webhook(SECRET, json!([{ "type": "unfollow", "userId": chat.user, "webhookEventId": format!("ev-unf-{}", chat.n) }]), &[])
        .await
        .unwrap();
    assert_eq!(chat.post(&body, &sig).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = peer.requests().await.unwrap().len();
    service::tickets::add_comment(
        &app.db.write,
        &app.fixture.city.agent_actor(),
        t.id,
        "ブロック後の回答",
        false,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        peer.requests().await.unwrap().len(),
        before,
        "nothing is pushed to a user who blocked the bot"
    );

    // Every body we sent was accepted by the SDK's models.
    let all = peer.requests().await.unwrap();
    assert!(
        all.iter().all(|c| c["status"] == 200),
        "{:#?}",
        all.iter()
            .filter(|c| c["status"] != 200)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_dialog_sqlite() {
    line_dialog(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_dialog_postgres() {
    line_dialog(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_broken_and_oversized_webhooks_are_refused_and_odd_events_ignored() {
    let (app, peer) = start(Backend::Sqlite).await;
    let chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: "U0".to_owned(),
        n: 0,
    };
    let (body, sig) = peer
        .webhook(SECRET, json!([{ "type": "text", "userId": "Ub", "webhookEventId": "ev-f1", "replyToken": "rt-f1", "text": "こんにちは" }]), &[])
        .await
        .unwrap();
    // Signed with another secret, tampered with, unsigned.
    let (_, other_sig) = peer
        .webhook("another-secret", json!([]), &[])
        .await
        .unwrap();
    assert_eq!(chat.post(&body, &other_sig).await.status(), 401);
    assert_eq!(
        chat.post(&body.replace("ev-f1", "ev-f2"), &sig)
            .await
            .status(),
        401
    );
    let res = app
        .client
        .post(chat.url())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A tenant without a LINE channel.
    let res = app
        .client
        .post(format!("{}/bots/line/edu", app.address))
        .header("x-line-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Over a megabyte, correctly signed: refused before anything is parsed.
    let big = format!(
        r#"{{"destination":"U0","events":[],"pad":"{}"}}"#,
        "x".repeat(1_100_000)
    );
    let big_sig = bots::chat::line::sign(&Secret::new(SECRET), big.as_bytes());
    assert_eq!(chat.post(&big, &big_sig).await.status(), 413);
    // Signed but not JSON, or not a webhook.
    for bad in ["{not json", r#"{"events": 5}"#, "[]"] {
        let s = bots::chat::line::sign(&Secret::new(SECRET), bad.as_bytes());
        assert_eq!(chat.post(bad, &s).await.status(), 400, "{bad}");
    }
    // The verification request LINE sends: no events.
    let (empty, empty_sig) = peer.webhook(SECRET, json!([]), &[]).await.unwrap();
    assert_eq!(chat.post(&empty, &empty_sig).await.status(), 200);
    // Unknown event types and stickers: 200, no reply for the unknown type.
    let (odd, odd_sig) = peer
        .webhook(
            SECRET,
            json!([{ "type": "image", "userId": "Ub", "webhookEventId": "ev-img", "replyToken": "rt-img" }]),
            &[json!({ "type": "beacon", "webhookEventId": "ev-beacon", "replyToken": "rt-beacon", "timestamp": 0,
                      "source": { "type": "user", "userId": "Ub" }, "mode": "active", "beacon": { "hwid": "d41d8cd98f", "type": "enter" } })],
        )
        .await
        .unwrap();
    assert_eq!(chat.post(&odd, &odd_sig).await.status(), 200);
    let calls = peer
        .wait_until(15, |c| {
            c.iter().any(|x| x["body"]["replyToken"] == "rt-img")
        })
        .await
        .unwrap();
    assert!(text_of(&calls).contains("文字で入力"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = peer.requests().await.unwrap();
    assert!(!calls.iter().any(|x| x["body"]["replyToken"] == "rt-beacon"));
    // Nothing refused was answered.
    assert!(!calls.iter().any(|x| x["body"]["replyToken"] == "rt-f1"));
    let jobs = entity::job::Entity::find()
        .filter(entity::job::Column::Kind.eq("line.event"))
        .count(&app.db.read)
        .await
        .unwrap();
    assert_eq!(jobs, 1, "only the image event became a job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_events_are_answered_once_and_expired_reply_tokens_fall_back_to_push() {
    let (app, peer) = start(Backend::Sqlite).await;
    let chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: "U0".to_owned(),
        n: 0,
    };
    // The same event three times (LINE's redelivery, and a duplicate in one body).
    let spec = json!({ "type": "text", "userId": "Ur", "webhookEventId": "ev-r1", "replyToken": "rt-r1", "text": "プリンタで印刷できない" });
    let (body, sig) = peer
        .webhook(SECRET, json!([spec.clone(), spec.clone()]), &[])
        .await
        .unwrap();
    assert_eq!(chat.post(&body, &sig).await.status(), 200);
    let mut again = spec.clone();
    again["redelivery"] = json!(true);
    let (body2, sig2) = peer.webhook(SECRET, json!([again]), &[]).await.unwrap();
    assert_eq!(chat.post(&body2, &sig2).await.status(), 200);
    peer.wait_until(15, |c| c.iter().any(|x| x["body"]["replyToken"] == "rt-r1"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let calls = peer.requests().await.unwrap();
    assert_eq!(
        calls
            .iter()
            .filter(|x| x["body"]["replyToken"] == "rt-r1")
            .count(),
        1,
        "{calls:#?}"
    );

    // Reply tokens now refused: the same messages go out by push, with a retry key.
    peer.configure(json!({ "expire_reply_tokens": true }))
        .await
        .unwrap();
    let (body, sig) = peer
        .webhook(SECRET, json!([{ "type": "text", "userId": "Ur", "webhookEventId": "ev-r2", "replyToken": "rt-r2", "text": "ヘルプ" }]), &[])
        .await
        .unwrap();
    assert_eq!(chat.post(&body, &sig).await.status(), 200);
    let calls = peer
        .wait_until(15, |c| {
            c.iter()
                .any(|x| x["body"]["to"] == "Ur" && x["status"] == 200)
        })
        .await
        .unwrap();
    let tried = calls
        .iter()
        .find(|x| x["body"]["replyToken"] == "rt-r2")
        .unwrap();
    assert_eq!(tried["status"], 400);
    let pushed = calls.iter().find(|x| x["body"]["to"] == "Ur").unwrap();
    assert_eq!(pushed["body"]["messages"], tried["body"]["messages"]);
    let key = pushed["retryKey"].as_str().unwrap();
    assert_eq!(key.len(), 36, "a UUID: {key}");

    // A push whose acceptance we did not hear about is pushed again with the same key, and
    // LINE's 409 for a key it already accepted counts as sent.
    let api = bots::chat::line::LineApi::new(&LineConfig {
        tenant: "city".into(),
        channel_secret: Secret::new(SECRET),
        channel_access_token: Secret::new(TOKEN),
        api_base: peer.base.clone(),
        access_base: "https://access.line.me".into(),
    })
    .unwrap();
    let key = uuid::Uuid::new_v4();
    let msg = serde_json::value::to_raw_value(&[json!({ "type": "text", "text": "再送テスト" })])
        .unwrap();
    assert_eq!(
        api.push("Ur", &msg, key).await,
        bots::chat::line::Outcome::Sent
    );
    assert_eq!(
        api.push("Ur", &msg, key).await,
        bots::chat::line::Outcome::Sent
    );
    let calls = peer.requests().await.unwrap();
    let statuses: Vec<&Value> = calls
        .iter()
        .filter(|c| c["retryKey"] == key.to_string())
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!(200), &json!(409)]);
    // A wrong access token is a permanent failure, not a retry loop.
    let bad = bots::chat::line::LineApi::new(&LineConfig {
        tenant: "city".into(),
        channel_secret: Secret::new(SECRET),
        channel_access_token: Secret::new("wrong"),
        api_base: peer.base.clone(),
        access_base: "https://access.line.me".into(),
    })
    .unwrap();
    assert!(
        matches!(bad.push("Ur", &msg, uuid::Uuid::new_v4()).await, bots::chat::line::Outcome::Permanent(e) if e.starts_with("401"))
    );
    // The channel's token goes to the configured API only: a redirect (here to the real
    // push endpoint) is a permanent failure, not followed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let elsewhere = format!("{}/v2/bot/message/push", peer.base);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0; 64 * 1024];
            let _ = s.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    let redirected = bots::chat::line::LineApi::new(&LineConfig {
        tenant: "city".into(),
        channel_secret: Secret::new(SECRET),
        channel_access_token: Secret::new(TOKEN),
        api_base: format!("http://127.0.0.1:{port}"),
        access_base: "https://access.line.me".into(),
    })
    .unwrap();
    let key = uuid::Uuid::new_v4();
    let outcome = redirected.push("Ur", &msg, key).await;
    assert!(
        matches!(&outcome, bots::chat::line::Outcome::Permanent(e) if e.starts_with("307")),
        "{outcome:?}"
    );
    let calls = peer.requests().await.unwrap();
    assert!(
        calls.iter().all(|c| c["retryKey"] != key.to_string()),
        "the redirect was not followed to the platform"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reply_holds_up_only_its_own_conversation() {
    // The platform takes 4 s to accept one reply of user A. B's question, sent while that
    // reply is on its way, is answered at once; A's next question waits its turn.
    let [a1, a2, b1] = slow_reply(bots::chat::LANES).await;
    assert!(
        b1 < a1 - 2.0,
        "B answered {:.2} s before A's slow reply went through",
        a1 - b1
    );
    assert!(a2 > a1, "A's turns stay in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_lane_conversations_take_turns() {
    // `bots.lanes = 1`: B's question waits until A's conversation is done.
    let [a1, a2, b1] = slow_reply(1).await;
    assert!(
        b1 > a1 - 0.5,
        "B waited for A's slow reply: {:.2} s",
        b1 - a1
    );
    assert!(a2 > a1, "A's turns stay in order");
}

/// When the replies to A's first and second question and to B's question reached the peer
/// (seconds), with `lanes` conversations at once and A's first reply held 4 s by the peer.
async fn slow_reply(lanes: usize) -> [f64; 3] {
    let (app, peer) = start_with(Backend::Sqlite, |c| c.bots.lanes = lanes).await;
    peer.configure(json!({ "slow_reply_tokens": { "rt-a1": 4000 } }))
        .await
        .unwrap();
    let chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: "Ua".to_owned(),
        n: 0,
    };
    let post = |events: Value| {
        let chat = &chat;
        async move {
            let (body, sig) = chat.peer.webhook(SECRET, events, &[]).await.unwrap();
            assert_eq!(chat.post(&body, &sig).await.status(), 200);
        }
    };
    post(json!([{ "type": "text", "userId": "Ua", "webhookEventId": "ev-a1", "replyToken": "rt-a1", "text": "パスワードを忘れました" }])).await;
    // A's turn is taken and its reply is held by the platform.
    tokio::time::sleep(Duration::from_millis(500)).await;
    post(json!([
        { "type": "text", "userId": "Ub", "webhookEventId": "ev-b1", "replyToken": "rt-b1", "text": "プリンタが印刷できない" },
        { "type": "text", "userId": "Ua", "webhookEventId": "ev-a2", "replyToken": "rt-a2", "text": "Teamsにサインインできない" }
    ]))
    .await;
    let calls = peer
        .wait_until(30, |c| {
            ["rt-a1", "rt-a2", "rt-b1"]
                .iter()
                .all(|t| c.iter().any(|x| x["body"]["replyToken"] == *t))
        })
        .await
        .unwrap();
    let at = |token: &str| {
        calls
            .iter()
            .find(|x| x["body"]["replyToken"] == token)
            .and_then(|x| x["at"].as_f64())
            .unwrap()
    };
    [at("rt-a1"), at("rt-a2"), at("rt-b1")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_chats_get_faq_answers_only() {
    let (app, peer) = start(Backend::Sqlite).await;
    let chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: "U0".to_owned(),
        n: 0,
    };
    let (body, sig) = peer
        .webhook(
            SECRET,
            json!([
                { "type": "text", "groupId": "Cgroup1", "userId": "Ug", "webhookEventId": "ev-g1", "replyToken": "rt-g1", "text": "パスワード忘れちゃってPCに入れない" },
                { "type": "text", "groupId": "Cgroup1", "userId": "Ug", "webhookEventId": "ev-g2", "replyToken": "rt-g2", "text": "私の問い合わせ" },
                { "type": "postback", "groupId": "Cgroup1", "userId": "Ug", "webhookEventId": "ev-g3", "replyToken": "rt-g3", "data": "ticket" }
            ]),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(chat.post(&body, &sig).await.status(), 200);
    let calls = peer
        .wait_until(20, |c| {
            ["rt-g1", "rt-g2", "rt-g3"]
                .iter()
                .all(|t| c.iter().any(|x| x["body"]["replyToken"] == *t))
        })
        .await
        .unwrap();
    let g1: Vec<Value> = calls
        .iter()
        .filter(|x| x["body"]["replyToken"] == "rt-g1")
        .cloned()
        .collect();
    assert_eq!(messages(&g1)[0]["type"], "flex");
    assert!(
        postbacks(&g1).iter().all(|d| d.starts_with("show:")),
        "no votes or tickets in a group: {:?}",
        postbacks(&g1)
    );
    let g3: Vec<Value> = calls
        .iter()
        .filter(|x| x["body"]["replyToken"] == "rt-g3")
        .cloned()
        .collect();
    assert!(text_of(&g3).contains("グループではFAQのご案内のみ"));
    assert_eq!(
        ticket::Entity::find()
            .filter(ticket::Column::Channel.eq(Channel::Line))
            .count(&app.db.read)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialog_survives_a_restart_of_the_worker() {
    use sea_orm::TransactionTrait;
    let peer = LinePeer::start(TOKEN).await.unwrap();
    let tdb = tests::test_db(Backend::Sqlite).await;
    let search = std::sync::Arc::new(service::search::Search::in_memory().unwrap());
    let cfg = LineConfig {
        tenant: "city".into(),
        channel_secret: Secret::new(SECRET),
        channel_access_token: Secret::new(TOKEN),
        api_base: peer.base.clone(),
        access_base: "https://access.line.me".into(),
    };
    let worker = || {
        bots::chat::Worker::new(
            tdb.db.clone(),
            std::sync::Arc::clone(&search),
            std::slice::from_ref(&cfg),
            None,
            Default::default(),
        )
        .unwrap()
    };
    let deliver = |n: u32, spec: serde_json::Value| {
        let (db, peer, tenant) = (tdb.db.clone(), &peer, tdb.fixture.city.id);
        async move {
            let mut spec = spec;
            spec["userId"] = json!("Urestart");
            spec["webhookEventId"] = json!(format!("ev-restart-{n}"));
            spec["replyToken"] = json!(format!("rt-restart-{n}"));
            let (body, _) = peer.webhook(SECRET, json!([spec]), &[]).await.unwrap();
            let jobs = bots::chat::line::jobs_for(tenant, body.as_bytes()).unwrap();
            let txn = db.write.begin().await.unwrap();
            for j in jobs {
                service::jobs::enqueue(&txn, j, service::tickets::now())
                    .await
                    .unwrap();
            }
            txn.commit().await.unwrap();
        }
    };
    // The first worker starts the linking dialog, then goes away (a restart).
    deliver(1, json!({ "type": "postback", "data": "link" })).await;
    let first = worker();
    let r = first.run_once().await.unwrap();
    assert_eq!((r.events, r.sent), (1, 1));
    drop(first);
    // A new worker takes the next message as the answer the dialog was waiting for.
    deliver(
        2,
        json!({ "type": "text", "text": "requester@city.example.jp" }),
    )
    .await;
    let r = worker().run_once().await.unwrap();
    assert_eq!((r.events, r.sent), (1, 1));
    let calls = peer.requests().await.unwrap();
    let second: Vec<serde_json::Value> = calls
        .iter()
        .filter(|c| c["body"]["replyToken"] == "rt-restart-2")
        .cloned()
        .collect();
    assert!(
        text_of(&second).contains("確認コード"),
        "{}",
        text_of(&second)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_account_link_through_the_sign_in_page() {
    let (app, peer) = start(Backend::Sqlite).await;
    let mut chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: format!("U{}", "l".repeat(32)),
        n: 0,
    };
    // 「連携」 offers the sign-in page (with a link token from LINE) beside the code in chat.
    let r = chat.press("link").await;
    let uri = messages(&r)
        .iter()
        .flat_map(|m| {
            m["quickReply"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find_map(|i| {
            (i["action"]["type"] == "uri").then(|| i["action"]["uri"].as_str().unwrap().to_owned())
        })
        .expect("a sign-in page button");
    assert!(
        uri.starts_with(&format!("{}/link/line/city?linkToken=lt", app.address)),
        "{uri}"
    );
    let link_token = uri.split("linkToken=").nth(1).unwrap().to_owned();

    // The page: the address, then the mailed code (a wrong one first), then back to LINE.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(&uri).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("職場のメールアドレス"));
    let url = format!("{}/link/line/city", app.address);
    let body = http
        .post(&url)
        .form(&[
            ("linkToken", link_token.as_str()),
            ("email", "Requester@city.example.jp"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending = body
        .split("name=\"pending\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // An unregistered address gets the same page (nothing tells who is registered).
    let other = http
        .post(&url)
        .form(&[
            ("linkToken", link_token.as_str()),
            ("email", "nobody@city.example.jp"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(other.contains("登録されているアドレスであれば"));
    let code = mailed_code(&app, "requester@city.example.jp", "link_code").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = http
        .post(&url)
        .form(&[
            ("linkToken", link_token.as_str()),
            ("pending", pending.as_str()),
            ("code", wrong),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("あと2回"));
    let res = http
        .post(&url)
        .form(&[
            ("linkToken", link_token.as_str()),
            ("pending", pending.as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!(
            "https://access.line.me/dialog/bot/accountLink?linkToken={link_token}&nonce="
        )),
        "{location}"
    );
    let nonce = location.split("nonce=").nth(1).unwrap().to_owned();
    // The code is spent.
    let again = http
        .post(&url)
        .form(&[
            ("linkToken", link_token.as_str()),
            ("pending", pending.as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);

    // LINE comes back with the nonce: linked. A forged nonce links nobody.
    let r = chat
        .send(json!({ "type": "accountLink", "nonce": "forged-nonce" }))
        .await;
    assert!(
        text_of(&r).contains("有効期限が切れたか"),
        "{}",
        text_of(&r)
    );
    let r = chat
        .send(json!({ "type": "accountLink", "nonce": nonce }))
        .await;
    assert!(
        text_of(&r).contains("山田 太郎 さんとして連携しました"),
        "{}",
        text_of(&r)
    );
    let accounts = service::chat::accounts_of(
        &app.db.read,
        app.fixture.city.id,
        app.fixture.city.requester,
    )
    .await
    .unwrap();
    assert_eq!(
        accounts[0].link_method.as_deref(),
        Some("line_account_link")
    );
    // A nonce works once.
    let mut chat2 = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: format!("U{}", "m".repeat(32)),
        n: 0,
    };
    let r = chat2
        .send(json!({ "type": "accountLink", "nonce": nonce }))
        .await;
    assert!(text_of(&r).contains("有効期限が切れたか"));
    // A failed link says so.
    let r = chat2
        .send(json!({ "type": "accountLink", "nonce": "x", "result": "failed" }))
        .await;
    assert!(text_of(&r).contains("連携ができませんでした"));
}
