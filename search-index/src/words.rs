//! The words path: searches over tickets (an operator's search, similar tickets) on the
//! tenant-scoped `words` field.
//!
//! Every text of a document (title and keywords twice, for weight; the body once) is indexed
//! there as morph terms prefixed with the tenant ([`crate::tokenizer::ScopedTokenizer`]). A
//! query is then a plain intersection or union of term queries, with no tenant, kind, status or
//! date clause beside them: those are checked on fast fields for each candidate
//! ([`WordsTop`]), and tantivy's block-max WAND skips the blocks of postings that cannot reach
//! the page. Over a million tickets that is the difference between scoring every match and
//! scoring a few blocks.
//!
//! The FAQ answer path (80-odd articles, filtered by kind) keeps the per-field query with
//! bigrams and FAQ-only statistics: there the kind filter is what drives the search.

use std::collections::{BinaryHeap, HashMap};

use tantivy::{
    DocAddress, DocId, DocSet, Score, SegmentReader, TERMINATED,
    collector::{Collector, SegmentCollector},
    columnar::{Column, StrColumn},
    query::{
        BooleanQuery, BoostQuery, EnableScoring, Explanation, Occur, Query, Scorer, TermQuery,
        Weight,
    },
    schema::IndexRecordOption,
};

use crate::{
    document::{Access, DocKind, FaqAccess, Filter, TicketAccess},
    index::{AnalyzedQuery, FacetSegment, Facets, Fields, merge_facets},
    tokenizer::scoped_term,
};

/// A query's words as `words` terms: its concepts.
pub(crate) struct WordQuery {
    concepts: Vec<Concept>,
}

/// A word's term and its weight.
type Word = (tantivy::Term, Score);

/// A word of the query, or a phrase a synonym group knows: a document has it when it has every
/// word of one of its alternatives (the words typed; a word's parts, m and 365 of m365; each
/// other member of the synonym group, 共有ドライブ and ファイルサーバ for 共有フォルダ).
#[derive(Debug)]
struct Concept {
    alternatives: Vec<Vec<Word>>,
}

impl Concept {
    fn add(&mut self, words: Vec<Word>) {
        if !words.is_empty() && !self.alternatives.contains(&words) {
            self.alternatives.push(words);
        }
    }

    /// An alternative as a query: its word, or the intersection of its words.
    fn alternative(words: &[Word]) -> Box<dyn Query> {
        match words {
            [one] => WordQuery::term_query(one),
            words => Box::new(BooleanQuery::new(
                words
                    .iter()
                    .map(|w| (Occur::Must, WordQuery::term_query(w)))
                    .collect(),
            )),
        }
    }

    /// The concept on its own: a union of its alternatives (of terms only, for a word and
    /// its one-word synonyms: what tantivy prunes with block-max WAND).
    fn alone(&self) -> Box<dyn Query> {
        match self.alternatives.as_slice() {
            [one] => Self::alternative(one),
            alternatives => Box::new(BooleanQuery::new(
                alternatives
                    .iter()
                    .map(|a| (Occur::Should, Self::alternative(a)))
                    .collect(),
            )),
        }
    }

    /// The concept as clauses of an intersection: its words when it has one alternative (an
    /// intersection of terms stays one), else one [`AnyOfQuery`] over its alternatives.
    fn required(&self) -> Vec<Box<dyn Query>> {
        match self.alternatives.as_slice() {
            [one] => one.iter().map(WordQuery::term_query).collect(),
            alternatives => vec![Box::new(AnyOfQuery {
                parts: alternatives.iter().map(|a| Self::alternative(a)).collect(),
            })],
        }
    }
}

/// A word as typed (each once), with the parts of it the analyser also gave.
struct Typed<'q> {
    text: &'q str,
    from: usize,
    to: usize,
    parts: Vec<&'q str>,
}

