//! Where passwords are set for a self-service reset (`service::reset::PasswordDirectory`):
//!
//! - **OpenLDAP**: the RFC 3062 Password Modify extended operation as the service account,
//!   then `pwdReset: TRUE` (the ppolicy overlay makes the next logon change it) and the lockout
//!   (`pwdAccountLockedTime`) cleared; ppolicy forgets the failure times itself.
//! - **Active Directory**: over LDAPS, `unicodePwd` replaced with the quoted password in
//!   UTF-16LE, `pwdLastSet: 0` (change at next logon) and `lockoutTime: 0`.
//! - **Microsoft Graph** (Entra ID / Microsoft 365): a client-credentials token, then
//!   `PATCH /users/{id}` with a `passwordProfile` that forces a change at next sign-in.
//!
//! The password is handed over and dropped; nothing here logs or keeps it.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use entity::person;
use ldap3::exop::PasswordModify;
use ldap3::{LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service::Secret;
use service::reset::PasswordDirectory;

/// A directory connector (`[password_reset.directory]`), chosen by `kind`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DirectoryConfig {
    Openldap(LdapConfig),
    ActiveDirectory(LdapConfig),
    Graph(GraphConfig),
}

/// An LDAP directory and the service account that may set passwords.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LdapConfig {
    /// `ldap://host:389` (with `starttls`) or `ldaps://host:636`.
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub base_dn: String,
    /// Finds the person's entry; `{email}` and `{employee_number}` are replaced (escaped).
    #[serde(default = "default_filter")]
    pub user_filter: String,
    /// A PEM file of CAs to trust besides the system's (a private AD CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_filter() -> String {
    "(mail={email})".to_owned()
}
fn default_timeout() -> u64 {
    10
}

