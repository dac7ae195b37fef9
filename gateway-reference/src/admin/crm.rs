//! The tenant's CRM connection: `GET|PUT /admin/tenants/{t}/crm/connection` (which CRM,
//! SuperOffice's URL and customer id, whether each credential is set; credentials are
//! write-only) and `POST /admin/tenants/{t}/crm/test` (Test Connection).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::crm::Crm;
use crate::crm::connections::{
    self, AuthKind, ConnectionError, CrmConnection, CrmKind, Secrets, SignInSettings,
};
use crate::crm::superoffice::{CatalogCounts, ConnectionReport, RetryPolicy, SuperOfficeCrm};

/// A tenant's CRM connection as the admin API shows it: never a credential, only whether
/// each is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// `embedded` (the default) or `superoffice`.
    pub kind: CrmKind,
    /// SuperOffice: the environment's base URL.
    pub base_url: Option<String>,
    /// SuperOffice: the customer id.
    pub customer_id: Option<String>,
    /// SuperOffice: `bearer` (access token), `soticket` (system user ticket and
    /// application token), `system-user` (the gateway gets the ticket) or `oauth` (the
    /// gateway refreshes access tokens).
    pub auth: AuthKind,
    /// SuperOffice: where users sign in (the welcome link forwards there).
    pub sign_in_url: Option<String>,
    /// An access token is stored.
    pub access_token_set: bool,
    /// A system user ticket is stored.
    pub ticket_set: bool,
    /// An application token (client secret) is stored.
    pub app_token_set: bool,
    /// A system user token is stored.
    pub system_user_token_set: bool,
    /// The application's private key is stored.
    pub private_key_set: bool,
    /// A refresh token is stored.
    pub refresh_token_set: bool,
    /// SuperOffice's certificate to verify the system user sign-in with is stored.
    pub jwt_certificate_set: bool,
    /// Where the sign-in service is: `sod`, `stage`, `online` or a URL (`null`: the base
    /// URL).
    pub environment: Option<String>,
    /// The OAuth client id.
    pub client_id: Option<String>,
    /// When it was saved (`null`: never; the embedded CRM).
    pub updated_at: Option<String>,
}

impl ConnectionView {
    /// The view of `c`.
    pub fn of(c: &CrmConnection) -> Self {
        ConnectionView {
            kind: c.kind,
            base_url: c.base_url.clone(),
            customer_id: c.customer_id.clone(),
            auth: c.auth,
            sign_in_url: c.sign_in_url.clone(),
            access_token_set: c.secrets.access_token.is_some(),
            ticket_set: c.secrets.ticket.is_some(),
            app_token_set: c.secrets.app_token.is_some(),
            system_user_token_set: c.secrets.system_user_token.is_some(),
            private_key_set: c.secrets.private_key.is_some(),
            refresh_token_set: c.secrets.refresh_token.is_some(),
            jwt_certificate_set: c.settings.jwt_certificate.is_some(),
            environment: c.settings.environment.clone(),
            client_id: c.settings.client_id.clone(),
            updated_at: c
                .updated_at
                .as_deref()
                .map(|v| v.split('#').next().unwrap_or(v).to_string()),
        }
    }
}

/// `PUT /admin/tenants/{t}/crm/connection`. A credential left out keeps the stored one (so
/// the URL can change without sending the token again); `kind: embedded` drops them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionInput {
    /// `embedded` or `superoffice`.
    pub kind: CrmKind,
    /// SuperOffice: the environment's base URL (`https://online.superoffice.com`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// SuperOffice: the customer id (`Cust12345`).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// SuperOffice: `bearer` (default), `soticket`, `system-user` or `oauth`.
    #[serde(default)]
    pub auth: Option<AuthKind>,
    /// SuperOffice: where users sign in (default `{baseUrl}/login/`).
    #[serde(default)]
    pub sign_in_url: Option<String>,
    /// The access token (write-only).
    #[serde(default)]
    pub access_token: Option<String>,
    /// The system user ticket (write-only).
    #[serde(default)]
    pub ticket: Option<String>,
    /// The application token, or client secret (write-only; `soticket`, `system-user`,
    /// `oauth`).
    #[serde(default)]
    pub app_token: Option<String>,
    /// The system user token (write-only; `system-user`).
    #[serde(default)]
    pub system_user_token: Option<String>,
    /// The application's RSA private key, .NET XML or PEM (write-only; `system-user`).
    #[serde(default)]
    pub private_key: Option<String>,
    /// The refresh token (write-only; `oauth`).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Where the sign-in service is: `sod`, `stage`, `online` or a URL (default: the base
    /// URL; `system-user`, `oauth`).
    #[serde(default)]
    pub environment: Option<String>,
    /// The application's client id (`oauth`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// SuperOffice's certificate or public key (PEM) to verify the system user sign-in's
    /// JWT with (`system-user`; optional; left out keeps the stored one).
    #[serde(default)]
    pub jwt_certificate: Option<String>,
}

