//! Japanese analysis token by token, and search behaviour over a real index.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use search_index::{
    Access, Confidence, DocKind, Document, FaqAccess, Filter, Marks, SearchIndex, SearchRequest,
    Synonyms, Thresholds, TicketAccess, analysis::analyze,
};

fn morph(text: &str) -> Vec<String> {
    analyze(text).morph.into_iter().map(|t| t.text).collect()
}

fn bigrams(text: &str) -> Vec<String> {
    analyze(text).bigram.into_iter().map(|t| t.text).collect()
}

#[test]
fn content_words_in_base_form_particles_and_symbols_dropped() {
    assert_eq!(
        morph("パソコン（業務端末）にログオンするときのパスワードを忘れてしまいました。"),
        [
            "パソコン",
            "業務",
            "端末",
            "ログオン",
            "パスワード",
            "忘レル"
        ]
    );
    // 分からなくて → 分かる; できません → dropped (light verb), が / の dropped.
    assert_eq!(
        morph("校務支援のパスワードが分からなくて成績入力ができません"),
        ["校務", "支援", "パスワード", "分カル", "成績", "入力"]
    );
}

#[test]
fn width_case_and_kana_variants_fold_to_the_same_terms() {
    // Half-width kana, full-width letters, upper case.
    assert_eq!(morph("ﾛｸﾞｵﾝ ﾊﾟｽﾜｰﾄﾞ"), morph("ログオン パスワード"));
    assert_eq!(morph("ＷＩＮＤＯＷＳ　ＵＰＤＡＴＥ"), ["windows", "update"]);
    // Long vowels: サーバ = サーバー, プリンタ = プリンター.
    assert_eq!(morph("サーバー"), morph("サーバ"));
    assert_eq!(morph("プリンター"), ["プリンタ"]);
    assert_eq!(morph("プリンタ"), ["プリンタ"]);
    // Hiragana for a katakana word.
    assert_eq!(morph("ぷりんたー"), ["プリンタ"]);
    // Bigrams drop long vowels inside katakana too: インターフェース = インタフェース.
    assert_eq!(bigrams("インターフェース"), bigrams("インタフェース"));
}

#[test]
fn user_lexicon_keeps_it_words_whole() {
    assert_eq!(morph("Teamsにサインインできない"), ["teams", "サインイン"]);
    assert_eq!(morph("SKYSEAの無害化"), ["skysea", "無害化"]);
    assert_eq!(morph("トナーがない"), ["トナー"]);
    assert_eq!(morph("Wi-Fiにつながらない"), ["wi-fi", "ツナガル"]);
}

#[test]
fn letters_and_digits_together_are_one_word_and_its_parts() {
    assert_eq!(morph("M365"), ["m365", "m", "365"]);
}

#[test]
fn bigrams_stay_inside_kanji_words() {
    // 東京都 is 東京 + 都: no 京都 bigram.
    assert_eq!(bigrams("東京都"), ["東京", "都"]);
    assert_eq!(bigrams("京都"), ["京都"]);
}

#[test]
fn offsets_point_at_the_original_text() {
    let text = "ﾌﾟﾘﾝﾀｰが故障";
    let a = analyze(text);
    let t = &a.morph[0];
    assert_eq!(t.text, "プリンタ");
    assert_eq!(&text[t.from..t.to], "ﾌﾟﾘﾝﾀｰ");
    assert_eq!(&text[a.morph[1].from..a.morph[1].to], "故障");
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "",
        "   ",
        "！？＠＃＄％＾＆＊（）",
        "😀🙏🏻👨‍👩‍👧",
        "ｱｲｳｴｵ abc 漢字 ひらがな Ελληνικά русский 한국어",
        "\u{0}\u{1}\u{7f}",
        "\u{3099}\u{309a}ﾞﾟ",
        &"あ".repeat(10_000),
    ] {
        let _ = analyze(text);
    }
}

fn doc(kind: DocKind, id: &str, tenant: &str, title: &str, body: &str) -> Document {
    Document {
        kind,
        id: id.to_owned(),
        tenant: tenant.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        keywords: vec![],
        category: Some("プリンター".to_owned()),
        audience: if kind == DocKind::Faq {
            vec!["staff".to_owned()]
        } else {
            vec![]
        },
        status: if kind == DocKind::Faq {
            "published".to_owned()
        } else {
            "new".to_owned()
        },
        number: None,
        requester: Some("alice".to_owned()),
        vendors: vec![],
        created: Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
        updated: Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
    }
}

fn everything(tenant: &str) -> Access {
    Access {
        tenant: tenant.to_owned(),
        faq: FaqAccess::All,
        tickets: TicketAccess::All,
    }
}