impl WordQuery {
    /// `None` when the query has no words.
    pub(crate) fn new(
        fields: &Fields,
        q: &AnalyzedQuery,
        tenant: &str,
        synonym: Score,
    ) -> Option<Self> {
        let term = |w: &str| tantivy::Term::from_field_text(fields.words, &scoped_term(tenant, w));
        // The words, each once; parts of the word just before (m and 365 of m365) belong to
        // it (as in `SearchIndex::all_words_query`). `owner`: the typed word of each position.
        let morph = &q.analysis.morph;
        let mut typed: Vec<Typed<'_>> = Vec::new();
        let mut owner = vec![0; morph.len()];
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, t) in morph.iter().enumerate() {
            if let Some(&o) = seen.get(t.text.as_str()) {
                owner[i] = o;
                continue;
            }
            match typed.last_mut() {
                Some(w) if w.from <= t.from && t.to <= w.to => w.parts.push(&t.text),
                _ => typed.push(Typed {
                    text: &t.text,
                    from: t.from,
                    to: t.to,
                    parts: Vec::new(),
                }),
            }
            owner[i] = typed.len() - 1;
            seen.insert(&t.text, typed.len() - 1);
        }
        if typed.is_empty() {
            return None;
        }
        let base = |w: &Typed<'_>| {
            let mut c = Concept {
                alternatives: vec![vec![(term(w.text), 1.0)]],
            };
            c.add(w.parts.iter().map(|p| (term(p), 1.0)).collect());
            c
        };
        // Synonym matches, longest first; each typed word belongs to one concept.
        let mut phrases: Vec<&(Vec<usize>, Vec<Vec<String>>)> = q.phrases.iter().collect();
        phrases.sort_by_key(|(positions, _)| std::cmp::Reverse(positions.len()));
        let mut claimed = vec![false; typed.len()];
        let mut concepts: Vec<(usize, Concept)> = Vec::new();
        for (positions, others) in phrases {
            let mut owners: Vec<usize> = positions
                .iter()
                .filter_map(|&p| owner.get(p).copied())
                .collect();
            owners.sort_unstable();
            owners.dedup();
            if owners.is_empty() || owners.iter().any(|&o| claimed[o]) {
                continue;
            }
            let mut c = match owners.as_slice() {
                [one] => base(&typed[*one]),
                owners => Concept {
                    alternatives: vec![
                        owners.iter().map(|&o| (term(typed[o].text), 1.0)).collect(),
                    ],
                },
            };
            for words in others {
                c.add(words.iter().map(|w| (term(w), synonym)).collect());
            }
            for &o in &owners {
                claimed[o] = true;
            }
            concepts.push((owners[0], c));
        }
        for (o, w) in typed.iter().enumerate() {
            if !claimed[o] {
                concepts.push((o, base(w)));
            }
        }
        concepts.sort_by_key(|(o, _)| *o);
        Some(Self {
            concepts: concepts.into_iter().map(|(_, c)| c).collect(),
        })
    }

    fn term_query((term, weight): &Word) -> Box<dyn Query> {
        let q = Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
        if *weight == 1.0 {
            q
        } else {
            Box::new(BoostQuery::new(q, *weight))
        }
    }

    /// Documents with every concept: an intersection, of terms alone when every concept is one
    /// word (or one phrase), which tantivy prunes with block-max WAND; a single concept on its
    /// own (a union of terms, pruned too).
    pub(crate) fn every_word(&self) -> Box<dyn Query> {
        match self.concepts.as_slice() {
            [one] => one.alone(),
            concepts => Box::new(BooleanQuery::new(
                concepts
                    .iter()
                    .flat_map(Concept::required)
                    .map(|q| (Occur::Must, q))
                    .collect(),
            )),
        }
    }

    /// Documents with any concept, ranked by how much of the query they have: a union of
    /// every alternative (of terms alone when every alternative is one word, which tantivy
    /// prunes with block-max WAND).
    pub(crate) fn any_word(&self) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            self.concepts
                .iter()
                .flat_map(|c| &c.alternatives)
                .map(|a| (Occur::Should, Concept::alternative(a)))
                .collect(),
        ))
    }
}

