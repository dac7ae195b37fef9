//! Saved rule sets: every saved version of a tenant's rules, with who saved it and when.
//! The highest version is the current one; restoring an earlier version saves it again as a
//! new version, so history is never rewritten.

use serde::{Deserialize, Serialize};

use super::RuleSet;
use crate::db::{Db, DbError, now};
use scim_server::TenantId;

/// One saved version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedRules {
    /// 1 for the first save, then one more per save.
    pub version: i64,
    /// The rules.
    pub rules: RuleSet,
    /// When (RFC 3339, UTC).
    pub saved_at: String,
    /// Who (the admin token's label, or `cli`).
    pub saved_by: String,
    /// An optional comment.
    pub comment: Option<String>,
}

/// A row of `SELECT version, json, saved_at, saved_by, comment`.
fn saved(r: &crate::db::Row) -> Result<SavedRules, DbError> {
    Ok(SavedRules {
        version: r.int(0)?,
        rules: r.json(1)?,
        saved_at: r.text(2)?,
        saved_by: r.text(3)?,
        comment: r.opt_text(4)?,
    })
}

/// The current rules of the tenant (`None` before the first save).
pub async fn current(db: &Db, tenant: &TenantId) -> Result<Option<SavedRules>, DbError> {
    let row = db
        .query_opt(
            "SELECT version, json, saved_at, saved_by, comment FROM gw_rule_versions \
             WHERE tenant = $1 ORDER BY version DESC LIMIT 1",
            &[tenant.as_str().into()],
        )
        .await?;
    row.as_ref().map(saved).transpose()
}

/// The number of the tenant's current version (0: none saved), without reading the rules.
pub async fn current_version(db: &Db, tenant: &TenantId) -> Result<i64, DbError> {
    db.query_opt(
        "SELECT version FROM gw_rule_versions WHERE tenant = $1 ORDER BY version DESC LIMIT 1",
        &[tenant.as_str().into()],
    )
    .await?
    .map_or(Ok(0), |r| r.int(0))
}

/// One version of the tenant's rules.
pub async fn get(db: &Db, tenant: &TenantId, version: i64) -> Result<Option<SavedRules>, DbError> {
    let row = db
        .query_opt(
            "SELECT version, json, saved_at, saved_by, comment FROM gw_rule_versions \
             WHERE tenant = $1 AND version = $2",
            &[tenant.as_str().into(), version.into()],
        )
        .await?;
    row.as_ref().map(saved).transpose()
}

/// Every version, newest first, without the rules themselves being left out.
pub async fn list(db: &Db, tenant: &TenantId) -> Result<Vec<SavedRules>, DbError> {
    let rows = db
        .query(
            "SELECT version, json, saved_at, saved_by, comment FROM gw_rule_versions \
             WHERE tenant = $1 ORDER BY version DESC",
            &[tenant.as_str().into()],
        )
        .await?;
    rows.iter().map(saved).collect()
}

/// The newest `limit` versions, newest first (the first is the current one).
pub async fn recent(db: &Db, tenant: &TenantId, limit: i64) -> Result<Vec<SavedRules>, DbError> {
    let rows = db
        .query(
            "SELECT version, json, saved_at, saved_by, comment FROM gw_rule_versions \
             WHERE tenant = $1 ORDER BY version DESC LIMIT $2",
            &[tenant.as_str().into(), limit.into()],
        )
        .await?;
    rows.iter().map(saved).collect()
}

/// Saves `rules` as the tenant's new current version and returns its number. The caller
/// validates first (`rules::validate`); this only stores. Two concurrent saves get distinct
/// versions (the primary key refuses a duplicate, and the save retries).
pub async fn save(
    db: &Db,
    tenant: &TenantId,
    rules: &RuleSet,
    by: &str,
    comment: Option<&str>,
) -> Result<i64, DbError> {
    let json = serde_json::to_string(rules).map_err(|e| DbError::Decode(format!("rules: {e}")))?;
    let mut attempts = 0;
    loop {
        let mut tx = db.begin().await?;
        let next = tx
            .query_opt(
                "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM gw_rule_versions \
                 WHERE tenant = $1",
                &[tenant.as_str().into()],
            )
            .await?
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(1);
        let inserted = tx
            .execute(
                "INSERT INTO gw_rule_versions (tenant, version, json, saved_at, saved_by, comment) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    tenant.as_str().into(),
                    next.into(),
                    json.as_str().into(),
                    now().into(),
                    by.into(),
                    comment.into(),
                ],
            )
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                return Ok(next);
            }
            Err(e) if e.is_unique_violation() && attempts < 5 => {
                attempts += 1;
                drop(tx);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why [`save_checked`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The rule set is invalid; every problem, each naming its rule and field. Nothing was
    /// saved.
    #[error("the rules are invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<super::RuleError>),
    /// The CRM catalogue could not be read.
    #[error(transparent)]
    Crm(#[from] crate::crm::CrmError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Validates `rules` against the tenant's CRM catalogue and the groups its SCIM client
/// pushed (by `externalId`), then saves them as a new version. Nothing is saved when any
/// rule is invalid.
pub async fn save_checked(
    db: &Db,
    crm: &dyn crate::crm::Crm,
    tenant: &TenantId,
    rules: &RuleSet,
    by: &str,
    comment: Option<&str>,
) -> Result<i64, SaveError> {
    let catalog = crm.catalog(tenant).await?;
    let groups: std::collections::HashSet<String> = crate::directory::groups(db, tenant)
        .await?
        .into_iter()
        .filter_map(|g| g.external_id)
        .collect();
    super::validate(rules, &catalog, &|g: &str| groups.contains(g)).map_err(SaveError::Invalid)?;
    Ok(save(db, tenant, rules, by, comment).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rules::test_rule as rule;

    #[tokio::test]
    async fn versions_grow_and_are_kept() {
        let (db, t) = crate::db::test_tenant().await;
        assert!(current(&db, &t).await.unwrap().is_none());
        let one = RuleSet {
            rules: vec![rule("a")],
        };
        let two = RuleSet {
            rules: vec![rule("a"), rule("b")],
        };
        assert_eq!(save(&db, &t, &one, "alice", None).await.unwrap(), 1);
        assert_eq!(save(&db, &t, &two, "bob", Some("add b")).await.unwrap(), 2);
        let cur = current(&db, &t).await.unwrap().unwrap();
        assert_eq!(
            (cur.version, cur.rules, cur.saved_by.as_str()),
            (2, two, "bob")
        );
        assert_eq!(get(&db, &t, 1).await.unwrap().unwrap().rules, one);
        assert_eq!(list(&db, &t).await.unwrap().len(), 2);
    }
}
