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

/// A stored log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Its number (increasing in insertion order).
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The SCIM user id it concerns.
    pub user_id: Option<String>,
    /// The user's userName.
    pub user_name: Option<String>,
    /// `scim`, `rules`, `crm` or `admin`.
    pub source: String,
    /// What was done.
    pub action: String,
    /// `success`, `skipped`, `retrying` or `failure`.
    pub outcome: String,
    /// Why.
    pub reason: Option<String>,
    /// Details.
    pub detail: Option<serde_json::Value>,
}

/// Which entries [`query`] returns; every field narrows (absent: no condition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// The SCIM user id or the userName.
    pub user: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// At or after this time (the stored form, see [`normalize_time`]).
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// At most this many, newest first.
    pub limit: u32,
    /// Skip this many of the newest first (paging).
    pub offset: u32,
}

impl Outcome {
    /// The outcome stored as `s`.
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Success,
            Outcome::Skipped,
            Outcome::Retrying,
            Outcome::Failure,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// An RFC 3339 time in the stored form (UTC, milliseconds, `Z`), so that text order is time
/// order; `None` when it is not RFC 3339.
///
/// ```
/// use gateway_reference::log::normalize_time;
/// assert_eq!(normalize_time("2026-12-03T10:00:00+01:00").unwrap(), "2026-12-03T09:00:00.000Z");
/// assert!(normalize_time("yesterday").is_none());
/// ```
pub fn normalize_time(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
}

/// The tenant's entries that match `q`, newest first.
pub async fn query(db: &Db, tenant: &TenantId, q: &LogQuery) -> Result<Vec<LogEntry>, DbError> {
    let mut sql = String::from(
        "SELECT id, at, user_id, user_name, source, action, outcome, reason, detail \
         FROM gw_log WHERE tenant = $1",
    );
    let mut params: Vec<Value> = vec![tenant.as_str().into()];
    let add = |cond: &str, v: Value, params: &mut Vec<Value>, sql: &mut String| {
        params.push(v);
        sql.push_str(&cond.replace('?', &format!("${}", params.len())));
    };
    if let Some(u) = &q.user {
        add(" AND (user_id = ? ", u.into(), &mut params, &mut sql);
        add("OR user_name = ?)", u.into(), &mut params, &mut sql);
    }
    if let Some(a) = &q.action {
        add(" AND action = ?", a.into(), &mut params, &mut sql);
    }
    if let Some(o) = q.outcome {
        add(" AND outcome = ?", o.as_str().into(), &mut params, &mut sql);
    }
    if let Some(s) = &q.since {
        add(" AND at >= ?", s.into(), &mut params, &mut sql);
    }
    if let Some(u) = &q.until {
        add(" AND at < ?", u.into(), &mut params, &mut sql);
    }
    add(
        " ORDER BY at DESC, id DESC LIMIT ?",
        i64::from(q.limit).into(),
        &mut params,
        &mut sql,
    );
    add(
        " OFFSET ?",
        i64::from(q.offset).into(),
        &mut params,
        &mut sql,
    );
    db.query(&sql, &params)
        .await?
        .iter()
        .map(|r| {
            Ok(LogEntry {
                id: r.int(0)?,
                at: r.text(1)?,
                user_id: r.opt_text(2)?,
                user_name: r.opt_text(3)?,
                source: r.text(4)?,
                action: r.text(5)?,
                outcome: r.text(6)?,
                reason: r.opt_text(7)?,
                detail: r
                    .opt_text(8)?
                    .map(|d| serde_json::from_str(&d))
                    .transpose()
                    .map_err(|e| DbError::Decode(format!("log detail: {e}")))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn query_filters_and_orders() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let t = TenantId::new("t").unwrap();
        let other = TenantId::new("o").unwrap();
        let entry = |user: &'static str, action: &'static str, outcome| NewEntry {
            user_id: Some(user),
            user_name: Some("ann@example.com"),
            source: Source::Crm,
            action,
            outcome,
            reason: None,
            detail: Some(serde_json::json!({"plan": "Sales"})),
        };
        append(&db, &t, &entry("u1", "create", Outcome::Success))
            .await
            .unwrap();
        append(&db, &t, &entry("u2", "update", Outcome::Failure))
            .await
            .unwrap();
        append(&db, &other, &entry("u1", "create", Outcome::Success))
            .await
            .unwrap();
        let all = query(
            &db,
            &t,
            &LogQuery {
                limit: 10,
                ..LogQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].user_id.as_deref(), Some("u2"));
        assert_eq!(all[1].detail, Some(serde_json::json!({"plan": "Sales"})));
        let q = LogQuery {
            user: Some("u1".into()),
            limit: 10,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap().len(), 1);
        let q = LogQuery {
            user: Some("ann@example.com".into()),
            limit: 10,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap().len(), 2);
        let q = LogQuery {
            outcome: Some(Outcome::Failure),
            limit: 10,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap()[0].action, "update");
        let q = LogQuery {
            action: Some("create".into()),
            limit: 10,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap().len(), 1);
        let q = LogQuery {
            limit: 1,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap().len(), 1);
        let q = LogQuery {
            limit: 10,
            offset: 1,
            ..LogQuery::default()
        };
        let older = query(&db, &t, &q).await.unwrap();
        assert_eq!(older.len(), 1);
        assert_eq!(older[0].user_id.as_deref(), Some("u1"));
        let q = LogQuery {
            since: normalize_time("2999-01-01T00:00:00Z"),
            limit: 10,
            ..LogQuery::default()
        };
        assert!(query(&db, &t, &q).await.unwrap().is_empty());
        let q = LogQuery {
            until: normalize_time("2999-01-01T00:00:00Z"),
            limit: 10,
            ..LogQuery::default()
        };
        assert_eq!(query(&db, &t, &q).await.unwrap().len(), 2);
        assert_eq!(Outcome::parse("failure"), Some(Outcome::Failure));
        assert_eq!(Outcome::parse("nope"), None);
    }
}

#[cfg(test)]
mod prune_tests {
    use super::*;

    #[tokio::test]
    async fn prune_removes_only_entries_past_the_retention() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let t = TenantId::new("t").unwrap();
        for at in ["2020-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z"] {
            db.execute(
                "INSERT INTO gw_log (tenant, at, source, action, outcome) \
                 VALUES ('t', $1, 'crm', 'create', 'success')",
                &[at.into()],
            )
            .await
            .unwrap();
        }
        append(
            &db,
            &t,
            &NewEntry {
                user_id: None,
                user_name: None,
                source: Source::Admin,
                action: "reset",
                outcome: Outcome::Success,
                reason: None,
                detail: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(prune(&db, &t, 30).await.unwrap(), 1);
        let left = db
            .query("SELECT at FROM gw_log WHERE tenant = 't'", &[])
            .await
            .unwrap();
        assert_eq!(left.len(), 2);
        assert_eq!(
            prune(&db, &TenantId::new("other").unwrap(), 1)
                .await
                .unwrap(),
            0
        );
    }
}