/// Microsoft Graph with an app registration allowed to reset passwords.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GraphConfig {
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`.
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default = "default_graph")]
    pub graph_base: String,
    #[serde(default = "default_graph_scope")]
    pub scope: String,
}

fn default_graph() -> String {
    "https://graph.microsoft.com/v1.0".to_owned()
}
fn default_graph_scope() -> String {
    "https://graph.microsoft.com/.default".to_owned()
}

/// Builds the connector a config names.
pub fn build(cfg: &DirectoryConfig) -> anyhow::Result<Arc<dyn PasswordDirectory>> {
    Ok(match cfg {
        DirectoryConfig::Openldap(c) => Arc::new(Ldap {
            cfg: c.clone(),
            flavour: Flavour::OpenLdap,
        }),
        DirectoryConfig::ActiveDirectory(c) => Arc::new(Ldap {
            cfg: c.clone(),
            flavour: Flavour::ActiveDirectory,
        }),
        DirectoryConfig::Graph(c) => Arc::new(Graph {
            cfg: c.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()?,
        }),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    OpenLdap,
    ActiveDirectory,
}

struct Ldap {
    cfg: LdapConfig,
    flavour: Flavour,
}

/// Escapes a value for an LDAP filter (RFC 4515).
pub fn escape_filter(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// The `unicodePwd` value Active Directory takes: the password in double quotes, UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

impl Ldap {
    fn tls_config(&self) -> anyhow::Result<Arc<tokio_rustls::rustls::ClientConfig>> {
        crate::mail::net::tls_config(self.cfg.ca_file.as_ref())
    }

    async fn reset(&self, who: &person::Model, password: &Secret) -> anyhow::Result<()> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(self.cfg.timeout_secs))
            .set_starttls(self.cfg.starttls);
        if self.cfg.url.starts_with("ldaps://") || self.cfg.starttls {
            settings = settings.set_config(self.tls_config()?);
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url).await?;
        ldap3::drive!(conn);
        ldap.with_timeout(Duration::from_secs(self.cfg.timeout_secs));
        ldap.simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose())
            .await?
            .success()?;
        let filter = self
            .cfg
            .user_filter
            .replace("{email}", &escape_filter(&who.email))
            .replace(
                "{employee_number}",
                &escape_filter(who.employee_number.as_deref().unwrap_or("\0")),
            );
        let (entries, _) = ldap
            .search(&self.cfg.base_dn, Scope::Subtree, &filter, vec!["1.1"])
            .await?
            .success()?;
        let dn = match entries.as_slice() {
            [one] => SearchEntry::construct(one.clone()).dn,
            [] => anyhow::bail!("no directory entry matches {filter}"),
            _ => anyhow::bail!("{} directory entries match {filter}", entries.len()),
        };
        match self.flavour {
            Flavour::OpenLdap => {
                ldap.extended(PasswordModify {
                    user_id: Some(&dn),
                    old_pass: None,
                    new_pass: Some(password.expose()),
                })
                .await?
                .success()?;
                let mods: Vec<Mod<&str>> = vec![
                    Mod::Replace("pwdReset", HashSet::from(["TRUE"])),
                    Mod::Replace("pwdAccountLockedTime", HashSet::new()),
                ];
                ldap.modify(&dn, mods).await?.success()?;
            }
            Flavour::ActiveDirectory => {
                let mods: Vec<Mod<Vec<u8>>> = vec![
                    Mod::Replace(
                        b"unicodePwd".to_vec(),
                        HashSet::from([unicode_pwd(password.expose())]),
                    ),
                    Mod::Replace(b"pwdLastSet".to_vec(), HashSet::from([b"0".to_vec()])),
                    Mod::Replace(b"lockoutTime".to_vec(), HashSet::from([b"0".to_vec()])),
                ];
                ldap.modify(&dn, mods).await?.success()?;
            }
        }
        let _ = ldap.unbind().await;
        Ok(())
    }
}

impl PasswordDirectory for Ldap {
    fn set_password<'a>(
        &'a self,
        who: &'a person::Model,
        password: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        // Errors name the operation and the LDAP result, never the password.
        Box::pin(async move {
            self.reset(who, password)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn kind(&self) -> &'static str {
        match self.flavour {
            Flavour::OpenLdap => "openldap",
            Flavour::ActiveDirectory => "active_directory",
        }
    }
}

struct Graph {
    cfg: GraphConfig,
    http: reqwest::Client,
}

impl Graph {
    async fn reset(&self, who: &person::Model, password: &Secret) -> anyhow::Result<()> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.cfg.client_id.as_str()),
            ("client_secret", self.cfg.client_secret.expose()),
            ("scope", self.cfg.scope.as_str()),
        ];
        let res = self
            .http
            .post(&self.cfg.token_endpoint)
            .form(&form)
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "token endpoint answered {}",
            res.status()
        );
        let v: serde_json::Value = res.json().await?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no access_token"))?;
        let url = format!(
            "{}/users/{}",
            self.cfg.graph_base.trim_end_matches('/'),
            who.email
        );
        let body = json!({ "passwordProfile": { "forceChangePasswordNextSignIn": true, "password": password.expose() } });
        let res = self
            .http
            .patch(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        if !status.is_success() {
            let v: serde_json::Value = res.json().await.unwrap_or_default();
            let msg = v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>();
            anyhow::bail!("Graph answered {status}: {msg}");
        }
        Ok(())
    }
}

impl PasswordDirectory for Graph {
    fn set_password<'a>(
        &'a self,
        who: &'a person::Model,
        password: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.reset(who, password)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn kind(&self) -> &'static str {
        "graph"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_passwords_are_quoted_utf16le() {
        assert_eq!(
            unicode_pwd("Ab1!"),
            [0x22, 0, b'A', 0, b'b', 0, b'1', 0, b'!', 0, 0x22, 0]
        );
    }

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(escape_filter("a*)(uid=*"), "a\\2a\\29\\28uid=\\2a");
        assert_eq!(
            escape_filter("taro@city.example.jp"),
            "taro@city.example.jp"
        );
    }

    #[test]
    fn directory_config_is_chosen_by_kind_and_secrets_do_not_print() {
        let c: DirectoryConfig = serde_json::from_value(json!({
            "kind": "active_directory", "url": "ldaps://dc01.city.local", "bind_dn": "CN=svc,DC=city,DC=local",
            "bind_password": "ad-pass-9", "base_dn": "DC=city,DC=local", "user_filter": "(userPrincipalName={email})"
        }))
        .unwrap();
        assert!(matches!(&c, DirectoryConfig::ActiveDirectory(l) if l.timeout_secs == 10));
        assert!(!format!("{c:?}").contains("ad-pass-9"));
    }
}
