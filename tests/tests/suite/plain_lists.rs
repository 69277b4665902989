//! Ticket lists resolved without a future per field (`api::graphql::plain`) answer exactly
//! what async-graphql's own per-field path answers, for random selections (aliases,
//! fragments, `__typename`, nested people, categories and SLA clocks) as a desk agent and as a
//! requester; a selection the plain path does not know takes the per-field path.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::graphql::context::Session;
use api::graphql::loaders::Loaders;
use api::graphql::plain::ListPath;
use async_graphql::Request;
use chrono::{Duration, Utc};
use entity::{Impact, Priority, Severity, TicketKind, ticket};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use service::tickets::{self, NewTicket};
use tests::{Backend, TestApp, both_backends, spawn_app};

/// A field of `Ticket` and whether the plain path answers it.
struct Pick {
    text: &'static str,
    plain: bool,
}

const fn p(text: &'static str) -> Pick {
    Pick { text, plain: true }
}

const fn not_plain(text: &'static str) -> Pick {
    Pick { text, plain: false }
}

const TICKET: &[Pick] = &[
    p("id"),
    p("__typename"),
    p("number"),
    p("title"),
    p("description"),
    p("kind"),
    p("channel"),
    p("status"),
    p("statusLabel"),
    p("priority"),
    p("severity"),
    p("impact"),
    p("outOfScope"),
    p("outOfScopeSystem"),
    p("resolvedAt"),
    p("closedAt"),
    p("createdAt"),
    p("updatedAt"),
    p("version"),
    not_plain("orgUnit { id name }"),
    not_plain("escalationTarget { name }"),
    not_plain("failureReport { cause overdue }"),
    not_plain("assets { id }"),
];

const PERSON: &[&str] = &[
    "id",
    "__typename",
    "displayName",
    "displayNameKana",
    "email",
    "employeeNumber",
    "kind",
    "active",
];
const CATEGORY: &[&str] = &["id", "__typename", "code", "name"];
const SLA: &[&str] = &[
    "__typename",
    "responseDueAt",
    "resolutionDueAt",
    "firstRespondedAt",
    "pausedAt",
    "pausedSeconds",
    "responseBreachedAt",
    "resolutionBreachedAt",
    "breached",
];

/// xorshift: the same selections on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A random non-empty selection of `fields`, some aliased (aliases unique within it).
fn subset(rng: &mut Rng, fields: &[&str]) -> String {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if rng.chance(45) {
            if rng.chance(20) {
                out.push(format!("a{i}: {f}"));
            } else {
                out.push((*f).to_owned());
            }
        }
    }
    if out.is_empty() {
        out.push(fields[rng.below(fields.len())].to_owned());
    }
    out.join(" ")
}

/// A random selection of `Ticket` fields, and whether the plain path should take it.
fn selection(rng: &mut Rng) -> (String, bool) {
    let mut parts = Vec::new();
    let mut plain = true;
    for (i, pick) in TICKET.iter().enumerate() {
        // Fields beyond the plain path are rarer, so most selections take it.
        if rng.chance(if pick.plain { 35 } else { 6 }) {
            plain &= pick.plain;
            if pick.text.contains('{') || !rng.chance(20) {
                parts.push(pick.text.to_owned());
            } else {
                parts.push(format!("t{i}: {}", pick.text));
            }
        }
    }
    for (name, fields) in [
        ("requester", PERSON),
        ("assignee", PERSON),
        ("category", CATEGORY),
        ("sla", SLA),
    ] {
        if rng.chance(40) {
            let sub = subset(rng, fields);
            let sub = match (rng.below(4), name) {
                // The same fields through an inline fragment naming the type.
                (0, "requester" | "assignee") => format!("... on Person {{ {sub} }}"),
                (0, "category") => format!("... on TicketCategory {{ {sub} }}"),
                _ => sub,
            };
            parts.push(format!("{name} {{ {sub} }}"));
        }
    }
    if rng.chance(5) {
        // A person's org unit is beyond the plain path.
        parts.push("requester { orgUnit { name } }".to_owned());
        plain = false;
    }
    if parts.is_empty() {
        parts.push("id".to_owned());
    }
    (parts.join(" "), plain)
}

