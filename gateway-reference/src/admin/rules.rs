//! The tenant's User Sync Rules: the current set, saving (validated), every saved version,
//! and restoring one.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/tenants/{t}/rules` | the current rules (`version` 0 and no rules before the first save) |
//! | PUT | `/admin/tenants/{t}/rules` | validate and save `{"rules": [...], "comment": "..."}` as a new version |
//! | GET | `/admin/tenants/{t}/rules/versions` | every saved version, newest first |
//! | GET | `/admin/tenants/{t}/rules/versions/{v}` | one version |
//! | POST | `/admin/tenants/{t}/rules/versions/{v}/restore` | save version `v` again as the newest |

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::rules::versions::{self, SaveError, SavedRules};
use crate::rules::{Rule, RuleError, RuleSet};
use crate::sync::{RulesSaved as Saved, SaveRulesError};

/// The body of `PUT /rules`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveRules {
    /// The rules, in order (the `RuleSet` document).
    pub rules: Vec<Rule>,
    /// Why (kept with the version).
    #[serde(default)]
    pub comment: Option<String>,
}

/// A 400 listing every invalid rule and field.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvalidRules {
    /// `invalid_rules`.
    pub error: String,
    /// A summary.
    pub detail: String,
    /// Each problem: `ruleIndex` (0-based), `ruleId`, `field`, `message`.
    pub problems: Vec<RuleError>,
}

pub(crate) fn save_error(e: SaveError) -> axum::response::Response {
    use axum::response::IntoResponse;
    match e {
        SaveError::Invalid(problems) => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(InvalidRules {
                error: "invalid_rules".into(),
                detail: problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                problems,
            }),
        )
            .into_response(),
        SaveError::Crm(e) => {
            ApiError::unavailable(format!("the CRM catalogue: {e}")).into_response()
        }
        SaveError::Db(e) => ApiError::from(e).into_response(),
    }
}

fn empty() -> SavedRules {
    SavedRules {
        version: 0,
        rules: RuleSet::default(),
        saved_at: String::new(),
        saved_by: String::new(),
        comment: None,
    }
}

/// The current rules.
pub async fn get_rules(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SavedRules>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    Ok(Json(
        versions::current(&state.db, &id)
            .await?
            .unwrap_or_else(empty),
    ))
}

async fn save_and_queue(
    state: &AdminState,
    id: &scim_server::TenantId,
    rules: &RuleSet,
    by: &str,
    comment: Option<&str>,
) -> Result<Saved, axum::response::Response> {
    use axum::response::IntoResponse;
    state
        .sync
        .save_rules(id, rules, by, comment)
        .await
        .map_err(|e| match e {
            SaveRulesError::Save(e) => save_error(e),
            e @ SaveRulesError::Queue { .. } => ApiError::internal(&e).into_response(),
        })
}

/// Validates and saves a new version.
pub async fn put_rules(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<SaveRules>, JsonRejection>,
) -> Result<Json<Saved>, axum::response::Response> {
    use axum::response::IntoResponse;
    let (scope, id) = authorize_tenant(&state, &headers, &tenant)
        .await
        .map_err(IntoResponse::into_response)?;
    let Json(body) = body.map_err(|e| ApiError::from(e).into_response())?;
    let rules = RuleSet { rules: body.rules };
    save_and_queue(&state, &id, &rules, &scope.label(), body.comment.as_deref())
        .await
        .map(Json)
}

/// Every saved version.
pub async fn list_versions(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<SavedRules>>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    Ok(Json(versions::list(&state.db, &id).await?))
}

/// One saved version.
pub async fn get_version(
    State(state): State<AdminState>,
    Path((tenant, version)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Json<SavedRules>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    versions::get(&state.db, &id, version)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no saved version {version}")))
}

/// Saves an earlier version again as the newest (validated against today's catalogue).
pub async fn restore_version(
    State(state): State<AdminState>,
    Path((tenant, version)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Json<Saved>, axum::response::Response> {
    use axum::response::IntoResponse;
    let (scope, id) = authorize_tenant(&state, &headers, &tenant)
        .await
        .map_err(IntoResponse::into_response)?;
    let old = versions::get(&state.db, &id, version)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .ok_or_else(|| {
            ApiError::not_found(format!("no saved version {version}")).into_response()
        })?;
    let comment = format!("restored version {version}");
    save_and_queue(&state, &id, &old.rules, &scope.label(), Some(&comment))
        .await
        .map(Json)
}
