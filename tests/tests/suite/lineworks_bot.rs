//! The LINE WORKS bot through the running server: callbacks signed with the bot secret
//! (`X-WORKS-Signature`), the dialog answering from the FAQ, a group room getting FAQ only, and
//! replies through a local LINE WORKS whose token endpoint checks our service-account JWT and
//! whose message API checks and records what we send.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::chat::lineworks::LineWorksConfig;
use serde_json::{Value, json};
use service::Secret;
use tests::linepeer::WorksPeer;
use tests::{Backend, spawn_app_with_faq};

const BOT_SECRET: &str = "works-bot-secret-for-tests";

fn event(user: &str, room: Option<&str>, n: u32, kind: &str, extra: Value) -> String {
    let mut e = json!({
        "type": kind,
        "source": { "userId": user, "domainId": 40029600 },
        "issuedTime": format!("2026-11-30T01:00:{:02}.{:03}Z", n / 1000, n % 1000),
    });
    if let Some(r) = room {
        e["source"]["channelId"] = json!(r);
    }
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_works_callbacks_are_verified_and_answered() {
    let peer = WorksPeer::start("works-client", "works-client-secret", "svc.bot@city")
        .await
        .unwrap();
    let cfg = LineWorksConfig {
        tenant: "city".into(),
        bot_id: "2000001".into(),
        bot_secret: Secret::new(BOT_SECRET),
        client_id: "works-client".into(),
        client_secret: Secret::new("works-client-secret"),
        service_account: "svc.bot@city".into(),
        private_key_pem: peer.key_pem.clone(),
        api_base: format!("{}/v1.0", peer.base),
        token_endpoint: format!("{}/oauth2/v2.0/token", peer.base),
    };
    let app = spawn_app_with_faq(Backend::Sqlite, |c| c.bots.line_works = vec![cfg]).await;
    let url = format!("{}/bots/lineworks/city", app.address);
    let post = |body: String, sig: Option<String>| {
        let mut req = app
            .client
            .post(&url)
            .header("content-type", "application/json; charset=UTF-8")
            .body(body);
        if let Some(s) = sig {
            req = req.header("X-WORKS-Signature", s);
        }
        req.send()
    };
    let sign = |b: &str| bots::chat::line::sign(&Secret::new(BOT_SECRET), b.as_bytes());

    // Forged, unsigned, malformed.
    let q = event(
        "user-a",
        None,
        1,
        "message",
        json!({ "content": { "type": "text", "text": "パスワード忘れちゃってPCに入れない" } }),
    );
    assert_eq!(
        post(
            q.clone(),
            Some(bots::chat::line::sign(&Secret::new("guess"), q.as_bytes()))
        )
        .await
        .unwrap()
        .status(),
        401
    );
    assert_eq!(post(q.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        post("{oops".into(), Some(sign("{oops")))
            .await
            .unwrap()
            .status(),
        400
    );

    // A question: an FAQ answer with 解決した／解決しない as quick replies, to the user.
    assert_eq!(post(q.clone(), Some(sign(&q))).await.unwrap().status(), 200);
    assert_eq!(
        post(q.clone(), Some(sign(&q))).await.unwrap().status(),
        200,
        "a redelivery is accepted"
    );
    let m = peer.wait_for(1, 15).await.unwrap();
    assert_eq!(
        (
            m[0]["bot"].as_str(),
            m[0]["kind"].as_str(),
            m[0]["to"].as_str()
        ),
        (Some("2000001"), Some("users"), Some("user-a"))
    );
    let text = m[0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("パスワード"), "{text}");
    // Personal things need a link: the postback says so.
    let pb = event("user-a", None, 2, "postback", json!({ "data": "mine" }));
    assert_eq!(
        post(pb.clone(), Some(sign(&pb))).await.unwrap().status(),
        200
    );
    let m = peer.wait_for(2, 15).await.unwrap();
    assert!(
        m[1]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("アカウント連携が必要"),
        "{:#?}",
        m[1]
    );

    // A group room: FAQ only, to the room.
    let g = event(
        "user-b",
        Some("room-7"),
        3,
        "postback",
        json!({ "data": "ticket" }),
    );
    assert_eq!(post(g.clone(), Some(sign(&g))).await.unwrap().status(), 200);
    let m = peer.wait_for(3, 15).await.unwrap();
    assert_eq!(
        (m[2]["kind"].as_str(), m[2]["to"].as_str()),
        (Some("channels"), Some("room-7"))
    );
    assert!(
        m[2]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("グループではFAQのご案内のみ")
    );

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (m, issued) = peer.messages().await.unwrap();
    assert_eq!(
        m.len(),
        3,
        "the redelivered question was answered once: {m:#?}"
    );
    assert_eq!(issued, 1, "the service-account token is cached");
}