/// The selection placed in one of the list shapes clients write.
fn query(rng: &mut Rng, selection: &str) -> String {
    match rng.below(4) {
        0 => format!("query {{ tickets(first: 20) {{ nodes {{ {selection} }} }} }}"),
        1 => format!(
            "query {{ tickets(first: 20) {{ nodes {{ ...T }} }} }} fragment T on Ticket {{ {selection} }}"
        ),
        2 => format!(
            "query {{ list: tickets(first: 20) {{ nodes {{ ... on Node {{ ... on Ticket {{ {selection} }} }} }} }} }}"
        ),
        _ => format!(
            "query {{ tickets(first: 20) {{ pageInfo {{ hasNextPage }} nodes {{ ... {{ {selection} }} }} }} }}"
        ),
    }
}

/// A response's data as JSON: a list made plainly is JSON text already (a raw value), so
/// values are compared as the client reads them.
fn json(data: &async_graphql::Value) -> serde_json::Value {
    serde_json::to_value(data).unwrap()
}

async fn run(
    app: &TestApp,
    schema: &api::graphql::AppSchema,
    actor: &service::Actor,
    query: &str,
    path: Option<ListPath>,
) -> async_graphql::Response {
    let mut request = Request::new(query)
        .data(Session {
            actor: Some(actor.clone()),
        })
        .data(Loaders::new(&app.state.db, actor, &app.state.directory));
    if let Some(path) = path {
        request = request.data(path);
    }
    schema.execute(request).await
}

/// Tickets with every optional column filled somewhere and empty elsewhere.
async fn tickets_of_every_shape(app: &TestApp) {
    let fx = app.fixture.city.clone();
    let desk = fx.agent_actor();
    let mut full = NewTicket::new(
        TicketKind::Incident,
        "基幹系ネットワーク障害",
        "本庁舎3階の有線LANが不通",
    );
    full.priority = Some(Priority::Urgent);
    full.severity = Some(Severity::Level1);
    full.impact = Some(Impact::Organization);
    full.category_id = Some(fx.category);
    full.requester_id = Some(fx.requester);
    full.assignee_id = Some(fx.agent);
    full.out_of_scope = true;
    full.out_of_scope_system = Some("住民情報系".into());
    let full = tickets::create(&app.db.write, &desk, full)
        .await
        .unwrap()
        .ticket;
    let mut row = ticket::Entity::find_by_id(full.id)
        .one(&app.db.write)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    let now = tickets::now();
    row.first_responded_at = Set(Some(now));
    row.sla_paused_at = Set(Some(now));
    row.sla_paused_secs = Set(1234);
    row.response_breached_at = Set(Some(now - Duration::hours(1)));
    row.resolved_at = Set(Some(now));
    row.update(&app.db.write).await.unwrap();

    // The requester's own, with no assignee and no category.
    tickets::create(
        &app.db.write,
        &fx.requester_actor(),
        NewTicket::new(
            TicketKind::Inquiry,
            "印刷できない",
            "複合機から出力されない",
        ),
    )
    .await
    .unwrap();
    // Nobody's: no requester at all.
    let mut nobody = NewTicket::new(TicketKind::ServiceRequest, "アカウント作成", "");
    nobody.category_id = Some(fx.subcategory);
    tickets::create(&app.db.write, &desk, nobody).await.unwrap();
    // Another person's, which the requester does not see.
    let mut other = NewTicket::new(TicketKind::Inquiry, "Teamsに入れない", "");
    other.requester_id = Some(fx.other_requester);
    other.assignee_id = Some(fx.supervisor);
    tickets::create(&app.db.write, &desk, other).await.unwrap();
}