fn ids(index: &SearchIndex, text: &str, access: &Access, filter: &Filter) -> Vec<String> {
    let synonyms = Synonyms::defaults();
    let req = SearchRequest {
        text,
        access,
        filter,
        synonyms: &synonyms,
        limit: 10,
        offset: 0,
        highlight: true,
        count: true,
    };
    index
        .search(&req)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

fn index_with(docs: &[Document]) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    let mut w = index.writer(32).unwrap();
    for d in docs {
        w.upsert(d).unwrap();
    }
    w.commit(1).unwrap();
    index
}

#[test]
fn kyoto_does_not_match_tokyo_to() {
    let index = index_with(&[
        doc(
            DockindT,
            "tokyo",
            "t",
            "東京都の出張",
            "東京都庁へ出張します",
        ),
        doc(DockindT, "kyoto", "t", "京都の出張", "京都市へ出張します"),
    ]);
    let all = everything("t");
    assert_eq!(ids(&index, "京都", &all, &Filter::default()), ["kyoto"]);
    assert_eq!(ids(&index, "東京都", &all, &Filter::default())[0], "tokyo");
}

#[allow(non_upper_case_globals)]
const DockindT: DocKind = DocKind::Ticket;

#[test]
fn people_find_what_they_type_however_they_type_it() {
    let index = index_with(&[
        doc(
            DocKind::Faq,
            "printer",
            "t",
            "プリンターで紙詰まりが起きました",
            "給紙トレイを確認してください",
        ),
        doc(
            DocKind::Faq,
            "server",
            "t",
            "ファイルサーバーにつながらない",
            "共有フォルダが開けない場合",
        ),
        doc(
            DocKind::Faq,
            "password",
            "t",
            "パスワードを忘れました",
            "初期化の手続き",
        ),
        doc(
            DocKind::Faq,
            "teams",
            "t",
            "Teamsの会議に参加できない",
            "会議リンクを確認",
        ),
    ]);
    let all = everything("t");
    let f = Filter::default();
    assert_eq!(ids(&index, "ﾌﾟﾘﾝﾀ 紙づまり", &all, &f)[0], "printer");
    assert_eq!(ids(&index, "ぷりんた", &all, &f)[0], "printer");
    assert_eq!(ids(&index, "サーバ", &all, &f)[0], "server");
    assert_eq!(ids(&index, "PW忘れた", &all, &f)[0], "password");
    assert_eq!(ids(&index, "チームズ 会議", &all, &f)[0], "teams");
    assert_eq!(ids(&index, "ＴＥＡＭＳ", &all, &f)[0], "teams");
}

#[test]
fn highlights_are_escaped_and_marked() {
    let index = index_with(&[doc(
        DocKind::Ticket,
        "x",
        "t",
        "<script>alert(1)</script> プリンターが動かない",
        "a & b < c: プリンター",
    )]);
    let synonyms = Synonyms::defaults();
    let all = everything("t");
    let req = SearchRequest {
        text: "プリンタ",
        access: &all,
        filter: &Filter::default(),
        synonyms: &synonyms,
        limit: 5,
        offset: 0,
        highlight: true,
        count: false,
    };
    let hit = &index.search(&req).unwrap().hits[0];
    let title = &hit.highlights[0].html;
    assert!(title.contains("&lt;script&gt;"), "{title}");
    assert!(title.contains("<mark>プリンター</mark>"), "{title}");
    assert!(!title.contains("<script>"));
    assert!(
        hit.highlights[1].html.contains("a &amp; b &lt; c"),
        "{}",
        hit.highlights[1].html
    );
}

