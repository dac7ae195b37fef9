//! Per-tenant CRM backends in one gateway: a tenant on the embedded CRM beside one on
//! SuperOffice (the fake), the connection through the admin API (credentials encrypted at
//! rest, never returned), Test Connection, reloads, and demo seeding only on the embedded
//! CRM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::crm::connections::{self, CrmConnection, CrmKind, Keys, Secrets};
use gateway_reference::crm::superoffice::fake::{
    ACCESS_TOKEN, CUSTOMER_ID, FakeSuperOffice, licences,
};
use gateway_reference::crm::{Catalog, Crm, CrmError, CrmRouter, Person, UserSettings};
use gateway_reference::db::Value as DbValue;
use gateway_reference::tenants;
use http_body_util::BodyExt;
use scim_server::TenantId;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn open(dir: &std::path::Path) -> Gateway {
    let partial = Partial {
        data_dir: Some(dir.to_path_buf()),
        ..Partial::default()
    };
    let config = Config::resolve(partial, None, |_| None).unwrap();
    Gateway::open(&config).await.unwrap()
}

async fn call(
    app: &axum::Router,
    m: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = http::Request::builder()
        .method(m)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn person(name: &str) -> Person {
    Person {
        user_name: name.into(),
        first_name: "F".into(),
        last_name: "L".into(),
        email: None,
    }
}

fn tid(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

#[tokio::test]
async fn embedded_and_superoffice_tenants_in_one_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gw = open(dir.path()).await;
    let first = gw.first_start().await.unwrap().unwrap();
    let admin = first.admin_token.clone();
    tenants::create(gw.db(), "alpha").await.unwrap();
    gw.seed_crm().await.unwrap();
    let app = gw.router("http://gw.test").unwrap();
    let fake = FakeSuperOffice::start().await;
    let (demo, alpha) = (tid("demo"), tid("alpha"));
    let conn = "/admin/tenants/demo/crm/connection";

    // The default: the embedded CRM, nothing stored.
    let (s, body) = call(&app, "GET", conn, &admin, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["kind"], "embedded");
    let key_file = dir.path().join(connections::KEY_FILE);
    assert!(!key_file.exists(), "no credential yet, so no key");

    // Point demo at SuperOffice.
    let put = json!({
        "kind": "superoffice", "baseUrl": fake.base_url(), "customerId": CUSTOMER_ID,
        "accessToken": ACCESS_TOKEN
    });
    let (s, body) = call(&app, "PUT", conn, &admin, Some(put)).await;
    assert_eq!(s, 200, "{body}");
    assert!(!body.contains(ACCESS_TOKEN), "{body}");
    let view = json_of(&body);
    assert_eq!(view["kind"], "superoffice");
    assert_eq!(view["accessTokenSet"], true);
    assert!(key_file.exists());
    let (s, body) = call(&app, "GET", conn, &admin, None).await;
    assert_eq!(s, 200);
    assert!(!body.contains(ACCESS_TOKEN), "{body}");
    assert_eq!(json_of(&body)["customerId"], CUSTOMER_ID);

    // At rest: sealed, not the token.
    let rows = gw
        .db()
        .query("SELECT * FROM gw_crm_connections", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let mut sealed = false;
    for cell in rows[0].cells() {
        if let DbValue::Text(t) = cell {
            assert!(!t.contains(ACCESS_TOKEN), "plain token at rest: {t}");
            sealed |= t.starts_with("v1:");
        }
    }
    assert!(sealed);

    // Test Connection.
    let (s, body) = call(&app, "POST", "/admin/tenants/demo/crm/test", &admin, None).await;
    assert_eq!(s, 200, "{body}");
    let r = json_of(&body);
    assert_eq!(
        (r["ok"].clone(), r["kind"].clone()),
        (json!(true), json!("superoffice"))
    );
    assert_eq!(r["counts"]["userPlans"], 4);
    let (_, body) = call(&app, "POST", "/admin/tenants/alpha/crm/test", &admin, None).await;
    assert_eq!(json_of(&body)["kind"], "embedded");
    assert_eq!(json_of(&body)["ok"], true);

    // Each tenant's calls go to its own CRM.
    let crm = gw.crm();
    let plans = |c: Catalog| c.user_plans.iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        plans(crm.catalog(&demo).await.unwrap()),
        [
            licences::SALES_PREMIUM,
            licences::SALES_ESSENTIALS,
            licences::SERVICE,
            licences::MARKETING
        ]
    );
    assert_eq!(plans(crm.catalog(&alpha).await.unwrap()), [1, 2, 3, 4]);
    let so_settings = UserSettings {
        user_plan: Some(Some(licences::SERVICE)),
        ..UserSettings::default()
    };
    let a = crm
        .create_user(&demo, &person("a@demo.com"), &so_settings)
        .await
        .unwrap();
    let b = crm
        .create_user(&alpha, &person("b@alpha.com"), &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(fake.users().len(), 1);
    assert_eq!(fake.users()[0].user_name, "a@demo.com");
    assert_eq!(crm.find_user(&demo, "b@alpha.com").await.unwrap(), None);
    assert_eq!(crm.find_user(&alpha, "a@demo.com").await.unwrap(), None);
    assert_eq!(
        gw.embedded_crm()
            .get_user(&alpha, b.associate_id)
            .await
            .unwrap(),
        b
    );
    assert!(matches!(
        crm.activation(&demo).await.unwrap(),
        gateway_reference::crm::Activation::Redirect { .. }
    ));
    assert_eq!(
        crm.activation(&alpha).await.unwrap(),
        gateway_reference::crm::Activation::SetPassword
    );
    assert_eq!(crm.get_user(&demo, a.associate_id).await.unwrap(), a);

    // Changing the URL keeps the stored token; bad values are 400 and change nothing.
    let keep = json!({"kind": "superoffice", "baseUrl": format!("{}/", fake.base_url()), "customerId": CUSTOMER_ID});
    let (s, body) = call(&app, "PUT", conn, &admin, Some(keep)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["accessTokenSet"], true);
    for bad in [
        json!({"kind": "superoffice", "baseUrl": "ftp://x", "customerId": "C1", "accessToken": "t"}),
        json!({"kind": "superoffice", "baseUrl": fake.base_url(), "customerId": CUSTOMER_ID, "auth": "soticket"}),
        json!({"kind": "superoffice", "baseUrl": fake.base_url()}),
        json!({"kind": "sap"}),
        json!({"kind": "superoffice", "token": "x"}),
    ] {
        let (s, body) = call(&app, "PUT", conn, &admin, Some(bad.clone())).await;
        assert!((400..500).contains(&s), "{bad}: {s} {body}");
    }
    assert_eq!(crm.kind(&demo).await.unwrap(), CrmKind::Superoffice);
    crm.get_user(&demo, a.associate_id).await.unwrap();

    // A wrong token: Test Connection says so, and the CRM calls are Unauthorized.
    let wrong = json!({"kind": "superoffice", "baseUrl": fake.base_url(), "customerId": CUSTOMER_ID, "accessToken": "wrong"});
    assert_eq!(call(&app, "PUT", conn, &admin, Some(wrong)).await.0, 200);
    let (_, body) = call(&app, "POST", "/admin/tenants/demo/crm/test", &admin, None).await;
    let r = json_of(&body);
    assert_eq!(
        (r["ok"].clone(), r["problem"].clone()),
        (json!(false), json!("credentialsRefused"))
    );
    assert!(matches!(
        crm.catalog(&demo).await,
        Err(CrmError::Unauthorized(_))
    ));

    // Back to the embedded CRM: seeded, credentials dropped.
    let (s, body) = call(&app, "PUT", conn, &admin, Some(json!({"kind": "embedded"}))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["accessTokenSet"], false);
    assert_eq!(plans(crm.catalog(&demo).await.unwrap()), [1, 2, 3, 4]);

    // A tenant-scoped token cannot touch another tenant's connection.
    let scoped = tenants::create_admin_token(gw.db(), Some(&alpha), "t")
        .await
        .unwrap();
    assert_eq!(call(&app, "GET", conn, &scoped, None).await.0, 403);
    assert_eq!(
        call(&app, "POST", "/admin/tenants/demo/crm/test", &scoped, None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn seeding_skips_superoffice_tenants_and_changes_reload() {
    let dir = tempfile::tempdir().unwrap();
    let gw = open(dir.path()).await;
    let fake = FakeSuperOffice::start().await;
    tenants::create(gw.db(), "beta").await.unwrap();
    tenants::create(gw.db(), "gamma").await.unwrap();
    let (beta, gamma) = (tid("beta"), tid("gamma"));
    let so = fake.connection();
    connections::save(gw.db(), gw.crm().keys(), &beta, &so, "test")
        .await
        .unwrap();
    gw.seed_crm().await.unwrap();
    assert_eq!(
        gw.embedded_crm().catalog(&beta).await.unwrap(),
        Catalog::default()
    );
    assert_eq!(
        gw.embedded_crm()
            .catalog(&gamma)
            .await
            .unwrap()
            .user_plans
            .len(),
        4
    );

    // Saved by another process (no invalidate): picked up within RELOAD_EVERY.
    assert_eq!(gw.crm().kind(&gamma).await.unwrap(), CrmKind::Embedded);
    connections::save(gw.db(), gw.crm().keys(), &gamma, &so, "other process")
        .await
        .unwrap();
    tokio::time::sleep(
        gateway_reference::crm::router::RELOAD_EVERY + std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(gw.crm().kind(&gamma).await.unwrap(), CrmKind::Superoffice);

    // The same backend (and breaker) is kept while the connection is unchanged.
    let first = gw.crm().backend(&beta).await.unwrap();
    tokio::time::sleep(
        gateway_reference::crm::router::RELOAD_EVERY + std::time::Duration::from_millis(100),
    )
    .await;
    let again = gw.crm().backend(&beta).await.unwrap();
    match (first, again) {
        (
            gateway_reference::crm::router::Backend::SuperOffice(a),
            gateway_reference::crm::router::Backend::SuperOffice(b),
        ) => assert!(Arc::ptr_eq(&a, &b)),
        other => panic!("{other:?}"),
    }

    // Another key cannot open the credentials: critical, not a silent fallback.
    let stranger = CrmRouter::new(gw.db().clone(), gw.embedded_crm().clone(), Keys::random());
    let err = stranger.catalog(&beta).await.unwrap_err();
    assert!(matches!(err, CrmError::Unauthorized(_)), "{err:?}");
    assert!(err.is_critical());
}

#[tokio::test]
async fn connections_round_trip_on_postgres() {
    let Some((_storage, db)) = gateway_reference::testing::postgres("gw_conn").await else {
        return;
    };
    tenants::create(&db, "pg").await.unwrap();
    let t = tid("pg");
    let key = Keys::random();
    assert_eq!(
        connections::load(&db, &key, &t).await.unwrap(),
        CrmConnection::default()
    );
    assert_eq!(connections::version(&db, &t).await.unwrap(), None);
    let mut c = CrmConnection {
        kind: CrmKind::Superoffice,
        base_url: Some("https://online.superoffice.com".into()),
        customer_id: Some("Cust9".into()),
        auth: connections::AuthKind::Soticket,
        secrets: Secrets {
            ticket: Some("7T:secret-ticket".into()),
            app_token: Some("secret-app-token".into()),
            ..Secrets::default()
        },
        ..CrmConnection::default()
    };
    connections::save(&db, &key, &t, &c, "test").await.unwrap();
    let v1 = connections::version(&db, &t).await.unwrap();
    let loaded = connections::load(&db, &key, &t).await.unwrap();
    c.updated_at.clone_from(&loaded.updated_at);
    assert_eq!(loaded, c);
    connections::save(&db, &key, &t, &c, "test").await.unwrap();
    assert_ne!(connections::version(&db, &t).await.unwrap(), v1);
    let rows = db
        .query("SELECT * FROM gw_crm_connections", &[])
        .await
        .unwrap();
    for cell in rows[0].cells() {
        if let DbValue::Text(text) = cell {
            assert!(!text.contains("secret"), "{text}");
        }
    }
    assert_eq!(
        connections::kind(&db, &t).await.unwrap(),
        CrmKind::Superoffice
    );
}

/// The system user flow through the admin API: the new fields are accepted, never
/// returned, sealed at rest; the backend signs in once for many calls; a bad key is a 400.
#[tokio::test]
async fn system_user_connection_through_the_admin_api() {
    use gateway_reference::crm::superoffice::fake::{APP_TOKEN, SYSTEM_USER_TOKEN};
    let dir = tempfile::tempdir().unwrap();
    let gw = open(dir.path()).await;
    let admin = gw.first_start().await.unwrap().unwrap().admin_token;
    gw.seed_crm().await.unwrap();
    let app = gw.router("http://gw.test").unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/superoffice/");
    let read = |name: &str| std::fs::read_to_string(format!("{fixtures}{name}")).unwrap();
    let fake = FakeSuperOffice::start().await;
    fake.enable_sign_in(
        &read("test-only-partner-key.pub.pem"),
        &read("test-only-superoffice-signing-key.pem"),
    );
    let key = read("test-only-partner-key.pkcs1.pem");
    let conn = "/admin/tenants/demo/crm/connection";
    let mut put = json!({
        "kind": "superoffice", "baseUrl": fake.base_url(), "customerId": CUSTOMER_ID,
        "auth": "system-user", "environment": fake.base_url(),
        "systemUserToken": SYSTEM_USER_TOKEN, "appToken": APP_TOKEN,
        "privateKey": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "jwtCertificate": read("test-only-superoffice-signing-cert.pem"),
    });
    let (s, body) = call(&app, "PUT", conn, &admin, Some(put.clone())).await;
    assert_eq!(s, 400, "an unusable key: {body}");
    put["privateKey"] = json!(key);
    let (s, body) = call(&app, "PUT", conn, &admin, Some(put)).await;
    assert_eq!(s, 200, "{body}");
    let (_, body) = call(&app, "GET", conn, &admin, None).await;
    for secret in [SYSTEM_USER_TOKEN, APP_TOKEN, "PRIVATE KEY", &key[40..80]] {
        assert!(!body.contains(secret), "{secret} in {body}");
    }
    let v = json_of(&body);
    assert_eq!(v["auth"], "system-user");
    assert_eq!(
        (v["systemUserTokenSet"].clone(), v["privateKeySet"].clone()),
        (json!(true), json!(true))
    );
    let rows = gw
        .db()
        .query("SELECT * FROM gw_crm_connections", &[])
        .await
        .unwrap();
    for cell in rows[0].cells() {
        if let DbValue::Text(t) = cell {
            assert!(
                !t.contains(SYSTEM_USER_TOKEN) && !t.contains(&key[40..80]),
                "{t}"
            );
        }
    }
    let (s, body) = call(&app, "POST", "/admin/tenants/demo/crm/test", &admin, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["ok"], true, "{body}");
    let crm = gw.crm();
    for _ in 0..3 {
        crm.catalog(&tid("demo")).await.unwrap();
    }
    // Test Connection signs in with its own client; the backend once for its calls.
    assert_eq!(fake.system_user_sign_ins(), 2);
}
