//! Drafts: the rule set an administrator is editing in the Identity Manager and has not saved
//! yet, at most one per tenant. Saving a draft stores it as a new version
//! ([`super::versions::save_checked`]) and then [`discard`]s it; the sync only ever runs saved
//! versions.

use super::RuleSet;
use crate::db::{Db, DbError, now};
use scim_server::TenantId;

/// A tenant's unsaved draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The draft rules.
    pub rules: RuleSet,
    /// When it was last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
}

/// The tenant's draft, if one exists.
pub async fn load(db: &Db, tenant: &TenantId) -> Result<Option<Draft>, DbError> {
    let row = db
        .query_opt(
            "SELECT json, updated_at, updated_by FROM gw_rule_drafts WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?;
    row.map(|r| {
        Ok(Draft {
            rules: r.json(0)?,
            updated_at: r.text(1)?,
            updated_by: r.text(2)?,
        })
    })
    .transpose()
}

/// Stores `rules` as the tenant's draft (replacing an earlier draft).
pub async fn save(db: &Db, tenant: &TenantId, rules: &RuleSet, by: &str) -> Result<(), DbError> {
    let json = serde_json::to_string(rules).map_err(|e| DbError::Decode(format!("rules: {e}")))?;
    db.execute(
        "INSERT INTO gw_rule_drafts (tenant, json, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant) DO UPDATE SET json = excluded.json, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[
            tenant.as_str().into(),
            json.as_str().into(),
            now().into(),
            by.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Forgets the tenant's draft (nothing happens when there is none).
pub async fn discard(db: &Db, tenant: &TenantId) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM gw_rule_drafts WHERE tenant = $1",
        &[tenant.as_str().into()],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_draft_is_saved_replaced_and_discarded() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        db.execute(
            "INSERT INTO gw_tenants (id, name, created_at) VALUES ('t', 'T', $1)",
            &[now().into()],
        )
        .await
        .unwrap();
        let t = TenantId::new("t").unwrap();
        assert!(load(&db, &t).await.unwrap().is_none());
        save(&db, &t, &RuleSet::default(), "alice").await.unwrap();
        save(&db, &t, &RuleSet::default(), "bob").await.unwrap();
        let d = load(&db, &t).await.unwrap().unwrap();
        assert_eq!(d.updated_by, "bob");
        discard(&db, &t).await.unwrap();
        assert!(load(&db, &t).await.unwrap().is_none());
    }
}
