//! The errors a service function can return.

use sea_orm::DbErr;

/// A problem the caller can fix, reported against one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Input field path, e.g. `["input", "title"]`.
    pub field: Vec<String>,
    /// Japanese message for the person in front of the screen.
    pub message: String,
    /// Stable machine-readable code, e.g. `TOO_LONG`.
    pub code: &'static str,
}

impl UserError {
    /// Builds a user error for one field of the mutation input.
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: vec!["input".to_owned(), field.to_owned()],
            message: message.into(),
            code,
        }
    }
}

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing does not exist or is outside the actor's scope; the two are indistinguishable
    /// on purpose so that nobody learns another tenant's ticket exists.
    #[error("not found")]
    NotFound,
    /// The actor can see the thing but may not do this to it.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Input the caller can correct; nothing was written.
    #[error("invalid input")]
    Invalid(Vec<UserError>),
    /// Someone else changed the record first.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("database error")]
    Db(#[from] DbErr),
    /// Configuration stored in the database is broken (e.g. a calendar spec).
    #[error("configuration error: {0}")]
    Config(String),
}

impl ServiceError {
    /// Shorthand for one user error.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![UserError::new(field, code, message)])
    }
}

/// Result alias for service calls.
pub type ServiceResult<T> = Result<T, ServiceError>;
