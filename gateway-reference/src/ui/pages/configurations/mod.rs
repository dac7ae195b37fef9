//! `GET /ui/t/{tenant}/configurations`: the Configurations tab, three panes side by side as
//! in SuperOffice's Identity Manager:
//! - **User Sync Rules**: the rules being edited (a server-side draft, [`rules::drafts`],
//!   until saved), each with enable/disable, edit, delete and move (buttons, and drag and
//!   drop with `assets/ui.js`); Save rules (validated, every problem names its rule) and
//!   Discard; the saved versions with restore;
//! - **SCIM users**: the users the identity provider pushed, by `userName`, a page at a
//!   time, by group and by search ([`crate::directory::search_users`]: filtered, sorted and
//!   paged in the SCIM storage);
//! - **Preview**: the selected user's name and user name, whether they are synced and each
//!   resulting setting with the rule that set it (under the saved rules and, when there is
//!   a draft, under the draft), and Sync user.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `.../configurations?group=&q=&page=&user=` | the tab |
//! | GET | `.../configurations/rules/new`, `.../rules/{id}` | the rules wizard ([`wizard`]) |
//! | POST | `.../configurations/rules` | a new or edited rule into the draft |
//! | POST | `.../configurations/rules/{id}/{enable,disable,delete,up,down}` | one rule ([`actions`]) |
//! | POST | `.../configurations/order` | a new order, `order=id,id,...` (drag and drop) |
//! | POST | `.../configurations/save`, `.../discard` | save the draft as a version; drop it |
//! | POST | `.../configurations/versions/{v}/restore` | save version `v` again as the newest |
//! | POST | `.../configurations/sync-user` | Sync user (`user=` the SCIM id) |
//! | GET | `.../configurations/condition?condition=` | `{"valid": bool, "message": ...}` for live validation |

pub mod actions;
pub mod form;
pub mod wizard;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use scim_server::TenantId;

use crate::crm::Crm;
use crate::directory::{self, DirectoryGroup, SearchError, UserQuery, search_users};
use crate::preview::DirectoryUser;
use crate::rules::drafts::{self, Working};
use crate::rules::versions::{self, SavedRules};
use crate::rules::{Apply, Rule, RuleScope, RuleSet};
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::pages::names::{Names, RuleNames, SETTINGS};
use crate::ui::pages::{page_number, query_prefix};
use crate::ui::session::Admin;

/// Users per page of the SCIM users pane.
pub const USERS_PER_PAGE: u64 = 50;
/// Saved versions listed.
const VERSIONS_SHOWN: i64 = 20;

/// A rule in the list.
pub struct RuleRow {
    /// 1-based position.
    pub position: usize,
    /// The rule.
    pub rule: Rule,
    /// Whom it applies to, in words.
    pub scope: String,
    /// What it sets: `(label, value, "Always" | "If not set")`.
    pub settings: Vec<(&'static str, String, &'static str)>,
    /// First or last of the list (no Move up, no Move down).
    pub first: bool,
    /// See `first`.
    pub last: bool,
}

/// A user in the SCIM users pane.
pub struct UserRow {
    /// The SCIM id.
    pub id: String,
    /// `userName`.
    pub user_name: String,
    /// `displayName`.
    pub display_name: String,
    /// `active`.
    pub active: bool,
    /// The link that selects them (keeps the pane's group, search and page).
    pub href: String,
}

/// A setting of the selected user: its label, and `(value, rule name)` under the saved
/// rules and under the draft.
pub struct SettingRow {
    /// "User plan"...
    pub label: &'static str,
    /// Under the saved rules.
    pub saved: Option<(String, String)>,
    /// Under the draft (when there is one).
    pub draft: Option<(String, String)>,
}

/// The Preview pane's user.
pub struct Selected {
    /// The SCIM id.
    pub id: String,
    /// `userName`.
    pub user_name: String,
    /// `displayName`.
    pub display_name: String,
    /// `active`.
    pub active: bool,
    /// Synced under the saved rules.
    pub synced: bool,
    /// Synced under the draft.
    pub draft_synced: bool,
    /// The matching rules' names (saved rules).
    pub matched: Vec<String>,
    /// Each setting.
    pub settings: Vec<SettingRow>,
    /// What the sync last did for them.
    pub crm: Option<crate::sync::UserSyncState>,
}

