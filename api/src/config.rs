//! Configuration: defaults, then a TOML file, then `MADOGUCHI_*` environment variables.
//!
//! `MADOGUCHI_AUTH__ISSUER=x` sets `auth.issuer` (double underscore for nesting);
//! `DATABASE_URL` is honoured too, as every deployment tool expects it.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use service::Secret;

/// Signing algorithm for bearer tokens.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum JwtAlgorithm {
    #[default]
    HS256,
    RS256,
    ES256,
}

/// How bearer tokens are checked (and, for `token issue`, signed).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub algorithm: JwtAlgorithm,
    /// HS256 secret; when empty one is generated into `<data_dir>/jwt-secret` on first use.
    pub hs256_secret: Secret,
    /// RS256/ES256 public key (PEM) to verify with.
    pub public_key_pem: Option<PathBuf>,
    /// RS256/ES256 private key (PEM), only for `madoguchi token issue`.
    pub private_key_pem: Option<PathBuf>,
    /// A JWKS file to verify with (keys picked by `kid`).
    pub jwks_file: Option<PathBuf>,
    /// Lifetime of tokens made by `token issue`, in minutes.
    pub token_ttl_minutes: i64,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "madoguchi".to_owned(),
            audience: "madoguchi-api".to_owned(),
            algorithm: JwtAlgorithm::HS256,
            hs256_secret: Secret::default(),
            public_key_pem: None,
            private_key_pem: None,
            jwks_file: None,
            token_ttl_minutes: 8 * 60,
            leeway_seconds: 30,
        }
    }
}

/// GraphQL limits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphqlConfig {
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest multipart request (file uploads: ledger imports, evidence), in bytes.
    pub max_upload_bytes: usize,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 5_000,
            max_body_bytes: 1 << 20,
            max_upload_bytes: 64 << 20,
        }
    }
}

/// The full-text index.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Where the index lives; defaults to `<data_dir>/search-index`.
    pub index_dir: Option<PathBuf>,
    /// How often the indexer looks at the outbox when idle, in milliseconds.
    pub poll_millis: u64,
    /// Indexing memory, in MB.
    pub writer_memory_mb: usize,
    /// FAQ answers kept for questions asked again in the same scope, until the index next
    /// changes (0 turns it off): chat menus send fixed texts, and an outage brings the same
    /// question from hundreds of people.
    pub answer_cache: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            index_dir: None,
            poll_millis: 200,
            writer_memory_mb: 64,
            answer_cache: 1024,
        }
    }
}

/// The mail front door.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// A maildir folder a delivery agent fills (`new/`, `cur/`); the server takes mail from
    /// `new/` and moves each file to `cur/` once its ticket is committed.
    pub maildir: Option<PathBuf>,
    /// Tenant slug for every message from the maildir; by default the recipient address
    /// decides.
    pub maildir_tenant: Option<String>,
    /// How often the server looks for mail (maildir, and stored mail still waiting), in
    /// milliseconds.
    pub poll_millis: u64,
    /// Messages per transaction.
    pub batch: usize,
    /// IMAP mailboxes to read (`[[mail.imap]]`, one per helpdesk address).
    pub imap: Vec<bots::mail::imap::ImapConfig>,
    /// The SMTP server replies go out through (`[mail.smtp]`); without it, replies wait
    /// queued until one is configured.
    pub smtp: Option<bots::mail::SmtpConfig>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            maildir: None,
            maildir_tenant: None,
            poll_millis: 1000,
            batch: 200,
            imap: vec![],
            smtp: None,
        }
    }
}

/// The chat front doors.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct BotsConfig {
    /// LINE channels (`[[bots.line]]`, one per tenant); the webhook URL of each is
    /// `/bots/line/{tenant}`.
    pub line: Vec<bots::chat::line::LineConfig>,
    /// LINE WORKS bots (`[[bots.line_works]]`, one per tenant); the callback URL of each is
    /// `/bots/lineworks/{tenant}`.
    pub line_works: Vec<bots::chat::lineworks::LineWorksConfig>,
    /// The Teams bot (`[bots.teams]`); its messaging endpoint is `/bots/teams/messages`.
    pub teams: Option<bots::chat::teams::TeamsConfig>,
    /// How often the chat worker looks for due jobs when nothing wakes it, in milliseconds.
    pub poll_millis: u64,
    /// Conversations the chat worker answers at once.
    pub lanes: usize,
}

impl Default for BotsConfig {
    fn default() -> Self {
        Self {
            line: vec![],
            line_works: vec![],
            teams: None,
            poll_millis: 1000,
            lanes: bots::chat::LANES,
        }
    }
}

/// Self-service password reset for one tenant (`[[password_reset]]`): its rules and where
/// passwords are set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetConfig {
    /// The tenant's slug.
    pub tenant: String,
    #[serde(flatten)]
    pub policy: service::reset::ResetPolicy,
    pub directory: bots::directory::DirectoryConfig,
}

