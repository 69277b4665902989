//! Japanese full-text search for the helpdesk: FAQ articles and tickets in one
//! tantivy index. This crate knows documents, analysis and queries; it knows
//! nothing of SeaORM, GraphQL or roles (the service turns an actor into an
//! [`Access`] filter).

pub mod analysis;
pub mod dictionary;
pub mod document;
pub mod faq;
pub mod index;
pub mod normalize;
mod stats;
pub mod synonyms;
pub mod tokenizer;
mod words;

pub use document::{Access, DocKind, Document, FaqAccess, Filter, TicketAccess};
pub use faq::{Confidence, Marks, Suggestion, Thresholds};
pub use index::{
    AnalyzedQuery, Facets, Highlight, Hit, MAX_LIMIT, MAX_QUERY_CHARS, SearchError, SearchIndex,
    SearchRequest, SearchResults, Weights, Writer,
};
pub use synonyms::Synonyms;
