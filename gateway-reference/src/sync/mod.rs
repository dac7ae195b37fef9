//! The sync: a durable, level-triggered reconciler from the SCIM side to the CRM.
//!
//! Two steps per tenant, repeated:
//! 1. [`ingest::ingest_page`] reads the SCIM change feed (`scim_server::Storage::changes_since`)
//!    from the recorded position, updates the directory mirror and marks exactly the users the
//!    changes affect as dirty; the position is stored in the same transaction. It runs whether
//!    or not User Sync Active is on, so the preview always sees what the SCIM client pushed.
//! 2. [`reconcile::reconcile_batch`] (only with User Sync Active on) computes each dirty user's
//!    desired CRM state from the rules and writes the difference. A CRM outage is retried with
//!    exponential backoff; per-user errors (no free seat) are logged and retried later
//!    without blocking the other users.
//!
//! Nothing acknowledged is lost: a change is in the feed if and only if the SCIM write
//! committed, and a user stays dirty until its CRM state is written and recorded.

pub mod error;
pub mod ingest;
mod publish;
pub mod reconcile;
pub mod retention;
pub mod wake;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scim_core::schema::SchemaRegistry;
use scim_server::{Storage, TenantId};
use tokio::sync::{Mutex, Notify};

pub use error::SyncError;
pub use ingest::{IngestReport, ingest_page};
pub use publish::{RulesSaved, SaveRulesError};
pub use reconcile::{ReconcileReport, reconcile_batch};
pub use wake::WakeOnChange;

use crate::crm::Crm;
use crate::crm::connections::Keys;
use crate::db::Db;
use crate::log::{self, NewEntry, Outcome, Source};
use crate::mail::{MailConfig, MailContext};
use crate::rules::{CompiledRules, RuleSet, versions};
use crate::settings;

/// Changes read per ingest page.
pub const INGEST_PAGE: usize = 1000;
/// Users reconciled per batch.
pub const RECONCILE_BATCH: usize = 200;

/// The sync engine of a gateway process. Cloning is cheap.
#[derive(Clone)]
pub struct SyncEngine {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    storage: Arc<dyn Storage>,
    registry: SchemaRegistry,
    crm: Arc<dyn Crm>,
    mail: MailConfig,
    /// The deployment's key (welcome links wait in the outbox sealed with it).
    keys: Arc<Keys>,
    wake: Notify,
    /// Compiled rules per tenant, keyed by the saved version.
    rules: Mutex<HashMap<TenantId, (i64, Arc<CompiledRules>)>>,
    /// Tenants whose CRM was unavailable: how often in a row, and when to try again.
    outages: std::sync::Mutex<HashMap<TenantId, Outage>>,
}

/// A tenant's CRM outage as this process saw it.
#[derive(Debug, Clone, Copy)]
struct Outage {
    failures: u32,
    retry_at: std::time::Instant,
}

/// The longest a tenant's reconciling pauses between tries while its CRM is unavailable
/// (1 s, 2 s, 4 s, ... up to this): an outage costs one request per tenant per interval,
/// not one per pass, and its end is noticed within it.
pub const OUTAGE_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// 1 s after the first failure, doubling, at most [`OUTAGE_BACKOFF_MAX`].
fn outage_backoff(failures: u32) -> Duration {
    Duration::from_secs(1_u64 << failures.saturating_sub(1).min(5)).min(OUTAGE_BACKOFF_MAX)
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine").finish_non_exhaustive()
    }
}

/// A tenant's sync status (see [`SyncEngine::status`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// Users waiting to be reconciled (all of them while User Sync Active is off).
    pub pending_users: i64,
    /// The change feed position the directory mirror reflects.
    pub feed_position: i64,
    /// The SCIM side's latest change; equal to `feedPosition` when the mirror is current.
    pub last_change: i64,
    /// Users whose CRM user the sync keeps.
    pub users_synced: i64,
    /// Users whose last CRM write failed.
    pub users_in_error: i64,
}

