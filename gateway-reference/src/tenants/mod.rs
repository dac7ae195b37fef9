//! Tenants, their SCIM bearer tokens (Entra ID's "Secret Token") and the admin API's tokens.
//!
//! A token is 32 random bytes from the operating system's generator (two UUID v4s, 244
//! random bits, see [`generate_token`]) as 64 hex digits. It is shown once, when it is
//! created; the database keeps only its SHA-256 hash ([`TokenHash`], the hash that
//! `scim_server::auth` uses), so a copy of the database opens no endpoint.
//!
//! ```
//! use gateway_reference::{db::Db, tenants};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = Db::open_sqlite_in_memory().await.unwrap();
//! let tenant = tenants::create(&db, "Contoso Ltd").await.unwrap();
//! assert_eq!(tenant.id, "contoso-ltd");
//! let token = tenants::rotate_token(&db, &tenant.tenant_id().unwrap(), "cli").await.unwrap();
//! assert_eq!(token.len(), 64);
//! # });
//! ```

mod admin_tokens;
mod authn;

pub use admin_tokens::{
    ADMIN_TOKEN_ID_LEN, AdminTokenInfo, RevokeAdminTokenError, list_admin_tokens,
    revoke_admin_token,
};
pub use authn::{AdminScope, TOKEN_CACHE_TTL, TenantTokens, admin_scope};

use scim_server::TenantId;
use scim_server::auth::TokenHash;
use serde::{Deserialize, Serialize};

use crate::db::{Db, DbError, Row, now};
use crate::log;

/// A tenant: one SCIM endpoint (Entra's "Tenant URL") and its settings, rules and log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tenant {
    /// The id, the last segment of the Tenant URL (`/scim/{id}`).
    pub id: String,
    /// The name it was created with.
    pub name: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

impl Tenant {
    /// The id as a [`TenantId`] (`None` only for a row written by hand with a bad id).
    pub fn tenant_id(&self) -> Option<TenantId> {
        TenantId::new(&self.id)
    }

    fn from_row(row: &Row) -> Result<Tenant, DbError> {
        Ok(Tenant {
            id: row.text(0)?,
            name: row.text(1)?,
            created_at: row.text(2)?,
        })
    }
}

