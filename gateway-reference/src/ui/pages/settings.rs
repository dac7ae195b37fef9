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
use crate::admin::sync::sync_err;
use crate::crm::connections;
use crate::settings::{self, TenantSettings};
use crate::tenants;
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::pages::{ConfirmForm, who};
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
    outcome: Outcome,
}

/// The frame of this tab and the tenant's id (404 as [`chrome::for_tenant`]).
async fn frame(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
) -> Result<(Chrome, TenantId), UiError> {
    chrome::for_tenant(state, admin, tenant, "settings", "Settings").await
}

/// The page in `chrome`, showing `settings` (`None`: read them) and `outcome`.
async fn render(
    state: &UiState,
    (chrome, id): (Chrome, TenantId),
    settings: Option<TenantSettings>,
    outcome: Outcome,
) -> Result<Response, UiError> {
    let settings = match settings {
        Some(s) => s,
        None => settings::load(&state.admin.db, &id).await?,
    };
    let router = &state.admin.crm;
    let conn = connections::load(router.db(), router.keys(), &id)
        .await
        .map_err(connection_error)?;
    let page = SettingsPage {
        base: format!("/ui/t/{}/settings", id.as_str()),
        chrome,
        settings,
        tenant_url: state.admin.tenant_url(id.as_str()),
        crm: ConnectionView::of(&conn),
        outcome,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /ui/t/{tenant}/settings`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    render(&state, frame, None, Outcome::default()).await
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
    let frame = frame(&state, &admin, &tenant).await?;
    let id = &frame.1;
    let old = settings::load(&state.admin.db, id).await?;
    let mut new = old.clone();
    new.user_sync_active = form.user_sync_active.is_some();
    new.send_welcome_email = form.send_welcome_email.is_some();
    let mail = form.notifications_email.trim();
    new.notifications_email = (!mail.is_empty()).then(|| mail.to_string());
    let (shown, outcome) =
        match crate::admin::settings::save_settings(&state.admin, id, &new, &who(&admin)).await {
            Ok(()) => (
                new,
                Outcome {
                    notice: Some("The settings are saved.".into()),
                    ..Outcome::default()
                },
            ),
            Err(e) if e.status == 400 => (
                old,
                Outcome {
                    error: Some(e.detail),
                    ..Outcome::default()
                },
            ),
            Err(e) => return Err(e.into()),
        };
    render(&state, frame, Some(shown), outcome).await
}

/// Runs a destructive action on `tenant` once the form confirms it (`what` names it in the
/// 400 otherwise), then shows the page with the notice `act` returns.
async fn confirmed_action<F, Fut>(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
    form: &ConfirmForm,
    what: &str,
    act: F,
) -> Result<Response, UiError>
where
    F: FnOnce(TenantId) -> Fut,
    Fut: Future<Output = Result<Outcome, UiError>>,
{
    let frame = frame(state, admin, tenant).await?;
    form.check(what)?;
    let outcome = act(frame.1.clone()).await?;
    render(state, frame, None, outcome).await
}

fn notice(text: String) -> Outcome {
    Outcome {
        notice: Some(text),
        ..Outcome::default()
    }
}

/// `POST /ui/t/{tenant}/settings/token`: a new Secret Token, shown in this answer only.
pub async fn rotate_token(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let by = who(&admin);
    let db = &state.admin.db;
    confirmed_action(
        &state,
        &admin,
        &tenant,
        &form,
        "A new Secret Token",
        |id| async move {
            let token = tenants::rotate_token(db, &id, &by)
                .await
                .map_err(|e| UiError::Internal(e.to_string()))?;
            Ok(Outcome {
                new_token: Some(token),
                ..notice("A new Secret Token is ready; every earlier token is revoked.".into())
            })
        },
    )
    .await
}

/// `POST /ui/t/{tenant}/settings/token/revoke`.
pub async fn revoke_tokens(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let by = who(&admin);
    let db = &state.admin.db;
    let what = "Revoking the Secret Tokens";
    confirmed_action(&state, &admin, &tenant, &form, what, |id| async move {
        let n = tenants::revoke_tokens(db, &id, &by)
            .await
            .map_err(|e| UiError::Internal(e.to_string()))?;
        Ok(notice(format!(
            "{n} token(s) revoked; running gateways stop accepting them within {} s.",
            tenants::TOKEN_CACHE_TTL.as_secs()
        )))
    })
    .await
}

/// `POST /ui/t/{tenant}/settings/sync-all`.
pub async fn sync_all(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let sync = &state.admin.sync;
    confirmed_action(
        &state,
        &admin,
        &tenant,
        &form,
        "Sync all",
        |id| async move {
            let n = sync.sync_all(&id).await.map_err(sync_err)?;
            Ok(notice(format!("{n} user(s) queued for sync.")))
        },
    )
    .await
}

/// `POST /ui/t/{tenant}/settings/reset`.
pub async fn reset(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let sync = &state.admin.sync;
    confirmed_action(&state, &admin, &tenant, &form, "Reset", |id| async move {
        sync.reset(&id).await.map_err(sync_err)?;
        Ok(notice(
            "The synced state is cleared; the rules are kept.".into(),
        ))
    })
    .await
}

/// `POST /ui/t/{tenant}/settings/crm-test`: Test Connection.
pub async fn crm_test(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    let result = run_test(&state.admin.crm, &frame.1)
        .await
        .map_err(connection_error)?;
    let r = result.report;
    let outcome = if r.ok {
        notice(format!("The connection works: {}.", r.detail))
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
    render(&state, frame, None, outcome).await
}
