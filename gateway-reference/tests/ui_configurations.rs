//! The Identity Manager's Configurations tab over HTTP, against the gateway's whole router:
//! the rules wizard into a draft, the draft's actions (enable, move, drag-and-drop order,
//! delete, save, discard), versions with restore, the SCIM users pane (paged, by group, by
//! search), the selected user's preview and Sync user, and the live condition check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::signed_in::{Answer, Env};
use gateway_reference::crm::embedded::demo;
use gateway_reference::rules::{Apply, Rule, RuleScope, RuleSet, RuleSettings, Setting, drafts};
use gateway_reference::ui::accounts;
use scim_server::TenantId;
use serde_json::{Value, json};

const TAB: &str = "/ui/t/demo/configurations";

fn demo_id() -> TenantId {
    TenantId::new("demo").unwrap()
}

/// Pushes users `u000`..`u{n}` and a group `Sales` (externalId `grp-sales`) holding the
/// even ones, as Entra would, then lets the sync mirror them.
async fn directory(e: &Env, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (s, body) = e
            .api(
                "POST",
                "/scim/demo/Users",
                &e.scim.clone(),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("u{i:03}@example.com"),
                    "displayName": format!("User {i:03}"),
                    "title": if i % 3 == 0 { "Seller" } else { "Engineer" },
                    "active": true,
                    "name": {"givenName": "G", "familyName": "F"}
                })),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let members: Vec<Value> = ids
        .iter()
        .step_by(2)
        .map(|id| json!({"value": id}))
        .collect();
    let (s, body) = e
        .api(
            "POST",
            "/scim/demo/Groups",
            &e.scim.clone(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Sales", "externalId": "grp-sales", "members": members
            })),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    e.gw.sync().run_tenant(&demo_id()).await.unwrap();
    ids
}

fn assert_redirect(a: &Answer, to: &str) {
    assert_eq!(a.status, 303, "{}", a.body);
    let location = a.headers["location"].to_str().unwrap();
    assert!(location.starts_with(to), "{location}");
}

async fn working(e: &Env) -> drafts::Working {
    drafts::working(e.gw.db(), &demo_id()).await.unwrap()
}

