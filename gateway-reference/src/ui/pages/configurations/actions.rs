//! The Configurations tab's actions on the draft and the saved rules, and Sync user. Every
//! action is a form POST that works without JavaScript and redirects back to the tab (the
//! drag and drop of `assets/ui.js` posts `order` with the `X-CSRF-Token` header and gets
//! the same redirect); a refused save shows the tab with each problem naming its rule.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use scim_server::TenantId;
use serde::Deserialize;

use super::{Flash, frame, render};
use crate::admin::sync::sync_err;
use crate::rules::drafts;
use crate::rules::versions::{self, SaveError};
use crate::sync::SaveRulesError;
use crate::ui::UiState;
use crate::ui::error::UiError;
use crate::ui::pages::{ConfirmForm, who};
use crate::ui::session::Admin;

fn back(tenant: &TenantId, notice: &str) -> Response {
    Redirect::to(&format!(
        "/ui/t/{}/configurations?notice={notice}#rules",
        tenant.as_str()
    ))
    .into_response()
}

/// Changes the tenant's draft (started from the saved rules when there is none) with
/// `edit`, and stores it.
async fn edit_draft(
    state: &UiState,
    admin: &Admin,
    tenant: &str,
    edit: impl FnOnce(&mut crate::rules::RuleSet) -> Result<(), crate::rules::EditError>,
    notice: &str,
) -> Result<Response, UiError> {
    let (_, id) = frame(state, admin, tenant).await?;
    let db = &state.admin.db;
    let working = drafts::working(db, &id).await?;
    let mut rules = working.rules;
    edit(&mut rules).map_err(|e| UiError::BadRequest(format!("{e}; reload the page.")))?;
    drafts::store(db, &id, &rules, working.saved_version, &who(admin)).await?;
    Ok(back(&id, notice))
}

/// `POST .../rules/{rule}/{action}`: `enable`, `disable`, `delete`, `up`, `down`.
pub async fn rule_action(
    State(state): State<UiState>,
    admin: Admin,
    Path((tenant, rule, action)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    let r = rule.as_str();
    match action.as_str() {
        "enable" => {
            edit_draft(
                &state,
                &admin,
                &tenant,
                |s| s.set_enabled(r, true),
                "rule-changed",
            )
            .await
        }
        "disable" => {
            edit_draft(
                &state,
                &admin,
                &tenant,
                |s| s.set_enabled(r, false),
                "rule-changed",
            )
            .await
        }
        "delete" => {
            edit_draft(
                &state,
                &admin,
                &tenant,
                |s| s.remove(r).map(drop),
                "rule-deleted",
            )
            .await
        }
        "up" => {
            edit_draft(
                &state,
                &admin,
                &tenant,
                |s| s.move_by(r, -1),
                "rule-changed",
            )
            .await
        }
        "down" => edit_draft(&state, &admin, &tenant, |s| s.move_by(r, 1), "rule-changed").await,
        _ => Err(UiError::NotFound("There is no such page.".into())),
    }
}

/// The drag and drop's new order.
#[derive(Debug, Deserialize)]
pub struct OrderForm {
    /// Every rule id, comma-separated, in the new order.
    order: String,
}

/// `POST .../configurations/order`.
pub async fn reorder(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<OrderForm>,
) -> Result<Response, UiError> {
    let ids: Vec<&str> = form
        .order
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    edit_draft(&state, &admin, &tenant, |s| s.reorder(&ids), "rule-changed").await
}

/// Save rules' form.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    /// Why (kept with the version).
    #[serde(default)]
    comment: String,
}

