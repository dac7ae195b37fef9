//! The admin API: JSON over HTTP under `/admin`, authenticated with admin tokens
//! (`Authorization: Bearer <token>`, RFC 6750 §2.1; stored hashed). A token scoped to one
//! tenant gets 403 on every other tenant and cannot create tenants.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/tenants` | the tenants this token may see |
//! | POST | `/admin/tenants` | create a tenant (global tokens); returns its Tenant URL and token once |
//! | POST | `/admin/tenants/{t}/tokens` | rotate the SCIM token; returns the new one once |
//! | DELETE | `/admin/tenants/{t}/tokens` | revoke every SCIM token of the tenant |
//! | GET, PUT | `/admin/tenants/{t}/settings` | the tenant's settings |
//! | GET | `/admin/tenants/{t}/log` | the provisioning log (`user`, `action`, `outcome`, `since`, `until`, `limit`) |
//! | GET | `/admin/tenants/{t}/users` | SCIM users (`group`, `search`, `limit`) |
//! | GET, PUT | `/admin/tenants/{t}/rules` | the current rules; save a new version (validated) |
//! | GET | `/admin/tenants/{t}/rules/versions[/{v}]` | saved versions; POST `.../{v}/restore` |
//! | GET, POST | `/admin/tenants/{t}/preview` | the saved rules' preview; a draft's preview and diff |
//! | GET | `/admin/tenants/{t}/sync/status` | pending users, feed position |
//! | POST | `/admin/tenants/{t}/sync/users/{id}`, `/sync/all`, `/sync/reset` | manual actions |
//! | GET | `/admin/tenants/{t}/groups` | the groups the SCIM client pushed |
//! | GET | `/admin/tenants/{t}/crm/catalog`, `/crm/users` | CRM lookups |
//! | GET, PUT | `/admin/tenants/{t}/crm/connection` | which CRM (embedded or SuperOffice); credentials write-only |
//! | POST | `/admin/tenants/{t}/crm/test` | Test Connection |
//! | GET | `/admin/tenants/{t}/mail/outbox[/{id}]` | the mail outbox (`status`, `kind`, `limit`, `offset`); POST `.../{id}/retry` |
//! | GET, PUT | `/admin/tenants/{t}/mail/templates` | the from-address and mail templates |
//! | GET, POST | `/admin/tenants/{t}/mail/preview` | a template rendered with sample data |
//! | GET | `/admin/schema` | JSON Schemas of every request and response body |
//!
//! Errors are `{"error": "...", "detail": "..."}` with a 4xx status for anything the caller
//! can fix.

pub mod crm;
mod error;
mod log;
pub(crate) mod mail;
mod preview;
mod rules;
mod schema;
pub mod settings;
pub(crate) mod sync;
mod tenants;
mod tokens;
mod users;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use scim_server::{Storage, TenantId};

use crate::db::Db;
use crate::tenants::{AdminScope, admin_scope};

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The gateway's database.
    pub db: Db,
    /// The SCIM storage.
    pub storage: Arc<dyn Storage>,
    /// The CRM of each tenant (the embedded CRM or SuperOffice).
    pub crm: Arc<crate::crm::CrmRouter>,
    /// The sync engine (manual actions, status, waking after a rule change).
    pub sync: crate::sync::SyncEngine,
    /// The public base URL (Tenant URLs are `{public_url}/scim/{tenant}`).
    pub public_url: String,
    /// The deployment's mail settings (whether SMTP is configured, the default From).
    pub mail: crate::mail::MailConfig,
}

impl AdminState {
    /// The Tenant URL of `tenant`.
    pub fn tenant_url(&self, tenant: &str) -> String {
        crate::app::tenant_url(&self.public_url, tenant)
    }
}

/// The admin API's routes (to nest under `/admin`).
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/schema", get(schema::get_schema))
        .route(
            "/tenants",
            get(tenants::list_tenants).post(tenants::create_tenant),
        )
        .route(
            "/tenants/{tenant}/tokens",
            axum::routing::post(tokens::rotate).delete(tokens::revoke),
        )
        .route(
            "/tenants/{tenant}/settings",
            get(settings::get_settings).put(settings::put_settings),
        )
        .route("/tenants/{tenant}/log", get(log::get_log))
        .route("/tenants/{tenant}/users", get(users::get_users))
        .route(
            "/tenants/{tenant}/rules",
            get(rules::get_rules).put(rules::put_rules),
        )
        .route(
            "/tenants/{tenant}/rules/versions",
            get(rules::list_versions),
        )
        .route(
            "/tenants/{tenant}/rules/versions/{version}",
            get(rules::get_version),
        )
        .route(
            "/tenants/{tenant}/rules/versions/{version}/restore",
            axum::routing::post(rules::restore_version),
        )
        .route(
            "/tenants/{tenant}/preview",
            get(preview::get_preview).post(preview::post_preview),
        )
        .route("/tenants/{tenant}/sync/status", get(sync::status))
        .route(
            "/tenants/{tenant}/sync/users/{user}",
            axum::routing::post(sync::sync_user),
        )
        .route(
            "/tenants/{tenant}/sync/all",
            axum::routing::post(sync::sync_all),
        )
        .route(
            "/tenants/{tenant}/sync/reset",
            axum::routing::post(sync::reset),
        )
        .route("/tokens", get(tokens::list_admin))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke_admin))
        .route("/tenants/{tenant}/groups", get(sync::groups))
        .route("/tenants/{tenant}/crm/catalog", get(sync::catalog))
        .route("/tenants/{tenant}/crm/users", get(sync::crm_users))
        .route(
            "/tenants/{tenant}/crm/connection",
            get(crm::get_connection).put(crm::put_connection),
        )
        .route(
            "/tenants/{tenant}/crm/test",
            axum::routing::post(crm::test_connection),
        )
        .route("/tenants/{tenant}/mail/outbox", get(mail::list_outbox))
        .route("/tenants/{tenant}/mail/outbox/{mail}", get(mail::get_mail))
        .route(
            "/tenants/{tenant}/mail/outbox/{mail}/retry",
            axum::routing::post(mail::retry_mail),
        )
        .route(
            "/tenants/{tenant}/mail/templates",
            get(mail::get_templates).put(mail::put_templates),
        )
        .route(
            "/tenants/{tenant}/mail/preview",
            get(mail::get_preview).post(mail::post_preview),
        )
        .fallback(|| async { ApiError::not_found("no such admin API endpoint") })
        .with_state(state)
}

/// The scope of the request's admin token; 401 without a valid one.
pub(crate) async fn authenticate(
    state: &AdminState,
    headers: &HeaderMap,
) -> Result<AdminScope, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("send an admin token as `Authorization: Bearer <token>`")
        })?;
    admin_scope(&state.db, token)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the admin token is not valid (wrong or revoked)"))
}

/// Authenticates and checks that the token may act on `tenant`, which must exist: 403 for a
/// tenant outside the token's scope (whether or not it exists), 404 for an unknown one.
pub(crate) async fn authorize_tenant(
    state: &AdminState,
    headers: &HeaderMap,
    tenant: &str,
) -> Result<(AdminScope, TenantId), ApiError> {
    let scope = authenticate(state, headers).await?;
    if !scope.allows(tenant) {
        return Err(ApiError::forbidden(
            "this admin token is limited to another tenant",
        ));
    }
    let not_found = || ApiError::not_found(format!("no tenant is named {tenant:?}"));
    let id = TenantId::new(tenant).ok_or_else(not_found)?;
    crate::tenants::get(&state.db, tenant)
        .await?
        .ok_or_else(not_found)?;
    Ok((scope, id))
}
