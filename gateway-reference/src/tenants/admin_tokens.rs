//! Listing and revoking admin API tokens. A token is named by [`AdminTokenInfo::id`], the
//! first 12 hex digits of its SHA-256 hash: enough to tell tokens apart, useless for signing
//! in (the hash of a 244-bit random token cannot be inverted, and a prefix even less so).

use scim_server::TenantId;
use serde::{Deserialize, Serialize};

use super::AdminScope;
use crate::db::{Db, DbError, Value, now};

/// How many hex digits of the hash name a token.
pub const ADMIN_TOKEN_ID_LEN: usize = 12;

/// An admin API token as the API and the CLI show it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdminTokenInfo {
    /// The token's id: the first 12 hex digits of its SHA-256 hash.
    pub id: String,
    /// The tenant it is limited to; `None`: every tenant.
    pub tenant: Option<String>,
    /// Who or what created it (`cli`, `first-start`, ...).
    pub label: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The admin tokens `scope` may see: every token for [`AdminScope::All`], the tenant's own
/// for [`AdminScope::Tenant`]. Oldest first.
pub async fn list_admin_tokens(
    db: &Db,
    scope: &AdminScope,
) -> Result<Vec<AdminTokenInfo>, DbError> {
    let (sql, params): (&str, Vec<Value>) = match scope {
        AdminScope::All => (
            "SELECT hash, tenant, label, created_at, revoked_at FROM gw_admin_tokens \
             ORDER BY created_at, hash",
            vec![],
        ),
        AdminScope::Tenant(t) => (
            "SELECT hash, tenant, label, created_at, revoked_at FROM gw_admin_tokens \
             WHERE tenant = $1 ORDER BY created_at, hash",
            vec![t.as_str().into()],
        ),
    };
    db.query(sql, &params)
        .await?
        .iter()
        .map(|r| {
            let hash = r.text(0)?;
            Ok(AdminTokenInfo {
                id: hash.chars().take(ADMIN_TOKEN_ID_LEN).collect(),
                tenant: r.opt_text(1)?,
                label: r.text(2)?,
                created_at: r.text(3)?,
                revoked_at: r.opt_text(4)?,
            })
        })
        .collect()
}

/// Why an admin token could not be revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeAdminTokenError {
    /// No token visible to the caller has this id.
    #[error("no admin token has the id {0:?}")]
    NotFound(String),
    /// The id is not 12 hex digits.
    #[error("an admin token id is {ADMIN_TOKEN_ID_LEN} hex digits, not {0:?}")]
    InvalidId(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Revokes the admin token with this `id`, if `scope` may see it; it stops working at once
/// (admin tokens are not cached). Revoking a revoked token is not an error.
pub async fn revoke_admin_token(
    db: &Db,
    scope: &AdminScope,
    id: &str,
) -> Result<AdminTokenInfo, RevokeAdminTokenError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != ADMIN_TOKEN_ID_LEN || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(RevokeAdminTokenError::InvalidId(id));
    }
    let tenant: Option<&TenantId> = match scope {
        AdminScope::All => None,
        AdminScope::Tenant(t) => Some(t),
    };
    // `hash` is lower-case hex; the prefix is hex only, so LIKE sees no wildcard.
    let pattern = format!("{id}%");
    db.execute(
        "UPDATE gw_admin_tokens SET revoked_at = $3 WHERE hash LIKE $1 \
         AND ($2 IS NULL OR tenant = $2) AND revoked_at IS NULL",
        &[
            pattern.as_str().into(),
            tenant.map(TenantId::as_str).into(),
            now().into(),
        ],
    )
    .await?;
    list_admin_tokens(db, scope)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(RevokeAdminTokenError::NotFound(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::{admin_scope, create, create_admin_token};

    #[tokio::test]
    async fn list_and_revoke_respect_the_scope() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let a = create(&db, "A").await.unwrap().tenant_id().unwrap();
        let b = create(&db, "B").await.unwrap().tenant_id().unwrap();
        let global = create_admin_token(&db, None, "cli").await.unwrap();
        let for_a = create_admin_token(&db, Some(&a), "cli").await.unwrap();
        let for_b = create_admin_token(&db, Some(&b), "cli").await.unwrap();

        let all = list_admin_tokens(&db, &AdminScope::All).await.unwrap();
        assert_eq!(all.len(), 3);
        let only_a = list_admin_tokens(&db, &AdminScope::Tenant(a.clone()))
            .await
            .unwrap();
        assert_eq!(only_a.len(), 1);
        assert_eq!(only_a[0].tenant.as_deref(), Some("a"));
        assert!(
            all.iter()
                .all(|t| t.id.len() == ADMIN_TOKEN_ID_LEN && !global.starts_with(&t.id))
        );

        // A tenant's token cannot revoke another tenant's.
        let b_id = all
            .iter()
            .find(|t| t.tenant.as_deref() == Some("b"))
            .unwrap()
            .id
            .clone();
        let refused = revoke_admin_token(&db, &AdminScope::Tenant(a.clone()), &b_id).await;
        assert!(matches!(refused, Err(RevokeAdminTokenError::NotFound(_))));
        assert!(admin_scope(&db, &for_b).await.unwrap().is_some());

        // The global scope can, and the token stops working at once.
        let revoked = revoke_admin_token(&db, &AdminScope::All, &b_id.to_uppercase())
            .await
            .unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(admin_scope(&db, &for_b).await.unwrap().is_none());
        assert!(admin_scope(&db, &for_a).await.unwrap().is_some());
        assert!(admin_scope(&db, &global).await.unwrap().is_some());

        // Ids that are not 12 hex digits (LIKE wildcards included) are refused.
        for bad in ["%", "abc", "zzzzzzzzzzzz", "____________"] {
            let e = revoke_admin_token(&db, &AdminScope::All, bad).await;
            assert!(
                matches!(e, Err(RevokeAdminTokenError::InvalidId(_))),
                "{bad}"
            );
        }
        assert!(admin_scope(&db, &global).await.unwrap().is_some());
    }
}
