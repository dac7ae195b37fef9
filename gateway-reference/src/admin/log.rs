//! `GET /admin/tenants/{t}/log?user=&action=&outcome=&since=&until=&limit=`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::log::{self, LogEntry, LogQuery, Outcome, normalize_time};

/// The default and the largest `limit`.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// The query parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogParams {
    /// A SCIM user id or userName.
    pub user: Option<String>,
    /// An action (`create`, `update`, `retire`, ...).
    pub action: Option<String>,
    /// `success`, `skipped`, `retrying` or `failure`.
    pub outcome: Option<String>,
    /// RFC 3339: entries at or after this time.
    pub since: Option<String>,
    /// RFC 3339: entries before this time.
    pub until: Option<String>,
    /// At most this many entries (default 100, at most 1000), newest first.
    pub limit: Option<u32>,
}

/// `GET .../log`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogPage {
    /// The entries, newest first.
    pub entries: Vec<LogEntry>,
}

fn time(name: &str, v: Option<&String>) -> Result<Option<String>, ApiError> {
    v.map(|s| {
        normalize_time(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} {s:?} is not an RFC 3339 time (e.g. 2026-12-03T09:00:00Z)"
            ))
        })
    })
    .transpose()
}

/// The tenant's provisioning log.
pub async fn get_log(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<LogParams>, QueryRejection>,
) -> Result<Json<LogPage>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(p) = params?;
    let outcome = p
        .outcome
        .as_deref()
        .map(|o| {
            Outcome::parse(o).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "outcome {o:?} is not one of success, skipped, retrying, failure"
                ))
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let q = LogQuery {
        user: p.user.filter(|s| !s.is_empty()),
        action: p.action.filter(|s| !s.is_empty()),
        outcome,
        since: time("since", p.since.as_ref())?,
        until: time("until", p.until.as_ref())?,
        limit,
        offset: 0,
    };
    Ok(Json(LogPage {
        entries: log::query(&state.db, &id, &q).await?,
    }))
}
