//! SeaORM entities: the Madoguchi data model and small finders, nothing else.
//!
//! Every table carries `tenant_id`; primary keys are UUIDv7. Enumerations are stored as
//! short strings (or small integers where the order matters, e.g. priority) so that the
//! database stays readable from `psql` and `sqlite3`.

pub mod asset;
pub mod asset_event;
pub mod asset_ticket;
pub mod blob;
pub mod booking;
pub mod chat_account;
pub mod chat_code;
pub mod chat_conversation;
pub mod chat_ticket_link;
pub mod chat_turn;
pub mod consumable_item;
pub mod consumable_model;
pub mod delivery;
pub mod desk_calendar;
pub mod enums;
pub mod faq_article;
pub mod faq_article_version;
pub mod faq_vote;
pub mod invoice;
pub mod job;
pub mod ledger_counter;
pub mod ledger_enums;
pub mod ledger_export;
pub mod license;
pub mod license_assignment;
pub mod link_nonce;
pub mod mail_message;
pub mod mail_outbound;
pub mod mail_source;
pub mod mail_thread_id;
pub mod org_unit;
pub mod password_reset;
pub mod person;
pub mod purchase_order;
pub mod repair;
pub mod search_outbox;
pub mod search_synonyms;
pub mod sla_policy;
pub mod stock_level;
pub mod stock_movement;
pub mod supply_request;
pub mod tenant;
pub mod tenant_mail_settings;
pub mod ticket;
pub mod ticket_attachment;
pub mod ticket_category;
pub mod ticket_comment;
pub mod ticket_counter;
pub mod ticket_event;
pub mod ticket_watcher;
pub mod vendor;

pub use enums::*;
pub use ledger_enums::*;
