//! Secrets (passwords, signing keys) that never print themselves.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A string that never prints itself (logs, `Debug`, panics).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// Returns the secret for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns whether no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
