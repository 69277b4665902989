//! Chat turns in their own table (`service::chat`, migration `m20261201_000011_chat_turns`):
//! a ticket carries the latest turns in order, turns past their retention are deleted, and a
//! database migrated from the transcript column keeps every stored turn.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use entity::{chat_conversation, chat_turn};
use migration::MigratorTrait;
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use service::chat::{self, ChatKind, DialogState, Platform, Turn};
use tests::{Backend, both_backends};
use uuid::Uuid;

async fn conversation(db: &service::Db, tenant: Uuid, r: &str) -> chat_conversation::Model {
    chat::conversation(
        db,
        tenant,
        Platform::Line,
        r,
        ChatKind::Personal,
        None,
        None,
        Utc::now(),
    )
    .await
    .unwrap()
}

both_backends!(latest_turns_and_retention, |backend: Backend| async move {
    let tdb = tests::test_db(backend).await;
    let db = &tdb.db;
    let city = tdb.fixture.city.id;
    let a = conversation(db, city, "Uturns-a").await;
    let b = conversation(db, city, "Uturns-b").await;
    let now = Utc::now();
    // 40 turns of `a`, the first five 100 days old; 2 of `b`, saved in the same group.
    let old: Vec<Turn> = (0..5)
        .map(|i| Turn::user(format!("古い{i}"), now - Duration::days(100)))
        .collect();
    chat::save(&db.write, &a, &DialogState::default(), &old, now)
        .await
        .unwrap();
    for i in 0..35 {
        let t = if i % 2 == 0 {
            Turn::user(format!("質問{i}"), now)
        } else {
            Turn::bot(format!("回答{i}"), now)
        };
        let mut rows = vec![chat::saved(&a, &DialogState::default(), &[t]).unwrap()];
        if i == 0 {
            let bt = [Turn::user("別の会話", now), Turn::bot("別の回答", now)];
            rows.push(chat::saved(&b, &DialogState::default(), &bt).unwrap());
        }
        chat::save_many(&db.write, &rows.iter().collect::<Vec<_>>(), now)
            .await
            .unwrap();
    }

    let t = chat::transcript(&db.write, a.id).await.unwrap();
    assert_eq!(t.len(), chat::TRANSCRIPT_TURNS as usize);
    let texts: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
    let want: Vec<String> = (5..35)
        .map(|i| {
            if i % 2 == 0 {
                format!("質問{i}")
            } else {
                format!("回答{i}")
            }
        })
        .collect();
    assert_eq!(texts, want, "the latest turns, oldest first");
    assert_eq!(t[0].speaker, "bot");
    assert_eq!(t[1].speaker, "user");
    let tb = chat::transcript(&db.write, b.id).await.unwrap();
    assert_eq!(
        tb.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
        ["別の会話", "別の回答"]
    );

    assert_eq!(chat::prune_turns(&db.write, now).await.unwrap(), 5);
    assert_eq!(
        chat_turn::Entity::find().count(&db.write).await.unwrap(),
        37
    );
    assert_eq!(chat::prune_turns(&db.write, now).await.unwrap(), 0);
});

