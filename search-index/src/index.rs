//! The tantivy index: schema, writing, searching, highlighting and facets.

use std::{collections::HashMap, ops::Bound, path::Path};

use chrono::{DateTime, Utc};
use tantivy::{
    DocAddress, DocId, Index, IndexReader, ReloadPolicy, Score, Searcher, SegmentReader,
    TantivyDocument,
    collector::{Collector, Count, SegmentCollector, TopDocs},
    columnar::StrColumn,
    directory::MmapDirectory,
    index::SegmentId,
    query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery},
    schema::{
        DateOptions, DateTimePrecision, Field, IndexRecordOption, STORED, STRING, Schema,
        TextFieldIndexing, TextOptions, Value,
    },
    snippet::SnippetGenerator,
    tokenizer::TextAnalyzer,
};

use crate::{
    analysis::{Analysis, analyze},
    document::{Access, DocKind, Document, FaqAccess, Filter, TicketAccess, key},
    normalize::normalize,
    synonyms::Synonyms,
    tokenizer::{BIGRAM, JapaneseTokenizer, MORPH, SCOPED, ScopedTokenizer, scoped_term},
    words::{Admit, WordQuery, WordsTop},
};

type Clause = (Occur, Box<dyn Query>);

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// Most hits returned in one page.
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("検索語が長すぎます（{max}文字まで）")]
    QueryTooLong { max: usize },
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub key: Field,
    pub kind: Field,
    pub id: Field,
    pub tenant: Field,
    pub number: Field,
    pub category: Field,
    pub audience: Field,
    pub status: Field,
    pub requester: Field,
    pub vendor: Field,
    pub created: Field,
    pub updated: Field,
    pub title: Field,
    pub title_bi: Field,
    pub keywords: Field,
    pub keywords_bi: Field,
    pub body: Field,
    pub body_bi: Field,
    /// Title, keywords and body as words of one tenant (see `crate::words`).
    pub words: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let facet = STRING | STORED | tantivy::schema::FAST;
    let text = |tokenizer: &str, stored: bool| {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqs);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let date = DateOptions::default()
        .set_indexed()
        .set_fast()
        .set_stored()
        .set_precision(DateTimePrecision::Seconds);
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", facet.clone()),
        id: b.add_text_field("id", STRING | STORED),
        tenant: b.add_text_field("tenant", STRING | tantivy::schema::FAST),
        number: b.add_text_field("number", STRING | STORED),
        category: b.add_text_field("category", facet.clone()),
        audience: b.add_text_field("audience", facet.clone()),
        status: b.add_text_field("status", facet),
        requester: b.add_text_field("requester", STRING),
        vendor: b.add_text_field("vendor", STRING),
        created: b.add_date_field("created", date.clone()),
        updated: b.add_date_field("updated", date),
        title: b.add_text_field("title", text(MORPH, true)),
        title_bi: b.add_text_field("title_bi", text(BIGRAM, false)),
        keywords: b.add_text_field("keywords", text(MORPH, true)),
        keywords_bi: b.add_text_field("keywords_bi", text(BIGRAM, false)),
        body: b.add_text_field("body", text(MORPH, true)),
        body_bi: b.add_text_field("body_bi", text(BIGRAM, false)),
        words: b.add_text_field("words", text(SCOPED, false)),
    };
    (b.build(), fields)
}

/// Documents are kept sorted by tenant, in every segment and through merges: a tenant's
/// documents are one run of doc ids, so a query (always scoped to one tenant) stops reading a
/// posting list where the tenant's run ends instead of walking every tenant's postings.
fn settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        sort_by_field: Some(tantivy::IndexSortByField {
            field: "tenant".to_owned(),
            order: tantivy::Order::Asc,
        }),
        ..tantivy::IndexSettings::default()
    }
}

/// How much a match in each field counts. Morph terms are words; bigram terms
/// are for recall and count less.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub title: f32,
    pub keywords: f32,
    pub body: f32,
    pub title_bi: f32,
    pub keywords_bi: f32,
    pub body_bi: f32,
    /// Factor for terms added by synonyms.
    pub synonym: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            title: 3.0,
            keywords: 2.0,
            body: 1.0,
            title_bi: 1.0,
            keywords_bi: 0.7,
            body_bi: 0.3,
            synonym: 0.8,
        }
    }
}

/// The index and a reader. Cheap to share behind an `Arc`; one [`Writer`] at a time.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    pub(crate) fields: Fields,
    pub weights: Weights,
    /// FAQ candidates' stored fields and analysed terms, for re-ranking, by segment and
    /// document (a segment never changes; merges make new ones, and the entries of segments
    /// merged away are dropped when there are `CANDIDATES_KEPT`).
    candidates: std::sync::Mutex<HashMap<(SegmentId, DocId), std::sync::Arc<Candidate>>>,
    /// Since which searcher generation FAQ articles are as they are now.
    pub(crate) faq_generation: std::sync::Arc<FaqGeneration>,
    /// FAQ document and token counts by tenant, for one FAQ generation.
    faq_totals: std::sync::Mutex<Option<(u64, TenantTotals)>>,
    /// FAQ answers already given, for one FAQ generation (off unless turned on).
    pub(crate) answers: crate::faq::AnswerCache,
}

/// Each tenant's FAQ document and token counts.
type TenantTotals = HashMap<String, std::sync::Arc<crate::stats::Totals>>;

/// FAQ candidates kept (see `SearchIndex::candidates`): more than a desk's FAQ has articles
/// (a few hundred), each some tens of kilobytes of analysed terms.
const CANDIDATES_KEPT: usize = 2_048;

/// The searcher generation of the last commit that added, changed or removed an FAQ article.
///
/// What the FAQ answer path keeps (answers, FAQ statistics) depends on FAQ articles alone, and
/// tickets are committed far more often than articles: on a working desk every few seconds, as
/// mail and chats open and update them. Keyed by the searcher generation, all of it would be
/// thrown away with every ticket; keyed by this, only when an article changes.
#[derive(Debug, Default)]
pub(crate) struct FaqGeneration(std::sync::atomic::AtomicU64);