#[test]
fn scope_and_filters() {
    let mut draft = doc(DocKind::Faq, "draft", "t", "プリンターの下書き", "");
    draft.status = "draft".into();
    let mut teacher = doc(DocKind::Faq, "teacher", "t", "プリンターの先生向け", "");
    teacher.audience = vec!["teacher".into()];
    let mut bobs = doc(DocKind::Ticket, "bobs", "t", "プリンターが壊れた", "");
    bobs.requester = Some("bob".into());
    let mut escalated = doc(DocKind::Ticket, "escalated", "t", "プリンターの修理", "");
    escalated.requester = Some("carol".into());
    escalated.vendors = vec!["v1".into()];
    let mut later = doc(DocKind::Ticket, "later", "t", "プリンターの交換", "");
    later.created = Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap();
    let index = index_with(&[
        doc(DocKind::Faq, "staff", "t", "プリンターの職員向け", ""),
        draft,
        teacher,
        doc(DocKind::Ticket, "alices", "t", "プリンターが故障", ""),
        bobs,
        escalated,
        later,
        doc(DocKind::Ticket, "other-tenant", "u", "プリンターが故障", ""),
    ]);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let f = Filter::default();
    let staff_requester = Access {
        tenant: "t".into(),
        faq: FaqAccess::Published {
            audiences: vec!["staff".into()],
        },
        tickets: TicketAccess::Limited {
            requested_by: Some("alice".into()),
            escalated_to: None,
        },
    };
    assert_eq!(
        sorted(ids(&index, "プリンター", &staff_requester, &f)),
        ["alices", "later", "staff"]
    );
    let vendor = Access {
        tenant: "t".into(),
        faq: FaqAccess::None,
        tickets: TicketAccess::Limited {
            requested_by: None,
            escalated_to: Some("v1".into()),
        },
    };
    assert_eq!(ids(&index, "プリンター", &vendor, &f), ["escalated"]);
    let nobody = Access {
        tenant: "t".into(),
        faq: FaqAccess::None,
        tickets: TicketAccess::None,
    };
    assert!(ids(&index, "プリンター", &nobody, &f).is_empty());
    assert_eq!(
        ids(&index, "プリンター", &everything("u"), &f),
        ["other-tenant"]
    );
    assert_eq!(ids(&index, "プリンター", &everything("t"), &f).len(), 7);

    let faq_drafts = Filter {
        kinds: vec![DocKind::Faq],
        statuses: vec!["draft".into()],
        ..Filter::default()
    };
    assert_eq!(
        ids(&index, "プリンター", &everything("t"), &faq_drafts),
        ["draft"]
    );
    let teachers = Filter {
        audiences: vec!["teacher".into()],
        ..Filter::default()
    };
    assert_eq!(
        ids(&index, "プリンター", &everything("t"), &teachers),
        ["teacher"]
    );
    let since_june = Filter {
        created_from: Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()),
        ..Filter::default()
    };
    assert_eq!(
        ids(&index, "プリンター", &everything("t"), &since_june),
        ["later"]
    );

    let synonyms = Synonyms::defaults();
    let all = everything("t");
    let req = SearchRequest {
        text: "プリンター",
        access: &all,
        filter: &f,
        synonyms: &synonyms,
        limit: 2,
        offset: 0,
        highlight: false,
        count: true,
    };
    let r = index.search(&req).unwrap();
    assert_eq!(r.total, Some(7));
    assert!(r.has_more);
    assert_eq!(r.hits.len(), 2);
    assert_eq!(
        r.facets.kinds,
        [("ticket".to_owned(), 4), ("faq".to_owned(), 3)]
    );
    assert!(r.facets.statuses.contains(&("draft".to_owned(), 1)));
    assert!(r.facets.audiences.contains(&("teacher".to_owned(), 1)));
}

#[test]
fn ticket_numbers_find_their_ticket() {
    let mut t = doc(DocKind::Ticket, "n", "t", "VPNにつながらない", "");
    t.number = Some("HD-2026-000123".into());
    let index = index_with(&[t, doc(DocKind::Ticket, "m", "t", "HD-2026 の資料", "")]);
    assert_eq!(
        ids(
            &index,
            "HD-2026-000123 の状況は？",
            &everything("t"),
            &Filter::default()
        )[0],
        "n"
    );
}

#[test]
fn bad_queries_get_an_error_or_nothing() {
    let index = index_with(&[doc(DocKind::Faq, "a", "t", "プリンター", "")]);
    let all = everything("t");
    let f = Filter::default();
    for q in ["", "　", "！？＃＄", "😀😀", "\u{fffd}\u{fffd}"] {
        assert!(ids(&index, q, &all, &f).is_empty(), "{q:?}");
    }
    let synonyms = Synonyms::defaults();
    let long = "プ".repeat(10_000);
    let req = SearchRequest {
        text: &long,
        access: &all,
        filter: &f,
        synonyms: &synonyms,
        limit: 5,
        offset: 0,
        highlight: true,
        count: true,
    };
    assert!(matches!(
        index.search(&req),
        Err(search_index::SearchError::QueryTooLong { max: 1000 })
    ));
    // Mixed scripts and emoji around a real word still find it.
    assert_eq!(
        ids(&index, "😀ぷりんたー😀 printer Ελληνικά", &all, &f),
        ["a"]
    );
}

/// A password article and a printer article, published for staff in tenant `t`.
fn two_faq_articles() -> [Document; 2] {
    [
        doc(
            DocKind::Faq,
            "pw",
            "t",
            "パスワードを忘れました",
            "ヘルプデスクで初期化します",
        ),
        doc(
            DocKind::Faq,
            "printer",
            "t",
            "プリンターで紙詰まりが起きました",
            "給紙トレイを確認してください",
        ),
    ]
}