/// A saved version in the list.
pub struct VersionRow {
    /// The version.
    pub version: SavedRules,
    /// It is the current one.
    pub current: bool,
}

/// What a POST left to show.
#[derive(Debug, Default)]
pub struct Flash {
    /// A success message.
    pub notice: Option<String>,
    /// A failure, with each problem.
    pub error: Option<(String, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "ui/configurations.html")]
struct ConfigurationsPage {
    chrome: Chrome,
    base: String,
    flash: Flash,
    rules: Vec<RuleRow>,
    working: Working,
    versions: Vec<VersionRow>,
    more_versions: usize,
    groups: Vec<DirectoryGroup>,
    group: String,
    search: String,
    users: Vec<UserRow>,
    total: u64,
    page: u64,
    pages: u64,
    pane_query: String,
    selected: Option<Selected>,
    selected_missing: bool,
    catalog_missing: bool,
}

impl ConfigurationsPage {
    fn page_link(&self, page: u64) -> String {
        format!("?{}page={page}", self.pane_query)
    }
}

fn apply_label(a: Apply) -> &'static str {
    match a {
        Apply::Always => "Always",
        Apply::IfNotSet => "If not set",
    }
}

/// A group's name for a scope (its `externalId` when the mirror has no such group).
fn group_name(groups: &[DirectoryGroup], external_id: &str) -> String {
    groups
        .iter()
        .find(|g| g.external_id.as_deref() == Some(external_id))
        .map_or_else(|| external_id.to_owned(), |g| g.display_name.clone())
}

fn scope_text(scope: &RuleScope, groups: &[DirectoryGroup]) -> String {
    match scope {
        RuleScope::AllUsers => "All users".into(),
        RuleScope::InGroup { group } => format!("Users in {}", group_name(groups, group)),
        RuleScope::NotInGroup { group } => {
            format!("All users except {}", group_name(groups, group))
        }
    }
}

fn rule_rows(rules: &RuleSet, names: &Names, groups: &[DirectoryGroup]) -> Vec<RuleRow> {
    let n = rules.rules.len();
    rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleRow {
            position: i + 1,
            rule: r.clone(),
            scope: scope_text(&r.scope, groups),
            settings: names
                .rule_settings(&r.settings)
                .into_iter()
                .map(|(l, v, a)| (l, v, apply_label(a)))
                .collect(),
            first: i == 0,
            last: i + 1 == n,
        })
        .collect()
}

/// The pane's query: group, search, page and the selected user.
fn param<'a>(params: &'a HashMap<String, String>, key: &str) -> &'a str {
    params.get(key).map_or("", |s| s.trim())
}

fn selected(
    user: &DirectoryUser,
    working: &Working,
    saved: &RuleSet,
    names: &Names,
) -> Result<Selected, UiError> {
    let compile = |r: &RuleSet| r.compile().map_err(|e| UiError::BadRequest(e.to_string()));
    let saved_outcome = user.outcome(&compile(saved)?);
    let draft_outcome = match &working.draft {
        Some(_) => Some(user.outcome(&compile(&working.rules)?)),
        None => None,
    };
    let saved_names = RuleNames::new(saved);
    let draft_names = RuleNames::new(&working.rules);
    let with_rule = |cell: Option<(String, String)>, rules: &RuleNames| {
        cell.map(|(value, rule)| (value, rules.of(&rule)))
    };
    let saved_cells = names.resolved(&saved_outcome.settings);
    let draft_cells = draft_outcome.as_ref().map(|o| names.resolved(&o.settings));
    let settings = SETTINGS
        .iter()
        .enumerate()
        .map(|(i, label)| SettingRow {
            label,
            saved: with_rule(saved_cells[i].clone(), &saved_names),
            draft: draft_cells
                .as_ref()
                .and_then(|c| with_rule(c[i].clone(), &draft_names)),
        })
        .collect();
    Ok(Selected {
        id: user.id.clone(),
        user_name: user.user_name.clone(),
        display_name: user.display_name.clone().unwrap_or_default(),
        active: user.active,
        synced: saved_outcome.synced,
        draft_synced: draft_outcome.as_ref().is_some_and(|o| o.synced),
        matched: saved_outcome
            .matched
            .iter()
            .map(|id| saved_names.of(id))
            .collect(),
        settings,
        crm: None,
    })
}

