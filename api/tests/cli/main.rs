//! Tests that run the real `madoguchi` binary: keys and the command line, the ledger and mail
//! commands, and the search index's recovery after the process is killed.
//!
//! One test binary (not one per file): every integration-test binary links the whole
//! dependency tree, so each extra one costs a link and a few hundred megabytes of disk.

mod common;
mod keys_and_cli;
mod ledger_cli;
mod mail_cli;
mod search_recovery;
