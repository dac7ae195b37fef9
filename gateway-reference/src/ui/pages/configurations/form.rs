//! The rules wizard's form: a [`Rule`] as the fields the administrator edits, the choices
//! each field offers (the tenant's SCIM groups, the CRM catalogue), and turning a submitted
//! form back into a rule, with an error per field.

use std::collections::BTreeMap;

use crate::crm::Catalog;
use crate::directory::DirectoryGroup;
use crate::rules::{Apply, PlanChoice, Rule, RuleScope, RuleSettings, Setting, check_condition};

/// One choice of a select or a checkbox list: `(value, label)`.
pub type Choice = (String, String);

/// One setting of the form.
#[derive(Debug, Clone)]
pub struct SettingField {
    /// The setting's JSON name (`userPlan`...), used in field names and error keys.
    pub key: &'static str,
    /// What the page calls it.
    pub label: &'static str,
    /// `""` (the rule does not set it), `always` or `ifNotSet`.
    pub apply: String,
    /// The chosen values (several only for `secondaryGroups`).
    pub values: Vec<String>,
    /// What can be chosen.
    pub choices: Vec<Choice>,
    /// Checkboxes (several values) rather than a select.
    pub multiple: bool,
}

impl SettingField {
    /// Whether `value` is chosen.
    pub fn has(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }
}

/// The wizard's fields, as shown and as submitted.
#[derive(Debug, Clone)]
pub struct RuleForm {
    /// The id of the rule being edited (empty: a new rule).
    pub original: String,
    /// The rule's name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// `all`, `in` or `notIn`.
    pub scope: String,
    /// The group's `externalId` (for `in` and `notIn`).
    pub group: String,
    /// The SCIM filter condition (empty: none).
    pub condition: String,
    /// The six settings, in the order of [`crate::ui::pages::names::SETTINGS`].
    pub settings: Vec<SettingField>,
    /// The groups to choose from.
    pub groups: Vec<Choice>,
    /// Errors, by field (`name`, `scope.group`, `condition`, `settings.role`...).
    pub errors: BTreeMap<String, String>,
}

impl RuleForm {
    /// The error of `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    /// The error of setting `key`, if any.
    pub fn setting_error(&self, key: &str) -> Option<&str> {
        self.error(&format!("settings.{key}"))
    }
}

fn apply_text(a: Apply) -> String {
    match a {
        Apply::Always => "always",
        Apply::IfNotSet => "ifNotSet",
    }
    .into()
}

fn field<T>(
    key: &'static str,
    label: &'static str,
    setting: Option<&Setting<T>>,
    values: impl Fn(&T) -> Vec<String>,
    choices: Vec<Choice>,
) -> SettingField {
    SettingField {
        key,
        label,
        apply: setting.map(|s| apply_text(s.apply)).unwrap_or_default(),
        values: setting.map(|s| values(&s.value)).unwrap_or_default(),
        choices,
        multiple: key == "secondaryGroups",
    }
}

/// The choices the CRM offers for each setting (empty lists when the catalogue is missing).
fn setting_fields(s: &RuleSettings, catalog: Option<&Catalog>) -> Vec<SettingField> {
    let empty = Catalog::default();
    let c = catalog.unwrap_or(&empty);
    let one = |id: &i64| vec![id.to_string()];
    let plans = std::iter::once(("none".into(), "Not selected (no licence)".into()))
        .chain(c.user_plans.iter().map(|p| {
            (
                p.id.to_string(),
                format!("{} ({} free, {} in use)", p.name, p.free, p.in_use),
            )
        }))
        .collect();
    let roles = c
        .roles
        .iter()
        .map(|r| (r.id.to_string(), r.name.clone()))
        .collect();
    let groups: Vec<Choice> = c
        .user_groups
        .iter()
        .map(|g| (g.id.to_string(), g.name.clone()))
        .collect();
    let companies = c
        .owner_companies
        .iter()
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect();
    let yes_no = vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())];
    vec![
        field(
            "userPlan",
            "User plan",
            s.user_plan.as_ref(),
            |p| match p {
                PlanChoice::NotSelected => vec!["none".into()],
                PlanChoice::Plan { id } => vec![id.to_string()],
            },
            plans,
        ),
        field("role", "Role", s.role.as_ref(), one, roles),
        field(
            "primaryGroup",
            "Primary group",
            s.primary_group.as_ref(),
            one,
            groups.clone(),
        ),
        field(
            "secondaryGroups",
            "Secondary groups",
            s.secondary_groups.as_ref(),
            |ids| ids.iter().map(i64::to_string).collect(),
            groups,
        ),
        field(
            "ownerCompany",
            "Owner company",
            s.owner_company.as_ref(),
            one,
            companies,
        ),
        field(
            "confidential",
            "Confidential",
            s.confidential.as_ref(),
            |b| vec![if *b { "yes" } else { "no" }.into()],
            yes_no,
        ),
    ]
}