/// What the sync last did for one SCIM user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSyncState {
    /// `synced` (a CRM user with the rules' settings), `retired` (deactivated in the CRM),
    /// `freed` (kept, licence removed), `creating` (a create in flight) or `error`.
    pub state: String,
    /// The CRM user's id (`AssociateId`), once there is one.
    pub associate_id: Option<i64>,
    /// The last failure, if the last attempt failed.
    pub error: Option<String>,
    /// When (RFC 3339, UTC).
    pub updated_at: String,
}

/// What [`SyncEngine::run_tenant`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPass {
    /// Changes ingested.
    pub changes: usize,
    /// Users written to the CRM.
    pub written: usize,
    /// Users that failed.
    pub failed: usize,
    /// The CRM was unavailable.
    pub crm_unavailable: bool,
}

impl SyncEngine {
    /// An engine over the SCIM `storage` (with the schemas of `registry`), the gateway's
    /// `db` and `crm`.
    pub fn new(
        db: Db,
        storage: Arc<dyn Storage>,
        registry: SchemaRegistry,
        crm: Arc<dyn Crm>,
    ) -> SyncEngine {
        // A key of this engine alone: its welcome links open only with it (the gateway
        // passes the deployment's key to `with_mail`).
        let keys = Arc::new(Keys::random());
        SyncEngine::with_mail(db, storage, registry, crm, MailConfig::default(), keys)
    }

