//! Saving a tenant's User Sync Rules as a new version and putting them to work: validate
//! against the CRM catalogue and the directory's groups, save, queue every user for
//! re-evaluation, record it in the provisioning log. The admin API, the Identity Manager and
//! the CLI all save through [`SyncEngine::save_rules`].

use scim_server::TenantId;

use super::{SyncEngine, SyncError};
use crate::log::{self, NewEntry, Outcome, Source};
use crate::rules::RuleSet;
use crate::rules::versions::{self, SaveError};

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RulesSaved {
    /// The new version.
    pub version: i64,
    /// Users queued for re-evaluation.
    pub users_queued: u64,
}

/// Why a save failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveRulesError {
    /// Invalid rules, the CRM catalogue unreadable, or the database; nothing was saved.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// The rules were saved but queueing the users failed (the next Sync all, or the next
    /// change of each user, evaluates them).
    #[error("version {version} is saved, but queueing the users failed: {source}")]
    Queue {
        /// The saved version.
        version: i64,
        /// The cause.
        #[source]
        source: SyncError,
    },
}

impl SyncEngine {
    /// Validates `rules`, saves them as the tenant's new version (`by` and `comment` kept
    /// with it) and queues every user, so that the rules apply to everyone.
    pub async fn save_rules(
        &self,
        tenant: &TenantId,
        rules: &RuleSet,
        by: &str,
        comment: Option<&str>,
    ) -> Result<RulesSaved, SaveRulesError> {
        let db = &self.inner.db;
        let version =
            versions::save_checked(db, &*self.inner.crm, tenant, rules, by, comment).await?;
        let queue = async {
            let users_queued = self.sync_all(tenant).await?;
            let entry = NewEntry {
                user_id: None,
                user_name: None,
                source: Source::Admin,
                action: "rules-saved",
                outcome: Outcome::Success,
                reason: Some(by),
                detail: Some(serde_json::json!({ "version": version })),
            };
            log::append(db, tenant, &entry).await?;
            Ok::<_, SyncError>(users_queued)
        };
        let users_queued = queue
            .await
            .map_err(|source| SaveRulesError::Queue { version, source })?;
        Ok(RulesSaved {
            version,
            users_queued,
        })
    }
}
