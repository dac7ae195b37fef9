//! The Identity Manager's pages, one module per page.

pub mod configurations;
pub mod log;
pub mod mail;
pub mod names;
pub mod preview;
pub mod settings;
pub mod tenants;

use std::collections::HashMap;

use crate::ui::error::UiError;
use crate::ui::session::Admin;

/// The non-empty `fields` as a URL-encoded query string ending in `&` (empty when none), to
/// which a pager appends `page=N`.
pub fn query_prefix(fields: &[(&str, &str)]) -> String {
    let mut qs = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        if !v.is_empty() {
            qs.append_pair(k, v);
        }
    }
    let mut query = qs.finish();
    if !query.is_empty() {
        query.push('&');
    }
    query
}

/// Who acts, as the provisioning log, the rule versions and drafts record it: `ui:NAME`.
pub fn who(admin: &Admin) -> String {
    format!("ui:{}", admin.account.user_name)
}

/// The form of a destructive action: a checkbox `confirm=yes` beside the button, so that it
/// is confirmed without JavaScript too (`data-confirm` asks again in the browser).
#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    /// `yes` when the administrator ticked the confirmation.
    #[serde(default)]
    confirm: Option<String>,
}

impl ConfirmForm {
    /// `Ok` when ticked; a 400 naming `what` otherwise.
    pub fn check(&self, what: &str) -> Result<(), UiError> {
        if self.confirm.as_deref() == Some("yes") {
            Ok(())
        } else {
            Err(UiError::BadRequest(format!(
                "{what} needs confirming: tick the box beside the button."
            )))
        }
    }
}

/// The 1-based `page` query parameter (1 when absent or empty); a 400 otherwise.
pub fn page_number(params: &HashMap<String, String>) -> Result<usize, UiError> {
    match params
        .get("page")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| UiError::BadRequest("page must be a number from 1".into())),
    }
}
