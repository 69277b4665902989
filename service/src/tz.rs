//! Time zones: stored in UTC, shown in Asia/Tokyo.

/// The time zone people read times in.
pub const TOKYO: chrono_tz::Tz = chrono_tz::Asia::Tokyo;
