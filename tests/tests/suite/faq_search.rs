//! The FAQ and the search outbox in `service`, on SQLite and PostgreSQL.

// Test code: a panic is how a failure is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use entity::{FaqStatus, TicketKind, search_outbox};
use sea_orm::{EntityTrait, PaginatorTrait};
use service::faq::{self, FaqInput};
use service::search::{IndexWriter, Search, SearchInput, indexer};
use service::tickets::{self, NewTicket};
use service::{Role, ServiceError};
use tests::{both_backends, test_db};

fn article(code: &str, question: &str, audience: &[&str]) -> FaqInput {
    FaqInput {
        code: code.to_owned(),
        category: "プリンター・複合機".to_owned(),
        audience: audience.iter().map(|s| (*s).to_owned()).collect(),
        question: question.to_owned(),
        answer: "電源を入れ直してください。".to_owned(),
        keywords: vec!["トナー".to_owned(), "印刷".to_owned()],
        last_reviewed_on: None,
    }
}

both_backends!(
    faq_lifecycle_scope_versions_and_votes,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        let agent = city.agent_actor();
        let requester = city.requester_actor();

        // Requesters do not write the FAQ; bad input is refused whole.
        let err = faq::create(
            db,
            &requester,
            article("p-1", "印刷できない", &["staff"]),
            FaqStatus::Draft,
        )
        .await;
        assert!(matches!(err, Err(ServiceError::Forbidden(_))));
        let mut bad = article("p 1", "", &["parent"]);
        bad.keywords = vec!["x".repeat(101)];
        let Err(ServiceError::Invalid(errors)) =
            faq::create(db, &agent, bad, FaqStatus::Draft).await
        else {
            panic!()
        };
        let codes: Vec<_> = errors
            .iter()
            .map(|e| (e.field[1].as_str(), e.code))
            .collect();
        assert_eq!(
            codes,
            [
                ("question", "REQUIRED"),
                ("code", "INVALID"),
                ("audience", "INVALID"),
                ("keywords", "TOO_LONG")
            ]
        );

        let a = faq::create(
            db,
            &agent,
            article("p-1", "印刷できない", &["staff", "teacher"]),
            FaqStatus::Draft,
        )
        .await
        .unwrap();
        assert_eq!(
            (a.version, a.status, a.audience.as_str()),
            (1, FaqStatus::Draft, "staff,teacher")
        );
        // A draft is the desk's only.
        assert!(matches!(
            faq::get(db, &requester, a.id).await,
            Err(ServiceError::NotFound)
        ));
        let a = faq::set_status(db, &agent, a.id, FaqStatus::Published)
            .await
            .unwrap();
        assert_eq!((a.version, a.status), (2, FaqStatus::Published));
        assert!(a.published_at.is_some());
        assert_eq!(faq::get(db, &requester, a.id).await.unwrap().id, a.id);
        // The other tenant never sees it.
        assert!(matches!(
            faq::get(db, &t.fixture.edu.agent_actor(), a.id).await,
            Err(ServiceError::NotFound)
        ));
        // Vendors see no FAQ.
        let vendor = city.actor(city.vendor_person, &[Role::Vendor]);
        assert!(matches!(
            faq::get(db, &vendor, a.id).await,
            Err(ServiceError::NotFound)
        ));

        let mut edit = article("p-1", "印刷ボタンを押しても印刷されない", &["staff"]);
        edit.last_reviewed_on = chrono::NaiveDate::from_ymd_opt(2026, 11, 1);
        let a = faq::update(db, &agent, a.id, edit.clone(), Some(2))
            .await
            .unwrap();
        assert_eq!(a.version, 3);
        assert!(matches!(
            faq::update(db, &agent, a.id, edit.clone(), Some(2)).await,
            Err(ServiceError::Conflict(_))
        ));
        // Saving the same content again is not a new version.
        assert_eq!(
            faq::update(db, &agent, a.id, edit, None)
                .await
                .unwrap()
                .version,
            3
        );
        let versions = faq::versions(db, &agent, a.id).await.unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        assert_eq!(versions[2].question, "印刷できない");
        assert!(matches!(
            faq::versions(db, &requester, a.id).await,
            Err(ServiceError::Forbidden(_))
        ));

        // Votes: once per voter; changing one's mind moves the count.
        let a = faq::vote(db, &requester, a.id, "person:r", true)
            .await
            .unwrap();
        let a2 = faq::vote(db, &requester, a.id, "person:r", true)
            .await
            .unwrap();
        assert_eq!((a2.helpful_count, a2.not_helpful_count), (1, 0));
        let a2 = faq::vote(db, &requester, a.id, "person:r", false)
            .await
            .unwrap();
        assert_eq!((a2.helpful_count, a2.not_helpful_count), (0, 1));
        let a2 = faq::vote(db, &agent, a.id, "person:a", false)
            .await
            .unwrap();
        assert_eq!((a2.helpful_count, a2.not_helpful_count), (0, 2));
        assert_eq!(
            faq::record_view(db, &requester, a.id)
                .await
                .unwrap()
                .view_count,
            a.view_count + 1
        );

        // Archived: the desk still sees it, requesters no longer do.
        let a = faq::set_status(db, &agent, a.id, FaqStatus::Archived)
            .await
            .unwrap();
        assert!(matches!(
            faq::get(db, &requester, a.id).await,
            Err(ServiceError::NotFound)
        ));
        assert_eq!(
            faq::get(db, &agent, a.id).await.unwrap().status,
            FaqStatus::Archived
        );
    }
);