/// A concept inside an intersection: documents with any of its alternatives, scored by the sum
/// of those they have, as a union would be. tantivy's union scorer refills a window of 4,096
/// documents on every seek past it, and an intersection seeks it for every candidate; this one
/// seeks each alternative where the target is.
#[derive(Debug)]
struct AnyOfQuery {
    parts: Vec<Box<dyn Query>>,
}

impl Clone for AnyOfQuery {
    fn clone(&self) -> Self {
        Self {
            parts: self.parts.iter().map(|p| p.box_clone()).collect(),
        }
    }
}

impl Query for AnyOfQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .parts
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(AnyOfWeight { weights }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        for part in &self.parts {
            part.query_terms(visitor);
        }
    }
}

struct AnyOfWeight {
    weights: Vec<Box<dyn Weight>>,
}

impl Weight for AnyOfWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorers = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let scorer = weight.scorer(reader, boost)?;
            if scorer.doc() != TERMINATED {
                scorers.push(scorer);
            }
        }
        let doc = scorers.iter().map(|s| s.doc()).min().unwrap_or(TERMINATED);
        Ok(Box::new(AnyOfScorer { scorers, doc }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} has none of the alternatives"
            )));
        }
        Ok(Explanation::new(
            "sum of the alternatives it has",
            scorer.score(),
        ))
    }
}

struct AnyOfScorer {
    scorers: Vec<Box<dyn Scorer>>,
    doc: DocId,
}

impl DocSet for AnyOfScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let current = self.doc;
        self.doc = TERMINATED;
        for s in &mut self.scorers {
            let d = if s.doc() == current {
                s.advance()
            } else {
                s.doc()
            };
            self.doc = self.doc.min(d);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        self.doc = TERMINATED;
        for s in &mut self.scorers {
            let d = if s.doc() < target {
                s.seek(target)
            } else {
                s.doc()
            };
            self.doc = self.doc.min(d);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.scorers
            .iter()
            .fold(0u32, |n, s| n.saturating_add(s.size_hint()))
    }

    fn cost(&self) -> u64 {
        self.scorers.iter().map(|s| s.cost()).sum()
    }
}

impl Scorer for AnyOfScorer {
    fn score(&mut self) -> Score {
        let doc = self.doc;
        self.scorers
            .iter_mut()
            .filter(|s| s.doc() == doc)
            .map(|s| s.score())
            .sum()
    }
}

/// Who and what a candidate must be: the caller's [`Access`] and [`Filter`] on fast fields,
/// minus the tenant (in the terms) and minus documents excluded by key.
pub(crate) struct Admit<'a> {
    pub fields: Fields,
    pub access: &'a Access,
    pub filter: &'a Filter,
    pub exclude: &'a [String],
}

