//! The e-mail front door: decoding Japanese mail as it really arrives, the ways in (MTA pipe,
//! maildir, IMAP) and the way out (SMTP). The rules (threading, people, quarantine, what to
//! answer) are `service::mail`.

pub mod charset;
pub mod html;
pub mod imap;
pub mod ingest;
pub mod net;
pub mod parse;
pub mod quote;
pub mod send;

pub use ingest::*;
pub use parse::{envelope, parse};
pub use send::{Security, Sender, SmtpConfig};
