//! `GET /ui/t/{tenant}/log`: the provisioning log, newest first, filtered by user, action,
//! outcome and time range (a GET form), 50 entries a page (each page read on its own, with
//! an offset). Reads [`crate::log::query`], as the admin API's log does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::log::{self, LogEntry, LogQuery, Outcome, normalize_time};
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::pages::query_prefix;
use crate::ui::session::Admin;

/// Entries per page.
const PAGE: u32 = 50;

/// The filter form.
#[derive(Debug, Default, Deserialize)]
pub struct LogForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "ui/log.html")]
struct LogPage {
    chrome: Chrome,
    form: LogForm,
    outcomes: [&'static str; 4],
    entries: Vec<LogEntry>,
    page: u32,
    more: bool,
    query: String,
}

impl LogPage {
    fn link(&self, page: u32) -> String {
        format!("?{}page={page}", self.query)
    }
}

/// A time from the form: RFC 3339, or a `datetime-local` value (`2026-12-03T09:00`) read as
/// UTC.
fn time(name: &str, s: &str) -> Result<Option<String>, UiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    normalize_time(s)
        .or_else(|| normalize_time(&format!("{s}:00Z")))
        .or_else(|| normalize_time(&format!("{s}Z")))
        .map(Some)
        .ok_or_else(|| {
            UiError::BadRequest(format!(
                "{name} {s:?} is not a time (e.g. 2026-12-03T09:00 in UTC)"
            ))
        })
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `GET /ui/t/{tenant}/log`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(form): Query<LogForm>,
) -> Result<Response, UiError> {
    let (chrome, id) =
        chrome::for_tenant(&state, &admin, &tenant, "log", "Provisioning log").await?;
    let outcome = match non_empty(&form.outcome) {
        None => None,
        Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
            UiError::BadRequest(format!(
                "outcome {o:?} is not one of success, skipped, retrying, failure"
            ))
        })?),
    };
    let page = form.page.unwrap_or(1).max(1);
    let q = LogQuery {
        user: non_empty(&form.user),
        action: non_empty(&form.action),
        outcome,
        since: time("From", &form.since)?,
        until: time("To", &form.until)?,
        limit: PAGE + 1,
        offset: (page - 1).saturating_mul(PAGE),
    };
    let mut entries = log::query(&state.admin.db, &id, &q).await?;
    let more = entries.len() > PAGE as usize;
    entries.truncate(PAGE as usize);
    let query = query_prefix(&[
        ("user", form.user.as_str()),
        ("action", form.action.as_str()),
        ("outcome", form.outcome.as_str()),
        ("since", form.since.as_str()),
        ("until", form.until.as_str()),
    ]);
    let body = LogPage {
        chrome,
        form,
        outcomes: ["success", "skipped", "retrying", "failure"],
        entries,
        page,
        more,
        query,
    };
    Ok(Html(body.render()?).into_response())
}
