//! A ticket list reads only the columns its selection shows; whatever the shape of the query
//! (nodes or edges, fragments, aliases), every field answers what the whole row says.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use entity::{Impact, Priority, Severity, TicketKind, TicketStatus, ticket};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel, Set,
    Statement,
};
use serde_json::{Value, json};
use service::tickets::{self, NewTicket, TicketColumns, TicketFilter};
use tests::{Backend, both_backends, gid, spawn_app};

/// Every scalar and object field of `Ticket` that reads the ticket's own row.
const FIELDS: &str = "id number title description kind channel status statusLabel priority
    severity impact category { id name } requester { id displayName } orgUnit { id name }
    assignee { id displayName } escalationTarget { id name } outOfScope outOfScopeSystem
    failureReport { cause interimMeasure recoveryOutlook recurrencePrevention dueAt submittedAt overdue }
    securityRegister { occurredOn event interimAction permanentAction reportStage }
    sla { responseDueAt resolutionDueAt firstRespondedAt pausedAt pausedSeconds
          responseBreachedAt resolutionBreachedAt breached }
    resolvedAt closedAt createdAt updatedAt version";

both_backends!(
    every_list_shape_answers_what_the_whole_row_says,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let desk = fx.agent_actor();
        // One ticket with every column filled, and a plain one beside it.
        let mut n = NewTicket::new(
            TicketKind::SecurityIncident,
            "USBメモリ紛失",
            "教育委員会で\\\\fs01\\share の資料を入れたUSBメモリを紛失",
        );
        n.priority = Some(Priority::Urgent);
        n.severity = Some(Severity::Level1);
        n.impact = Some(Impact::Organization);
        n.category_id = Some(fx.category);
        n.requester_id = Some(fx.requester);
        n.org_unit_id = Some(fx.unit);
        n.assignee_id = Some(fx.agent);
        n.out_of_scope = true;
        n.out_of_scope_system = Some("校務支援システム".into());
        n.security_occurred_on = NaiveDate::from_ymd_opt(2026, 11, 2);
        n.security_event = Some("USBメモリの紛失".into());
        let full = tickets::create(&app.db.write, &desk, n)
            .await
            .unwrap()
            .ticket;
        let mut row = ticket::Entity::find_by_id(full.id)
            .one(&app.db.write)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        row.escalation_vendor_id = Set(Some(fx.vendor));
        row.cause = Set(Some("持ち出し手順の不徹底".into()));
        row.interim_measure = Set(Some("パスワード変更".into()));
        row.recovery_outlook = Set(Some("11月中".into()));
        row.recurrence_prevention = Set(Some("暗号化USBに限定".into()));
        row.failure_report_due_at = Set(Some(Utc::now()));
        row.security_interim_action = Set(Some("関係者へ連絡".into()));
        row.security_permanent_action = Set(Some("研修".into()));
        row.security_report_stage = Set(Some("first".into()));
        row.first_responded_at = Set(Some(tickets::now()));
        row.update(&app.db.write).await.unwrap();
        tickets::create(
            &app.db.write,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "印刷できない", ""),
        )
        .await
        .unwrap();

        let token = app.token(&fx.slug, fx.agent, &["agent"]);
        let whole = app
            .gql(
                &token,
                &format!("query($id: ID!) {{ node(id: $id) {{ ... on Ticket {{ {FIELDS} }} }} }}"),
                json!({"id": gid("Ticket", full.id)}),
            )
            .await;
        let whole = whole["data"]["node"].clone();
        assert_eq!(whole["description"], full.description, "{whole}");
        assert_eq!(whole["failureReport"]["cause"], "持ち出し手順の不徹底");
        assert_eq!(whole["securityRegister"]["permanentAction"], "研修");
        assert_eq!(whole["escalationTarget"]["id"], gid("Vendor", fx.vendor));

        let find = |body: &Value, list: &[&str]| -> Value {
            let mut v = &body["data"];
            for k in list {
                v = &v[*k];
            }
            v.as_array()
                .unwrap_or_else(|| panic!("no list at {list:?}: {body}"))
                .iter()
                .map(|n| {
                    if n.get("node").is_some() {
                        &n["node"]
                    } else {
                        n
                    }
                })
                .find(|n| n["id"] == whole["id"] || n["t"]["id"] == whole["id"])
                .cloned()
                .unwrap_or_else(|| panic!("ticket missing: {body}"))
        };
        let shapes: [(&str, &[&str]); 4] = [
            (
                "query { tickets(first: 10) { nodes { FIELDS } } }",
                &["tickets", "nodes"],
            ),
            (
                "query { tickets(first: 10) { edges { cursor node { FIELDS } } } }",
                &["tickets", "edges"],
            ),
            (
                "query { tickets(first: 10) { nodes { ...T } } } fragment T on Ticket { FIELDS }",
                &["tickets", "nodes"],
            ),
            (
                "query { list: tickets(first: 10) { edges { node { ... on Node { ... on Ticket { FIELDS } } } } } }",
                &["list", "edges"],
            ),
        ];
        for (shape, path) in shapes {
            let body = app
                .gql(&token, &shape.replace("FIELDS", FIELDS), json!({}))
                .await;
            assert!(body.get("errors").is_none(), "{shape}: {body}");
            assert_eq!(find(&body, path), whole, "{shape}");
        }

        // A selection of a few fields answers them alone, with the same values.
        let body = app
            .gql(
                &token,
                "query { tickets(first: 10) { nodes { id n: number breached: sla { breached } } } }",
                json!({}),
            )
            .await;
        let t = find(&body, &["tickets", "nodes"]);
        assert_eq!(t["n"], whole["number"]);
        assert_eq!(t["breached"]["breached"], whole["sla"]["breached"]);
    }
);

