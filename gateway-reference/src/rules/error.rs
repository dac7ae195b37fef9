//! [`RuleError`]: what is wrong with one rule, naming the rule and the field.

use serde::{Deserialize, Serialize};

/// A problem with one rule of a [`super::RuleSet`]: a validation failure (an unknown group,
/// plan, role, user group or owner company, a malformed id, a condition that does not parse)
/// or a condition that does not compile.
///
/// `Display` names the rule (1-based position and id) and the field:
///
/// ```
/// use gateway_reference::rules::RuleError;
///
/// let e = RuleError {
///     rule_index: 0,
///     rule_id: "sales".into(),
///     field: "settings.role".into(),
///     message: "no role 7 in the CRM".into(),
/// };
/// assert_eq!(e.to_string(), "rule 1 (sales), settings.role: no role 7 in the CRM");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
#[error("rule {} ({}), {}: {}", .rule_index + 1, .rule_id, .field, .message)]
pub struct RuleError {
    /// The rule's position in the set, 0-based.
    pub rule_index: usize,
    /// The rule's id, as given (possibly the malformed id itself).
    pub rule_id: String,
    /// The field at fault, as a dotted JSON path of the rule: `id`, `name`, `scope.group`,
    /// `condition`, `settings.userPlan`, `settings.role`, `settings.primaryGroup`,
    /// `settings.secondaryGroups`, `settings.ownerCompany`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl RuleError {
    /// A `RuleError` for the rule at `index`.
    pub(crate) fn new(
        index: usize,
        rule: &super::Rule,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        RuleError {
            rule_index: index,
            rule_id: rule.id.clone(),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}
