//! The Identity Manager's Preview, Settings, Provisioning log and Mail tabs over HTTP,
//! against the gateway's whole router: a signed-in account, users pushed through SCIM, rules
//! saved through the admin API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::signed_in::Env;

use gateway_reference::mail::outbox::{self, NewMail};
use gateway_reference::mail::templates::Kind;
use gateway_reference::tenants;
use gateway_reference::ui::accounts;

/// The table's data rows (not the "No ... matches." placeholder, a single `colspan` cell).
fn rows(html: &str) -> usize {
    html.split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap()
        .split("<tr>")
        .skip(1)
        .filter(|row| !row.trim_start().starts_with("<td colspan"))
        .count()
}

#[tokio::test]
async fn preview_table_filters_and_csv() {
    let e = Env::new(accounts::Access::All).await;
    e.scim_user("ann@example.com", "Ann Able", true).await;
    e.scim_user("bob@example.com", "=HYPERLINK(\"x\"), Bob", true)
        .await;
    e.scim_user("cy@example.com", "Cy Gone", false).await;
    e.rules().await;
    // The gateway mirrors what the SCIM client pushed within a sync pass.
    let demo = scim_server::TenantId::new("demo").unwrap();
    e.gw.sync().run_tenant(&demo).await.unwrap();

    let a = e.get("/ui/t/demo/preview").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains("<strong>3</strong> users received"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<strong>2</strong> users to be synced"));
    assert!(a.body.contains("<th scope=\"col\">Primary group</th>"));
    assert_eq!(rows(&a.body), 3);
    assert!(
        a.body.contains("(Everyone)"),
        "the rule that set a value is named"
    );
    assert!(!a.body.contains("style="));

    // A column filter narrows the table: synced is yes.
    let a = e
        .get("/ui/t/demo/preview?f.synced.op=is&f.synced.value=yes")
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(rows(&a.body), 2);
    assert!(a.body.contains("ann@example.com") && a.body.contains("bob@example.com"));
    assert!(!a.body.contains("cy@example.com"));
    let a = e
        .get("/ui/t/demo/preview?f.username.op=starts&f.username.value=ANN")
        .await;
    assert_eq!(rows(&a.body), 1);
    assert!(a.body.contains("ann@example.com"));
    assert!(!a.body.contains("bob@example.com"));
    let a = e.get("/ui/t/demo/preview?f.role.op=empty").await;
    assert_eq!(rows(&a.body), 1, "only the inactive user has no role");
    assert!(a.body.contains("cy@example.com"), "{}", a.body);
    assert!(!a.body.contains("ann@example.com"));
    let a = e
        .get("/ui/t/demo/preview?f.username.op=is&f.username.value=nobody")
        .await;
    assert_eq!(rows(&a.body), 0);
    assert!(a.body.contains("No user matches."));
    assert_eq!(e.get("/ui/t/demo/preview?f.role.op=like").await.status, 400);

    // CSV: header, filtered rows, RFC 4180 quoting and the formula guard.
    let a = e
        .get("/ui/t/demo/preview.csv?f.synced.op=is&f.synced.value=yes")
        .await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = a.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{}", a.body);
    assert!(lines[0].starts_with("Name,Username,Synced,User plan,Role"));
    assert!(
        a.body
            .contains("\"'=HYPERLINK(\"\"x\"\"), Bob\",bob@example.com,yes"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("cy@example.com"));
}

#[tokio::test]
async fn settings_tokens_and_confirmed_actions() {
    let e = Env::new(accounts::Access::All).await;
    let a = e.get("/ui/t/demo/settings").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("http://127.0.0.1:8080/scim/demo"));
    assert!(a.body.contains("data-copy=\"tenant-url\""));

    // The form saves; the admin API sees it.
    let a = e
        .post(
            "/ui/t/demo/settings",
            &[
                ("send_welcome_email", "on"),
                ("notifications_email", "ops@example.com"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("The settings are saved."));
    let (s, body) = e
        .api(
            "GET",
            "/admin/tenants/demo/settings",
            &e.admin.clone(),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["sendWelcomeEmail"], true);
    assert_eq!(body["userSyncActive"], false);
    assert_eq!(body["notificationsEmail"], "ops@example.com");
    let a = e
        .post("/ui/t/demo/settings", &[("notifications_email", "nope")])
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("class=\"error\""), "{}", a.body);

    // Rotation: refused unconfirmed; then the new token once, the old one refused.
    assert_eq!(e.post("/ui/t/demo/settings/token", &[]).await.status, 400);
    let (s, _) = e
        .api("GET", "/scim/demo/Users", &e.scim.clone(), None)
        .await;
    assert_eq!(s, 200);
    let a = e
        .post("/ui/t/demo/settings/token", &[("confirm", "yes")])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let new = a
        .body
        .split("id=\"new-token\" class=\"secret\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(new.len() >= 32);
    assert_eq!(a.headers["cache-control"], "no-store");
    // The token cache of the SCIM endpoint may keep the old token a short while.
    let (s, _) = e.api("GET", "/scim/demo/Users", &new, None).await;
    assert_eq!(s, 200);
    let mut refused = false;
    for _ in 0..40 {
        if e.api("GET", "/scim/demo/Users", &e.scim.clone(), None)
            .await
            .0
            == 401
        {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(refused, "the old token still works");
    for page in ["settings", "preview", "log", "mail"] {
        let a = e.get(&format!("/ui/t/demo/{page}")).await;
        assert_eq!(a.status, 200, "{page}");
        assert!(!a.body.contains(&new), "the token shows again on {page}");
    }

    // Sync all and Reset need the confirmation.
    for action in ["sync-all", "reset", "token/revoke"] {
        let uri = format!("/ui/t/demo/settings/{action}");
        assert_eq!(e.post(&uri, &[]).await.status, 400, "{action}");
        let a = e.post(&uri, &[("confirm", "yes")]).await;
        assert_eq!(a.status, 200, "{action}: {}", a.body);
        assert!(a.body.contains("class=\"notice\""), "{action}");
    }

    // Without the CSRF field: 403, nothing done.
    let a = e
        .post_raw("/ui/t/demo/settings", "notifications_email=x%40y.z".into())
        .await;
    assert_eq!(a.status, 403);
    let (_, body) = e
        .api(
            "GET",
            "/admin/tenants/demo/settings",
            &e.admin.clone(),
            None,
        )
        .await;
    assert_eq!(body["notificationsEmail"], "ops@example.com");

    // Test Connection on the embedded CRM.
    let a = e.post("/ui/t/demo/settings/crm-test", &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("The connection works"), "{}", a.body);
}

#[tokio::test]
async fn log_filters_and_mail_retry() {
    let e = Env::new(accounts::Access::All).await;
    e.scim_user("ann@example.com", "Ann", true).await;
    e.post(
        "/ui/t/demo/settings",
        &[("notifications_email", "ops@example.com")],
    )
    .await;
    // An entry's action, as its cell shows it (not the filter's echoed value).
    let saved = "<td>settings-saved</td>";
    let a = e.get("/ui/t/demo/log").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains(saved), "{}", a.body);
    let a = e
        .get("/ui/t/demo/log?action=settings-saved&outcome=success")
        .await;
    assert!(a.body.contains(saved), "{}", a.body);
    assert_eq!(rows(&a.body), 1, "{}", a.body);
    let a = e
        .get("/ui/t/demo/log?action=settings-saved&outcome=failure")
        .await;
    assert!(!a.body.contains(saved));
    assert_eq!(rows(&a.body), 0, "{}", a.body);
    let a = e.get("/ui/t/demo/log?action=no-such-action").await;
    assert!(a.body.contains("No entry matches."));
    assert_eq!(rows(&a.body), 0);
    let a = e.get("/ui/t/demo/log?since=2999-01-01T00:00").await;
    assert!(a.body.contains("No entry matches."));
    assert_eq!(rows(&a.body), 0);
    let a = e.get("/ui/t/demo/log?until=2999-01-01T00:00").await;
    assert!(a.body.contains(saved));
    assert_eq!(e.get("/ui/t/demo/log?since=yesterday").await.status, 400);
    assert_eq!(e.get("/ui/t/demo/log?outcome=maybe").await.status, 400);

    // A failed welcome mail: listed, its link masked, retried.
    let id = outbox::enqueue(
        e.gw.db(),
        &NewMail {
            tenant: "demo".into(),
            kind: Kind::Welcome,
            from: "gw@example.com".into(),
            to: "ann@example.com".into(),
            subject: "Welcome".into(),
            text: format!("Open {}", outbox::LINK_PLACEHOLDER),
            html: String::new(),
            sealed_link: None,
        },
    )
    .await
    .unwrap();
    e.gw.db()
        .execute(
            "UPDATE gw_mail_outbox SET status = 'failed', attempts = 5, last_error = 'refused' \
             WHERE id = $1",
            &[id.into()],
        )
        .await
        .unwrap();
    let a = e.get("/ui/t/demo/mail?status=failed").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("ann@example.com"));
    assert!(
        e.get("/ui/t/demo/mail?status=sent")
            .await
            .body
            .contains("No mail matches.")
    );
    let a = e.get(&format!("/ui/t/demo/mail/{id}")).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("refused") && a.body.contains(outbox::LINK_REDACTED));
    let a = e.post(&format!("/ui/t/demo/mail/{id}/retry"), &[]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let m = outbox::get(
        e.gw.db(),
        &scim_server::TenantId::new("demo").unwrap(),
        id,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(m.status, "queued");
    assert_eq!(m.attempts, 0);
    // Again: it is no longer failed.
    assert_eq!(
        e.post(&format!("/ui/t/demo/mail/{id}/retry"), &[])
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn another_tenants_pages_are_404() {
    let e = Env::new(accounts::Access::Tenants(vec!["demo".into()])).await;
    tenants::create(e.gw.db(), "other").await.unwrap();
    // A failed mail of "other": retrying it would succeed for an account allowed there.
    let id = outbox::enqueue(
        e.gw.db(),
        &NewMail {
            tenant: "other".into(),
            kind: Kind::Notification,
            from: "gw@example.com".into(),
            to: "ops@other.example".into(),
            subject: "Other's mail".into(),
            text: "for other only".into(),
            html: String::new(),
            sealed_link: None,
        },
    )
    .await
    .unwrap();
    e.gw.db()
        .execute(
            "UPDATE gw_mail_outbox SET status = 'failed' WHERE id = $1",
            &[id.into()],
        )
        .await
        .unwrap();
    let mail = format!("mail/{id}");
    for page in [
        "preview",
        "preview.csv",
        "settings",
        "log",
        "mail",
        mail.as_str(),
    ] {
        // The mail is not demo's: 404 there too.
        assert_eq!(
            e.get(&format!("/ui/t/demo/{page}")).await.status == 404,
            page == mail
        );
        assert_eq!(
            e.get(&format!("/ui/t/other/{page}")).await.status,
            404,
            "{page}"
        );
    }
    let retry = format!("mail/{id}/retry");
    for action in [
        "settings",
        "settings/token",
        "settings/sync-all",
        retry.as_str(),
    ] {
        let a = e
            .post(&format!("/ui/t/other/{action}"), &[("confirm", "yes")])
            .await;
        assert_eq!(a.status, 404, "{action}");
    }
    let a = e.post(&format!("/ui/t/demo/{retry}"), &[]).await;
    assert_eq!(a.status, 404, "{}", a.body);
    let m = outbox::get(
        e.gw.db(),
        &scim_server::TenantId::new("other").unwrap(),
        id,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        m.status, "failed",
        "no retry reached the other tenant's mail"
    );
}
