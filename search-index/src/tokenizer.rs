//! The analysis of [`crate::analysis`] as tantivy tokenizers.
//!
//! Each text is indexed several times (morph, bigram, and in the tenant-scoped `words` field);
//! the analyser runs once per text because the last few analyses are kept per thread and
//! tantivy indexes a document's fields one after the other on one thread.
//!
//! Highlighting analyses the texts of the hits shown, and the same few texts
//! come back again and again (the FAQ articles a chatbot answers with): its
//! tokenizers keep analyses in a small cache shared by all threads
//! ([`JapaneseTokenizer::highlighting`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::{cell::RefCell, collections::VecDeque, rc::Rc};

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::analysis::{Analysis, Term, analyze};

pub const MORPH: &str = "ja_morph";
pub const BIGRAM: &str = "ja_bigram";
pub const SCOPED: &str = "ja_scoped";

/// Texts analysed lately on this thread: a document's title, keywords and body, each indexed in
/// several fields.
const RECENT: usize = 8;

thread_local! {
    static RECENT_ANALYSES: RefCell<VecDeque<(String, Rc<Analysis>)>> = const { RefCell::new(VecDeque::new()) };
}

/// [`analyze`], remembering the last few texts analysed on this thread.
pub fn analyze_cached(text: &str) -> Rc<Analysis> {
    RECENT_ANALYSES.with(|recent| {
        let mut recent = recent.borrow_mut();
        if let Some((_, a)) = recent.iter().find(|(t, _)| t == text) {
            return Rc::clone(a);
        }
        let analysis = Rc::new(analyze(text));
        if recent.len() >= RECENT {
            recent.pop_front();
        }
        recent.push_back((text.to_owned(), Rc::clone(&analysis)));
        analysis
    })
}

/// Separates the scope from the word in a `words` term.
const SCOPE_SEPARATOR: char = '\u{1}';

/// A term of the `words` field (a word, morph term, inside one tenant's documents), and the
/// value indexed there (a text inside one tenant's documents, see [`ScopedTokenizer`]).
pub fn scoped_term(scope: &str, word: &str) -> String {
    let mut s = String::with_capacity(scope.len() + 1 + word.len());
    s.push_str(scope);
    s.push(SCOPE_SEPARATOR);
    s.push_str(word);
    s
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
    /// Analyses through [`analyze_shared`] instead of the per-thread recent texts.
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
}

/// An analysis from the per-thread or the shared cache.
enum Analysed {
    Local(Rc<Analysis>),
    Shared(Arc<Analysis>),
}

impl std::ops::Deref for Analysed {
    type Target = Analysis;
    fn deref(&self) -> &Analysis {
        match self {
            Analysed::Local(a) => a,
            Analysed::Shared(a) => a,
        }
    }
}

/// The morph or bigram terms of an analysis as tokens, one reused [`Token`] at a time (a
/// document's terms are not copied into a list of tokens first).
pub struct Terms<'a> {
    analysis: Option<Analysed>,
    bigram: bool,
    /// Written before each term, with [`SCOPE_SEPARATOR`] (see [`ScopedTokenizer`]).
    scope: Option<&'a str>,
    next: usize,
    token: Token,
}

impl<'a> Terms<'a> {
    fn new(analysis: Option<Analysed>, bigram: bool, scope: Option<&'a str>) -> Self {
        Self {
            analysis,
            bigram,
            scope,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for Terms<'_> {
    fn advance(&mut self) -> bool {
        let Some(analysis) = &self.analysis else {
            return false;
        };
        let terms: &[Term] = if self.bigram {
            &analysis.bigram
        } else {
            &analysis.morph
        };
        let Some(t) = terms.get(self.next) else {
            return false;
        };
        let token = &mut self.token;
        token.text.clear();
        if let Some(scope) = self.scope {
            token.text.push_str(scope);
            token.text.push(SCOPE_SEPARATOR);
        }
        token.text.push_str(&t.text);
        token.offset_from = t.from;
        token.offset_to = t.to;
        token.position = self.next;
        token.position_length = 1;
        self.next += 1;
        true
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = Terms<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms<'a> {
        let analysis = if self.shared {
            Analysed::Shared(analyze_shared(text))
        } else {
            Analysed::Local(analyze_cached(text))
        };
        Terms::new(Some(analysis), self.bigram, None)
    }
}

/// The morph terms of a text, each prefixed with a scope (the tenant): the value indexed and the
/// terms are both [`scoped_term`]s. A tenant's words are then posting lists of their own, which
/// a query reads without a tenant filter beside them: nothing else stops tantivy's block-max
/// pruning over them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScopedTokenizer;

impl Tokenizer for ScopedTokenizer {
    type TokenStream<'a> = Terms<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Terms<'a> {
        match text.split_once(SCOPE_SEPARATOR) {
            Some((scope, text)) => Terms::new(
                Some(Analysed::Local(analyze_cached(text))),
                false,
                Some(scope),
            ),
            None => Terms::new(None, false, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: JapaneseTokenizer, text: &str) -> Vec<(String, usize, usize)> {
        texts_of(t, text)
    }

    fn texts_of<T: Tokenizer>(mut t: T, text: &str) -> Vec<(String, usize, usize)> {
        let mut s = t.token_stream(text);
        let mut out = vec![];
        while s.advance() {
            let tok = s.token();
            out.push((tok.text.clone(), tok.offset_from, tok.offset_to));
        }
        out
    }

    #[test]
    fn scoped_tokens_are_the_morph_tokens_inside_their_tenant() {
        let text = "ﾌﾟﾘﾝﾀｰのトナーが切れました。";
        let expected: Vec<_> = texts(JapaneseTokenizer::morph(), text)
            .into_iter()
            .map(|(t, from, to)| (scoped_term("city", &t), from, to))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            texts_of(ScopedTokenizer, &scoped_term("city", text)),
            expected
        );
        assert_ne!(scoped_term("city", "トナー"), scoped_term("town", "トナー"));
        // A value without a scope indexes nothing rather than words of no tenant.
        assert!(texts_of(ScopedTokenizer, text).is_empty());
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
