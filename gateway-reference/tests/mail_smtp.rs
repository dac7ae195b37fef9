//! The gateway's mail against a real SMTP server on loopback (aiosmtpd, see `tests/smtp`):
//! the welcome mail of a user the sync created (STARTTLS and AUTH), its headers, both bodies
//! and the link, which works exactly once; the outbox through an SMTP outage and a worker that
//! died between claim and send; notifications deduplicated, with a digest and a recovery mail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use gateway_reference::crm::Crm;
use gateway_reference::crm::connections::Keys;
use gateway_reference::crm::embedded::EmbeddedCrm;
use gateway_reference::db::Db;
use gateway_reference::mail::activate::{ActivateState, router};
use gateway_reference::mail::notify::{self, Condition};
use gateway_reference::mail::outbox::{self, ListQuery, NewMail};
use gateway_reference::mail::smtp::{Secret, Smtp, SmtpConfig, TlsMode};
use gateway_reference::mail::templates::Kind;
use gateway_reference::mail::{MailConfig, MailContext, welcome, worker};
use gateway_reference::rules::{RuleSet, versions};
use gateway_reference::settings::{self, TenantSettings};
use gateway_reference::sync::SyncEngine;
use http_body_util::{BodyExt, Full};
use scim_server::auth::BearerTokens;
use scim_server::{PathPrefixTenants, ScimServer, TenantId};
use serde_json::json;
use smtp::{Options, SmtpServer};
use tower::ServiceExt;

const TOKEN: &str = "entra-secret-token-0123456789abcdef";

/// The deployment's key of these tests (welcome links are sealed with it).
fn keys() -> &'static Arc<Keys> {
    static KEYS: std::sync::OnceLock<Arc<Keys>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Arc::new(Keys::random()))
}

fn sender<'a>(smtp: &'a Smtp, config: &'a MailConfig) -> worker::Sender<'a> {
    worker::Sender {
        smtp,
        mail: MailContext {
            config,
            keys: keys(),
        },
    }
}

fn smtp_config(port: u16, tls: TlsMode) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: None,
        password: None,
        ca_file: None,
        timeout: Duration::from_secs(10),
    }
}

struct World {
    db: Db,
    crm: EmbeddedCrm,
    tenant: TenantId,
    scim: ScimServer,
    storage: Arc<dyn scim_server::Storage>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let storage =
        scim_server::storage::open(&format!("sqlite:{}", dir.path().join("scim.db").display()))
            .await
            .unwrap();
    let db = Db::open_sqlite(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    db.execute(
        "INSERT INTO gw_tenants (id, name, created_at) VALUES ('contoso', 'Contoso', $1)",
        &[gateway_reference::db::now().into()],
    )
    .await
    .unwrap();
    let tenant = TenantId::new("contoso").unwrap();
    let crm = EmbeddedCrm::new(db.clone());
    crm.seed_demo(&tenant).await.unwrap();
    let tokens = BearerTokens::new();
    tokens.add(tenant.clone(), TOKEN).unwrap();
    let scim = ScimServer::builder()
        .storage(storage.clone())
        .authenticator(tokens)
        .tenant_resolver(PathPrefixTenants)
        .base_path("/scim")
        .build()
        .unwrap();
    World {
        db,
        crm,
        tenant,
        scim,
        storage,
        _dir: dir,
    }
}

impl World {
    fn engine(&self, mail: MailConfig) -> SyncEngine {
        SyncEngine::with_mail(
            self.db.clone(),
            self.storage.clone(),
            self.scim.registry().clone(),
            Arc::new(self.crm.clone()),
            mail,
            keys().clone(),
        )
    }