impl FaqGeneration {
    /// The key under which what is known about FAQ articles in `searcher` is kept: the
    /// generation since which articles are as they are now, when `searcher` is that recent;
    /// `None` for an older searcher (what it finds is not kept).
    pub(crate) fn key(&self, searcher: &Searcher) -> Option<u64> {
        let since = self.0.load(std::sync::atomic::Ordering::SeqCst);
        (searcher.generation().generation_id() >= since).then_some(since)
    }

    /// Called after `reader` was reloaded with a commit that changed FAQ articles: its
    /// searcher is the first of the new FAQ generation.
    fn changed(&self, reader: &IndexReader) {
        let now = reader.searcher().generation().generation_id();
        self.0.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A set of analysed terms. The FAQ answer path looks each word and bigram of a question up
/// in the sets of 20 candidates (about a thousand look-ups a question); foldhash instead of
/// SipHash, since the sets are built from the tenant's own articles, never from a query.
pub(crate) type TermSet = std::collections::HashSet<String, foldhash::fast::RandomState>;

/// A document's words and bigrams (title, keywords and body).
#[derive(Debug, Default)]
pub(crate) struct DocTerms {
    /// In the title or keywords.
    pub head_words: TermSet,
    pub head_bigrams: TermSet,
    /// Anywhere, body included.
    pub words: TermSet,
    pub bigrams: TermSet,
}

/// A document as the FAQ answer path re-ranks it: its hit (without score or highlights) and
/// its analysed terms.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub hit: Hit,
    pub terms: DocTerms,
}

/// The top documents of a search, before their hits are built.
pub(crate) struct Top {
    pub docs: Vec<(Score, DocAddress)>,
    pub has_more: bool,
    pub total: Option<usize>,
    pub facets: Facets,
}

/// A page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// Whether more hits follow this page.
    pub has_more: bool,
    /// Number of matching documents in scope, when counted (`SearchRequest::count`).
    pub total: Option<usize>,
    /// Counts by kind, category, status and audience, when counted.
    pub facets: Facets,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: DocKind,
    pub id: String,
    pub score: f32,
    pub title: String,
    pub number: Option<String>,
    pub category: Option<String>,
    pub status: String,
    /// HTML-escaped, matches in `<mark>`. Title first, then body.
    pub highlights: Vec<Highlight>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub field: &'static str,
    pub html: String,
}

/// Counts of matching documents per value, largest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub kinds: Vec<(String, u64)>,
    pub categories: Vec<(String, u64)>,
    pub statuses: Vec<(String, u64)>,
    pub audiences: Vec<(String, u64)>,
}

/// One search.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub text: &'a str,
    pub access: &'a Access,
    pub filter: &'a Filter,
    pub synonyms: &'a Synonyms,
    pub limit: usize,
    pub offset: usize,
    pub highlight: bool,
    /// Count every match and compute facets (costs a pass over all matches).
    pub count: bool,
}

/// The words of a query, analysed once.
#[derive(Debug, Clone, Default)]
pub struct AnalyzedQuery {
    pub analysis: Analysis,
    pub expansion: Analysis,
    /// For each word of `analysis.morph`, the words synonyms offer for it.
    pub alternatives: Vec<Vec<String>>,
    /// Each synonym match: the positions in `analysis.morph` it covers, and the other members
    /// of its group, each as its words.
    pub phrases: Vec<(Vec<usize>, Vec<Vec<String>>)>,
    /// A ticket number in the query, normalised (hd-2026-000123).
    pub number: Option<String>,
}

impl AnalyzedQuery {
    pub fn new(text: &str, synonyms: &Synonyms) -> Result<Self> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong {
                max: MAX_QUERY_CHARS,
            });
        }
        let analysis = analyze(text);
        let words = analysis.morph_texts();
        let mut alternatives = vec![Vec::new(); words.len()];
        // Synonym words come analysed from the synonym set; only words (not
        // bigrams) of synonyms are searched, so no analysis is needed here.
        let mut expansion = Analysis::default();
        let mut phrases = Vec::new();
        for m in synonyms.matches(&words) {
            phrases.push((
                m.positions.clone(),
                m.other_words.iter().map(|w| w.to_vec()).collect(),
            ));
            let alt: Vec<&String> = m.other_words.iter().flat_map(|w| w.iter()).collect();
            for &p in &m.positions {
                alternatives[p].extend(alt.iter().map(|w| (*w).clone()));
            }
            for w in alt {
                if !expansion.morph.iter().any(|t| &t.text == w) {
                    expansion.morph.push(crate::analysis::Term {
                        text: w.clone(),
                        from: 0,
                        to: 0,
                    });
                }
            }
        }
        Ok(Self {
            analysis,
            expansion,
            alternatives,
            phrases,
            number: ticket_number(text),
        })
    }
}

