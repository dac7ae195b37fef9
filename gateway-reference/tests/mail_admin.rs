//! Mail through the real binary: with `[smtp]` in its configuration file, a user Entra pushes
//! gets the welcome mail over SMTP (aiosmtpd on loopback); the admin API lists the outbox
//! (links redacted), previews and validates templates; the link opens the activation page.
//! Without SMTP, the mail stays queued and is listed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod smtp;

use std::time::Duration;

use common::{Gateway, client, dir_arg, get};
use serde_json::{Value, json};
use smtp::{Options, SmtpServer};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Rules for everyone, sync and welcome mails on, one user pushed.
async fn provision(gw: &Gateway, admin: &str, scim_token: &str) {
    let a = format!("{}/admin/tenants/demo", gw.base);
    let c = client();
    let (s, body) = send(c.put(format!("{a}/rules")).bearer_auth(admin).json(&json!({
        "rules": [{"id": "all", "name": "Everyone", "scope": {"kind": "allUsers"}, "settings": {}}]
    })))
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(
        c.put(format!("{a}/settings"))
            .bearer_auth(admin)
            .json(&json!({
                "userSyncActive": true, "sendWelcomeEmail": true
            })),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(
        c.post(format!("{}/scim/demo/Users", gw.base))
            .bearer_auth(scim_token)
            .header("content-type", "application/scim+json")
            .body(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "grace@contoso.com",
                    "name": {"givenName": "Grace", "familyName": "Hopper"},
                    "emails": [{"value": "grace@contoso.com", "primary": true}],
                    "active": true
                })
                .to_string(),
            ),
    )
    .await;
    assert_eq!(s, 201, "{body}");
}

