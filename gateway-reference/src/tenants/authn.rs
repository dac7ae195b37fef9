//! Authentication against the stored token hashes: [`TenantTokens`] for the SCIM endpoint,
//! [`admin_scope`] for the admin API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::request::Parts;
use scim_server::auth::{TokenHash, bearer_token};
use scim_server::{AuthContext, AuthError, Authenticator, TenantId};

use crate::db::{Db, DbError};

/// How long [`TenantTokens`] trusts a lookup: a revoked token stops working in every gateway
/// process at most this long after the revocation committed (and a token created in another
/// process works at once: an unknown hash is always looked up).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(3);

/// The most cached lookups; the cache is emptied when it is full, so a flood of random tokens
/// costs database lookups, never unbounded memory.
const CACHE_CAPACITY: usize = 10_000;

/// The SCIM endpoint's [`Authenticator`]: the bearer token's SHA-256 hash (RFC 6750 §2.1)
/// is looked up in `gw_tenant_tokens` (revoked tokens excluded) and the request is bound to
/// that token's tenant ([`AuthContext::for_tenant`]), so scim-server answers 401 for any
/// other tenant's URL. A missing, wrong or revoked token is an [`AuthError`] (401).
///
/// Valid lookups are cached for [`TOKEN_CACHE_TTL`]; unknown hashes are never cached.
#[derive(Debug)]
pub struct TenantTokens {
    db: Db,
    ttl: Duration,
    cache: Mutex<HashMap<TokenHash, (TenantId, Instant)>>,
}

impl TenantTokens {
    /// Tokens of `db`, cached for [`TOKEN_CACHE_TTL`].
    pub fn new(db: Db) -> Self {
        Self::with_ttl(db, TOKEN_CACHE_TTL)
    }

    /// Tokens of `db`, cached for `ttl` (zero: no cache).
    pub fn with_ttl(db: Db, ttl: Duration) -> Self {
        TenantTokens {
            db,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant of a token, if it is valid.
    pub async fn tenant_of(&self, token: &str) -> Result<Option<TenantId>, DbError> {
        let hash = TokenHash::of(token);
        if let Ok(cache) = self.cache.lock() {
            if let Some((tenant, at)) = cache.get(&hash) {
                if at.elapsed() < self.ttl {
                    return Ok(Some(tenant.clone()));
                }
            }
        }
        let row = self
            .db
            .query_opt(
                "SELECT tenant FROM gw_tenant_tokens WHERE hash = $1 AND revoked_at IS NULL",
                &[hash.to_hex().into()],
            )
            .await?;
        let tenant = match row {
            Some(row) => TenantId::new(&row.text(0)?),
            None => None,
        };
        if let Ok(mut cache) = self.cache.lock() {
            match &tenant {
                Some(t) if !self.ttl.is_zero() => {
                    if cache.len() >= CACHE_CAPACITY {
                        cache.clear();
                    }
                    cache.insert(hash, (t.clone(), Instant::now()));
                }
                _ => {
                    cache.remove(&hash);
                }
            }
        }
        Ok(tenant)
    }
}

#[async_trait]
impl Authenticator for TenantTokens {
    async fn authenticate(&self, parts: &Parts) -> Result<AuthContext, AuthError> {
        let token = bearer_token(parts)
            .ok_or_else(|| AuthError::new("send the tenant's Secret Token as a Bearer token"))?;
        match self.tenant_of(token).await {
            Ok(Some(tenant)) => Ok(AuthContext::for_tenant(tenant)),
            Ok(None) => Err(AuthError::new("the token is not valid (wrong or revoked)")),
            Err(e) => {
                tracing::error!(error = %e, "token lookup failed");
                Err(AuthError::new("the token could not be checked; try again"))
            }
        }
    }
}

/// What an admin token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// Every tenant, and creating tenants.
    All,
    /// One tenant only.
    Tenant(TenantId),
}

impl AdminScope {
    /// May this token act on `tenant`?
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            AdminScope::All => true,
            AdminScope::Tenant(t) => t.as_str() == tenant,
        }
    }

    /// The label `settings::save` and the log record as "who".
    pub fn label(&self) -> String {
        match self {
            AdminScope::All => "admin".to_string(),
            AdminScope::Tenant(t) => format!("admin:{t}"),
        }
    }
}

/// The scope of an admin token (`None`: unknown or revoked). Not cached: revoking an admin
/// token takes effect at once.
pub async fn admin_scope(db: &Db, token: &str) -> Result<Option<AdminScope>, DbError> {
    let row = db
        .query_opt(
            "SELECT tenant FROM gw_admin_tokens WHERE hash = $1 AND revoked_at IS NULL",
            &[TokenHash::of(token).to_hex().into()],
        )
        .await?;
    Ok(match row {
        None => None,
        Some(row) => match row.opt_text(0)? {
            None => Some(AdminScope::All),
            Some(t) => TenantId::new(&t).map(AdminScope::Tenant),
        },
    })
}