both_backends!(
    a_groups_states_in_one_statement,
    |backend: Backend| async move {
        // `save_many` writes every conversation's state with one `UPDATE … FROM (VALUES …)`; a
        // conversation given twice keeps the later state, one not given is left alone.
        let tdb = tests::test_db(backend).await;
        let db = &tdb.db;
        let city = tdb.fixture.city.id;
        let a = conversation(db, city, "Ustates-a").await;
        let b = conversation(db, city, "Ustates-b").await;
        let c = conversation(db, city, "Ustates-c").await;
        let asked = |q: &str| DialogState {
            last_question: Some(q.to_owned()),
            ..DialogState::default()
        };
        // Whole seconds: PostgreSQL keeps microseconds.
        let later = chrono::DateTime::from_timestamp(a.updated_at.timestamp() + 5, 0).unwrap();
        let rows = [
            chat::saved(&a, &asked("最初の質問"), &[Turn::user("最初の質問", later)]).unwrap(),
            chat::saved(&b, &asked("プリンタが使えない"), &[]).unwrap(),
            chat::saved(&a, &asked("次の質問"), &[Turn::user("次の質問", later)]).unwrap(),
        ];
        chat::save_many(&db.write, &[&rows[0], &rows[1], &rows[2]], later)
            .await
            .unwrap();
        let read = |id| async move {
            chat::conversation_by_id(&db.write, id)
                .await
                .unwrap()
                .unwrap()
        };
        let (ra, rb, rc) = (read(a.id).await, read(b.id).await, read(c.id).await);
        assert_eq!(
            chat::state_of(&ra).last_question.as_deref(),
            Some("次の質問")
        );
        assert_eq!(
            chat::state_of(&rb).last_question.as_deref(),
            Some("プリンタが使えない")
        );
        assert_eq!(chat::state_of(&rc), DialogState::default());
        assert_eq!(ra.updated_at, later);
        assert_eq!(rb.updated_at, later);
        assert_eq!(rc.updated_at, c.updated_at);
        let turns = chat::transcript(&db.write, a.id).await.unwrap();
        assert_eq!(
            turns.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            ["最初の質問", "次の質問"],
            "both turns appended"
        );
    }
);

both_backends!(
    transcripts_migrate_to_turns,
    |backend: Backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("m.sqlite").display()
            ),
            Backend::Postgres => tests::pg::fresh_database().await.unwrap(),
        };
        let db = service::Db::connect(&url, 2).await.unwrap();
        // Up to the migration before: conversations still have their transcript column.
        migration::Migrator::up(&db.write, Some(10)).await.unwrap();
        let fx = tests::fixture::seed(&db).await.unwrap();
        let id = Uuid::now_v7();
        let transcript = serde_json::json!([
            { "at": "2026-11-30T01:00:00Z", "from": "user", "text": "VPNにつながらない" },
            { "at": "2026-11-30T01:00:01Z", "from": "bot", "text": "次の手順をお試しください。\n1. 再起動" },
            { "broken": true },
            { "at": "2026-11-30T01:02:00Z", "from": "user", "text": "解決しない" }
        ]);
        let at = Utc::now();
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("chat_conversations"))
            .columns(
                [
                    "id",
                    "tenant_id",
                    "platform",
                    "conversation_ref",
                    "kind",
                    "state",
                    "transcript",
                    "created_at",
                    "updated_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                id.into(),
                fx.city.id.into(),
                "line".into(),
                "Umigrated".into(),
                "personal".into(),
                serde_json::json!({}).into(),
                transcript.into(),
                at.into(),
                at.into(),
            ]);
        db.write.execute(&insert).await.unwrap();

        migration::Migrator::up(&db.write, None).await.unwrap();
        let t = chat::transcript(&db.write, id).await.unwrap();
        assert_eq!(
            t.iter()
                .map(|t| (t.speaker.as_str(), t.text.as_str()))
                .collect::<Vec<_>>(),
            [
                ("user", "VPNにつながらない"),
                ("bot", "次の手順をお試しください。\n1. 再起動"),
                ("user", "解決しない"),
            ],
            "every readable turn, in order"
        );
        assert_eq!(t[2].at.to_rfc3339(), "2026-11-30T01:02:00+00:00");
        // The conversation reads through the entity (the column is gone).
        let c = chat_conversation::Entity::find_by_id(id)
            .one(&db.write)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.conversation_ref, "Umigrated");

        // And back: the column returns (empty), the turns' table goes; up again works.
        migration::Migrator::down(&db.write, Some(1)).await.unwrap();
        let cols = db
            .write
            .query_all_raw(sea_orm::Statement::from_string(
                db.write.get_database_backend(),
                "SELECT transcript FROM chat_conversations",
            ))
            .await
            .unwrap();
        assert_eq!(cols.len(), 1);
        migration::Migrator::up(&db.write, None).await.unwrap();
        assert!(chat::transcript(&db.write, id).await.unwrap().is_empty());
    }
);
