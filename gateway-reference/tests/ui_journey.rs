//! An administrator's whole journey through the Identity Manager in headless Chromium,
//! against the real `scim-gateway` binary and the users an identity provider pushed over
//! SCIM: sign in, write two rules with the wizard (live condition check, group picker,
//! plans with free seats), reorder them by keyboard, see the Preview tab count who would
//! start syncing, save, preview one user, turn on User Sync Active and Send Welcome Email,
//! see the CRM user appear and the welcome mail queued, rotate the Secret Token, and check
//! that another tenant's users are invisible. axe-core runs on every page; a screenshot of
//! every tab lands in `target/ui-screenshots/`. Harness: `tests/browser/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;

use std::time::Duration;

use browser::Ui;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// POSTs a SCIM resource as an identity provider does; returns the created resource.
async fn scim_post(base: &str, tenant: &str, token: &str, kind: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}/scim/{tenant}/{kind}"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{kind}");
    r.json().await.unwrap()
}

fn user(name: &str, display: &str, title: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name, "displayName": display, "title": title, "active": true,
        "name": {"givenName": display.split(' ').next().unwrap(), "familyName": "Test"},
        "emails": [{"value": name, "type": "work", "primary": true}]
    })
}

/// The rules' names on the Configurations tab, top to bottom.
async fn rule_names(ui: &Ui) -> Vec<String> {
    let mut names = Vec::new();
    for e in ui
        .client
        .find_all(fantoccini::Locator::Css("#rule-list .rule-name"))
        .await
        .unwrap()
    {
        names.push(e.text().await.unwrap());
    }
    names
}

