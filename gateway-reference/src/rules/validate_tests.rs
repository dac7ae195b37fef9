use serde_json::{Value, json};

use super::*;
use crate::crm::{OwnerCompany, Role, UserGroup, UserPlan};

fn catalog() -> Catalog {
    Catalog {
        roles: vec![Role {
            id: 1,
            name: "User".into(),
        }],
        user_groups: vec![
            UserGroup {
                id: 10,
                name: "Sales".into(),
            },
            UserGroup {
                id: 11,
                name: "Support".into(),
            },
        ],
        owner_companies: vec![OwnerCompany {
            id: 100,
            name: "Acme".into(),
        }],
        user_plans: vec![UserPlan {
            id: 525,
            name: "Sales Premium".into(),
            in_use: 1,
            free: 5,
        }],
    }
}

fn set(v: Value) -> RuleSet {
    serde_json::from_value(json!({ "rules": v })).unwrap()
}

fn known(g: &str) -> bool {
    g == "g-sales"
}

fn fields(r: Result<(), Vec<RuleError>>) -> Vec<(usize, String)> {
    r.unwrap_err()
        .into_iter()
        .map(|e| (e.rule_index, e.field))
        .collect()
}

#[test]
fn a_valid_set_passes() {
    let rules = set(json!([
        {"id": "sales-licence_1", "name": "Sales", "scope": {"kind": "inGroup", "group": "g-sales"},
         "condition": "title pr",
         "settings": {
            "userPlan": {"value": {"kind": "plan", "id": 525}, "apply": "always"},
            "role": {"value": 1, "apply": "always"},
            "primaryGroup": {"value": 10, "apply": "ifNotSet"},
            "secondaryGroups": {"value": [10, 11], "apply": "always"},
            "ownerCompany": {"value": 100, "apply": "always"},
            "confidential": {"value": true, "apply": "always"}}},
        {"id": "free", "name": "Free", "scope": {"kind": "notInGroup", "group": "g-sales"},
         "settings": {"userPlan": {"value": {"kind": "notSelected"}, "apply": "always"}}},
    ]));
    assert_eq!(validate(&rules, &catalog(), &known), Ok(()));
}

#[test]
fn ids_must_be_well_formed_and_unique_and_names_non_empty() {
    let long = "x".repeat(65);
    let rules = set(json!([
        {"id": "a", "name": "A", "scope": {"kind": "allUsers"}},
        {"id": "a", "name": " ", "scope": {"kind": "allUsers"}},
        {"id": "", "name": "E", "scope": {"kind": "allUsers"}},
        {"id": "a b", "name": "S", "scope": {"kind": "allUsers"}},
        {"id": long, "name": "L", "scope": {"kind": "allUsers"}},
        {"id": "a", "name": "A3", "scope": {"kind": "allUsers"}},
    ]));
    let errs = validate(&rules, &catalog(), &known).unwrap_err();
    let got: Vec<_> = errs
        .iter()
        .map(|e| (e.rule_index, e.field.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "id"),
            (1, "name"),
            (2, "id"),
            (3, "id"),
            (4, "id"),
            (5, "id")
        ]
    );
    assert!(errs[0].message.contains("rule 1"), "{}", errs[0].message);
    assert!(errs[5].message.contains("rule 1"), "{}", errs[5].message);
    assert_eq!(
        validate(
            &set(json!([{"id": "x".repeat(64), "name": "n", "scope": {"kind": "allUsers"}}])),
            &catalog(),
            &known
        ),
        Ok(())
    );
}

#[test]
fn unknown_groups_and_catalogue_ids_name_the_field() {
    let rules = set(json!([
        {"id": "a", "name": "A", "scope": {"kind": "inGroup", "group": "nope"}},
        {"id": "b", "name": "B", "enabled": false, "scope": {"kind": "notInGroup", "group": "nope"},
         "settings": {
            "userPlan": {"value": {"kind": "plan", "id": 1}, "apply": "always"},
            "role": {"value": 2, "apply": "always"},
            "primaryGroup": {"value": 3, "apply": "always"},
            "secondaryGroups": {"value": [10, 4], "apply": "always"},
            "ownerCompany": {"value": 5, "apply": "always"}}},
    ]));
    assert_eq!(
        fields(validate(&rules, &catalog(), &known)),
        vec![
            (0, "scope.group".to_string()),
            (1, "scope.group".into()),
            (1, "settings.userPlan".into()),
            (1, "settings.role".into()),
            (1, "settings.primaryGroup".into()),
            (1, "settings.secondaryGroups".into()),
            (1, "settings.ownerCompany".into()),
        ]
    );
}

#[test]
fn a_bad_condition_reports_the_parser_message_and_position() {
    let rules = set(json!([
        {"id": "c", "name": "C", "scope": {"kind": "allUsers"}, "condition": "userName xx \"a\""},
        {"id": "d", "name": "D", "scope": {"kind": "allUsers"}, "condition": "nosuch eq 1"},
    ]));
    let errs = validate(&rules, &catalog(), &known).unwrap_err();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].field, "condition");
    assert!(
        errs[0].message.contains("position 9"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[0].to_string().starts_with("rule 1 (c), condition: "),
        "{}",
        errs[0]
    );
    assert_eq!(
        (errs[1].rule_index, errs[1].field.as_str()),
        (1, "condition")
    );
}