impl Admit<'_> {
    fn for_segment(&self, segment: &SegmentReader) -> tantivy::Result<Option<SegmentAdmit>> {
        let ff = segment.fast_fields();
        let (Some(kind), Some(status)) = (ff.str("kind")?, ff.str("status")?) else {
            return Ok(None);
        };
        let ord = |column: &StrColumn, value: &str| -> tantivy::Result<Option<u64>> {
            Ok(column.dictionary().term_ord(value)?)
        };
        let kind_allowed =
            |k: DocKind| self.filter.kinds.is_empty() || self.filter.kinds.contains(&k);
        let ticket = if self.access.tickets == TicketAccess::All && kind_allowed(DocKind::Ticket) {
            ord(&kind, DocKind::Ticket.as_str())?
        } else {
            None
        };
        let (faq, faq_audiences) = match &self.access.faq {
            FaqAccess::None => (None, None),
            _ if !kind_allowed(DocKind::Faq) => (None, None),
            FaqAccess::All => (ord(&kind, DocKind::Faq.as_str())?, None),
            FaqAccess::Published { audiences } => (
                ord(&kind, DocKind::Faq.as_str())?,
                Some((ord(&status, "published")?, audiences)),
            ),
        };
        if ticket.is_none() && faq.is_none() {
            return Ok(None);
        }
        let audience = ff.str("audience")?;
        let category = ff.str("category")?;
        // A requested value absent from the segment matches nothing in it.
        let ords =
            |column: Option<&StrColumn>, values: &[String]| -> tantivy::Result<Option<Vec<u64>>> {
                if values.is_empty() {
                    return Ok(None);
                }
                let mut out = Vec::new();
                if let Some(c) = column {
                    for v in values {
                        out.extend(ord(c, v)?);
                    }
                }
                Ok(Some(out))
            };
        let faq_published = match faq_audiences {
            None => None,
            Some((published, audiences)) => Some(FaqPublished {
                published,
                audiences: ords(audience.as_ref(), audiences)?,
            }),
        };
        let statuses = ords(Some(&status), &self.filter.statuses)?;
        let audiences = ords(audience.as_ref(), &self.filter.audiences)?;
        let categories = ords(category.as_ref(), &self.filter.categories)?;
        let created = if self.filter.created_from.is_some() || self.filter.created_to.is_some() {
            Some(ff.date("created")?)
        } else {
            None
        };
        let mut excluded = Vec::new();
        if !self.exclude.is_empty() {
            let keys = segment.inverted_index(self.fields.key)?;
            for k in self.exclude {
                let term = tantivy::Term::from_field_text(self.fields.key, k);
                if let Some(mut postings) = keys.read_postings(&term, IndexRecordOption::Basic)? {
                    while postings.doc() != TERMINATED {
                        excluded.push(postings.doc());
                        postings.advance();
                    }
                }
            }
        }
        Ok(Some(SegmentAdmit {
            kind,
            status,
            audience,
            category,
            ticket,
            faq,
            faq_published,
            statuses,
            audiences,
            categories,
            created,
            from: self.filter.created_from.map(|d| d.timestamp()),
            to: self.filter.created_to.map(|d| d.timestamp()),
            excluded,
        }))
    }
}

/// Published articles for some audiences (a requester's view of the FAQ).
struct FaqPublished {
    published: Option<u64>,
    audiences: Option<Vec<u64>>,
}

/// [`Admit`] resolved to one segment's term ordinals.
struct SegmentAdmit {
    kind: StrColumn,
    status: StrColumn,
    audience: Option<StrColumn>,
    category: Option<StrColumn>,
    /// Ordinal of the kind `ticket` when tickets are admitted.
    ticket: Option<u64>,
    /// Ordinal of the kind `faq` when articles are admitted.
    faq: Option<u64>,
    faq_published: Option<FaqPublished>,
    statuses: Option<Vec<u64>>,
    audiences: Option<Vec<u64>>,
    categories: Option<Vec<u64>>,
    created: Option<Column<tantivy::DateTime>>,
    from: Option<i64>,
    to: Option<i64>,
    excluded: Vec<DocId>,
}

fn any_of(column: Option<&StrColumn>, doc: DocId, allowed: &[u64]) -> bool {
    column.is_some_and(|c| c.term_ords(doc).any(|o| allowed.contains(&o)))
}

impl SegmentAdmit {
    fn admits(&self, doc: DocId) -> bool {
        let Some(kind) = self.kind.ords().first(doc) else {
            return false;
        };
        let status = self.status.ords().first(doc);
        let visible = if Some(kind) == self.ticket {
            true
        } else if Some(kind) == self.faq {
            self.faq_published.as_ref().is_none_or(|p| {
                p.published.is_some()
                    && status == p.published
                    && p.audiences
                        .as_ref()
                        .is_none_or(|a| any_of(self.audience.as_ref(), doc, a))
            })
        } else {
            false
        };
        if !visible {
            return false;
        }
        if let Some(s) = &self.statuses
            && !status.is_some_and(|s0| s.contains(&s0))
        {
            return false;
        }
        if let Some(a) = &self.audiences
            && !any_of(self.audience.as_ref(), doc, a)
        {
            return false;
        }
        if let Some(c) = &self.categories
            && !any_of(self.category.as_ref(), doc, c)
        {
            return false;
        }
        if let Some(created) = &self.created {
            let Some(t) = created.first(doc).map(|d| d.into_timestamp_secs()) else {
                return false;
            };
            if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|to| t >= to) {
                return false;
            }
        }
        !self.excluded.contains(&doc)
    }
}