both_backends!(
    a_view_holds_the_columns_it_was_asked_for,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let desk = fx.agent_actor();
        let created = tickets::create(
            &app.db.write,
            &desk,
            NewTicket::new(
                TicketKind::Incident,
                "ネットワーク障害",
                "3階の有線LANが不通",
            ),
        )
        .await
        .unwrap()
        .ticket;
        let columns = TicketColumns::of(&[ticket::Column::Number, ticket::Column::Title]);
        let page = tickets::list_view(
            &app.db.read,
            &desk,
            &TicketFilter::default(),
            Default::default(),
            10,
            None,
            columns,
        )
        .await
        .unwrap();
        let view = page.items.iter().find(|v| v.row.id == created.id).unwrap();
        assert_eq!(view.row.number, created.number);
        assert_eq!(view.row.title, created.title);
        assert_eq!(
            view.row.created_at, created.created_at,
            "the sort column is read for the cursor"
        );
        assert!(view.loaded.has(ticket::Column::CreatedAt));
        assert!(!view.loaded.has(ticket::Column::Description));
        assert!(
            view.row.description.is_empty(),
            "a column not asked for is not read"
        );
        // Asking for every column is the whole row.
        let page = tickets::list_view(
            &app.db.read,
            &desk,
            &TicketFilter::default(),
            Default::default(),
            10,
            None,
            TicketColumns::all(),
        )
        .await
        .unwrap();
        let view = page.items.iter().find(|v| v.row.id == created.id).unwrap();
        assert_eq!(view.row, created);
    }
);