both_backends!(
    plain_lists_answer_what_field_futures_answer,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        tickets_of_every_shape(&app).await;
        let schema = api::graphql::build(app.state.clone(), &app.config.graphql);
        let fx = app.fixture.city.clone();
        let actors = [fx.agent_actor(), fx.requester_actor()];

        // Cold directory cache: whatever path the default takes, it answers the same.
        let cold = "query { tickets(first: 20) { nodes { id requester { id displayName email } category { name } } } }";
        let first = run(&app, &schema, &actors[0], cold, None).await;
        let reference = run(
            &app,
            &schema,
            &actors[0],
            cold,
            Some(ListPath::FieldFutures),
        )
        .await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert_eq!(json(&first.data), json(&reference.data));

        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut plain_taken, mut fallbacks) = (0, 0);
        for i in 0..240 {
            let actor = &actors[i % 2];
            let (selection, expect_plain) = selection(&mut rng);
            let query = query(&mut rng, &selection);
            let reference = run(&app, &schema, actor, &query, Some(ListPath::FieldFutures)).await;
            assert!(
                reference.errors.is_empty(),
                "{query}: {:?}",
                reference.errors
            );
            let nodes = reference.data.clone().into_json().unwrap();
            let list = nodes
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|t| t["nodes"].as_array())
                .unwrap_or_else(|| panic!("{query}: {nodes}"));
            // The agent sees the four tickets, the requester their own two.
            assert_eq!(list.len(), if i % 2 == 0 { 4 } else { 2 }, "{query}");

            let plain = run(&app, &schema, actor, &query, Some(ListPath::PlainOnly)).await;
            if expect_plain {
                plain_taken += 1;
                assert!(plain.errors.is_empty(), "{query}: {:?}", plain.errors);
                // Same values, and the same JSON text: keys in the same order.
                assert_eq!(json(&plain.data), json(&reference.data), "{query}");
                assert_eq!(
                    serde_json::to_string(&plain.data).unwrap(),
                    serde_json::to_string(&reference.data).unwrap(),
                    "{query}"
                );
            } else {
                fallbacks += 1;
                assert_eq!(plain.errors.len(), 1, "{query}: {:?}", plain.data);
                assert!(plain.errors[0].message.contains("plainly"));
            }
            let default = run(&app, &schema, actor, &query, None).await;
            assert!(default.errors.is_empty(), "{query}: {:?}", default.errors);
            assert_eq!(json(&default.data), json(&reference.data), "{query}");
        }
        assert!(
            plain_taken > 120 && fallbacks > 20,
            "{plain_taken} plain, {fallbacks} not"
        );

        // A field given twice and a field with arguments take the per-field path; `@skip` and
        // `@include` (applied before execution) do not stop the plain one.
        for (query, expect_plain) in [
            ("query { tickets(first: 5) { nodes { id id } } }", false),
            (
                "query { tickets(first: 5) { nodes { id comments(first: 1) { nodes { body } } } } }",
                false,
            ),
            (
                "query { tickets(first: 5) { nodes { id title @skip(if: true) number @include(if: true) } } }",
                true,
            ),
        ] {
            let plain = run(&app, &schema, &actors[0], query, Some(ListPath::PlainOnly)).await;
            assert_eq!(
                plain.errors.is_empty(),
                expect_plain,
                "{query}: {:?}",
                plain.errors
            );
            let default = run(&app, &schema, &actors[0], query, None).await;
            let reference = run(
                &app,
                &schema,
                &actors[0],
                query,
                Some(ListPath::FieldFutures),
            )
            .await;
            assert!(default.errors.is_empty(), "{query}: {:?}", default.errors);
            assert_eq!(json(&default.data), json(&reference.data), "{query}");
            if expect_plain {
                assert_eq!(json(&plain.data), json(&reference.data), "{query}");
                let json = plain.data.into_json().unwrap();
                assert!(json["tickets"]["nodes"][0].get("title").is_none());
                assert!(json["tickets"]["nodes"][0]["number"].is_string());
            }
        }
        // Time goes on: an answer made plainly still carries the row's own times.
        let body = run(
            &app,
            &schema,
            &actors[0],
            "query { tickets(first: 1) { nodes { createdAt } } }",
            Some(ListPath::PlainOnly),
        )
        .await
        .data
        .into_json()
        .unwrap();
        let created = body["tickets"]["nodes"][0]["createdAt"].as_str().unwrap();
        let created = chrono::DateTime::parse_from_rfc3339(created).unwrap();
        assert!(Utc::now() - created.to_utc() < Duration::minutes(5));
    }
);
