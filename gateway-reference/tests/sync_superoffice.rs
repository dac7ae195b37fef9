//! The sync into a tenant on SuperOffice (the fake): an initial cycle creates exactly the
//! expected users with their plans and roles; an outage (503) stops the pass, is logged as
//! retrying and is made up later without duplicates; a deactivation retires the user and
//! frees its licence; a plan without seats fails those users only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::crm::connections;
use gateway_reference::crm::superoffice::fake::{FakeSuperOffice, licences};
use http_body_util::BodyExt;
use scim_server::TenantId;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Env {
    gw: Gateway,
    app: axum::Router,
    admin: String,
    scim: String,
    fake: FakeSuperOffice,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn call(&self, m: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(m)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
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

    async fn settle(&self) {
        for _ in 0..50 {
            let pass = self.gw.sync().run_tenant(&self.tenant).await.unwrap();
            if pass.changes == 0 && pass.written == 0 && !pass.crm_unavailable {
                return;
            }
        }
        panic!("the sync did not settle");
    }

    fn so_user(&self, name: &str) -> gateway_reference::crm::superoffice::model::UserEntity {
        self.fake
            .users()
            .into_iter()
            .find(|u| u.user_name == name)
            .unwrap_or_else(|| panic!("{name} is not in SuperOffice"))
    }
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let partial = Partial {
        data_dir: Some(dir.path().to_path_buf()),
        ..Partial::default()
    };
    let gw = Gateway::open(&Config::resolve(partial, None, |_| None).unwrap())
        .await
        .unwrap();
    let first = gw.first_start().await.unwrap().unwrap();
    let fake = FakeSuperOffice::start().await;
    let tenant = TenantId::new("demo").unwrap();
    let conn = fake.connection();
    connections::save(gw.db(), gw.crm().keys(), &tenant, &conn, "test")
        .await
        .unwrap();
    gw.seed_crm().await.unwrap();
    let app = gw.router("http://gw.test").unwrap();
    Env {
        gw,
        app,
        admin: first.admin_token,
        scim: first.token,
        fake,
        tenant,
        _dir: dir,
    }
}

fn user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@contoso.com"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "emails": [{"value": format!("user{i}@contoso.com"), "primary": true}],
        "active": true
    })
}

#[tokio::test]
async fn a_cycle_an_outage_and_a_deactivation_on_superoffice() {
    let e = env().await;
    // Rules are validated against SuperOffice's catalogue (its licence ids).
    let rules = json!({"rules": [
        {"id": "all", "name": "Everyone", "scope": {"kind": "allUsers"},
         "settings": {"userPlan": {"value": {"kind": "plan", "id": licences::MARKETING}, "apply": "always"},
                      "role": {"value": 2, "apply": "always"},
                      "ownerCompany": {"value": 101, "apply": "always"}}}
    ]});
    let (s, body) = e
        .call("PUT", "/admin/tenants/demo/rules", &e.admin, Some(rules))
        .await;
    assert_eq!(s, 200, "{body}");
    let bad = json!({"rules": [{"id": "x", "name": "x", "scope": {"kind": "allUsers"},
        "settings": {"userPlan": {"value": {"kind": "plan", "id": 1}, "apply": "always"}}}]});
    let (s, body) = e
        .call("PUT", "/admin/tenants/demo/rules", &e.admin, Some(bad))
        .await;
    assert_eq!(
        s, 400,
        "the embedded catalogue's plan 1 is no SuperOffice licence: {body}"
    );
    let (s, _) = e
        .call(
            "PUT",
            "/admin/tenants/demo/settings",
            &e.admin,
            Some(json!({"userSyncActive": true})),
        )
        .await;
    assert_eq!(s, 200);

    let mut ids = Vec::new();
    for i in 0..12 {
        let (s, body) = e
            .call("POST", "/scim/demo/Users", &e.scim, Some(user(i)))
            .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    e.settle().await;
    // Marketing has 10 seats: 10 users hold it; 2 failed for want of a seat (they, not the
    // cycle, and nothing was created for them).
    let users = e.fake.users();
    assert_eq!(users.len(), 10);
    assert_eq!(e.fake.creates(), 10);
    let holding = users
        .iter()
        .filter(|u| u.plan() == Some(licences::MARKETING))
        .count();
    assert_eq!(holding, 10);
    assert!(
        users
            .iter()
            .all(|u| u.role.as_ref().map(|r| r.id) == Some(2))
    );
    let u0 = e.so_user("user0@contoso.com");
    assert_eq!(u0.person.as_ref().unwrap().lastname, "Family0");
    assert_eq!(
        u0.person
            .as_ref()
            .unwrap()
            .contact
            .as_ref()
            .unwrap()
            .contact_id,
        101
    );
    let (_, log) = e
        .call(
            "GET",
            "/admin/tenants/demo/log?outcome=failure",
            &e.admin,
            None,
        )
        .await;
    let failures = log["entries"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f["reason"].as_str().unwrap_or("").contains("no free seat")),
        "{log}"
    );

    // An outage: the pass stops, the change waits, nothing is lost.
    e.fake.fail_next(10_000, 503);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": "Changed"}]});
    let (s, body) = e
        .call(
            "PATCH",
            &format!("/scim/demo/Users/{}", ids[0]),
            &e.scim,
            Some(patch),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let pass = e.gw.sync().run_tenant(&e.tenant).await.unwrap();
    assert!(pass.crm_unavailable);
    e.fake.recover();
    assert_eq!(
        e.so_user("user0@contoso.com").person.unwrap().lastname,
        "Family0"
    );
    let (_, log) = e
        .call(
            "GET",
            "/admin/tenants/demo/log?outcome=retrying",
            &e.admin,
            None,
        )
        .await;
    assert!(!log["entries"].as_array().unwrap().is_empty(), "{log}");
    // Due again after the sync's backoff (2 s).
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    e.settle().await;
    assert_eq!(
        e.so_user("user0@contoso.com").person.unwrap().lastname,
        "Changed"
    );
    assert_eq!(e.fake.creates(), 10, "no duplicate after the outage");

    // Deactivated in SCIM: retired in SuperOffice, its seat freed.
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (s, _) = e
        .call(
            "PATCH",
            &format!("/scim/demo/Users/{}", ids[1]),
            &e.scim,
            Some(off),
        )
        .await;
    assert_eq!(s, 200);
    e.settle().await;
    let u1 = e.so_user("user1@contoso.com");
    assert!(u1.deleted);
    assert_eq!(u1.plan(), None);
    let (_, catalog) = e
        .call("GET", "/admin/tenants/demo/crm/catalog", &e.admin, None)
        .await;
    let marketing = catalog["userPlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == licences::MARKETING)
        .unwrap()
        .clone();
    assert_eq!(
        (marketing["inUse"].clone(), marketing["free"].clone()),
        (json!(9), json!(1))
    );
}
