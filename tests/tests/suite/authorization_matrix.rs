//! Each role × own/other tenant × each query and mutation. Out-of-scope tickets answer
//! NOT_FOUND exactly like tickets that do not exist; in-scope but not allowed answers FORBIDDEN.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use service::Role;
use service::tickets::{self, NewTicket};
use tests::fixture::TenantFx;
use tests::{Backend, TestApp, both_backends, error_code, gid, spawn_app};
use uuid::Uuid;

/// What a cell of the matrix must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    NotFound,
    Forbidden,
    /// The payload carries this userErrors code.
    UserError(&'static str),
}

/// (field, operation type, document, variables for a ticket id, expected row).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Box<dyn Fn(&str) -> Value>,
    [Want; 11],
);

struct Who {
    label: &'static str,
    tenant: TenantFx,
    person: Uuid,
    roles: &'static [&'static str],
}

/// Opens the ticket a cell works on: the city requester's, escalated to the city's vendor.
async fn fresh_ticket(app: &TestApp) -> (Uuid, String) {
    let fx = &app.fixture.city;
    let desk = fx.actor(fx.agent, &[Role::Agent]);
    let mut n = NewTicket::new(
        entity::TicketKind::Incident,
        "複合機が印刷できない",
        "2階 北側",
    );
    n.requester_id = Some(fx.requester);
    let c = tickets::create(&app.db.write, &desk, n)
        .await
        .expect("create");
    tickets::escalate(&app.db.write, &desk, c.ticket.id, fx.vendor, None)
        .await
        .expect("escalate");
    (c.ticket.id, c.ticket.number)
}

fn outcome(body: &Value, field: &str) -> Result<(), String> {
    if let Some(code) = error_code(body) {
        return Err(code);
    }
    let errs = &body["data"][field]["userErrors"];
    if let Some(first) = errs.as_array().and_then(|a| a.first()) {
        return Err(format!(
            "user:{}",
            first["code"].as_str().unwrap_or_default()
        ));
    }
    Ok(())
}

fn matches(want: Want, got: &Result<(), String>) -> bool {
    match (want, got) {
        (Want::Ok, Ok(())) => true,
        (Want::NotFound, Err(c)) => c == "NOT_FOUND",
        (Want::Forbidden, Err(c)) => c == "FORBIDDEN",
        (Want::UserError(code), Err(c)) => *c == format!("user:{code}"),
        _ => false,
    }
}

