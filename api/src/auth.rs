//! Bearer tokens: verifying them (HS256, RS256, ES256; PEM or JWKS) and, for trying the API,
//! issuing them. `alg: none` and algorithms other than the configured one are refused.

use crate::config::{AuthConfig, JwtAlgorithm, Secret};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

/// The claims Madoguchi reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The person's id (UUID).
    pub sub: String,
    /// The tenant's slug.
    pub tenant: String,
    /// Helpdesk roles (`requester`, `agent`, `supervisor`, `admin`, `vendor`).
    #[serde(default)]
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    /// Display name, for humans reading the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why a token was refused. The message is for logs; clients only learn `UNAUTHENTICATED`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token rejected: {0}")]
    Rejected(String),
    #[error("no key for kid {0:?}")]
    UnknownKey(Option<String>),
    #[error("key configuration: {0}")]
    Config(String),
}

enum Keys {
    Single(Box<DecodingKey>),
    Jwks(JwkSet),
}

/// Verifies bearer tokens against the configured key and claims.
pub struct Verifier {
    keys: Keys,
    validation: Validation,
    /// Tokens verified before, with their claims. A client sends the same token with every
    /// request until it expires; its signature, algorithm, issuer and audience cannot change,
    /// so a token found here only has its `exp` and `nbf` checked again. Keyed by the whole
    /// token, signature included: a token that differs in any byte is verified in full.
    verified: RwLock<HashMap<String, Arc<Claims>>>,
}

/// Tokens remembered at most; a full map starts over.
const VERIFIED_MAX: usize = 10_000;

fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TokenError> {
    std::fs::read(path)
        .map_err(|e| TokenError::Config(format!("cannot read {}: {e}", path.display())))
}

