//! `GET /ui/t/{tenant}/settings`: the sync settings (User Sync Active, Send Welcome Email,
//! Notifications Email), the SCIM configuration (the Tenant URL, generating or rotating the
//! Secret Token, revoking every token), the manual actions (Sync all, Reset) and the CRM
//! connection (read-only, with Test Connection).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `.../settings` | save the settings |
//! | POST | `.../settings/token` | a new Secret Token (shown once, in the answer); earlier ones revoked |
//! | POST | `.../settings/token/revoke` | revoke every Secret Token |
//! | POST | `.../settings/sync-all`, `.../settings/reset` | Sync all, Reset |
//! | POST | `.../settings/crm-test` | Test Connection |
//!
//! The destructive actions need the form's `confirm=yes` (a checkbox), so they are confirmed
//! without JavaScript too; `data-confirm` asks again in the browser. They call the functions
//! the admin API calls ([`crate::admin::settings::save_settings`], [`tenants::rotate_token`],
//! [`tenants::revoke_tokens`], the sync engine, [`crate::admin::crm::run_test`]).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use scim_server::TenantId;
use serde::Deserialize;

use crate::admin::crm::{ConnectionView, connection_error, run_test};
use crate::crm::connections;
use crate::settings::{self, TenantSettings};
use crate::tenants;
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::session::Admin;

/// What a POST left to show on the page.
#[derive(Debug, Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    base: String,
    settings: TenantSettings,
    tenant_url: String,
    crm: ConnectionView,
    crm_kind: String,
    outcome: Outcome,
}

fn who(admin: &Admin) -> String {
    format!("ui:{}", admin.account.user_name)
}

async fn render(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
    outcome: Outcome,
) -> Result<Response, UiError> {
    let (chrome, id) = chrome::for_tenant(state, admin, tenant, "settings", "Settings").await?;
    let settings = settings::load(&state.admin.db, &id).await?;
    let router = &state.admin.crm;
    let conn = connections::load(router.db(), router.keys(), &id)
        .await
        .map_err(connection_error)?;
    let crm = ConnectionView::of(&conn);
    let crm_kind = serde_json::to_value(crm.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let page = SettingsPage {
        base: format!("/ui/t/{}/settings", id.as_str()),
        chrome,
        settings,
        tenant_url: state.admin.tenant_url(id.as_str()),
        crm,
        crm_kind,
        outcome,
    };
    Ok(Html(page.render()?).into_response())
}

async fn tenant_id(state: &UiState, admin: &Admin, tenant: &str) -> Result<TenantId, UiError> {
    Ok(
        chrome::for_tenant(state, admin, tenant, "settings", "Settings")
            .await?
            .1,
    )
}

/// `GET /ui/t/{tenant}/settings`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    render(&state, &admin, &tenant, Outcome::default()).await
}

/// The settings form.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    /// `on` when checked.
    #[serde(default)]
    user_sync_active: Option<String>,
    /// `on` when checked.
    #[serde(default)]
    send_welcome_email: Option<String>,
    /// Empty: none.
    #[serde(default)]
    notifications_email: String,
}

/// `POST /ui/t/{tenant}/settings`.
pub async fn save(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    let mut new = settings::load(&state.admin.db, &id).await?;
    new.user_sync_active = form.user_sync_active.is_some();
    new.send_welcome_email = form.send_welcome_email.is_some();
    let mail = form.notifications_email.trim();
    new.notifications_email = (!mail.is_empty()).then(|| mail.to_string());
    let outcome =
        match crate::admin::settings::save_settings(&state.admin, &id, &new, &who(&admin)).await {
            Ok(()) => Outcome {
                notice: Some("The settings are saved.".into()),
                ..Outcome::default()
            },
            Err(e) if e.status == 400 => Outcome {
                error: Some(e.detail),
                ..Outcome::default()
            },
            Err(e) => return Err(e.into()),
        };
    render(&state, &admin, &tenant, outcome).await
}

/// A confirmed action's form.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// `yes` when the administrator ticked the confirmation.
    #[serde(default)]
    confirm: Option<String>,
}

fn confirmed(form: &ConfirmForm, what: &str) -> Result<(), UiError> {
    if form.confirm.as_deref() == Some("yes") {
        Ok(())
    } else {
        Err(UiError::BadRequest(format!(
            "{what} needs confirming: tick the box beside the button."
        )))
    }
}

/// `POST /ui/t/{tenant}/settings/token`: a new Secret Token, shown in this answer only.
pub async fn rotate_token(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    confirmed(&form, "A new Secret Token")?;
    let token = tenants::rotate_token(&state.admin.db, &id, &who(&admin))
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?;
    let outcome = Outcome {
        notice: Some("A new Secret Token is ready; every earlier token is revoked.".into()),
        new_token: Some(token),
        ..Outcome::default()
    };
    render(&state, &admin, &tenant, outcome).await
}

/// `POST /ui/t/{tenant}/settings/token/revoke`.
pub async fn revoke_tokens(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    confirmed(&form, "Revoking the Secret Tokens")?;
    let n = tenants::revoke_tokens(&state.admin.db, &id, &who(&admin))
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?;
    let outcome = Outcome {
        notice: Some(format!(
            "{n} token(s) revoked; running gateways stop accepting them within {} s.",
            tenants::TOKEN_CACHE_TTL.as_secs()
        )),
        ..Outcome::default()
    };
    render(&state, &admin, &tenant, outcome).await
}

fn sync_error(e: crate::sync::SyncError) -> UiError {
    match e {
        crate::sync::SyncError::Crm(e) if e.is_transient() => {
            UiError::Unavailable(format!("The CRM is unavailable: {e}"))
        }
        e => UiError::Internal(crate::app::with_causes(&e)),
    }
}

/// `POST /ui/t/{tenant}/settings/sync-all`.
pub async fn sync_all(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    confirmed(&form, "Sync all")?;
    let n = state.admin.sync.sync_all(&id).await.map_err(sync_error)?;
    let outcome = Outcome {
        notice: Some(format!("{n} user(s) queued for sync.")),
        ..Outcome::default()
    };
    render(&state, &admin, &tenant, outcome).await
}

/// `POST /ui/t/{tenant}/settings/reset`.
pub async fn reset(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    confirmed(&form, "Reset")?;
    state.admin.sync.reset(&id).await.map_err(sync_error)?;
    let outcome = Outcome {
        notice: Some("The synced state is cleared; the rules are kept.".into()),
        ..Outcome::default()
    };
    render(&state, &admin, &tenant, outcome).await
}

/// `POST /ui/t/{tenant}/settings/crm-test`: Test Connection.
pub async fn crm_test(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    let id = tenant_id(&state, &admin, &tenant).await?;
    let result = run_test(&state.admin.crm, &id)
        .await
        .map_err(connection_error)?;
    let r = result.report;
    let outcome = if r.ok {
        Outcome {
            notice: Some(format!("The connection works: {}.", r.detail)),
            ..Outcome::default()
        }
    } else {
        let call = r
            .failed_call
            .map(|c| format!(" (at {c})"))
            .unwrap_or_default();
        Outcome {
            error: Some(format!("The connection failed{call}: {}", r.detail)),
            ..Outcome::default()
        }
    };
    render(&state, &admin, &tenant, outcome).await
}
