//! The Teams bot through the running server, against a local Bot Framework: tokens minted
//! with a local RSA key and checked against OpenID metadata and a JWKS on loopback (wrong
//! issuer, audience, serviceUrl, expired token, unknown or unendorsed key all refused);
//! activities built and our replies parsed with `botbuilder-schema`; linking through the
//! member's Entra identity; Adaptive Card buttons; a ticket with its update pushed back;
//! redelivery; 429 with Retry-After; the cached connector token; the outgoing webhook (HMAC).

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use bots::chat::teams::TeamsConfig;
use entity::{Channel, ticket};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use service::Secret;
use tests::bfpeer::BotFramework;
use tests::{Backend, TestApp, spawn_app_with_faq};

const APP_ID: &str = "3f1a9c1e-madoguchi-bot";
const APP_PASSWORD: &str = "bot-client-secret-for-tests";
const AAD_TENANT: &str = "9d0c0c2a-city-entra-tenant";
const OUTGOING_KEY: &[u8] = b"outgoing-webhook-key-32-bytes!!!";

async fn start() -> (TestApp, BotFramework) {
    let bf = BotFramework::start(APP_ID, APP_PASSWORD)
        .await
        .expect("Bot Framework peer starts");
    let (meta, token) = (bf.metadata_url(), bf.token_endpoint());
    let app = spawn_app_with_faq(Backend::Sqlite, |c| {
        c.bots.teams = Some(TeamsConfig {
            app_id: APP_ID.to_owned(),
            app_password: Secret::new(APP_PASSWORD),
            tenants: HashMap::from([(AAD_TENANT.to_owned(), "city".to_owned())]),
            default_tenant: None,
            openid_metadata: meta,
            issuer: "https://api.botframework.com".to_owned(),
            token_endpoint: token,
            scope: "https://api.botframework.com/.default".to_owned(),
            outgoing_webhook_secret: Some(Secret::new(
                base64::engine::general_purpose::STANDARD.encode(OUTGOING_KEY),
            )),
            outgoing_webhook_tenant: Some("city".to_owned()),
        });
    })
    .await;
    (app, bf)
}

struct Teams<'a> {
    app: &'a TestApp,
    bf: &'a BotFramework,
    n: usize,
}

