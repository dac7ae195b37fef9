//! `POST /admin/tenants/{t}/tokens` (rotate), `DELETE /admin/tenants/{t}/tokens` (revoke);
//! `GET /admin/tokens` and `DELETE /admin/tokens/{id}`: the admin API's own tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authenticate, authorize_tenant};
use crate::tenants;

/// A new Secret Token (shown only here); every earlier token of the tenant is revoked.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RotatedToken {
    /// The Tenant URL.
    pub tenant_url: String,
    /// The new Secret Token.
    pub token: String,
}

/// The result of revoking a tenant's tokens.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RevokedTokens {
    /// How many valid tokens were revoked.
    pub revoked: u64,
    /// How long running gateway processes may still accept them, in seconds.
    pub effective_within_seconds: u64,
}

/// Rotates the tenant's SCIM token.
pub async fn rotate(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RotatedToken>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let token = tenants::rotate_token(&state.db, &id, &scope.label()).await?;
    Ok(Json(RotatedToken {
        tenant_url: state.tenant_url(id.as_str()),
        token,
    }))
}

/// Revokes every SCIM token of the tenant.
pub async fn revoke(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RevokedTokens>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let revoked = tenants::revoke_tokens(&state.db, &id, &scope.label()).await?;
    Ok(Json(RevokedTokens {
        revoked,
        effective_within_seconds: tenants::TOKEN_CACHE_TTL.as_secs(),
    }))
}

/// The admin tokens the caller's token may see (every token for a global token, the
/// tenant's own for a tenant token); never the tokens themselves.
pub async fn list_admin(
    State(state): State<AdminState>,
    headers: HeaderMap,
) -> Result<Json<Vec<tenants::AdminTokenInfo>>, ApiError> {
    let scope = authenticate(&state, &headers).await?;
    Ok(Json(tenants::list_admin_tokens(&state.db, &scope).await?))
}

/// Revokes an admin token by its id (12 hex digits); it stops working at once. A tenant
/// token can revoke only its tenant's tokens (another's id is a 404).
pub async fn revoke_admin(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<tenants::AdminTokenInfo>, ApiError> {
    let scope = authenticate(&state, &headers).await?;
    Ok(Json(
        tenants::revoke_admin_token(&state.db, &scope, &id).await?,
    ))
}
