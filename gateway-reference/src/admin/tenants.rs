//! `GET /admin/tenants`, `POST /admin/tenants`.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authenticate};
use crate::tenants::{self, AdminScope};

/// A tenant as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantView {
    /// The id (the last segment of the Tenant URL).
    pub id: String,
    /// The name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// The Tenant URL to paste into Entra ID's provisioning "Admin Credentials".
    pub tenant_url: String,
}

/// `GET /admin/tenants`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TenantList {
    /// The tenants the token may see.
    pub tenants: Vec<TenantView>,
}

/// `POST /admin/tenants`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The tenant's name; its id is derived from it (lower case, `-` for other characters).
    pub name: String,
}

/// A new tenant, with its first Secret Token (shown only here).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: TenantView,
    /// The Tenant URL.
    pub tenant_url: String,
    /// The Secret Token; stored hashed, never shown again.
    pub token: String,
}

fn view(state: &AdminState, t: tenants::Tenant) -> TenantView {
    TenantView {
        tenant_url: state.tenant_url(&t.id),
        id: t.id,
        name: t.name,
        created_at: t.created_at,
    }
}

/// Lists the tenants the token may see.
pub async fn list_tenants(
    State(state): State<AdminState>,
    headers: HeaderMap,
) -> Result<Json<TenantList>, ApiError> {
    let scope = authenticate(&state, &headers).await?;
    let tenants = tenants::list(&state.db)
        .await?
        .into_iter()
        .filter(|t| scope.allows(&t.id))
        .map(|t| view(&state, t))
        .collect();
    Ok(Json(TenantList { tenants }))
}

/// Creates a tenant and its first token (global admin tokens only).
pub async fn create_tenant(
    State(state): State<AdminState>,
    headers: HeaderMap,
    body: Result<Json<CreateTenant>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedTenant>), ApiError> {
    let scope = authenticate(&state, &headers).await?;
    if scope != AdminScope::All {
        return Err(ApiError::forbidden(
            "only an admin token for every tenant may create tenants",
        ));
    }
    let Json(body) = body?;
    let tenant = tenants::create(&state.db, &body.name).await?;
    let id = tenant
        .tenant_id()
        .ok_or_else(|| ApiError::bad_request("the tenant id is not valid"))?;
    let token = tenants::add_token(&state.db, &id, "admin-api").await?;
    // A new tenant starts on the embedded CRM: give it the demo catalogue.
    state
        .crm
        .embedded()
        .seed_demo(&id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let tenant = view(&state, tenant);
    Ok((
        StatusCode::CREATED,
        Json(CreatedTenant {
            tenant_url: tenant.tenant_url.clone(),
            tenant,
            token,
        }),
    ))
}
