//! Self-service password reset end to end: a LINE user links, asks to reset, proves it with a
//! mailed code, opens the one-time link in a real headless Chromium, and sets a new password
//! in a real OpenLDAP (`slapd` with ppolicy). Then: the old password fails, the new one works,
//! `pwdReset` is set, the lockout is cleared, the link is dead, a resolved service request
//! records it, the person is mailed, and no password, code or link appears in any log line.
//! Also the Graph connector against a local Microsoft Graph, the rate limits and the lock after
//! wrong codes, and teachers resetting students of their own school only.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bots::chat::line::LineConfig;
use bots::directory::{DirectoryConfig, GraphConfig, LdapConfig};
use entity::{
    Channel, PersonKind, TicketKind, TicketStatus, mail_outbound, password_reset, ticket,
    ticket_event,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use service::Secret;
use service::reset::{ResetPolicy, StartReset};
use tests::browser::Browser;
use tests::ldappeer::{ADMIN_DN, ADMIN_PW, SUFFIX, Slapd};
use tests::linepeer::{Chat, LinePeer, mailed_code, text_of};
use tests::{Backend, TestApp, both_backends, spawn_app_with_faq};
use uuid::Uuid;

const SECRET: &str = "line-secret-for-reset-tests";
const TOKEN: &str = "line-token-for-reset-tests";
const OLD: &str = "Old-Passw0rd!";
const NEW: &str = "Sakura-Spring-2026!";

fn ldap_config(slapd: &Slapd) -> DirectoryConfig {
    DirectoryConfig::Openldap(LdapConfig {
        url: slapd.url.clone(),
        starttls: false,
        bind_dn: ADMIN_DN.to_owned(),
        bind_password: Secret::new(ADMIN_PW),
        base_dn: format!("ou=people,{SUFFIX}"),
        user_filter: "(mail={email})".to_owned(),
        ca_file: None,
        timeout_secs: 10,
    })
}

async fn link(chat: &mut Chat<'_>, app: &TestApp, email: &str) {
    chat.press("link").await;
    chat.say(email).await;
    let code = mailed_code(app, email, "link_code").await;
    let r = chat.say(&code).await;
    assert!(
        text_of(&r).contains("として連携しました"),
        "{}",
        text_of(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_person_resets_their_ldap_password_in_a_real_browser() {
    let logs = tests::captured_logs();
    let slapd = Slapd::start().await.expect("slapd starts");
    let dn = slapd
        .add_person("requester", "requester@city.example.jp", OLD)
        .await
        .unwrap();
    let peer = LinePeer::start(TOKEN).await.unwrap();
    let base = peer.base.clone();
    let directory = ldap_config(&slapd);
    let app = spawn_app_with_faq(Backend::Sqlite, |c| {
        c.bots.line = vec![LineConfig {
            tenant: "city".into(),
            channel_secret: Secret::new(SECRET),
            channel_access_token: Secret::new(TOKEN),
            api_base: base,
            access_base: "https://access.line.me".into(),
        }];
        c.password_reset = vec![api::config::ResetConfig {
            tenant: "city".into(),
            policy: ResetPolicy::default(),
            directory,
        }];
    })
    .await;

    // Locked out in the directory after three wrong passwords.
    assert!(slapd.can_bind(&dn, OLD).await.unwrap());
    for _ in 0..3 {
        assert!(!slapd.can_bind(&dn, "wrong-password").await.unwrap());
    }
    assert!(
        !slapd.can_bind(&dn, OLD).await.unwrap(),
        "ppolicy locks the account"
    );
    assert!(
        slapd
            .policy_state(&dn)
            .await
            .unwrap()
            .contains_key("pwdAccountLockedTime")
    );

    let mut chat = Chat {
        app: &app,
        peer: &peer,
        secret: SECRET,
        tenant: "city",
        user: format!("U{}", "r".repeat(32)),
        n: 0,
    };
    // Unlinked: the bot will not reset anything.
    let r = chat.say("パスワードリセット").await;
    assert!(
        text_of(&r).contains("アカウント連携が必要"),
        "{}",
        text_of(&r)
    );
    link(&mut chat, &app, "requester@city.example.jp").await;

    // The second factor: a code mailed to the registered address; a wrong one first.
    let r = chat.say("パスワードをリセットしたい").await;
    assert!(
        text_of(&r).contains("確認コードをお送りしました"),
        "{}",
        text_of(&r)
    );
    let code = mailed_code(&app, "requester@city.example.jp", "reset_code").await;
    let wrong = if code == "999999" { "111111" } else { "999999" };
    let r = chat.say(wrong).await;
    assert!(text_of(&r).contains("あと2回"));
    let r = chat.say(&code).await;
    let text = text_of(&r);
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a reset link")
        .trim()
        .to_owned();
    assert!(url.starts_with(&format!("{}/reset/", app.address)), "{url}");
    let token = url.rsplit('/').next().unwrap().to_owned();

    // The page, in a real browser: a weak password and a mismatch are refused, then it is set.
    let browser = Browser::start().await.expect("chromium starts");
    browser.goto(&url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "パスワードの再設定");
    browser.type_into("#password", "requester-1").await.unwrap();
    browser.type_into("#confirm", "requester-1").await.unwrap();
    browser.click("#submit").await.unwrap();
    let errors = browser
        .wait_for_text("#errors", "12文字以上")
        .await
        .unwrap();
    assert!(errors.contains("ユーザーID"), "{errors}");
    browser.type_into("#password", NEW).await.unwrap();
    browser
        .type_into("#confirm", "Something-Else-2026!")
        .await
        .unwrap();
    browser.click("#submit").await.unwrap();
    browser
        .wait_for_text("#errors", "一致しません")
        .await
        .unwrap();
    assert!(
        !slapd.can_bind(&dn, OLD).await.unwrap(),
        "nothing set yet (still locked)"
    );
    browser.type_into("#password", NEW).await.unwrap();
    browser.type_into("#confirm", NEW).await.unwrap();
    browser.click("#submit").await.unwrap();
    let result = match browser.wait_for_text("#result", "を").await {
        Ok(r) => r,
        Err(e) => panic!(
            "{e:#}; the page shows: {:?}",
            browser.text("body").await.unwrap_or_default()
        ),
    };
    let last_error = password_reset::Entity::find()
        .one(&app.db.read)
        .await
        .unwrap()
        .and_then(|r| r.last_error);
    assert!(
        result.contains("新しいパスワードを設定しました"),
        "{result} {last_error:?}"
    );
    // Single use.
    browser.goto(&url).await.unwrap();
    browser
        .wait_for_text("#result", "使用済みか、有効期限が切れています")
        .await
        .unwrap();
    assert_eq!(browser.title().await.unwrap(), "リンクが無効です");
    let again = app
        .client
        .post(&url)
        .form(&[("password", NEW), ("confirm", NEW)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);
    browser.close().await;

    // The directory: new password works, old fails, change forced, lockout cleared.
    assert!(slapd.can_bind(&dn, NEW).await.unwrap());
    assert!(!slapd.can_bind(&dn, OLD).await.unwrap());
    let state = slapd.policy_state(&dn).await.unwrap();
    assert_eq!(
        state.get("pwdReset"),
        Some(&vec!["TRUE".to_owned()]),
        "{state:?}"
    );
    assert!(!state.contains_key("pwdAccountLockedTime"), "{state:?}");

    // The record: a resolved service request on the LINE channel with an audit event, a
    // mail to the person, and a message in the chat.
    let r = password_reset::Entity::find()
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "done");
    let t = ticket::Entity::find_by_id(r.ticket_id.unwrap())
        .one(&app.db.read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.kind, t.status, t.channel),
        (
            TicketKind::ServiceRequest,
            TicketStatus::Resolved,
            Channel::Line
        )
    );
    assert_eq!(t.requester_id, Some(app.fixture.city.requester));
    let events = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .all(&app.db.read)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "password_reset" && e.payload["directory"] == "openldap"),
        "{events:?}"
    );
    let done = mail_outbound::Entity::find()
        .filter(mail_outbound::Column::Kind.eq("reset_done"))
        .one(&app.db.read)
        .await
        .unwrap()
        .expect("the person is told by mail");
    assert_eq!(done.to_address, "requester@city.example.jp");
    assert!(done.body.contains(&t.number));
    let user = chat.user.clone();
    peer.wait_until(15, |c| {
        c.iter().any(|x| {
            x["body"]["to"] == user.as_str() && x.to_string().contains("パスワードを再設定しました")
        })
    })
    .await
    .unwrap();

    // Nowhere: the password in the database file; the link in any row; any of them in the logs.
    let mut raw = std::fs::read(app.config.data_dir.join("madoguchi.sqlite")).unwrap();
    raw.extend(std::fs::read(app.config.data_dir.join("madoguchi.sqlite-wal")).unwrap_or_default());
    assert!(
        !raw.windows(NEW.len()).any(|w| w == NEW.as_bytes()),
        "the new password is in the database file"
    );
    let turns = entity::chat_turn::Entity::find()
        .all(&app.db.read)
        .await
        .unwrap();
    assert!(
        turns.iter().any(|t| t.text.contains("再設定用リンク")),
        "{turns:?}"
    );
    assert!(
        turns
            .iter()
            .all(|t| !t.text.contains(&token) && !t.text.contains(&code))
    );
    let jobs = entity::job::Entity::find().all(&app.db.read).await.unwrap();
    assert!(
        jobs.iter().all(|j| !j.payload.to_string().contains(&token)),
        "a delivered link is not kept in the job queue"
    );
    assert!(!t.description.contains(&token) && !t.description.contains(NEW));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(logged.contains("password reset done"), "the capture works");
    for (what, secret) in [
        ("password", NEW),
        ("old password", OLD),
        ("code", code.as_str()),
        ("link token", token.as_str()),
        ("LDAP bind password", ADMIN_PW),
        ("channel secret", SECRET),
        ("access token", TOKEN),
    ] {
        assert!(!logged.contains(secret), "the {what} appears in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_connector_forces_a_change_at_next_sign_in() {
    let bf = tests::bfpeer::BotFramework::start("unused-app", "unused")
        .await
        .unwrap();
    bf.configure(json!({ "graph_users": { "requester@city.example.jp": {} } }))
        .await
        .unwrap();
    let dir = bots::directory::build(&DirectoryConfig::Graph(GraphConfig {
        token_endpoint: format!("{}/graph-tenant/oauth2/v2.0/token", bf.base),
        client_id: "graph-reset-app".into(),
        client_secret: Secret::new("graph-reset-secret"),
        graph_base: format!("{}/v1.0", bf.base),
        scope: "https://graph.microsoft.com/.default".into(),
    }))
    .unwrap();
    let mut who = person("requester@city.example.jp", PersonKind::Staff);
    dir.set_password(&who, &Secret::new(NEW)).await.unwrap();
    let calls = bf.graph_calls().await.unwrap();
    assert_eq!(
        calls,
        vec![json!({ "user": "requester@city.example.jp", "force": true, "password": NEW })]
    );
    who.email = "nobody@city.example.jp".into();
    let err = dir.set_password(&who, &Secret::new(NEW)).await.unwrap_err();
    assert!(err.contains("404") && !err.contains(NEW), "{err}");
    assert_eq!(dir.kind(), "graph");
}

fn person(email: &str, kind: PersonKind) -> entity::person::Model {
    entity::person::Model {
        id: Uuid::now_v7(),
        tenant_id: Uuid::nil(),
        org_unit_id: None,
        vendor_id: None,
        email: email.into(),
        display_name: "試験 太郎".into(),
        display_name_kana: None,
        employee_number: None,
        kind,
        roles: "requester".into(),
        active: true,
        created_at: chrono::Utc::now(),
    }
}

/// A chat user linked to `person` in the city tenant, with a conversation.
async fn linked(
    db: &service::Db,
    tenant: Uuid,
    person: Uuid,
    ext: &str,
) -> (service::chat::ChatUser, entity::chat_conversation::Model) {
    let now = chrono::Utc::now();
    let acc = service::chat::account(db, tenant, service::chat::Platform::Line, ext, None, now)
        .await
        .unwrap();
    let p = entity::person::Entity::find_by_id(person)
        .one(&db.read)
        .await
        .unwrap()
        .unwrap();
    let acc = service::chat::link(&db.write, &acc, &p, "mail_code", now)
        .await
        .unwrap();
    let conv = service::chat::conversation(
        db,
        tenant,
        service::chat::Platform::Line,
        ext,
        service::chat::ChatKind::Personal,
        Some(acc.id),
        None,
        now,
    )
    .await
    .unwrap();
    (service::chat::user(&db.read, acc).await.unwrap(), conv)
}

both_backends!(
    resets_are_rate_limited_and_locked_after_wrong_codes,
    |backend| async move {
        use sea_orm::TransactionTrait;
        let tdb = tests::test_db(backend).await;
        let (db, fx) = (&tdb.db, &tdb.fixture.city);
        let tenant = service::directory::tenant(&db.read, fx.id)
            .await
            .unwrap()
            .unwrap();
        let policy = ResetPolicy {
            per_person_daily: 2,
            ..ResetPolicy::default()
        };
        let (user, conv) = linked(db, fx.id, fx.requester, "Ulimits").await;
        let me = user.person.clone().unwrap();
        let now = chrono::Utc::now();
        let start = |at| {
            let (user, conv, me, tenant, policy) = (
                user.clone(),
                conv.clone(),
                me.clone(),
                tenant.clone(),
                policy.clone(),
            );
            async move {
                let txn = db.write.begin().await.unwrap();
                let r = service::reset::start(&txn, &tenant, &policy, &user, conv.id, &me, at)
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
                r
            }
        };
        let StartReset::CodeSent { reset_id } = start(now).await else {
            panic!()
        };
        // Three wrong codes lock this reset, and the requester for an hour.
        for left in [2, 1] {
            let txn = db.write.begin().await.unwrap();
            let r = service::reset::confirm_code(&txn, &user, reset_id, "000000x", now)
                .await
                .unwrap();
            txn.commit().await.unwrap();
            assert_eq!(r, service::reset::ConfirmReset::Wrong { left });
        }
        let txn = db.write.begin().await.unwrap();
        assert_eq!(
            service::reset::confirm_code(&txn, &user, reset_id, "000000x", now)
                .await
                .unwrap(),
            service::reset::ConfirmReset::Locked
        );
        txn.commit().await.unwrap();
        assert_eq!(start(now).await, StartReset::Locked);
        // After the hour: allowed again, up to the daily limit (the locked one does not count).
        let later = now + chrono::Duration::minutes(61);
        assert!(matches!(start(later).await, StartReset::CodeSent { .. }));
        assert!(matches!(start(later).await, StartReset::CodeSent { .. }));
        assert_eq!(start(later).await, StartReset::TooMany);
        assert!(
            matches!(
                start(later + chrono::Duration::hours(25)).await,
                StartReset::CodeSent { .. }
            ),
            "a new day"
        );
        // An expired code does not open a link.
        let StartReset::CodeSent { reset_id } = start(later + chrono::Duration::hours(26)).await
        else {
            panic!()
        };
        let code_row = password_reset::Entity::find_by_id(reset_id)
            .one(&db.read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(code_row.status, "code_sent");
        let txn = db.write.begin().await.unwrap();
        let r = service::reset::confirm_code(
            &txn,
            &user,
            reset_id,
            "123456",
            later + chrono::Duration::hours(27),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(r, service::reset::ConfirmReset::Expired);
    }
);

both_backends!(
    teachers_reset_students_of_their_own_school_only,
    |backend| async move {
        let tdb = tests::test_db(backend).await;
        let db = &tdb.db;
        let fx = &tdb.fixture.edu;
        // The fixture's tree: root → unit (a school) → child_unit (a class); another school beside.
        let other_school = Uuid::now_v7();
        entity::org_unit::ActiveModel {
            id: Set(other_school),
            tenant_id: Set(fx.id),
            parent_id: Set(Some(fx.root_unit)),
            code: Set("school-b".into()),
            name: Set("第二小学校".into()),
            kind: Set(entity::OrgUnitKind::School),
            sort_order: Set(9),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&db.write)
        .await
        .unwrap();
        let mk = |email: &str, kind: PersonKind, unit: Uuid| {
            let mut p = person(email, kind);
            p.tenant_id = fx.id;
            p.org_unit_id = Some(unit);
            p
        };
        let teacher = mk("teacher@edu.example.jp", PersonKind::Teacher, fx.unit);
        let pupil = mk("pupil@edu.example.jp", PersonKind::Student, fx.child_unit);
        let elsewhere = mk("pupil2@edu.example.jp", PersonKind::Student, other_school);
        let colleague = mk(
            "colleague@edu.example.jp",
            PersonKind::Teacher,
            fx.child_unit,
        );
        for p in [&teacher, &pupil, &elsewhere, &colleague] {
            entity::person::ActiveModel::from(p.clone())
                .insert(&db.write)
                .await
                .unwrap();
        }
        let allowed = ResetPolicy {
            teachers_reset_students: true,
            ..ResetPolicy::default()
        };
        let may = |policy: &ResetPolicy, a: &entity::person::Model, b: &entity::person::Model| {
            let (policy, a, b) = (policy.clone(), a.clone(), b.clone());
            async move {
                service::reset::may_reset(&db.read, &policy, &a, &b)
                    .await
                    .unwrap()
            }
        };
        assert!(
            may(&allowed, &teacher, &pupil).await,
            "a student of the teacher's school"
        );
        assert!(
            !may(&allowed, &teacher, &elsewhere).await,
            "a student of another school"
        );
        assert!(
            !may(&allowed, &teacher, &colleague).await,
            "a colleague is not a student"
        );
        assert!(
            !may(&allowed, &pupil, &teacher).await,
            "students reset nobody else"
        );
        assert!(
            !may(&ResetPolicy::default(), &teacher, &pupil).await,
            "only where the tenant allows it"
        );
        assert!(
            may(&ResetPolicy::default(), &pupil, &pupil).await,
            "everyone their own"
        );
    }
);
