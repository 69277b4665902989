//! Turning a bearer token into an [`Actor`]: verify, then resolve tenant and person.

use crate::auth::{Claims, TokenError, Verifier};
use service::{Actor, Db, RoleSet, directory};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Why a request is not authenticated. Details go to the log, not to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("unknown tenant or person in token")]
    UnknownSubject,
    #[error("bad roles in token: {0}")]
    BadRoles(String),
    #[error("database: {0}")]
    Db(String),
}

/// Resolves tokens to actors, caching the directory lookups briefly (30 s) so a busy client
/// does not cost a query per request; deactivation takes effect within that window.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<Verifier>,
    db: Db,
    cache: Arc<Mutex<HashMap<CacheKey, CacheEntry>>>,
}

/// (tenant slug, subject) as the token states them.
type CacheKey = (String, String);
/// (tenant id, vendor id) of an active person.
type Resolved = (Uuid, Option<Uuid>);
/// When the lookup was made, and its answer (`None`: no such active person).
type CacheEntry = (Instant, Option<Resolved>);

const TTL: Duration = Duration::from_secs(30);

impl Authenticator {
    /// Creates an authenticator.
    pub fn new(verifier: Arc<Verifier>, db: Db) -> Self {
        Self {
            verifier,
            db,
            cache: Arc::default(),
        }
    }

    /// Returns the actor for an `Authorization` header value.
    pub async fn actor_from_header(&self, header: &str) -> Result<Actor, AuthError> {
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                AuthError::Token(TokenError::Malformed("expected a Bearer token".into()))
            })?;
        let claims = self.verifier.verify(token.trim())?;
        self.actor_from_claims(&claims).await
    }

    /// Returns the actor for verified claims.
    pub async fn actor_from_claims(&self, claims: &Claims) -> Result<Actor, AuthError> {
        let roles = claims
            .roles
            .iter()
            .map(|r| r.parse())
            .collect::<Result<RoleSet, String>>()
            .map_err(AuthError::BadRoles)?;
        let key = (claims.tenant.clone(), claims.sub.clone());
        let cached = self.cache.lock().ok().and_then(|c| {
            c.get(&key)
                .filter(|(at, _)| at.elapsed() < TTL)
                .map(|(_, v)| *v)
        });
        let resolved = match cached {
            Some(v) => v,
            None => {
                let v = self.lookup(claims).await?;
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() > 10_000 {
                        c.clear();
                    }
                    c.insert(key, (Instant::now(), v));
                }
                v
            }
        };
        let (tenant_id, vendor_id) = resolved.ok_or(AuthError::UnknownSubject)?;
        let person_id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::UnknownSubject)?;
        Ok(Actor {
            person_id,
            tenant_id,
            roles,
            vendor_id,
        })
    }

    async fn lookup(&self, claims: &Claims) -> Result<Option<Resolved>, AuthError> {
        let Ok(person_id) = Uuid::parse_str(&claims.sub) else {
            return Ok(None);
        };
        let db = &self.db.read;
        let tenant = directory::tenant_by_slug(db, &claims.tenant)
            .await
            .map_err(|e| AuthError::Db(e.to_string()))?;
        let Some(tenant) = tenant else {
            return Ok(None);
        };
        let person = directory::person(db, tenant.id, person_id)
            .await
            .map_err(|e| AuthError::Db(e.to_string()))?;
        Ok(person
            .filter(|p| p.active)
            .map(|p| (tenant.id, p.vendor_id)))
    }
}
