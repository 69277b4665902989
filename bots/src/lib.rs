pub mod chat;
pub mod directory;
pub mod mail;