/// The groups a scope can name: those with an `externalId` (what rules store).
fn group_choices(groups: &[DirectoryGroup]) -> Vec<Choice> {
    groups
        .iter()
        .filter_map(|g| {
            g.external_id.as_ref().map(|x| {
                let members = if g.members == 1 { "member" } else { "members" };
                (
                    x.clone(),
                    format!("{} ({} {members})", g.display_name, g.members),
                )
            })
        })
        .collect()
}

impl RuleForm {
    /// The form for `rule` (`None`: a new rule, enabled, for all users).
    pub fn of(rule: Option<&Rule>, catalog: Option<&Catalog>, groups: &[DirectoryGroup]) -> Self {
        let default = RuleSettings::default();
        let (scope, group) = match rule.map(|r| &r.scope) {
            None | Some(RuleScope::AllUsers) => ("all", String::new()),
            Some(RuleScope::InGroup { group }) => ("in", group.clone()),
            Some(RuleScope::NotInGroup { group }) => ("notIn", group.clone()),
        };
        RuleForm {
            original: rule.map(|r| r.id.clone()).unwrap_or_default(),
            name: rule.map(|r| r.name.clone()).unwrap_or_default(),
            enabled: rule.is_none_or(|r| r.enabled),
            scope: scope.into(),
            group,
            condition: rule.and_then(|r| r.condition.clone()).unwrap_or_default(),
            settings: setting_fields(rule.map_or(&default, |r| &r.settings), catalog),
            groups: group_choices(groups),
            errors: BTreeMap::new(),
        }
    }

