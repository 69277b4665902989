//! Answering a question from the FAQ: the path the bots, `suggestedAnswers`
//! and `bench/faq-eval` share.
//!
//! The best articles come from [`SearchIndex::search`]; whether to answer is
//! decided from how much of the question the best article covers (its words,
//! directly or through a synonym, and its character bigrams) rather than from
//! raw BM25 scores, which do not compare across questions.

use std::collections::HashSet;

use crate::{
    analysis::analyze,
    document::{Access, DocKind, Filter},
    index::{AnalyzedQuery, Hit, Result, SearchIndex, SearchRequest},
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
}

/// Thresholds on coverage.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub answer: f32,
    pub choose: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { answer: 0.6, choose: 0.35 }
    }
}

impl SearchIndex {
    /// The FAQ articles that answer `text`, and whether to trust them.
    pub fn suggest_answers(&self, text: &str, access: &Access, synonyms: &Synonyms) -> Result<Suggestion> {
        self.suggest_answers_with(text, access, synonyms, Thresholds::default())
    }

    pub fn suggest_answers_with(
        &self,
        text: &str,
        access: &Access,
        synonyms: &Synonyms,
        thresholds: Thresholds,
    ) -> Result<Suggestion> {
        let q = AnalyzedQuery::new(text, synonyms)?;
        let filter = Filter { kinds: vec![DocKind::Faq], ..Filter::default() };
        let req = SearchRequest { text, access, filter: &filter, synonyms, limit: 3, offset: 0, highlight: true, facets: false };
        let hits = self.search_analyzed(&q, &req, &[])?.hits;
        let coverage = match hits.first() {
            Some(best) => self.coverage(&q, best)?,
            None => 0.0,
        };
        let confidence = if hits.is_empty() || coverage < thresholds.choose {
            Confidence::Decline
        } else if coverage >= thresholds.answer {
            Confidence::Answer
        } else {
            Confidence::Choose
        };
        let hits = if confidence == Confidence::Decline { Vec::new() } else { hits };
        Ok(Suggestion { confidence, hits, coverage })
    }

    /// How much of the question `hit` covers: the larger of the share of its
    /// words found (directly or through a synonym) and the share of its
    /// character bigrams found.
    pub fn coverage(&self, q: &AnalyzedQuery, hit: &Hit) -> Result<f32> {
        let Some((title, body)) = self.stored_text(hit.kind, &hit.id)? else { return Ok(0.0) };
        let keywords = self.stored_keywords(hit.kind, &hit.id)?;
        let doc = analyze(&format!("{title}\n{}\n{body}", keywords.join("\n")));
        let words: HashSet<&str> = doc.morph.iter().map(|t| t.text.as_str()).collect();
        let bigrams: HashSet<&str> = doc.bigram.iter().map(|t| t.text.as_str()).collect();
        let mut seen = HashSet::new();
        let (mut found, mut total) = (0usize, 0usize);
        for (i, t) in q.analysis.morph.iter().enumerate() {
            if !seen.insert(t.text.as_str()) {
                continue;
            }
            total += 1;
            let alternatives = q.alternatives.get(i).map(Vec::as_slice).unwrap_or(&[]);
            if words.contains(t.text.as_str()) || alternatives.iter().any(|a| words.contains(a.as_str())) {
                found += 1;
            }
        }
        let word_share = if total == 0 { 0.0 } else { found as f32 / total as f32 };
        let q_bigrams: HashSet<&str> = q.analysis.bigram.iter().map(|t| t.text.as_str()).collect();
        let bigram_share = if q_bigrams.is_empty() {
            0.0
        } else {
            q_bigrams.iter().filter(|b| bigrams.contains(*b)).count() as f32 / q_bigrams.len() as f32
        };
        Ok(word_share.max(bigram_share))
    }
}
