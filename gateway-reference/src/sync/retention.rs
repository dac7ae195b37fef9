//! Retention of the SCIM change feed: the sync is the feed's consumer, so every change at or
//! before the position the sync has recorded for a tenant is no longer needed and is pruned
//! ([`Storage::prune_changes`](scim_server::Storage::prune_changes)). Without this the feed
//! grows by one row per SCIM write forever.
//!
//! Pruning never loses work: the position is stored in the same transaction as the mirror
//! rows the changes produced, and a consumer that finds its position pruned (a Reset, a
//! restored backup) rebuilds the mirror from the resources instead of skipping changes.

use scim_server::TenantId;
use scim_server::storage::StorageErrorKind;

use super::{SyncEngine, SyncError};

impl SyncEngine {
    /// Prunes the tenant's SCIM change feed through the position the sync has consumed;
    /// returns how many changes were removed (0 before the first pass, or when the storage
    /// has no change feed).
    pub async fn prune_consumed_changes(&self, tenant: &TenantId) -> Result<u64, SyncError> {
        let Some(row) = self
            .inner
            .db
            .query_opt(
                "SELECT seq FROM gw_feed_positions WHERE tenant = $1",
                &[tenant.as_str().into()],
            )
            .await?
        else {
            return Ok(0);
        };
        let through = u64::try_from(row.int(0)?).unwrap_or(0);
        if through == 0 {
            return Ok(0);
        }
        match self.inner.storage.prune_changes(tenant, through).await {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), StorageErrorKind::Unsupported) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// [`SyncEngine::prune_consumed_changes`] for every tenant; the total removed. A tenant
    /// that fails is logged and skipped.
    pub async fn prune_all_consumed_changes(&self) -> Result<u64, SyncError> {
        let mut removed = 0;
        for tenant in crate::tenants::ids(&self.inner.db).await? {
            match self.prune_consumed_changes(&tenant).await {
                Ok(n) => removed += n,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "pruning the change feed failed");
                }
            }
        }
        Ok(removed)
    }
}
