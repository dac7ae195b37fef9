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

use crate::crm::{Catalog, Crm};
use crate::directory;
use crate::preview::{PreviewRow, preview};
use crate::rules::PlanChoice;
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
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

/// Names of the CRM's ids: one map per catalogue list, built once per table (empty when
/// the CRM could not be reached: the ids are shown).
struct Names {
    plans: HashMap<i64, String>,
    roles: HashMap<i64, String>,
    groups: HashMap<i64, String>,
    companies: HashMap<i64, String>,
}

/// `(id, name)` of a catalogue list as a map; the first of a repeated id wins, as a scan
/// would find it.
fn by_id<'a>(items: impl DoubleEndedIterator<Item = (i64, &'a str)>) -> HashMap<i64, String> {
    items.rev().map(|(id, n)| (id, n.to_string())).collect()
}

impl Names {
    fn new(catalog: Option<&Catalog>) -> Names {
        let Some(c) = catalog else {
            return Names {
                plans: HashMap::new(),
                roles: HashMap::new(),
                groups: HashMap::new(),
                companies: HashMap::new(),
            };
        };
        Names {
            plans: by_id(c.user_plans.iter().map(|x| (x.id, x.name.as_str()))),
            roles: by_id(c.roles.iter().map(|x| (x.id, x.name.as_str()))),
            groups: by_id(c.user_groups.iter().map(|x| (x.id, x.name.as_str()))),
            companies: by_id(c.owner_companies.iter().map(|x| (x.id, x.name.as_str()))),
        }
    }

    /// The name of `id` in `list`, or `#id`.
    fn of(list: &HashMap<i64, String>, id: i64) -> String {
        list.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    }

    fn plan(&self, p: &PlanChoice) -> String {
        match p {
            PlanChoice::NotSelected => "Not selected".into(),
            PlanChoice::Plan { id } => Names::of(&self.plans, *id),
        }
    }
}

fn cell<T>(r: &Option<crate::rules::Resolved<T>>, show: impl Fn(&T) -> String) -> Cell {
    match r {
        Some(r) => Cell {
            text: show(&r.value),
            rule: Some(r.rule.clone()),
        },
        None => Cell::default(),
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell {
        text: s.into(),
        rule: None,
    }
}

fn table_row(r: &PreviewRow, names: &Names) -> TableRow {
    let s = &r.settings;
    vec![
        text(r.display_name.clone().unwrap_or_default()),
        text(r.user_name.clone()),
        text(if r.synced { "yes" } else { "no" }),
        cell(&s.user_plan, |p| names.plan(p)),
        cell(&s.role, |id| Names::of(&names.roles, *id)),
        cell(&s.primary_group, |id| Names::of(&names.groups, *id)),
        cell(&s.secondary_groups, |ids| {
            ids.iter()
                .map(|id| Names::of(&names.groups, *id))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        cell(&s.owner_company, |id| Names::of(&names.companies, *id)),
        cell(&s.confidential, |c| {
            if *c { "yes" } else { "no" }.to_string()
        }),
        text(r.matched.join(", ")),
    ]
}

/// The whole filtered table.
struct Table {
    received: usize,
    synced: usize,
    rows: Vec<TableRow>,
    form: FormState,
    catalog_missing: bool,
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
    let users = directory::users(&state.admin.db, id, rules.needs_resource()).await?;
    let p = preview(&users, &rules);
    let catalog = state.admin.crm.catalog(id).await.ok();
    let names = Names::new(catalog.as_ref());
    let rows = p
        .rows
        .iter()
        .map(|r| table_row(r, &names))
        .filter(|row| filters.iter().all(|f| f.accepts(&row[f.column].text)))
        .collect();
    Ok(Table {
        received: p.users_received,
        synced: p.users_synced,
        rows,
        form,
        catalog_missing: catalog.is_none(),
    })
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
    let page = match params.get("page").map(|p| p.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n.min(pages),
        Some(_) => return Err(UiError::BadRequest("page must be a number from 1".into())),
    };
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
