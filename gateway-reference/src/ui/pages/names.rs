//! Names for the ids rules and outcomes hold: the CRM catalogue's plans, roles, user groups
//! and owner companies, and the rules' own names. Built once per page.

use std::collections::HashMap;

use crate::crm::Catalog;
use crate::rules::{Apply, PlanChoice, Resolved, ResolvedSettings, RuleSet, RuleSettings};

/// Names of the CRM's ids: one map per catalogue list, built once per table (empty when
/// the CRM could not be reached: the ids are shown).
#[derive(Default)]
pub struct Names {
    /// User plans.
    pub plans: HashMap<i64, String>,
    /// Roles.
    pub roles: HashMap<i64, String>,
    /// User groups.
    pub groups: HashMap<i64, String>,
    /// Owner companies.
    pub companies: HashMap<i64, String>,
}

/// `(id, name)` of a catalogue list as a map; the first of a repeated id wins, as a scan
/// would find it.
fn by_id<'a>(items: impl DoubleEndedIterator<Item = (i64, &'a str)>) -> HashMap<i64, String> {
    items.rev().map(|(id, n)| (id, n.to_string())).collect()
}

impl Names {
    /// The names in `catalog` (`None`: the CRM could not be reached, ids are shown).
    pub fn new(catalog: Option<&Catalog>) -> Names {
        let Some(c) = catalog else {
            return Names::default();
        };
        Names {
            plans: by_id(c.user_plans.iter().map(|x| (x.id, x.name.as_str()))),
            roles: by_id(c.roles.iter().map(|x| (x.id, x.name.as_str()))),
            groups: by_id(c.user_groups.iter().map(|x| (x.id, x.name.as_str()))),
            companies: by_id(c.owner_companies.iter().map(|x| (x.id, x.name.as_str()))),
        }
    }

    /// The name of `id` in `list`, or `#id`.
    pub fn of(list: &HashMap<i64, String>, id: i64) -> String {
        list.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    }

    /// A user plan choice's name.
    pub fn plan(&self, p: &PlanChoice) -> String {
        match p {
            PlanChoice::NotSelected => "Not selected".into(),
            PlanChoice::Plan { id } => Names::of(&self.plans, *id),
        }
    }
}

/// The settings a rule can set, as the Identity Manager labels them, in the order of
/// [`ResolvedSettings::values`].
pub const SETTINGS: [&str; 6] = [
    "User plan",
    "Role",
    "Primary group",
    "Secondary groups",
    "Owner company",
    "Confidential",
];

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl Names {
    fn groups_text(&self, ids: &[i64]) -> String {
        ids.iter()
            .map(|id| Names::of(&self.groups, *id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Each setting of [`SETTINGS`]: its value's text and the id of the rule that set it, or
    /// `None` when no matching rule sets it.
    pub fn resolved(&self, s: &ResolvedSettings) -> [Option<(String, String)>; 6] {
        fn cell<T>(
            r: &Option<Resolved<T>>,
            show: impl Fn(&T) -> String,
        ) -> Option<(String, String)> {
            r.as_ref().map(|r| (show(&r.value), r.rule.clone()))
        }
        [
            cell(&s.user_plan, |p| self.plan(p)),
            cell(&s.role, |id| Names::of(&self.roles, *id)),
            cell(&s.primary_group, |id| Names::of(&self.groups, *id)),
            cell(&s.secondary_groups, |ids| self.groups_text(ids)),
            cell(&s.owner_company, |id| Names::of(&self.companies, *id)),
            cell(&s.confidential, |c| yes_no(*c)),
        ]
    }

    /// What a rule sets: `(label, value, apply)` for each setting it touches.
    pub fn rule_settings(&self, s: &RuleSettings) -> Vec<(&'static str, String, Apply)> {
        let values = [
            s.user_plan.as_ref().map(|x| (self.plan(&x.value), x.apply)),
            s.role
                .as_ref()
                .map(|x| (Names::of(&self.roles, x.value), x.apply)),
            s.primary_group
                .as_ref()
                .map(|x| (Names::of(&self.groups, x.value), x.apply)),
            s.secondary_groups
                .as_ref()
                .map(|x| (self.groups_text(&x.value), x.apply)),
            s.owner_company
                .as_ref()
                .map(|x| (Names::of(&self.companies, x.value), x.apply)),
            s.confidential.as_ref().map(|x| (yes_no(x.value), x.apply)),
        ];
        SETTINGS
            .iter()
            .zip(values)
            .filter_map(|(label, v)| v.map(|(text, apply)| (*label, text, apply)))
            .collect()
    }
}

impl Names {
    /// The text of a value of [`crate::preview::SettingChange`] (`setting` is its JSON name;
    /// `null`: not set, the CRM keeps its value).
    pub fn change_value(&self, setting: &str, v: &serde_json::Value) -> String {
        use serde_json::Value;
        let id = |v: &Value| v.as_i64().unwrap_or_default();
        match (setting, v) {
            (_, Value::Null) => "not set".into(),
            ("userPlan", v) => serde_json::from_value::<PlanChoice>(v.clone())
                .map(|p| self.plan(&p))
                .unwrap_or_else(|_| v.to_string()),
            ("role", v) => Names::of(&self.roles, id(v)),
            ("primaryGroup", v) => Names::of(&self.groups, id(v)),
            ("secondaryGroups", Value::Array(ids)) => {
                self.groups_text(&ids.iter().map(id).collect::<Vec<_>>())
            }
            ("ownerCompany", v) => Names::of(&self.companies, id(v)),
            (_, Value::Bool(b)) => yes_no(*b),
            (_, v) => v.to_string(),
        }
    }

    /// The label of a setting's JSON name (`userPlan`: "User plan").
    pub fn setting_label(setting: &str) -> &'static str {
        ResolvedSettings::KEYS
            .iter()
            .position(|k| *k == setting)
            .map_or("Setting", |i| SETTINGS[i])
    }
}

/// The names of a rule set's rules, by id (an id no rule has shows as itself).
pub struct RuleNames(HashMap<String, String>);

impl RuleNames {
    /// The names of `rules`.
    pub fn new(rules: &RuleSet) -> RuleNames {
        RuleNames(
            rules
                .rules
                .iter()
                .map(|r| (r.id.clone(), r.name.clone()))
                .collect(),
        )
    }

    /// The name of the rule `id`.
    pub fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}
