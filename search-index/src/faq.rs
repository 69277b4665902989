//! Answering a question from the FAQ: the path the bots, `suggestedAnswers`
//! and `bench/faq-eval` share.
//!
//! Candidates come from the index (BM25 over words and bigrams, synonyms
//! expanded); they are then re-ranked by **coverage**: how much of the
//! question each one accounts for, each word weighted by its rarity (IDF) and
//! counted when the article has it or one of its synonyms. A short question
//! whose every word an article has beats an article that repeats one of them
//! often. Whether to answer is decided on the best article's coverage, which,
//! unlike BM25 scores, compares across questions.

use std::collections::HashSet;

use tantivy::{Searcher, schema::Field};

use crate::{
    document::{Access, DocKind, Filter},
    index::{AnalyzedQuery, DocTerms, Hit, Result, SearchIndex, SearchRequest, TermSet},
    synonyms::Synonyms,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// Show the best article as the answer.
    Answer,
    /// Offer the top articles to choose from.
    Choose,
    /// Say honestly that no article fits, and offer a ticket.
    Decline,
}

#[derive(Debug, Clone)]
pub struct Suggestion {
    pub confidence: Confidence,
    /// Up to three articles, best first (empty when declining).
    pub hits: Vec<Hit>,
    /// Share of the question the best article covers, 0..1.
    pub coverage: f32,
    /// Every candidate considered, best first, with its final score.
    pub ranked: Vec<(String, f32)>,
}

/// Decision thresholds on coverage, and the weight of coverage against BM25
/// when re-ranking.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub answer: f32,
    pub choose: f32,
    pub coverage_weight: f32,
    /// What a word found only in the body counts, against one in the title or keywords.
    pub body_factor: f32,
    /// Share of bigram coverage in the blend with word coverage.
    pub bigram_mix: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            answer: 0.6,
            choose: 0.25,
            coverage_weight: 0.6,
            body_factor: 0.7,
            bigram_mix: 0.5,
        }
    }
}

/// Candidates re-ranked.
const CANDIDATES: usize = 20;

/// Whether the articles shown come with highlights (`<mark>`ed snippets): a console shows
/// them; a chat bot sends the article itself and needs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marks {
    Shown,
    None,
}

impl SearchIndex {
    /// The FAQ articles that answer `text`, and whether to trust them (with highlights).
    pub fn suggest_answers(
        &self,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
    ) -> Result<Suggestion> {
        self.suggest_answers_with(text, access, synonyms, Thresholds::default(), Marks::Shown)
    }

    /// As [`Self::suggest_answers`], with the thresholds and highlights chosen. The ranking
    /// and the decision do not depend on `marks`.
    pub fn suggest_answers_with(
        &self,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
        thresholds: Thresholds,
        marks: Marks,
    ) -> Result<Suggestion> {
        // One searcher throughout: the candidates' addresses are valid in it alone.
        let searcher = self.searcher();
        let key = self
            .answers
            .key(text, access, synonyms, thresholds, self.weights, marks);
        let generation = self.faq_generation.key(&searcher);
        if let Some(s) = self.answers.get(generation, key.as_ref()) {
            return Ok(Suggestion::clone(&s));
        }
        let s = self.answer(&searcher, text, access, synonyms, thresholds, marks)?;
        self.answers.put(generation, key, &s);
        Ok(s)
    }

    /// The answer [`Self::suggest_answers_with`] gave to the same question in the same scope
    /// and still holds, if the answer cache has it: a lookup, no search, cheap enough to run
    /// where a search could not (an async task), so that a question asked again needs no
    /// search thread either. Shared, not copied: a chat shows the three best of the twenty
    /// ranked.
    pub fn cached_answers(
        &self,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
        thresholds: Thresholds,
        marks: Marks,
    ) -> Option<std::sync::Arc<Suggestion>> {
        let key = self
            .answers
            .key(text, access, synonyms, thresholds, self.weights, marks)?;
        let generation = self.faq_generation.key(&self.searcher());
        self.answers.get(generation, Some(&key))
    }