fn search_error(e: SearchError) -> UiError {
    match e {
        SearchError::BadQuery(m) => UiError::BadRequest(m),
        e @ SearchError::NoSuchGroup(_) => UiError::BadRequest(e.to_string()),
        SearchError::Storage(e) => UiError::Internal(e.to_string()),
    }
}

/// The tab for `params`, with `flash` from a POST.
pub async fn render(
    state: &UiState,
    (chrome, id): (Chrome, TenantId),
    params: &HashMap<String, String>,
    flash: Flash,
) -> Result<Response, UiError> {
    let db = &state.admin.db;
    // The versions the tab lists; the first is the current one (none before the first save).
    let saved = versions::recent(db, &id, VERSIONS_SHOWN).await?;
    let working = Working::new(drafts::load(db, &id).await?, saved.first());
    let groups = directory::groups(db, &id).await?;
    let catalog = state.admin.crm.catalog(&id).await.ok();
    let names = Names::new(catalog.as_ref());

    let (group, search) = (param(params, "group"), param(params, "q"));
    let page = page_number(params)? as u64;
    let query = UserQuery {
        group: Some(group),
        search: Some(search),
        offset: (page - 1) * USERS_PER_PAGE,
        limit: USERS_PER_PAGE,
    };
    let found = search_users(state.admin.storage.as_ref(), &id, &query)
        .await
        .map_err(search_error)?;
    let pages = found.total_results.div_ceil(USERS_PER_PAGE).max(1);
    let pane_query = query_prefix(&[("group", group), ("q", search)]);
    let users = found
        .users
        .into_iter()
        .map(|u| UserRow {
            href: format!(
                "?{}page={page}&user={}",
                pane_query,
                form_urlencoded::byte_serialize(u.id.as_bytes()).collect::<String>()
            ),
            user_name: u.user_name.unwrap_or_default(),
            display_name: u.display_name.unwrap_or_default(),
            active: u.active,
            id: u.id,
        })
        .collect();

    let current = saved.first().map(|s| s.rules.clone()).unwrap_or_default();
    let chosen = param(params, "user");
    let (selected, selected_missing) = if chosen.is_empty() {
        (None, false)
    } else {
        match directory::user(db, &id, chosen).await? {
            Some(u) => {
                let mut s = self::selected(&u, &working, &current, &names)?;
                s.crm = state
                    .admin
                    .sync
                    .user_state(&id, &u.id)
                    .await
                    .map_err(|e| UiError::Internal(e.to_string()))?;
                (Some(s), false)
            }
            None => (None, true),
        }
    };
    // Versions are numbered 1, 2, ... without gaps: the current one is their count.
    let more_versions = usize::try_from(working.saved_version)
        .unwrap_or(0)
        .saturating_sub(saved.len());
    let versions = saved
        .iter()
        .map(|v| VersionRow {
            current: v.version == working.saved_version,
            version: v.clone(),
        })
        .collect();
    let body = ConfigurationsPage {
        base: format!("/ui/t/{}/configurations", id.as_str()),
        chrome,
        flash,
        rules: rule_rows(&working.rules, &names, &groups),
        working,
        more_versions,
        versions,
        groups,
        group: group.to_owned(),
        search: search.to_owned(),
        users,
        total: found.total_results,
        page,
        pages,
        pane_query,
        selected,
        selected_missing,
        catalog_missing: catalog.is_none(),
    };
    Ok(Html(body.render()?).into_response())
}

/// The frame of this tab and the tenant's id (404 as [`chrome::for_tenant`]).
pub async fn frame(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
) -> Result<(Chrome, TenantId), UiError> {
    chrome::for_tenant(state, admin, tenant, "configurations", "Configurations").await
}

/// The notices a redirect after a POST names (`?notice=`): fixed texts, so a link cannot
/// put words on the page.
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "rule-saved" => "The rule is in the draft. Save rules to put it to work.",
        "rule-deleted" => "The rule is deleted from the draft.",
        "rule-changed" => "The draft is changed.",
        "saved" => "The rules are saved; every user is queued for re-evaluation.",
        "discarded" => "The unsaved changes are discarded.",
        "restored" => "The version is restored as the newest; every user is queued.",
        "nothing" => "There are no unsaved changes to save.",
        _ => return None,
    })
}

/// `GET /ui/t/{tenant}/configurations`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    let flash = Flash {
        notice: params
            .get("notice")
            .and_then(|c| notice_text(c))
            .map(str::to_owned),
        error: None,
    };
    render(&state, frame, &params, flash).await
}