/// The rule ids of the draft, in order.
async fn draft_ids(e: &Env) -> Vec<String> {
    working(e)
        .await
        .rules
        .rules
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

#[tokio::test]
async fn the_wizard_puts_a_rule_in_the_draft_and_save_puts_it_to_work() {
    let e = Env::new(accounts::Access::All).await;
    directory(&e, 6).await;

    let a = e.get(TAB).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("No rules yet"), "{}", a.body);

    // The wizard offers the CRM's plans with their free seats, and the tenant's groups.
    let a = e.get(&format!("{TAB}/rules/new")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains("Sales Premium (50 free, 0 in use)"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains(r#"<option value="grp-sales">Sales (3 members)</option>"#)
    );

    // Every wrong field is named beside the field; the draft is untouched.
    let a = e
        .post(
            &format!("{TAB}/rules"),
            &[
                ("name", ""),
                ("scope", "in"),
                ("group", ""),
                ("condition", "title eq"),
                ("apply.role", "always"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    for id in ["name-error", "group-error", "error-role"] {
        assert!(a.body.contains(&format!("id=\"{id}\"")), "{id}: {}", a.body);
    }
    assert!(a.body.contains("Not a valid SCIM filter"));
    assert!(working(&e).await.draft.is_none());

    // A valid rule: sellers in Sales get Sales Premium and the Sales Manager role.
    let a = e
        .post(
            &format!("{TAB}/rules"),
            &[
                ("name", "Sales sellers"),
                ("enabled", "on"),
                ("scope", "in"),
                ("group", "grp-sales"),
                ("condition", r#"title eq "Seller""#),
                ("apply.userPlan", "always"),
                ("value.userPlan", &demo::SALES_PREMIUM.to_string()),
                ("apply.role", "ifNotSet"),
                ("value.role", &demo::ROLE_SALES_MANAGER.to_string()),
                ("apply.secondaryGroups", "always"),
                ("value.secondaryGroups", &demo::GROUP_SUPPORT.to_string()),
                ("value.secondaryGroups", &demo::GROUP_MARKETING.to_string()),
            ],
        )
        .await;
    assert_redirect(&a, &format!("{TAB}?notice=rule-saved"));
    let w = working(&e).await;
    let rule = &w.draft.as_ref().unwrap().rules.rules[0];
    assert_eq!(rule.id, "sales-sellers");
    assert_eq!(
        rule.scope,
        RuleScope::InGroup {
            group: "grp-sales".into()
        }
    );
    assert_eq!(
        rule.settings.secondary_groups,
        Some(Setting {
            value: vec![demo::GROUP_SUPPORT, demo::GROUP_MARKETING],
            apply: Apply::Always
        })
    );

    // The tab shows the rule in words and the unsaved changes; the Preview tab counts who
    // would start syncing: of users 0..5, only user 0 is a "Seller" (i % 3 == 0) in Sales
    // (the even ones).
    let a = e.get(&format!("{TAB}?notice=rule-saved")).await;
    assert!(
        a.body
            .contains("Users in Sales, where <code>title eq &#34;Seller&#34;</code>")
            || a.body
                .contains("Users in Sales, where <code>title eq &quot;Seller&quot;</code>"),
        "{}",
        a.body
    );
    assert!(a.body.contains(
        "User plan: <strong>Sales Premium</strong> <span class=\"muted\">(Always)</span>"
    ));
    assert!(a.body.contains("Unsaved changes"));
    assert!(a.body.contains("The rule is in the draft."));
    let p = e.get("/ui/t/demo/preview").await;
    assert!(
        p.body
            .contains("<strong>1</strong> user(s) would start syncing"),
        "{}",
        p.body
    );
    assert!(p.body.contains("<li>u000@example.com</li>"), "{}", p.body);

    // Save rules: version 1, the draft is gone, the admin API sees the same rules.
    let a = e
        .post(&format!("{TAB}/save"), &[("comment", "first rules")])
        .await;
    assert_redirect(&a, &format!("{TAB}?notice=saved"));
    assert!(working(&e).await.draft.is_none());
    let (s, saved) = e
        .api("GET", "/admin/tenants/demo/rules", &e.admin.clone(), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["comment"], "first rules");
    assert_eq!(saved["rules"]["rules"][0]["id"], "sales-sellers");
    let p = e.get("/ui/t/demo/preview").await;
    assert!(
        p.body.contains("<strong>1</strong> users to be synced"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("Unsaved rule changes"));
    assert!(
        p.body.contains("(Sales sellers)"),
        "rules are named in the preview"
    );
}

fn rule(id: &str) -> Rule {
    Rule {
        id: id.into(),
        name: format!("Rule {id}"),
        enabled: true,
        scope: RuleScope::AllUsers,
        condition: None,
        settings: RuleSettings::default(),
    }
}

#[tokio::test]
async fn draft_actions_reorder_and_the_header_token_of_the_script() {
    let e = Env::new(accounts::Access::All).await;
    let set = RuleSet {
        rules: vec![rule("a"), rule("b"), rule("c")],
    };
    drafts::store(e.gw.db(), &demo_id(), &set, 0, "t")
        .await
        .unwrap();

    let a = e.post(&format!("{TAB}/rules/c/up"), &[]).await;
    assert_redirect(&a, TAB);
    assert_eq!(draft_ids(&e).await, ["a", "c", "b"]);
    e.post(&format!("{TAB}/rules/a/down"), &[]).await;
    assert_eq!(draft_ids(&e).await, ["c", "a", "b"]);
    e.post(&format!("{TAB}/rules/b/disable"), &[]).await;
    assert!(!working(&e).await.rules.rule("b").unwrap().enabled);
    let page = e.get(TAB).await.body;
    assert!(page.contains("aria-label=\"Enable Rule b\""), "{page}");
    e.post(&format!("{TAB}/rules/b/enable"), &[]).await;
    assert!(working(&e).await.rules.rule("b").unwrap().enabled);

    // The drag and drop posts the whole order with the X-CSRF-Token header (no form field).
    let body = "order=b%2Ca%2Cc".to_string();
    let a = e
        .send(
            http::Request::post(format!("{TAB}/order"))
                .header("cookie", &e.cookie)
                .header("sec-fetch-site", "same-origin")
                .header("origin", common::signed_in::PUBLIC)
                .header("x-csrf-token", &e.csrf)
                .header("content-type", "application/x-www-form-urlencoded"),
            axum::body::Body::from(body.clone()),
        )
        .await;
    assert_redirect(&a, TAB);
    assert_eq!(draft_ids(&e).await, ["b", "a", "c"]);
    // Without the token: refused, nothing changes.
    let a = e
        .send(
            http::Request::post(format!("{TAB}/order"))
                .header("cookie", &e.cookie)
                .header("sec-fetch-site", "same-origin")
                .header("origin", common::signed_in::PUBLIC)
                .header("content-type", "application/x-www-form-urlencoded"),
            axum::body::Body::from("order=c%2Ca%2Cb"),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(draft_ids(&e).await, ["b", "a", "c"]);
    // An order that is not every rule once: 400, nothing changes.
    let a = e.post(&format!("{TAB}/order"), &[("order", "a,a,b")]).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(draft_ids(&e).await, ["b", "a", "c"]);
    let a = e.post(&format!("{TAB}/rules/nope/delete"), &[]).await;
    assert_eq!(a.status, 400);

    e.post(&format!("{TAB}/rules/a/delete"), &[]).await;
    assert_eq!(draft_ids(&e).await, ["b", "c"]);

    // Discard needs its confirmation; then the saved rules (none) are back.
    let a = e.post(&format!("{TAB}/discard"), &[]).await;
    assert_eq!(a.status, 400);
    let a = e
        .post(&format!("{TAB}/discard"), &[("confirm", "yes")])
        .await;
    assert_redirect(&a, &format!("{TAB}?notice=discarded"));
    assert!(working(&e).await.draft.is_none());
    assert!(draft_ids(&e).await.is_empty());
}

#[tokio::test]
async fn a_refused_save_names_the_rule_and_versions_restore() {
    let e = Env::new(accounts::Access::All).await;
    let db = e.gw.db();
    // Version 1 through the tab.
    drafts::store(
        db,
        &demo_id(),
        &RuleSet {
            rules: vec![rule("one")],
        },
        0,
        "t",
    )
    .await
    .unwrap();
    assert_redirect(&e.post(&format!("{TAB}/save"), &[]).await, TAB);
    // A draft naming a role the CRM does not have: the save is refused, naming the rule and
    // the field; the draft stays.
    let mut bad = rule("two");
    bad.settings.role = Some(Setting {
        value: 999,
        apply: Apply::Always,
    });
    drafts::store(
        db,
        &demo_id(),
        &RuleSet {
            rules: vec![rule("one"), bad],
        },
        1,
        "t",
    )
    .await
    .unwrap();
    let a = e.post(&format!("{TAB}/save"), &[]).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("role=\"alert\""), "{}", a.body);
    assert!(
        a.body
            .contains("rule 2 (two), settings.role: no role 999 in the CRM"),
        "{}",
        a.body
    );
    assert!(working(&e).await.draft.is_some());
    // Fixed, saved as version 2.
    e.post(&format!("{TAB}/rules/two/delete"), &[]).await;
    drafts::store(
        db,
        &demo_id(),
        &RuleSet {
            rules: vec![rule("one"), rule("two")],
        },
        1,
        "t",
    )
    .await
    .unwrap();
    assert_redirect(&e.post(&format!("{TAB}/save"), &[]).await, TAB);
    let page = e.get(TAB).await.body;
    assert!(page.contains("Versions (2)"), "{page}");
    assert!(page.contains("action=\"/ui/t/demo/configurations/versions/1/restore\""));
    assert!(
        !page.contains("action=\"/ui/t/demo/configurations/versions/2/restore\""),
        "the current version has no restore"
    );

    // Restore version 1: it becomes version 3.
    let a = e.post(&format!("{TAB}/versions/1/restore"), &[]).await;
    assert_eq!(a.status, 400, "restoring needs its confirmation");
    let a = e
        .post(&format!("{TAB}/versions/1/restore"), &[("confirm", "yes")])
        .await;
    assert_redirect(&a, &format!("{TAB}?notice=restored"));
    let (_, saved) = e
        .api("GET", "/admin/tenants/demo/rules", &e.admin.clone(), None)
        .await;
    assert_eq!(saved["version"], 3);
    assert_eq!(saved["comment"], "restored version 1");
    assert_eq!(saved["rules"]["rules"].as_array().unwrap().len(), 1);
    let a = e
        .post(&format!("{TAB}/versions/9/restore"), &[("confirm", "yes")])
        .await;
    assert_eq!(a.status, 404);
}

/// The user links of the SCIM users pane, in order (their user names).
fn listed(html: &str) -> Vec<String> {
    html.split("<span class=\"muted user-name\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_users_pane_pages_filters_and_previews_the_selected_user() {
    let e = Env::new(accounts::Access::All).await;
    let ids = directory(&e, 60).await;
    let page1 = e.get(TAB).await.body;
    let first = listed(&page1);
    assert_eq!(first.len(), 50, "{page1}");
    assert_eq!(first[0], "u000@example.com");
    assert!(page1.contains("60 user(s)") && page1.contains("Page 1 of 2"));
    let page2 = e.get(&format!("{TAB}?page=2")).await.body;
    assert_eq!(listed(&page2).len(), 10);
    assert_eq!(listed(&page2)[0], "u050@example.com");
    let a = e.get(&format!("{TAB}?page=x")).await;
    assert_eq!(a.status, 400);

    // By search (display name or user name) and by group (SCIM id of Sales: the even users).
    let found = listed(&e.get(&format!("{TAB}?q=User+05")).await.body);
    assert_eq!(found.len(), 10, "{found:?}");
    let groups = e.get(TAB).await.body;
    let sales_id = groups
        .split("<option value=\"")
        .skip(1)
        .find(|o| o.contains(">Sales (30)<"))
        .expect("the Sales group is offered")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let sales = listed(&e.get(&format!("{TAB}?group={sales_id}")).await.body);
    assert_eq!(sales.len(), 30);
    assert!(
        sales
            .iter()
            .all(|u| u[1..4].parse::<u32>().unwrap() % 2 == 0)
    );
    let both = listed(&e.get(&format!("{TAB}?group={sales_id}&q=u01")).await.body);
    assert_eq!(
        both,
        [
            "u010@example.com",
            "u012@example.com",
            "u014@example.com",
            "u016@example.com",
            "u018@example.com"
        ]
    );

    // Rules saved through the admin API; user 0 (Sales, Seller) previewed with each setting
    // and the rule that set it.
    let rules = json!({"rules": [
        {"id": "base", "name": "Everyone", "scope": {"kind": "allUsers"},
         "settings": {"role": {"value": demo::ROLE_USER, "apply": "always"}}},
        {"id": "sellers", "name": "Sellers", "scope": {"kind": "inGroup", "group": "grp-sales"},
         "condition": "title eq \"Seller\"",
         "settings": {"role": {"value": demo::ROLE_SALES_MANAGER, "apply": "always"},
                      "userPlan": {"value": {"kind": "plan", "id": demo::SALES_PREMIUM}, "apply": "always"}}}
    ]});
    let (s, body) = e
        .api(
            "PUT",
            "/admin/tenants/demo/rules",
            &e.admin.clone(),
            Some(rules),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let a = e.get(&format!("{TAB}?user={}", ids[0])).await;
    let pane = a.body.split("id=\"user-preview\"").nth(1).unwrap();
    assert!(
        pane.contains("<dd>User 000</dd>") && pane.contains("<dd>u000@example.com</dd>"),
        "{pane}"
    );
    assert!(pane.contains("by Everyone, Sellers"), "{pane}");
    assert!(
        pane.contains("Sales Manager <span class=\"muted\">(Sellers)</span>"),
        "{pane}"
    );
    assert!(
        pane.contains("Sales Premium <span class=\"muted\">(Sellers)</span>"),
        "{pane}"
    );
    assert!(
        a.body.contains("aria-current=\"true\""),
        "the selected user is marked in the list"
    );
    // User 1 is not in Sales: only the first rule.
    let pane = e.get(&format!("{TAB}?user={}", ids[1])).await.body;
    assert!(
        pane.contains("User <span class=\"muted\">(Everyone)</span>"),
        "{pane}"
    );
    let missing = e.get(&format!("{TAB}?user=nobody")).await.body;
    assert!(missing.contains("not (or no longer) in this tenant"));

    // Sync user, with User Sync Active on: the CRM holds the user with the resolved settings.
    e.post("/ui/t/demo/settings", &[("user_sync_active", "on")])
        .await;
    let a = e
        .post(&format!("{TAB}/sync-user"), &[("user", &ids[0])])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Synced: CRM user #"), "{}", a.body);
    assert!(
        a.body.contains("<dt>In the CRM</dt><dd>synced (user #"),
        "{}",
        a.body
    );
    let (_, crm) = e
        .api(
            "GET",
            "/admin/tenants/demo/crm/users",
            &e.admin.clone(),
            None,
        )
        .await;
    let users = crm["users"].as_array().or(crm.as_array()).unwrap().clone();
    let u0 = users
        .iter()
        .find(|u| u["userName"] == "u000@example.com")
        .expect("in the CRM");
    assert_eq!(u0["role"], demo::ROLE_SALES_MANAGER);
    let a = e
        .post(&format!("{TAB}/sync-user"), &[("user", "nobody")])
        .await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn the_condition_is_checked_as_it_is_typed() {
    let e = Env::new(accounts::Access::All).await;
    let check = |c: &str| {
        let uri = format!(
            "{TAB}/condition?condition={}",
            form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        );
        let e = &e;
        async move {
            let a = e.get(&uri).await;
            assert_eq!(a.status, 200, "{}", a.body);
            serde_json::from_str::<Value>(&a.body).unwrap()
        }
    };
    assert_eq!(check("").await["valid"], true);
    assert_eq!(check(r#"title eq "Seller""#).await["valid"], true);
    let enterprise =
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#;
    assert_eq!(check(enterprise).await["valid"], true);
    let bad = check(r#"title eq"#).await;
    assert_eq!(bad["valid"], false);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("Not a valid SCIM filter")
    );
    assert_eq!(check("nosuchattribute pr").await["valid"], false);
    // Another tenant's check is 404, as its pages are.
    let a = e
        .get("/ui/t/other/configurations/condition?condition=x")
        .await;
    assert_eq!(a.status, 404);
}
