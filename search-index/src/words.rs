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

use std::collections::{BinaryHeap, HashSet};

use tantivy::{
    DocAddress, DocId, Score, SegmentReader,
    collector::{Collector, SegmentCollector},
    columnar::{Column, StrColumn},
    query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery, Weight},
    schema::IndexRecordOption,
};

use crate::{
    document::{Access, DocKind, FaqAccess, Filter, TicketAccess},
    index::{AnalyzedQuery, FacetSegment, Facets, Fields, merge_facets},
    tokenizer::scoped_term,
};

/// A query's words as `words` terms: one group per word (the word and what synonyms offer for
/// it, with their weights).
pub(crate) struct WordQuery {
    groups: Vec<Group>,
}

/// A word's terms and their weights.
type Group = Vec<(tantivy::Term, Score)>;

impl WordQuery {
    /// `None` when the query has no words.
    pub(crate) fn new(
        fields: &Fields,
        q: &AnalyzedQuery,
        tenant: &str,
        synonym: Score,
    ) -> Option<Self> {
        let term = |w: &str| tantivy::Term::from_field_text(fields.words, &scoped_term(tenant, w));
        let mut groups: Vec<((usize, usize), Group)> = Vec::new();
        let mut seen = HashSet::new();
        for (i, t) in q.analysis.morph.iter().enumerate() {
            if !seen.insert(t.text.as_str()) {
                continue;
            }
            let mut g = vec![(term(&t.text), 1.0)];
            for alt in q.alternatives.get(i).into_iter().flatten() {
                if alt != &t.text {
                    g.push((term(alt), synonym));
                }
            }
            // Parts of a word just before (m and 365 of m365) are alternatives, not words (as
            // in `SearchIndex::all_words_query`).
            match groups.last_mut() {
                Some((span, last)) if span.0 <= t.from && t.to <= span.1 => last.extend(g),
                _ => groups.push(((t.from, t.to), g)),
            }
        }
        let groups: Vec<_> = groups
            .into_iter()
            .map(|(_, mut g)| {
                let mut seen = HashSet::new();
                g.retain(|(t, _)| seen.insert(t.clone()));
                g
            })
            .collect();
        (!groups.is_empty()).then_some(Self { groups })
    }

    fn term_query((term, weight): &(tantivy::Term, Score)) -> Box<dyn Query> {
        let q = Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
        if *weight == 1.0 {
            q
        } else {
            Box::new(BoostQuery::new(q, *weight))
        }
    }

    fn union<'a>(terms: impl Iterator<Item = &'a (tantivy::Term, Score)>) -> BooleanQuery {
        BooleanQuery::new(
            terms
                .map(|t| (Occur::Should, Self::term_query(t)))
                .collect(),
        )
    }

    /// The queries to try in turn, a level at a time, until one level matches: documents with
    /// every word (or one of its synonyms); then, for up to [`MAX_SUBSET_WORDS`] words, those
    /// with all but one (any one), all but two, and so on down to single words. The first level
    /// that matches anything is the result: its documents have the most of the query's words
    /// any document has. Every query of a level is an intersection of words, which tantivy
    /// prunes with block-max WAND (a single word: a union of its terms, pruned too), and a
    /// document matches at most one query of the level it is found at (it has exactly that many
    /// of the words, or the level above would have matched).
    ///
    /// Past [`MAX_SUBSET_WORDS`] words, the level after every word is any word (a union).
    pub(crate) fn levels(&self) -> Vec<Vec<Box<dyn Query>>> {
        let n = self.groups.len();
        let all: Vec<&Group> = self.groups.iter().collect();
        let mut levels = vec![vec![Self::all_of(&all)]];
        if n > MAX_SUBSET_WORDS {
            levels.push(vec![self.any_word()]);
            return levels;
        }
        for size in (1..n).rev() {
            let level = (0u32..1 << n)
                .filter(|mask| mask.count_ones() as usize == size)
                .map(|mask| {
                    let subset: Vec<&Group> = (0..n)
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| &self.groups[i])
                        .collect();
                    Self::all_of(&subset)
                })
                .collect();
            levels.push(level);
        }
        levels
    }

    /// Documents with every word of `groups`. A single word is a union (of one term, or of the
    /// word and its synonyms), which tantivy prunes with block-max WAND; several single-term
    /// words are an intersection of term queries, which it prunes too.
    fn all_of(groups: &[&Group]) -> Box<dyn Query> {
        match groups {
            [one] => Box::new(Self::union(one.iter())),
            groups => Box::new(BooleanQuery::new(
                groups
                    .iter()
                    .map(|g| {
                        let q = match g.as_slice() {
                            [one] => Self::term_query(one),
                            g => Box::new(Self::union(g.iter())),
                        };
                        (Occur::Must, q)
                    })
                    .collect(),
            )),
        }
    }

    /// Documents with any word: a union of term queries.
    pub(crate) fn any_word(&self) -> Box<dyn Query> {
        Box::new(Self::union(self.groups.iter().flatten()))
    }
}

/// Most words in a query for which [`WordQuery::levels`] tries every subset of them: four
/// words take at most 1 + 4 + 6 + 4 queries, each cheap.
const MAX_SUBSET_WORDS: usize = 4;

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
            |column: &Option<StrColumn>, values: &[String]| -> tantivy::Result<Option<Vec<u64>>> {
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
                audiences: ords(&audience, audiences)?,
            }),
        };
        let statuses = ords(&Some(status.clone()), &self.filter.statuses)?;
        let audiences = ords(&audience, &self.filter.audiences)?;
        let categories = ords(&category, &self.filter.categories)?;
        let created = if self.filter.created_from.is_some() || self.filter.created_to.is_some() {
            Some(segment.fast_fields().date("created")?)
        } else {
            None
        };
        let mut excluded = Vec::new();
        if !self.exclude.is_empty() {
            let keys = segment.inverted_index(self.fields.key)?;
            for k in self.exclude {
                let term = tantivy::Term::from_field_text(self.fields.key, k);
                if let Some(mut postings) = keys.read_postings(&term, IndexRecordOption::Basic)? {
                    use tantivy::DocSet;
                    while postings.doc() != tantivy::TERMINATED {
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
