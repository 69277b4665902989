//! The analysis of [`crate::analysis`] as tantivy tokenizers.
//!
//! Each text field is indexed twice (morph and bigram); the analyser runs once
//! per text because the last analysis is kept per thread and tantivy feeds a
//! document's fields one after the other.
//!
//! Highlighting analyses the texts of the hits shown, and the same few texts
//! come back again and again (the FAQ articles a chatbot answers with): its
//! tokenizers keep analyses in a small cache shared by all threads
//! ([`JapaneseTokenizer::highlighting`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::{cell::RefCell, rc::Rc};

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::analysis::{Analysis, Term, analyze};

pub const MORPH: &str = "ja_morph";
pub const BIGRAM: &str = "ja_bigram";

thread_local! {
    static LAST: RefCell<(String, Rc<Analysis>)> = RefCell::new((String::new(), Rc::new(Analysis::default())));
}

/// [`analyze`], remembering the last text analysed on this thread.
pub fn analyze_cached(text: &str) -> Rc<Analysis> {
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != text {
            let analysis = Rc::new(analyze(text));
            last.0.clear();
            last.0.push_str(text);
            last.1 = analysis;
        }
        Rc::clone(&last.1)
    })
}

/// Analyses kept for highlighting, and the longest text kept.
const SHARED_ENTRIES: usize = 1024;
const SHARED_MAX_BYTES: usize = 8 * 1024;

static SHARED: Mutex<Option<HashMap<String, Arc<Analysis>>>> = Mutex::new(None);

/// [`analyze`], through the cache shared by the highlighting tokenizers (a text longer than
/// [`SHARED_MAX_BYTES`] is analysed and not kept; when the cache is full, an arbitrary entry
/// makes room).
pub fn analyze_shared(text: &str) -> Arc<Analysis> {
    let lock = || {
        SHARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(a) = lock().as_ref().and_then(|m| m.get(text)) {
        return Arc::clone(a);
    }
    let analysis = Arc::new(analyze(text));
    if text.len() <= SHARED_MAX_BYTES {
        let mut shared = lock();
        let map = shared.get_or_insert_with(HashMap::new);
        if map.len() >= SHARED_ENTRIES
            && let Some(k) = map.keys().next().cloned()
        {
            map.remove(&k);
        }
        map.insert(text.to_owned(), Arc::clone(&analysis));
    }
    analysis
}

#[derive(Clone, Copy, Debug)]
pub struct JapaneseTokenizer {
    bigram: bool,
    /// Analyses through [`analyze_shared`] instead of the per-thread last text.
    shared: bool,
}

impl JapaneseTokenizer {
    pub fn morph() -> Self {
        Self {
            bigram: false,
            shared: false,
        }
    }
    pub fn bigram() -> Self {
        Self {
            bigram: true,
            shared: false,
        }
    }
    /// The same tokens as [`Self::morph`] or [`Self::bigram`], for highlighting.
    pub fn highlighting(bigram: bool) -> Self {
        Self {
            bigram,
            shared: true,
        }
    }

    fn terms(&self, analysis: &Analysis) -> Terms {
        let terms: &[Term] = if self.bigram {
            &analysis.bigram
        } else {
            &analysis.morph
        };
        let tokens = terms
            .iter()
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: t.from,
                offset_to: t.to,
                position,
                text: t.text.clone(),
                position_length: 1,
            })
            .collect();
        Terms { tokens, next: 0 }
    }
}

pub struct Terms {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for Terms {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1)]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next.saturating_sub(1)]
    }
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = Terms;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms {
        if self.shared {
            self.terms(&analyze_shared(text))
        } else {
            self.terms(&analyze_cached(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(mut t: JapaneseTokenizer, text: &str) -> Vec<(String, usize, usize)> {
        let mut s = t.token_stream(text);
        let mut out = vec![];
        while s.advance() {
            let tok = s.token();
            out.push((tok.text.clone(), tok.offset_from, tok.offset_to));
        }
        out
    }

    #[test]
    fn highlighting_tokenizers_give_the_indexing_tokens_cached_or_not() {
        let text = "ﾌﾟﾘﾝﾀｰのトナーが切れました。サーバにつながりません。";
        for bigram in [false, true] {
            let indexing = if bigram {
                JapaneseTokenizer::bigram()
            } else {
                JapaneseTokenizer::morph()
            };
            let expected = texts(indexing, text);
            assert!(!expected.is_empty());
            // The first call analyses and keeps; the second comes from the shared cache.
            assert_eq!(
                texts(JapaneseTokenizer::highlighting(bigram), text),
                expected
            );
            assert_eq!(
                texts(JapaneseTokenizer::highlighting(bigram), text),
                expected
            );
        }
        assert!(Arc::ptr_eq(&analyze_shared(text), &analyze_shared(text)));
        // A text over the limit is analysed, not kept.
        let long = "サーバ".repeat(SHARED_MAX_BYTES / "サーバ".len() + 1);
        assert!(!Arc::ptr_eq(&analyze_shared(&long), &analyze_shared(&long)));
    }
}
