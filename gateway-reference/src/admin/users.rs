//! `GET /admin/tenants/{t}/users?group=&search=&limit=`: the SCIM users the identity provider
//! pushed, from the SCIM storage (filters run in the database, RFC 7644 §3.4.2.2).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use scim_server::TenantId;
use scim_server::scim_core::{Filter, builtin};
use scim_server::storage::planner::{PlannerLimits, execute};
use scim_server::storage::{Load, Scope, StoragePage};
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

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

/// A SCIM user in a list.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// The SCIM id.
    pub id: String,
    /// `userName`.
    pub user_name: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `active` (absent counts as active).
    pub active: bool,
}

/// `GET .../users`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    /// How many users match in all.
    pub total_results: u64,
    /// This page.
    pub users: Vec<UserSummary>,
}

/// A SCIM string literal (RFC 7644 §3.4.2.2 strings are JSON strings).
fn literal(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn parse(filter: &str) -> Result<Filter, ApiError> {
    filter
        .parse::<Filter>()
        .map_err(|e| ApiError::bad_request(format!("cannot search for that: {e}")))
}

async fn group_id(state: &AdminState, tenant: &TenantId, group: &str) -> Result<String, ApiError> {
    let schema = builtin::group_resource_schema();
    let v = literal(group);
    let filter = parse(&format!(
        "id eq {v} or externalId eq {v} or displayName eq {v}"
    ))?;
    let page = execute(
        state.storage.as_ref(),
        Scope::new(tenant, &schema),
        Some(&filter),
        None,
        &StoragePage::Offset {
            offset: 0,
            limit: 1,
        },
        Load { members: false },
        &PlannerLimits::default(),
    )
    .await
    .map_err(|e| ApiError::internal(&e))?;
    page.resources
        .into_iter()
        .next()
        .map(|r| r.id)
        .ok_or_else(|| ApiError::not_found(format!("no group {group:?} in this tenant")))
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
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let mut clauses = Vec::new();
    if let Some(g) = p.group.as_deref().filter(|g| !g.is_empty()) {
        let gid = group_id(&state, &id, g).await?;
        clauses.push(format!("groups.value eq {}", literal(&gid)));
    }
    if let Some(s) = p.search.as_deref().filter(|s| !s.is_empty()) {
        let v = literal(s);
        clauses.push(format!(
            "(userName co {v} or displayName co {v} or name.formatted co {v} \
             or emails.value co {v} or externalId eq {v})"
        ));
    }
    let filter = if clauses.is_empty() {
        None
    } else {
        Some(parse(&clauses.join(" and "))?)
    };
    let schema = builtin::user_resource_schema();
    let page = execute(
        state.storage.as_ref(),
        Scope::new(&id, &schema),
        filter.as_ref(),
        None,
        &StoragePage::Offset {
            offset: p.offset.unwrap_or(0),
            limit,
        },
        Load { members: false },
        &PlannerLimits::default(),
    )
    .await
    .map_err(|e| match e.kind() {
        scim_server::storage::StorageErrorKind::TooMany
        | scim_server::storage::StorageErrorKind::UnsupportedFilter => {
            ApiError::bad_request(e.to_string())
        }
        _ => ApiError::internal(&e),
    })?;
    let text = |r: &scim_server::scim_core::Resource, name: &str| {
        r.get(name).and_then(|v| v.as_str()).map(str::to_string)
    };
    let users = page
        .resources
        .iter()
        .map(|s| UserSummary {
            id: s.id.clone(),
            user_name: text(&s.resource, "userName"),
            display_name: text(&s.resource, "displayName"),
            external_id: text(&s.resource, "externalId"),
            active: s
                .resource
                .get("active")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
        })
        .collect();
    Ok(Json(UserPage {
        total_results: page.total_results,
        users,
    }))
}