both_backends!(
    every_role_gets_exactly_its_scope,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let city = app.fixture.city.clone();
        let edu = app.fixture.edu.clone();
        use Want::*;
        let people = [
            Who {
                label: "owner requester",
                tenant: city.clone(),
                person: city.requester,
                roles: &["requester"],
            },
            Who {
                label: "other requester",
                tenant: city.clone(),
                person: city.other_requester,
                roles: &["requester"],
            },
            Who {
                label: "agent",
                tenant: city.clone(),
                person: city.agent,
                roles: &["agent"],
            },
            Who {
                label: "supervisor",
                tenant: city.clone(),
                person: city.supervisor,
                roles: &["supervisor"],
            },
            Who {
                label: "admin",
                tenant: city.clone(),
                person: city.admin,
                roles: &["admin"],
            },
            Who {
                label: "escalated vendor",
                tenant: city.clone(),
                person: city.vendor_person,
                roles: &["vendor"],
            },
            Who {
                label: "other-tenant requester",
                tenant: edu.clone(),
                person: edu.requester,
                roles: &["requester"],
            },
            Who {
                label: "other-tenant agent",
                tenant: edu.clone(),
                person: edu.agent,
                roles: &["agent"],
            },
            Who {
                label: "other-tenant supervisor",
                tenant: edu.clone(),
                person: edu.supervisor,
                roles: &["supervisor"],
            },
            Who {
                label: "other-tenant admin",
                tenant: edu.clone(),
                person: edu.admin,
                roles: &["admin"],
            },
            Who {
                label: "other-tenant vendor",
                tenant: edu.clone(),
                person: edu.vendor_person,
                roles: &["vendor"],
            },
        ];
        // Expected per person, in the order of `people`.
        type Row = [Want; 11];
        let desk_ok: Row = [
            Forbidden, NotFound, Ok, Ok, Ok, Forbidden, NotFound, NotFound, NotFound, NotFound,
            NotFound,
        ];
        let read: Row = [
            Ok, NotFound, Ok, Ok, Ok, Ok, NotFound, NotFound, NotFound, NotFound, NotFound,
        ];
        let internal: Row = [
            UserError("FORBIDDEN_FIELD"),
            NotFound,
            Ok,
            Ok,
            Ok,
            UserError("FORBIDDEN_FIELD"),
            NotFound,
            NotFound,
            NotFound,
            NotFound,
            NotFound,
        ];
        let cases: Vec<Case> = vec![
            (
                "ticket",
                "query",
                r#"query($n: String!) { ticket(number: $n) { id } }"#,
                Box::new(|_id| json!({})),
                read,
            ),
            (
                "updateTicket",
                "mutation",
                r#"mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { id } userErrors { code } } }"#,
                Box::new(|id| json!({"i": {"ticketId": id, "priority": "HIGH"}})),
                desk_ok,
            ),
            (
                "addTicketComment",
                "mutation",
                r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { ticket { id } userErrors { code } } }"#,
                Box::new(|id| json!({"i": {"ticketId": id, "body": "確認します"}})),
                read,
            ),
            (
                "addTicketComment",
                "mutation",
                r#"mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { ticket { id } userErrors { code } } }"#,
                Box::new(|id| json!({"i": {"ticketId": id, "body": "内部メモ", "internal": true}})),
                internal,
            ),
            (
                "assignTicket",
                "mutation",
                r#"mutation($i: AssignTicketInput!) { assignTicket(input: $i) { ticket { id } userErrors { code } } }"#,
                Box::new(|id| json!({"i": {"ticketId": id, "assigneeId": null}})),
                desk_ok,
            ),
            (
                "changeTicketStatus",
                "mutation",
                r#"mutation($i: ChangeTicketStatusInput!) { changeTicketStatus(input: $i) { ticket { id } userErrors { code } } }"#,
                Box::new(|id| json!({"i": {"ticketId": id, "status": "IN_PROGRESS"}})),
                desk_ok,
            ),
        ];
        let mut failures = vec![];
        for (field, _kind, query, vars, row) in &cases {
            for (who, want) in people.iter().zip(row.iter()) {
                let (id, number) = fresh_ticket(&app).await;
                let token = app.token(&who.tenant.slug, who.person, who.roles);
                let mut v = vars(&gid("Ticket", id));
                if *field == "ticket" {
                    v = json!({"n": number});
                }
                let body = app.gql(&token, query, v).await;
                let got = outcome(&body, field);
                if !matches(*want, &got) {
                    failures.push(format!(
                        "{field} as {}: want {want:?}, got {got:?}",
                        who.label
                    ));
                }
            }
        }
        // escalateTicket needs the other tenant's vendor id to be foreign: use the city's second vendor.
        let esc = r#"mutation($i: EscalateTicketInput!) { escalateTicket(input: $i) { ticket { id } userErrors { code } } }"#;
        for (who, want) in people.iter().zip(desk_ok.iter()) {
            let (id, _) = fresh_ticket(&app).await;
            let token = app.token(&who.tenant.slug, who.person, who.roles);
            let body = app.gql(&token, esc, json!({"i": {"ticketId": gid("Ticket", id), "vendorId": gid("Vendor", city.other_vendor)}})).await;
            let got = outcome(&body, "escalateTicket");
            if !matches(*want, &got) {
                failures.push(format!(
                    "escalateTicket as {}: want {want:?}, got {got:?}",
                    who.label
                ));
            }
        }
        // node(id) answers null outside scope rather than an error (GitHub's behaviour).
        for (who, want) in people.iter().zip(read.iter()) {
            let (id, _) = fresh_ticket(&app).await;
            let token = app.token(&who.tenant.slug, who.person, who.roles);
            let body = app
                .gql(
                    &token,
                    r#"query($id: ID!) { node(id: $id) { id } }"#,
                    json!({"id": gid("Ticket", id)}),
                )
                .await;
            let visible = !body["data"]["node"].is_null();
            if visible != (*want == Ok) {
                failures.push(format!("node as {}: visible={visible}", who.label));
            }
        }
        assert!(
            failures.is_empty(),
            "authorization matrix failures:\n{}",
            failures.join("\n")
        );
    }
);

