//! Manual sync actions, the sync status, the directory's groups and the CRM lookups.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/tenants/{t}/sync/status` | pending users, feed position, synced and failed users |
//! | POST | `/admin/tenants/{t}/sync/users/{id}` | Sync user: reconcile one SCIM user now |
//! | POST | `/admin/tenants/{t}/sync/all` | Sync all: queue every user |
//! | POST | `/admin/tenants/{t}/sync/reset` | Reset: forget the synced state, keep the rules |
//! | GET | `/admin/tenants/{t}/groups` | the groups the SCIM client pushed (for rule scopes) |
//! | GET | `/admin/tenants/{t}/crm/catalog` | the CRM's plans (with seats), roles, user groups, owner companies |
//! | GET | `/admin/tenants/{t}/crm/users` | the CRM's users (`after`, `limit`) |

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::crm::{Catalog, Crm, CrmUser};
use crate::directory::{self, DirectoryGroup};
use crate::sync::SyncStatus;

pub(crate) fn sync_err(e: crate::sync::SyncError) -> ApiError {
    match e {
        crate::sync::SyncError::Crm(e) if e.is_transient() => {
            ApiError::unavailable(format!("the CRM is unavailable: {e}"))
        }
        e => ApiError::internal(&e),
    }
}

/// The sync status.
pub async fn status(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SyncStatus>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    state.sync.status(&id).await.map(Json).map_err(sync_err)
}

/// The outcome of a manual action.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// Users queued or written.
    pub users: u64,
    /// What happened, for people.
    pub detail: String,
}

/// Sync user.
pub async fn sync_user(
    State(state): State<AdminState>,
    Path((tenant, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<ActionResult>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    if !state.sync.knows_user(&id, &user).await.map_err(sync_err)? {
        return Err(ApiError::not_found(format!(
            "no SCIM user {user:?} in this tenant"
        )));
    }
    let pass = state.sync.sync_user(&id, &user).await.map_err(sync_err)?;
    Ok(Json(ActionResult {
        users: pass.written as u64,
        detail: if pass.crm_unavailable {
            "the CRM is unavailable; the user stays queued and is retried".into()
        } else {
            format!("{} user(s) written to the CRM", pass.written)
        },
    }))
}

/// Sync all.
pub async fn sync_all(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ActionResult>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let n = state.sync.sync_all(&id).await.map_err(sync_err)?;
    Ok(Json(ActionResult {
        users: n,
        detail: format!("{n} user(s) queued"),
    }))
}

/// Reset.
pub async fn reset(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ActionResult>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    state.sync.reset(&id).await.map_err(sync_err)?;
    Ok(Json(ActionResult {
        users: 0,
        detail: "the synced state is cleared; the rules are kept".into(),
    }))
}

/// The directory's groups.
pub async fn groups(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<DirectoryGroup>>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    Ok(Json(directory::groups(&state.db, &id).await?))
}

/// The CRM catalogue.
pub async fn catalog(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Catalog>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    state
        .crm
        .catalog(&id)
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(e.to_string()))
}

/// Paging of the CRM's users.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmUsersQuery {
    /// Users with a higher associate id than this (0: from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The CRM's users.
pub async fn crm_users(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: Result<Query<CrmUsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<CrmUser>>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    state
        .crm
        .list_users(&id, q.after, limit)
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(e.to_string()))
}