    /// The form as submitted (`fields`: the decoded form body), with the choices offered
    /// again.
    pub fn submitted(
        fields: &[(String, String)],
        catalog: Option<&Catalog>,
        groups: &[DirectoryGroup],
    ) -> Self {
        let one = |k: &str| {
            fields
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut form = RuleForm::of(None, catalog, groups);
        form.original = one("original");
        form.name = one("name").trim().to_string();
        form.enabled = one("enabled") == "on";
        form.scope = one("scope");
        form.group = one("group");
        form.condition = one("condition").trim().to_string();
        for s in &mut form.settings {
            s.apply = one(&format!("apply.{}", s.key));
            let key = format!("value.{}", s.key);
            s.values = fields
                .iter()
                .filter(|(name, v)| *name == key && !v.is_empty())
                .map(|(_, v)| v.clone())
                .collect();
        }
        form
    }

    /// The rule the form describes, with id `id`; or else the form's errors are filled in.
    pub fn validated_rule(&mut self, id: String) -> Option<Rule> {
        let mut errors = BTreeMap::new();
        if self.name.is_empty() {
            errors.insert("name".into(), "Give the rule a name.".into());
        }
        let scope = match self.scope.as_str() {
            "all" => Some(RuleScope::AllUsers),
            "in" | "notIn" if self.group.is_empty() => {
                errors.insert("scope.group".into(), "Choose a group.".into());
                None
            }
            "in" => Some(RuleScope::InGroup {
                group: self.group.clone(),
            }),
            "notIn" => Some(RuleScope::NotInGroup {
                group: self.group.clone(),
            }),
            _ => {
                errors.insert("scope".into(), "Choose whom the rule applies to.".into());
                None
            }
        };
        if !self.condition.is_empty() {
            if let Err(m) = check_condition(&self.condition) {
                errors.insert("condition".into(), format!("Not a valid SCIM filter: {m}"));
            }
        }
        let mut settings = RuleSettings::default();
        for s in &self.settings {
            if let Err(m) = read_setting(s, &mut settings) {
                errors.insert(format!("settings.{}", s.key), m);
            }
        }
        if !errors.is_empty() {
            self.errors = errors;
            return None;
        }
        Some(Rule {
            id,
            name: self.name.clone(),
            enabled: self.enabled,
            scope: scope?,
            condition: (!self.condition.is_empty()).then(|| self.condition.clone()),
            settings,
        })
    }
}

/// Reads one setting of the form into `into`.
fn read_setting(s: &SettingField, into: &mut RuleSettings) -> Result<(), String> {
    let apply = match s.apply.as_str() {
        "" => return Ok(()),
        "always" => Apply::Always,
        "ifNotSet" => Apply::IfNotSet,
        other => return Err(format!("{other:?} is neither Always nor If not set.")),
    };
    let id = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| format!("{v:?} is not one of the choices."))
    };
    let single = || match s.values.as_slice() {
        [v] => Ok(v.as_str()),
        [] => Err("Choose a value, or set it to Not set.".to_string()),
        _ => Err("Choose one value.".to_string()),
    };
    match s.key {
        "userPlan" => {
            let value = match single()? {
                "none" => PlanChoice::NotSelected,
                v => PlanChoice::Plan { id: id(v)? },
            };
            into.user_plan = Some(Setting { value, apply });
        }
        "role" => {
            into.role = Some(Setting {
                value: id(single()?)?,
                apply,
            })
        }
        "primaryGroup" => {
            into.primary_group = Some(Setting {
                value: id(single()?)?,
                apply,
            })
        }
        "secondaryGroups" => {
            let value = s.values.iter().map(|v| id(v)).collect::<Result<_, _>>()?;
            into.secondary_groups = Some(Setting { value, apply });
        }
        "ownerCompany" => {
            into.owner_company = Some(Setting {
                value: id(single()?)?,
                apply,
            })
        }
        "confidential" => {
            let value = match single()? {
                "yes" => true,
                "no" => false,
                v => return Err(format!("{v:?} is neither yes nor no.")),
            };
            into.confidential = Some(Setting { value, apply });
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_rule_survives_the_round_trip_through_the_form() {
        let rule = Rule {
            id: "sales".into(),
            name: "Sales".into(),
            enabled: false,
            scope: RuleScope::NotInGroup { group: "g1".into() },
            condition: Some(r#"title eq "Seller""#.into()),
            settings: RuleSettings {
                user_plan: Some(Setting {
                    value: PlanChoice::NotSelected,
                    apply: Apply::IfNotSet,
                }),
                secondary_groups: Some(Setting {
                    value: vec![3, 4],
                    apply: Apply::Always,
                }),
                confidential: Some(Setting {
                    value: true,
                    apply: Apply::Always,
                }),
                ..RuleSettings::default()
            },
        };
        let form = RuleForm::of(Some(&rule), None, &[]);
        // What the browser would submit for that form.
        let mut body = vec![
            ("original".to_string(), form.original.clone()),
            ("name".into(), form.name.clone()),
            ("scope".into(), form.scope.clone()),
            ("group".into(), form.group.clone()),
            ("condition".into(), form.condition.clone()),
        ];
        for s in &form.settings {
            body.push((format!("apply.{}", s.key), s.apply.clone()));
            for v in &s.values {
                body.push((format!("value.{}", s.key), v.clone()));
            }
        }
        let mut back = RuleForm::submitted(&body, None, &[]);
        assert_eq!(back.validated_rule("sales".into()), Some(rule));
    }

    #[test]
    fn each_wrong_field_gets_its_own_error() {
        let body = fields(&[
            ("name", "  "),
            ("scope", "in"),
            ("group", ""),
            ("condition", "title eq"),
            ("apply.role", "always"),
            ("apply.confidential", "ifNotSet"),
            ("value.confidential", "maybe"),
            ("apply.userPlan", "always"),
            ("value.userPlan", "7"),
        ]);
        let mut form = RuleForm::submitted(&body, None, &[]);
        assert_eq!(form.validated_rule("x".into()), None);
        let fields: Vec<&str> = form.errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "condition",
                "name",
                "scope.group",
                "settings.confidential",
                "settings.role"
            ]
        );
        assert!(form.error("condition").unwrap().contains("SCIM filter"));
    }
}