/// `POST .../configurations/save`: the draft becomes the newest version (validated against
/// the CRM catalogue and the directory's groups), every user is queued.
pub async fn save(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<SaveForm>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    let id = frame.1.clone();
    let db = &state.admin.db;
    let Some(draft) = drafts::load(db, &id).await? else {
        return Ok(back(&id, "nothing"));
    };
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    match state
        .admin
        .sync
        .save_rules(&id, &draft.rules, &who(&admin), comment)
        .await
    {
        Ok(_) => {
            drafts::discard_saved(db, &id, &draft.updated_at).await?;
            Ok(back(&id, "saved"))
        }
        Err(SaveRulesError::Save(SaveError::Invalid(problems))) => {
            let flash = Flash {
                notice: None,
                error: Some((
                    "The rules are not saved: fix these first.".into(),
                    problems.iter().map(ToString::to_string).collect(),
                )),
            };
            render(&state, frame, &HashMap::new(), flash).await
        }
        Err(SaveRulesError::Save(SaveError::Crm(e))) => Err(UiError::Unavailable(format!(
            "The CRM's catalogue cannot be read, so the rules cannot be checked: {e}"
        ))),
        Err(SaveRulesError::Save(SaveError::Db(e))) => Err(e.into()),
        Err(e @ SaveRulesError::Queue { .. }) => {
            drafts::discard_saved(db, &id, &draft.updated_at).await?;
            Err(UiError::Internal(e.to_string()))
        }
    }
}

/// `POST .../configurations/discard`.
pub async fn discard(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let (_, id) = frame(&state, &admin, &tenant).await?;
    form.check("Discarding the changes")?;
    drafts::discard(&state.admin.db, &id).await?;
    Ok(back(&id, "discarded"))
}

/// `POST .../configurations/versions/{v}/restore`: version `v` saved again as the newest
/// (checked against today's catalogue); the draft, if any, is discarded.
pub async fn restore(
    State(state): State<UiState>,
    admin: Admin,
    Path((tenant, version)): Path<(String, i64)>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    let id = frame.1.clone();
    form.check("Restoring a version")?;
    let db = &state.admin.db;
    let old = versions::get(db, &id, version)
        .await?
        .ok_or_else(|| UiError::NotFound(format!("There is no saved version {version}.")))?;
    let comment = format!("restored version {version}");
    match state
        .admin
        .sync
        .save_rules(&id, &old.rules, &who(&admin), Some(&comment))
        .await
    {
        Ok(_) => {
            drafts::discard(db, &id).await?;
            Ok(back(&id, "restored"))
        }
        Err(SaveRulesError::Save(SaveError::Invalid(problems))) => {
            let flash = Flash {
                notice: None,
                error: Some((
                    format!("Version {version} no longer fits the CRM or the groups:"),
                    problems.iter().map(ToString::to_string).collect(),
                )),
            };
            render(&state, frame, &HashMap::new(), flash).await
        }
        Err(e) => Err(UiError::Unavailable(e.to_string())),
    }
}

/// Sync user's form.
#[derive(Debug, Deserialize)]
pub struct SyncUserForm {
    /// The SCIM id.
    user: String,
}

/// `POST .../configurations/sync-user`: reconcile the user with the CRM now; the tab shows
/// what happened, with the user still selected.
pub async fn sync_user(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Form(form): Form<SyncUserForm>,
) -> Result<Response, UiError> {
    let frame = frame(&state, &admin, &tenant).await?;
    let id = frame.1.clone();
    let sync = &state.admin.sync;
    let failed = |e| UiError::from(sync_err(e));
    if !sync.knows_user(&id, &form.user).await.map_err(failed)? {
        return Err(UiError::NotFound(format!(
            "There is no SCIM user {:?} in this tenant.",
            form.user
        )));
    }
    let pass = sync.sync_user(&id, &form.user).await.map_err(failed)?;
    let after = sync.user_state(&id, &form.user).await.map_err(failed)?;
    let fail = |text: String| Flash {
        notice: None,
        error: Some((text, Vec::new())),
    };
    let flash = match after {
        _ if pass.crm_unavailable => {
            fail("The CRM is unavailable; the user stays queued and is retried.".into())
        }
        Some(s) if s.error.is_some() => fail(format!(
            "The CRM refused the change: {}",
            s.error.unwrap_or_default()
        )),
        Some(s) if s.state == "synced" => Flash {
            notice: Some(format!(
                "Synced: CRM user #{} has the settings shown.",
                s.associate_id.unwrap_or_default()
            )),
            error: None,
        },
        Some(s) => Flash {
            notice: Some(format!(
                "Synced: the user is not a CRM user with a licence ({}).",
                s.state
            )),
            error: None,
        },
        None => Flash {
            notice: Some(
                "Nothing to write: no rule selects the user, or User Sync Active is off.".into(),
            ),
            error: None,
        },
    };
    let params = HashMap::from([("user".to_string(), form.user)]);
    render(&state, frame, &params, flash).await
}