#[test]
fn the_faq_declines_what_it_cannot_answer() {
    let index = index_with(&two_faq_articles());
    let synonyms = Synonyms::defaults();
    let all = everything("t");
    let s = index
        .suggest_answers("PWを忘れてしまった", &all, &synonyms)
        .unwrap();
    assert_eq!(s.confidence, Confidence::Answer);
    assert_eq!(s.hits[0].id, "pw");
    assert!(!s.hits[0].highlights.is_empty(), "{:?}", s.hits[0]);
    // Without highlights (the chat bots): the same decision and ranking, no snippets.
    let plain = index
        .suggest_answers_with(
            "PWを忘れてしまった",
            &all,
            &synonyms,
            Thresholds::default(),
            Marks::None,
        )
        .unwrap();
    assert_eq!(plain.confidence, s.confidence);
    assert_eq!(plain.ranked, s.ranked);
    assert_eq!(
        plain.hits.iter().map(|h| &h.id).collect::<Vec<_>>(),
        s.hits.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    assert!(plain.hits.iter().all(|h| h.highlights.is_empty()));
    let s = index
        .suggest_answers("通勤手当の申請方法", &all, &synonyms)
        .unwrap();
    assert_eq!(s.confidence, Confidence::Decline);
    assert!(s.hits.is_empty());
}

#[test]
fn answers_are_kept_per_question_scope_and_index_generation() {
    let index = SearchIndex::in_memory().unwrap();
    let mut w = index.writer(32).unwrap();
    for d in two_faq_articles() {
        w.upsert(&d).unwrap();
    }
    w.commit(1).unwrap();
    index.refresh().unwrap();
    let staff = Access {
        tenant: "t".to_owned(),
        faq: FaqAccess::Published {
            audiences: vec!["staff".to_owned()],
        },
        tickets: TicketAccess::None,
    };
    let teachers = Access {
        faq: FaqAccess::Published {
            audiences: vec!["teacher".to_owned()],
        },
        ..staff.clone()
    };
    let synonyms = Synonyms::defaults();
    let ask = |text: &str, access: &Access, synonyms: &Synonyms| {
        let s = index
            .suggest_answers_with(text, access, synonyms, Thresholds::default(), Marks::None)
            .unwrap();
        format!("{s:?}")
    };
    let kept = |text: &str, access: &Access| {
        index
            .cached_answers(text, access, &synonyms, Thresholds::default(), Marks::None)
            .map(|s| format!("{s:?}"))
    };
    let q = "PWを忘れてしまった";
    let uncached = ask(q, &staff, &synonyms);
    assert!(uncached.contains("\"pw\""), "{uncached}");
    assert_eq!(index.answers_cached(), 0, "off unless turned on");
    assert_eq!(kept(q, &staff), None);

    index.set_answer_cache(100);
    assert_eq!(kept(q, &staff), None, "not asked since");
    assert_eq!(ask(q, &staff, &synonyms), uncached);
    assert_eq!(index.answers_cached(), 1);
    // The lookup alone finds it, for this scope only.
    assert_eq!(kept(q, &staff), Some(uncached.clone()));
    assert_eq!(kept(q, &teachers), None);
    assert_eq!(
        ask(q, &staff, &synonyms),
        uncached,
        "the kept answer is the same"
    );
    assert_eq!(index.answers_cached(), 1);
    // Another audience, other synonyms, other words: answers of their own.
    let for_teachers = ask(q, &teachers, &synonyms);
    assert!(!for_teachers.contains("\"pw\""), "{for_teachers}");
    ask(q, &staff, &Synonyms::default());
    ask("PWを忘れてしまった。", &staff, &synonyms);
    assert_eq!(index.answers_cached(), 4);

    // The article is withdrawn: the next generation answers without it.
    w.delete(DocKind::Faq, "pw");
    w.commit(2).unwrap();
    index.refresh().unwrap();
    assert_eq!(
        kept(q, &staff),
        None,
        "a new generation keeps nothing older"
    );
    let after = ask(q, &staff, &synonyms);
    assert!(!after.contains("\"pw\""), "{after}");
    assert_eq!(kept(q, &staff), Some(after.clone()));
    assert_eq!(index.answers_cached(), 1, "older answers are dropped");

    // A full cache starts over; 0 turns it off and empties it.
    index.set_answer_cache(1);
    ask("プリンターの紙詰まり", &staff, &synonyms);
    assert_eq!(index.answers_cached(), 1);
    index.set_answer_cache(0);
    assert_eq!(index.answers_cached(), 0);
    ask(q, &staff, &synonyms);
    assert_eq!(index.answers_cached(), 0);
}

/// Tickets are committed every few seconds on a working desk; what the FAQ answer path keeps
/// (answers, FAQ statistics, candidates) depends on articles alone and outlives them.
#[test]
fn tickets_committed_keep_the_faq_answers_an_article_changed_drops_them() {
    let index = SearchIndex::in_memory().unwrap();
    index.set_answer_cache(100);
    let mut w = index.writer(32).unwrap();
    for d in two_faq_articles() {
        w.upsert(&d).unwrap();
    }
    w.commit(1).unwrap();
    let all = everything("t");
    let synonyms = Synonyms::defaults();
    let q = "PWを忘れてしまった";
    let ask = || {
        let s = index
            .suggest_answers_with(q, &all, &synonyms, Thresholds::default(), Marks::None)
            .unwrap();
        format!("{s:?}")
    };
    let kept = || {
        index
            .cached_answers(q, &all, &synonyms, Thresholds::default(), Marks::None)
            .map(|s| format!("{s:?}"))
    };
    let first = ask();
    assert!(first.contains("パスワードを忘れました"), "{first}");
    assert_eq!(kept(), Some(first.clone()));

    // A ticket with the question's very words, committed: searchable at once, and the
    // answer kept (it is about articles only).
    w.upsert(&doc(
        DocKind::Ticket,
        "t1",
        "t",
        "PWを忘れてしまった",
        "パスワードの初期化をお願いします",
    ))
    .unwrap();
    w.commit(2).unwrap();
    assert!(ids(&index, "PWを忘れてしまった", &all, &Filter::default()).contains(&"t1".to_owned()));
    assert_eq!(kept(), Some(first.clone()), "a ticket changes no answer");
    assert_eq!(ask(), first);
    w.delete(DocKind::Ticket, "t1");
    w.commit(3).unwrap();
    assert_eq!(kept(), Some(first.clone()));

    // The article is edited: the kept answer goes, the next one is the new text's.
    let mut edited = two_faq_articles()[0].clone();
    edited.title = "パスワードを忘れたとき（初期化の申請）".to_owned();
    w.upsert(&edited).unwrap();
    w.commit(4).unwrap();
    assert_eq!(kept(), None, "an article changed");
    let after = ask();
    assert!(after.contains("初期化の申請"), "{after}");
    assert_eq!(kept(), Some(after.clone()));

    // An article withdrawn, and a commit made through another handle (`refresh`): both drop
    // what was kept.
    w.delete(DocKind::Faq, "printer");
    w.commit(5).unwrap();
    assert_eq!(kept(), None);
    let withdrawn = ask();
    assert!(withdrawn.contains("初期化の申請"), "{withdrawn}");
    assert_eq!(kept(), Some(withdrawn));
    index.refresh().unwrap();
    assert_eq!(kept(), None);
}

#[test]
fn commits_carry_the_outbox_position_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open_or_create(dir.path()).unwrap();
        assert_eq!(index.committed_position().unwrap(), None);
        let mut w = index.writer(32).unwrap();
        w.upsert(&doc(DocKind::Faq, "a", "t", "プリンター", ""))
            .unwrap();
        w.commit(41).unwrap();
        // Written but never committed: lost with the writer, as after a crash.
        w.upsert(&doc(DocKind::Faq, "b", "t", "プリンター", ""))
            .unwrap();
    }
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(index.committed_position().unwrap(), Some(41));
    assert_eq!(
        ids(&index, "プリンター", &everything("t"), &Filter::default()),
        ["a"]
    );
    // Upserting again replaces, never doubles.
    let mut w = index.writer(32).unwrap();
    w.upsert(&doc(DocKind::Faq, "a", "t", "プリンター 改訂", ""))
        .unwrap();
    w.commit(42).unwrap();
    assert_eq!(index.num_docs(), 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Any text analyses, and every term's offsets are a char-boundary slice of it.
    #[test]
    fn any_text_analyses_with_valid_offsets(text in "\\PC{0,60}") {
        let a = analyze(&text);
        for t in a.morph.iter().chain(&a.bigram) {
            proptest::prop_assert!(t.from <= t.to && t.to <= text.len());
            proptest::prop_assert!(text.is_char_boundary(t.from) && text.is_char_boundary(t.to));
        }
    }
}

