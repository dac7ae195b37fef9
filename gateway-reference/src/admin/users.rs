//! `GET /admin/tenants/{t}/users?group=&search=&limit=&offset=`: the SCIM users the identity
//! provider pushed, by `userName`, from the SCIM storage ([`crate::directory::search_users`]).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::directory::{SearchError, UserPage, UserQuery, search_users};

const DEFAULT_LIMIT: u64 = 100;

/// The query parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserParams {
    /// Only members of this group: its SCIM id, `externalId` (the Entra object id) or
    /// `displayName`.
    pub group: Option<String>,
    /// Text in `userName`, `displayName`, `name.formatted` or an email, or the exact
    /// `externalId`.
    pub search: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u64>,
    /// Skip this many (default 0).
    pub offset: Option<u64>,
}

/// SCIM users, by group and by search.
pub async fn get_users(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<UserParams>, QueryRejection>,
) -> Result<Json<UserPage>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(p) = params?;
    let q = UserQuery {
        group: p.group.as_deref(),
        search: p.search.as_deref(),
        offset: p.offset.unwrap_or(0),
        limit: p.limit.unwrap_or(DEFAULT_LIMIT),
    };
    search_users(state.storage.as_ref(), &id, &q)
        .await
        .map(Json)
        .map_err(|e| match e {
            SearchError::BadQuery(m) => ApiError::bad_request(m),
            e @ SearchError::NoSuchGroup(_) => ApiError::not_found(e.to_string()),
            SearchError::Storage(e) => ApiError::internal(&e),
        })
}
