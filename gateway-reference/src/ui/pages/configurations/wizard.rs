//! The rules wizard: one rule's name, scope (all users, users in a group, all users except a
//! group, the group picked from the tenant's SCIM groups), an optional SCIM filter condition
//! (checked as it is typed with `assets/ui.js`, and again on submit) and each setting,
//! Always or If not set, with values from the CRM (plans with their free seats, roles, user
//! groups, owner companies). Submitting puts the rule into the tenant's draft
//! ([`crate::rules::drafts`]); nothing reaches the CRM until the rules are saved.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::form::RuleForm;
use super::frame;
use crate::crm::{Catalog, Crm};
use crate::directory::{self, DirectoryGroup};
use crate::rules::{self, check_condition, drafts};
use crate::ui::UiState;
use crate::ui::chrome::Chrome;
use crate::ui::error::UiError;
use crate::ui::pages::who;
use crate::ui::session::Admin;

#[derive(Template)]
#[template(path = "ui/rule_form.html")]
struct RulePage {
    chrome: Chrome,
    base: String,
    form: RuleForm,
    catalog_missing: bool,
}

async fn render(
    chrome: Chrome,
    tenant: &str,
    form: RuleForm,
    catalog_missing: bool,
) -> Result<Response, UiError> {
    let page = RulePage {
        base: format!("/ui/t/{tenant}/configurations"),
        chrome,
        form,
        catalog_missing,
    };
    Ok(Html(page.render()?).into_response())
}

async fn choices(
    state: &UiState,
    id: &scim_server::TenantId,
) -> Result<(Option<Catalog>, Vec<DirectoryGroup>), UiError> {
    let catalog = state.admin.crm.catalog(id).await.ok();
    Ok((catalog, directory::groups(&state.admin.db, id).await?))
}

/// `GET .../configurations/rules/new`.
pub async fn new_rule(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
) -> Result<Response, UiError> {
    let (mut chrome, id) = frame(&state, &admin, &tenant).await?;
    chrome.title = "New rule".into();
    let (catalog, groups) = choices(&state, &id).await?;
    let form = RuleForm::of(None, catalog.as_ref(), &groups);
    render(chrome, id.as_str(), form, catalog.is_none()).await
}

/// `GET .../configurations/rules/{rule}`.
pub async fn edit_rule(
    State(state): State<UiState>,
    admin: Admin,
    Path((tenant, rule)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let (mut chrome, id) = frame(&state, &admin, &tenant).await?;
    let working = drafts::working(&state.admin.db, &id).await?;
    let rule = working
        .rules
        .rule(&rule)
        .ok_or_else(|| UiError::NotFound(format!("There is no rule {rule:?}.")))?;
    chrome.title = format!("Rule: {}", rule.name);
    let (catalog, groups) = choices(&state, &id).await?;
    let form = RuleForm::of(Some(rule), catalog.as_ref(), &groups);
    render(chrome, id.as_str(), form, catalog.is_none()).await
}

/// `POST .../configurations/rules`: the wizard's form into the draft; the form again with
/// an error beside each wrong field otherwise.
pub async fn submit(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let (mut chrome, id) = frame(&state, &admin, &tenant).await?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let (catalog, groups) = choices(&state, &id).await?;
    let mut form = RuleForm::submitted(&fields, catalog.as_ref(), &groups);
    let db = &state.admin.db;
    let working = drafts::working(db, &id).await?;
    let mut set = working.rules.clone();
    let replacing = (!form.original.is_empty()).then(|| form.original.clone());
    if let Some(r) = &replacing {
        if set.position(r).is_none() {
            return Err(UiError::BadRequest(format!(
                "The rule {r:?} is no longer in the rules being edited (deleted meanwhile?)."
            )));
        }
    }
    let rule_id = replacing
        .clone()
        .unwrap_or_else(|| set.fresh_id(&form.name));
    let Some(rule) = form.validated_rule(rule_id.clone()) else {
        chrome.title = "Rule".into();
        return render(chrome, id.as_str(), form, catalog.is_none()).await;
    };
    set.upsert(replacing.as_deref(), rule)
        .map_err(|e| UiError::BadRequest(e.to_string()))?;
    // The whole set against the CRM's catalogue and the directory's groups: the problems of
    // this rule go back to the form (other rules' problems are shown on Save rules).
    let known: std::collections::HashSet<&str> = groups
        .iter()
        .filter_map(|g| g.external_id.as_deref())
        .collect();
    // Without the catalogue (the CRM unreachable) the settings cannot be checked here; Save
    // rules checks them.
    let checked = rules::validate(
        &set,
        catalog.as_ref().unwrap_or(&Catalog::default()),
        &|g: &str| known.contains(g),
    )
    .map_err(|problems| {
        problems
            .into_iter()
            .filter(|p| catalog.is_some() || !p.field.starts_with("settings."))
            .collect::<Vec<_>>()
    });
    if let Err(problems) = checked {
        let here: Vec<_> = problems.iter().filter(|p| p.rule_id == rule_id).collect();
        if !here.is_empty() {
            for p in here {
                form.errors.insert(p.field.clone(), p.message.clone());
            }
            chrome.title = "Rule".into();
            return render(chrome, id.as_str(), form, catalog.is_none()).await;
        }
    }
    drafts::store(db, &id, &set, working.saved_version, &who(&admin)).await?;
    Ok(Redirect::to(&format!(
        "/ui/t/{}/configurations?notice=rule-saved",
        id.as_str()
    ))
    .into_response())
}

/// `condition=` of the live check.
#[derive(Debug, Deserialize)]
pub struct ConditionQuery {
    /// The condition as typed.
    #[serde(default)]
    condition: String,
}

/// The live check's answer.
#[derive(Debug, Serialize)]
pub struct ConditionCheck {
    /// The condition is empty or a valid SCIM filter on the User schema.
    valid: bool,
    /// What is wrong, or what it is.
    message: String,
}

/// `GET .../configurations/condition?condition=`: the wizard checks the condition as it is
/// typed (RFC 7644 §3.4.2.2 filter grammar, attributes of the User schema and the
/// enterprise extension).
pub async fn check(
    State(state): State<UiState>,
    admin: Admin,
    Path(tenant): Path<String>,
    Query(q): Query<ConditionQuery>,
) -> Result<Json<ConditionCheck>, UiError> {
    crate::ui::chrome::tenant_id(&state, &admin, &tenant).await?;
    let c = q.condition.trim();
    Ok(Json(if c.is_empty() {
        ConditionCheck {
            valid: true,
            message: "No condition: the scope alone decides.".into(),
        }
    } else {
        match check_condition(c) {
            Ok(()) => ConditionCheck {
                valid: true,
                message: "A valid SCIM filter.".into(),
            },
            Err(m) => ConditionCheck {
                valid: false,
                message: format!("Not a valid SCIM filter: {m}"),
            },
        }
    }))
}
