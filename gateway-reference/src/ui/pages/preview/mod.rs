//! `GET /ui/t/{tenant}/preview`: every received user's resulting settings under the saved
//! rules, with per-column filters and paging; `GET /ui/t/{tenant}/preview.csv`: the filtered
//! table as CSV (RFC 4180).
//!
//! The outcomes come from [`crate::preview::preview`], as the admin API's preview does; the
//! CRM catalogue names the plans, roles, groups and companies (its ids when the CRM cannot
//! be reached). Only one page (100 rows) is rendered.

mod csv;
mod filter;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::crm::Crm;
use crate::directory;
use crate::preview::{PreviewDiff, PreviewRow, diff, preview};
use crate::rules::{drafts, versions};
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::pages::names::{Names, RuleNames};
use crate::ui::pages::page_number;
use crate::ui::session::Admin;
use filter::{COLUMNS, FormState, OPS};

/// Rows per page.
const PAGE: usize = 100;

/// One cell: its text and the rule that set it.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// What is shown (and filtered, and exported).
    pub text: String,
    /// The rule that set it, if a rule did.
    pub rule: Option<String>,
}

/// A table row: one cell per column of [`COLUMNS`].
pub type TableRow = Vec<Cell>;

fn text(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        rule: None,
    }
}

fn table_row(r: &PreviewRow, names: &Names, rules: &RuleNames) -> TableRow {
    let mut row = vec![
        text(r.display_name.clone().unwrap_or_default()),
        text(r.user_name.clone()),
        text(if r.synced { "yes" } else { "no" }),
    ];
    row.extend(names.resolved(&r.settings).into_iter().map(|c| match c {
        Some((text, rule)) => Cell {
            text,
            rule: Some(rules.of(&rule)),
        },
        None => Cell::default(),
    }));
    row.push(text(
        r.matched
            .iter()
            .map(|id| rules.of(id))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    row
}

/// The whole filtered table.
struct Table {
    received: usize,
    synced: usize,
    rows: Vec<TableRow>,
    form: FormState,
    catalog_missing: bool,
    draft: Option<DraftChanges>,
}

async fn table(
    state: &UiState,
    id: &scim_server::TenantId,
    params: &HashMap<String, String>,
) -> Result<Table, UiError> {
    let (filters, form) = filter::parse(params).map_err(UiError::BadRequest)?;
    let rules = state
        .admin
        .sync
        .rules(id)
        .await
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    let db = &state.admin.db;
    let saved = versions::current(db, id).await?.map(|s| s.rules);
    let draft = drafts::load(db, id).await?;
    let compiled_draft = draft.as_ref().map(|d| d.rules.compile());
    let needs_resource =
        rules.needs_resource() || matches!(&compiled_draft, Some(Ok(d)) if d.needs_resource());
    let users = directory::users(db, id, needs_resource).await?;
    let p = preview(&users, &rules);
    let catalog = state.admin.crm.catalog(id).await.ok();
    let names = Names::new(catalog.as_ref());
    let rule_names = RuleNames::new(&saved.unwrap_or_default());
    let rows = p
        .rows
        .iter()
        .map(|r| table_row(r, &names, &rule_names))
        .filter(|row| filters.iter().all(|f| f.accepts(&row[f.column].text)))
        .collect();
    let draft = match compiled_draft {
        None => None,
        Some(Ok(d)) => Some(DraftChanges::of(&diff(&users, &rules, &d), &names)),
        Some(Err(e)) => Some(DraftChanges::broken(e.to_string())),
    };
    Ok(Table {
        received: p.users_received,
        synced: p.users_synced,
        rows,
        form,
        catalog_missing: catalog.is_none(),
        draft,
    })
}

/// At most this many users of each list of [`DraftChanges`] are shown.
const CHANGES_SHOWN: usize = 100;

/// What saving the rules being edited would change.
pub struct DraftChanges {
    /// Why the draft cannot be previewed (a condition that does not compile).
    pub error: Option<String>,
    /// How many users would start syncing, and the first of them.
    pub starts: (usize, Vec<String>),
    /// How many would stop, and the first of them.
    pub stops: (usize, Vec<String>),
    /// How many would have settings changed, and the first of them with each change.
    pub changed: (usize, Vec<(String, Vec<String>)>),
}

impl DraftChanges {
    fn of(d: &PreviewDiff, names: &Names) -> DraftChanges {
        let users = |list: &[crate::preview::DiffUser]| {
            (
                list.len(),
                list.iter()
                    .take(CHANGES_SHOWN)
                    .map(|u| u.user_name.clone())
                    .collect(),
            )
        };
        DraftChanges {
            error: None,
            starts: users(&d.starts),
            stops: users(&d.stops),
            changed: (
                d.changed.len(),
                d.changed
                    .iter()
                    .take(CHANGES_SHOWN)
                    .map(|u| {
                        let changes = u
                            .changes
                            .iter()
                            .map(|c| {
                                format!(
                                    "{}: {} → {}",
                                    Names::setting_label(&c.setting),
                                    names.change_value(&c.setting, &c.before),
                                    names.change_value(&c.setting, &c.after)
                                )
                            })
                            .collect();
                        (u.user_name.clone(), changes)
                    })
                    .collect(),
            ),
        }
    }

    fn broken(error: String) -> DraftChanges {
        DraftChanges {
            error: Some(error),
            starts: (0, Vec::new()),
            stops: (0, Vec::new()),
            changed: (0, Vec::new()),
        }
    }
}

/// A filter control of the form.
struct FilterControl {
    key: &'static str,
    label: &'static str,
    op: String,
    value: String,
}

#[derive(Template)]
#[template(path = "ui/preview.html")]
struct PreviewPage {
    chrome: Chrome,
    received: usize,
    synced: usize,
    matching: usize,
    headers: Vec<&'static str>,
    filters: Vec<FilterControl>,
    ops: &'static [(&'static str, &'static str, filter::Op)],
    rows: Vec<TableRow>,
    page: usize,
    pages: usize,
    query: String,
    catalog_missing: bool,
    draft: Option<DraftChanges>,
}

impl PreviewPage {
    fn link(&self, page: usize) -> String {
        if self.query.is_empty() {
            format!("?page={page}")
        } else {
            format!("?{}&page={page}", self.query)
        }
    }
}

/// `GET /ui/t/{tenant}/preview`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let (chrome, id) = chrome::for_tenant(&state, &admin, &tenant, "preview", "Preview").await?;
    let t = table(&state, &id, &params).await?;
    let pages = t.rows.len().div_ceil(PAGE).max(1);
    let page = page_number(&params)?.min(pages);
    let matching = t.rows.len();
    let rows = t
        .rows
        .into_iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .collect();
    let filters = COLUMNS
        .iter()
        .zip(&t.form.columns)
        .map(|((key, label), (op, value))| FilterControl {
            key,
            label,
            op: op.clone(),
            value: value.clone(),
        })
        .collect();
    let body = PreviewPage {
        chrome,
        received: t.received,
        synced: t.synced,
        matching,
        headers: COLUMNS.iter().map(|(_, l)| *l).collect(),
        filters,
        ops: &OPS,
        rows,
        page,
        pages,
        query: filter::query_string(&t.form),
        catalog_missing: t.catalog_missing,
        draft: t.draft,
    };
    Ok(Html(body.render()?).into_response())
}

/// `GET /ui/t/{tenant}/preview.csv`: the filtered table, every page.
pub async fn export(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let id = chrome::tenant_id(&state, &admin, &tenant).await?;
    let t = table(&state, &id, &params).await?;
    let body = csv::write(&COLUMNS.map(|(_, l)| l), &t.rows);
    let disposition = format!("attachment; filename=\"preview-{}.csv\"", id.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
