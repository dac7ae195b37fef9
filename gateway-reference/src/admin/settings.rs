//! `GET /admin/tenants/{t}/settings`, `PUT /admin/tenants/{t}/settings`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use super::{AdminState, ApiError, authorize_tenant};
use crate::settings::{self, TenantSettings};

/// The settings of a request body; an unknown key (a typo) is a 400, not silently ignored.
fn parse(body: serde_json::Value) -> Result<TenantSettings, ApiError> {
    let known =
        serde_json::to_value(TenantSettings::default()).map_err(|e| ApiError::internal(&e))?;
    let (Some(obj), Some(known)) = (body.as_object(), known.as_object()) else {
        return Err(ApiError::bad_request("the settings must be a JSON object"));
    };
    if let Some(k) = obj.keys().find(|k| !known.contains_key(*k)) {
        let names: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(ApiError::bad_request(format!(
            "unknown setting {k:?}; the settings are {}",
            names.join(", ")
        )));
    }
    serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid settings: {e}")))
}

/// The tenant's settings.
pub async fn get_settings(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TenantSettings>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    Ok(Json(settings::load(&state.db, &id).await?))
}

/// Replaces the tenant's settings (fields left out take their defaults).
pub async fn put_settings(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<TenantSettings>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Json(body) = body?;
    let new = parse(body)?;
    save_settings(&state, &id, &new, &scope.label()).await?;
    Ok(Json(new))
}

/// Checks and saves `new` as the tenant's settings on behalf of `by`, logs it, and queues
/// everyone when User Sync Active was turned on or the unmatched policy changed (shared by
/// the admin API and the Identity Manager).
pub async fn save_settings(
    state: &AdminState,
    id: &scim_server::TenantId,
    new: &TenantSettings,
    by: &str,
) -> Result<(), ApiError> {
    if let Some(mail) = &new.notifications_email {
        if !mail.contains('@') || mail.trim() != mail || mail.len() > 254 {
            return Err(ApiError::bad_request(format!(
                "notificationsEmail {mail:?} is not an email address"
            )));
        }
    }
    if new.log_retention_days == 0 {
        return Err(ApiError::bad_request("logRetentionDays must be at least 1"));
    }
    let before = settings::load(&state.db, id).await?;
    settings::save(&state.db, id, new, by).await?;
    // Turning User Sync Active on (or changing the unmatched policy) re-evaluates everyone.
    if (new.user_sync_active && !before.user_sync_active)
        || new.unmatched_policy != before.unmatched_policy
    {
        state
            .sync
            .sync_all(id)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    let entry = crate::log::NewEntry {
        user_id: None,
        user_name: None,
        source: crate::log::Source::Admin,
        action: "settings-saved",
        outcome: crate::log::Outcome::Success,
        reason: Some(by),
        detail: serde_json::to_value(new).ok(),
    };
    crate::log::append(&state.db, id, &entry).await?;
    Ok(())
}
