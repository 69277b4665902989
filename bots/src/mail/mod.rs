//! The e-mail front door: decoding Japanese mail as it really arrives, and the ways in
//! (MTA pipe, maildir, IMAP). The rules (threading, people, quarantine) are `service::mail`.

pub mod charset;
pub mod html;
pub mod imap;
pub mod ingest;
pub mod net;
pub mod parse;
pub mod quote;
pub mod send;

pub use ingest::*;
pub use send::{Security, Sender, SmtpConfig};
pub use parse::{envelope, parse};
