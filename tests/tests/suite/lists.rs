//! Keyset pagination, ordering and every filter, through GraphQL.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use entity::{Priority, TicketKind, TicketStatus};
use serde_json::{Value, json};
use service::tickets::{self, NewTicket};
use tests::{Backend, both_backends, gid, spawn_app};

both_backends!(
    pages_walk_every_ticket_once_in_order,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let desk = fx.agent_actor();
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let priorities = [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ];
        for i in 0..23i64 {
            let mut n = NewTicket::new(TicketKind::Inquiry, format!("問い合わせ{i:02}"), "");
            n.priority = Some(priorities[(i % 4) as usize]);
            // Two tickets share each instant so the id tie-break matters.
            tickets::create_at(&app.db.write, &desk, n, start + Duration::minutes(i / 2))
                .await
                .unwrap();
        }
        let token = app.token(&fx.slug, fx.agent, &["agent"]);
        for (order, dir) in [
            ("CREATED_AT", "DESC"),
            ("CREATED_AT", "ASC"),
            ("NUMBER", "ASC"),
            ("PRIORITY", "DESC"),
            ("UPDATED_AT", "DESC"),
        ] {
            let mut after: Option<String> = None;
            let mut seen: Vec<Value> = vec![];
            loop {
                let body = app
                .gql(&token, r#"query($after: String, $o: TicketOrder) { tickets(first: 5, after: $after, orderBy: $o) {
                    totalCount pageInfo { hasNextPage endCursor } nodes { number priority createdAt } } }"#,
                    json!({"after": after, "o": {"field": order, "direction": dir}}))
                .await;
                let c = &body["data"]["tickets"];
                assert_eq!(c["totalCount"], 23, "{body}");
                seen.extend(c["nodes"].as_array().unwrap().iter().cloned());
                if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break;
                }
                after = c["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            }
            let mut numbers: Vec<&str> =
                seen.iter().map(|t| t["number"].as_str().unwrap()).collect();
            assert_eq!(numbers.len(), 23, "{order} {dir}");
            let key = |t: &Value| match order {
                "PRIORITY" => ["LOW", "NORMAL", "HIGH", "URGENT"]
                    .iter()
                    .position(|p| *p == t["priority"])
                    .unwrap()
                    .to_string(),
                "NUMBER" => t["number"].as_str().unwrap().to_owned(),
                _ => t["createdAt"].as_str().unwrap().to_owned(),
            };
            let keys: Vec<String> = seen.iter().map(key).collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if dir == "DESC" {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{order} {dir} is ordered");
            numbers.sort();
            numbers.dedup();
            assert_eq!(numbers.len(), 23, "{order} {dir}: no ticket twice");
        }
        // A cursor from one order is refused by another.
        let body = app.gql(&token, "{ tickets(first: 1, orderBy: {field: NUMBER, direction: ASC}) { pageInfo { endCursor } } }", json!({})).await;
        let cursor = body["data"]["tickets"]["pageInfo"]["endCursor"]
            .as_str()
            .unwrap();
        let r = app.gql(&token, r#"query($a: String) { tickets(first: 1, after: $a, orderBy: {field: PRIORITY, direction: ASC}) { totalCount } }"#, json!({"a": cursor})).await;
        assert_eq!(
            tests::error_code(&r).as_deref(),
            Some("BAD_USER_INPUT"),
            "{r}"
        );
    }
);

