use std::collections::HashSet;

use serde_json::{Value, json};

use super::*;
use crate::rules::{PlanChoice, Resolved};

const DEPT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

fn rules(v: Value) -> CompiledRules {
    let set: RuleSet = serde_json::from_value(json!({ "rules": v })).unwrap();
    set.compile().unwrap()
}

fn groups(g: &[&str]) -> HashSet<String> {
    g.iter().map(|s| s.to_string()).collect()
}

fn eval(r: &CompiledRules, g: &[&str], resource: Option<&Value>) -> Outcome {
    let g = groups(g);
    r.evaluate(&UserFacts {
        id: "u1",
        user_name: "u1@example.com",
        group_external_ids: &g,
        resource,
    })
}

fn resolved<T>(value: T, rule: &str) -> Option<Resolved<T>> {
    Some(Resolved {
        value,
        rule: rule.into(),
    })
}

#[test]
fn scopes_all_in_group_and_not_in_group() {
    let r = rules(json!([
        {"id": "in", "name": "In", "scope": {"kind": "inGroup", "group": "g1"}},
        {"id": "out", "name": "Out", "scope": {"kind": "notInGroup", "group": "g1"}},
    ]));
    assert_eq!(eval(&r, &["g1"], None).matched, vec!["in"]);
    assert_eq!(eval(&r, &["g2"], None).matched, vec!["out"]);
    assert_eq!(eval(&r, &[], None).matched, vec!["out"]);

    let all = rules(json!([{"id": "all", "name": "All", "scope": {"kind": "allUsers"}}]));
    let o = eval(&all, &[], None);
    assert!(o.synced);
    assert_eq!(o.matched, vec!["all"]);
}

#[test]
fn disabled_rules_match_nobody_and_no_match_is_not_synced() {
    let r = rules(json!([
        {"id": "off", "name": "Off", "enabled": false, "scope": {"kind": "allUsers"},
         "settings": {"role": {"value": 1, "apply": "always"}}},
        {"id": "g", "name": "G", "scope": {"kind": "inGroup", "group": "g1"}},
    ]));
    let o = eval(&r, &["g2"], None);
    assert!(!o.synced);
    assert!(o.matched.is_empty());
    assert_eq!(o.settings, ResolvedSettings::default());
    let o = eval(&r, &["g1"], None);
    assert!(o.synced);
    assert_eq!(o.matched, vec!["g"]);
    assert_eq!(
        o.settings.role, None,
        "the disabled rule's role is not applied"
    );
}

#[test]
fn always_overrides_and_if_not_set_fills_only_gaps() {
    let r = rules(json!([
        {"id": "base", "name": "Base", "scope": {"kind": "allUsers"}, "settings": {
            "role": {"value": 1, "apply": "always"},
            "primaryGroup": {"value": 10, "apply": "ifNotSet"},
            "userPlan": {"value": {"kind": "plan", "id": 525}, "apply": "always"}}},
        {"id": "sales", "name": "Sales", "scope": {"kind": "inGroup", "group": "sales"}, "settings": {
            "role": {"value": 2, "apply": "always"},
            "primaryGroup": {"value": 20, "apply": "ifNotSet"},
            "confidential": {"value": true, "apply": "ifNotSet"},
            "secondaryGroups": {"value": [3, 4], "apply": "always"}}},
        {"id": "free", "name": "Free", "scope": {"kind": "inGroup", "group": "ex"}, "settings": {
            "userPlan": {"value": {"kind": "notSelected"}, "apply": "always"},
            "confidential": {"value": false, "apply": "always"}}},
    ]));
    let o = eval(&r, &["sales"], None);
    assert_eq!(o.matched, vec!["base", "sales"]);
    assert_eq!(o.settings.role, resolved(2, "sales"));
    assert_eq!(o.settings.primary_group, resolved(10, "base"));
    assert_eq!(o.settings.confidential, resolved(true, "sales"));
    assert_eq!(o.settings.secondary_groups, resolved(vec![3, 4], "sales"));
    assert_eq!(
        o.settings.user_plan,
        resolved(PlanChoice::Plan { id: 525 }, "base")
    );
    assert_eq!(o.settings.owner_company, None, "no rule sets it");

    let o = eval(&r, &["sales", "ex"], None);
    assert_eq!(
        o.settings.user_plan,
        resolved(PlanChoice::NotSelected, "free")
    );
    assert_eq!(o.settings.confidential, resolved(false, "free"));
    assert_eq!(o.settings.to_user_settings().user_plan, Some(None));
}

#[test]
fn if_not_set_after_an_earlier_if_not_set_keeps_the_first() {
    let r = rules(json!([
        {"id": "a", "name": "A", "scope": {"kind": "allUsers"},
         "settings": {"ownerCompany": {"value": 7, "apply": "ifNotSet"}}},
        {"id": "b", "name": "B", "scope": {"kind": "allUsers"},
         "settings": {"ownerCompany": {"value": 8, "apply": "ifNotSet"}}},
    ]));
    assert_eq!(eval(&r, &[], None).settings.owner_company, resolved(7, "a"));
}

#[test]
fn conditions_test_the_resource_and_need_one() {
    let r = rules(json!([
        {"id": "sales", "name": "Sales", "scope": {"kind": "allUsers"},
         "condition": format!("{DEPT} eq \"sales\"")},
    ]));
    assert!(r.needs_resource());
    let sales = json!({
        "userName": "a@example.com",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    });
    let ops = json!({
        "userName": "b@example.com",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}
    });
    assert!(eval(&r, &[], Some(&sales)).synced, "caseExact=false");
    assert!(!eval(&r, &[], Some(&ops)).synced);
    assert!(
        !eval(&r, &[], None).synced,
        "no resource: a condition cannot match"
    );

    let plain = rules(
        json!([{"id": "x", "name": "X", "scope": {"kind": "allUsers"}},
        {"id": "off", "name": "Off", "enabled": false, "scope": {"kind": "allUsers"},
         "condition": "title pr"}]),
    );
    assert!(!plain.needs_resource(), "only enabled rules count");
}

#[test]
fn compile_reports_the_rule_and_the_parser_position() {
    let set: RuleSet = serde_json::from_value(json!({"rules": [
        {"id": "ok", "name": "Ok", "scope": {"kind": "allUsers"}},
        {"id": "bad", "name": "Bad", "scope": {"kind": "allUsers"}, "condition": "userName xx \"a\""},
    ]}))
    .unwrap();
    let e = set.compile().unwrap_err();
    assert_eq!(
        (e.rule_index, e.rule_id.as_str(), e.field.as_str()),
        (1, "bad", "condition")
    );
    assert!(e.message.contains("position 9"), "{}", e.message);

    let unknown: RuleSet = serde_json::from_value(json!({"rules": [
        {"id": "u", "name": "U", "scope": {"kind": "allUsers"}, "condition": "nosuchAttr eq 1"},
    ]}))
    .unwrap();
    assert_eq!(unknown.compile().unwrap_err().field, "condition");
}

#[test]
fn outcome_serializes_camel_case() {
    let r = rules(
        json!([{"id": "a", "name": "A", "scope": {"kind": "allUsers"},
        "settings": {"ownerCompany": {"value": 7, "apply": "always"}}}]),
    );
    assert_eq!(
        serde_json::to_value(eval(&r, &[], None)).unwrap(),
        json!({"synced": true, "matched": ["a"],
               "settings": {"ownerCompany": {"value": 7, "rule": "a"}}})
    );
}
