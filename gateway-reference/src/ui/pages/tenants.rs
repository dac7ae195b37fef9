//! `GET /ui/`: the tenants the signed-in account administers (straight to the only one).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::session::Admin;

#[derive(Template)]
#[template(path = "ui/tenants.html")]
struct TenantsPage {
    chrome: Chrome,
}

/// `GET /ui/`.
pub async fn index(State(state): State<UiState>, admin: Admin) -> Result<Response, UiError> {
    let chrome = chrome::plain(&state, &admin, "Tenants").await?;
    if let [only] = chrome.tenants.as_slice() {
        return Ok(Redirect::to(&format!("/ui/t/{}/configurations", only.id)).into_response());
    }
    Ok(Html(TenantsPage { chrome }.render()?).into_response())
}

/// `GET /ui/t/{tenant}`: its first tab.
pub async fn tenant_home(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    chrome::for_tenant(&state, &admin, &tenant, "configurations", "").await?;
    Ok(Redirect::to(&format!("/ui/t/{tenant}/configurations")).into_response())
}
