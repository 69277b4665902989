//! Bad input gets its typed error and writes nothing.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use entity::{ticket, ticket_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{Backend, TestApp, both_backends, error_code, gid, spawn_app};

async fn rows(app: &TestApp) -> (u64, u64) {
    (
        ticket::Entity::find().count(&app.db.read).await.unwrap(),
        ticket_event::Entity::find()
            .count(&app.db.read)
            .await
            .unwrap(),
    )
}

const CREATE: &str = r#"mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } userErrors { field code message } } }"#;
const CHANGE: &str = r#"mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { status } userErrors { field code message } } }"#;

both_backends!(
    bad_arguments_get_typed_errors_and_write_nothing,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let agent = app.token(&fx.slug, fx.agent, &["agent"]);
        let created = app
            .gql(
                &agent,
                CREATE,
                json!({"i": {"kind": "INQUIRY", "title": "既存チケット"}}),
            )
            .await;
        let id = created["data"]["createTicket"]["ticket"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = rows(&app).await;

        // Unknown but well-formed id.
        let r = app.gql(&agent, CHANGE, json!({"i": {"ticketId": gid("Ticket", uuid::Uuid::now_v7()), "status": "IN_PROGRESS"}})).await;
        assert_eq!(error_code(&r).as_deref(), Some("NOT_FOUND"), "{r}");
        // Malformed ids, and an id of the wrong type.
        for bad in [
            "not-base64!!",
            "VGlja2V0Om5vdC1hLXV1aWQ",
            &gid("Person", fx.agent),
        ] {
            let r = app
                .gql(
                    &agent,
                    CHANGE,
                    json!({"i": {"ticketId": bad, "status": "IN_PROGRESS"}}),
                )
                .await;
            assert_eq!(error_code(&r).as_deref(), Some("INVALID_ID"), "{bad}: {r}");
        }
        // Oversized and empty strings: every problem reported at once, in the payload.
        let r = app
        .gql(&agent, CREATE, json!({"i": {"kind": "INQUIRY", "title": "あ".repeat(201), "description": "x".repeat(20_001)}}))
        .await;
        let errs = r["data"]["createTicket"]["userErrors"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(errs.len(), 2, "{r}");
        assert!(errs.iter().all(|e| e["code"] == "TOO_LONG"));
        assert_eq!(errs[0]["field"], json!(["input", "title"]));
        assert!(errs[0]["message"].as_str().unwrap().contains("200文字以内"));
        let r = app
            .gql(
                &agent,
                CREATE,
                json!({"i": {"kind": "INQUIRY", "title": "   "}}),
            )
            .await;
        assert_eq!(
            r["data"]["createTicket"]["userErrors"][0]["code"],
            "REQUIRED"
        );
        // An unknown enum value is a validation error from GraphQL itself.
        let r = app
            .gql(
                &agent,
                CREATE,
                json!({"i": {"kind": "COMPLAINT", "title": "x"}}),
            )
            .await;
        assert!(r["errors"].is_array() && r["data"].is_null(), "{r}");
        // Invalid transition: new → closed.
        let r = app
            .gql(
                &agent,
                CHANGE,
                json!({"i": {"ticketId": id, "status": "CLOSED"}}),
            )
            .await;
        let e = &r["data"]["changeTicketStatus"]["userErrors"][0];
        assert_eq!(e["code"], "INVALID_TRANSITION");
        assert_eq!(e["message"], "「新規」から「完了」へは変更できません");
        // Escalated without a target.
        let r = app
            .gql(
                &agent,
                CHANGE,
                json!({"i": {"ticketId": id, "status": "ESCALATED"}}),
            )
            .await;
        assert_eq!(
            r["data"]["changeTicketStatus"]["userErrors"][0]["code"],
            "ESCALATION_TARGET_REQUIRED"
        );
        // Page size out of range, and a cursor that is not ours.
        let r = app
            .gql(&agent, "{ tickets(first: 101) { totalCount } }", json!({}))
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
        let r = app
            .gql(
                &agent,
                r#"{ tickets(first: 5, after: "garbage") { totalCount } }"#,
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("BAD_USER_INPUT"));
        // A stale expected version is a conflict.
        let r = app
            .gql(
                &agent,
                r#"mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { id } } }"#,
                json!({"i": {"ticketId": id, "expectedVersion": 99, "title": "変更"}}),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("CONFLICT"));

        assert_eq!(rows(&app).await, before, "nothing was written");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_unauthenticated_and_write_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": fx.agent.to_string(), "tenant": fx.slug, "roles": ["agent"], "iss": "madoguchi", "aud": "madoguchi-api", "exp": now + 600});
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    );
    // Change one character in the middle of the signature: the last character carries
    // padding bits that lenient base64 decoders ignore, so changing it proves nothing.
    let mut forged: Vec<char> = app.token(&fx.slug, fx.agent, &["agent"]).chars().collect();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let tokens: Vec<(&str, String)> = vec![
        (
            "expired",
            app.token_with(&fx.slug, fx.agent, &["agent"], |c| c.exp = now - 3600),
        ),
        (
            "not yet valid",
            app.token_with(&fx.slug, fx.agent, &["agent"], |c| c.nbf = Some(now + 3600)),
        ),
        (
            "wrong issuer",
            app.token_with(&fx.slug, fx.agent, &["agent"], |c| c.iss = "evil".into()),
        ),
        (
            "wrong audience",
            app.token_with(&fx.slug, fx.agent, &["agent"], |c| c.aud = "other".into()),
        ),
        (
            "unknown role",
            app.token_with(&fx.slug, fx.agent, &["root"], |_| {}),
        ),
        (
            "unknown tenant",
            app.token_with("nowhere", fx.agent, &["agent"], |_| {}),
        ),
        (
            "person of another tenant",
            app.token_with(&fx.slug, app.fixture.edu.agent, &["agent"], |_| {}),
        ),
        ("forged signature", forged),
        ("alg none", alg_none),
        ("garbage", "abc".into()),
    ];
    let before = rows(&app).await;
    for (what, token) in tokens {
        let (status, body) = app
            .post(
                Some(&token),
                CREATE,
                json!({"i": {"kind": "INQUIRY", "title": "x"}}),
            )
            .await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(
            error_code(&body).as_deref(),
            Some("UNAUTHENTICATED"),
            "{what}: {body}"
        );
    }
    let (status, body) = app
        .post(None, "{ viewer { person { displayName } } }", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
    assert_eq!(rows(&app).await, before);
    let (status, body): (u16, Value) = {
        let res = app
            .client
            .post(format!("{}/graphql", app.address))
            .body("{not json")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    };
    assert_eq!(status, 400);
    assert_eq!(error_code(&body).as_deref(), Some("BAD_REQUEST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_expensive_queries_are_refused() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let agent = app.token(&fx.slug, fx.agent, &["agent"]);
    let deep = "{ tickets { nodes { comments { nodes { ticket { comments { nodes { ticket { comments { nodes { ticket { id } } } } } } } } } } } }";
    let wide = "{ tickets(first: 100) { nodes { comments(first: 100) { nodes { body } } events(first: 100) { nodes { kind } } } } }";
    // Twice each: the second time the server has the parsed document already, and the limits
    // still apply to it. A syntax error is reported each time (never remembered as a
    // document); an unknown field is refused by validation each time.
    let cases = [
        (deep, "too deep"),
        (wide, "complex"),
        ("{ tickets { nodes { id }", "expected"),
        ("{ tickets { nodes { nosuch } } }", "nosuch"),
    ];
    for _ in 0..2 {
        for (query, says) in cases {
            let r = app.gql(&agent, query, json!({})).await;
            let message = r["errors"][0]["message"].as_str().unwrap_or_default();
            // The deep query may trip the complexity limit first.
            let also = if says == "too deep" { "complex" } else { says };
            assert!(
                message.contains(says) || message.contains(also),
                "{query}: {r}"
            );
            assert!(r["data"].is_null(), "{query}: {r}");
        }
    }
}

/// A document parsed once serves later requests with other variables and operation names
/// exactly as a fresh parse would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_document_answers_like_a_fresh_parse() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let agent = app.token(&fx.slug, fx.agent, &["agent"]);
    for i in 0..3 {
        let r = app
            .gql(
                &agent,
                CREATE,
                json!({"i": {"kind": "INQUIRY", "title": format!("問い合わせ{i}")}}),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }
    let one = "query A($n: Int!) { tickets(first: $n) { nodes { number } } }";
    for n in [1, 3, 2] {
        let r = app.gql(&agent, one, json!({ "n": n })).await;
        assert!(r["errors"].is_null(), "{r}");
        assert_eq!(r["data"]["tickets"]["nodes"].as_array().unwrap().len(), n);
    }
    let two = format!("{one} query B {{ viewer {{ person {{ id }} }} }}");
    let post = |op: Option<&str>| {
        let mut body = json!({ "query": two, "variables": { "n": 2 } });
        if let Some(op) = op {
            body["operationName"] = json!(op);
        }
        app.client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&agent)
            .json(&body)
            .send()
    };
    for op in [None, Some("A"), Some("B"), None, Some("A")] {
        let body: Value = post(op).await.unwrap().json().await.unwrap();
        match op {
            None => assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Operation name required"),
                "{body}"
            ),
            Some("A") => {
                assert_eq!(
                    body["data"]["tickets"]["nodes"].as_array().unwrap().len(),
                    2,
                    "{body}"
                )
            }
            _ => assert!(body["data"]["viewer"]["person"]["id"].is_string(), "{body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_before_parsing() {
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let agent = app.token(&fx.slug, fx.agent, &["agent"]);
    let huge = "あ".repeat(700_000); // about 2 MB of UTF-8, over the 1 MiB default
    let before = rows(&app).await;
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&agent)
        .json(&json!({"query": CREATE, "variables": {"i": {"kind": "INQUIRY", "title": "x", "description": huge}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(rows(&app).await, before);
}
