//! The Preview: what the saved rules, or a draft, do to the users the SCIM client pushed.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/tenants/{t}/preview` | the saved rules: counts and a page of rows (`search`, `synced`, `startIndex`, `count`) |
//! | POST | `/admin/tenants/{t}/preview` | a draft `{"rules": [...]}`: the same, plus the difference from the saved rules |

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::directory;
use crate::preview::{PreviewDiff, PreviewPage, PreviewQuery, diff, preview};
use crate::rules::{CompiledRules, Rule, RuleSet};

/// A preview.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResponse {
    /// Users received from the SCIM client.
    pub users_received: usize,
    /// Users the rules select for sync.
    pub users_synced: usize,
    /// The page of rows the query asked for (`total`, `rows`).
    pub page: PreviewPage,
    /// For a draft: who starts or stops being synced and which settings change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<PreviewDiff>,
}

/// The body of `POST /preview`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftRules {
    /// The draft rules.
    pub rules: Vec<Rule>,
}

async fn saved_rules(
    state: &AdminState,
    id: &scim_server::TenantId,
) -> Result<std::sync::Arc<CompiledRules>, ApiError> {
    state
        .sync
        .rules(id)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The saved rules' preview.
pub async fn get_preview(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PreviewResponse>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(q) = query?;
    let rules = saved_rules(&state, &id).await?;
    let users = directory::users(&state.db, &id, rules.needs_resource()).await?;
    let p = preview(&users, &rules);
    Ok(Json(PreviewResponse {
        users_received: p.users_received,
        users_synced: p.users_synced,
        page: p.page(&q),
        diff: None,
    }))
}

/// A draft's preview and its difference from the saved rules.
pub async fn post_preview(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    query: Result<Query<PreviewQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Json<DraftRules>, JsonRejection>,
) -> Result<Json<PreviewResponse>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(q) = query?;
    let Json(body) = body?;
    let draft = RuleSet { rules: body.rules }
        .compile()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let saved = saved_rules(&state, &id).await?;
    let users = directory::users(
        &state.db,
        &id,
        draft.needs_resource() || saved.needs_resource(),
    )
    .await?;
    let p = preview(&users, &draft);
    Ok(Json(PreviewResponse {
        users_received: p.users_received,
        users_synced: p.users_synced,
        page: p.page(&q),
        diff: Some(diff(&users, &saved, &draft)),
    }))
}
