//! Validation of a whole [`RuleSet`] against the CRM catalogue and the known Entra groups,
//! before it is saved.

use std::collections::HashMap;

use scim_core::builtin;

use super::evaluate::compile_condition;
use super::{PlanChoice, Rule, RuleError, RuleScope, RuleSet};
use crate::crm::Catalog;

/// Checks every rule and returns every problem found (not only the first):
/// - `id`: 1 to 64 of `A-Z a-z 0-9 - _`, unique within the set;
/// - `name`: not blank;
/// - `scope.group`: a group `known_groups` knows (by `externalId`);
/// - `condition`: a SCIM filter (RFC 7644 §3.4.2.2) on the User schema with the enterprise
///   extension; the message is the parser's, with the position;
/// - `settings.userPlan`, `settings.role`, `settings.primaryGroup`,
///   `settings.secondaryGroups`, `settings.ownerCompany`: ids in `catalog`.
///
/// Disabled rules are checked too: enabling one later must not need another validation.
pub fn validate(
    rules: &RuleSet,
    catalog: &Catalog,
    known_groups: &dyn Fn(&str) -> bool,
) -> Result<(), Vec<RuleError>> {
    let schema = builtin::user_resource_schema();
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let mut err =
            |field: &str, message: String| errors.push(RuleError::new(i, rule, field, message));
        if !id_well_formed(&rule.id) {
            err("id", "an id is 1 to 64 of A-Z a-z 0-9 - _".into());
        } else if let Some(&first) = seen.get(rule.id.as_str()) {
            err(
                "id",
                format!("the id is already used by rule {}", first + 1),
            );
        } else {
            seen.insert(&rule.id, i);
        }
        if rule.name.trim().is_empty() {
            err("name", "the name is empty".into());
        }
        if let RuleScope::InGroup { group } | RuleScope::NotInGroup { group } = &rule.scope {
            if !known_groups(group) {
                err("scope.group", format!("no group with externalId {group:?}"));
            }
        }
        if let Some(c) = &rule.condition {
            if let Err(m) = compile_condition(c, &schema) {
                err("condition", format!("invalid SCIM filter: {m}"));
            }
        }
        check_settings(rule, catalog, &mut err);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks one condition as [`validate`] does (the rules wizard checks it as the
/// administrator types): `Err` holds the parser's or resolver's message.
///
/// ```
/// use gateway_reference::rules::check_condition;
///
/// assert!(check_condition(r#"title eq "Sales""#).is_ok());
/// assert!(check_condition(r#"title eq"#).is_err());
/// assert!(check_condition(r#"noSuchAttribute pr"#).is_err());
/// ```
pub fn check_condition(condition: &str) -> Result<(), String> {
    compile_condition(condition, &builtin::user_resource_schema()).map(|_| ())
}

fn id_well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_settings(rule: &Rule, catalog: &Catalog, err: &mut dyn FnMut(&str, String)) {
    let s = &rule.settings;
    if let Some(PlanChoice::Plan { id }) = s.user_plan.as_ref().map(|p| p.value) {
        if !catalog.user_plans.iter().any(|p| p.id == id) {
            err("settings.userPlan", format!("no user plan {id} in the CRM"));
        }
    }
    if let Some(id) = s.role.as_ref().map(|r| r.value) {
        if !catalog.roles.iter().any(|r| r.id == id) {
            err("settings.role", format!("no role {id} in the CRM"));
        }
    }
    let group_exists = |id: i64| catalog.user_groups.iter().any(|g| g.id == id);
    if let Some(id) = s.primary_group.as_ref().map(|g| g.value) {
        if !group_exists(id) {
            err(
                "settings.primaryGroup",
                format!("no user group {id} in the CRM"),
            );
        }
    }
    if let Some(groups) = &s.secondary_groups {
        for &id in groups.value.iter().filter(|&&id| !group_exists(id)) {
            err(
                "settings.secondaryGroups",
                format!("no user group {id} in the CRM"),
            );
        }
    }
    if let Some(id) = s.owner_company.as_ref().map(|c| c.value) {
        if !catalog.owner_companies.iter().any(|c| c.id == id) {
            err(
                "settings.ownerCompany",
                format!("no owner company {id} in the CRM"),
            );
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
