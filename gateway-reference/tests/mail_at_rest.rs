//! Nothing secret at rest: the welcome link's token waits in the outbox sealed with the
//! deployment's key, so neither the SQLite file (nor its write-ahead log) nor the rows hold
//! it, and the admin API lists the mail with the token masked; the mail that reaches the
//! user (aiosmtpd on loopback, see `tests/smtp`) carries the live link, which works once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;

use axum::body::Body;
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial, SmtpPartial};
use gateway_reference::crm::Crm;
use gateway_reference::mail::smtp::Smtp;
use gateway_reference::mail::{MailContext, worker};
use http_body_util::BodyExt;
use scim_server::TenantId;
use serde_json::{Value, json};
use smtp::{Options, SmtpServer};
use tower::ServiceExt;

async fn call(app: &axum::Router, m: &str, uri: &str, token: &str, body: Value) -> (u16, String) {
    let req = http::Request::builder()
        .method(m)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        })
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn form(app: &axum::Router, uri: &str, body: &str) -> (u16, String) {
    let req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every file of the SQLite database (the main file, the WAL, its index), as bytes.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["gateway.db", "gateway.db-wal", "gateway.db-shm"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_token_is_sealed_at_rest_and_the_mailed_link_works_once() {
    let inbox_dir = tempfile::tempdir().unwrap();
    let Some(inbox) = SmtpServer::start(inbox_dir.path(), Options::default()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let partial = Partial {
        data_dir: Some(dir.path().to_path_buf()),
        public_url: Some("http://gw.test".into()),
        smtp: Some(SmtpPartial {
            host: Some("127.0.0.1".into()),
            port: Some(inbox.port),
            tls: Some("none".into()),
            ..SmtpPartial::default()
        }),
        ..Partial::default()
    };
    let config = Config::resolve(partial, None, |_| None).unwrap();
    let gw = Gateway::open(&config).await.unwrap();
    let first = gw.first_start().await.unwrap().unwrap();
    gw.seed_crm().await.unwrap();
    let app = gw.router("http://gw.test").unwrap();
    let tenant = TenantId::new("demo").unwrap();
    let plan = gw.embedded_crm().catalog(&tenant).await.unwrap().user_plans[0].id;
    let admin = &first.admin_token;
    let (s, body) = call(
        &app,
        "PUT",
        "/admin/tenants/demo/settings",
        admin,
        json!({"userSyncActive": true, "sendWelcomeEmail": true}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let rules = json!({"rules": [{"id": "all", "name": "Everyone", "scope": {"kind": "allUsers"},
        "settings": {"userPlan": {"value": {"kind": "plan", "id": plan}, "apply": "always"}}}]});
    let (s, body) = call(&app, "PUT", "/admin/tenants/demo/rules", admin, rules).await;
    assert_eq!(s, 200, "{body}");
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@contoso.com", "active": true,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "type": "work", "value": "ada@contoso.com"}]
    });
    let (s, body) = call(&app, "POST", "/scim/demo/Users", &first.token, user).await;
    assert_eq!(s, 201, "{body}");
    let pass = gw.sync().run_tenant(&tenant).await.unwrap();
    assert_eq!(pass.written, 1);

    // Queued, not sent: what is at rest now.
    let at_rest = database_bytes(dir.path());
    let stored = gw
        .db()
        .query_opt(
            "SELECT link_token, text_body, html_body FROM gw_mail_outbox WHERE kind = 'welcome'",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.text(0).unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    let (s, listing) = call(
        &app,
        "GET",
        "/admin/tenants/demo/mail/outbox?kind=welcome",
        admin,
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{listing}");
    assert!(
        listing.contains("http://gw.test/activate/REDACTED"),
        "{listing}"
    );

    let mail = config.mail_config("http://gw.test");
    let smtp = Smtp::new(mail.smtp.as_ref().unwrap()).unwrap();
    let sender = worker::Sender {
        smtp: &smtp,
        mail: MailContext {
            config: &mail,
            keys: gw.crm().keys(),
        },
    };
    let r = worker::deliver_due(gw.db(), sender, worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    let got = inbox.messages();
    assert_eq!(got.len(), 1);
    let text = got[0]["text"].as_str().unwrap();
    let start = text.find("http://gw.test/activate/").expect("a link");
    let link = text[start..].split_whitespace().next().unwrap();
    let token = link.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64);

    // The token was nowhere at rest: not in the files, the rows or the listing.
    assert!(
        !contains(&at_rest, &token),
        "the token is in clear in gateway.db"
    );
    for i in 0..3 {
        assert!(!stored.text(i).unwrap().contains(&token));
    }
    assert!(!listing.contains(&token));
    // Nor after the send.
    assert!(!contains(&database_bytes(dir.path()), &token));

    // The link works once.
    let path = format!("/activate/{token}");
    let (s, page) = call(&app, "GET", &path, "", Value::Null).await;
    assert_eq!(s, 200, "{page}");
    let pw = "password=correct+horse+battery&confirm=correct+horse+battery";
    let (s, page) = form(&app, &path, pw).await;
    assert_eq!(s, 200, "{page}");
    assert!(
        gw.embedded_crm()
            .check_password(&tenant, "ada@contoso.com", "correct horse battery")
            .await
            .unwrap()
    );
    let (s, page) = form(&app, &path, pw).await;
    assert_eq!(s, 410, "{page}");
}
