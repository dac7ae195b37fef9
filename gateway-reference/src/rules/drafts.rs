//! The rules an administrator is editing in the Identity Manager and has not saved yet: one
//! draft per tenant, kept in the database so that it survives a restart and is shared by
//! every gateway process (and every administrator of the tenant) until it is saved or
//! discarded.
//!
//! A draft remembers the saved version it started from, so that saving it over a version
//! someone else saved meanwhile can be pointed out ([`Working::behind`]).

use scim_server::TenantId;

use super::RuleSet;
use super::versions;
use crate::db::{Db, DbError, now};

/// A tenant's unsaved rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The rules as edited.
    pub rules: RuleSet,
    /// The saved version the editing started from (0: none was saved).
    pub base_version: i64,
    /// When it was last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
}

/// The rules to show and edit: the draft when there is one, the saved rules otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Working {
    /// The rules.
    pub rules: RuleSet,
    /// The draft, when the rules are one.
    pub draft: Option<Draft>,
    /// The tenant's current saved version (0: none).
    pub saved_version: i64,
}

impl Working {
    /// A draft started from an older version than the saved one: saving it replaces rules
    /// that someone saved after the editing began.
    pub fn behind(&self) -> bool {
        self.draft
            .as_ref()
            .is_some_and(|d| d.base_version < self.saved_version)
    }
}

/// The tenant's draft, if any.
pub async fn load(db: &Db, tenant: &TenantId) -> Result<Option<Draft>, DbError> {
    let row = db
        .query_opt(
            "SELECT json, base_version, updated_at, updated_by FROM gw_rule_drafts WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?;
    row.map(|r| {
        Ok(Draft {
            rules: r.json(0)?,
            base_version: r.int(1)?,
            updated_at: r.text(2)?,
            updated_by: r.text(3)?,
        })
    })
    .transpose()
}

/// The rules to edit: the draft, or else the saved rules (none before the first save).
pub async fn working(db: &Db, tenant: &TenantId) -> Result<Working, DbError> {
    let saved = versions::current(db, tenant).await?;
    Ok(Working::new(load(db, tenant).await?, saved.as_ref()))
}

impl Working {
    /// The rules to edit given the tenant's draft and its current saved version.
    pub fn new(draft: Option<Draft>, current: Option<&versions::SavedRules>) -> Working {
        let saved_version = current.map_or(0, |s| s.version);
        match draft {
            Some(d) => Working {
                rules: d.rules.clone(),
                draft: Some(d),
                saved_version,
            },
            None => Working {
                rules: current.map(|s| s.rules.clone()).unwrap_or_default(),
                draft: None,
                saved_version,
            },
        }
    }
}

/// Stores `rules` as the tenant's draft. A new draft starts from `base_version`; an existing
/// one keeps the version it started from.
pub async fn store(
    db: &Db,
    tenant: &TenantId,
    rules: &RuleSet,
    base_version: i64,
    by: &str,
) -> Result<(), DbError> {
    let json = serde_json::to_string(rules).map_err(|e| DbError::Decode(format!("rules: {e}")))?;
    db.execute(
        "INSERT INTO gw_rule_drafts (tenant, json, base_version, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant) DO UPDATE SET json = excluded.json, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[
            tenant.as_str().into(),
            json.as_str().into(),
            base_version.into(),
            now().into(),
            by.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Drops the tenant's draft (after it was saved, or to discard it). Returns whether there
/// was one.
pub async fn discard(db: &Db, tenant: &TenantId) -> Result<bool, DbError> {
    Ok(db
        .execute(
            "DELETE FROM gw_rule_drafts WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
        > 0)
}

/// Drops the tenant's draft only if it is still the one read at `updated_at` (after saving
/// it: a change made meanwhile by another administrator stays as the new draft). Returns
/// whether it was dropped.
pub async fn discard_saved(db: &Db, tenant: &TenantId, updated_at: &str) -> Result<bool, DbError> {
    Ok(db
        .execute(
            "DELETE FROM gw_rule_drafts WHERE tenant = $1 AND updated_at = $2",
            &[tenant.as_str().into(), updated_at.into()],
        )
        .await?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rules::test_rule as rule;

    #[tokio::test]
    async fn a_draft_shadows_the_saved_rules_until_discarded() {
        let (db, t) = crate::db::test_tenant().await;
        let saved = RuleSet {
            rules: vec![rule("a")],
        };
        versions::save(&db, &t, &saved, "alice", None)
            .await
            .unwrap();
        let w = working(&db, &t).await.unwrap();
        assert_eq!((w.rules.clone(), w.draft.is_none()), (saved.clone(), true));

        let edited = RuleSet {
            rules: vec![rule("a"), rule("b")],
        };
        store(&db, &t, &edited, 1, "bob").await.unwrap();
        let w = working(&db, &t).await.unwrap();
        assert_eq!(w.rules, edited);
        assert!(!w.behind());
        // Someone saves meanwhile: the draft is behind, and a second store keeps its base.
        versions::save(&db, &t, &saved, "carol", None)
            .await
            .unwrap();
        store(&db, &t, &edited, 2, "bob").await.unwrap();
        let w = working(&db, &t).await.unwrap();
        assert_eq!(w.draft.as_ref().map(|d| d.base_version), Some(1));
        assert!(w.behind());

        // Saved as read, but changed meanwhile: the newer draft stays.
        let read = load(&db, &t).await.unwrap().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        store(&db, &t, &saved, 2, "dan").await.unwrap();
        assert!(!discard_saved(&db, &t, &read.updated_at).await.unwrap());
        let newer = load(&db, &t).await.unwrap().unwrap();
        assert!(discard_saved(&db, &t, &newer.updated_at).await.unwrap());
        store(&db, &t, &edited, 2, "bob").await.unwrap();
        assert!(discard(&db, &t).await.unwrap());
        assert!(!discard(&db, &t).await.unwrap());
        assert_eq!(working(&db, &t).await.unwrap().rules, saved);
    }
}
