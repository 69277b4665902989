//! Parsed query documents, remembered by their text.
//!
//! Clients send the same few operations over and over (the console's ticket list, the
//! portals' "my tickets"); parsing one with async-graphql's PEG parser costs more than
//! copying its parsed form. A request whose text was parsed before gets a copy of that
//! document; async-graphql still checks it (nesting depth, directives, validation, depth and
//! complexity limits) as if it had parsed it itself. A text that does not parse is not
//! remembered: async-graphql parses it again and reports the error as usual.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;

/// Longest query text remembered, in bytes (larger ones are parsed every time).
const MAX_TEXT: usize = 16 * 1024;

/// A bounded map from query text to its parsed document, shared by all requests.
pub struct ParsedQueries {
    docs: Mutex<HashMap<Arc<str>, Arc<ExecutableDocument>>>,
    capacity: usize,
}

impl ParsedQueries {
    /// Remembers up to `capacity` documents; when full, it starts over (the operations a
    /// deployment's clients send are few, so it refills with them at once).
    pub fn new(capacity: usize) -> Self {
        Self {
            docs: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Gives `request` its parsed document when the text was seen before, parsing and
    /// remembering it otherwise.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_TEXT {
            return;
        }
        let known = self
            .docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(request.query.as_str())
            .cloned();
        let doc = match known {
            Some(doc) => doc,
            None => {
                let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
                    return;
                };
                let doc = Arc::new(doc);
                let mut docs = self.docs.lock().unwrap_or_else(PoisonError::into_inner);
                if docs.len() >= self.capacity {
                    docs.clear();
                }
                docs.insert(request.query.as_str().into(), Arc::clone(&doc));
                doc
            }
        };
        request.set_parsed_query(ExecutableDocument::clone(&doc));
    }
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self::new(512)
    }
}