/// A min-heap entry: greater is better (higher score; on a tie, the lower doc id).
#[derive(Clone, Copy)]
struct Ranked(Score, DocId);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

/// The best `k` documents seen, and the score a document must beat to enter them.
struct Best {
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Ranked>>,
}

impl Best {
    fn push(&mut self, score: Score, doc: DocId) {
        let r = Ranked(score, doc);
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(r));
        } else if self.heap.peek().is_some_and(|w| r > w.0) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(r));
        }
    }

    fn threshold(&self) -> Score {
        match self.heap.peek() {
            Some(w) if self.heap.len() >= self.k => w.0.0,
            _ => Score::MIN,
        }
    }
}

/// The top `k` admitted documents by score, and when `count`, every admitted match counted
/// with facets. Without `count` the segment is searched with block-max pruning.
pub(crate) struct WordsTop<'a> {
    pub admit: Admit<'a>,
    pub k: usize,
    pub count: bool,
}

/// Top documents best first, the number of matches and facets (both when counted).
pub(crate) type WordsFruit = (Vec<(Score, DocAddress)>, usize, Facets);

pub(crate) struct WordsSegment {
    segment: u32,
    admit: Option<SegmentAdmit>,
    alive: Option<tantivy::fastfield::AliveBitSet>,
    best: Best,
    count: usize,
    facets: Option<FacetSegment>,
}

impl WordsSegment {
    fn admits(&self, doc: DocId) -> bool {
        self.alive.as_ref().is_none_or(|a| a.is_alive(doc))
            && self.admit.as_ref().is_some_and(|a| a.admits(doc))
    }
}

impl SegmentCollector for WordsSegment {
    type Fruit = WordsFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if !self.admits(doc) {
            return;
        }
        self.count += 1;
        if let Some(f) = &mut self.facets {
            f.collect(doc, score);
        }
        self.best.push(score, doc);
    }

    fn harvest(self) -> WordsFruit {
        let mut top: Vec<Ranked> = self.best.heap.into_iter().map(|r| r.0).collect();
        top.sort_by(|a, b| b.cmp(a));
        (
            top.into_iter()
                .map(|Ranked(s, d)| (s, DocAddress::new(self.segment, d)))
                .collect(),
            self.count,
            self.facets
                .map(SegmentCollector::harvest)
                .unwrap_or_default(),
        )
    }
}

impl Collector for WordsTop<'_> {
    type Fruit = WordsFruit;
    type Child = WordsSegment;

    fn for_segment(&self, segment: u32, reader: &SegmentReader) -> tantivy::Result<WordsSegment> {
        Ok(WordsSegment {
            segment,
            admit: self.admit.for_segment(reader)?,
            alive: reader.alive_bitset().cloned(),
            best: Best {
                k: self.k,
                heap: BinaryHeap::with_capacity(self.k.min(1024) + 1),
            },
            count: 0,
            facets: if self.count {
                Some(FacetSegment::for_segment(reader)?)
            } else {
                None
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<WordsFruit> {
        let mut seg = self.for_segment(segment_ord, reader)?;
        if seg.admit.is_none() {
            return Ok(seg.harvest());
        }
        if self.count {
            weight.for_each(reader, &mut |doc, score| seg.collect(doc, score))?;
        } else {
            // A rejected candidate leaves the threshold where it was.
            weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                if seg.admits(doc) {
                    seg.best.push(score, doc);
                }
                seg.best.threshold()
            })?;
        }
        Ok(seg.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<WordsFruit>) -> tantivy::Result<WordsFruit> {
        let mut top = Vec::new();
        let mut count = 0;
        let mut facets = Vec::new();
        for (t, c, f) in fruits {
            top.extend(t);
            count += c;
            facets.push(f);
        }
        top.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        top.truncate(self.k);
        Ok((top, count, merge_facets(facets)))
    }
}