    fn answer(
        &self,
        searcher: &Searcher,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
        thresholds: Thresholds,
        marks: Marks,
    ) -> Result<Suggestion> {
        let q = AnalyzedQuery::new(text, synonyms)?;
        let filter = Filter {
            kinds: vec![DocKind::Faq],
            ..Filter::default()
        };
        let req = SearchRequest {
            text,
            access,
            filter: &filter,
            synonyms,
            limit: CANDIDATES,
            offset: 0,
            highlight: false,
            count: false,
        };
        let top = self.top_faq(searcher, &q, &req)?;
        let weights = QueryWeights::new(searcher, self, &access.tenant, &q)?;
        let top_score = top.first().map_or(1.0, |h| h.0).max(f32::EPSILON);
        let mut scored = Vec::with_capacity(top.len());
        for (bm25, addr) in top {
            let c = self.candidate(searcher, addr)?;
            let coverage = weights.coverage(&q, &c.terms, &thresholds);
            let w = thresholds.coverage_weight;
            let score = w * coverage + (1.0 - w) * bm25 / top_score;
            scored.push((score, coverage, bm25, addr, c));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let coverage = scored.first().map_or(0.0, |s| s.1);
        let ranked = scored
            .iter()
            .map(|(s, _, _, _, c)| (c.hit.id.clone(), *s))
            .collect();
        let confidence = if scored.is_empty() || coverage < thresholds.choose {
            Confidence::Decline
        } else if coverage >= thresholds.answer {
            Confidence::Answer
        } else {
            Confidence::Choose
        };
        let mut shown: Vec<(Hit, _)> = if confidence == Confidence::Decline {
            Vec::new()
        } else {
            scored
                .into_iter()
                .take(3)
                .map(|(_, _, bm25, addr, c)| {
                    (
                        Hit {
                            score: bm25,
                            ..c.hit.clone()
                        },
                        addr,
                    )
                })
                .collect()
        };
        if marks == Marks::Shown {
            self.highlight(searcher, &q, &mut shown)?;
        }
        let hits = shown.into_iter().map(|(h, _)| h).collect();
        Ok(Suggestion {
            confidence,
            hits,
            coverage,
            ranked,
        })
    }
}

/// Answers already given, for one FAQ generation: the same question asked again in the
/// same scope gets the same answer without a search, as Solr's query result cache does. A
/// chat desk is asked the same words over and over: LINE rich menus and quick replies send
/// fixed texts, and on a morning when mail is down hundreds of staff type the same few
/// sentences. The key is everything the answer depends on (the text exactly as given, the
/// scope, the synonyms, thresholds, field weights and highlights); a new FAQ generation (a
/// commit that publishes, edits or withdraws an article; tickets committed change nothing an
/// answer depends on) empties the cache. Off (0 entries) unless
/// [`SearchIndex::set_answer_cache`] turns it on.
#[derive(Default)]
pub(crate) struct AnswerCache {
    capacity: std::sync::atomic::AtomicUsize,
    entries: std::sync::Mutex<(u64, HashMap<AnswerKey, std::sync::Arc<Suggestion>>)>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AnswerKey {
    text: String,
    access: Access,
    synonyms: u64,
    numbers: [u32; 12],
    marks: Marks,
}

impl AnswerCache {
    fn key(
        &self,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
        t: Thresholds,
        w: crate::index::Weights,
        marks: Marks,
    ) -> Option<AnswerKey> {
        use std::sync::atomic::Ordering;
        (self.capacity.load(Ordering::Relaxed) > 0).then(|| AnswerKey {
            text: text.to_owned(),
            access: access.clone(),
            synonyms: synonyms.fingerprint(),
            numbers: [
                t.answer,
                t.choose,
                t.coverage_weight,
                t.body_factor,
                t.bigram_mix,
                w.title,
                w.keywords,
                w.body,
                w.title_bi,
                w.keywords_bi,
                w.body_bi,
                w.synonym,
            ]
            .map(f32::to_bits),
            marks,
        })
    }

    /// `generation`: the FAQ generation of the searcher asking (`None`: too old to keep).
    fn get(
        &self,
        generation: Option<u64>,
        key: Option<&AnswerKey>,
    ) -> Option<std::sync::Arc<Suggestion>> {
        let (generation, key) = (generation?, key?);
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (entries.0 == generation)
            .then(|| entries.1.get(key).cloned())
            .flatten()
    }

    fn put(&self, generation: Option<u64>, key: Option<AnswerKey>, s: &Suggestion) {
        use std::sync::atomic::Ordering;
        let capacity = self.capacity.load(Ordering::Relaxed);
        let (Some(generation), Some(key)) = (generation, key.filter(|_| capacity > 0)) else {
            return;
        };
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Generations only grow; an answer from an older searcher is not kept.
        if entries.0 < generation {
            *entries = (generation, HashMap::default());
        }
        if entries.0 != generation {
            return;
        }
        if entries.1.len() >= capacity {
            // Full: start over rather than track recency. The questions asked most come back
            // within seconds.
            entries.1.clear();
        }
        entries.1.insert(key, std::sync::Arc::new(s.clone()));
    }

