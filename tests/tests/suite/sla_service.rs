//! The SLA clock through the service, on SQLite and PostgreSQL: deadlines from the policy and
//! calendar, pausing while waiting on the requester, failure-report due dates, breach marking.

// Test and benchmark code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Tokyo;
use entity::{Priority, TicketKind, TicketStatus, ticket_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use service::tickets::{self, NewTicket};
use tests::{Backend, both_backends, test_db};

fn jst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Tokyo
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

both_backends!(
    deadlines_follow_the_desk_calendar_and_pause_exactly,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        // Standard weekdays 8:30–17:30. Inquiry: 240 min response, 1,620 min (3 days) resolution.
        // Opened Friday 2026-05-01 16:00, just before Golden Week (5/2–5/6 closed).
        let created = jst(2026, 5, 1, 16, 0);
        let c = tickets::create_at(
            db,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "GW前の問い合わせ", ""),
            created,
        )
        .await
        .unwrap();
        assert_eq!(
            c.ticket.response_due_at,
            Some(jst(2026, 5, 7, 11, 0)),
            "1.5 h on Friday, 2.5 h on Thursday"
        );
        // 27 business hours: 1.5 (5/1) + 9 (5/7) + 9 (5/8) + 7.5 (5/11) → 5/11 16:00.
        assert_eq!(c.ticket.resolution_due_at, Some(jst(2026, 5, 11, 16, 0)));

        // Wait on the requester from Thursday 10:00 to Monday 10:00: 7.5 + 9 + 1.5 = 18 business hours.
        tickets::change_status_at(
            db,
            &desk,
            c.ticket.id,
            TicketStatus::InProgress,
            None,
            jst(2026, 5, 7, 9, 0),
        )
        .await
        .unwrap();
        let w = tickets::change_status_at(
            db,
            &desk,
            c.ticket.id,
            TicketStatus::WaitingOnRequester,
            None,
            jst(2026, 5, 7, 10, 0),
        )
        .await
        .unwrap();
        assert_eq!(w.ticket.sla_paused_at, Some(jst(2026, 5, 7, 10, 0)));
        let r = tickets::change_status_at(
            db,
            &desk,
            c.ticket.id,
            TicketStatus::InProgress,
            None,
            jst(2026, 5, 11, 10, 0),
        )
        .await
        .unwrap();
        assert_eq!(r.ticket.sla_paused_secs, 18 * 3600);
        assert_eq!(r.ticket.sla_paused_at, None);
        // 24 h remained at the pause (5/7 10:00 → 5/11 16:00); from 5/11 10:00 that is
        // 7.5 h (5/11) + 9 h (5/12) + 7.5 h (5/13) → 5/13 16:00.
        assert_eq!(r.ticket.resolution_due_at, Some(jst(2026, 5, 13, 16, 0)));

        // Resolved on Friday 5/15 → the failure report is due at the close of the third business day.
        let mut inc = NewTicket::new(TicketKind::Incident, "基幹系の障害", "");
        inc.priority = Some(Priority::High);
        let i = tickets::create_at(db, &desk, inc, jst(2026, 7, 17, 9, 0))
            .await
            .unwrap();
        let res = tickets::change_status_at(
            db,
            &desk,
            i.ticket.id,
            TicketStatus::Resolved,
            None,
            jst(2026, 7, 17, 15, 0),
        )
        .await
        .unwrap();
        // 7/20 is 海の日: business days after Friday 7/17 are 7/21, 7/22, 7/23.
        assert_eq!(
            res.ticket.failure_report_due_at,
            Some(jst(2026, 7, 23, 17, 30))
        );
    }
);

both_backends!(
    urgent_incidents_run_on_the_24h_clock,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let mut n = NewTicket::new(TicketKind::Incident, "庁内ネットワーク全断", "");
        n.priority = Some(Priority::Urgent);
        // New Year's Eve at night: the desk is closed but the emergency clock runs (seed 004).
        let at = jst(2026, 12, 31, 22, 0);
        let c = tickets::create_at(&t.db.write, &desk, n, at).await.unwrap();
        assert_eq!(c.ticket.response_due_at, Some(at + Duration::hours(2)));
        assert_eq!(c.ticket.resolution_due_at, Some(at + Duration::hours(6)));
        // Raising an inquiry to an urgent incident recomputes from the original start.
        let q = tickets::create_at(
            &t.db.write,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "遅い", ""),
            at,
        )
        .await
        .unwrap();
        let u = tickets::update_at(
            &t.db.write,
            &desk,
            q.ticket.id,
            service::tickets::TicketPatch {
                kind: Some(TicketKind::Incident),
                priority: Some(Priority::Urgent),
                ..Default::default()
            },
            at + Duration::minutes(5),
        )
        .await
        .unwrap();
        assert_eq!(u.ticket.resolution_due_at, Some(at + Duration::hours(6)));
        let changes = &u.events[0].payload["changes"];
        assert!(
            changes["priority"].is_object()
                && changes["kind"].is_object()
                && changes["resolutionDueAt"].is_object(),
            "{changes}"
        );
    }
);