/// Everything `madoguchi` reads at start-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Where the SQLite file, the index and attachments live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to `<data_dir>/madoguchi.sqlite`.
    pub database_url: Option<String>,
    pub max_connections: u32,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Log as JSON lines instead of human-readable text.
    pub log_json: bool,
    /// How often the SLA job looks for breaches, in seconds.
    pub sla_check_seconds: u64,
    /// How long directory rows (people, org units, categories, vendors) are cached, in seconds; 0 disables.
    pub directory_cache_seconds: u64,
    pub auth: AuthConfig,
    pub graphql: GraphqlConfig,
    pub search: SearchConfig,
    pub mail: MailConfig,
    pub bots: BotsConfig,
    /// The address people reach this server at (`https://helpdesk.city.example.jp`), for the
    /// links the bots send; defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub password_reset: Vec<ResetConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            max_connections: 16,
            workers: 0,
            log_json: false,
            sla_check_seconds: 30,
            directory_cache_seconds: 30,
            auth: AuthConfig::default(),
            graphql: GraphqlConfig::default(),
            search: SearchConfig::default(),
            mail: MailConfig::default(),
            bots: BotsConfig::default(),
            public_url: None,
            password_reset: vec![],
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (or `madoguchi.toml` if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None => fig = fig.merge(Toml::file("madoguchi.toml")),
        }
        fig = fig.merge(Env::prefixed("MADOGUCHI_").split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            fig = fig.merge(Serialized::default("database_url", url));
        }
        fig.extract().map_err(Box::new)
    }

    /// Returns the index directory, defaulting to `<data_dir>/search-index`.
    pub fn index_dir(&self) -> PathBuf {
        self.search
            .index_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("search-index"))
    }

    /// Returns the database URL, defaulting to SQLite under the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("madoguchi.sqlite").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let mut c = Config::default();
        c.auth.hs256_secret = s;
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn mail_servers_and_line_channels_from_toml_and_their_secrets_do_not_print() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("madoguchi.toml");
        std::fs::write(
            &f,
            r#"
[[mail.imap]]
name = "sakura-city"
host = "mail.city.sakura.example.jp"
username = "helpdesk"
password = "imap-pass-1"
tenant = "sakura-city"
after = "move"

[mail.smtp]
host = "relay.city.sakura.example.jp"
port = 587
security = "starttls"
username = "helpdesk"
password = "smtp-pass-2"

[[bots.line]]
tenant = "sakura-city"
channel_secret = "line-secret-3"
channel_access_token = "line-token-4"

[[password_reset]]
tenant = "sakura-city"
min_length = 14
teachers_reset_students = true
[password_reset.directory]
kind = "openldap"
url = "ldap://ldap.city.sakura.example.jp"
starttls = true
bind_dn = "cn=reset,ou=services,dc=city"
bind_password = "ldap-pass-5"
base_dn = "ou=people,dc=city"
"#,
        )
        .unwrap();
        let c = Config::load(Some(&f)).unwrap();
        let imap = &c.mail.imap[0];
        assert_eq!(
            (imap.port, imap.security, imap.mailbox.as_str()),
            (993, bots::mail::Security::Tls, "INBOX")
        );
        assert_eq!(imap.after, bots::mail::imap::AfterProcessing::Move);
        assert_eq!(imap.password.expose(), "imap-pass-1");
        let smtp = c.mail.smtp.as_ref().unwrap();
        assert_eq!(
            (smtp.port, smtp.security),
            (587, bots::mail::Security::StartTls)
        );
        let line = &c.bots.line[0];
        assert_eq!(
            (line.tenant.as_str(), line.api_base.as_str()),
            ("sakura-city", "https://api.line.me")
        );
        assert_eq!(line.channel_secret.expose(), "line-secret-3");
        let printed = format!("{c:?}");
        let reset = &c.password_reset[0];
        assert_eq!(
            (
                reset.policy.min_length,
                reset.policy.min_classes,
                reset.policy.teachers_reset_students
            ),
            (14, 3, true)
        );
        assert!(
            matches!(&reset.directory, bots::directory::DirectoryConfig::Openldap(l) if l.starttls && l.user_filter == "(mail={email})")
        );
        for secret in [
            "imap-pass-1",
            "smtp-pass-2",
            "line-secret-3",
            "line-token-4",
            "ldap-pass-5",
        ] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
    }

    #[test]
    fn default_database_is_sqlite_under_the_data_dir() {
        let c = Config::default();
        assert_eq!(
            c.database_url(),
            "sqlite://./data/madoguchi.sqlite?mode=rwc"
        );
        assert_eq!(c.listen, "127.0.0.1:8080");
    }
}