#[test]
fn any_query_searches_without_panicking() {
    use proptest::strategy::{Strategy, ValueTree};
    let index = index_with(&[doc(DocKind::Faq, "a", "t", "プリンター", "紙詰まり")]);
    let all = everything("t");
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..200 {
        let q = "\\PC{0,40}".new_tree(&mut runner).unwrap().current();
        let _ = ids(&index, &q, &all, &Filter::default());
    }
}

#[test]
fn every_word_must_match_unless_no_document_has_them_all() {
    let index = index_with(&[
        doc(
            DocKind::Ticket,
            "both",
            "t",
            "VPN経由でプリンターに印刷できない",
            "",
        ),
        doc(DocKind::Ticket, "printer", "t", "プリンターが故障", ""),
        doc(DocKind::Ticket, "vpn", "t", "VPNにつながらない", ""),
    ]);
    let all = everything("t");
    let f = Filter::default();
    assert_eq!(ids(&index, "ﾌﾟﾘﾝﾀｰ vpn", &all, &f), ["both"]);
    // Nobody has 故障 and VPN together: any word may match, best first.
    let mut got = ids(&index, "VPN 故障", &all, &f);
    got.sort();
    assert_eq!(got, ["both", "printer", "vpn"]);
    // Nobody has all three: any word, those with more of them first.
    let got = ids(&index, "VPN プリンター 故障", &all, &f);
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], "vpn");
    // A phrase synonyms know matches as a whole: 共有フォルダ finds ファイルサーバ, not any
    // document that mentions a ドライブ.
    let index2 = index_with(&[
        doc(
            DocKind::Ticket,
            "server",
            "t",
            "ファイルサーバに保存できない",
            "",
        ),
        doc(DocKind::Ticket, "usb", "t", "USBドライブが認識しない", ""),
        doc(DocKind::Ticket, "folder", "t", "共有フォルダが開かない", ""),
    ]);
    let mut got = ids(&index2, "共有フォルダ", &all, &f);
    got.sort();
    assert_eq!(got, ["folder", "server"]);
    // A word nothing has finds nothing (the fallback to bigrams included).
    let index3 = index_with(&[doc(DocKind::Ticket, "p", "t", "probe problem", "")]);
    assert!(ids(&index3, "zqxprobes", &all, &f).is_empty());
    // m365 written as its parts still counts as one word.
    let index = index_with(&[doc(DocKind::Faq, "m", "t", "Microsoft 365のサインイン", "")]);
    assert_eq!(ids(&index, "M365 サインイン", &all, &f), ["m"]);
}

