//! A filter "this keyword field holds one of these values", answered from the field's fast
//! column one candidate at a time instead of from its posting lists.
//!
//! Filters such as "status is resolved or closed" or "kind is ticket" hold most of the index:
//! as a union of term queries, every query decodes their whole posting lists. Checked against
//! the column, a filter costs one lookup for each document the words already matched. It is
//! never the side that drives an intersection (its size hint is the whole segment).

use tantivy::columnar::Column;
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// Documents whose fast keyword `field` holds any of `values`. Scores 0: a filter.
#[derive(Debug, Clone)]
pub(crate) struct FastSetQuery {
    field: String,
    values: Vec<String>,
}

impl FastSetQuery {
    pub(crate) fn new(field: &str, values: &[String]) -> Self {
        Self {
            field: field.to_owned(),
            values: values.to_vec(),
        }
    }
}

impl Query for FastSetQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for FastSetQuery {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some(column) = reader.fast_fields().str(&self.field)? else {
            return Ok(Box::new(EmptyScorer));
        };
        let mut allowed = Vec::with_capacity(self.values.len());
        for v in &self.values {
            if let Some(ord) = column.dictionary().term_ord(v.as_bytes())? {
                allowed.push(ord);
            }
        }
        if allowed.is_empty() {
            return Ok(Box::new(EmptyScorer));
        }
        let mut scorer = FastSetScorer {
            ords: column.ords().clone(),
            allowed,
            doc: 0,
            max_doc: reader.max_doc(),
        };
        scorer.doc = scorer.next_match(0);
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("FastSetQuery", 0.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}

struct FastSetScorer {
    ords: Column<u64>,
    allowed: Vec<u64>,
    doc: DocId,
    max_doc: DocId,
}

impl FastSetScorer {
    /// The first matching document at or after `from`.
    fn next_match(&self, from: DocId) -> DocId {
        (from..self.max_doc)
            .find(|&d| {
                self.ords
                    .values_for_doc(d)
                    .any(|o| self.allowed.contains(&o))
            })
            .unwrap_or(TERMINATED)
    }
}

impl DocSet for FastSetScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.next_match(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.next_match(target);
        }
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.max_doc
    }
}

impl Scorer for FastSetScorer {
    fn score(&mut self) -> Score {
        0.0
    }
}
