//! BM25 statistics over FAQ articles only.
//!
//! FAQ articles share the index with tickets, which outnumber them a hundred
//! or a thousand to one. With index-wide statistics, a word's weight in an FAQ
//! search would depend on how often tickets use it, and answers would get worse
//! as tickets pile up. A search restricted to FAQ articles is therefore scored
//! with statistics over FAQ articles alone, as if they had an index of their own.

use std::collections::HashMap;
use std::sync::Mutex;

use tantivy::{
    Searcher, Term,
    collector::{Count, DocSetCollector},
    query::{Bm25StatisticsProvider, BooleanQuery, Occur, Query, TermQuery},
    schema::{Field, IndexRecordOption},
};

pub(crate) struct KindStats<'a> {
    searcher: &'a Searcher,
    kind: Term,
    totals: std::sync::Arc<Totals>,
}

/// Document and token counts of one kind, for one FAQ generation, and the document
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

impl<'a> KindStats<'a> {
    pub fn new(
        searcher: &'a Searcher,
        kind_field: Field,
        kind: &str,
        totals: std::sync::Arc<Totals>,
    ) -> Self {
        Self {
            searcher,
            kind: Term::from_field_text(kind_field, kind),
            totals,
        }
    }

    pub fn num_docs(&self) -> u64 {
        self.totals.num_docs
    }
}

impl Totals {
    /// Counts the documents whose `kind_field` is `kind`, and their tokens in `fields`.
    pub fn count(
        searcher: &Searcher,
        kind_field: Field,
        kind: &str,
        fields: &[Field],
    ) -> tantivy::Result<Self> {
        let kind = Term::from_field_text(kind_field, kind);
        let docs = searcher.search(
            &TermQuery::new(kind, IndexRecordOption::Basic),
            &DocSetCollector,
        )?;
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

impl Bm25StatisticsProvider for KindStats<'_> {
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
        let both: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(self.kind.clone(), IndexRecordOption::Basic)),
            ),
        ];
        let n = self.searcher.search(&BooleanQuery::new(both), &Count)? as u64;
        let mut memo = memo();
        if memo.len() >= MEMO_TERMS {
            memo.clear();
        }
        memo.insert(term.clone(), n);
        Ok(n)
    }
}