    async fn post_user(&self, user_name: &str, given: &str, family: &str) {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": true,
            "name": {"givenName": given, "familyName": family},
            "emails": [{"primary": true, "type": "work", "value": user_name}]
        });
        let req = http::Request::builder()
            .method("POST")
            .uri("/scim/contoso/Users")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/scim+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = self.scim.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 201);
    }

    /// Rules: every user gets `plan`; sync on; welcome mails and notifications as given.
    async fn sync_everyone(&self, plan: i64, welcome: bool, notify: Option<&str>) {
        let rules: RuleSet = serde_json::from_value(json!({"rules": [{
            "id": "all", "name": "Everyone", "scope": {"kind": "allUsers"},
            "settings": {"userPlan": {"value": {"kind": "plan", "id": plan}, "apply": "always"}}
        }]}))
        .unwrap();
        versions::save(&self.db, &self.tenant, &rules, "test", None)
            .await
            .unwrap();
        let s = TenantSettings {
            user_sync_active: true,
            send_welcome_email: welcome,
            notifications_email: notify.map(str::to_string),
            ..TenantSettings::default()
        };
        settings::save(&self.db, &self.tenant, &s, "test")
            .await
            .unwrap();
    }

    async fn plan(&self) -> i64 {
        self.crm.catalog(&self.tenant).await.unwrap().user_plans[0].id
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> (u16, http::HeaderMap, String) {
    let mut req = http::Request::builder().method(method).uri(path);
    if form.is_some() {
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
    }
    let req = req
        .body(axum::body::Body::from(form.unwrap_or("").to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn link_in(text: &str) -> String {
    let start = text
        .find("https://gw.example.com/activate/")
        .expect("a link");
    text[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_mail_over_starttls_with_auth_and_its_link_works_once() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = smtp::certificates(certs.path());
    let inbox = tempfile::tempdir().unwrap();
    let options = Options {
        starttls: Some((cert, key)),
        auth: Some(("gateway".into(), "s3cret-smtp".into())),
        ..Options::default()
    };
    let Some(server) = SmtpServer::start(inbox.path(), options).await else {
        return;
    };
    let w = world().await;
    let plan = w.plan().await;
    w.sync_everyone(plan, true, None).await;
    let mut smtp = smtp_config(server.port, TlsMode::Starttls);
    smtp.username = Some("gateway".into());
    smtp.password = Some(Secret("s3cret-smtp".into()));
    smtp.ca_file = Some(ca);
    let mail = MailConfig {
        public_url: "https://gw.example.com/".into(),
        smtp: Some(smtp.clone()),
        ..MailConfig::default()
    };
    w.post_user("ada@contoso.com", "Ada", "O'Hara & <Co>").await;
    let engine = w.engine(mail.clone());
    let pass = engine.run_tenant(&w.tenant).await.unwrap();
    assert_eq!(pass.written, 1);
    // Queued in the outbox with the creation, its link redacted in the listing.
    let q = ListQuery {
        limit: 10,
        ..ListQuery::default()
    };
    let listed = outbox::list(&w.db, &w.tenant, &q).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].kind.as_str(), listed[0].status.as_str()),
        ("welcome", "queued")
    );
    assert!(
        listed[0].text.contains("/activate/REDACTED"),
        "{}",
        listed[0].text
    );
    // A second pass sends nothing new.
    engine.sync_all(&w.tenant).await.unwrap();
    engine.run_tenant(&w.tenant).await.unwrap();
    assert_eq!(outbox::list(&w.db, &w.tenant, &q).await.unwrap().len(), 1);

    let sent = worker::deliver_due(
        &w.db,
        sender(&Smtp::new(&smtp).unwrap(), &mail),
        worker::LEASE,
    )
    .await
    .unwrap();
    assert_eq!((sent.sent, sent.retried, sent.failed), (1, 0, 0));
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m["auth_user"], "gateway");
    assert_eq!(m["tls"], true);
    assert_eq!(m["rcpt_tos"], json!(["ada@contoso.com"]));
    let h = &m["headers"];
    assert_eq!(h["from"], "scim-gateway <no-reply@localhost>");
    assert_eq!(h["to"], "ada@contoso.com");
    assert!(
        h["subject"]
            .as_str()
            .unwrap()
            .starts_with("Welcome, Ada O'Hara & <Co>"),
        "{h}"
    );
    let stored = outbox::get(&w.db, &w.tenant, listed[0].id, Some(keys().as_ref()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h["message-id"], stored.message_id);
    assert!(
        h["date"]
            .as_str()
            .unwrap()
            .contains(&Utc::now().format("%Y").to_string())
    );
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["parts"], json!(["text/plain", "text/html"]));
    let text = m["text"].as_str().unwrap();
    let html = m["html"].as_str().unwrap();
    assert!(text.contains("Hello Ada O'Hara & <Co>,"), "{text}");
    assert!(text.contains("Your user name is ada@contoso.com"));
    assert!(
        html.contains("Hello Ada O&#39;Hara &amp; &lt;Co&gt;,"),
        "{html}"
    );
    let link = link_in(text);
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    let token = link.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64);
    // Sent: the token is gone from the database; even a reveal shows none.
    assert_eq!(stored.status, "sent");
    assert!(stored.text.contains("/activate/REDACTED"));
    let raw = std::fs::read_to_string(inbox.path().join("0001.eml")).unwrap();
    assert!(!raw.contains("s3cret-smtp"));

    // The link: a form (GET does not consume it), errors keep it, two racing POSTs: one wins.
    let app = router(ActivateState {
        db: w.db.clone(),
        crm: Arc::new(w.crm.clone()),
    });
    let path = format!("/activate/{token}");
    let (s, headers, body) = call(&app, "GET", &path, None).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("<form method=\"post\">") && body.contains("ada@contoso.com"));
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(call(&app, "GET", &path, None).await.0, 200);
    let (s, _, body) = call(&app, "POST", &path, Some("password=short&confirm=short")).await;
    assert_eq!(s, 400);
    assert!(body.contains("at least 10 characters"), "{body}");
    let (s, _, body) = call(
        &app,
        "POST",
        &path,
        Some("password=correct+horse+battery&confirm=correct+horse+batterz"),
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.contains("differ"));
    let form = "password=correct+horse+battery&confirm=correct+horse+battery";
    let (a, b) = tokio::join!(
        call(&app, "POST", &path, Some(form)),
        call(&app, "POST", &path, Some(form))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 410], "{} / {}", a.2, b.2);
    assert!(
        w.crm
            .check_password(&w.tenant, "ada@contoso.com", "correct horse battery")
            .await
            .unwrap()
    );
    let (s, headers, body) = call(&app, "GET", &path, None).await;
    assert_eq!(s, 410);
    assert!(body.contains("already used"), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(call(&app, "POST", &path, Some(form)).await.0, 410);
    let (s, _, body) = call(&app, "GET", &format!("/activate/{}", "0".repeat(64)), None).await;
    assert_eq!(s, 404);
    assert!(body.contains("not valid"));

    // An expired link.
    let user = w
        .crm
        .find_user(&w.tenant, "ada@contoso.com")
        .await
        .unwrap()
        .unwrap();
    let mut tx = w.db.begin().await.unwrap();
    let short = MailConfig {
        link_ttl: Duration::ZERO,
        ..mail.clone()
    };
    welcome::enqueue_tx(
        &mut tx,
        MailContext {
            config: &short,
            keys: keys(),
        },
        &w.tenant,
        &welcome::NewUser {
            user_id: "x",
            associate_id: user.associate_id,
            user_name: "ada@contoso.com",
            first_name: "Ada",
            last_name: "O'Hara",
            email: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sealed2 =
        w.db.query_opt(
            "SELECT link_token FROM gw_mail_outbox WHERE link_token IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .unwrap()
        .text(0)
        .unwrap();
    let token2 = outbox::open_link(keys(), "contoso", &sealed2).unwrap();
    let (s, _, body) = call(&app, "GET", &format!("/activate/{token2}"), None).await;
    assert_eq!(s, 410);
    assert!(body.contains("expired"), "{body}");
    assert_eq!(
        call(&app, "POST", &format!("/activate/{token2}"), Some(form))
            .await
            .0,
        410
    );
}

fn notification(to: &str) -> NewMail {
    NewMail {
        tenant: "contoso".into(),
        kind: Kind::Notification,
        from: "Contoso IT <it@contoso.com>".into(),
        to: to.into(),
        subject: "outage test".into(),
        text: "plain".into(),
        html: "<p>html</p>".into(),
        sealed_link: None,
    }
}

async fn make_due(db: &Db) {
    db.execute(
        "UPDATE gw_mail_outbox SET next_attempt_at = $1 WHERE status = 'queued'",
        &[gateway_reference::db::now().into()],
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_an_smtp_outage_and_a_worker_that_died() {
    let inbox = tempfile::tempdir().unwrap();
    let Some(mut server) = SmtpServer::start(inbox.path(), Options::default()).await else {
        return;
    };
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = TenantId::new("contoso").unwrap();
    let smtp_cfg = smtp_config(server.port, TlsMode::None);
    let smtp = Smtp::new(&smtp_cfg).unwrap();
    let mail = MailConfig {
        max_attempts: 3,
        smtp: Some(smtp_cfg),
        ..MailConfig::default()
    };
    // The server is down: the mail stays queued, with a backoff and the error.
    server.stop().await;
    let id = outbox::enqueue(&db, &notification("ops@contoso.com"))
        .await
        .unwrap();
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!((r.sent, r.retried), (0, 1));
    let m = outbox::get(&db, &t, id, None).await.unwrap().unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("queued", 1));
    assert!(m.last_error.is_some());
    assert!(m.next_attempt_at.unwrap() > gateway_reference::db::now());
    // Not due yet: nothing happens.
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!((r.sent, r.retried), (0, 0));
    // The server is back and the backoff has passed: delivered exactly once.
    server.restart().await;
    make_due(&db).await;
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 0);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["headers"]["message-id"], m.message_id);
    assert_eq!(got[0]["headers"]["subject"], "outage test");

    // A worker claims a mail and dies before sending: after its lease the mail goes out once.
    let id2 = outbox::enqueue(&db, &notification("ops@contoso.com"))
        .await
        .unwrap();
    let claimed = outbox::claim(&db, Utc::now(), Duration::from_millis(800), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    drop(claimed);
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 0, "still leased to the dead worker");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(server.messages().len(), 2);
    let m2 = outbox::get(&db, &t, id2, None).await.unwrap().unwrap();
    assert_eq!((m2.status.as_str(), m2.attempts), ("sent", 2));

    // A mail that keeps failing ends as failed, visible; a retry sends it.
    server.stop().await;
    let id3 = outbox::enqueue(&db, &notification("ops@contoso.com"))
        .await
        .unwrap();
    for _ in 0..3 {
        make_due(&db).await;
        worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
            .await
            .unwrap();
    }
    let m3 = outbox::get(&db, &t, id3, None).await.unwrap().unwrap();
    assert_eq!((m3.status.as_str(), m3.attempts), ("failed", 3));
    let failed = ListQuery {
        status: Some("failed".into()),
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(outbox::list(&db, &t, &failed).await.unwrap().len(), 1);
    server.restart().await;
    make_due(&db).await;
    assert_eq!(
        worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
            .await
            .unwrap()
            .sent,
        0,
        "a failed mail waits for an administrator"
    );
    assert!(outbox::retry(&db, &t, id3).await.unwrap());
    let r = worker::deliver_due(&db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(server.messages().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_from_the_sync_deduplicated_with_a_digest_and_a_recovery_mail() {
    let inbox = tempfile::tempdir().unwrap();
    let Some(server) = SmtpServer::start(inbox.path(), Options::default()).await else {
        return;
    };
    let w = world().await;
    let plan = w.plan().await;
    w.crm.set_plan_seats(&w.tenant, plan, 1).await.unwrap();
    w.sync_everyone(plan, false, Some("ops@contoso.com")).await;
    let smtp_cfg = smtp_config(server.port, TlsMode::None);
    let smtp = Smtp::new(&smtp_cfg).unwrap();
    let mail = MailConfig {
        smtp: Some(smtp_cfg),
        ..MailConfig::default()
    };
    let engine = w.engine(mail.clone());
    for i in 0..3 {
        w.post_user(&format!("user{i}@contoso.com"), "User", &format!("N{i}"))
            .await;
    }
    // One seat for three users: two fail in the same batch; one notification.
    let pass = engine.run_tenant(&w.tenant).await.unwrap();
    assert_eq!((pass.written, pass.failed), (1, 2));
    worker::deliver_due(&w.db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["rcpt_tos"], json!(["ops@contoso.com"]));
    let subject = got[0]["headers"]["subject"].as_str().unwrap();
    assert_eq!(
        subject,
        "[scim-gateway contoso] No free seat of a user plan"
    );
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .contains("no free seat of user plan")
    );
    assert_eq!(
        notify::open_conditions(&w.db, &w.tenant).await.unwrap(),
        [Condition::SeatsExhausted]
    );
    // The same condition within the window: counted, not mailed; after it, with the digest.
    let now = Utc::now();
    notify::raise(
        &w.db,
        &mail,
        &w.tenant,
        &Condition::SeatsExhausted,
        "again",
        now,
    )
    .await
    .unwrap();
    worker::deliver_due(&w.db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 1);
    let later = now + chrono::Duration::minutes(61);
    assert_eq!(notify::tick(&w.db, &mail, later).await.unwrap(), 1);
    worker::deliver_due(&w.db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    let got = server.messages();
    assert_eq!(got.len(), 2);
    let digest = got[1]["text"].as_str().unwrap();
    assert!(digest.contains("further occurrence"), "{digest}");
    assert!(digest.contains("again"), "{digest}");
    // Seats are added: the users are written, the condition clears, one recovery mail.
    w.crm.set_plan_seats(&w.tenant, plan, 10).await.unwrap();
    engine.sync_all(&w.tenant).await.unwrap();
    let pass = engine.run_tenant(&w.tenant).await.unwrap();
    assert_eq!((pass.written, pass.failed), (2, 0));
    worker::deliver_due(&w.db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    let got = server.messages();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2]["headers"]["subject"],
        "[scim-gateway contoso] Resolved: No free seat of a user plan"
    );
    assert!(
        notify::open_conditions(&w.db, &w.tenant)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing more to say.
    engine.run_tenant(&w.tenant).await.unwrap();
    worker::deliver_due(&w.db, sender(&smtp, &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_claim_is_exclusive_on_postgres() {
    let Some((_, db)) = gateway_reference::testing::postgres("mail_outbox").await else {
        return;
    };
    let t = TenantId::new("contoso").unwrap();
    for i in 0..60 {
        outbox::enqueue(&db, &notification(&format!("ops{i}@contoso.com")))
            .await
            .unwrap();
    }
    // Four workers claim concurrently: every mail exactly once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = outbox::claim(&db, Utc::now(), Duration::from_secs(60), 7)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                for c in &batch {
                    outbox::mark_sent(&db, c, Utc::now()).await.unwrap();
                }
                mine.extend(batch.into_iter().map(|c| c.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (60, 60));
    // A lease that runs out makes the mail claimable again; listing and filters work.
    let id = outbox::enqueue(&db, &notification("late@contoso.com"))
        .await
        .unwrap();
    let now = Utc::now();
    assert_eq!(
        outbox::claim(&db, now, Duration::from_secs(5), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        outbox::claim(&db, now, Duration::from_secs(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = outbox::claim(
        &db,
        now + chrono::Duration::seconds(6),
        Duration::from_secs(5),
        10,
    )
    .await
    .unwrap();
    assert_eq!((again[0].id, again[0].attempts), (id, 2));
    let q = ListQuery {
        status: Some("sent".into()),
        kind: Some(Kind::Notification),
        limit: 100,
        offset: 0,
    };
    assert_eq!(outbox::list(&db, &t, &q).await.unwrap().len(), 60);
    // Welcome links and notification state on PostgreSQL.
    let mail = MailConfig::default();
    let mut tx = db.begin().await.unwrap();
    welcome::enqueue_tx(
        &mut tx,
        MailContext {
            config: &mail,
            keys: keys(),
        },
        &t,
        &welcome::NewUser {
            user_id: "u1",
            associate_id: 1,
            user_name: "ada@contoso.com",
            first_name: "Ada",
            last_name: "L",
            email: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sealed = db
        .query_opt(
            "SELECT link_token FROM gw_mail_outbox WHERE kind = 'welcome'",
            &[],
        )
        .await
        .unwrap()
        .unwrap()
        .text(0)
        .unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    let token = outbox::open_link(keys(), "contoso", &sealed).unwrap();
    assert!(
        welcome::consume(&db, &token, Utc::now())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        welcome::consume(&db, &token, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    let c = Condition::CredentialsRefused;
    assert_eq!(
        notify::raise(&db, &mail, &t, &c, "401", Utc::now())
            .await
            .unwrap(),
        notify::Raised::Mailed
    );
    assert_eq!(
        notify::raise(&db, &mail, &t, &c, "401", Utc::now())
            .await
            .unwrap(),
        notify::Raised::Suppressed
    );
    assert!(notify::clear(&db, &mail, &t, &c).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_fails_for_good_and_a_retry_delivers() {
    let inbox = tempfile::tempdir().unwrap();
    let options = Options {
        auth: Some(("gateway".into(), "right".into())),
        ..Options::default()
    };
    let Some(server) = SmtpServer::start(inbox.path(), options).await else {
        return;
    };
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = TenantId::new("contoso").unwrap();
    let mut cfg = smtp_config(server.port, TlsMode::None);
    cfg.username = Some("gateway".into());
    cfg.password = Some(Secret("wrong".into()));
    let mail = MailConfig {
        smtp: Some(cfg.clone()),
        ..MailConfig::default()
    };
    // A refused login (535) is permanent: failed at once, with the server's answer.
    let id = outbox::enqueue(&db, &notification("ops@contoso.com"))
        .await
        .unwrap();
    let r = worker::deliver_due(&db, sender(&Smtp::new(&cfg).unwrap(), &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 1));
    let m = outbox::get(&db, &t, id, None).await.unwrap().unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("failed", 1));
    let error = m.last_error.unwrap();
    assert!(error.contains("535") && !error.contains("wrong"), "{error}");
    assert!(server.messages().is_empty());
    // The right password: delivered after a retry.
    cfg.password = Some(Secret("right".into()));
    assert!(outbox::retry(&db, &t, id).await.unwrap());
    let r = worker::deliver_due(&db, sender(&Smtp::new(&cfg).unwrap(), &mail), worker::LEASE)
        .await
        .unwrap();
    assert_eq!(r.sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["auth_user"], "gateway");
}
