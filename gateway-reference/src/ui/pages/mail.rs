//! `GET /ui/t/{tenant}/mail`: the tenant's mail outbox (newest first, by status and kind),
//! `GET .../mail/{id}`: one mail (its text body with the welcome link masked: the live token
//! is never shown), `POST .../mail/{id}/retry`: a failed mail back into the queue. Reads and
//! writes through [`crate::mail::outbox`], as the admin API does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::admin::mail::{KINDS, STATUSES, outbox_filter};
use crate::mail::outbox::{self, ListQuery, MailRecord};
use crate::ui::UiState;
use crate::ui::chrome::{self, Chrome};
use crate::ui::error::UiError;
use crate::ui::pages::query_prefix;
use crate::ui::session::Admin;

/// Mails per page.
const PAGE: u32 = 50;

/// The filter form.
#[derive(Debug, Default, Deserialize)]
pub struct MailForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "ui/mail.html")]
struct MailPage {
    chrome: Chrome,
    form: MailForm,
    statuses: [&'static str; 4],
    kinds: [&'static str; 3],
    counts: Vec<(String, i64)>,
    smtp_configured: bool,
    mails: Vec<MailRecord>,
    page: u32,
    more: bool,
    query: String,
}

impl MailPage {
    fn link(&self, page: u32) -> String {
        format!("?{}page={page}", self.query)
    }
}

/// `GET /ui/t/{tenant}/mail`.
pub async fn page(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(form): Query<MailForm>,
) -> Result<Response, UiError> {
    let (chrome, id) = chrome::for_tenant(&state, &admin, &tenant, "mail", "Mail").await?;
    let (status, kind) = outbox_filter(Some(&form.status), Some(&form.kind))?;
    let page = form.page.unwrap_or(1).max(1);
    let q = ListQuery {
        status,
        kind,
        limit: PAGE + 1,
        offset: (page - 1).saturating_mul(PAGE),
    };
    let mut mails = outbox::list(&state.admin.db, &id, &q).await?;
    let more = mails.len() > PAGE as usize;
    mails.truncate(PAGE as usize);
    let counts = outbox::counts(&state.admin.db, &id).await?;
    let query = query_prefix(&[
        ("status", form.status.as_str()),
        ("kind", form.kind.as_str()),
    ]);
    let body = MailPage {
        chrome,
        form,
        statuses: STATUSES,
        kinds: KINDS,
        counts,
        smtp_configured: state.admin.mail.smtp.is_some(),
        mails,
        page,
        more,
        query,
    };
    Ok(Html(body.render()?).into_response())
}

#[derive(Template)]
#[template(path = "ui/mail_detail.html")]
struct DetailPage {
    chrome: Chrome,
    mail: MailRecord,
}

async fn find(
    state: &UiState,
    id: &scim_server::TenantId,
    mail: i64,
) -> Result<MailRecord, UiError> {
    // No keys: a welcome link shows masked.
    outbox::get(&state.admin.db, id, mail, None)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("There is no mail {mail} in this outbox.")))
}

/// `GET /ui/t/{tenant}/mail/{id}`.
pub async fn detail(
    State(state): State<UiState>,
    admin: Admin,
    Path((tenant, mail)): Path<(String, i64)>,
) -> Result<Response, UiError> {
    let (chrome, id) = chrome::for_tenant(&state, &admin, &tenant, "mail", "Mail").await?;
    let mail = find(&state, &id, mail).await?;
    Ok(Html(DetailPage { chrome, mail }.render()?).into_response())
}

/// `POST /ui/t/{tenant}/mail/{id}/retry`: back to its page.
pub async fn retry(
    State(state): State<UiState>,
    admin: Admin,
    Path((tenant, mail)): Path<(String, i64)>,
) -> Result<Response, UiError> {
    let id = chrome::tenant_id(&state, &admin, &tenant).await?;
    if !outbox::retry(&state.admin.db, &id, mail).await? {
        // Not retried: a 404 when there is no such mail, else why not.
        let record = find(&state, &id, mail).await?;
        return Err(UiError::BadRequest(format!(
            "Mail {mail} is {}; only a failed mail can be retried.",
            record.status
        )));
    }
    Ok(Redirect::to(&format!("/ui/t/{}/mail/{mail}", id.as_str())).into_response())
}
