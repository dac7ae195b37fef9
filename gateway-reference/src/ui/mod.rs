//! The Identity Manager: the gateway's web UI, served by the gateway itself under `/ui/`.
//!
//! Pages are rendered on the server from the templates in `templates/ui/` (compiled into the
//! binary by [askama](https://docs.rs/askama)); `assets/ui.js` only enhances them (drag and
//! drop, live validation, copy buttons), so every page works without it and there is no
//! front-end build.
//!
//! | path | what |
//! |---|---|
//! | `/ui/signin`, `/ui/signout` | sign-in with a local account; sign-out |
//! | `/ui/oidc/start`, `/ui/oidc/callback` | sign-in through an OpenID Connect issuer ([`oidc`]) |
//! | `/ui/` | the tenants the account administers |
//! | `/ui/t/{tenant}/configurations` | User Sync Rules, SCIM users, the selected user's preview |
//! | `/ui/t/{tenant}/preview` | every user's resulting settings |
//! | `/ui/t/{tenant}/settings` | sync settings, the SCIM configuration, manual actions |
//! | `/ui/t/{tenant}/log`, `/ui/t/{tenant}/mail` | the provisioning log, the mail outbox |
//!
//! Access: an account administers every tenant or a list of them ([`accounts`]); another
//! tenant's pages answer 404, as a tenant that does not exist. Sessions, CSRF and the
//! security headers are in [`session`] and [`security`].

pub mod accounts;
pub mod assets;
pub mod chrome;
pub mod error;
pub mod oidc;
mod pages;
pub mod security;
pub mod session;
pub mod signin;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::admin::AdminState;
use error::UiError;
use signin::SignInLimiter;

/// What the pages share.
#[derive(Clone)]
pub struct UiState {
    /// The admin API's state: the database, the storage, the CRM, the sync engine.
    pub admin: AdminState,
    /// Whether the gateway is reached over HTTPS (cookies get `Secure` and `__Host-`).
    pub secure_cookies: bool,
    /// Failed sign-ins.
    pub limiter: Arc<SignInLimiter>,
    /// The OpenID Connect issuer, when one is configured ([`oidc`]).
    pub oidc: Option<Arc<oidc::provider::Provider>>,
}

impl UiState {
    /// The state for an admin API state; cookies are `Secure` when the public URL is HTTPS.
    pub fn new(admin: AdminState) -> Self {
        let secure_cookies = admin.public_url.starts_with("https://");
        UiState {
            admin,
            secure_cookies,
            limiter: Arc::new(SignInLimiter::default()),
            oidc: None,
        }
    }

    /// Administrators may also sign in through the OpenID Connect issuer `config`.
    pub fn with_oidc(mut self, config: Option<crate::config::OidcConfig>) -> Self {
        self.oidc = config.map(|c| Arc::new(oidc::provider::Provider::new(c)));
        self
    }
}

/// The Identity Manager's routes (to merge into the gateway's router).
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::tenants::index))
        .route("/ui/signin", get(signin::form).post(signin::submit))
        .route("/ui/signout", post(signin::sign_out))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/oidc/start", get(oidc::start))
        .route("/ui/oidc/callback", get(oidc::callback))
        .route("/ui/t/{tenant}", get(pages::tenants::tenant_home))
        .route(
            "/ui/t/{tenant}/configurations",
            get(pages::configurations::page),
        )
        .route(
            "/ui/t/{tenant}/configurations/rules",
            post(pages::configurations::wizard::submit),
        )
        .route(
            "/ui/t/{tenant}/configurations/rules/new",
            get(pages::configurations::wizard::new_rule),
        )
        .route(
            "/ui/t/{tenant}/configurations/rules/{rule}",
            get(pages::configurations::wizard::edit_rule),
        )
        .route(
            "/ui/t/{tenant}/configurations/rules/{rule}/{action}",
            post(pages::configurations::actions::rule_action),
        )
        .route(
            "/ui/t/{tenant}/configurations/order",
            post(pages::configurations::actions::reorder),
        )
        .route(
            "/ui/t/{tenant}/configurations/save",
            post(pages::configurations::actions::save),
        )
        .route(
            "/ui/t/{tenant}/configurations/discard",
            post(pages::configurations::actions::discard),
        )
        .route(
            "/ui/t/{tenant}/configurations/versions/{version}/restore",
            post(pages::configurations::actions::restore),
        )
        .route(
            "/ui/t/{tenant}/configurations/sync-user",
            post(pages::configurations::actions::sync_user),
        )
        .route(
            "/ui/t/{tenant}/configurations/condition",
            get(pages::configurations::wizard::check),
        )
        .route("/ui/t/{tenant}/preview", get(pages::preview::page))
        .route("/ui/t/{tenant}/preview.csv", get(pages::preview::export))
        .route(
            "/ui/t/{tenant}/settings",
            get(pages::settings::page).post(pages::settings::save),
        )
        .route(
            "/ui/t/{tenant}/settings/token",
            post(pages::settings::rotate_token),
        )
        .route(
            "/ui/t/{tenant}/settings/token/revoke",
            post(pages::settings::revoke_tokens),
        )
        .route(
            "/ui/t/{tenant}/settings/sync-all",
            post(pages::settings::sync_all),
        )
        .route(
            "/ui/t/{tenant}/settings/reset",
            post(pages::settings::reset),
        )
        .route(
            "/ui/t/{tenant}/settings/crm-test",
            post(pages::settings::crm_test),
        )
        .route("/ui/t/{tenant}/log", get(pages::log::page))
        .route("/ui/t/{tenant}/mail", get(pages::mail::page))
        .route("/ui/t/{tenant}/mail/{id}", get(pages::mail::detail))
        .route("/ui/t/{tenant}/mail/{id}/retry", post(pages::mail::retry))
        .route(
            "/ui/{*rest}",
            get(|| async { UiError::NotFound("There is no such page.".into()) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .with_state(state)
}