/// Finds `HD-2026-000123` (any prefix of letters) in free text.
fn ticket_number(text: &str) -> Option<String> {
    let n = normalize(text).text;
    n.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find_map(|w| {
            let mut parts = w.split('-');
            let (p, y, s) = (parts.next()?, parts.next()?, parts.next()?);
            let ok = parts.next().is_none()
                && !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_alphabetic())
                && y.len() == 4
                && y.bytes().all(|b| b.is_ascii_digit())
                && s.len() >= 4
                && s.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| w.to_owned())
        })
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if needed.
    ///
    /// An index written with another schema (an older version of this crate)
    /// is removed and created afresh: the index is never the source of truth,
    /// and an empty one is rebuilt from the database on start.
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, _) = schema();
        let opened = Index::builder()
            .schema(schema.clone())
            .settings(settings())
            .open_or_create(MmapDirectory::open(dir)?);
        let stale = match opened {
            Ok(index) if index.settings().sort_by_field == settings().sort_by_field => {
                return Self::from_index(index);
            }
            Ok(_) => "its documents are not sorted by tenant".to_owned(),
            Err(tantivy::TantivyError::SchemaError(e)) => e,
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(dir = %dir.display(), reason = %stale, "search index has an old format; recreating it");
        std::fs::remove_dir_all(dir)?;
        std::fs::create_dir_all(dir)?;
        Self::from_index(
            Index::builder()
                .schema(schema)
                .settings(settings())
                .open_or_create(MmapDirectory::open(dir)?)?,
        )
    }

    /// An index in memory (tests, the FAQ evaluation).
    pub fn in_memory() -> Result<Self> {
        Self::from_index(
            Index::builder()
                .schema(schema().0)
                .settings(settings())
                .create_in_ram()?,
        )
    }

    fn from_index(index: Index) -> Result<Self> {
        index
            .tokenizers()
            .register(MORPH, JapaneseTokenizer::morph());
        index
            .tokenizers()
            .register(BIGRAM, JapaneseTokenizer::bigram());
        index.tokenizers().register(SCOPED, ScopedTokenizer);
        // Reloaded by our own commits (`Writer::commit`) and `refresh`, not when tantivy's
        // background merges rewrite the segment list: a merge changes no document. The merged
        // segments are picked up with the next commit.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let (_, fields) = schema();
        Ok(Self {
            index,
            reader,
            fields,
            weights: Weights::default(),
            candidates: Default::default(),
            faq_generation: Default::default(),
            faq_totals: Default::default(),
            answers: Default::default(),
        })
    }

    /// A writer with `memory_mb` of indexing memory and up to two threads.
    pub fn writer(&self, memory_mb: usize) -> Result<Writer> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(2);
        let budget = (memory_mb.max(16) * 1_000_000).max(threads * 15_000_000);
        let inner = self.index.writer_with_num_threads(threads, budget)?;
        Ok(Writer {
            fields: self.fields,
            reader: self.reader.clone(),
            faq_generation: std::sync::Arc::clone(&self.faq_generation),
            faq_changed: false,
            inner,
        })
    }

    /// The payload of the last commit: the id of the last outbox row indexed.
    pub fn committed_position(&self) -> Result<Option<i64>> {
        Ok(self
            .index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok()))
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// BM25 statistics over the tenant's FAQ articles alone (see `stats`).
    /// Counted once per FAQ generation.
    pub(crate) fn faq_stats<'s>(
        &self,
        searcher: &'s Searcher,
        tenant: &str,
    ) -> Result<crate::stats::ScopeStats<'s>> {
        use std::sync::{Arc, PoisonError};
        let f = &self.fields;
        let scope = [
            tantivy::Term::from_field_text(f.kind, DocKind::Faq.as_str()),
            tantivy::Term::from_field_text(f.tenant, tenant),
        ];
        let generation = self.faq_generation.key(searcher);
        let cached = {
            let cache = self
                .faq_totals
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            cache
                .as_ref()
                .filter(|(g, _)| Some(*g) == generation)
                .and_then(|(_, t)| t.get(tenant).map(Arc::clone))
        };
        let totals = match cached {
            Some(t) => t,
            None => {
                let fields = [
                    f.title,
                    f.title_bi,
                    f.keywords,
                    f.keywords_bi,
                    f.body,
                    f.body_bi,
                ];
                let t = Arc::new(crate::stats::Totals::count(searcher, &scope, &fields)?);
                if let Some(generation) = generation {
                    let mut cache = self
                        .faq_totals
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    // Generations only grow: counts from an older one are not kept.
                    if cache.as_ref().is_none_or(|(g, _)| *g < generation) {
                        *cache = Some((generation, HashMap::new()));
                    }
                    if let Some((g, tenants)) = cache.as_mut()
                        && *g == generation
                    {
                        tenants.insert(tenant.to_owned(), Arc::clone(&t));
                    }
                }
                t
            }
        };
        Ok(crate::stats::ScopeStats::new(searcher, scope, totals))
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// A candidate's hit and analysed terms, read from the document store once: the FAQ answer
    /// path ranks 20 candidates a question, mostly the same ones.
    pub(crate) fn candidate(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Result<std::sync::Arc<Candidate>> {
        use std::sync::{Arc, PoisonError};
        let at = (
            searcher.segment_reader(addr.segment_ord).segment_id(),
            addr.doc_id,
        );
        if let Some(c) = self
            .candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&at)
        {
            return Ok(Arc::clone(c));
        }
        let doc: TantivyDocument = searcher.doc(addr)?;
        let mut terms = DocTerms::default();
        let f = &self.fields;
        for field in [f.title, f.keywords, f.body] {
            for v in doc.get_all(field) {
                let a = analyze(v.as_str().unwrap_or_default());
                if field != f.body {
                    terms
                        .head_words
                        .extend(a.morph.iter().map(|t| t.text.clone()));
                    terms
                        .head_bigrams
                        .extend(a.bigram.iter().map(|t| t.text.clone()));
                }
                terms.words.extend(a.morph.into_iter().map(|t| t.text));
                terms.bigrams.extend(a.bigram.into_iter().map(|t| t.text));
            }
        }
        let c = Arc::new(Candidate {
            hit: self.hit_of(&doc, 0.0, None),
            terms,
        });
        let mut cache = self
            .candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CANDIDATES_KEPT {
            // Those of segments merged away first; if that is not enough, all.
            let live: std::collections::HashSet<SegmentId> = (searcher.segment_readers().iter())
                .map(SegmentReader::segment_id)
                .collect();
            cache.retain(|(segment, _), _| live.contains(segment));
            if cache.len() >= CANDIDATES_KEPT {
                cache.clear();
            }
        }
        cache.insert(at, Arc::clone(&c));
        Ok(c)
    }

    /// Keeps up to `entries` FAQ answers until an FAQ article changes, so that a
    /// question asked again in the same scope is answered without a search (0 turns it off,
    /// the default). See [`crate::faq`]'s answer cache.
    pub fn set_answer_cache(&self, entries: usize) {
        self.answers.set_capacity(entries);
    }

    /// FAQ answers held in the answer cache.
    pub fn answers_cached(&self) -> usize {
        self.answers.len()
    }

    /// Moves to the latest commit (our writer's commits do this themselves; this is for
    /// commits made through another handle).
    pub fn refresh(&self) -> Result<()> {
        self.reader.reload()?;
        // Another handle's commits may have changed anything.
        self.faq_generation.changed(&self.reader);
        Ok(())
    }

    fn scope(&self, access: &Access, filter: &Filter) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let term = |field: Field, v: &str| tantivy::Term::from_field_text(field, v);
        let filter_q = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
        };
        let one = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(term(field, v), IndexRecordOption::Basic))
        };
        // A union of term queries rather than a TermSetQuery: it is iterated
        // lazily, where a TermSetQuery builds a bitset of every match first.
        let any = |field: Field, vs: &[String]| -> Box<dyn Query> {
            match vs {
                [one] => Box::new(TermQuery::new(term(field, one), IndexRecordOption::Basic)),
                _ => Box::new(BooleanQuery::new(
                    vs.iter()
                        .map(|v| {
                            (
                                Occur::Should,
                                Box::new(TermQuery::new(term(field, v), IndexRecordOption::Basic))
                                    as Box<dyn Query>,
                            )
                        })
                        .collect(),
                )),
            }
        };

        let mut out = vec![filter_q(one(f.tenant, &access.tenant))];
        // What this actor may see: FAQ articles and tickets, each or none.
        let mut visible: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let faq = match &access.faq {
            FaqAccess::None => None,
            FaqAccess::All => Some(vec![(Occur::Must, one(f.kind, "faq"))]),
            FaqAccess::Published { audiences } => {
                let mut c = vec![
                    (Occur::Must, one(f.kind, "faq")),
                    (Occur::Must, one(f.status, "published")),
                ];
                if !audiences.is_empty() {
                    c.push((Occur::Must, any(f.audience, audiences)));
                }
                Some(c)
            }
        };
        let tickets = match &access.tickets {
            TicketAccess::None
            | TicketAccess::Limited {
                requested_by: None,
                escalated_to: None,
            } => None,
            TicketAccess::All => Some(vec![(Occur::Must, one(f.kind, "ticket"))]),
            TicketAccess::Limited {
                requested_by,
                escalated_to,
            } => {
                let mut whose: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                if let Some(p) = requested_by {
                    whose.push((Occur::Should, one(f.requester, p)));
                }
                if let Some(v) = escalated_to {
                    whose.push((Occur::Should, one(f.vendor, v)));
                }
                Some(vec![
                    (Occur::Must, one(f.kind, "ticket")),
                    (Occur::Must, Box::new(BooleanQuery::new(whose))),
                ])
            }
        };
        for clauses in [faq, tickets].into_iter().flatten() {
            visible.push((Occur::Should, Box::new(BooleanQuery::new(clauses))));
        }
        if visible.is_empty() {
            // Sees nothing: a filter that matches no document.
            out.push(filter_q(one(f.kind, "")));
        } else {
            out.push(filter_q(Box::new(BooleanQuery::new(visible))));
        }
        if !filter.kinds.is_empty() {
            let kinds: Vec<String> = filter.kinds.iter().map(|k| k.as_str().to_owned()).collect();
            out.push(filter_q(any(f.kind, &kinds)));
        }
        for (field, values) in [
            (f.category, &filter.categories),
            (f.audience, &filter.audiences),
            (f.status, &filter.statuses),
        ] {
            if !values.is_empty() {
                out.push(filter_q(any(field, values)));
            }
        }
        if filter.created_from.is_some() || filter.created_to.is_some() {
            let bound = |d: Option<DateTime<Utc>>, inclusive: bool| match d {
                None => Bound::Unbounded,
                Some(d) => {
                    let t = tantivy::Term::from_field_date(
                        f.created,
                        tantivy::DateTime::from_timestamp_secs(d.timestamp()),
                    );
                    if inclusive {
                        Bound::Included(t)
                    } else {
                        Bound::Excluded(t)
                    }
                }
            };
            let range = RangeQuery::new(
                bound(filter.created_from, true),
                bound(filter.created_to, false),
            );
            out.push(filter_q(Box::new(range)));
        }
        out
    }

    /// The scoring part of a query: every analysed word in every field.
    pub(crate) fn text_query(&self, q: &AnalyzedQuery) -> Option<Box<dyn Query>> {
        self.text_query_where(q, |_| true)
    }

    /// [`Self::text_query`] with the terms `keep` accepts (a term is a word in a field).
    pub(crate) fn text_query_where(
        &self,
        q: &AnalyzedQuery,
        mut keep: impl FnMut(&tantivy::Term) -> bool,
    ) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let w = &self.weights;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // A bigram that is also a word of the query adds nothing the word does not.
        let words: std::collections::HashSet<&str> =
            q.analysis.morph.iter().map(|t| t.text.as_str()).collect();
        for (analysis, factor) in [(&q.analysis, 1.0), (&q.expansion, w.synonym)] {
            let morph = [
                (f.title, w.title),
                (f.keywords, w.keywords),
                (f.body, w.body),
            ];
            let bigram = [
                (f.title_bi, w.title_bi),
                (f.keywords_bi, w.keywords_bi),
                (f.body_bi, w.body_bi),
            ];
            // Synonyms add words, not their bigrams: bigrams are for recall on
            // what the person typed.
            let bigrams: &[crate::analysis::Term] =
                if factor < 1.0 { &[] } else { &analysis.bigram };
            for (terms, fields) in [(analysis.morph.as_slice(), morph), (bigrams, bigram)] {
                for t in terms {
                    if fields[0].0 == f.title_bi && words.contains(t.text.as_str()) {
                        continue;
                    }
                    for (field, weight) in fields {
                        if weight <= 0.0 || !seen.insert((field, t.text.as_str())) {
                            continue;
                        }
                        let term = tantivy::Term::from_field_text(field, &t.text);
                        if !keep(&term) {
                            continue;
                        }
                        let tq = TermQuery::new(term, IndexRecordOption::WithFreqs);
                        clauses.push((
                            Occur::Should,
                            Box::new(BoostQuery::new(Box::new(tq), weight * factor)),
                        ));
                    }
                }
            }
        }
        if let Some(n) = &q.number {
            let term = tantivy::Term::from_field_text(f.number, n);
            if keep(&term) {
                let tq = TermQuery::new(term, IndexRecordOption::Basic);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), 50.0))));
            }
        }
        (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>)
    }

    /// Every word of the query must match (in some field, directly, through a
    /// synonym, or by its bigrams); bigrams of leftover kana only add to the
    /// score. `None` when the query has no words.
    pub(crate) fn all_words_query(&self, q: &AnalyzedQuery) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let w = &self.weights;
        let clause = |field: Field, text: &str, weight: f32| -> (Occur, Box<dyn Query>) {
            let tq = TermQuery::new(
                tantivy::Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            );
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(tq), weight)),
            )
        };
        let morph = [
            (f.title, w.title),
            (f.keywords, w.keywords),
            (f.body, w.body),
        ];
        let bigram = [
            (f.title_bi, w.title_bi),
            (f.keywords_bi, w.keywords_bi),
            (f.body_bi, w.body_bi),
        ];
        // (span of the word in the query, its clauses)
        let mut groups: Vec<((usize, usize), Vec<Clause>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut used = vec![false; q.analysis.bigram.len()];
        for (i, t) in q.analysis.morph.iter().enumerate() {
            if !seen.insert(t.text.as_str()) {
                continue;
            }
            let mut g = Vec::new();
            for (field, weight) in morph {
                g.push(clause(field, &t.text, weight));
            }
            for alt in q.alternatives.get(i).into_iter().flatten() {
                for (field, weight) in morph {
                    g.push(clause(field, alt, weight * w.synonym));
                }
            }
            for (j, b) in q.analysis.bigram.iter().enumerate() {
                if b.from < t.to && t.from < b.to && b.text != t.text {
                    used[j] = true;
                    for (field, weight) in bigram {
                        g.push(clause(field, &b.text, weight));
                    }
                }
            }
            // Parts of a word just before (m and 365 of m365) are alternatives, not words.
            match groups.last_mut() {
                Some((span, last)) if span.0 <= t.from && t.to <= span.1 => last.extend(g),
                _ => groups.push(((t.from, t.to), g)),
            }
        }
        if groups.is_empty() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = groups
            .into_iter()
            .map(|(_, g)| {
                (
                    Occur::Must,
                    Box::new(BooleanQuery::new(g)) as Box<dyn Query>,
                )
            })
            .collect();
        let mut seen_bigrams = std::collections::HashSet::new();
        for (j, b) in q.analysis.bigram.iter().enumerate() {
            if !used[j] && seen_bigrams.insert(b.text.as_str()) {
                for (field, weight) in bigram {
                    clauses.push(clause(field, &b.text, weight));
                }
            }
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// Searches. Every word must match; when no document has them all, any
    /// word may (ranked by how much matches). A ticket number finds its ticket.
    /// An empty or all-symbol query has no results.
    pub fn search(&self, req: &SearchRequest<'_>) -> Result<SearchResults> {
        let q = AnalyzedQuery::new(req.text, req.synonyms)?;
        if let Some(words) = self.word_query(&q, req) {
            // Every word, else any word, on the tenant's words; when no word matches, every
            // word matched directly or by its bigrams in the per-field query (words the
            // analyser splits otherwise in the documents, typos).
            for query in [words.every_word(), words.any_word()] {
                if let Some(results) = self.run_words(&*query, &q, req, &[])? {
                    return Ok(results);
                }
            }
            return match self.all_words_query(&q) {
                Some(all) => self.run(all, req, &[]),
                None => self.search_analyzed(&q, req, &[]),
            };
        }
        if q.number.is_none()
            && let Some(all) = self.all_words_query(&q)
        {
            let results = self.run(all.box_clone(), req, &[])?;
            // An empty first page means nothing matches; a later page may be
            // empty only because the matches ended before it.
            if !results.hits.is_empty() || (req.offset > 0 && self.any_match(all, req)?) {
                return Ok(results);
            }
            // No document has every word: any word may match. Words only: the
            // bigrams of a union over a large index cost more than they find.
            let words = AnalyzedQuery {
                analysis: Analysis {
                    bigram: Vec::new(),
                    ..q.analysis.clone()
                },
                ..q.clone()
            };
            return self.search_analyzed(&words, req, &[]);
        }
        self.search_analyzed(&q, req, &[])
    }

    /// The words path for this request, when it applies (see `crate::words`): a search over
    /// the tenant's tickets by someone who sees them all, without a ticket number. The FAQ
    /// answer path, requesters and vendors (whose own tickets are few) keep the per-field query.
    fn word_query(&self, q: &AnalyzedQuery, req: &SearchRequest<'_>) -> Option<WordQuery> {
        if q.number.is_some() || req.access.tickets != TicketAccess::All || Self::faq_only(req) {
            return None;
        }
        WordQuery::new(&self.fields, q, &req.access.tenant, self.weights.synonym)
    }

    /// A search over FAQ articles alone, scored with FAQ-only statistics.
    fn faq_only(req: &SearchRequest<'_>) -> bool {
        req.filter.kinds == [DocKind::Faq] || req.access.tickets == TicketAccess::None
    }

    /// A page of the words path: `query` on the `words` field, scope and filters checked on
    /// fast fields for each candidate. `None` when nothing in scope matches.
    fn run_words(
        &self,
        query: &dyn Query,
        q: &AnalyzedQuery,
        req: &SearchRequest<'_>,
        exclude: &[String],
    ) -> Result<Option<SearchResults>> {
        let searcher = self.reader.searcher();
        let limit = req.limit.clamp(1, MAX_LIMIT);
        let collector = WordsTop {
            admit: Admit {
                fields: self.fields,
                access: req.access,
                filter: req.filter,
                exclude,
            },
            // One more than asked: whether another page follows.
            k: req.offset.saturating_add(limit + 1),
            count: req.count,
        };
        let (top, total, facets) = searcher.search(query, &collector)?;
        if top.is_empty() {
            return Ok(None);
        }
        // A later page may be empty only because the matches ended before it.
        let mut top: Vec<_> = top.into_iter().skip(req.offset).collect();
        let has_more = top.len() > limit;
        top.truncate(limit);
        let generators = match self.text_query(q) {
            Some(text) if req.highlight => Some(self.snippet_generators(&searcher, &*text)?),
            _ => None,
        };
        let hits = top
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, score, addr, generators.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(SearchResults {
            hits,
            has_more,
            total: req.count.then_some(total),
            facets,
        }))
    }

    /// Whether anything in scope matches `text` (past the requested page or not).
    fn any_match(&self, text: Box<dyn Query>, req: &SearchRequest<'_>) -> Result<bool> {
        let mut clauses = self.scope(req.access, req.filter);
        clauses.push((Occur::Must, text));
        let top = self.reader.searcher().search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(1).order_by_score(),
        )?;
        Ok(!top.is_empty())
    }

    /// Searches with any word matching (the FAQ answer path and similar tickets).
    pub(crate) fn search_analyzed(
        &self,
        q: &AnalyzedQuery,
        req: &SearchRequest<'_>,
        exclude: &[String],
    ) -> Result<SearchResults> {
        match self.text_query(q) {
            Some(text) => self.run(text, req, exclude),
            None => Ok(SearchResults {
                total: req.count.then_some(0),
                ..SearchResults::default()
            }),
        }
    }

    fn run(
        &self,
        text: Box<dyn Query>,
        req: &SearchRequest<'_>,
        exclude: &[String],
    ) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let generators = if req.highlight {
            Some(self.snippet_generators(&searcher, &*text)?)
        } else {
            None
        };
        let top = self.top(&searcher, text, req, exclude)?;
        let hits = top
            .docs
            .into_iter()
            .map(|(score, addr)| self.hit(&searcher, score, addr, generators.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(SearchResults {
            hits,
            has_more: top.has_more,
            total: top.total,
            facets: top.facets,
        })
    }

    /// The top documents for `text` in the request's scope, without building their hits.
    pub(crate) fn top(
        &self,
        searcher: &Searcher,
        text: Box<dyn Query>,
        req: &SearchRequest<'_>,
        exclude: &[String],
    ) -> Result<Top> {
        let mut clauses = self.scope(req.access, req.filter);
        clauses.push((Occur::Must, text));
        for key in exclude {
            let t = tantivy::Term::from_field_text(self.fields.key, key);
            clauses.push((
                Occur::MustNot,
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let limit = req.limit.clamp(1, MAX_LIMIT);
        // One more than asked: whether another page follows.
        let top = TopDocs::with_limit(limit + 1)
            .and_offset(req.offset)
            .order_by_score();
        let faq_only = Self::faq_only(req);
        let faq_stats;
        let stats: &dyn tantivy::query::Bm25StatisticsProvider = if faq_only {
            faq_stats = self.faq_stats(searcher, &req.access.tenant)?;
            &faq_stats
        } else {
            searcher
        };
        // Every match is the tenant's, and an FAQ article when only those are in scope.
        let f = &self.fields;
        let mut required = vec![tantivy::Term::from_field_text(f.tenant, &req.access.tenant)];
        if faq_only {
            required.push(tantivy::Term::from_field_text(
                f.kind,
                DocKind::Faq.as_str(),
            ));
        }
        let (mut docs, total, facets) = if req.count {
            let (top, total, facets) = searcher.search_with_statistics_provider(
                &query,
                &InSegmentsWith {
                    terms: required,
                    inner: (top, Count, FacetCollector),
                },
                stats,
            )?;
            (top, Some(total), facets)
        } else {
            (
                searcher.search_with_statistics_provider(
                    &query,
                    &InSegmentsWith {
                        terms: required,
                        inner: top,
                    },
                    stats,
                )?,
                None,
                Facets::default(),
            )
        };
        let has_more = docs.len() > limit;
        docs.truncate(limit);
        Ok(Top {
            docs,
            has_more,
            total,
            facets,
        })
    }

    /// Adds highlights to hits found without them, at their addresses in `searcher` (the FAQ
    /// answer path ranks 20 candidates and shows three: highlighting costs a tokenization of
    /// each document, so only the shown ones are).
    pub(crate) fn highlight(
        &self,
        searcher: &Searcher,
        q: &AnalyzedQuery,
        hits: &mut [(Hit, DocAddress)],
    ) -> Result<()> {
        let Some(text) = self.text_query(q) else {
            return Ok(());
        };
        if hits.is_empty() {
            return Ok(());
        }
        let generators = self.snippet_generators(searcher, &*text)?;
        for (h, addr) in hits.iter_mut() {
            h.highlights = self
                .hit(searcher, h.score, *addr, Some(&generators))?
                .highlights;
        }
        Ok(())
    }

    /// The top FAQ articles of an any-word search for `q` (see [`Self::search_analyzed`]), for
    /// a request limited to FAQ articles. The terms no FAQ article has are left out: they
    /// match no article and add to no score (the ranking is the same), but each would cost a
    /// look-up and a scorer in every segment, and most of a question's terms are such (its
    /// bigrams across word boundaries; a title's or keywords' field lacks most words).
    pub(crate) fn top_faq(
        &self,
        searcher: &Searcher,
        q: &AnalyzedQuery,
        req: &SearchRequest<'_>,
    ) -> Result<Vec<(Score, DocAddress)>> {
        use tantivy::query::Bm25StatisticsProvider;
        debug_assert!(Self::faq_only(req), "a search over FAQ articles alone");
        let stats = self.faq_stats(searcher, &req.access.tenant)?;
        // A failed count keeps the term.
        let text = self.text_query_where(q, |term| !matches!(stats.doc_freq(term), Ok(0)));
        match text {
            Some(text) => Ok(self.top(searcher, text, req, &[])?.docs),
            None => Ok(vec![]),
        }
    }

    fn snippet_generators(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> Result<[SnippetGenerator; 4]> {
        // As `SnippetGenerator::create`, with the highlighting tokenizers (their analyses are
        // shared across searches: the same articles come back again and again).
        let make = |field: Field, chars: usize| -> Result<SnippetGenerator> {
            let mut terms = std::collections::BTreeSet::new();
            query.query_terms(&mut |term, _| {
                if term.field() == field {
                    terms.insert(term.clone());
                }
            });
            let mut terms_text = std::collections::BTreeMap::new();
            for term in terms {
                let Some(text) = term.value().as_str().map(str::to_owned) else {
                    continue;
                };
                let doc_freq = searcher.doc_freq(&term)?;
                if doc_freq > 0 {
                    terms_text.insert(text, 1.0 / (1.0 + doc_freq as Score));
                }
            }
            let bigram = field == self.fields.title_bi || field == self.fields.body_bi;
            let tokenizer = TextAnalyzer::from(JapaneseTokenizer::highlighting(bigram));
            Ok(SnippetGenerator::new(terms_text, tokenizer, field, chars))
        };
        let f = &self.fields;
        Ok([
            make(f.title, 200)?,
            make(f.title_bi, 200)?,
            make(f.body, 150)?,
            make(f.body_bi, 150)?,
        ])
    }

    fn hit(
        &self,
        searcher: &Searcher,
        score: Score,
        addr: DocAddress,
        generators: Option<&[SnippetGenerator; 4]>,
    ) -> Result<Hit> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        Ok(self.hit_of(&doc, score, generators))
    }

    fn hit_of(
        &self,
        doc: &TantivyDocument,
        score: Score,
        generators: Option<&[SnippetGenerator; 4]>,
    ) -> Hit {
        let f = &self.fields;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let title = text(f.title).unwrap_or_default();
        let mut highlights = Vec::new();
        if let Some([title_g, title_bi_g, body_g, body_bi_g]) = generators {
            let body = text(f.body).unwrap_or_default();
            for (name, stored, morph, bigram) in [
                ("title", &title, title_g, title_bi_g),
                ("body", &body, body_g, body_bi_g),
            ] {
                let mut snippet = morph.snippet(stored);
                if snippet.highlighted().is_empty() {
                    snippet = bigram.snippet(stored);
                }
                if snippet.highlighted().is_empty() {
                    continue;
                }
                snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                highlights.push(Highlight {
                    field: name,
                    html: snippet.to_html(),
                });
            }
        }
        Hit {
            kind: text(f.kind)
                .as_deref()
                .and_then(DocKind::parse)
                .unwrap_or(DocKind::Faq),
            id: text(f.id).unwrap_or_default(),
            score,
            title,
            number: text(f.number),
            category: text(f.category),
            status: text(f.status).unwrap_or_default(),
            highlights,
        }
    }

    /// Tickets like `text` (another ticket's title and description), except
    /// the document `exclude`.
    pub fn similar(
        &self,
        text: &str,
        exclude: &str,
        access: &Access,
        synonyms: &Synonyms,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let text: String = text.chars().take(400).collect();
        let q = AnalyzedQuery::new(&text, synonyms)?;
        let filter = Filter {
            kinds: vec![DocKind::Ticket],
            ..Filter::default()
        };
        let req = SearchRequest {
            text: &text,
            access,
            filter: &filter,
            synonyms,
            limit,
            offset: 0,
            highlight: true,
            count: false,
        };
        let exclude = [exclude.to_owned()];
        match self.word_query(&q, &req) {
            Some(words) => Ok(self
                .run_words(&*words.any_word(), &q, &req, &exclude)?
                .map(|r| r.hits)
                .unwrap_or_default()),
            None => Ok(self.search_analyzed(&q, &req, &exclude)?.hits),
        }
    }
}

/// Adds, replaces and deletes documents; nothing is visible before [`Writer::commit`].
pub struct Writer {
    fields: Fields,
    reader: IndexReader,
    faq_generation: std::sync::Arc<FaqGeneration>,
    /// Whether FAQ articles were added, replaced or deleted since the last commit.
    faq_changed: bool,
    inner: tantivy::IndexWriter,
}

impl Writer {
    /// Adds the document, replacing any earlier version with the same key.
    pub fn upsert(&mut self, doc: &Document) -> Result<()> {
        let f = &self.fields;
        let key = doc.key();
        self.faq_changed |= doc.kind == DocKind::Faq;
        self.inner
            .delete_term(tantivy::Term::from_field_text(f.key, &key));
        let mut d = TantivyDocument::new();
        d.add_text(f.key, &key);
        d.add_text(f.kind, doc.kind.as_str());
        d.add_text(f.id, &doc.id);
        d.add_text(f.tenant, &doc.tenant);
        if let Some(n) = &doc.number {
            d.add_text(f.number, normalize(n).text);
        }
        if let Some(c) = &doc.category {
            d.add_text(f.category, c);
        }
        for a in &doc.audience {
            d.add_text(f.audience, a);
        }
        d.add_text(f.status, &doc.status);
        if let Some(r) = &doc.requester {
            d.add_text(f.requester, r);
        }
        for v in &doc.vendors {
            d.add_text(f.vendor, v);
        }
        d.add_date(
            f.created,
            tantivy::DateTime::from_timestamp_secs(doc.created.timestamp()),
        );
        d.add_date(
            f.updated,
            tantivy::DateTime::from_timestamp_secs(doc.updated.timestamp()),
        );
        // Same text fed to both fields in a row: analysed once.
        d.add_text(f.title, &doc.title);
        d.add_text(f.title_bi, &doc.title);
        for k in &doc.keywords {
            d.add_text(f.keywords, k);
            d.add_text(f.keywords_bi, k);
        }
        d.add_text(f.body, &doc.body);
        d.add_text(f.body_bi, &doc.body);
        // The same texts as the tenant's words, title and keywords counted twice (each
        // analysed once: see `tokenizer::analyze_cached`).
        let title = scoped_term(&doc.tenant, &doc.title);
        d.add_text(f.words, &title);
        d.add_text(f.words, &title);
        for k in &doc.keywords {
            let k = scoped_term(&doc.tenant, k);
            d.add_text(f.words, &k);
            d.add_text(f.words, &k);
        }
        d.add_text(f.words, scoped_term(&doc.tenant, &doc.body));
        self.inner.add_document(d)?;
        Ok(())
    }

    pub fn delete(&mut self, kind: DocKind, id: &str) {
        self.faq_changed |= kind == DocKind::Faq;
        self.inner.delete_term(tantivy::Term::from_field_text(
            self.fields.key,
            &key(kind, id),
        ));
    }

    pub fn delete_all(&mut self) -> Result<()> {
        self.faq_changed = true;
        self.inner.delete_all_documents()?;
        Ok(())
    }

    /// Commits, recording `position` (the last outbox id applied), and makes
    /// the changes visible to searches at once.
    pub fn commit(&mut self, position: i64) -> Result<()> {
        let mut prepared = self.inner.prepare_commit()?;
        prepared.set_payload(&position.to_string());
        prepared.commit()?;
        self.reader.reload()?;
        if std::mem::take(&mut self.faq_changed) {
            self.faq_generation.changed(&self.reader);
        }
        Ok(())
    }

    /// Waits for merges to finish (after a bulk load).
    pub fn finish(self) -> Result<()> {
        self.inner.wait_merging_threads()?;
        Ok(())
    }
}

/// Runs `inner` only in the segments that have every one of `terms` (terms every match
/// has: its tenant, and that it is an FAQ article in the FAQ answer path). tantivy builds the
/// scorer of each clause of a conjunction before it intersects them, so a segment of other
/// tenants' documents, or of tickets alone, would cost a look-up and a scorer for every word of
/// the query to find nothing; a working index has many such segments.
pub(crate) struct InSegmentsWith<C> {
    pub terms: Vec<tantivy::Term>,
    pub inner: C,
}

impl<C: Collector> Collector for InSegmentsWith<C> {
    type Fruit = C::Fruit;
    type Child = C::Child;

    fn check_schema(&self, schema: &Schema) -> tantivy::Result<()> {
        self.inner.check_schema(schema)
    }

    fn for_segment(&self, ord: u32, segment: &SegmentReader) -> tantivy::Result<C::Child> {
        self.inner.for_segment(ord, segment)
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<C::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<C::Fruit> {
        self.inner.merge_fruits(fruits)
    }

    fn collect_segment(
        &self,
        weight: &dyn tantivy::query::Weight,
        ord: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<<C::Child as SegmentCollector>::Fruit> {
        for term in &self.terms {
            // Counts deleted documents too: a segment is skipped only when none ever had it.
            if segment.inverted_index(term.field())?.doc_freq(term)? == 0 {
                return Ok(self.inner.for_segment(ord, segment)?.harvest());
            }
        }
        self.inner.collect_segment(weight, ord, segment)
    }
}

/// Counts matching documents per kind, category, status and audience.
struct FacetCollector;

pub(crate) struct FacetSegment {
    columns: Vec<Option<StrColumn>>,
    counts: Vec<HashMap<u64, u64>>,
}

impl FacetSegment {
    pub(crate) fn for_segment(segment: &SegmentReader) -> tantivy::Result<Self> {
        let columns = FACET_COLUMNS
            .iter()
            .map(|n| segment.fast_fields().str(n))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(FacetSegment {
            counts: vec![HashMap::new(); columns.len()],
            columns,
        })
    }
}

/// The fast fields counted as facets, in the order of [`Facets`]' lists.
const FACET_COLUMNS: [&str; 4] = ["kind", "category", "status", "audience"];

/// Sums facets counted per segment.
pub(crate) fn merge_facets(fruits: Vec<Facets>) -> Facets {
    let mut merged: [HashMap<String, u64>; 4] = Default::default();
    for fruit in fruits {
        for (i, list) in [
            fruit.kinds,
            fruit.categories,
            fruit.statuses,
            fruit.audiences,
        ]
        .into_iter()
        .enumerate()
        {
            for (k, n) in list {
                *merged[i].entry(k).or_default() += n;
            }
        }
    }
    let [kinds, categories, statuses, audiences] = merged.map(sorted);
    Facets {
        kinds,
        categories,
        statuses,
        audiences,
    }
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<FacetSegment> {
        FacetSegment::for_segment(segment)
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Facets>) -> tantivy::Result<Facets> {
        Ok(merge_facets(fruits))
    }
}

fn sorted(map: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl SegmentCollector for FacetSegment {
    type Fruit = Facets;

    fn collect(&mut self, doc: u32, _: Score) {
        for (column, counts) in self.columns.iter().zip(&mut self.counts) {
            if let Some(column) = column {
                for ord in column.term_ords(doc) {
                    *counts.entry(ord).or_default() += 1;
                }
            }
        }
    }

    fn harvest(self) -> Facets {
        let mut lists: Vec<Vec<(String, u64)>> = Vec::with_capacity(4);
        for (column, counts) in self.columns.iter().zip(self.counts) {
            let mut list = Vec::with_capacity(counts.len());
            if let Some(column) = column {
                for (ord, n) in counts {
                    let mut s = String::new();
                    if column.ord_to_str(ord, &mut s).unwrap_or(false) {
                        list.push((s, n));
                    }
                }
            }
            lists.push(list);
        }
        let mut it = lists.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Facets {
            kinds: next(),
            categories: next(),
            statuses: next(),
            audiences: next(),
        }
    }
}
