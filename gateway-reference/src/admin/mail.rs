//! The tenant's mail: the outbox, retrying a failed mail, the templates and their preview.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/tenants/{t}/mail/outbox?status=&kind=&limit=&offset=` | the outbox, newest first |
//! | GET | `/admin/tenants/{t}/mail/outbox/{id}[?reveal=true]` | one mail |
//! | POST | `/admin/tenants/{t}/mail/outbox/{id}/retry` | a failed mail back into the queue |
//! | GET, PUT | `/admin/tenants/{t}/mail/templates` | the from-address and templates |
//! | GET | `/admin/tenants/{t}/mail/preview?kind=` | the saved templates with sample data |
//! | POST | `/admin/tenants/{t}/mail/preview` | a draft `{"kind", "templates"}` with sample data |
//!
//! Welcome links: a listed welcome mail shows its link as `/activate/REDACTED`, so the
//! outbox listing (which support staff and tools read) never hands out a way into a user's
//! account. An administrator who has to pass a link on by hand (no SMTP server yet) asks for
//! one mail with `?reveal=true`: that works only until the mail is sent (then the token is
//! gone from the database) and is recorded in the provisioning log. The database holds the
//! token only sealed with the deployment's key; the reveal opens it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::{AdminState, ApiError, authorize_tenant};
use crate::log::{self, NewEntry, Outcome, Source};
use crate::mail::outbox::{self, ListQuery, MailRecord};
use crate::mail::templates::{self, Kind, MailTemplates, Rendered, Template, Vars};

fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(serde_json::Value::Null)
}

/// The mail endpoints' bodies for `GET /admin/schema`: (name, used by, schema).
pub fn schemas() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    vec![
        (
            "OutboxParams",
            "GET /admin/tenants/{t}/mail/outbox (query parameters)",
            schema_of::<OutboxParams>(),
        ),
        (
            "OutboxPage",
            "GET /admin/tenants/{t}/mail/outbox",
            schema_of::<OutboxPage>(),
        ),
        (
            "MailRecord",
            "GET /admin/tenants/{t}/mail/outbox/{id}, POST .../{id}/retry",
            schema_of::<MailRecord>(),
        ),
        (
            "MailTemplates",
            "PUT /admin/tenants/{t}/mail/templates (request)",
            schema_of::<MailTemplates>(),
        ),
        (
            "TemplatesView",
            "GET and PUT /admin/tenants/{t}/mail/templates (response)",
            schema_of::<TemplatesView>(),
        ),
        (
            "PreviewRequest",
            "POST /admin/tenants/{t}/mail/preview (request)",
            schema_of::<PreviewRequest>(),
        ),
        (
            "MailPreview",
            "GET and POST /admin/tenants/{t}/mail/preview (response)",
            schema_of::<Preview>(),
        ),
    ]
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
/// The outbox's statuses, as the `status` filter names them.
pub(crate) const STATUSES: [&str; 4] = ["queued", "sending", "sent", "failed"];
/// The mail kinds, as the `kind` filter names them.
pub(crate) const KINDS: [&str; 3] = ["welcome", "notification", "recovery"];

/// `GET .../mail/outbox` query parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutboxParams {
    /// `queued`, `sending`, `sent` or `failed`.
    pub status: Option<String>,
    /// `welcome`, `notification` or `recovery`.
    pub kind: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<u32>,
    /// Skip this many (paging).
    pub offset: Option<u32>,
}

/// `GET .../mail/outbox`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxPage {
    /// Whether an SMTP server is configured; without one, mails stay `queued`.
    pub smtp_configured: bool,
    /// The tenant's mails per status.
    pub counts: BTreeMap<String, i64>,
    /// The page, newest first; welcome links redacted.
    pub mails: Vec<MailRecord>,
}

/// The outbox filters `status` and `kind` (empty: not filtered) checked: 400 naming the
/// allowed values otherwise. The admin API's list and the Identity Manager's Mail tab.
pub(crate) fn outbox_filter(
    status: Option<&str>,
    kind: Option<&str>,
) -> Result<(Option<String>, Option<Kind>), ApiError> {
    let status = status.filter(|s| !s.is_empty());
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(ApiError::bad_request(format!(
            "status {s:?} is not one of {}",
            STATUSES.join(", ")
        )));
    }
    Ok((status.map(str::to_string), kind_param(kind)?))
}

fn kind_param(k: Option<&str>) -> Result<Option<Kind>, ApiError> {
    k.filter(|k| !k.is_empty())
        .map(|k| {
            Kind::parse(k).ok_or_else(|| {
                ApiError::bad_request(format!("kind {k:?} is not one of {}", KINDS.join(", ")))
            })
        })
        .transpose()
}

/// The tenant's outbox.
pub async fn list_outbox(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<OutboxParams>, QueryRejection>,
) -> Result<Json<OutboxPage>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(p) = params?;
    let (status, kind) = outbox_filter(p.status.as_deref(), p.kind.as_deref())?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let q = ListQuery {
        status,
        kind,
        limit,
        offset: p.offset.unwrap_or(0),
    };
    Ok(Json(OutboxPage {
        smtp_configured: state.mail.smtp.is_some(),
        counts: outbox::counts(&state.db, &id).await?.into_iter().collect(),
        mails: outbox::list(&state.db, &id, &q).await?,
    }))
}

