//! User Sync Rules: which SCIM users become CRM users, and with which settings.
//!
//! A tenant has an ordered [`RuleSet`]. Each [`Rule`] has an enabled flag, a [`RuleScope`]
//! (all users, users in an Entra group, all users except those in a group), an optional
//! condition on any SCIM attribute (a SCIM filter, RFC 7644 §3.4.2.2) and [`RuleSettings`]
//! (user plan, role, primary group, secondary groups, owner company, confidential), each
//! applied [`Apply::Always`] or [`Apply::IfNotSet`].
//!
//! Semantics (SuperOffice's "User Sync Rules"): rules run top to bottom; a user is synced
//! when at least one enabled rule matches them; an `Always` setting overrides what an
//! earlier matching rule set, an `IfNotSet` setting applies only when no earlier matching
//! rule set it; a setting that no matching rule sets is left as it is in the CRM.
//!
//! This module is pure (no I/O): the model here, validation against a CRM catalogue in
//! `validate`, evaluation for one user in `evaluate`.

pub mod drafts;
mod edit;
pub mod versions;

use serde::{Deserialize, Serialize};

mod error;
mod evaluate;
mod outcome;
mod validate;

pub use edit::EditError;
pub use error::RuleError;
pub use evaluate::{CompiledRules, UserFacts};
pub use outcome::{Outcome, Resolved, ResolvedSettings};
pub use validate::{check_condition, validate};

/// A tenant's ordered list of rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSet {
    /// The rules, in evaluation order (top to bottom).
    pub rules: Vec<Rule>,
}

/// One User Sync Rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// A stable identifier of the rule within its set (kept when rules are reordered), e.g.
    /// `sales-licence`; 1 to 64 of `A-Z a-z 0-9 - _`.
    pub id: String,
    /// What the administrator calls it.
    pub name: String,
    /// A disabled rule matches nobody.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Whom it applies to, by Entra group.
    pub scope: RuleScope,
    /// An optional further condition on any SCIM attribute of the user, as a SCIM filter
    /// (e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq
    /// "Sales"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// What it sets.
    #[serde(default)]
    pub settings: RuleSettings,
}

fn default_true() -> bool {
    true
}

/// Whom a rule applies to. Groups are Entra groups, named by the `externalId` the SCIM side
/// received (Entra's objectId), shown by their `displayName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RuleScope {
    /// Every user.
    AllUsers,
    /// Users that are direct members of the group.
    InGroup {
        /// The group's `externalId`.
        group: String,
    },
    /// Every user that is not a direct member of the group.
    NotInGroup {
        /// The group's `externalId`.
        group: String,
    },
}

/// How a setting combines with earlier rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Apply {
    /// Always: overrides what an earlier matching rule set.
    Always,
    /// If not set: only when no earlier matching rule set this setting.
    IfNotSet,
}

/// A value a rule sets, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Always or if not set.
    pub apply: Apply,
}

/// The user plan (licence) a rule assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PlanChoice {
    /// "Not selected": the user keeps their CRM user but holds no plan (frees the seat).
    NotSelected,
    /// A user plan of the CRM, by id.
    Plan {
        /// The plan's id in the CRM catalogue.
        id: i64,
    },
}

/// The settings a rule applies; `None` means the rule does not touch that setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSettings {
    /// User plan (licence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_plan: Option<Setting<PlanChoice>>,
    /// Role, by CRM role id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Setting<i64>>,
    /// Primary (main) user group, by CRM user group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_group: Option<Setting<i64>>,
    /// Secondary user groups, by CRM user group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_groups: Option<Setting<Vec<i64>>>,
    /// Owner company, by CRM contact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_company: Option<Setting<i64>>,
    /// Confidential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<Setting<bool>>,
}

/// An enabled rule `id` (named `id`) for all users that sets nothing (unit tests).
#[cfg(test)]
pub(crate) fn test_rule(id: &str) -> Rule {
    Rule {
        id: id.into(),
        name: id.into(),
        enabled: true,
        scope: RuleScope::AllUsers,
        condition: None,
        settings: RuleSettings::default(),
    }
}