#[test]
fn an_index_with_an_old_schema_is_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut b = tantivy::schema::Schema::builder();
        let f = b.add_text_field("old", tantivy::schema::TEXT);
        let index = tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        w.add_document(tantivy::doc!(f => "old document")).unwrap();
        w.commit().unwrap();
    }
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(
        index.committed_position().unwrap(),
        None,
        "empty, so the server rebuilds it"
    );
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn documents_are_stored_sorted_by_tenant_and_an_unsorted_index_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open_or_create(dir.path()).unwrap();
        let mut w = index.writer(32).unwrap();
        // Tenants interleaved on the way in, over two commits (two segments).
        for (i, tenant) in ["c", "a", "b", "a", "c", "b"].iter().enumerate() {
            w.upsert(&doc(
                DocKind::Ticket,
                &format!("t{i}"),
                tenant,
                "プリンター",
                "",
            ))
            .unwrap();
            if i == 2 {
                w.commit(1).unwrap();
            }
        }
        w.commit(2).unwrap();
        for tenant in ["a", "b", "c"] {
            assert_eq!(
                ids(
                    &index,
                    "プリンター",
                    &everything(tenant),
                    &Filter::default()
                )
                .len(),
                2,
                "{tenant}"
            );
        }
    }
    let raw = tantivy::Index::open_in_dir(dir.path()).unwrap();
    let searcher = raw.reader().unwrap().searcher();
    for segment in searcher.segment_readers() {
        let column = segment.fast_fields().str("tenant").unwrap().unwrap();
        let mut tenants = Vec::new();
        for doc in 0..segment.max_doc() {
            let ord = column.term_ords(doc).next().unwrap();
            let mut s = String::new();
            column.ord_to_str(ord, &mut s).unwrap();
            tenants.push(s);
        }
        let mut sorted = tenants.clone();
        sorted.sort();
        assert_eq!(tenants, sorted, "one run of doc ids a tenant");
    }

    // An index of this schema written without the sort (an older version): recreated empty,
    // so that the server rebuilds it from the database.
    let old = tempfile::tempdir().unwrap();
    {
        let index = tantivy::Index::create_in_dir(old.path(), raw.schema()).unwrap();
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let mut prepared = w.prepare_commit().unwrap();
        prepared.set_payload("7");
        prepared.commit().unwrap();
    }
    let index = SearchIndex::open_or_create(old.path()).unwrap();
    assert_eq!(index.committed_position().unwrap(), None);
}

#[test]
fn filters_on_keyword_fields_hold_across_segments_and_missing_values() {
    let index = SearchIndex::in_memory().unwrap();
    let mut w = index.writer(32).unwrap();
    let with = |id: &str, status: &str, category: &str| {
        let mut d = doc(DocKind::Ticket, id, "t", "プリンターの故障", "");
        d.status = status.to_owned();
        d.category = Some(category.to_owned());
        d
    };
    // Two segments: the second has no "new" and no "closed" at all.
    w.upsert(&with("n1", "new", "プリンター")).unwrap();
    w.upsert(&with("c1", "closed", "ネットワーク")).unwrap();
    w.commit(1).unwrap();
    w.upsert(&with("r2", "resolved", "プリンター")).unwrap();
    let mut faq = doc(DocKind::Faq, "f2", "t", "プリンターの故障", "");
    faq.audience = vec!["staff".into(), "teacher".into()];
    w.upsert(&faq).unwrap();
    w.commit(2).unwrap();
    let all = everything("t");
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let statuses = |s: &[&str]| Filter {
        statuses: s.iter().map(|&x| x.to_owned()).collect(),
        ..Filter::default()
    };
    assert_eq!(
        sorted(ids(
            &index,
            "プリンター",
            &all,
            &statuses(&["closed", "resolved"])
        )),
        ["c1", "r2"]
    );
    assert_eq!(ids(&index, "プリンター", &all, &statuses(&["new"])), ["n1"]);
    assert!(ids(&index, "プリンター", &all, &statuses(&["escalated"])).is_empty());
    let category = Filter {
        categories: vec!["プリンター".into()],
        kinds: vec![DocKind::Ticket],
        ..Filter::default()
    };
    assert_eq!(sorted(ids(&index, "故障", &all, &category)), ["n1", "r2"]);
    // A multi-valued field matches on any of its values.
    let teachers = Filter {
        audiences: vec!["teacher".into(), "student".into()],
        ..Filter::default()
    };
    assert_eq!(ids(&index, "故障", &all, &teachers), ["f2"]);
}

