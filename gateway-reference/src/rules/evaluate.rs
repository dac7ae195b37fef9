//! Evaluation: a [`RuleSet`] compiled once ([`RuleSet::compile`]), then run for each user
//! ([`CompiledRules::evaluate`]).

use std::collections::HashSet;

use scim_core::Filter;
use scim_core::builtin;
use scim_core::filter::CompiledFilter;
use scim_core::schema::ResourceSchema;
use serde_json::Value;

use super::outcome::apply;
use super::{Outcome, ResolvedSettings, RuleError, RuleScope, RuleSet, RuleSettings};

/// What the rules look at for one user.
#[derive(Debug, Clone, Copy)]
pub struct UserFacts<'a> {
    /// The SCIM `id`.
    pub id: &'a str,
    /// The SCIM `userName`.
    pub user_name: &'a str,
    /// The `externalId`s of the groups the user is a direct member of.
    pub group_external_ids: &'a HashSet<String>,
    /// The SCIM User as JSON (with the enterprise extension), needed only by rules with a
    /// condition (see [`CompiledRules::needs_resource`]).
    pub resource: Option<&'a Value>,
}

/// One rule, ready to run.
#[derive(Debug, Clone)]
struct CompiledRule {
    id: String,
    enabled: bool,
    scope: RuleScope,
    condition: Option<CompiledFilter>,
    settings: RuleSettings,
}

/// A [`RuleSet`] with its conditions parsed and resolved against the User schema (with the
/// enterprise extension), built by [`RuleSet::compile`].
#[derive(Debug, Clone)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
}

/// Parses `condition` as a SCIM filter (RFC 7644 §3.4.2.2) and resolves it against `schema`;
/// the error is the parser's or resolver's message (the parser's names the position).
pub(crate) fn compile_condition(
    condition: &str,
    schema: &ResourceSchema,
) -> Result<CompiledFilter, String> {
    let filter = Filter::parse(condition).map_err(|e| e.detail().to_owned())?;
    filter.compile(schema).map_err(|e| e.detail().to_owned())
}

impl RuleSet {
    /// Compiles the rules: each condition is parsed and resolved once. A condition that does
    /// not parse or names an attribute the User schema lacks is a [`RuleError`] on
    /// `condition` (the first such rule).
    pub fn compile(&self) -> Result<CompiledRules, RuleError> {
        let schema = builtin::user_resource_schema();
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let condition = match &rule.condition {
                    Some(c) => Some(
                        compile_condition(c, &schema)
                            .map_err(|m| RuleError::new(i, rule, "condition", m))?,
                    ),
                    None => None,
                };
                Ok(CompiledRule {
                    id: rule.id.clone(),
                    enabled: rule.enabled,
                    scope: rule.scope.clone(),
                    condition,
                    settings: rule.settings.clone(),
                })
            })
            .collect::<Result<_, RuleError>>()?;
        Ok(CompiledRules { rules })
    }
}

impl CompiledRule {
    /// Rule scope, then condition. A user without a resource never matches a rule with a
    /// condition (the condition cannot be tested, and a rule must not match by default).
    fn matches(&self, user: &UserFacts<'_>) -> bool {
        if !self.enabled {
            return false;
        }
        let in_scope = match &self.scope {
            RuleScope::AllUsers => true,
            RuleScope::InGroup { group } => user.group_external_ids.contains(group),
            RuleScope::NotInGroup { group } => !user.group_external_ids.contains(group),
        };
        if !in_scope {
            return false;
        }
        match (&self.condition, user.resource) {
            (None, _) => true,
            (Some(c), Some(Value::Object(map))) => c.matches_map(map),
            (Some(_), _) => false,
        }
    }
}

impl CompiledRules {
    /// Does any enabled rule have a condition (so [`UserFacts::resource`] must be given)?
    pub fn needs_resource(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.enabled && r.condition.is_some())
    }

    /// The number of rules (enabled or not).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all (so nobody is synced).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Runs the rules for one user, with SuperOffice's User Sync Rules semantics: rules top to
    /// bottom; a disabled rule matches nobody; a rule matches when the user is in its scope
    /// (all users; a direct member of the group; not a direct member of the group) and
    /// satisfies its condition, if any (a user given without a resource matches no rule that
    /// has a condition); the user is synced iff at least one rule matches; each matching
    /// rule's `Always` settings override earlier ones and its `IfNotSet` settings fill only
    /// what no earlier matching rule set; what no matching rule sets stays `None`.
    pub fn evaluate(&self, user: &UserFacts<'_>) -> Outcome {
        let mut matched = Vec::new();
        let mut s = ResolvedSettings::default();
        for rule in self.rules.iter().filter(|r| r.matches(user)) {
            let id = rule.id.as_str();
            let set = &rule.settings;
            apply(&mut s.user_plan, &set.user_plan, id);
            apply(&mut s.role, &set.role, id);
            apply(&mut s.primary_group, &set.primary_group, id);
            apply(&mut s.secondary_groups, &set.secondary_groups, id);
            apply(&mut s.owner_company, &set.owner_company, id);
            apply(&mut s.confidential, &set.confidential, id);
            matched.push(rule.id.clone());
        }
        Outcome {
            synced: !matched.is_empty(),
            matched,
            settings: s,
        }
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
