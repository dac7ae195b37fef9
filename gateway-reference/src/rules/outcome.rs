//! What the rules decide for one user: [`Outcome`], [`ResolvedSettings`], [`Resolved`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Apply, PlanChoice, Setting};
use crate::crm::UserSettings;

/// A setting's value and the rule that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resolved<T> {
    /// The value.
    pub value: T,
    /// The id of the rule that set it (the last matching rule that applied it).
    pub rule: String,
}

/// The settings the matching rules produce for one user; `None`: no matching rule sets it,
/// so the CRM keeps what it has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSettings {
    /// User plan (licence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_plan: Option<Resolved<PlanChoice>>,
    /// Role id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Resolved<i64>>,
    /// Primary user group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_group: Option<Resolved<i64>>,
    /// Secondary user group ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_groups: Option<Resolved<Vec<i64>>>,
    /// Owner company (contact) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_company: Option<Resolved<i64>>,
    /// Confidential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<Resolved<bool>>,
}

/// The result of the rules for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// At least one enabled rule matches: the user becomes (or stays) a CRM user.
    pub synced: bool,
    /// The ids of the matching rules, top to bottom.
    pub matched: Vec<String>,
    /// The resulting settings.
    pub settings: ResolvedSettings,
}

/// Applies `setting` of rule `rule` onto `slot`: `Always` overrides, `IfNotSet` fills only an
/// empty slot.
pub(crate) fn apply<T: Clone>(
    slot: &mut Option<Resolved<T>>,
    setting: &Option<Setting<T>>,
    rule: &str,
) {
    if let Some(s) = setting {
        if s.apply == Apply::Always || slot.is_none() {
            *slot = Some(Resolved {
                value: s.value.clone(),
                rule: rule.to_owned(),
            });
        }
    }
}

fn value_of<T: Serialize>(r: &Option<Resolved<T>>) -> Value {
    r.as_ref()
        .and_then(|r| serde_json::to_value(&r.value).ok())
        .unwrap_or(Value::Null)
}

impl ResolvedSettings {
    /// The CRM write these settings ask for: unset settings stay `None` (left as they are);
    /// a plan of [`PlanChoice::NotSelected`] becomes `Some(None)` (frees the held plan).
    pub fn to_user_settings(&self) -> UserSettings {
        let v = |r: &Option<Resolved<i64>>| r.as_ref().map(|r| r.value);
        UserSettings {
            role: v(&self.role),
            primary_group: v(&self.primary_group),
            secondary_groups: self.secondary_groups.as_ref().map(|r| r.value.clone()),
            owner_company: v(&self.owner_company),
            confidential: self.confidential.as_ref().map(|r| r.value),
            user_plan: self.user_plan.as_ref().map(|r| match r.value {
                PlanChoice::NotSelected => None,
                PlanChoice::Plan { id } => Some(id),
            }),
        }
    }

    /// The settings' JSON names, in the order of [`ResolvedSettings::values`].
    pub const KEYS: [&'static str; 6] = [
        "userPlan",
        "role",
        "primaryGroup",
        "secondaryGroups",
        "ownerCompany",
        "confidential",
    ];

    /// Each setting by its JSON name ([`ResolvedSettings::KEYS`]) with its value as JSON
    /// (`null` when unset), in that order.
    pub fn values(&self) -> [(&'static str, Value); 6] {
        let [plan, role, primary, secondary, company, confidential] = Self::KEYS;
        [
            (plan, value_of(&self.user_plan)),
            (role, value_of(&self.role)),
            (primary, value_of(&self.primary_group)),
            (secondary, value_of(&self.secondary_groups)),
            (company, value_of(&self.owner_company)),
            (confidential, value_of(&self.confidential)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r<T>(value: T) -> Option<Resolved<T>> {
        Some(Resolved {
            value,
            rule: "r".into(),
        })
    }

    #[test]
    fn to_user_settings_maps_each_field_and_not_selected_frees_the_plan() {
        let s = ResolvedSettings {
            user_plan: r(PlanChoice::NotSelected),
            role: r(3),
            primary_group: r(4),
            secondary_groups: r(vec![5, 6]),
            owner_company: None,
            confidential: r(true),
        };
        let u = s.to_user_settings();
        assert_eq!(u.user_plan, Some(None));
        assert_eq!(u.role, Some(3));
        assert_eq!(u.primary_group, Some(4));
        assert_eq!(u.secondary_groups, Some(vec![5, 6]));
        assert_eq!(u.owner_company, None);
        assert_eq!(u.confidential, Some(true));
        let plan = ResolvedSettings {
            user_plan: r(PlanChoice::Plan { id: 525 }),
            ..Default::default()
        };
        assert_eq!(plan.to_user_settings().user_plan, Some(Some(525)));
        assert_eq!(
            ResolvedSettings::default().to_user_settings(),
            UserSettings::default()
        );
    }

    #[test]
    fn serializes_camel_case_and_values_are_null_when_unset() {
        let s = ResolvedSettings {
            primary_group: r(4),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"primaryGroup": {"value": 4, "rule": "r"}})
        );
        let values = s.values();
        assert_eq!(values[2], ("primaryGroup", json!(4)));
        assert_eq!(values[0], ("userPlan", Value::Null));
    }
}