/// Scope and filters, on the words path (agents: every ticket) and the per-field path
/// (requesters, vendors, FAQ-only searches), against a plain model of who sees what: random
/// access and filters over documents of two tenants in three segments, every word required.
#[test]
fn scope_and_filters_match_a_plain_model_on_both_search_paths() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    let statuses = [
        "new",
        "in_progress",
        "resolved",
        "closed",
        "published",
        "draft",
    ];
    let categories = ["プリンター", "ネットワーク"];
    let audiences = ["staff", "teacher", "student"];
    let mut docs = Vec::new();
    for i in 0..72usize {
        let kind = if i % 4 == 0 {
            DocKind::Faq
        } else {
            DocKind::Ticket
        };
        let tenant = if i % 3 == 0 { "u" } else { "t" };
        // Every document has 端末; every other one also 故障.
        let body = if i % 2 == 0 {
            "端末が故障した"
        } else {
            "端末が遅い"
        };
        let mut d = doc(kind, &format!("d{i}"), tenant, "端末の相談", body);
        d.status = if kind == DocKind::Faq {
            statuses[4 + i % 2].to_owned()
        } else {
            statuses[i % 4].to_owned()
        };
        d.category = (i % 5 != 0).then(|| categories[i % 2].to_owned());
        d.audience = if kind == DocKind::Faq {
            audiences
                .iter()
                .take(i % 3 + 1)
                .map(|a| (*a).to_owned())
                .collect()
        } else {
            vec![]
        };
        d.requester = Some(["alice", "bob"][i % 2].to_owned());
        d.vendors = if i % 7 == 0 {
            vec!["v1".to_owned()]
        } else {
            vec![]
        };
        d.created = Utc
            .with_ymd_and_hms(2026, 1 + (i % 12) as u32, 1, 0, 0, 0)
            .unwrap();
        docs.push(d);
    }
    let index = SearchIndex::in_memory().unwrap();
    let mut w = index.writer(32).unwrap();
    for (n, chunk) in docs.chunks(24).enumerate() {
        for d in chunk {
            w.upsert(d).unwrap();
        }
        w.commit(n as i64 + 1).unwrap();
    }

    let some = |values: &'static [&'static str]| {
        proptest::sample::subsequence(values.to_vec(), 0..=values.len())
            .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    let kinds = proptest::sample::subsequence(vec![DocKind::Faq, DocKind::Ticket], 0..=2);
    let faq = prop_oneof![
        Just(FaqAccess::None),
        Just(FaqAccess::All),
        some(&["staff", "teacher", "student"])
            .prop_map(|audiences| FaqAccess::Published { audiences }),
    ];
    let tickets = prop_oneof![
        Just(TicketAccess::All),
        Just(TicketAccess::None),
        Just(TicketAccess::Limited {
            requested_by: Some("alice".into()),
            escalated_to: None
        }),
        Just(TicketAccess::Limited {
            requested_by: None,
            escalated_to: Some("v1".into())
        }),
    ];
    let month = proptest::option::of(1u32..=12);
    let strategy = (
        prop_oneof![Just("t"), Just("u")],
        faq,
        tickets,
        (
            kinds,
            some(&["new", "in_progress", "resolved", "closed", "published"]),
            some(&["プリンター", "ネットワーク"]),
            some(&["staff", "teacher"]),
        ),
        (month.clone(), month),
        prop_oneof![Just("端末"), Just("端末 故障")],
    );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let synonyms = Synonyms::defaults();
    let mut words_path = 0;
    for _ in 0..400 {
        let (tenant, faq, tickets, (kinds, st, cats, auds), (from, to), text) =
            strategy.new_tree(&mut runner).unwrap().current();
        let access = Access {
            tenant: tenant.to_owned(),
            faq,
            tickets,
        };
        let month = |m: u32| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
        let filter = Filter {
            kinds,
            categories: cats,
            audiences: auds,
            statuses: st,
            created_from: from.map(month),
            created_to: to.map(month),
        };
        let any = |have: &[String], want: &[String]| have.iter().any(|h| want.contains(h));
        let in_scope: Vec<&Document> = docs
            .iter()
            .filter(|d| {
                let visible = match d.kind {
                    DocKind::Faq => match &access.faq {
                        FaqAccess::None => false,
                        FaqAccess::All => true,
                        FaqAccess::Published { audiences } => {
                            d.status == "published"
                                && (audiences.is_empty() || any(&d.audience, audiences))
                        }
                    },
                    DocKind::Ticket => match &access.tickets {
                        TicketAccess::None => false,
                        TicketAccess::All => true,
                        TicketAccess::Limited {
                            requested_by,
                            escalated_to,
                        } => {
                            requested_by.is_some() && d.requester == *requested_by
                                || escalated_to.as_ref().is_some_and(|v| d.vendors.contains(v))
                        }
                    },
                };
                d.tenant == access.tenant
                    && visible
                    && (filter.kinds.is_empty() || filter.kinds.contains(&d.kind))
                    && (filter.statuses.is_empty() || filter.statuses.contains(&d.status))
                    && (filter.categories.is_empty()
                        || d.category
                            .as_ref()
                            .is_some_and(|c| filter.categories.contains(c)))
                    && (filter.audiences.is_empty() || any(&d.audience, &filter.audiences))
                    && filter.created_from.is_none_or(|f| d.created >= f)
                    && filter.created_to.is_none_or(|t| d.created < t)
            })
            .collect();
        // Every word; when no document in scope has them all, any word (all have 端末).
        let mut expected: Vec<String> = in_scope
            .iter()
            .filter(|d| text == "端末" || d.body.contains("故障"))
            .map(|d| d.id.clone())
            .collect();
        if expected.is_empty() {
            expected = in_scope.iter().map(|d| d.id.clone()).collect();
        }
        expected.sort();
        let req = SearchRequest {
            text,
            access: &access,
            filter: &filter,
            synonyms: &synonyms,
            limit: 100,
            offset: 0,
            highlight: false,
            count: true,
        };
        let results = index.search(&req).unwrap();
        let mut got: Vec<String> = results.hits.into_iter().map(|h| h.id).collect();
        got.sort();
        assert_eq!(got, expected, "{text} {access:?} {filter:?}");
        assert_eq!(
            results.total,
            Some(expected.len()),
            "{text} {access:?} {filter:?}"
        );
        words_path +=
            usize::from(access.tickets == TicketAccess::All && filter.kinds != [DocKind::Faq]);
    }
    // Both paths were exercised.
    assert!((50..350).contains(&words_path), "{words_path}");
}