/// What a tenant operation refused.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// A tenant with this id exists already.
    #[error("a tenant with the id {0:?} exists already")]
    Exists(String),
    /// No such tenant.
    #[error("no tenant is named {0:?}")]
    NotFound(String),
    /// The name gives no usable id.
    #[error(
        "the tenant name {0:?} gives no valid tenant id (use letters, digits, '-', '_' or '.', at most 128)"
    )]
    InvalidName(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The tenant id for a tenant name: lower-case ASCII letters and digits, `-`, `_` and `.`
/// kept, every other run of characters one `-`, no leading or trailing `-`
/// (`"Contoso Ltd"` is `contoso-ltd`). `None` when nothing is left or it is too long.
///
/// ```
/// use gateway_reference::tenants::id_for_name;
/// assert_eq!(id_for_name("Contoso Ltd").unwrap().as_str(), "contoso-ltd");
/// assert_eq!(id_for_name("demo").unwrap().as_str(), "demo");
/// assert!(id_for_name(" !! ").is_none());
/// ```
pub fn id_for_name(name: &str) -> Option<TenantId> {
    let mut id = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    TenantId::new(id.trim_matches('-'))
}

/// A new secret token: 32 random bytes as 64 lower-case hex digits. The randomness is two
/// UUID v4s (`uuid` draws them from the operating system's generator, `getrandom`); their
/// 6 fixed version and variant bits each leave 244 random bits.
pub fn generate_token() -> String {
    let mut out = String::with_capacity(64);
    for _ in 0..2 {
        for b in uuid::Uuid::new_v4().as_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

/// Creates a tenant named `name` with the id [`id_for_name`] gives.
pub async fn create(db: &Db, name: &str) -> Result<Tenant, TenantError> {
    let id = id_for_name(name).ok_or_else(|| TenantError::InvalidName(name.to_string()))?;
    let tenant = Tenant {
        id: id.as_str().to_string(),
        name: name.trim().to_string(),
        created_at: now(),
    };
    match db
        .execute(
            "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, $2, $3)",
            &[
                tenant.id.clone().into(),
                tenant.name.clone().into(),
                tenant.created_at.clone().into(),
            ],
        )
        .await
    {
        Ok(_) => Ok(tenant),
        Err(e) if e.is_unique_violation() => Err(TenantError::Exists(tenant.id)),
        Err(e) => Err(e.into()),
    }
}

/// Every tenant, by id.
pub async fn list(db: &Db) -> Result<Vec<Tenant>, DbError> {
    db.query(
        "SELECT id, name, created_at FROM gw_tenants ORDER BY id",
        &[],
    )
    .await?
    .iter()
    .map(Tenant::from_row)
    .collect()
}

/// The ids of every tenant, ordered (for loops over all tenants: the sync, pruning, seeding).
pub async fn ids(db: &Db) -> Result<Vec<TenantId>, DbError> {
    Ok(list(db)
        .await?
        .iter()
        .filter_map(Tenant::tenant_id)
        .collect())
}

/// The tenant with this id, if any.
pub async fn get(db: &Db, id: &str) -> Result<Option<Tenant>, DbError> {
    db.query_opt(
        "SELECT id, name, created_at FROM gw_tenants WHERE id = $1",
        &[id.into()],
    )
    .await?
    .as_ref()
    .map(Tenant::from_row)
    .transpose()
}

/// The tenant a command line names: by id, else by its exact name, else by the id the name
/// would give.
pub async fn find(db: &Db, name: &str) -> Result<Tenant, TenantError> {
    if let Some(t) = get(db, name).await? {
        return Ok(t);
    }
    if let Some(row) = db
        .query_opt(
            "SELECT id, name, created_at FROM gw_tenants WHERE name = $1 ORDER BY id",
            &[name.into()],
        )
        .await?
    {
        return Ok(Tenant::from_row(&row)?);
    }
    if let Some(id) = id_for_name(name) {
        if let Some(t) = get(db, id.as_str()).await? {
            return Ok(t);
        }
    }
    Err(TenantError::NotFound(name.to_string()))
}

/// Adds a SCIM token to the tenant (its other tokens stay valid) and returns it; only its
/// hash is stored. `label` says who or what made it (`cli`, `first-start`, an admin).
pub async fn add_token(db: &Db, tenant: &TenantId, label: &str) -> Result<String, TenantError> {
    ensure_exists(db, tenant).await?;
    let token = generate_token();
    db.execute(
        "INSERT INTO gw_tenant_tokens (hash, tenant, label, created_at) VALUES ($1, $2, $3, $4)",
        &[
            TokenHash::of(&token).to_hex().into(),
            tenant.as_str().into(),
            label.into(),
            now().into(),
        ],
    )
    .await?;
    log::append(db, tenant, &admin_entry("token-created", label)).await?;
    Ok(token)
}

/// Rotates the tenant's SCIM token: revokes every token it has and adds a new one, in one
/// transaction, and returns the new token.
pub async fn rotate_token(db: &Db, tenant: &TenantId, label: &str) -> Result<String, TenantError> {
    ensure_exists(db, tenant).await?;
    let token = generate_token();
    let at = now();
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE gw_tenant_tokens SET revoked_at = $1 WHERE tenant = $2 AND revoked_at IS NULL",
        &[at.clone().into(), tenant.as_str().into()],
    )
    .await?;
    tx.execute(
        "INSERT INTO gw_tenant_tokens (hash, tenant, label, created_at) VALUES ($1, $2, $3, $4)",
        &[
            TokenHash::of(&token).to_hex().into(),
            tenant.as_str().into(),
            label.into(),
            at.into(),
        ],
    )
    .await?;
    log::append_tx(&mut tx, tenant, &admin_entry("token-rotated", label)).await?;
    tx.commit().await?;
    Ok(token)
}

/// Revokes every SCIM token of the tenant; returns how many were valid. Running gateway
/// processes stop accepting them within [`TOKEN_CACHE_TTL`]. `by` is recorded in the log.
pub async fn revoke_tokens(db: &Db, tenant: &TenantId, by: &str) -> Result<u64, TenantError> {
    ensure_exists(db, tenant).await?;
    let n = db
        .execute(
            "UPDATE gw_tenant_tokens SET revoked_at = $1 WHERE tenant = $2 AND revoked_at IS NULL",
            &[now().into(), tenant.as_str().into()],
        )
        .await?;
    log::append(db, tenant, &admin_entry("tokens-revoked", by)).await?;
    Ok(n)
}

/// Creates an admin API token, for one tenant or (`None`) for every tenant, and returns it;
/// only its hash is stored.
pub async fn create_admin_token(
    db: &Db,
    tenant: Option<&TenantId>,
    label: &str,
) -> Result<String, TenantError> {
    if let Some(t) = tenant {
        ensure_exists(db, t).await?;
    }
    let token = generate_token();
    db.execute(
        "INSERT INTO gw_admin_tokens (hash, tenant, label, created_at) VALUES ($1, $2, $3, $4)",
        &[
            TokenHash::of(&token).to_hex().into(),
            tenant.map(TenantId::as_str).into(),
            label.into(),
            now().into(),
        ],
    )
    .await?;
    Ok(token)
}

/// Records an administrative token action in the tenant's provisioning log.
fn admin_entry<'a>(action: &'a str, by: &'a str) -> log::NewEntry<'a> {
    log::NewEntry {
        user_id: None,
        user_name: None,
        source: log::Source::Admin,
        action,
        outcome: log::Outcome::Success,
        reason: Some(by),
        detail: None,
    }
}

async fn ensure_exists(db: &Db, tenant: &TenantId) -> Result<(), TenantError> {
    match get(db, tenant.as_str()).await? {
        Some(_) => Ok(()),
        None => Err(TenantError::NotFound(tenant.as_str().to_string())),
    }
}

#[cfg(test)]
mod tests;
