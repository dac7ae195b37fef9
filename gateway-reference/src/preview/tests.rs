use serde_json::{Value, json};

use super::*;
use crate::rules::RuleSet;

fn rules(v: Value) -> CompiledRules {
    let set: RuleSet = serde_json::from_value(json!({ "rules": v })).unwrap();
    set.compile().unwrap()
}

fn user(id: &str, display: Option<&str>, active: bool, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        user_name: format!("{id}@example.com"),
        display_name: display.map(Into::into),
        active,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        resource: None,
    }
}

fn users() -> Vec<DirectoryUser> {
    vec![
        user("ann", Some("Ann Sales"), true, &["sales"]),
        user("bob", Some("Bob Ops"), true, &["ops"]),
        user("cid", None, false, &["sales"]),
        user("dee", Some("Dee SALES"), true, &["sales", "ops"]),
    ]
}

fn saved() -> CompiledRules {
    rules(json!([
        {"id": "sales", "name": "Sales", "scope": {"kind": "inGroup", "group": "sales"},
         "settings": {"role": {"value": 1, "apply": "always"}}},
    ]))
}

#[test]
fn preview_counts_received_and_synced_and_inactive_users_are_never_synced() {
    let p = preview(&users(), &saved());
    assert_eq!((p.users_received, p.users_synced), (4, 2));
    let synced: Vec<_> = p
        .rows
        .iter()
        .filter(|r| r.synced)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(synced, vec!["ann", "dee"]);
    let cid = &p.rows[2];
    assert!(!cid.active && !cid.synced && cid.matched.is_empty());
    assert_eq!(cid.settings, ResolvedSettings::default());
    assert_eq!(
        p.rows[0]
            .settings
            .role
            .as_ref()
            .map(|r| (r.value, r.rule.as_str())),
        Some((1, "sales"))
    );
    assert_eq!(p.rows[0].display_name.as_deref(), Some("Ann Sales"));
}

#[test]
fn page_filters_by_search_and_synced_and_pages_one_based() {
    let p = preview(&users(), &saved());
    let ids = |q: PreviewQuery| {
        let page = p.page(&q);
        (
            page.total,
            page.rows.into_iter().map(|r| r.id).collect::<Vec<_>>(),
        )
    };
    let q = |search: Option<&str>, synced, start_index, count| PreviewQuery {
        search: search.map(Into::into),
        synced,
        start_index,
        count,
    };
    assert_eq!(
        ids(q(Some("sales"), None, 1, 10)),
        (2, vec!["ann".into(), "dee".into()])
    );
    assert_eq!(
        ids(q(Some("CID@"), None, 1, 10)),
        (1, vec!["cid".into()]),
        "userName, any case"
    );
    assert_eq!(
        ids(q(None, Some(false), 1, 10)),
        (2, vec!["bob".into(), "cid".into()])
    );
    assert_eq!(
        ids(q(None, None, 2, 2)),
        (4, vec!["bob".into(), "cid".into()])
    );
    assert_eq!(ids(q(None, None, 0, 1)), (4, vec!["ann".into()]));
    assert_eq!(ids(q(None, None, 9, 5)), (4, vec![]));
    assert_eq!(ids(q(Some(""), Some(true), 1, 0)), (2, vec![]));
}

#[test]
fn diff_lists_starts_stops_and_changed_values() {
    let draft = rules(json!([
        {"id": "ops", "name": "Ops", "scope": {"kind": "inGroup", "group": "ops"},
         "settings": {"role": {"value": 2, "apply": "always"},
                      "userPlan": {"value": {"kind": "notSelected"}, "apply": "always"}}},
        {"id": "sales2", "name": "Sales", "scope": {"kind": "inGroup", "group": "sales"},
         "settings": {"role": {"value": 1, "apply": "ifNotSet"}}},
    ]));
    let d = diff(&users(), &saved(), &draft);
    assert_eq!(
        d.starts,
        vec![DiffUser {
            id: "bob".into(),
            user_name: "bob@example.com".into()
        }]
    );
    assert!(d.stops.is_empty());
    // ann: role 1 from another rule: no change. dee: role 1 -> 2, plan unset -> notSelected.
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].id, "dee");
    assert_eq!(
        serde_json::to_value(&d.changed[0].changes).unwrap(),
        json!([
            {"setting": "userPlan", "before": null, "after": {"kind": "notSelected"}},
            {"setting": "role", "before": 1, "after": 2},
        ])
    );
    let back = diff(&users(), &draft, &saved());
    assert_eq!(back.stops.len(), 1);
    assert_eq!(back.stops[0].id, "bob");
    assert!(back.starts.is_empty());
    assert!(diff(&users(), &saved(), &saved()) == PreviewDiff::default());
}
