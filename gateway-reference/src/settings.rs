//! Per-tenant settings: User Sync Active, Send Welcome Email, Notifications Email, the
//! deprovisioning policy and the provisioning log's retention.

use serde::{Deserialize, Serialize};

use crate::db::{Db, DbError, now};
use scim_server::TenantId;

/// What happens in the CRM to a synced user who stops matching every enabled rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum UnmatchedPolicy {
    /// Retire the CRM user (frees its licences, keeps its history). The default.
    #[default]
    Retire,
    /// Free the user's plan but keep the user active.
    FreeLicence,
    /// Leave the CRM user as it is.
    Keep,
}

/// A tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSettings {
    /// User Sync Active: off stores what the SCIM client pushes and previews it, but writes
    /// nothing to the CRM.
    pub user_sync_active: bool,
    /// Send Welcome Email to each new CRM user.
    pub send_welcome_email: bool,
    /// Where critical errors are reported (licences exhausted, CRM unreachable or refusing
    /// credentials, repeated failures).
    pub notifications_email: Option<String>,
    /// A synced user who stops matching every rule.
    pub unmatched_policy: UnmatchedPolicy,
    /// How many days the provisioning log keeps entries.
    pub log_retention_days: u32,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            user_sync_active: false,
            send_welcome_email: false,
            notifications_email: None,
            unmatched_policy: UnmatchedPolicy::Retire,
            log_retention_days: 30,
        }
    }
}

/// The tenant's settings ([`TenantSettings::default`] when none were saved).
pub async fn load(db: &Db, tenant: &TenantId) -> Result<TenantSettings, DbError> {
    match db
        .query_opt(
            "SELECT json FROM gw_settings WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
    {
        Some(row) => row.json(0),
        None => Ok(TenantSettings::default()),
    }
}

/// Saves the tenant's settings; `by` names who saved them (an admin token's label).
pub async fn save(
    db: &Db,
    tenant: &TenantId,
    settings: &TenantSettings,
    by: &str,
) -> Result<(), DbError> {
    let json =
        serde_json::to_string(settings).map_err(|e| DbError::Decode(format!("settings: {e}")))?;
    db.execute(
        "INSERT INTO gw_settings (tenant, json, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant) DO UPDATE SET json = excluded.json, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[tenant.as_str().into(), json.into(), now().into(), by.into()],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn defaults_then_saved() {
        let (db, t) = crate::db::test_tenant().await;
        let s = load(&db, &t).await.unwrap();
        assert!(!s.user_sync_active);
        assert_eq!(s.unmatched_policy, UnmatchedPolicy::Retire);
        let s = TenantSettings {
            user_sync_active: true,
            notifications_email: Some("ops@example.com".into()),
            ..TenantSettings::default()
        };
        save(&db, &t, &s, "admin").await.unwrap();
        assert_eq!(load(&db, &t).await.unwrap(), s);
        // Older documents without newer fields still load.
        let partial: TenantSettings = serde_json::from_str(r#"{"userSyncActive":true}"#).unwrap();
        assert!(partial.user_sync_active);
        assert_eq!(partial.log_retention_days, 30);
    }
}
