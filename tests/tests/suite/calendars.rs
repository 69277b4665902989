//! Desk calendars and SLA policies through GraphQL: who reads them, who changes them, and
//! that a change moves the deadlines computed afterwards.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use tests::{Backend, both_backends, error_code, gid, spawn_app};

const READ: &str = r#"{ deskCalendars { id name isDefault timeZone weeklyHours { weekday start end } yearEndClosure
    closedDays(from: "2026-04-25", to: "2026-05-10") { date reason } }
    slaPolicies { name kind priority clock responseMinutes resolutionMinutes failureReportBusinessDays calendar { name } } }"#;

const UPDATE: &str = r#"mutation($i: UpdateDeskCalendarInput!) { updateDeskCalendar(input: $i) {
    deskCalendar { closedDates weeklyHours { weekday start end } updatedAt } userErrors { field code message } } }"#;

both_backends!(
    the_desk_reads_calendars_and_only_an_admin_changes_them,
    |backend: Backend| async move {
        let app = spawn_app(backend).await;
        let fx = app.fixture.city.clone();
        let agent = app.token(&fx.slug, fx.agent, &["agent"]);
        let admin = app.token(&fx.slug, fx.admin, &["admin"]);
        let requester = app.token(&fx.slug, fx.requester, &["requester"]);

        let body = app.gql(&agent, READ, json!({})).await;
        let cal = &body["data"]["deskCalendars"][0];
        assert_eq!(cal["timeZone"], "Asia/Tokyo", "{body}");
        assert_eq!(cal["weeklyHours"].as_array().unwrap().len(), 5);
        let reasons: Vec<String> = cal["closedDays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d["date"].as_str().unwrap(),
                    d["reason"].as_str().unwrap()
                )
            })
            .collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("2026-04-29") && r.contains("昭和の日")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("2026-05-06") && r.contains("振替休日")),
            "{reasons:?}"
        );
        assert!(
            !reasons.iter().any(|r| r.starts_with("2026-05-01")),
            "an ordinary Friday is open"
        );
        assert_eq!(body["data"]["slaPolicies"].as_array().unwrap().len(), 3);
        assert_eq!(body["data"]["slaPolicies"][2]["clock"], "CONTINUOUS");

        let r = app
            .gql(&requester, "{ deskCalendars { id } }", json!({}))
            .await;
        assert_eq!(error_code(&r).as_deref(), Some("FORBIDDEN"));
        let foreign = app
            .gql(
                &app.token(&app.fixture.edu.slug, app.fixture.edu.admin, &["admin"]),
                r#"query($id: ID!) { node(id: $id) { id } }"#,
                json!({"id": gid("DeskCalendar", fx.calendar)}),
            )
            .await;
        assert_eq!(foreign["data"]["node"], serde_json::Value::Null);
        let r = app.gql(&app.token(&app.fixture.edu.slug, app.fixture.edu.admin, &["admin"]), UPDATE,
        json!({"i": {"calendarId": gid("DeskCalendar", fx.calendar), "closedDates": ["2026-12-01"]}})).await;
        assert_eq!(
            error_code(&r).as_deref(),
            Some("NOT_FOUND"),
            "another tenant's calendar does not exist for them"
        );

        let id = cal["id"].as_str().unwrap().to_owned();
        let r = app
            .gql(
                &agent,
                UPDATE,
                json!({"i": {"calendarId": id, "closedDates": ["2026-12-01"]}}),
            )
            .await;
        assert_eq!(
            error_code(&r).as_deref(),
            Some("FORBIDDEN"),
            "agents read, admins change"
        );

        // Overlapping windows are refused in Japanese and nothing changes.
        let r = app.gql(&admin, UPDATE, json!({"i": {"calendarId": id, "weeklyHours": [
        {"weekday": "MON", "start": "08:30:00", "end": "12:00:00"}, {"weekday": "MON", "start": "11:00:00", "end": "17:00:00"}]}})).await;
        let e = &r["data"]["updateDeskCalendar"]["userErrors"][0];
        assert_eq!(e["code"], "INVALID_CALENDAR", "{r}");
        assert!(e["message"].as_str().unwrap().contains("重なっています"));
        let again = app.gql(&agent, READ, json!({})).await;
        assert_eq!(
            again["data"]["deskCalendars"][0]["weeklyHours"],
            cal["weeklyHours"]
        );

        // A closed day added by the admin pushes the next deadline past it.
        const CREATE: &str = r#"mutation { createTicket(input: {kind: INQUIRY, title: "閉庁日の前"}) { ticket { sla { responseDueAt } } } }"#;
        let r = app
            .gql(
                &admin,
                UPDATE,
                json!({"i": {"calendarId": id, "closedDates": ["2030-01-07"]}}),
            )
            .await;
        assert_eq!(
            r["data"]["updateDeskCalendar"]["deskCalendar"]["closedDates"],
            json!(["2030-01-07"]),
            "{r}"
        );
        let with_closure = app.gql(&agent, READ, json!({})).await;
        assert_ne!(
            with_closure["data"]["deskCalendars"][0]["id"],
            serde_json::Value::Null
        );
        let t = app.gql(&agent, CREATE, json!({})).await;
        assert!(t["data"]["createTicket"]["ticket"]["sla"]["responseDueAt"].is_string());
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_closed_day_moves_deadlines_computed_afterwards() {
    use chrono::TimeZone;
    use service::tickets::{self, NewTicket};
    let app = spawn_app(Backend::Sqlite).await;
    let fx = app.fixture.city.clone();
    let admin = fx.actor(fx.admin, &[service::Role::Admin]);
    let desk = fx.agent_actor();
    let at = chrono_tz::Asia::Tokyo
        .with_ymd_and_hms(2030, 1, 4, 17, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let before = tickets::create_at(
        &app.db.write,
        &desk,
        NewTicket::new(entity::TicketKind::Inquiry, "a", ""),
        at,
    )
    .await
    .unwrap();
    service::calendars::update(
        &app.db.write,
        &admin,
        fx.calendar,
        service::calendars::CalendarPatch {
            closed_dates: Some(vec![chrono::NaiveDate::from_ymd_opt(2030, 1, 7).unwrap()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let after = tickets::create_at(
        &app.db.write,
        &desk,
        NewTicket::new(entity::TicketKind::Inquiry, "b", ""),
        at,
    )
    .await
    .unwrap();
    // Friday 17:00 + 4 h: 0.5 h on Friday, then Monday 1/7 — or, once it is closed, Tuesday 1/8.
    let jst = |d, h, m| {
        chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(2030, 1, d, h, m, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    assert_eq!(before.ticket.response_due_at, Some(jst(7, 12, 0)));
    assert_eq!(after.ticket.response_due_at, Some(jst(8, 12, 0)));
    let stored = tickets::get(&app.db.read, &desk, before.ticket.id)
        .await
        .unwrap();
    assert_eq!(
        stored.response_due_at, before.ticket.response_due_at,
        "stored deadlines stay as promised"
    );
}
