//! Issue-level end to end: an Entra-style cycle into a tenant on the SuperOffice backend (the
//! stateful fake SuperOffice), with Send Welcome Email on and a real SMTP server (aiosmtpd on
//! loopback). The fake ends up holding exactly the expected users, plans and roles; every
//! new user got one welcome mail whose link works; then the fake answers 503 for a while:
//! the sync retries, one notification mail goes to the Notifications Email, a recovery mail
//! follows, and nothing is lost or duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;

use std::collections::BTreeSet;
use std::time::Duration;

use axum::body::Body;
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, MailPartial, Partial, SmtpPartial};
use gateway_reference::crm::connections;
use gateway_reference::crm::superoffice::fake::{FakeSuperOffice, licences};
use gateway_reference::mail::smtp::Smtp;
use gateway_reference::mail::{MailConfig, MailContext, worker};
use http_body_util::BodyExt;
use scim_server::TenantId;
use serde_json::{Value, json};
use smtp::{Options, SmtpServer};
use tower::ServiceExt;

struct Env {
    gw: Gateway,
    app: axum::Router,
    admin: String,
    scim: String,
    fake: FakeSuperOffice,
    tenant: TenantId,
    smtp: Smtp,
    mail: MailConfig,
    inbox: SmtpServer,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn call(&self, m: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(m)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn page(&self, m: &str, uri: &str) -> (u16, String) {
        let req = http::Request::builder()
            .method(m)
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sync passes until nothing is left to do, then the outbox is delivered.
    async fn settle(&self) {
        for _ in 0..50 {
            let pass = self.gw.sync().run_tenant(&self.tenant).await.unwrap();
            if pass.changes == 0 && pass.written == 0 && !pass.crm_unavailable {
                self.deliver().await;
                return;
            }
        }
        panic!("the sync did not settle");
    }

    async fn deliver(&self) {
        let sender = worker::Sender {
            smtp: &self.smtp,
            mail: MailContext {
                config: &self.mail,
                keys: self.gw.crm().keys(),
            },
        };
        worker::deliver_due(self.gw.db(), sender, worker::LEASE)
            .await
            .unwrap();
    }

    fn mails_to(&self, to: &str) -> Vec<Value> {
        self.inbox
            .messages()
            .into_iter()
            .filter(|m| m["rcpt_tos"] == json!([to]))
            .collect()
    }
}

async fn env() -> Option<Env> {
    let inbox_dir = tempfile::tempdir().unwrap();
    let inbox = SmtpServer::start(&inbox_dir.keep(), Options::default()).await?;
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
        mail: Some(MailPartial {
            from: Some("identity@contoso.com".into()),
            // Notify the first time the CRM cannot be reached (the default waits 10 minutes).
            crm_unreachable_minutes: Some(0),
            ..MailPartial::default()
        }),
        ..Partial::default()
    };
    let config = Config::resolve(partial, None, |_| None).unwrap();
    let gw = Gateway::open(&config).await.unwrap();
    let first = gw.first_start().await.unwrap().unwrap();
    let fake = FakeSuperOffice::start().await;
    let tenant = TenantId::new("demo").unwrap();
    let conn = fake.connection();
    connections::save(gw.db(), gw.crm().keys(), &tenant, &conn, "test")
        .await
        .unwrap();
    gw.seed_crm().await.unwrap();
    let app = gw.router("http://gw.test").unwrap();
    let mail = config.mail_config("http://gw.test");
    let smtp = Smtp::new(mail.smtp.as_ref().unwrap()).unwrap();
    Some(Env {
        gw,
        app,
        admin: first.admin_token,
        scim: first.token,
        fake,
        tenant,
        smtp,
        mail,
        inbox,
        _dir: dir,
    })
}

fn entra_user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("0b7c1c6e-0000-4000-8000-{i:012}"),
        "userName": format!("user{i}@contoso.com"),
        "active": true,
        "displayName": format!("User {i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "emails": [{"type": "work", "primary": true, "value": format!("user{i}@contoso.com")}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

fn link_in(text: &str) -> String {
    let start = text.find("http://gw.test/activate/").expect("a link");
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_cycle_into_superoffice_with_welcome_mails_and_an_outage() {
    let Some(e) = env().await else {
        return;
    };
    let sales_group = "5c1d9a36-0000-4000-8000-000000000001";
    let (s, body) = e
        .call(
            "PUT",
            "/admin/tenants/demo/settings",
            &e.admin,
            Some(json!({"userSyncActive": true, "sendWelcomeEmail": true,
                        "notificationsEmail": "ops@contoso.com"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // Entra's initial cycle: the group (rules name it, so it comes before the rules are
    // saved), the users, then the group's members in a PATCH.
    let (s, group) = e
        .call(
            "POST",
            "/scim/demo/Groups",
            &e.scim,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": sales_group, "displayName": "Sales", "members": []
            })),
        )
        .await;
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    // The running gateway mirrors the group within a pass; the rules are checked against it.
    e.gw.sync().run_tenant(&e.tenant).await.unwrap();
    // Rules: members of the Sales group get Sales Premium and role 2; everyone else
    // Marketing if nothing set a plan.
    let rules = json!({"rules": [
        {"id": "sales", "name": "Sales", "scope": {"kind": "inGroup", "group": sales_group},
         "settings": {"userPlan": {"value": {"kind": "plan", "id": licences::SALES_PREMIUM}, "apply": "always"},
                      "role": {"value": 2, "apply": "always"}}},
        {"id": "rest", "name": "Everyone else", "scope": {"kind": "allUsers"},
         "settings": {"userPlan": {"value": {"kind": "plan", "id": licences::MARKETING}, "apply": "ifNotSet"}}}
    ]});
    let (s, body) = e
        .call("PUT", "/admin/tenants/demo/rules", &e.admin, Some(rules))
        .await;
    assert_eq!(s, 200, "{body}");
    let mut ids = Vec::new();
    for i in 0..8 {
        // Entra first looks the user up, then creates it.
        let (s, body) = e
            .call(
                "GET",
                &format!("/scim/demo/Users?filter=userName+eq+%22user{i}%40contoso.com%22"),
                &e.scim,
                None,
            )
            .await;
        assert_eq!((s, body["totalResults"].clone()), (200, json!(0)));
        let (s, body) = e
            .call("POST", "/scim/demo/Users", &e.scim, Some(entra_user(i)))
            .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (s, body) = e
        .call(
            "PATCH",
            &format!("/scim/demo/Groups/{gid}"),
            &e.scim,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members",
                                "value": [{"value": ids[0]}, {"value": ids[1]}, {"value": ids[2]}]}]
            })),
        )
        .await;
    assert!(s == 204 || s == 200, "{s} {body}");
    e.settle().await;

