//! The provisioning log, per tenant, like Entra's provisioning logs: every SCIM change's
//! effect and every CRM action with its outcome and reason.

use serde::{Deserialize, Serialize};

use crate::db::{Db, DbError, Tx, Value, now};
use scim_server::TenantId;

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// The SCIM side (what the identity provider pushed).
    Scim,
    /// The sync's rule evaluation (a user starts or stops matching).
    Rules,
    /// A CRM write.
    Crm,
    /// An administrator's action.
    Admin,
}

impl Source {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Scim => "scim",
            Source::Rules => "rules",
            Source::Crm => "crm",
            Source::Admin => "admin",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Done.
    Success,
    /// Deliberately not done (sync off, no rule matches, nothing to change).
    Skipped,
    /// Failed; will be retried.
    Retrying,
    /// Failed.
    Failure,
}

impl Outcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Skipped => "skipped",
            Outcome::Retrying => "retrying",
            Outcome::Failure => "failure",
        }
    }
}

/// A new log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry<'a> {
    /// The SCIM user id it concerns, if any.
    pub user_id: Option<&'a str>,
    /// The user's userName, if known.
    pub user_name: Option<&'a str>,
    /// Where it comes from.
    pub source: Source,
    /// What was done: `create`, `update`, `retire`, `reactivate`, `free-licence`,
    /// `scim-created`, ...
    pub action: &'a str,
    /// How it ended.
    pub outcome: Outcome,
    /// Why (a rule, an error message).
    pub reason: Option<&'a str>,
    /// Details as JSON (the settings written, the changed attributes).
    pub detail: Option<serde_json::Value>,
}

const INSERT: &str = "INSERT INTO gw_log (tenant, at, user_id, user_name, source, action, \
                      outcome, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

fn params(tenant: &TenantId, e: &NewEntry<'_>) -> Vec<Value> {
    vec![
        tenant.as_str().into(),
        now().into(),
        e.user_id.into(),
        e.user_name.into(),
        e.source.as_str().into(),
        e.action.into(),
        e.outcome.as_str().into(),
        e.reason.into(),
        e.detail.as_ref().map(|d| d.to_string()).into(),
    ]
}

/// Appends an entry.
pub async fn append(db: &Db, tenant: &TenantId, entry: &NewEntry<'_>) -> Result<(), DbError> {
    db.execute(INSERT, &params(tenant, entry)).await?;
    Ok(())
}

/// Appends an entry inside a transaction (so it commits with the change it records).
pub async fn append_tx(
    tx: &mut Tx,
    tenant: &TenantId,
    entry: &NewEntry<'_>,
) -> Result<(), DbError> {
    tx.execute(INSERT, &params(tenant, entry)).await?;
    Ok(())
}

/// Removes the tenant's entries older than `days` days; returns how many.
pub async fn prune(db: &Db, tenant: &TenantId, days: u32) -> Result<u64, DbError> {
    let cutoff = (chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    db.execute(
        "DELETE FROM gw_log WHERE tenant = $1 AND at < $2",
        &[tenant.as_str().into(), cutoff.into()],
    )
    .await
}