both_backends!(
    faq_import_is_idempotent_and_reads_excel_csv,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let agent = t.fixture.city.agent_actor();
        let jsonl = service::demo::DEMO_FAQ;
        let r = faq::import(db, &agent, faq::parse_jsonl(jsonl), FaqStatus::Published)
            .await
            .unwrap();
        assert_eq!(
            (r.created, r.updated, r.unchanged, r.errors.len()),
            (80, 0, 0, 0)
        );
        let r = faq::import(db, &agent, faq::parse_jsonl(jsonl), FaqStatus::Published)
            .await
            .unwrap();
        assert_eq!((r.created, r.updated, r.unchanged), (0, 0, 80));

        // Shift_JIS as Excel saves it, Japanese headers, a broken row reported by line.
        let csv = "コード,カテゴリ,対象,質問,回答,キーワード\r\n\
               faq-001,アカウント・パスワード,職員,ログオンのパスワードを忘れました（改訂）,ヘルプデスクで初期化します。,\"パスワード、AD\"\r\n\
               x-1,プリンター,職員、教職員,髙橋さんの①番プリンターが動かない,再起動してください。,\r\n\
               x-2,,職員,カテゴリなし,回答,\r\n";
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(csv);
        assert!(!unmappable);
        let rows = faq::parse_csv(&faq::decode_csv(&sjis));
        let r = faq::import(db, &agent, rows, FaqStatus::Published)
            .await
            .unwrap();
        assert_eq!((r.created, r.updated, r.unchanged), (1, 1, 0));
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].0, 4);
        assert!(r.errors[0].1.contains("カテゴリ"), "{:?}", r.errors);
        let x1 = faq::get_by_code(db, &agent, "x-1").await.unwrap();
        assert_eq!(x1.question, "髙橋さんの①番プリンターが動かない");
        assert_eq!(x1.audience, "staff,teacher");
        let f1 = faq::get_by_code(db, &agent, "faq-001").await.unwrap();
        assert_eq!(
            (f1.version, f1.keyword_list()),
            (2, vec!["パスワード".to_owned(), "AD".to_owned()])
        );
        // UTF-8 with a BOM reads the same.
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(csv.as_bytes());
        assert_eq!(faq::parse_csv(&faq::decode_csv(&bom)), faq::parse_csv(csv));
    }
);

async fn searchable(
    search: &Search,
    db: &sea_orm::DatabaseConnection,
    actor: &service::Actor,
    text: &str,
) -> Vec<String> {
    let input = SearchInput {
        text: text.to_owned(),
        first: 20,
        ..SearchInput::default()
    };
    search
        .search(db, actor, input)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.title)
        .collect()
}