impl Teams<'_> {
    fn service_url(&self) -> String {
        format!("{}/amer/", self.bf.base)
    }

    /// Posts an activity with a token made from `token_spec` (merged over a good one).
    async fn post(&self, activity: &Value, token_spec: Value) -> u16 {
        let mut spec = json!({ "serviceurl": self.service_url() });
        for (k, v) in token_spec.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let token = self.bf.token(spec).await.unwrap();
        self.app
            .client
            .post(format!("{}/bots/teams/messages", self.app.address))
            .bearer_auth(token)
            .json(activity)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn activity(&mut self, conv: &str, kind: &str, extra: Value) -> Value {
        self.n += 1;
        let mut spec = json!({
            "id": format!("1{:012}", self.n),
            "serviceUrl": self.service_url(),
            "fromId": "29:1teacher-or-staff",
            "aadObjectId": "aad-object-yamada",
            "conversationId": conv,
            "conversationType": kind,
            "tenantId": AAD_TENANT,
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        self.bf.activity(spec).await.unwrap()
    }

    /// Sends an activity and waits for the connector call that answers it.
    async fn turn(&mut self, conv: &str, extra: Value) -> Value {
        let a = self.activity(conv, "personal", extra).await;
        assert_eq!(self.post(&a, json!({})).await, 200);
        let id = a["id"].as_str().unwrap().to_owned();
        let calls = self
            .bf
            .wait_until(15, |c| {
                c.iter()
                    .any(|x| x["replyToId"] == id.as_str() && x["status"] == 200)
            })
            .await
            .unwrap();
        calls
            .into_iter()
            .find(|x| x["replyToId"] == id.as_str() && x["status"] == 200)
            .unwrap()
    }
}

fn card_text(call: &Value) -> String {
    let mut s = call["body"]["text"].as_str().unwrap_or_default().to_owned();
    for att in call["body"]["attachments"].as_array().into_iter().flatten() {
        for b in att["content"]["body"].as_array().into_iter().flatten() {
            s.push('\n');
            s.push_str(b["text"].as_str().unwrap_or_default());
        }
    }
    s
}

fn submits(call: &Value) -> Vec<Value> {
    call["body"]["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| {
            a["content"]["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|a| a["data"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_framework_tokens_are_checked_before_anything_happens() {
    let (app, bf) = start().await;
    let mut t = Teams {
        app: &app,
        bf: &bf,
        n: 0,
    };
    let a = t
        .activity("a:conv-auth", "personal", json!({ "text": "こんにちは" }))
        .await;
    for (why, spec) in [
        (
            "wrong issuer",
            json!({ "iss": "https://sts.windows.net/someone-else/" }),
        ),
        ("wrong audience", json!({ "aud": "another-bot" })),
        (
            "other serviceUrl",
            json!({ "serviceurl": "https://smba.trafficmanager.net/evil/" }),
        ),
        ("no serviceurl claim", json!({ "drop_serviceurl": true })),
        (
            "expired beyond the 5-minute skew",
            json!({ "exp_in": -400 }),
        ),
        ("not yet valid", json!({ "nbf_in": 600 })),
        ("key not in the JWKS", json!({ "kid": "rogue-key" })),
        (
            "key not endorsed for msteams",
            json!({ "kid": "webchat-key" }),
        ),
    ] {
        assert_eq!(t.post(&a, spec).await, 401, "{why}");
    }
    // No token, a garbage token, an HS256 token.
    let url = format!("{}/bots/teams/messages", app.address);
    assert_eq!(
        app.client
            .post(&url)
            .json(&a)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .post(&url)
            .bearer_auth("not.a.jwt")
            .json(&a)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "iss": "https://api.botframework.com", "aud": APP_ID, "exp": chrono::Utc::now().timestamp() + 600, "serviceurl": t.service_url() }),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert_eq!(
        app.client
            .post(&url)
            .bearer_auth(hs)
            .json(&a)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Not JSON; an Entra tenant we do not serve.
    assert_eq!(
        app.client
            .post(&url)
            .body("{oops")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let mut foreign = a.clone();
    foreign["channelData"]["tenant"]["id"] = json!("another-entra-tenant");
    assert_eq!(t.post(&foreign, json!({})).await, 403);
    // Nothing refused became work.
    let jobs = entity::job::Entity::find()
        .filter(entity::job::Column::Kind.eq("teams.activity"))
        .count(&app.db.read)
        .await
        .unwrap();
    assert_eq!(jobs, 0);
    // Expired but within the skew, and the good token: accepted.
    assert_eq!(t.post(&a, json!({ "exp_in": -100 })).await, 200);
    assert_eq!(
        t.post(&a, json!({})).await,
        200,
        "a redelivery is accepted and stored once"
    );
    let jobs = entity::job::Entity::find()
        .filter(entity::job::Column::Kind.eq("teams.activity"))
        .count(&app.db.read)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_dialog_links_through_entra_opens_a_ticket_and_pushes_the_answer() {
    let (app, bf) = start().await;
    bf.configure(json!({ "members": { "29:1teacher-or-staff": {
        "id": "29:1teacher-or-staff", "name": "山田 太郎", "aadObjectId": "aad-object-yamada",
        "email": "Requester@city.example.jp", "userPrincipalName": "requester@city.example.jp" } } }))
        .await
        .unwrap();
    let mut t = Teams {
        app: &app,
        bf: &bf,
        n: 0,
    };
    let conv = "a:1personal-chat-yamada";

    // Installing the bot: a greeting. The member lookup links the account through Entra.
    let call = t
        .turn(
            conv,
            json!({ "type": "conversationUpdate", "membersAdded": [format!("28:{APP_ID}")] }),
        )
        .await;
    assert!(
        card_text(&call).contains("山田 太郎 さんとして連携済み"),
        "{call:#?}"
    );
    let accounts = service::chat::accounts_of(
        &app.db.read,
        app.fixture.city.id,
        app.fixture.city.requester,
    )
    .await
    .unwrap();
    assert_eq!(
        (accounts.len(), accounts[0].link_method.as_deref()),
        (1, Some("aad"))
    );
    assert_eq!(accounts[0].external_id, "aad-object-yamada");

    // A question with no FAQ answer, then the button to reach a person.
    let call = t.turn(conv, json!({ "text": "会議室の大型モニターにノートPCをつないでも映らず、入力切替も反応しない" })).await;
    let data = submits(&call);
    let pick = data
        .iter()
        .find(|d| {
            d["cmd"]
                .as_str()
                .is_some_and(|c| c.starts_with("vote:") && c.ends_with(":0"))
        })
        .or_else(|| data.iter().find(|d| d["cmd"] == "ticket"))
        .expect("a way to reach a person")
        .clone();
    let call = t.turn(conv, json!({ "value": pick })).await;
    let text = card_text(&call);
    let number = text
        .split("受付番号: ")
        .nth(1)
        .expect("a ticket number")
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let tk = ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number.as_str()))
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tk.channel, Channel::Teams);
    assert_eq!(tk.requester_id, Some(app.fixture.city.requester));
    assert!(tk.description.contains("大型モニター"));

    // The desk answers: pushed to the conversation (not as a reply to an activity).
    service::tickets::add_comment(
        &app.db.write,
        &app.fixture.city.agent_actor(),
        tk.id,
        "HDMIケーブルを交換してください。",
        false,
    )
    .await
    .unwrap();
    let calls = bf
        .wait_until(15, |c| {
            c.iter().any(|x| {
                x["replyToId"].is_null() && x["conversation"] == conv && x["status"] == 200
            })
        })
        .await
        .unwrap();
    let pushed = calls
        .iter()
        .find(|x| x["replyToId"].is_null() && x["conversation"] == conv)
        .unwrap();
    assert!(
        card_text(pushed).contains("HDMIケーブルを交換"),
        "{pushed:#?}"
    );

    // Throttled: 429 with Retry-After 1 s, then delivered once.
    bf.configure(json!({ "throttle": 1 })).await.unwrap();
    let started = std::time::Instant::now();
    let call = t.turn(conv, json!({ "text": "私の問い合わせ" })).await;
    assert!(card_text(&call).contains(&number));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
    let (calls, tokens) = bf.requests().await.unwrap();
    assert_eq!(calls.iter().filter(|c| c["status"] == 429).count(), 1);
    assert_eq!(tokens, 1, "the client-credentials token is cached");
    // Every body we sent parsed as a botbuilder-schema Activity.
    assert!(calls.iter().all(|c| c["status"] != 400), "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_get_faq_answers_only_and_the_outgoing_webhook_is_signed() {
    let (app, bf) = start().await;
    let mut t = Teams {
        app: &app,
        bf: &bf,
        n: 0,
    };
    let a = t
        .activity(
            "19:channel@thread.tacv2",
            "channel",
            json!({ "text": "<at>窓口ボット</at> パスワード忘れちゃってPCに入れない" }),
        )
        .await;
    assert_eq!(t.post(&a, json!({})).await, 200);
    let id = a["id"].as_str().unwrap().to_owned();
    let calls = bf
        .wait_until(15, |c| c.iter().any(|x| x["replyToId"] == id.as_str()))
        .await
        .unwrap();
    let call = calls
        .iter()
        .find(|x| x["replyToId"] == id.as_str())
        .unwrap();
    assert!(card_text(call).contains("パスワード"), "{call:#?}");
    assert!(
        submits(call)
            .iter()
            .all(|d| d["cmd"].as_str().unwrap().starts_with("show:")),
        "no votes or tickets in a channel"
    );
    let t2 = t
        .activity(
            "19:channel@thread.tacv2",
            "channel",
            json!({ "value": { "cmd": "ticket", "label": "問い合わせる" } }),
        )
        .await;
    assert_eq!(t.post(&t2, json!({})).await, 200);
    let id2 = t2["id"].as_str().unwrap().to_owned();
    let calls = bf
        .wait_until(15, |c| c.iter().any(|x| x["replyToId"] == id2.as_str()))
        .await
        .unwrap();
    assert!(
        card_text(
            calls
                .iter()
                .find(|x| x["replyToId"] == id2.as_str())
                .unwrap()
        )
        .contains("グループではFAQのご案内のみ")
    );

    // The outgoing webhook: HMAC over the raw body with the decoded security token.
    let body = json!({ "type": "message", "id": "1700", "text": "<at>ヘルプ</at> パスワード忘れちゃってPCに入れない",
        "from": { "id": "29:x", "name": "職員" }, "conversation": { "id": "19:c@thread.skype;messageid=1700" } })
    .to_string();
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(OUTGOING_KEY).unwrap();
    mac.update(body.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let url = format!("{}/bots/teams/outgoing", app.address);
    let res = app
        .client
        .post(&url)
        .header("authorization", format!("HMAC {sig}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert!(v["text"].as_str().unwrap().contains("パスワード"), "{v}");
    let res = app
        .client
        .post(&url)
        .header("authorization", format!("HMAC {sig}"))
        .body(body.replace("1700", "1701"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        ticket::Entity::find()
            .filter(ticket::Column::Channel.eq(Channel::Teams))
            .count(&app.db.read)
            .await
            .unwrap(),
        0
    );
}
