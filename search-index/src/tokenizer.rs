//! The analysis of [`crate::analysis`] as tantivy tokenizers.
//!
//! Each text field is indexed twice (morph and bigram); the analyser runs once
//! per text because the last analysis is kept per thread and tantivy feeds a
//! document's fields one after the other.

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

#[derive(Clone, Copy, Debug)]
pub struct JapaneseTokenizer {
    bigram: bool,
}

impl JapaneseTokenizer {
    pub fn morph() -> Self {
        Self { bigram: false }
    }
    pub fn bigram() -> Self {
        Self { bigram: true }
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
        let analysis = analyze_cached(text);
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