both_backends!(
    the_outbox_keeps_the_index_true_through_crashes,
    |backend| async move {
        let t = test_db(backend).await;
        let db = &t.db.write;
        let city = &t.fixture.city;
        let agent = city.agent_actor();
        let dir = tempfile::tempdir().unwrap();

        let ticket = {
            let search = Search::open(dir.path()).unwrap();
            let writer = IndexWriter::new(&search.index, 32).unwrap();
            // A ticket and an article: their outbox rows are written with them.
            let mut new = NewTicket::new(
                TicketKind::Incident,
                "VPNにつながらない",
                "自宅からVPN接続できません",
            );
            new.requester_id = Some(city.requester);
            let ticket = tickets::create(db, &agent, new).await.unwrap().ticket;
            faq::create(
                db,
                &agent,
                article("v-1", "VPNの設定方法", &["staff"]),
                FaqStatus::Published,
            )
            .await
            .unwrap();
            assert!(search_outbox::Entity::find().count(db).await.unwrap() >= 2);
            assert!(searchable(&search, db, &agent, "VPN").await.is_empty());
            indexer::apply_pending(db, &writer, indexer::BATCH)
                .await
                .unwrap();
            assert_eq!(search_outbox::Entity::find().count(db).await.unwrap(), 0);
            let mut found = searchable(&search, db, &agent, "ＶＰＮ").await;
            found.sort();
            assert_eq!(found, ["VPNにつながらない", "VPNの設定方法"]);
            // The requester finds their own ticket; the other requester does not.
            assert_eq!(
                searchable(&search, db, &city.requester_actor(), "VPN つながらない").await[0],
                "VPNにつながらない"
            );
            let other = city.actor(city.other_requester, &[Role::Requester]);
            assert_eq!(
                searchable(&search, db, &other, "VPN").await,
                ["VPNの設定方法"]
            );
            assert!(
                searchable(&search, db, &t.fixture.edu.agent_actor(), "VPN")
                    .await
                    .is_empty()
            );

            // A public comment is searchable; an internal one is not.
            tickets::add_comment(
                db,
                &agent,
                ticket.id,
                "証明書の期限切れでした。再発行で解決。",
                false,
            )
            .await
            .unwrap();
            tickets::add_comment(db, &agent, ticket.id, "内部メモ：ベンダー手配済み", true)
                .await
                .unwrap();
            // The process dies after the database commit, before the index commit.
            drop(writer);
            drop(search);
            ticket
        };
        let search = Search::open(dir.path()).unwrap();
        assert!(searchable(&search, db, &agent, "証明書").await.is_empty());
        let writer = IndexWriter::new(&search.index, 32).unwrap();
        indexer::apply_pending(db, &writer, indexer::BATCH)
            .await
            .unwrap();
        assert_eq!(
            searchable(&search, db, &agent, "証明書 再発行").await,
            ["VPNにつながらない"]
        );
        assert!(
            searchable(&search, db, &agent, "内部メモ ベンダー手配")
                .await
                .is_empty()
        );
        let docs = search.index.num_docs();
        assert_eq!(docs, 2);

        // The process dies after the index commit, before the outbox delete: the
        // rows are applied again and nothing is doubled.
        service::search::outbox::enqueue(
            db,
            city.id,
            search_index::DocKind::Ticket,
            ticket.id,
            tickets::now(),
        )
        .await
        .unwrap();
        indexer::apply_pending(db, &writer, indexer::BATCH)
            .await
            .unwrap();
        assert_eq!(search.index.num_docs(), docs);
        assert!(search.index.committed_position().unwrap().is_some());

        // A rebuild from the database gives the same documents.
        let n = indexer::reindex(db, &writer, |_, _| {}).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(search.index.num_docs(), 2);
    }
);

both_backends!(tenant_synonyms_take_effect_at_once, |backend| async move {
    let t = test_db(backend).await;
    let db = &t.db.write;
    let city = &t.fixture.city;
    let agent = city.agent_actor();
    let admin = city.actor(city.admin, &[Role::Admin]);
    let search = Search::in_memory().unwrap();
    let writer = IndexWriter::new(&search.index, 32).unwrap();
    faq::create(
        db,
        &agent,
        article("s-1", "財務会計システムにログインできない", &["staff"]),
        FaqStatus::Published,
    )
    .await
    .unwrap();
    indexer::apply_pending(db, &writer, indexer::BATCH)
        .await
        .unwrap();
    // 財務会計システム is this city's product; nobody outside knows it as ザイカイ.
    assert!(searchable(&search, db, &agent, "ザイカイ").await.is_empty());
    assert!(matches!(
        search
            .set_tenant_synonyms(db, &agent, vec![vec!["ザイカイ".into(), "財務会計".into()]])
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    let Err(ServiceError::Invalid(e)) = search
        .set_tenant_synonyms(db, &admin, vec![vec!["ひとつ".into()]])
        .await
    else {
        panic!()
    };
    assert_eq!(e[0].code, "INVALID_SYNONYM");
    search
        .set_tenant_synonyms(db, &admin, vec![vec!["ザイカイ".into(), "財務会計".into()]])
        .await
        .unwrap();
    assert_eq!(
        searchable(&search, db, &agent, "ザイカイ").await,
        ["財務会計システムにログインできない"]
    );
    assert_eq!(
        search.tenant_synonyms(db, &agent).await.unwrap(),
        [vec!["ザイカイ".to_owned(), "財務会計".to_owned()]]
    );
    // Another tenant's searches are unaffected.
    assert!(
        search
            .tenant_synonyms(db, &t.fixture.edu.agent_actor())
            .await
            .unwrap()
            .is_empty()
    );
});