    pub(crate) fn set_capacity(&self, entries: usize) {
        use std::sync::atomic::Ordering;
        self.capacity.store(entries, Ordering::Relaxed);
        if entries == 0 {
            self.entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .1
                .clear();
        }
    }

    /// Answers held (tests).
    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .len()
    }
}

/// IDF of each query word and bigram over the tenant's FAQ articles.
struct QueryWeights {
    words: Vec<f32>,
    bigrams: Vec<(String, f32)>,
}

impl QueryWeights {
    fn new(
        searcher: &Searcher,
        index: &SearchIndex,
        tenant: &str,
        q: &AnalyzedQuery,
    ) -> Result<Self> {
        use tantivy::query::Bm25StatisticsProvider;
        let f = &index.fields;
        // Word weights among the tenant's FAQ articles, not among all the tickets.
        let stats = index.faq_stats(searcher, tenant)?;
        let n = stats.num_docs().max(1) as f32;
        let idf = |fields: &[Field], text: &str| -> Result<f32> {
            let mut df = 0u64;
            for &field in fields {
                df = df.max(stats.doc_freq(&tantivy::Term::from_field_text(field, text))?);
            }
            Ok((1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln())
        };
        let word_fields = [f.title, f.keywords, f.body];
        let bigram_fields = [f.title_bi, f.keywords_bi, f.body_bi];
        let words = q
            .analysis
            .morph
            .iter()
            .map(|t| idf(&word_fields, &t.text))
            .collect::<Result<_>>()?;
        let mut seen = HashSet::new();
        let bigrams = q
            .analysis
            .bigram
            .iter()
            .filter(|t| seen.insert(t.text.as_str()))
            .map(|t| Ok((t.text.clone(), idf(&bigram_fields, &t.text)?)))
            .collect::<Result<_>>()?;
        Ok(Self { words, bigrams })
    }

    /// IDF-weighted share of the question's words (or their synonyms) the
    /// document has, blended with the share of its bigrams; a term found only
    /// in the body counts `body_factor`.
    fn coverage(&self, q: &AnalyzedQuery, doc: &DocTerms, t: &Thresholds) -> f32 {
        // A question has a few dozen words at most.
        let mut seen: Vec<&str> = Vec::with_capacity(q.analysis.morph.len());
        let (mut found, mut total) = (0.0f32, 0.0f32);
        let has = |head: &TermSet, all: &TermSet, w: &str| {
            if head.contains(w) {
                1.0
            } else if all.contains(w) {
                t.body_factor
            } else {
                0.0
            }
        };
        for (i, term) in q.analysis.morph.iter().enumerate() {
            if seen.contains(&term.text.as_str()) {
                continue;
            }
            seen.push(&term.text);
            let weight = self.words[i];
            total += weight;
            let mut best = has(&doc.head_words, &doc.words, &term.text);
            for a in q.alternatives.get(i).into_iter().flatten() {
                best = best.max(has(&doc.head_words, &doc.words, a));
            }
            found += weight * best;
        }
        let words = if total > 0.0 { found / total } else { 0.0 };
        let total: f32 = self.bigrams.iter().map(|b| b.1).sum();
        let found: f32 = self
            .bigrams
            .iter()
            .map(|b| b.1 * has(&doc.head_bigrams, &doc.bigrams, &b.0))
            .sum();
        let bigrams = if total > 0.0 { found / total } else { 0.0 };
        if self.words.is_empty() {
            bigrams
        } else {
            (1.0 - t.bigram_mix) * words + t.bigram_mix * bigrams
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Document, FaqAccess, TicketAccess};

    const DEMO_FAQ: &str = include_str!("../../service/src/demo/faq.jsonl");

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
    }

    fn ticket(n: usize, tenant: &str, title: &str) -> Document {
        Document {
            kind: DocKind::Ticket,
            id: format!("{tenant}-{n}"),
            tenant: tenant.to_owned(),
            title: title.to_owned(),
            body: "朝から発生しています。至急対応をお願いします。".to_owned(),
            keywords: vec![],
            category: None,
            audience: vec![],
            status: "new".to_owned(),
            number: Some(format!("HD-2026-{n:06}")),
            requester: Some("p".to_owned()),
            vendors: vec![],
            created: at(),
            updated: at(),
        }
    }

    /// The demo FAQ's 80 articles, published in tenant `t`.
    fn articles() -> Vec<Document> {
        #[derive(serde::Deserialize)]
        struct Article {
            id: String,
            category: String,
            audience: Vec<String>,
            question: String,
            answer: String,
            #[serde(default)]
            keywords: Vec<String>,
        }
        DEMO_FAQ
            .lines()
            .map(|line| {
                let a: Article = serde_json::from_str(line).unwrap();
                Document {
                    kind: DocKind::Faq,
                    id: a.id.clone(),
                    tenant: "t".to_owned(),
                    title: a.question,
                    body: a.answer,
                    keywords: a.keywords,
                    category: Some(a.category),
                    audience: a.audience,
                    status: "published".to_owned(),
                    number: Some(a.id),
                    requester: None,
                    vendors: vec![],
                    created: at(),
                    updated: at(),
                }
            })
            .collect()
    }

    /// The demo FAQ and a ticket for each article, committed in a few commits (so in several
    /// segments, as a working index is).
    fn demo_index() -> SearchIndex {
        let index = SearchIndex::in_memory().unwrap();
        let mut w = index.writer(32).unwrap();
        for (n, a) in articles().iter().enumerate() {
            w.upsert(a).unwrap();
            w.upsert(&ticket(n, "t", "共有フォルダに接続できない"))
                .unwrap();
            if n % 20 == 19 {
                w.commit(n as i64).unwrap();
            }
        }
        w.commit(1_000).unwrap();
        index
    }

    fn staff() -> Access {
        Access {
            tenant: "t".to_owned(),
            faq: FaqAccess::Published {
                audiences: vec!["staff".to_owned()],
            },
            tickets: TicketAccess::None,
        }
    }

    /// Natural questions, and every article's own.
    fn questions() -> Vec<String> {
        let mut questions: Vec<String> = [
            "PWを忘れてしまった",
            "ぱすわーど忘れた",
            "プリンタが紙づまりしてる",
            "共有フォルダに接続できない",
            "HD-2026-000012 の状況は？",
            "faq-001",
            "ｗｉｆｉがつながらない",
            "Teamsの会議に入れません",
            "通勤手当の申請方法",
            "あいうえお",
        ]
        .map(str::to_owned)
        .to_vec();
        questions.extend(articles().into_iter().map(|a| a.title));
        questions
    }

    /// Segments without the tenant's FAQ articles (tickets alone, another tenant's documents)
    /// are passed over, and the answers are those of an index of the tenant's articles alone:
    /// neither tickets nor another tenant's articles weigh in the statistics.
    #[test]
    fn segments_without_the_tenants_articles_are_passed_over() {
        let alone = SearchIndex::in_memory().unwrap();
        let mut w = alone.writer(32).unwrap();
        for a in articles() {
            w.upsert(&a).unwrap();
        }
        w.commit(1).unwrap();

        let busy = SearchIndex::in_memory().unwrap();
        let mut w = busy.writer(32).unwrap();
        let mut n = 0;
        let mut tickets = |w: &mut crate::index::Writer, tenant: &str| {
            for _ in 0..50 {
                n += 1;
                w.upsert(&ticket(n, tenant, "パスワードを忘れてプリンターも動かない"))
                    .unwrap();
            }
            w.commit(n as i64).unwrap();
        };
        tickets(&mut w, "t");
        for a in articles() {
            w.upsert(&a).unwrap();
        }
        w.commit(100).unwrap();
        tickets(&mut w, "u");
        for mut a in articles().into_iter().take(60) {
            a.tenant = "u".to_owned();
            a.id = format!("u-{}", a.id);
            w.upsert(&a).unwrap();
        }
        w.commit(200).unwrap();
        tickets(&mut w, "t");
        let searcher = busy.searcher();
        let segments = searcher.segment_readers().len();
        assert!(segments >= 4, "{segments} segments");

        // The collector is run in the segments with the tenant's articles only.
        #[derive(Default)]
        struct Visits(std::sync::atomic::AtomicUsize);
        impl tantivy::collector::Collector for Visits {
            type Fruit = usize;
            type Child = <tantivy::collector::Count as tantivy::collector::Collector>::Child;
            fn for_segment(
                &self,
                ord: u32,
                segment: &tantivy::SegmentReader,
            ) -> tantivy::Result<Self::Child> {
                tantivy::collector::Count.for_segment(ord, segment)
            }
            fn requires_scoring(&self) -> bool {
                false
            }
            fn merge_fruits(&self, counts: Vec<usize>) -> tantivy::Result<usize> {
                Ok(counts.into_iter().sum())
            }
            fn collect_segment(
                &self,
                weight: &dyn tantivy::query::Weight,
                ord: u32,
                segment: &tantivy::SegmentReader,
            ) -> tantivy::Result<usize> {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tantivy::collector::Count.collect_segment(weight, ord, segment)
            }
        }
        let f = &busy.fields;
        let faq_in_t = crate::index::InSegmentsWith {
            terms: vec![
                tantivy::Term::from_field_text(f.tenant, "t"),
                tantivy::Term::from_field_text(f.kind, "faq"),
            ],
            inner: Visits::default(),
        };
        let found = searcher
            .search(&tantivy::query::AllQuery, &faq_in_t)
            .unwrap();
        let visited = faq_in_t.inner.0.into_inner();
        let with_articles = searcher
            .segment_readers()
            .iter()
            .filter(|s| {
                faq_in_t.terms.iter().all(|term| {
                    let index = s.inverted_index(term.field()).unwrap();
                    index.doc_freq(term).unwrap() > 0
                })
            })
            .count();
        assert_eq!(visited, with_articles);
        assert!(visited < segments);
        assert_eq!(
            found, 80,
            "every document of the segments visited: the articles"
        );

        let synonyms = Synonyms::defaults();
        let filter = Filter {
            kinds: vec![DocKind::Faq],
            ..Filter::default()
        };
        for q in questions() {
            // Every article that matches, with its score (the candidates are the first 20 of
            // these; which of those tied at the 20th is taken is the index's order, which the
            // segments' layout decides).
            let matches = |index: &SearchIndex| {
                let searcher = index.searcher();
                let req = SearchRequest {
                    text: &q,
                    access: &staff(),
                    filter: &filter,
                    synonyms: &synonyms,
                    limit: crate::index::MAX_LIMIT,
                    offset: 0,
                    highlight: false,
                    count: false,
                };
                let analysed = AnalyzedQuery::new(&q, &synonyms).unwrap();
                let mut found: Vec<(String, u32)> = index
                    .top_faq(&searcher, &analysed, &req)
                    .unwrap()
                    .into_iter()
                    .map(|(score, addr)| {
                        let c = index.candidate(&searcher, addr).unwrap();
                        (c.hit.id.clone(), score.to_bits())
                    })
                    .collect();
                found.sort_unstable();
                found
            };
            assert_eq!(matches(&busy), matches(&alone), "{q}");
        }
    }

    /// Leaving out the terms no FAQ article has changes no candidate and no score.
    #[test]
    fn terms_no_article_has_change_no_faq_score() {
        let index = demo_index();
        let searcher = index.searcher();
        assert!(searcher.segment_readers().len() > 1);
        let synonyms = Synonyms::defaults();
        let access = staff();
        let filter = Filter {
            kinds: vec![DocKind::Faq],
            ..Filter::default()
        };
        let questions = questions();
        let stats = index.faq_stats(&searcher, "t").unwrap();
        let (mut all, mut kept) = (0, 0);
        for text in &questions {
            let q = AnalyzedQuery::new(text, &synonyms).unwrap();
            let req = SearchRequest {
                text,
                access: &access,
                filter: &filter,
                synonyms: &synonyms,
                limit: CANDIDATES,
                offset: 0,
                highlight: false,
                count: false,
            };
            let every = match index.text_query(&q) {
                Some(text) => index.top(&searcher, text, &req, &[]).unwrap().docs,
                None => vec![],
            };
            let fewer = index.top_faq(&searcher, &q, &req).unwrap();
            let bits = |d: &[(f32, tantivy::DocAddress)]| -> Vec<(u32, tantivy::DocAddress)> {
                d.iter().map(|(s, a)| (s.to_bits(), *a)).collect()
            };
            assert_eq!(bits(&fewer), bits(&every), "{text}");
            index.text_query_where(&q, |term| {
                use tantivy::query::Bm25StatisticsProvider;
                all += 1;
                kept += usize::from(stats.doc_freq(term).unwrap() > 0);
                true
            });
        }
        // Even with every article's own question among them, a quarter of the terms go.
        assert!(kept * 4 < all * 3, "{kept} of {all} terms kept");
    }
}
