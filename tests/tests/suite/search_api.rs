//! The FAQ and search through GraphQL over HTTP: scope for every role and
//! tenant, highlights, facets, paging, suggested answers, similar tickets,
//! synonyms, and bad input.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entity::{FaqStatus, TicketKind};
use serde_json::{Value, json};
use service::faq::{self, FaqInput};
use service::tickets::{self, NewTicket};
use tests::{Backend, TestApp, both_backends, error_code, gid, spawn_app};
use uuid::Uuid;

const SEARCH: &str = r#"query($q: String!, $f: SearchFilter, $first: Int, $after: String) {
  search(query: $q, filterBy: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { types { value count } statuses { value count } categories { value count } }
    edges { cursor node { score type highlights { field html }
      node { __typename ... on FaqArticle { code question } ... on Ticket { number title } } } }
  }
}"#;

/// Waits (at most 10 s) until the server's indexer has applied the outbox.
async fn indexed(app: &TestApp) {
    use sea_orm::{EntityTrait, PaginatorTrait};
    for _ in 0..200 {
        if entity::search_outbox::Entity::find()
            .count(&app.db.write)
            .await
            .unwrap()
            == 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the indexer did not catch up within 10 s");
}

/// A published staff article and the city requester's ticket, escalated to the city vendor.
async fn seed(app: &TestApp) -> (Uuid, Uuid, String) {
    let city = &app.fixture.city;
    let agent = city.agent_actor();
    let a = faq::create(
        &app.db.write,
        &agent,
        FaqInput {
            code: "faq-900".into(),
            category: "プリンター・複合機".into(),
            audience: vec!["staff".into()],
            question: "複合機で紙詰まりが起きました".into(),
            answer: "給紙トレイを引き出して詰まった用紙を取り除いてください。<b>電源は切らないで</b>ください。".into(),
            keywords: vec!["ジャム".into(), "用紙".into()],
            last_reviewed_on: None,
        },
        FaqStatus::Published,
    )
    .await
    .unwrap();
    let mut n = NewTicket::new(
        TicketKind::Incident,
        "2階の複合機が紙詰まりで印刷できない",
        "北側の複合機です",
    );
    n.requester_id = Some(city.requester);
    let t = tickets::create(&app.db.write, &agent, n)
        .await
        .unwrap()
        .ticket;
    tickets::escalate(&app.db.write, &agent, t.id, city.vendor, None)
        .await
        .unwrap();
    // The other tenant has its own ticket with the same words.
    let edu = &app.fixture.edu;
    let mut n = NewTicket::new(TicketKind::Incident, "職員室の複合機が紙詰まり", "");
    n.requester_id = Some(edu.requester);
    let edu_ticket = tickets::create(&app.db.write, &edu.agent_actor(), n)
        .await
        .unwrap()
        .ticket;
    indexed(app).await;
    (a.id, t.id, edu_ticket.number)
}

fn found(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| {
            let n = &e["node"]["node"];
            n["code"]
                .as_str()
                .or(n["title"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

both_backends!(
    search_scope_for_every_role_and_tenant,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let (_article, ticket, _) = seed(&app).await;
        let number = tickets::get(&app.db.read, &app.fixture.city.agent_actor(), ticket)
            .await
            .unwrap()
            .title;
        let edu_number = "職員室の複合機が紙詰まり".to_owned();
        let city = app.fixture.city.clone();
        let edu = app.fixture.edu.clone();
        let article = "faq-900".to_owned();
        // (who, tenant slug, person, roles, what they find)
        type Case<'a> = (&'a str, &'a str, Uuid, &'a [&'a str], Vec<String>);
        let cases: Vec<Case> = vec![
            (
                "owner requester",
                &city.slug,
                city.requester,
                &["requester"],
                vec![number.clone(), article.clone()],
            ),
            (
                "other requester",
                &city.slug,
                city.other_requester,
                &["requester"],
                vec![article.clone()],
            ),
            (
                "agent",
                &city.slug,
                city.agent,
                &["agent"],
                vec![number.clone(), article.clone()],
            ),
            (
                "supervisor",
                &city.slug,
                city.supervisor,
                &["supervisor"],
                vec![number.clone(), article.clone()],
            ),
            (
                "admin",
                &city.slug,
                city.admin,
                &["admin"],
                vec![number.clone(), article.clone()],
            ),
            (
                "escalated vendor",
                &city.slug,
                city.vendor_person,
                &["vendor"],
                vec![number.clone()],
            ),
            (
                "other-tenant requester",
                &edu.slug,
                edu.requester,
                &["requester"],
                vec![edu_number.clone()],
            ),
            (
                "other-tenant vendor",
                &edu.slug,
                edu.vendor_person,
                &["vendor"],
                vec![],
            ),
        ];
        let mut failures = vec![];
        for (label, slug, person, roles, want) in cases {
            let token = app.token(slug, person, roles);
            let body = app
                .gql(&token, SEARCH, json!({"q": "複合機 紙詰まり"}))
                .await;
            let got = found(&body);
            if got != want {
                failures.push(format!("{label}: want {want:?}, got {got:?}"));
            }
        }
        let edu_agent = app.token(&edu.slug, edu.agent, &["agent"]);
        let body = app
            .gql(&edu_agent, SEARCH, json!({"q": "複合機 紙詰まり"}))
            .await;
        assert_eq!(body["data"]["search"]["totalCount"], 1, "{body}");
        assert_eq!(
            body["data"]["search"]["edges"][0]["node"]["node"]["__typename"],
            "Ticket"
        );
        assert!(
            failures.is_empty(),
            "search scope failures:\n{}",
            failures.join("\n")
        );
    }
);

/// What a cell of the matrix must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    NotFound,
    Forbidden,
}

fn outcome(body: &Value) -> Want {
    match error_code(body).as_deref() {
        None => Want::Ok,
        Some("NOT_FOUND") => Want::NotFound,
        Some("FORBIDDEN") => Want::Forbidden,
        Some(other) => panic!("unexpected {other}: {body}"),
    }
}

both_backends!(
    faq_and_search_operations_by_role,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let (article, ticket, _) = seed(&app).await;
        let city = app.fixture.city.clone();
        let edu = app.fixture.edu.clone();
        let people: [(&str, &str, Uuid, &[&str]); 11] = [
            (
                "owner requester",
                &city.slug,
                city.requester,
                &["requester"],
            ),
            (
                "other requester",
                &city.slug,
                city.other_requester,
                &["requester"],
            ),
            ("agent", &city.slug, city.agent, &["agent"]),
            ("supervisor", &city.slug, city.supervisor, &["supervisor"]),
            ("admin", &city.slug, city.admin, &["admin"]),
            (
                "escalated vendor",
                &city.slug,
                city.vendor_person,
                &["vendor"],
            ),
            (
                "other-tenant requester",
                &edu.slug,
                edu.requester,
                &["requester"],
            ),
            ("other-tenant agent", &edu.slug, edu.agent, &["agent"]),
            (
                "other-tenant supervisor",
                &edu.slug,
                edu.supervisor,
                &["supervisor"],
            ),
            ("other-tenant admin", &edu.slug, edu.admin, &["admin"]),
            (
                "other-tenant vendor",
                &edu.slug,
                edu.vendor_person,
                &["vendor"],
            ),
        ];
        use Want::*;
        let a = gid("FaqArticle", article);
        let t = gid("Ticket", ticket);
        let cases: Vec<(&str, String, Value, [Want; 11])> = vec![
        (
            "faqArticle",
            "query { faqArticle(code: \"faq-900\") { id } }".into(),
            json!({}),
            [Ok, Ok, Ok, Ok, Ok, NotFound, NotFound, NotFound, NotFound, NotFound, NotFound],
        ),
        (
            "voteFaqArticle",
            "mutation($i: VoteFaqArticleInput!) { voteFaqArticle(input: $i) { article { helpfulCount } } }".into(),
            json!({"i": {"articleId": a, "helpful": true}}),
            [Ok, Ok, Ok, Ok, Ok, NotFound, NotFound, NotFound, NotFound, NotFound, NotFound],
        ),
        (
            "recordFaqArticleView",
            "mutation($i: FaqArticleIdInput!) { recordFaqArticleView(input: $i) { article { viewCount } } }".into(),
            json!({"i": {"articleId": a}}),
            [Ok, Ok, Ok, Ok, Ok, NotFound, NotFound, NotFound, NotFound, NotFound, NotFound],
        ),
        (
            "updateFaqArticle",
            "mutation($i: UpdateFaqArticleInput!) { updateFaqArticle(input: $i) { article { version } userErrors { code } } }".into(),
            json!({"i": {"articleId": a, "category": "プリンター・複合機", "audience": ["STAFF"],
                "question": "複合機で紙詰まりが起きました", "answer": "トレイを確認してください。"}}),
            [Forbidden, Forbidden, Ok, Ok, Ok, Forbidden, Forbidden, NotFound, NotFound, NotFound, Forbidden],
        ),
        (
            "archiveFaqArticle",
            "mutation($i: FaqArticleIdInput!) { archiveFaqArticle(input: $i) { article { status } } }".into(),
            json!({"i": {"articleId": a}}),
            [Forbidden, Forbidden, Ok, Ok, Ok, Forbidden, Forbidden, NotFound, NotFound, NotFound, Forbidden],
        ),
        (
            "similarTickets",
            "query($t: ID!) { similarTickets(ticketId: $t) { score } }".into(),
            json!({"t": t}),
            [Forbidden, NotFound, Ok, Ok, Ok, Forbidden, NotFound, NotFound, NotFound, NotFound, NotFound],
        ),
        (
            "updateSearchSynonyms",
            "mutation { updateSearchSynonyms(input: {groups: [[\"ジャム\", \"紙づまり\"]]}) { groups } }".into(),
            json!({}),
            [Forbidden, Forbidden, Forbidden, Ok, Ok, Forbidden, Forbidden, Forbidden, Ok, Ok, Forbidden],
        ),
        (
            "searchSynonyms",
            "query { searchSynonyms { tenant } }".into(),
            json!({}),
            [Forbidden, Forbidden, Ok, Ok, Ok, Forbidden, Forbidden, Ok, Ok, Ok, Forbidden],
        ),
        (
            "suggestedAnswers",
            "query { suggestedAnswers(text: \"紙詰まり\") { confidence } }".into(),
            json!({}),
            [Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok, Ok],
        ),
    ];
        let mut failures = vec![];
        for (field, query, vars, row) in &cases {
            for ((label, slug, person, roles), want) in people.iter().zip(row) {
                // Each cell starts from a published article.
                faq::set_status(
                    &app.db.write,
                    &city.agent_actor(),
                    article,
                    FaqStatus::Published,
                )
                .await
                .unwrap();
                let token = app.token(slug, *person, roles);
                let got = outcome(&app.gql(&token, query, vars.clone()).await);
                if got != *want {
                    failures.push(format!("{field} as {label}: want {want:?}, got {got:?}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "FAQ/search matrix failures:\n{}",
            failures.join("\n")
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_highlights_facets_pages_and_suggestions() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_article, ticket, _) = seed(&app).await;
    let city = app.fixture.city.clone();
    let agent = app.token(&city.slug, city.agent, &["agent"]);

    // Half-width kana and a synonym (ジャム) find both; highlights are escaped HTML.
    let body = app
        .gql(&agent, SEARCH, json!({"q": "ﾌｸｺﾞｳｷ ジャム", "first": 1}))
        .await;
    let s = &body["data"]["search"];
    assert_eq!(s["totalCount"], 2, "{body}");
    assert_eq!(s["pageInfo"]["hasNextPage"], true);
    let types: Vec<&str> = s["facets"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["value"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 2);
    let after = s["pageInfo"]["endCursor"].as_str().unwrap();
    let body2 = app
        .gql(
            &agent,
            SEARCH,
            json!({"q": "ﾌｸｺﾞｳｷ ジャム", "first": 1, "after": after}),
        )
        .await;
    let s2 = &body2["data"]["search"];
    assert_eq!(s2["pageInfo"]["hasNextPage"], false);
    assert_ne!(
        s["edges"][0]["node"]["node"],
        s2["edges"][0]["node"]["node"]
    );

    let body = app
        .gql(
            &agent,
            SEARCH,
            json!({"q": "電源", "f": {"types": ["FAQ_ARTICLE"]}}),
        )
        .await;
    let html = body["data"]["search"]["edges"][0]["node"]["highlights"][0]["html"]
        .as_str()
        .unwrap();
    assert!(html.contains("&lt;b&gt;<mark>電源</mark>"), "{html}");

    // Filters: tickets only, by status.
    let body = app
        .gql(
            &agent,
            SEARCH,
            json!({"q": "紙詰まり", "f": {"types": ["TICKET"], "status": ["ESCALATED"]}}),
        )
        .await;
    assert_eq!(body["data"]["search"]["totalCount"], 1, "{body}");
    let body = app
        .gql(
            &agent,
            SEARCH,
            json!({"q": "紙詰まり", "f": {"status": ["CLOSED"]}}),
        )
        .await;
    assert_eq!(body["data"]["search"]["totalCount"], 0);

    // The bots' decision.
    let q = "query($t: String!) { suggestedAnswers(text: $t) { confidence coverage articles { article { code } highlights { html } } } }";
    let requester = app.token(&city.slug, city.requester, &["requester"]);
    let body = app
        .gql(&requester, q, json!({"t": "コピー機で紙がつまった"}))
        .await;
    let s = &body["data"]["suggestedAnswers"];
    assert_ne!(s["confidence"], "DECLINE", "{body}");
    assert_eq!(s["articles"][0]["article"]["code"], "faq-900");
    let body = app
        .gql(&requester, q, json!({"t": "通勤手当の申請はどこ？"}))
        .await;
    assert_eq!(
        body["data"]["suggestedAnswers"]["confidence"], "DECLINE",
        "{body}"
    );
    assert_eq!(body["data"]["suggestedAnswers"]["articles"], json!([]));

    // Similar tickets: the other tenant's identical ticket never shows.
    let mut n = NewTicket::new(TicketKind::Incident, "3階の複合機で紙詰まり", "");
    n.requester_id = Some(city.other_requester);
    tickets::create(&app.db.write, &city.agent_actor(), n)
        .await
        .unwrap();
    indexed(&app).await;
    let body = app
        .gql(
            &agent,
            "query($t: ID!) { similarTickets(ticketId: $t) { node { ... on Ticket { title } } } }",
            json!({"t": gid("Ticket", ticket)}),
        )
        .await;
    let titles: Vec<&str> = body["data"]["similarTickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["3階の複合機で紙詰まり"], "{body}");

    // A new article is searchable within a second of its commit.
    let started = std::time::Instant::now();
    let created = app
        .gql(
            &agent,
            "mutation($i: CreateFaqArticleInput!) { createFaqArticle(input: $i) { article { id version } userErrors { code } } }",
            json!({"i": {"category": "ネットワーク", "audience": ["STAFF"], "question": "無線LANのパスワードを教えてください",
                "answer": "ヘルプデスクにお問い合わせください。", "publish": true}}),
        )
        .await;
    assert_eq!(
        created["data"]["createFaqArticle"]["article"]["version"], 1,
        "{created}"
    );
    loop {
        let body = app.gql(&agent, SEARCH, json!({"q": "むせんLAN"})).await;
        if body["data"]["search"]["totalCount"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "not searchable within 1 s: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Synonyms a tenant adds apply at once.
    let admin = app.token(&city.slug, city.admin, &["admin"]);
    assert_eq!(
        app.gql(&agent, SEARCH, json!({"q": "ザイカイ"})).await["data"]["search"]["totalCount"],
        0
    );
    let body = app.gql(&admin, "mutation { updateSearchSynonyms(input: {groups: [[\"ザイカイ\", \"紙詰まり\"]]}) { groups userErrors { code } } }", json!({})).await;
    assert_eq!(
        body["data"]["updateSearchSynonyms"]["groups"],
        json!([["ザイカイ", "紙詰まり"]]),
        "{body}"
    );
    assert!(
        app.gql(&agent, SEARCH, json!({"q": "ザイカイ"})).await["data"]["search"]["totalCount"]
            .as_i64()
            .unwrap()
            >= 2
    );
    let body = app.gql(&admin, "mutation { updateSearchSynonyms(input: {groups: [[\"ひとつだけ\"]]}) { groups userErrors { code field } } }", json!({})).await;
    assert_eq!(
        body["data"]["updateSearchSynonyms"]["userErrors"][0]["code"],
        "INVALID_SYNONYM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_gets_typed_errors() {
    let app = spawn_app(Backend::Sqlite).await;
    seed(&app).await;
    let city = app.fixture.city.clone();
    let agent = app.token(&city.slug, city.agent, &["agent"]);
    let long = "あ".repeat(10_000);
    let body = app.gql(&agent, SEARCH, json!({"q": long})).await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("BAD_USER_INPUT"),
        "{body}"
    );
    for q in ["", "！？＃", "😀", "\u{fffd}"] {
        let body = app.gql(&agent, SEARCH, json!({"q": q})).await;
        assert_eq!(body["data"]["search"]["totalCount"], 0, "{q:?}: {body}");
    }
    let body = app
        .gql(&agent, SEARCH, json!({"q": "紙", "after": "garbage"}))
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));
    let body = app
        .gql(&agent, SEARCH, json!({"q": "紙", "first": 0}))
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("BAD_USER_INPUT"));
    let body = app
        .gql(
            &agent,
            "query($t: ID!) { similarTickets(ticketId: $t) { score } }",
            json!({"t": "not-an-id"}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("INVALID_ID"));
    // A JSON string with a lone surrogate escape is refused by the JSON parser, not a panic.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(r#"{"query":"query { search(query: \"\ud800\") { totalCount } }"}"#)
        .send()
        .await
        .unwrap();
    assert!(res.status().as_u16() < 500, "{}", res.status());
    // Invalid FAQ input comes back as userErrors, nothing written.
    let body = app
        .gql(
            &agent,
            "mutation($i: CreateFaqArticleInput!) { createFaqArticle(input: $i) { article { id } userErrors { field code } } }",
            json!({"i": {"category": "", "audience": [], "question": "q", "answer": "a"}}),
        )
        .await;
    let codes: Vec<&str> = body["data"]["createFaqArticle"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["REQUIRED", "REQUIRED"], "{body}");
    assert!(body["data"]["createFaqArticle"]["article"].is_null());
}
