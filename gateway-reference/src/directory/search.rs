//! Searching the SCIM users the identity provider pushed, by group and by text, one page at
//! a time, in the SCIM storage (the filter and the sort run in the database, RFC 7644
//! §3.4.2.2 and §3.4.2.3). The admin API's `GET .../users` and the Identity Manager's SCIM
//! users pane both search here.

use scim_server::TenantId;
use scim_server::scim_core::sort::{SortOrder, SortSpec};
use scim_server::scim_core::{AttrPath, Filter, Resource, builtin};
use scim_server::storage::planner::{PlannerLimits, execute};
use scim_server::storage::{Load, Scope, Storage, StorageErrorKind, StoragePage};
use serde::{Deserialize, Serialize};

/// The most users one page holds.
pub const MAX_LIMIT: u64 = 1000;

/// Which users, and which page of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery<'a> {
    /// Only direct members of this group: its SCIM id, `externalId` (Entra's object id) or
    /// `displayName`.
    pub group: Option<&'a str>,
    /// Text in `userName`, `displayName`, `name.formatted` or an email, or the exact
    /// `externalId`.
    pub search: Option<&'a str>,
    /// Skip this many.
    pub offset: u64,
    /// At most this many (1 to [`MAX_LIMIT`]).
    pub limit: u64,
}

/// A SCIM user in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// A page of users, by `userName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    /// How many users match in all.
    pub total_results: u64,
    /// This page.
    pub users: Vec<UserSummary>,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be answered as asked (a limit out of range, no such group): a 4xx.
    #[error("{0}")]
    BadQuery(String),
    /// No group matches [`UserQuery::group`].
    #[error("no group {0:?} in this tenant")]
    NoSuchGroup(String),
    /// The storage failed.
    #[error("SCIM storage: {0}")]
    Storage(#[from] scim_server::StorageError),
}

/// A SCIM string literal (RFC 7644 §3.4.2.2 strings are JSON strings).
fn literal(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn parse(filter: &str) -> Result<Filter, SearchError> {
    filter
        .parse::<Filter>()
        .map_err(|e| SearchError::BadQuery(format!("cannot search for that: {e}")))
}

fn storage_error(e: scim_server::StorageError) -> SearchError {
    match e.kind() {
        StorageErrorKind::TooMany | StorageErrorKind::UnsupportedFilter => {
            SearchError::BadQuery(e.to_string())
        }
        _ => SearchError::Storage(e),
    }
}

/// The SCIM id of the group `group` names (by id, `externalId` or `displayName`).
async fn group_id(
    storage: &dyn Storage,
    tenant: &TenantId,
    group: &str,
) -> Result<String, SearchError> {
    let schema = builtin::group_resource_schema();
    let v = literal(group);
    let filter = parse(&format!(
        "id eq {v} or externalId eq {v} or displayName eq {v}"
    ))?;
    let page = execute(
        storage,
        Scope::new(tenant, &schema),
        Some(&filter),
        None,
        &StoragePage::Offset {
            offset: 0,
            limit: 1,
        },
        Load::WITHOUT_MEMBERS,
        &PlannerLimits::default(),
    )
    .await
    .map_err(storage_error)?;
    page.resources
        .into_iter()
        .next()
        .map(|r| r.id)
        .ok_or_else(|| SearchError::NoSuchGroup(group.to_owned()))
}

fn summary(id: &str, r: &Resource) -> UserSummary {
    let text = |name: &str| r.get(name).and_then(|v| v.as_str()).map(str::to_string);
    UserSummary {
        id: id.to_owned(),
        user_name: text("userName"),
        display_name: text("displayName"),
        external_id: text("externalId"),
        active: r.get("active").and_then(|v| v.as_bool()).unwrap_or(true),
    }
}

/// One page of the tenant's users that `q` selects, ordered by `userName`.
pub async fn search_users(
    storage: &dyn Storage,
    tenant: &TenantId,
    q: &UserQuery<'_>,
) -> Result<UserPage, SearchError> {
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(SearchError::BadQuery(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let mut clauses = Vec::new();
    if let Some(g) = q.group.filter(|g| !g.is_empty()) {
        let gid = group_id(storage, tenant, g).await?;
        clauses.push(format!("groups.value eq {}", literal(&gid)));
    }
    if let Some(s) = q.search.map(str::trim).filter(|s| !s.is_empty()) {
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
    let sort = SortSpec::new(AttrPath::new("userName"), SortOrder::Ascending);
    let page = execute(
        storage,
        Scope::new(tenant, &schema),
        filter.as_ref(),
        Some(&sort),
        &StoragePage::Offset {
            offset: q.offset,
            limit: q.limit,
        },
        Load::WITHOUT_MEMBERS,
        &PlannerLimits::default(),
    )
    .await
    .map_err(storage_error)?;
    Ok(UserPage {
        total_results: page.total_results,
        users: page
            .resources
            .iter()
            .map(|s| summary(&s.id, &s.resource))
            .collect(),
    })
}
