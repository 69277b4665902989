pub mod mail;
pub mod chat;
pub mod directory;
