//! BM25 statistics over one tenant's FAQ articles only.
//!
//! FAQ articles share the index with tickets, which outnumber them a hundred
//! or a thousand to one, and with other tenants' articles. With index-wide
//! statistics, a word's weight in an FAQ search would depend on how often
//! tickets use it, and answers would get worse as tickets pile up; a city's
//! answers would move when the board of education edits its own FAQ. A search
//! restricted to FAQ articles is therefore scored with statistics over the
//! tenant's FAQ articles alone, as if they had an index of their own.

use std::collections::HashMap;
use std::sync::Mutex;

use tantivy::{
    Searcher, Term,
    collector::{Count, DocSetCollector},
    query::{Bm25StatisticsProvider, BooleanQuery, Occur, Query, TermQuery},
    schema::{Field, IndexRecordOption},
};

pub(crate) struct ScopeStats<'a> {
    searcher: &'a Searcher,
    /// Terms every document counted has (its kind and its tenant).
    scope: [Term; 2],
    totals: std::sync::Arc<Totals>,
}

/// Document and token counts of a scope, for one FAQ generation, and the document
/// frequencies looked up so far (the same question words come back, and each look-up is an
/// intersection of two posting lists).
#[derive(Debug, Default)]
pub(crate) struct Totals {
    num_docs: u64,
    tokens: HashMap<Field, u64>,
    doc_freqs: Mutex<HashMap<Term, u64>>,
}

/// Document frequencies kept per generation; past this many the memo starts again.
const MEMO_TERMS: usize = 100_000;

impl<'a> ScopeStats<'a> {
    pub fn new(searcher: &'a Searcher, scope: [Term; 2], totals: std::sync::Arc<Totals>) -> Self {
        Self {
            searcher,
            scope,
            totals,
        }
    }

    pub fn num_docs(&self) -> u64 {
        self.totals.num_docs
    }
}

impl Totals {
    /// Counts the documents that have both terms of `scope`, and their tokens in `fields`.
    pub fn count(
        searcher: &Searcher,
        scope: &[Term; 2],
        fields: &[Field],
    ) -> tantivy::Result<Self> {
        let docs = searcher.search(&all_of(scope.iter().cloned()), &DocSetCollector)?;
        let mut tokens: HashMap<Field, u64> = HashMap::new();
        let mut readers = HashMap::new();
        for addr in &docs {
            let segment = searcher.segment_reader(addr.segment_ord);
            for &field in fields {
                let reader = match readers.entry((addr.segment_ord, field)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(segment.get_fieldnorms_reader(field)?)
                    }
                };
                *tokens.entry(field).or_default() += u64::from(reader.fieldnorm(addr.doc_id));
            }
        }
        Ok(Self {
            num_docs: docs.len() as u64,
            tokens,
            doc_freqs: Mutex::default(),
        })
    }
}

/// Documents with every one of `terms`.
fn all_of(terms: impl Iterator<Item = Term>) -> BooleanQuery {
    BooleanQuery::new(
        terms
            .map(|t| {
                (
                    Occur::Must,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)) as Box<dyn Query>,
                )
            })
            .collect(),
    )
}

impl Bm25StatisticsProvider for ScopeStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self.totals.tokens.get(&field) {
            Some(n) => Ok(*n),
            None => self.searcher.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.totals.num_docs.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let memo = || {
            self.totals
                .doc_freqs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(n) = memo().get(term) {
            return Ok(*n);
        }
        let all = all_of(std::iter::once(term.clone()).chain(self.scope.iter().cloned()));
        let n = self.searcher.search(&all, &Count)? as u64;
        let mut memo = memo();
        if memo.len() >= MEMO_TERMS {
            memo.clear();
        }
        memo.insert(term.clone(), n);
        Ok(n)
    }
}