    /// [`SyncEngine::new`] with the deployment's mail settings (welcome links point to its
    /// public URL; notification thresholds) and key (the welcome links' tokens wait in the
    /// outbox sealed with it; the mail worker needs the same key to send them).
    pub fn with_mail(
        db: Db,
        storage: Arc<dyn Storage>,
        registry: SchemaRegistry,
        crm: Arc<dyn Crm>,
        mail: MailConfig,
        keys: Arc<Keys>,
    ) -> SyncEngine {
        SyncEngine {
            inner: Arc::new(Inner {
                db,
                storage,
                registry,
                crm,
                mail,
                keys,
                wake: Notify::new(),
                rules: Mutex::new(HashMap::new()),
                outages: std::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Wakes the background loop now (call after a SCIM write or a rule change), instead of
    /// at its next poll.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The tenant's current rules, compiled (an empty set before the first save).
    pub async fn rules(&self, tenant: &TenantId) -> Result<Arc<CompiledRules>, SyncError> {
        // Every pass asks only for the version number; the rules are read and compiled
        // again only when a newer version was saved (by any process).
        let latest = versions::current_version(&self.inner.db, tenant).await?;
        let mut cache = self.inner.rules.lock().await;
        if let Some((v, compiled)) = cache.get(tenant)
            && *v == latest
        {
            return Ok(compiled.clone());
        }
        let saved = versions::current(&self.inner.db, tenant).await?;
        let version = saved.as_ref().map_or(0, |s| s.version);
        let set = saved.map(|s| s.rules).unwrap_or_else(RuleSet::default);
        let compiled = Arc::new(set.compile().map_err(|e| SyncError::Rules(e.to_string()))?);
        cache.insert(tenant.clone(), (version, compiled.clone()));
        Ok(compiled)
    }

    /// Ingests the tenant's feed until it is caught up, then reconciles its due dirty users
    /// (with User Sync Active on) until none is left or the CRM is unavailable.
    pub async fn run_tenant(&self, tenant: &TenantId) -> Result<TenantPass, SyncError> {
        let i = &self.inner;
        let mut pass = TenantPass::default();
        loop {
            let r = ingest_page(&*i.storage, &i.registry, &i.db, tenant, INGEST_PAGE).await?;
            pass.changes += r.changes;
            if r.busy || r.changes < INGEST_PAGE {
                break;
            }
        }
        let settings = settings::load(&i.db, tenant).await?;
        if !settings.user_sync_active {
            return Ok(pass);
        }
        if self.outage_wait(tenant).is_some() {
            // The CRM was unavailable moments ago: the changes wait (they are durable), the
            // CRM is not asked again before the backoff ends.
            pass.crm_unavailable = true;
            return Ok(pass);
        }
        let rules = self.rules(tenant).await?;
        let mut reached = false;
        loop {
            let r = reconcile_batch(
                &i.db,
                &*i.crm,
                tenant,
                &rules,
                &settings,
                RECONCILE_BATCH,
                MailContext {
                    config: &i.mail,
                    keys: &i.keys,
                },
            )
            .await?;
            pass.written += r.written;
            pass.failed += r.failed;
            if r.crm_unavailable {
                pass.crm_unavailable = true;
                break;
            }
            reached |= r.claimed > 0;
            if r.claimed < RECONCILE_BATCH {
                break;
            }
        }
        if pass.crm_unavailable {
            self.outage_seen(tenant);
        } else if reached {
            self.outage_over(tenant);
        }
        Ok(pass)
    }

    /// How long the tenant's reconciling still pauses for a CRM outage, if it does.
    fn outage_wait(&self, tenant: &TenantId) -> Option<Duration> {
        let outages = self.inner.outages.lock().ok()?;
        let o = outages.get(tenant)?;
        o.retry_at
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
    }

    fn outage_seen(&self, tenant: &TenantId) {
        if let Ok(mut outages) = self.inner.outages.lock() {
            let failures = outages.get(tenant).map_or(0, |o| o.failures) + 1;
            outages.insert(
                tenant.clone(),
                Outage {
                    failures,
                    retry_at: std::time::Instant::now() + outage_backoff(failures),
                },
            );
        }
    }

    /// Forgets the tenant's outage: the CRM answered, or an administrator asked for a sync.
    fn outage_over(&self, tenant: &TenantId) {
        if let Ok(mut outages) = self.inner.outages.lock() {
            outages.remove(tenant);
        }
    }

    /// One pass over every tenant; errors of one tenant are logged and do not stop the others.
    pub async fn run_once(&self) -> Result<Vec<(TenantId, TenantPass)>, SyncError> {
        let mut out = Vec::new();
        for tenant in crate::tenants::ids(&self.inner.db).await? {
            match self.run_tenant(&tenant).await {
                Ok(pass) => out.push((tenant, pass)),
                Err(e) => tracing::warn!(tenant = %tenant, error = %e, "sync pass failed"),
            }
        }
        Ok(out)
    }

    /// Waits until woken ([`SyncEngine::wake`]) or `poll` has passed.
    pub async fn wait_for_work(&self, poll: Duration) {
        tokio::select! {
            () = self.inner.wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }

    /// The tenant's sync status: users waiting for the reconciler, the feed position the
    /// mirror reflects, and the SCIM side's latest change.
    pub async fn status(&self, tenant: &TenantId) -> Result<SyncStatus, SyncError> {
        let t = tenant.as_str();
        let db = &self.inner.db;
        let count = |sql: &'static str| async move {
            Ok::<i64, SyncError>(
                db.query_opt(sql, &[t.into()])
                    .await?
                    .map(|r| r.int(0))
                    .transpose()?
                    .unwrap_or(0),
            )
        };
        let pending =
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM gw_dirty WHERE tenant = $1").await?;
        let position = count("SELECT seq FROM gw_feed_positions WHERE tenant = $1").await?;
        let errors = count(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM gw_sync_state WHERE tenant = $1 AND error IS NOT NULL",
        )
        .await?;
        let synced = count(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM gw_sync_state WHERE tenant = $1 AND state = 'synced'",
        )
        .await?;
        let last_change = self.inner.storage.last_change(tenant).await?;
        Ok(SyncStatus {
            pending_users: pending,
            feed_position: position,
            last_change: i64::try_from(last_change).unwrap_or(i64::MAX),
            users_synced: synced,
            users_in_error: errors,
        })
    }

    /// Sync user: marks one SCIM user dirty and runs the tenant now.
    pub async fn sync_user(
        &self,
        tenant: &TenantId,
        user_id: &str,
    ) -> Result<TenantPass, SyncError> {
        mark_dirty(&self.inner.db, tenant, Some(user_id)).await?;
        self.audit(tenant, "sync-user", Some(user_id)).await?;
        // An administrator asks now: try the CRM now, whatever the outage backoff says.
        self.outage_over(tenant);
        self.run_tenant(tenant).await
    }

    /// Whether Sync user can act on `user_id`: a user of the mirror, or one the sync wrote
    /// before (a user since deleted in SCIM, whose CRM user is still to retire).
    pub async fn knows_user(&self, tenant: &TenantId, user_id: &str) -> Result<bool, SyncError> {
        Ok(self
            .inner
            .db
            .query_opt(
                "SELECT 1 FROM gw_users WHERE tenant = $1 AND id = $2 \
                 UNION SELECT 1 FROM gw_sync_state WHERE tenant = $1 AND user_id = $2",
                &[tenant.as_str().into(), user_id.into()],
            )
            .await?
            .is_some())
    }

    /// What the sync last did for one user (`None`: nothing yet).
    pub async fn user_state(
        &self,
        tenant: &TenantId,
        user_id: &str,
    ) -> Result<Option<UserSyncState>, SyncError> {
        let row = self
            .inner
            .db
            .query_opt(
                "SELECT state, associate_id, error, updated_at FROM gw_sync_state \
                 WHERE tenant = $1 AND user_id = $2",
                &[tenant.as_str().into(), user_id.into()],
            )
            .await?;
        Ok(row
            .map(|r| {
                Ok::<_, crate::db::DbError>(UserSyncState {
                    state: r.text(0)?,
                    associate_id: r.opt_int(1)?,
                    error: r.opt_text(2)?,
                    updated_at: r.text(3)?,
                })
            })
            .transpose()?)
    }

    /// Sync all: marks every user of the mirror (and every user the sync ever wrote) dirty
    /// and wakes the loop. Call it after saving rules or turning User Sync Active on.
    pub async fn sync_all(&self, tenant: &TenantId) -> Result<u64, SyncError> {
        let n = mark_dirty(&self.inner.db, tenant, None).await?;
        self.audit(tenant, "sync-all", None).await?;
        self.outage_over(tenant);
        self.wake();
        Ok(n)
    }

    /// Reset: forgets what the sync wrote (the next sync finds CRM users by user name
    /// again) and the pending work; keeps the rules, settings and the mirror.
    pub async fn reset(&self, tenant: &TenantId) -> Result<(), SyncError> {
        let mut tx = self.inner.db.begin().await?;
        for table in ["gw_sync_state", "gw_dirty"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE tenant = $1"),
                &[tenant.as_str().into()],
            )
            .await?;
        }
        tx.commit().await?;
        self.audit(tenant, "reset", None).await
    }

    async fn audit(
        &self,
        tenant: &TenantId,
        action: &str,
        user_id: Option<&str>,
    ) -> Result<(), SyncError> {
        log::append(
            &self.inner.db,
            tenant,
            &NewEntry {
                user_id,
                user_name: None,
                source: Source::Admin,
                action,
                outcome: Outcome::Success,
                reason: None,
                detail: None,
            },
        )
        .await?;
        Ok(())
    }
}

/// Marks one user, or every known user of the tenant, dirty (due now); returns how many.
pub async fn mark_dirty(
    db: &Db,
    tenant: &TenantId,
    user_id: Option<&str>,
) -> Result<u64, SyncError> {
    let t = tenant.as_str();
    Ok(match user_id {
        Some(id) => {
            db.execute(
                "INSERT INTO gw_dirty (tenant, user_id, since_seq) VALUES ($1, $2, 0) \
                 ON CONFLICT (tenant, user_id) DO UPDATE SET next_attempt_at = NULL, attempts = 0",
                &[t.into(), id.into()],
            )
            .await?
        }
        None => {
            db.execute(
                "INSERT INTO gw_dirty (tenant, user_id, since_seq) \
                 SELECT tenant, id, 0 FROM gw_users WHERE tenant = $1 \
                 UNION SELECT tenant, user_id, 0 FROM gw_sync_state WHERE tenant = $1 \
                 ON CONFLICT (tenant, user_id) DO UPDATE SET next_attempt_at = NULL, attempts = 0",
                &[t.into()],
            )
            .await?
        }
    })
}

#[cfg(test)]
mod outage_tests {
    use super::*;

    #[test]
    fn outage_backoff_doubles_and_caps() {
        let secs: Vec<u64> = (1..=8).map(|f| outage_backoff(f).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