async fn outbox(gw: &Gateway, admin: &str, query: &str) -> Value {
    let (s, body) = get(
        &format!("{}/admin/tenants/demo/mail/outbox{query}", gw.base),
        admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body
}

#[tokio::test]
async fn welcome_mail_through_the_binary_and_the_mail_admin_api() {
    let inbox = tempfile::tempdir().unwrap();
    let Some(server) = SmtpServer::start(inbox.path(), Options::default()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gw.toml");
    std::fs::write(
        &config,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
             [mail]\nfrom = \"Contoso IT <it@contoso.com>\"\n",
            server.port
        ),
    )
    .unwrap();
    let data = dir_arg(&dir.path().join("data"));
    let config = dir_arg(&config);
    let gw = Gateway::start(&["--data-dir", &data, "--config", &config]).await;
    assert!(gw.banner.iter().any(|l| l.contains("Mail: SMTP 127.0.0.1")));
    let admin = gw.printed("Admin token:").unwrap();
    let scim = gw.printed("Secret Token:").unwrap();
    provision(&gw, &admin, &scim).await;
    // The sync creates the user, the worker sends the mail.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = server.messages();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got.len(), 1, "no welcome mail arrived");
    let m = &got[0];
    assert_eq!(m["headers"]["from"], "Contoso IT <it@contoso.com>");
    assert_eq!(m["rcpt_tos"], json!(["grace@contoso.com"]));
    let text = m["text"].as_str().unwrap();
    let prefix = format!("{}/activate/", gw.base);
    let start = text.find(&prefix).expect("the link points to the gateway");
    let link = text[start..].split_whitespace().next().unwrap().to_string();
    // The outbox: sent, link redacted; filters and paging.
    let mut body = Value::Null;
    for _ in 0..50 {
        body = outbox(&gw, &admin, "?kind=welcome").await;
        if body["mails"][0]["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["smtpConfigured"], true);
    assert_eq!(body["counts"]["sent"], 1);
    let mail = &body["mails"][0];
    assert_eq!(mail["status"], "sent", "{body}");
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("/activate/REDACTED")
    );
    assert!(!mail["text"].as_str().unwrap().contains(&link));
    assert_eq!(mail["messageId"], m["headers"]["message-id"]);
    // The outbox gauge of /metrics counts it.
    let metrics = client()
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scim_gateway_mail_outbox{tenant=\"demo\",status=\"sent\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(
        outbox(&gw, &admin, "?status=failed").await["mails"],
        json!([])
    );
    assert_eq!(
        outbox(&gw, &admin, "?kind=notification").await["mails"],
        json!([])
    );
    let (s, _) = get(
        &format!("{}/admin/tenants/demo/mail/outbox?status=lost", gw.base),
        &admin,
    )
    .await;
    assert_eq!(s, 400);
    // Retrying a sent mail is a conflict.
    let id = mail["id"].as_i64().unwrap();
    let (s, body) = send(
        client()
            .post(format!(
                "{}/admin/tenants/demo/mail/outbox/{id}/retry",
                gw.base
            ))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    // The link opens the activation form on the gateway.
    let r = client().get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.text().await.unwrap().contains("grace@contoso.com"));
    let r = client()
        .get(format!("{}/activate/{}", gw.base, "f".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    gw.stop().await;
}

#[tokio::test]
async fn without_smtp_mails_stay_queued_and_templates_are_managed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    let gw = Gateway::start(&["--data-dir", &data]).await;
    assert!(
        gw.banner
            .iter()
            .any(|l| l.contains("no SMTP server configured"))
    );
    let admin = gw.printed("Admin token:").unwrap();
    let scim = gw.printed("Secret Token:").unwrap();
    provision(&gw, &admin, &scim).await;
    let mut body = Value::Null;
    for _ in 0..100 {
        body = outbox(&gw, &admin, "").await;
        if body["mails"].as_array().is_some_and(|m| !m.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["smtpConfigured"], false);
    let mail = &body["mails"][0];
    assert_eq!(
        (mail["kind"].as_str(), mail["status"].as_str()),
        (Some("welcome"), Some("queued"))
    );
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("/activate/REDACTED")
    );
    // An administrator may reveal the link of an unsent mail (logged), and it works.
    let id = mail["id"].as_i64().unwrap();
    let (s, one) = get(
        &format!(
            "{}/admin/tenants/demo/mail/outbox/{id}?reveal=true",
            gw.base
        ),
        &admin,
    )
    .await;
    assert_eq!(s, 200);
    let text = one["text"].as_str().unwrap();
    assert!(!text.contains("REDACTED"));
    let start = text.find("/activate/").unwrap();
    let token: String = text[start + 10..].chars().take(64).collect();
    let r = client()
        .get(format!("{}/activate/{token}", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, log) = get(
        &format!(
            "{}/admin/tenants/demo/log?action=welcome-link-revealed",
            gw.base
        ),
        &admin,
    )
    .await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 1);
    let (_, log) = get(
        &format!("{}/admin/tenants/demo/log?action=welcome-mail", gw.base),
        &admin,
    )
    .await;
    assert_eq!(log["entries"][0]["outcome"], "success");

    // Templates: defaults, a preview with sample data (escaped), validation, a saved draft.
    let t = format!("{}/admin/tenants/demo/mail/templates", gw.base);
    let (s, body) = get(&t, &admin).await;
    assert_eq!(s, 200);
    assert_eq!(body["from"], "scim-gateway <no-reply@localhost>");
    assert!(
        body["welcome"]["text"]
            .as_str()
            .unwrap()
            .contains("{{link}}")
    );
    let p = format!("{}/admin/tenants/demo/mail/preview", gw.base);
    let (s, body) = get(&format!("{p}?kind=welcome"), &admin).await;
    assert_eq!(s, 200);
    assert!(
        body["html"]
            .as_str()
            .unwrap()
            .contains("Ada &lt;Admin&gt; Lovelace")
    );
    assert!(
        body["subject"]
            .as_str()
            .unwrap()
            .contains("Ada <Admin> Lovelace")
    );
    let c = client();
    let (s, body) = send(c.put(&t).bearer_auth(&admin).json(&json!({
        "from": "not an address",
        "welcome": {"subject": "Hi {{nmae}}", "text": "{{link}}", "html": "{{link}}"}
    })))
    .await;
    assert_eq!(s, 400, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("from") && detail.contains("nmae"),
        "{detail}"
    );
    let draft = json!({
        "from": "Contoso IT <it@contoso.com>",
        "welcome": {"subject": "Welcome {{name}}", "text": "Go: {{link}}", "html": "<a href=\"{{link}}\">{{name}}</a>"}
    });
    let (s, body) = send(c.post(&p).bearer_auth(&admin).json(&json!({
        "kind": "welcome", "templates": draft
    })))
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["from"], "Contoso IT <it@contoso.com>");
    assert_eq!(body["subject"], "Welcome Ada <Admin> Lovelace");
    let (s, body) = send(c.put(&t).bearer_auth(&admin).json(&draft)).await;
    assert_eq!(s, 200, "{body}");
    let (_, body) = get(&t, &admin).await;
    assert_eq!(body["saved"]["from"], "Contoso IT <it@contoso.com>");
    assert_eq!(body["welcome"]["subject"], "Welcome {{name}}");
    assert!(
        body["notification"]["subject"]
            .as_str()
            .unwrap()
            .contains("{{condition}}")
    );
    let (s, _) = send(c.get(&t)).await;
    assert_eq!(s, 401);
    gw.stop().await;
}