both_backends!(
    open_ticket_lists_read_the_open_tickets_index,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let desk = fx.agent_actor();
        // Tickets in every status, created one a minute apart.
        let statuses = [
            TicketStatus::New,
            TicketStatus::InProgress,
            TicketStatus::WaitingOnRequester,
            TicketStatus::WaitingOnVendor,
            TicketStatus::Escalated,
            TicketStatus::Resolved,
            TicketStatus::Closed,
        ];
        let start = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let mut made = Vec::new();
        for i in 0..28i64 {
            let n = NewTicket::new(TicketKind::Inquiry, format!("問い合わせ{i:02}"), "");
            let t = tickets::create_at(&app.db.write, &desk, n, start + Duration::minutes(i))
                .await
                .unwrap()
                .ticket;
            let status = statuses[i as usize % statuses.len()];
            let mut row = t.into_active_model();
            row.status = Set(status);
            let t = row.update(&app.db.write).await.unwrap();
            made.push(t);
        }
        let columns = [
            ticket::Column::Id,
            ticket::Column::Number,
            ticket::Column::Status,
            ticket::Column::CreatedAt,
        ];
        for wanted in [
            vec![TicketStatus::New, TicketStatus::InProgress],
            tickets::workflow::OPEN_STATUSES.to_vec(),
            vec![TicketStatus::Escalated],
            // Not all open: the index cannot serve it, and the answer is the same kind.
            vec![TicketStatus::New, TicketStatus::Closed],
        ] {
            let filter = TicketFilter {
                statuses: wanted.clone(),
                ..TicketFilter::default()
            };
            let mut expected: Vec<_> = made.iter().filter(|t| wanted.contains(&t.status)).collect();
            expected.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
            let page = tickets::list_view(
                &app.db.read,
                &desk,
                &filter,
                Default::default(),
                3,
                None,
                TicketColumns::of(&columns),
            )
            .await
            .unwrap();
            let got: Vec<_> = page.items.iter().map(|v| v.row.number.clone()).collect();
            let want: Vec<_> = expected.iter().take(3).map(|t| t.number.clone()).collect();
            assert_eq!(got, want, "{wanted:?}");
            assert_eq!(page.has_next, expected.len() > 3);

            if backend == Backend::Sqlite {
                let stmt = tickets::list_view_statement(
                    &app.db.read,
                    &desk,
                    &filter,
                    Default::default(),
                    3,
                    None,
                    &columns,
                )
                .await
                .unwrap();
                let plan = app
                    .db
                    .read
                    .query_all_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        format!("EXPLAIN QUERY PLAN {}", stmt.sql),
                        stmt.values.unwrap().0,
                    ))
                    .await
                    .unwrap();
                let plan: Vec<String> = plan
                    .iter()
                    .map(|r| r.try_get_by_index::<String>(3).unwrap())
                    .collect();
                let uses = plan
                    .iter()
                    .any(|p| p.contains("ix_tickets_tenant_open_created"));
                let all_open = wanted
                    .iter()
                    .all(|s| tickets::workflow::OPEN_STATUSES.contains(s));
                if wanted.len() == 1 {
                    // One status: (tenant, status, created_at) serves it as well, in order.
                    assert!(
                        plan.iter()
                            .all(|p| p.contains("USING INDEX") && !p.contains("TEMP")),
                        "{wanted:?}: {plan:?}"
                    );
                } else {
                    assert_eq!(uses, all_open, "{wanted:?}: {plan:?}");
                }
            }
        }
        if backend == Backend::Sqlite {
            // The index says what the service repeats, word for word.
            let sql = app
                .db
                .read
                .query_one_raw(Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_tickets_tenant_open_created'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<String>(0)
                .unwrap();
            assert!(
                sql.ends_with(&format!("WHERE {}", tickets::OPEN_STATUSES_SQL)),
                "{sql}"
            );
        }
    }
);

/// Every field of `Ticket` in the published schema either names the columns it reads or is
/// one of the fields that read only the id: a new field cannot be forgotten (it would make a
/// list fetch every row twice).
#[test]
fn every_ticket_field_names_its_columns() {
    let sdl = api::graphql::sdl();
    let start = sdl
        .find("type Ticket implements Node {")
        .expect("Ticket in the SDL");
    let block = &sdl[start..start + sdl[start..].find("\n}").unwrap()];
    let mut fields = Vec::new();
    let mut in_description = false;
    for line in block.lines().skip(1) {
        let t = line.trim();
        if t.starts_with("\"\"\"") {
            in_description = !(in_description || t.len() > 3 && t.ends_with("\"\"\""));
            continue;
        }
        if in_description || t.is_empty() {
            continue;
        }
        let name: String = t
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        fields.push(name);
    }
    assert!(fields.len() > 20, "{fields:?}");
    let id_only = ["id", "comments", "events", "assets"];
    for f in &fields {
        let mapped = api::graphql::types::ticket_field_columns(f);
        assert!(
            mapped.is_some() != id_only.contains(&f.as_str()),
            "Ticket.{f}: add it to ticket_field_columns (or to the id-only fields here)"
        );
    }
}