async fn submit(ui: &Ui, button: &str) {
    let b = ui.button(button).await;
    ui.click_and_load(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_writes_rules_turns_on_sync_and_rotates_the_token() {
    let Some(ui) = Ui::start().await else { return };
    let base = ui.gateway.base.clone();
    let token = ui.gateway.scim_token.clone();
    let mut ids = Vec::new();
    for (n, d, t) in [
        ("ada@example.com", "Ada Lovelace", "Seller"),
        ("bob@example.com", "Bob Builder", "Engineer"),
        ("cy@example.com", "Cy Young", "Seller"),
    ] {
        let u = scim_post(&base, "demo", &token, "Users", user(n, d, t)).await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    scim_post(
        &base,
        "demo",
        &token,
        "Groups",
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName": "Sales", "externalId": "grp-sales",
               "members": [{"value": ids[0]}, {"value": ids[1]}]}),
    )
    .await;
    // Another tenant with a user of its own.
    let out = ui.gateway.cli(&["tenant", "create", "other"]).await;
    let other_token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Secret Token:"))
        .expect("tenant create prints the Secret Token")
        .trim()
        .to_string();
    scim_post(
        &base,
        "other",
        &other_token,
        "Users",
        user("hidden@other.example", "Hidden Person", "x"),
    )
    .await;

    ui.sign_in().await;
    ui.goto("/ui/t/demo/configurations").await;
    assert_eq!(ui.heading().await, "Configurations");
    ui.axe().await;
    ui.screenshot("configurations-empty").await;

    // The wizard, once the gateway has mirrored the group (its sync runs in the background).
    ui.wait_for_text(
        "/ui/t/demo/configurations/rules/new",
        "#group",
        "Sales (2 members)",
        20,
    )
    .await;
    ui.field("Rule name")
        .await
        .send_keys("Sales sellers")
        .await
        .unwrap();
    ui.tick("Users in group").await;
    ui.choose("Group", "Sales (2 members)").await;
    // The condition is checked as it is typed.
    let cond = ui.field("SCIM filter on the user").await;
    cond.send_keys("title eq").await.unwrap();
    for _ in 0..50 {
        if ui
            .text_of("#condition-status")
            .await
            .starts_with("Not a valid SCIM filter")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ui.text_of("#condition-status")
            .await
            .starts_with("Not a valid SCIM filter")
    );
    assert_eq!(
        cond.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    cond.send_keys(" \"Seller\"").await.unwrap();
    for _ in 0..50 {
        if ui.text_of("#condition-status").await == "A valid SCIM filter." {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        ui.text_of("#condition-status").await,
        "A valid SCIM filter."
    );
    ui.choose("User plan: apply", "Always").await;
    ui.choose("User plan: value", "Sales Premium (50 free, 0 in use)")
        .await;
    ui.choose("Role: apply", "Always").await;
    ui.choose("Role: value", "Sales Manager").await;
    ui.axe().await;
    ui.screenshot("wizard").await;
    submit(&ui, "Add to rules").await;
    assert_eq!(ui.path().await, "/ui/t/demo/configurations");
    assert!(
        ui.text_of("[role=status]")
            .await
            .contains("The rule is in the draft")
    );

    // A second rule for everyone, then moved to the top with the keyboard.
    ui.goto("/ui/t/demo/configurations/rules/new").await;
    ui.field("Rule name")
        .await
        .send_keys("Everyone")
        .await
        .unwrap();
    ui.choose("Role: apply", "If not set").await;
    ui.choose("Role: value", "User").await;
    submit(&ui, "Add to rules").await;
    assert_eq!(rule_names(&ui).await, ["Sales sellers", "Everyone"]);
    let handle = ui
        .find("#rule-list li[data-rule-id=everyone] .handle")
        .await;
    handle.send_keys(&Key::Up.to_string()).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        order = rule_names(&ui).await;
        if order == ["Everyone", "Sales sellers"]
            && ui.focused().await.starts_with("button#.handle")
        {
            break;
        }
    }
    assert_eq!(
        order,
        ["Everyone", "Sales sellers"],
        "moved by the arrow key"
    );
    assert!(
        ui.focused().await.starts_with("button#.handle"),
        "the focus stays on the moved rule's handle"
    );
    ui.axe().await;
    ui.screenshot("configurations-draft").await;

    // The Preview tab shows what saving would do: all three would start syncing.
    ui.goto("/ui/t/demo/preview").await;
    let draft = ui.text_of("section.draft").await;
    assert!(draft.contains("3 user(s) would start syncing"), "{draft}");
    ui.axe().await;
    ui.screenshot("preview-draft").await;

    // Save; then preview Ada: Sales Premium and Sales Manager from "Sales sellers".
    ui.goto("/ui/t/demo/configurations").await;
    ui.field("Comment (kept with the version)")
        .await
        .send_keys("first rules")
        .await
        .unwrap();
    submit(&ui, "Save rules").await;
    assert!(
        ui.text_of("[role=status]")
            .await
            .contains("The rules are saved")
    );
    let ada = ui.link("Ada Lovelace").await;
    ui.click_and_load(&ada).await;
    let pane = ui.text_of("section.preview-pane").await.replace('\n', " ");
    assert!(pane.contains("Sales Premium (Sales sellers)"), "{pane}");
    assert!(pane.contains("Sales Manager (Sales sellers)"), "{pane}");
    assert!(pane.contains("In the CRM not yet"), "{pane}");
    ui.axe().await;
    ui.screenshot("configurations-user").await;

    // Turn on User Sync Active and Send Welcome Email.
    ui.goto("/ui/t/demo/settings").await;
    ui.tick("User Sync Active").await;
    ui.tick("Send Welcome Email").await;
    submit(&ui, "Save settings").await;
    assert!(
        ui.text_of("[role=status]")
            .await
            .contains("The settings are saved")
    );
    ui.axe().await;
    ui.screenshot("settings").await;

    // The CRM user appears (the preview pane says what the sync did), and the welcome mail
    // is queued (no SMTP server is configured here, so it waits in the outbox).
    let ada_path = format!("/ui/t/demo/configurations?user={}", ids[0]);
    ui.wait_for_text(&ada_path, "section.preview-pane", "synced (user #", 30)
        .await;
    ui.wait_for_text("/ui/t/demo/mail", "main", "ada@example.com", 30)
        .await;
    let mail = ui.text_of("main").await;
    assert!(mail.to_lowercase().contains("welcome"), "{mail}");
    ui.axe().await;
    ui.screenshot("mail").await;
    ui.goto("/ui/t/demo/log").await;
    ui.axe().await;
    ui.screenshot("log").await;

    // Rotate the Secret Token: the new one works, the old one stops working.
    ui.goto("/ui/t/demo/settings").await;
    ui.tick("Revoke the earlier tokens").await;
    let rotate = ui.button("Generate secret token / Rotate").await;
    rotate.click().await.unwrap();
    ui.client
        .accept_alert()
        .await
        .expect("the browser asks to confirm");
    let new_token = ui
        .find("#new-token")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new_token, token);
    let get = |t: String| {
        let url = format!("{base}/scim/demo/Users?count=1");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(new_token.clone()).await, 200);
    let mut old = 200;
    for _ in 0..50 {
        old = get(token.clone()).await;
        if old == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(old, 401, "the old token is revoked");
    ui.screenshot("settings-new-token").await;

    // Another tenant's users are not in demo's lists, and an account limited to demo
    // cannot open the other tenant at all.
    ui.goto("/ui/t/demo/configurations?q=hidden").await;
    assert!(
        ui.text_of("section.users-pane")
            .await
            .contains("No user matches.")
    );
    let password = "demo only passphrase 7";
    ui.gateway
        .create_account("demo-only", password, &["demo"])
        .await;
    submit(&ui, "Sign out").await;
    ui.sign_in_as("demo-only", password).await;
    ui.goto("/ui/t/other/configurations").await;
    assert_eq!(ui.heading().await, "Not Found");
    ui.goto("/ui/t/other/configurations?q=hidden").await;
    assert!(!ui.text_of("main").await.contains("hidden@other.example"));
    ui.close().await;
}