#[test]
fn a_searcher_changes_with_our_commits_not_when_the_files_do() {
    // Tantivy's background merges rewrite the index's segment list without changing a
    // document. The reader moves on only when we commit (or refresh): someone else's rewrite
    // of the list (here another handle's commit, as a merge would write it) neither shows nor
    // empties what is kept per searcher, such as the answers already given.
    let dir = tempfile::tempdir().unwrap();
    let ours = SearchIndex::open_or_create(dir.path()).unwrap();
    ours.set_answer_cache(100);
    {
        let mut w = ours.writer(32).unwrap();
        for d in two_faq_articles() {
            w.upsert(&d).unwrap();
        }
        w.commit(1).unwrap();
    }
    let staff = Access {
        tenant: "t".to_owned(),
        faq: FaqAccess::Published {
            audiences: vec!["staff".to_owned()],
        },
        tickets: TicketAccess::None,
    };
    let synonyms = Synonyms::defaults();
    let q = "パスワードを忘れた";
    let asked = ours
        .suggest_answers_with(q, &staff, &synonyms, Thresholds::default(), Marks::None)
        .unwrap();
    let kept = || {
        ours.cached_answers(q, &staff, &synonyms, Thresholds::default(), Marks::None)
            .map(|s| format!("{s:?}"))
    };
    assert_eq!(kept(), Some(format!("{asked:?}")));

    {
        let other = SearchIndex::open_or_create(dir.path()).unwrap();
        let mut w = other.writer(32).unwrap();
        w.upsert(&doc(
            DocKind::Faq,
            "vpn",
            "t",
            "VPNにつながらない",
            "再起動してください",
        ))
        .unwrap();
        w.commit(2).unwrap();
    }
    // Longer than tantivy's watch of the segment list (500 ms).
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    assert_eq!(ours.num_docs(), 2, "the same searcher");
    assert_eq!(kept(), Some(format!("{asked:?}")), "and what it keeps");

    ours.refresh().unwrap();
    assert_eq!(ours.num_docs(), 3);
    assert_eq!(kept(), None, "a new searcher starts afresh");
}
