//! The Identity Manager in headless Chromium against the real `scim-gateway` binary: sign-in
//! through the form, the tenants page, the skip link, sign-out, tenant access, and axe-core
//! on every page. Harness: `tests/browser/mod.rs` (skips without Chromium unless
//! `SCIM_REQUIRE_BROWSER=1`). Screenshots land in `target/ui-screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;

use browser::Ui;
use fantoccini::key::Key;

/// Sign-in with the password printed on the first start lands on the only tenant, `demo`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_first_start_password_lands_on_the_demo_tenant() {
    let Some(ui) = Ui::start().await else { return };
    ui.goto("/ui/").await;
    // Not signed in: the sign-in page, which remembers where to go next.
    ui.wait_for_path("/ui/signin").await;
    assert_eq!(ui.heading().await, "Identity Manager");
    ui.axe().await;
    ui.screenshot("signin").await;

    ui.sign_in().await;
    assert_eq!(ui.path().await, "/ui/t/demo/configurations");
    ui.screenshot("demo-tenant").await;
    ui.close().await;
}

/// A wrong password shows the error on the form, tied to the name field, and keeps the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_error() {
    let Some(ui) = Ui::start().await else { return };
    let name = ui.gateway.admin_name.clone();
    ui.sign_in_as(&name, "not-the-password").await;
    assert_eq!(ui.path().await, "/ui/signin");
    let alert = ui.find("[role=alert]").await;
    let text = alert.text().await.unwrap();
    assert!(!text.trim().is_empty(), "an empty error");
    let field = ui.field("Name").await;
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some(name.as_str())
    );
    let id = alert
        .attr("id")
        .await
        .unwrap()
        .expect("the error has an id");
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some(id.as_str()),
        "the name field is described by the error"
    );
    // The password field is empty again, and the right password still works.
    assert_eq!(
        ui.field("Password")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    ui.axe().await;
    ui.screenshot("signin-wrong-password").await;
    ui.sign_in().await;
    assert_eq!(ui.path().await, "/ui/t/demo/configurations");
    ui.close().await;
}

/// With two tenants `/ui/` lists them; Tab from the top reaches the skip link first, and it
/// moves the focus to the main content; the page passes axe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_page_skip_link_and_axe() {
    let Some(ui) = Ui::start().await else { return };
    ui.gateway.cli(&["tenant", "create", "other"]).await;
    ui.sign_in().await;
    assert_eq!(ui.path().await, "/ui/");
    assert_eq!(ui.heading().await, "Tenants");
    let cards = ui
        .client
        .find_all(fantoccini::Locator::Css("main .cards a"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for c in &cards {
        names.push(c.text().await.unwrap());
    }
    assert_eq!(cards.len(), 2, "{names:?}");
    ui.axe().await;
    ui.screenshot("tenants").await;

    // Keyboard: the first Tab stop is the skip link, visible when focused.
    ui.goto("/ui/").await;
    ui.find("body")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = ui.focused().await;
    assert!(focused.starts_with("a#.skip"), "first Tab stop: {focused}");
    let skip = ui.client.active_element().await.unwrap();
    let (x, y, w, h) = skip.rectangle().await.unwrap();
    assert!(
        x >= 0.0 && y >= 0.0 && w > 0.0 && h > 0.0,
        "the focused skip link is off-screen: {x},{y}"
    );
    ui.screenshot("skip-link-focused").await;
    ui.press(&Key::Enter.to_string()).await;
    let focused = ui.focused().await;
    assert!(
        focused.starts_with("main#main"),
        "after the skip link: {focused}"
    );
    // The next Tab goes into the content, past the header.
    ui.press(&Key::Tab.to_string()).await;
    let focused = ui.focused().await;
    assert!(
        focused.starts_with("a#.card"),
        "after the skip link, Tab: {focused}"
    );
    ui.close().await;
}

/// Sign-out ends the session: the sign-in page, and `/ui/` asks to sign in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out() {
    let Some(ui) = Ui::start().await else { return };
    ui.gateway.cli(&["tenant", "create", "other"]).await;
    ui.sign_in().await;
    assert_eq!(ui.path().await, "/ui/");
    let button = ui.button("Sign out").await;
    ui.click_and_load(&button).await;
    assert_eq!(ui.path().await, "/ui/signin");
    ui.goto("/ui/").await;
    ui.wait_for_path("/ui/signin").await;
    ui.goto("/ui/t/demo").await;
    ui.wait_for_path("/ui/signin").await;
    ui.close().await;
}

/// An account limited to `demo` does not see `other`: its pages answer the same 404 page as a
/// tenant that does not exist, and `/ui/` goes straight to `demo`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_limited_to_demo_cannot_see_another_tenant() {
    let Some(ui) = Ui::start().await else { return };
    ui.gateway.cli(&["tenant", "create", "other"]).await;
    let password = "demo-only password 1";
    ui.gateway
        .create_account("demo-only", password, &["demo"])
        .await;
    ui.sign_in_as("demo-only", password).await;
    assert_eq!(ui.path().await, "/ui/t/demo/configurations");

    let mut pages = Vec::new();
    for path in [
        "/ui/t/other",
        "/ui/t/other/configurations",
        "/ui/t/nope/configurations",
    ] {
        ui.goto(path).await;
        assert_eq!(ui.path().await, path);
        let title = ui.client.title().await.unwrap();
        pages.push((title, ui.heading().await));
    }
    assert_eq!(
        pages[0], pages[2],
        "another tenant looks like a missing one"
    );
    assert_eq!(pages[1], pages[2]);
    assert_eq!(pages[0].1, "Not Found");
    ui.axe().await;
    ui.screenshot("not-found").await;
    // The tenants page lists only demo: it goes straight there.
    ui.goto("/ui/").await;
    ui.wait_for_path("/ui/t/demo/configurations").await;
    ui.close().await;
}