both_backends!(
    every_filter_narrows_the_list,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let desk = fx.agent_actor();
        let db = &app.db.write;
        let t0 = Utc.with_ymd_and_hms(2026, 9, 1, 1, 0, 0).unwrap();
        let mk = |kind, title: &str, f: &dyn Fn(&mut NewTicket)| {
            let mut n = NewTicket::new(kind, title, "説明文");
            f(&mut n);
            n
        };
        let a = tickets::create_at(
            db,
            &desk,
            mk(TicketKind::Incident, "サーバ停止 fs01", &|n| {
                n.priority = Some(Priority::Urgent);
                n.category_id = Some(fx.subcategory);
                n.requester_id = Some(fx.requester);
            }),
            t0,
        )
        .await
        .unwrap()
        .ticket;
        let b = tickets::create_at(
            db,
            &desk,
            mk(TicketKind::Inquiry, "パスワードを忘れた", &|n| {
                n.org_unit_id = Some(fx.root_unit);
                n.assignee_id = Some(fx.agent);
            }),
            t0 + Duration::days(10),
        )
        .await
        .unwrap()
        .ticket;
        let c = tickets::create_at(
            db,
            &desk,
            mk(TicketKind::ServiceRequest, "閲覧解除 100%_対応", &|_| {}),
            t0 + Duration::days(20),
        )
        .await
        .unwrap()
        .ticket;
        tickets::change_status_at(
            db,
            &desk,
            b.id,
            TicketStatus::InProgress,
            None,
            t0 + Duration::days(10) + Duration::hours(1),
        )
        .await
        .unwrap();
        tickets::change_status_at(
            db,
            &desk,
            b.id,
            TicketStatus::Resolved,
            None,
            t0 + Duration::days(10) + Duration::hours(2),
        )
        .await
        .unwrap();
        tickets::escalate_at(db, &desk, c.id, fx.vendor, None, t0 + Duration::days(21))
            .await
            .unwrap();
        // Breach a's SLA: the job runs long after its deadlines.
        service::sla::mark_breaches(db, t0 + Duration::days(60), 100)
            .await
            .unwrap();

        let token = app.token(&fx.slug, fx.agent, &["agent"]);
        let run = |filter: Value| {
            let app = &app;
            let token = token.clone();
            async move {
                let body = app.gql(&token, r#"query($f: TicketFilter) { tickets(first: 50, filterBy: $f, orderBy: {field: CREATED_AT, direction: ASC}) { totalCount nodes { title } } }"#, json!({"f": filter})).await;
                let titles: Vec<String> = body["data"]["tickets"]["nodes"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{body}"))
                    .iter()
                    .map(|t| t["title"].as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(
                    body["data"]["tickets"]["totalCount"].as_u64().unwrap() as usize,
                    titles.len()
                );
                titles
            }
        };
        let (ta, tb, tc) = (a.title.as_str(), b.title.as_str(), c.title.as_str());
        assert_eq!(run(json!({})).await, [ta, tb, tc]);
        assert_eq!(run(json!({"status": ["NEW", "RESOLVED"]})).await, [ta, tb]);
        assert_eq!(run(json!({"kind": ["SERVICE_REQUEST"]})).await, [tc]);
        assert_eq!(run(json!({"priority": ["URGENT"]})).await, [ta]);
        assert_eq!(
            run(json!({"assigneeIds": [gid("Person", fx.agent)]})).await,
            [tb]
        );
        assert_eq!(run(json!({"unassigned": true})).await, [ta, tc]);
        assert_eq!(
            run(json!({"requesterIds": [gid("Person", fx.requester)]})).await,
            [ta]
        );
        assert_eq!(
            run(json!({"orgUnitIds": [gid("OrgUnit", fx.unit)]})).await,
            [ta],
            "a requester in a school is under the board of education"
        );
        assert_eq!(
            run(json!({"orgUnitIds": [gid("OrgUnit", fx.root_unit)]})).await,
            [ta, tb]
        );
        assert_eq!(
            run(json!({"categoryIds": [gid("TicketCategory", fx.category)]})).await,
            [ta],
            "subcategories count"
        );
        assert_eq!(
            run(json!({"escalationTargetIds": [gid("Vendor", fx.vendor)]})).await,
            [tc]
        );
        assert_eq!(run(json!({"createdAfter": (t0 + Duration::days(5)).to_rfc3339(), "createdBefore": (t0 + Duration::days(15)).to_rfc3339()})).await, [tb]);
        assert_eq!(
            run(json!({"slaBreached": true})).await,
            [ta, tc],
            "b was resolved in time"
        );
        assert_eq!(run(json!({"slaBreached": false})).await, [tb]);
        assert_eq!(run(json!({"textContains": "fs01"})).await, [ta]);
        assert_eq!(
            run(json!({"textContains": "100%_"})).await,
            [tc],
            "LIKE wildcards are literal"
        );
        assert!(run(json!({"textContains": "%"})).await == [tc]);
        assert_eq!(
            run(json!({"status": ["ESCALATED"], "kind": ["SERVICE_REQUEST"]})).await,
            [tc]
        );
    }
);