/// `GET .../mail/outbox/{id}` query parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MailParams {
    /// Show an unsent welcome mail's usable link (recorded in the provisioning log).
    pub reveal: Option<bool>,
}

/// One mail.
pub async fn get_mail(
    State(state): State<AdminState>,
    Path((tenant, mail)): Path<(String, i64)>,
    headers: HeaderMap,
    params: Result<Query<MailParams>, QueryRejection>,
) -> Result<Json<MailRecord>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(p) = params?;
    let reveal = p.reveal.unwrap_or(false);
    let keys = reveal.then(|| state.crm.keys());
    let record = outbox::get(&state.db, &id, mail, keys)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mail {mail} in this tenant's outbox")))?;
    if reveal && record.kind == Kind::Welcome.as_str() {
        let label = scope.label();
        log::append(
            &state.db,
            &id,
            &NewEntry {
                user_id: None,
                user_name: Some(&record.to),
                source: Source::Admin,
                action: "welcome-link-revealed",
                outcome: Outcome::Success,
                reason: Some(&label),
                detail: Some(serde_json::json!({ "mail": mail })),
            },
        )
        .await?;
    }
    Ok(Json(record))
}

/// Puts a failed mail back into the queue (due now, attempts reset).
pub async fn retry_mail(
    State(state): State<AdminState>,
    Path((tenant, mail)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Json<MailRecord>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let record = outbox::get(&state.db, &id, mail, None)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mail {mail} in this tenant's outbox")))?;
    if !outbox::retry(&state.db, &id, mail).await? {
        return Err(ApiError::conflict(format!(
            "mail {mail} is {}; only a failed mail can be retried",
            record.status
        )));
    }
    let record = outbox::get(&state.db, &id, mail, None)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mail {mail} in this tenant's outbox")))?;
    Ok(Json(record))
}

/// `GET` and `PUT .../mail/templates`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatesView {
    /// What the tenant saved (`null`: the default).
    pub saved: MailTemplates,
    /// The From its mails carry.
    pub from: String,
    /// The templates in use (saved or default).
    pub welcome: Template,
    /// The notification template in use.
    pub notification: Template,
    /// The recovery template in use.
    pub recovery: Template,
}

fn view(state: &AdminState, saved: MailTemplates) -> TemplatesView {
    TemplatesView {
        from: saved
            .from
            .clone()
            .unwrap_or_else(|| state.mail.default_from.clone()),
        welcome: saved.template(Kind::Welcome),
        notification: saved.template(Kind::Notification),
        recovery: saved.template(Kind::Recovery),
        saved,
    }
}

/// The tenant's templates.
pub async fn get_templates(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TemplatesView>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let saved = templates::load(&state.db, &id).await?;
    Ok(Json(view(&state, saved)))
}

fn check(t: &MailTemplates) -> Result<(), ApiError> {
    let problems = t.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(problems.join("; ")))
    }
}

/// Replaces the tenant's templates (validated: the from-address, known placeholders).
pub async fn put_templates(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<MailTemplates>, JsonRejection>,
) -> Result<Json<TemplatesView>, ApiError> {
    let (scope, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Json(t) = body?;
    check(&t)?;
    templates::save(&state.db, &id, &t, &scope.label()).await?;
    Ok(Json(view(&state, t)))
}

/// `POST .../mail/preview`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// Which mail.
    pub kind: Kind,
    /// A draft; without one, the saved templates.
    pub templates: Option<MailTemplates>,
}

/// `GET` query of the preview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PreviewParams {
    /// `welcome` (default), `notification` or `recovery`.
    pub kind: Option<String>,
}

/// A preview.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// From.
    pub from: String,
    /// The mail rendered with sample data.
    #[serde(flatten)]
    pub mail: Rendered,
}

fn preview(state: &AdminState, t: &MailTemplates, kind: Kind) -> Result<Preview, ApiError> {
    let mail = t
        .render(kind, &Vars::sample(kind))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Preview {
        from: t
            .from
            .clone()
            .unwrap_or_else(|| state.mail.default_from.clone()),
        mail,
    })
}

/// The saved templates of `kind` with sample data.
pub async fn get_preview(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<PreviewParams>, QueryRejection>,
) -> Result<Json<Preview>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Query(p) = params?;
    let kind = kind_param(p.kind.as_deref())?.unwrap_or(Kind::Welcome);
    let saved = templates::load(&state.db, &id).await?;
    Ok(Json(preview(&state, &saved, kind)?))
}

/// A draft (or the saved templates) with sample data.
pub async fn post_preview(
    State(state): State<AdminState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PreviewRequest>, JsonRejection>,
) -> Result<Json<Preview>, ApiError> {
    let (_, id) = authorize_tenant(&state, &headers, &tenant).await?;
    let Json(req) = body?;
    let t = match req.templates {
        Some(t) => {
            check(&t)?;
            t
        }
        None => templates::load(&state.db, &id).await?,
    };
    Ok(Json(preview(&state, &t, req.kind)?))
}
