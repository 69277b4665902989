//! Black-box tests: the app on port 0 against SQLite and a throwaway PostgreSQL, with the real
//! peers (Dovecot, an SMTP server, LINE's SDK, a local Bot Framework, slapd...).
//!
//! One test binary with a module a subject (run one with `cargo test -p tests --test suite
//! mail_ingest::`): every integration-test binary links the whole dependency tree, so each
//! extra one costs a link and a few hundred megabytes of disk. `password_reset` stays its own
//! binary because it captures every log line of its process to prove no secret is logged.

mod authorization_matrix;
mod bad_input;
mod calendars;
mod chat_accounts;
mod chat_commit;
mod chat_turns;
mod faq_search;
mod ledger_api;
mod ledgers;
mod line_bot;
mod lineworks_bot;
mod list_columns;
mod lists;
mod mail_imap;
mod mail_ingest;
mod mail_out;
mod mail_server;
mod no_n_plus_one;
mod operations;
mod plain_lists;
mod reader;
mod schema_drift;
mod search_api;
mod sla_service;
mod statistics;
mod teams_bot;
mod ticket_flow;