both_backends!(
    breaches_are_marked_once_and_skip_paused_tickets,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let fx = &t.fixture.city;
        let desk = fx.agent_actor();
        let db = &t.db.write;
        let at = jst(2026, 6, 1, 9, 0);
        let late = tickets::create_at(
            db,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "放置された問い合わせ", ""),
            at,
        )
        .await
        .unwrap();
        let paused = tickets::create_at(
            db,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "回答待ち", ""),
            at,
        )
        .await
        .unwrap();
        tickets::change_status_at(
            db,
            &desk,
            paused.ticket.id,
            TicketStatus::WaitingOnRequester,
            None,
            at + Duration::minutes(10),
        )
        .await
        .unwrap();

        let now = jst(2026, 6, 30, 9, 0);
        let first = service::sla::mark_breaches(db, now, 100).await.unwrap();
        let second = service::sla::mark_breaches(db, now, 100).await.unwrap();
        assert_eq!(
            first.len(),
            2,
            "response and resolution of the neglected ticket"
        );
        assert!(first.iter().all(|b| b.ticket.id == late.ticket.id));
        assert!(second.is_empty(), "nothing is marked twice");
        let events = ticket_event::Entity::find()
            .filter(ticket_event::Column::TicketId.eq(late.ticket.id))
            .filter(ticket_event::Column::Kind.eq("sla_breached"))
            .all(&t.db.read)
            .await
            .unwrap();
        let mut targets: Vec<_> = events
            .iter()
            .map(|e| e.payload["target"].as_str().unwrap().to_owned())
            .collect();
        targets.sort();
        assert_eq!(targets, ["resolution", "response"]);
        assert_eq!(events[0].actor_id, None, "the system did it");
        let stored = tickets::get(&t.db.read, &desk, late.ticket.id)
            .await
            .unwrap();
        assert_eq!(
            stored.response_breached_at, stored.response_due_at,
            "breach time is the deadline"
        );
    }
);

both_backends!(
    ticket_numbers_are_per_tenant_and_year_and_never_repeat,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let city = t.fixture.city.agent_actor();
        let edu = t.fixture.edu.agent_actor();
        let db = &t.db.write;
        let n = |title: &str| NewTicket::new(TicketKind::Inquiry, title, "");
        let a = tickets::create_at(db, &city, n("a"), jst(2026, 12, 31, 10, 0))
            .await
            .unwrap()
            .ticket
            .number;
        let b = tickets::create_at(db, &city, n("b"), jst(2026, 12, 31, 11, 0))
            .await
            .unwrap()
            .ticket
            .number;
        let c = tickets::create_at(db, &edu, n("c"), jst(2026, 12, 31, 11, 0))
            .await
            .unwrap()
            .ticket
            .number;
        let d = tickets::create_at(db, &city, n("d"), jst(2027, 1, 1, 0, 30))
            .await
            .unwrap()
            .ticket
            .number;
        assert_eq!(
            [a.as_str(), &b, &c, &d],
            [
                "HD-2026-000001",
                "HD-2026-000002",
                "HD-2026-000001",
                "HD-2027-000001"
            ]
        );
        // Concurrent creation never hands out a number twice.
        let mut handles = vec![];
        for i in 0..20 {
            let db = t.db.write.clone();
            let actor = city.clone();
            handles.push(tokio::spawn(async move {
                tickets::create(
                    &db,
                    &actor,
                    NewTicket::new(TicketKind::Inquiry, format!("並行{i}"), ""),
                )
                .await
                .unwrap()
                .ticket
                .number
            }));
        }
        let mut numbers = vec![];
        for h in handles {
            numbers.push(h.await.unwrap());
        }
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 20);
    }
);

both_backends!(
    history_cannot_be_rewritten_even_with_sql,
    |backend: Backend| async move {
        use sea_orm::ConnectionTrait;
        let t = test_db(backend).await;
        let desk = t.fixture.city.agent_actor();
        tickets::create(
            &t.db.write,
            &desk,
            NewTicket::new(TicketKind::Inquiry, "履歴", ""),
        )
        .await
        .unwrap();
        let update =
            t.db.write
                .execute_unprepared("UPDATE ticket_events SET kind = 'forged'")
                .await;
        let delete =
            t.db.write
                .execute_unprepared("DELETE FROM ticket_events")
                .await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        let events = ticket_event::Entity::find().all(&t.db.read).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "created");
    }
);

both_backends!(
    concurrent_breach_jobs_record_each_breach_once,
    |backend: Backend| async move {
        let t = test_db(backend).await;
        let desk = t.fixture.city.agent_actor();
        let at = jst(2026, 6, 1, 9, 0);
        for i in 0..10 {
            tickets::create_at(
                &t.db.write,
                &desk,
                NewTicket::new(TicketKind::Inquiry, format!("放置{i}"), ""),
                at,
            )
            .await
            .unwrap();
        }
        // Several processes' jobs at once (on PostgreSQL they really run in parallel).
        let now = jst(2026, 6, 30, 9, 0);
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let db = t.db.write.clone();
                tokio::spawn(async move {
                    service::sla::mark_breaches(&db, now, 100)
                        .await
                        .unwrap()
                        .len()
                })
            })
            .collect();
        let mut marked = 0;
        for j in jobs {
            marked += j.await.unwrap();
        }
        let events = ticket_event::Entity::find()
            .filter(ticket_event::Column::Kind.eq("sla_breached"))
            .all(&t.db.read)
            .await
            .unwrap();
        assert_eq!(marked, 20, "response and resolution of ten tickets");
        assert_eq!(events.len(), 20, "each breach recorded once");
    }
);