    // SuperOffice holds exactly the eight users, with the rules' plans and roles.
    let users = e.fake.users();
    let names: BTreeSet<String> = users.iter().map(|u| u.user_name.clone()).collect();
    let expected: BTreeSet<String> = (0..8).map(|i| format!("user{i}@contoso.com")).collect();
    assert_eq!(names, expected);
    assert_eq!(e.fake.creates(), 8);
    for u in &users {
        let i: usize = u.user_name[4..u.user_name.find('@').unwrap()]
            .parse()
            .unwrap();
        if i < 3 {
            assert_eq!(u.plan(), Some(licences::SALES_PREMIUM), "{}", u.user_name);
            assert_eq!(u.role.as_ref().map(|r| r.id), Some(2), "{}", u.user_name);
        } else {
            assert_eq!(u.plan(), Some(licences::MARKETING), "{}", u.user_name);
        }
        assert!(!u.deleted);
    }

    // One welcome mail per new user, to the user, with a link that works.
    for i in 0..8 {
        let to = format!("user{i}@contoso.com");
        let got = e.mails_to(&to);
        assert_eq!(got.len(), 1, "welcome mails to {to}: {got:?}");
        let text = got[0]["text"].as_str().unwrap();
        assert!(text.contains(&to), "{text}");
        assert!(got[0]["html"].as_str().unwrap().contains("/activate/"));
    }
    let first = e.mails_to("user0@contoso.com");
    let link = link_in(first[0]["text"].as_str().unwrap());
    let path = link.trim_start_matches("http://gw.test");
    let (s, page) = e.page("GET", path).await;
    assert_eq!(s, 200, "{page}");
    let (s, page) = e.page("POST", path).await;
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains("refresh"),
        "SuperOffice users are sent on to sign in: {page}"
    );
    let (s, _) = e.page("POST", path).await;
    assert_eq!(s, 410, "a second use of the link is refused");
    assert!(
        e.mails_to("ops@contoso.com").is_empty(),
        "no critical error yet"
    );

    // An outage: SuperOffice answers 503 to everything. Entra goes on: two new users and a
    // rename arrive meanwhile.
    e.fake.fail_next(1_000_000, 503);
    for i in 8..10 {
        let (s, body) = e
            .call("POST", "/scim/demo/Users", &e.scim, Some(entra_user(i)))
            .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (s, _) = e
        .call(
            "PATCH",
            &format!("/scim/demo/Users/{}", ids[3]),
            &e.scim,
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Replace", "value": {"name.familyName": "Renamed"}}]})),
        )
        .await;
    assert_eq!(s, 200);
    for k in 0..3 {
        let pass = e.gw.sync().run_tenant(&e.tenant).await.unwrap();
        assert!(pass.crm_unavailable);
        e.deliver().await;
        // Past the sync's outage backoff (1 s, then 2 s): the next pass asks the CRM again.
        tokio::time::sleep(Duration::from_millis(1100 << k)).await;
    }
    // Each pass reached the CRM and was logged as retrying ...
    let (_, log) = e
        .call(
            "GET",
            "/admin/tenants/demo/log?outcome=retrying",
            &e.admin,
            None,
        )
        .await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 3, "{log}");
    // ... and there is one notification, however many passes failed.
    let alerts = e.mails_to("ops@contoso.com");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let subject = alerts[0]["headers"]["subject"].as_str().unwrap();
    assert!(subject.contains("demo"), "{subject}");
    assert_eq!(e.fake.creates(), 8, "nothing was written during the outage");

    // SuperOffice is back: the sync catches up after its backoff, a recovery mail follows.
    e.fake.recover();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let pass = e.gw.sync().run_tenant(&e.tenant).await.unwrap();
        e.deliver().await;
        let done = e.fake.users().len() == 10
            && e.fake
                .users()
                .iter()
                .any(|u| u.person.as_ref().is_some_and(|p| p.lastname == "Renamed"))
            && !pass.crm_unavailable;
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync did not catch up after the outage"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    e.settle().await;
    assert_eq!(
        e.fake.creates(),
        10,
        "each new user created once, none twice"
    );
    let alerts = e.mails_to("ops@contoso.com");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let recovery = alerts[1]["headers"]["subject"].as_str().unwrap();
    assert!(recovery.contains("Resolved"), "{recovery}");
    for i in 8..10 {
        assert_eq!(e.mails_to(&format!("user{i}@contoso.com")).len(), 1);
    }
    // Nothing waits and nothing failed for good.
    let (_, status) = e
        .call("GET", "/admin/tenants/demo/sync/status", &e.admin, None)
        .await;
    assert_eq!(status["pendingUsers"], 0, "{status}");
    assert_eq!(status["usersInError"], 0, "{status}");
}
