pub mod mail;
pub mod chat;