/// The connection `input` makes of the stored one `before`.
pub fn merge(before: &CrmConnection, input: ConnectionInput) -> CrmConnection {
    if input.kind == CrmKind::Embedded {
        return CrmConnection::default();
    }
    let auth = input.auth.unwrap_or(before.auth);
    let (old, old_settings) = if before.auth == auth {
        (before.secrets.clone(), before.settings.clone())
    } else {
        (Secrets::default(), SignInSettings::default())
    };
    let flow = matches!(auth, AuthKind::SystemUser | AuthKind::Oauth);
    let trimmed = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let keep = |new: Option<String>, old: &Option<String>| trimmed(new).or_else(|| old.clone());
    CrmConnection {
        kind: CrmKind::Superoffice,
        base_url: input
            .base_url
            .map(|u| u.trim().trim_end_matches('/').to_string()),
        customer_id: input.customer_id.map(|c| c.trim().to_string()),
        auth,
        sign_in_url: input.sign_in_url.filter(|s| !s.trim().is_empty()),
        secrets: Secrets {
            access_token: keep(input.access_token, &old.access_token)
                .filter(|_| auth == AuthKind::Bearer),
            ticket: keep(input.ticket, &old.ticket).filter(|_| auth == AuthKind::Soticket),
            app_token: keep(input.app_token, &old.app_token).filter(|_| auth != AuthKind::Bearer),
            system_user_token: keep(input.system_user_token, &old.system_user_token)
                .filter(|_| auth == AuthKind::SystemUser),
            private_key: keep(input.private_key, &old.private_key)
                .filter(|_| auth == AuthKind::SystemUser),
            refresh_token: keep(input.refresh_token, &old.refresh_token)
                .filter(|_| auth == AuthKind::Oauth),
        },
        settings: SignInSettings {
            environment: trimmed(input.environment).filter(|_| flow),
            client_id: trimmed(input.client_id).filter(|_| auth == AuthKind::Oauth),
            jwt_certificate: keep(input.jwt_certificate, &old_settings.jwt_certificate)
                .filter(|_| auth == AuthKind::SystemUser),
        },
        updated_at: None,
    }
}

/// `POST /admin/tenants/{t}/crm/test`: what Test Connection found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// The CRM tested.
    pub kind: CrmKind,
    /// The outcome.
    #[serde(flatten)]
    pub report: ConnectionReport,
}

/// The admin API error of a connection failure.
pub fn connection_error(e: ConnectionError) -> ApiError {
    match e {
        ConnectionError::Invalid(_) => ApiError::bad_request(e.to_string()),
        ConnectionError::Db(db) => ApiError::internal(&db),
        other => ApiError::internal(&other),
    }
}

/// The tenant's connection (no credentials).
pub async fn get_connection(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ConnectionView>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let c = connections::load(&state.db, state.crm.keys(), &id)
        .await
        .map_err(connection_error)?;
    Ok(Json(ConnectionView::of(&c)))
}

/// Saves the tenant's connection (validated) and switches its backend at once.
pub async fn put_connection(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ConnectionInput>, JsonRejection>,
) -> Result<Json<ConnectionView>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Json(input) = body?;
    // An unreadable stored connection (another key) is replaced as if none were stored.
    let before = connections::load(&state.db, state.crm.keys(), &id)
        .await
        .unwrap_or_default();
    let new = merge(&before, input);
    let version = connections::save(&state.db, state.crm.keys(), &id, &new, &scope.label())
        .await
        .map_err(connection_error)?;
    state.crm.invalidate(&id);
    if new.kind == CrmKind::Embedded {
        state
            .crm
            .embedded()
            .seed_demo(&id)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    let saved = CrmConnection {
        updated_at: Some(version),
        ..new
    };
    let view = ConnectionView::of(&saved);
    let entry = crate::log::NewEntry {
        user_id: None,
        user_name: None,
        source: crate::log::Source::Admin,
        action: "crm-connection-saved",
        outcome: crate::log::Outcome::Success,
        reason: Some(&scope.label()),
        detail: serde_json::to_value(&view).ok(),
    };
    crate::log::append(&state.db, &id, &entry).await?;
    // A new backend: everyone is re-evaluated against it.
    state
        .sync
        .sync_all(&id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(view))
}

/// Test Connection: the saved connection's catalogue calls, without retries; says what is
/// wrong (DNS, TLS, unreachable, credentials refused, missing rights on a call).
pub async fn test_connection(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TestResult>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    Ok(Json(
        run_test(&state.crm, &id).await.map_err(connection_error)?,
    ))
}

/// Runs Test Connection for the tenant's saved connection.
pub async fn run_test(
    router: &crate::crm::CrmRouter,
    id: &scim_server::TenantId,
) -> Result<TestResult, ConnectionError> {
    let c = connections::load(router.db(), router.keys(), id).await?;
    let report = match c.kind {
        CrmKind::Embedded => match router.embedded().catalog(id).await {
            Ok(cat) => ConnectionReport {
                ok: true,
                problem: None,
                failed_call: None,
                detail: "the embedded CRM directory".into(),
                counts: Some(CatalogCounts::of(&cat)),
            },
            Err(e) => ConnectionReport {
                ok: false,
                problem: Some(crate::crm::superoffice::ConnectionProblem::Unexpected),
                failed_call: None,
                detail: e.to_string(),
                counts: None,
            },
        },
        CrmKind::Superoffice => {
            let mut config = router.tuned(c.superoffice_config()?);
            config.retry = RetryPolicy::none();
            match SuperOfficeCrm::new(id.clone(), &config) {
                Ok(crm) => crm.test_connection().await,
                Err(e) => ConnectionReport {
                    ok: false,
                    problem: Some(crate::crm::superoffice::ConnectionProblem::Unexpected),
                    failed_call: None,
                    detail: e.to_string(),
                    counts: None,
                },
            }
        }
    };
    Ok(TestResult {
        kind: c.kind,
        report,
    })
}