impl Verifier {
    /// Builds a verifier; `hs_secret` is the resolved HS256 secret (see [`resolve_hs256_secret`]).
    pub fn new(cfg: &AuthConfig, hs_secret: &Secret) -> Result<Self, TokenError> {
        let alg = algorithm(cfg.algorithm);
        let keys = if let Some(jwks) = &cfg.jwks_file {
            let set: JwkSet = serde_json::from_slice(&read(jwks)?)
                .map_err(|e| TokenError::Config(format!("bad jwks file: {e}")))?;
            Keys::Jwks(set)
        } else {
            let key = match cfg.algorithm {
                JwtAlgorithm::HS256 => {
                    if hs_secret.expose().len() < 32 {
                        return Err(TokenError::Config(
                            "hs256 secret must be at least 32 bytes".into(),
                        ));
                    }
                    DecodingKey::from_secret(hs_secret.expose().as_bytes())
                }
                JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
                    let path = cfg.public_key_pem.as_ref().ok_or_else(|| {
                        TokenError::Config(
                            "RS256/ES256 need auth.public_key_pem or auth.jwks_file".into(),
                        )
                    })?;
                    let pem = read(path)?;
                    let k = if cfg.algorithm == JwtAlgorithm::RS256 {
                        DecodingKey::from_rsa_pem(&pem)
                    } else {
                        DecodingKey::from_ec_pem(&pem)
                    };
                    k.map_err(|e| TokenError::Config(format!("bad public key: {e}")))?
                }
            };
            Keys::Single(Box::new(key))
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&cfg.issuer]);
        validation.set_audience(&[&cfg.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = cfg.leeway_seconds;
        Ok(Self {
            keys,
            validation,
            verified: RwLock::default(),
        })
    }

    /// Verifies a token's signature, algorithm, `exp`, `nbf`, `iss` and `aud`, and returns its
    /// claims; a token verified before is only checked for `exp` and `nbf` again.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let known = self
            .verified
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned();
        if let Some(claims) = known
            && self.in_time(&claims, jsonwebtoken::get_current_timestamp())
        {
            return Ok(claims);
        }
        // Not seen, or no longer (or not yet) valid: the full check, and its error.
        let claims = Arc::new(self.verify_in_full(token)?);
        let mut verified = self
            .verified
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_MAX {
            verified.clear();
        }
        verified.insert(token.to_owned(), Arc::clone(&claims));
        Ok(claims)
    }

    /// `exp` and `nbf` as jsonwebtoken checks them, with the same leeway.
    fn in_time(&self, claims: &Claims, now: u64) -> bool {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(i64::MAX);
        claims.exp >= now.saturating_sub(leeway)
            && claims
                .nbf
                .is_none_or(|nbf| nbf <= now.saturating_add(leeway))
    }

    fn verify_in_full(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(TokenError::Rejected(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        let data = match &self.keys {
            Keys::Single(key) => decode::<Claims>(token, key, &self.validation),
            Keys::Jwks(set) => {
                let jwk = match header.kid.as_deref() {
                    Some(kid) => set.find(kid),
                    None if set.keys.len() == 1 => set.keys.first(),
                    None => None,
                }
                .ok_or_else(|| TokenError::UnknownKey(header.kid.clone()))?;
                let key =
                    DecodingKey::from_jwk(jwk).map_err(|e| TokenError::Config(e.to_string()))?;
                decode::<Claims>(token, &key, &self.validation)
            }
        };
        data.map(|d| d.claims)
            .map_err(|e| TokenError::Rejected(e.to_string()))
    }
}

/// Returns the HS256 secret: the configured one, or the one kept in `<data_dir>/jwt-secret`,
/// created with 48 random bytes on first use so that `serve` and `token issue` agree.
pub fn resolve_hs256_secret(cfg: &AuthConfig, data_dir: &Path) -> Result<Secret, TokenError> {
    if !cfg.hs256_secret.is_empty() || cfg.algorithm != JwtAlgorithm::HS256 {
        return Ok(cfg.hs256_secret.clone());
    }
    let path = data_dir.join("jwt-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(s.trim().to_owned()));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| TokenError::Config(format!("cannot create {}: {e}", data_dir.display())))?;
    use base64::Engine;
    let bytes: [u8; 48] = rand::random();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &secret)?;
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> Result<(), TokenError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| TokenError::Config(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(content.as_bytes())
        .map_err(|e| TokenError::Config(format!("cannot write {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> Result<(), TokenError> {
    std::fs::write(path, content)
        .map_err(|e| TokenError::Config(format!("cannot write {}: {e}", path.display())))
}

/// Signs claims with the configured algorithm (HS256 secret, or the private key PEM).
pub fn issue(cfg: &AuthConfig, hs_secret: &Secret, claims: &Claims) -> Result<String, TokenError> {
    let alg = algorithm(cfg.algorithm);
    let key = match cfg.algorithm {
        JwtAlgorithm::HS256 => EncodingKey::from_secret(hs_secret.expose().as_bytes()),
        JwtAlgorithm::RS256 | JwtAlgorithm::ES256 => {
            let path = cfg.private_key_pem.as_ref().ok_or_else(|| {
                TokenError::Config(
                    "auth.private_key_pem is needed to issue RS256/ES256 tokens".into(),
                )
            })?;
            let pem = read(path)?;
            let k = if cfg.algorithm == JwtAlgorithm::RS256 {
                EncodingKey::from_rsa_pem(&pem)
            } else {
                EncodingKey::from_ec_pem(&pem)
            };
            k.map_err(|e| TokenError::Config(format!("bad private key: {e}")))?
        }
    };
    encode(&Header::new(alg), claims, &key).map_err(|e| TokenError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> (AuthConfig, Secret) {
        (
            AuthConfig::default(),
            Secret::new("0123456789abcdef0123456789abcdef-test"),
        )
    }

    fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "0193a000-0000-7000-8000-000000000001".into(),
            tenant: "sakura-city".into(),
            roles: vec!["agent".into()],
            iss: "madoguchi".into(),
            aud: "madoguchi-api".into(),
            exp: now + exp_offset,
            nbf: Some(now - 10),
            iat: Some(now),
            name: None,
        }
    }

    #[test]
    fn issued_token_verifies() {
        let (c, s) = cfg();
        let t = issue(&c, &s, &claims(600)).unwrap();
        let v = Verifier::new(&c, &s).unwrap();
        assert_eq!(v.verify(&t).unwrap().tenant, "sakura-city");
    }

    #[test]
    fn expired_wrong_audience_and_forged_tokens_are_refused() {
        let (c, s) = cfg();
        let v = Verifier::new(&c, &s).unwrap();
        assert!(v.verify(&issue(&c, &s, &claims(-3600)).unwrap()).is_err());
        let mut other = claims(600);
        other.aud = "someone-else".into();
        assert!(v.verify(&issue(&c, &s, &other).unwrap()).is_err());
        let forged = issue(
            &c,
            &Secret::new("another-secret-another-secret-another"),
            &claims(600),
        )
        .unwrap();
        assert!(v.verify(&forged).is_err());
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires() {
        let (mut c, s) = cfg();
        c.leeway_seconds = 0;
        let v = Verifier::new(&c, &s).unwrap();
        let t = issue(&c, &s, &claims(1)).unwrap();
        assert_eq!(v.verify(&t).unwrap().tenant, "sakura-city");
        assert_eq!(v.verified.read().unwrap().len(), 1);
        assert_eq!(v.verify(&t).unwrap().tenant, "sakura-city");
        // The same claims under another signature are not the remembered token.
        let (head, _) = t.rsplit_once('.').unwrap();
        assert!(v.verify(&format!("{head}.AAAA")).is_err());
        let other_key = issue(
            &c,
            &Secret::new("another-secret-another-secret-another"),
            &claims(1),
        )
        .unwrap();
        assert!(v.verify(&other_key).is_err());
        // Expired since it was verified: refused, not served from memory.
        std::thread::sleep(std::time::Duration::from_millis(2_100));
        assert!(matches!(v.verify(&t), Err(TokenError::Rejected(_))));
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine;
        let (c, s) = cfg();
        let v = Verifier::new(&c, &s).unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(serde_json::to_vec(&claims(600)).unwrap());
        assert!(v.verify(&format!("{header}.{body}.")).is_err());
    }

    #[test]
    fn short_hs256_secret_is_a_configuration_error() {
        let (c, _) = cfg();
        assert!(Verifier::new(&c, &Secret::new("short")).is_err());
    }
}