both_backends!(
    lists_and_directory_follow_scope,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let city = app.fixture.city.clone();
        let edu = app.fixture.edu.clone();
        let (_t1, _) = fresh_ticket(&app).await;
        let desk = city.agent_actor();
        let mut other = NewTicket::new(entity::TicketKind::Inquiry, "他の人の問い合わせ", "");
        other.requester_id = Some(city.other_requester);
        tickets::create(&app.db.write, &desk, other)
            .await
            .expect("create");

        let q = "{ tickets(first: 50) { totalCount nodes { number } } vendors { name } }";
        let count = |body: &Value| body["data"]["tickets"]["totalCount"].as_u64().unwrap();
        let vendors = |body: &Value| body["data"]["vendors"].as_array().unwrap().len();
        for (tenant, person, roles, want_tickets, want_vendors) in [
            (&city, city.requester, &["requester"][..], 1, 0),
            (&city, city.other_requester, &["requester"][..], 1, 0),
            (&city, city.agent, &["agent"][..], 2, 2),
            (&city, city.supervisor, &["supervisor"][..], 2, 2),
            (&city, city.vendor_person, &["vendor"][..], 1, 1),
            (&edu, edu.agent, &["agent"][..], 0, 2),
            (&edu, edu.vendor_person, &["vendor"][..], 0, 1),
        ] {
            let token = app.token(&tenant.slug, person, roles);
            let body = app.gql(&token, q, json!({})).await;
            assert_eq!(
                count(&body),
                want_tickets,
                "{roles:?} in {}: {body}",
                tenant.slug
            );
            assert_eq!(vendors(&body), want_vendors, "{roles:?} in {}", tenant.slug);
        }
        let agents_q = "{ agents { displayName } }";
        let r = app
            .gql(
                &app.token(&city.slug, city.requester, &["requester"]),
                agents_q,
                json!({}),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
        let r = app
            .gql(
                &app.token(&city.slug, city.agent, &["agent"]),
                agents_q,
                json!({}),
            )
            .await;
        assert_eq!(
            r["data"]["agents"].as_array().unwrap().len(),
            3,
            "agent, supervisor, admin: {r}"
        );

        // Contact details: the desk and the person themself only.
        let me = r#"query($id: ID!) { node(id: $id) { ... on Person { email displayName } } }"#;
        let other_person = gid("Person", city.other_requester);
        let r = app
            .gql(
                &app.token(&city.slug, city.requester, &["requester"]),
                me,
                json!({"id": other_person}),
            )
            .await;
        assert_eq!(r["data"]["node"]["email"], Value::Null);
        assert_eq!(r["data"]["node"]["displayName"], "佐藤 花子");
        let r = app
            .gql(
                &app.token(&city.slug, city.agent, &["agent"]),
                me,
                json!({"id": other_person}),
            )
            .await;
        assert_eq!(r["data"]["node"]["email"], "other@city.example.jp");
        let r = app
            .gql(
                &app.token(&edu.slug, edu.agent, &["agent"]),
                me,
                json!({"id": other_person}),
            )
            .await;
        assert_eq!(
            r["data"]["node"],
            Value::Null,
            "another tenant's person is invisible"
        );

        // Creating: a vendor may not; the other tenant cannot point at this tenant's people.
        let create = r#"mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } userErrors { code field } } }"#;
        let r = app
            .gql(
                &app.token(&city.slug, city.vendor_person, &["vendor"]),
                create,
                json!({"i": {"kind": "INQUIRY", "title": "x"}}),
            )
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
        let r = app
        .gql(&app.token(&edu.slug, edu.agent, &["agent"]), create, json!({"i": {"kind": "INQUIRY", "title": "x", "requesterId": gid("Person", city.requester)}}))
        .await;
        assert_eq!(
            r["data"]["createTicket"]["userErrors"][0]["code"], "UNKNOWN_REFERENCE",
            "{r}"
        );
        let r = app
            .gql(
                &app.token(&city.slug, city.requester, &["requester"]),
                create,
                json!({"i": {"kind": "INQUIRY", "title": "x", "priority": "URGENT"}}),
            )
            .await;
        assert_eq!(
            r["data"]["createTicket"]["userErrors"][0]["code"],
            "FORBIDDEN_FIELD"
        );
    }
);
