//! What every signed-in page shows around its content: the signed-in account, the tenant
//! switcher, the tenant's tabs and the sign-out form. Page templates extend
//! `templates/ui/base.html` and carry a [`Chrome`] named `chrome`.

use scim_server::TenantId;

use super::UiState;
use super::assets;
use super::error::UiError;
use super::session::Admin;
use crate::tenants::{self, Tenant};

/// A tenant in the switcher.
#[derive(Debug, Clone)]
pub struct TenantLink {
    /// Its id (in URLs).
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// The tabs of a tenant, in order: (path segment, label).
pub const TABS: [(&str, &str); 5] = [
    ("configurations", "Configurations"),
    ("preview", "Preview"),
    ("settings", "Settings"),
    ("log", "Provisioning log"),
    ("mail", "Mail"),
];

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's title.
    pub title: String,
    /// The signed-in account's name.
    pub user_name: String,
    /// The session's CSRF token (every form carries it as `csrf`).
    pub csrf: String,
    /// The tenants the account administers.
    pub tenants: Vec<TenantLink>,
    /// The tenant the page is about.
    pub tenant: Option<TenantLink>,
    /// The active tab (a path segment of [`TABS`]).
    pub tab: &'static str,
    /// The stylesheet's URL.
    pub css: &'static str,
    /// The script's URL.
    pub js: &'static str,
}

impl Chrome {
    /// The tabs, for the template.
    pub fn tabs(&self) -> &'static [(&'static str, &'static str)] {
        &TABS
    }
}

/// The tenants `admin` administers, by name.
pub async fn visible_tenants(state: &UiState, admin: &Admin) -> Result<Vec<Tenant>, UiError> {
    let access = &admin.account.access;
    Ok(tenants::list(&state.admin.db)
        .await?
        .into_iter()
        .filter(|t| access.allows(&t.id))
        .collect())
}

/// The frame around `tenants` (the switcher), with no tenant chosen.
fn frame(admin: &Admin, title: &str, tenants: Vec<Tenant>) -> Chrome {
    Chrome {
        title: title.to_string(),
        user_name: admin.account.user_name.clone(),
        csrf: admin.csrf.clone(),
        tenants: tenants
            .into_iter()
            .map(|t| TenantLink {
                id: t.id,
                name: t.name,
            })
            .collect(),
        tenant: None,
        tab: "",
        css: assets::CSS.path(),
        js: assets::JS.path(),
    }
}

/// The frame of a page that is not about one tenant.
pub async fn plain(state: &UiState, admin: &Admin, title: &str) -> Result<Chrome, UiError> {
    Ok(frame(admin, title, visible_tenants(state, admin).await?))
}

fn no_tenant(tenant: &str) -> UiError {
    UiError::NotFound(format!("There is no tenant {tenant:?}."))
}

/// The id of `tenant`, without a frame (for answers that are not pages, and posts that
/// redirect): 404 when the tenant does not exist or `admin` does not administer it, as
/// [`for_tenant`] answers.
pub async fn tenant_id(state: &UiState, admin: &Admin, tenant: &str) -> Result<TenantId, UiError> {
    if !admin.account.access.allows(tenant) {
        return Err(no_tenant(tenant));
    }
    tenants::get(&state.admin.db, tenant)
        .await?
        .and_then(|t| t.tenant_id())
        .ok_or_else(|| no_tenant(tenant))
}

/// The frame of tab `tab` of `tenant`, and the tenant's id: 404 when the tenant does not
/// exist or `admin` does not administer it (the two are not told apart).
pub async fn for_tenant(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
    tab: &'static str,
    title: &str,
) -> Result<(Chrome, TenantId), UiError> {
    if !admin.account.access.allows(tenant) {
        return Err(no_tenant(tenant));
    }
    let tenants = visible_tenants(state, admin).await?;
    let id = tenants
        .iter()
        .find(|t| t.id == tenant)
        .and_then(Tenant::tenant_id)
        .ok_or_else(|| no_tenant(tenant))?;
    let mut chrome = frame(admin, title, tenants);
    chrome.tenant = chrome.tenants.iter().find(|t| t.id == tenant).cloned();
    chrome.tab = tab;
    Ok((chrome, id))
}
