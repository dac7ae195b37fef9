//! End to end: an Entra ID initial cycle (1,000 users, 20 groups, their memberships) through
//! the real SCIM server on SQLite files, the sync, the rules and the embedded CRM; then the
//! incremental changes Entra sends (attribute update, group move, disable, re-enable,
//! delete), checking after each step the CRM, the preview and the provisioning log. The
//! requests are shaped as Entra sends them (capitalised `op`s, booleans as strings, member
//! adds in batches, Microsoft's group schema URI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use gateway_reference::crm::embedded::EmbeddedCrm;
use gateway_reference::crm::{Activation, Catalog, Crm, CrmError, CrmUser, Person, UserSettings};
use gateway_reference::db::Db;
use gateway_reference::preview::preview;
use gateway_reference::rules::{
    Apply, PlanChoice, Rule, RuleScope, RuleSet, RuleSettings, Setting, versions,
};
use gateway_reference::settings::{self, TenantSettings};
use gateway_reference::sync::SyncEngine;
use http_body_util::{BodyExt, Full};
use scim_server::auth::BearerTokens;
use scim_server::{PathPrefixTenants, ScimServer, TenantId};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "entra-secret-token-0123456789abcdef";
const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

struct Harness {
    server: ScimServer,
    db: Db,
    crm: Arc<FlakyCrm>,
    engine: SyncEngine,
    tenant: TenantId,
    catalog: Catalog,
    _dir: tempfile::TempDir,
}

/// The embedded CRM, which can be made unavailable (an outage) on demand.
struct FlakyCrm {
    inner: EmbeddedCrm,
    down: AtomicBool,
}

impl FlakyCrm {
    fn check(&self) -> Result<(), CrmError> {
        if self.down.load(Ordering::SeqCst) {
            Err(CrmError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Crm for FlakyCrm {
    async fn catalog(&self, t: &TenantId) -> Result<Catalog, CrmError> {
        self.check()?;
        self.inner.catalog(t).await
    }
    async fn find_user(&self, t: &TenantId, n: &str) -> Result<Option<CrmUser>, CrmError> {
        self.check()?;
        self.inner.find_user(t, n).await
    }
    async fn get_user(&self, t: &TenantId, id: i64) -> Result<CrmUser, CrmError> {
        self.check()?;
        self.inner.get_user(t, id).await
    }
    async fn create_user(
        &self,
        t: &TenantId,
        p: &Person,
        s: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.check()?;
        self.inner.create_user(t, p, s).await
    }
    async fn update_user(
        &self,
        t: &TenantId,
        id: i64,
        p: &Person,
        s: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.check()?;
        self.inner.update_user(t, id, p, s).await
    }
    async fn set_retired(&self, t: &TenantId, id: i64, r: bool) -> Result<CrmUser, CrmError> {
        self.check()?;
        self.inner.set_retired(t, id, r).await
    }
    async fn list_users(
        &self,
        t: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError> {
        self.check()?;
        self.inner.list_users(t, after, limit).await
    }
    async fn activation(&self, t: &TenantId) -> Result<Activation, CrmError> {
        self.check()?;
        self.inner.activation(t).await
    }
    async fn set_password(&self, t: &TenantId, id: i64, password: &str) -> Result<(), CrmError> {
        self.check()?;
        self.inner.set_password(t, id, password).await
    }
}

fn plan(c: &Catalog, name: &str) -> i64 {
    c.user_plans.iter().find(|p| p.name == name).unwrap().id
}
fn role(c: &Catalog, name: &str) -> i64 {
    c.roles.iter().find(|p| p.name == name).unwrap().id
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage =
        scim_server::storage::open(&format!("sqlite:{}", dir.path().join("scim.db").display()))
            .await
            .unwrap();
    let db = Db::open_sqlite(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    harness_on(storage, db, dir).await
}

async fn harness_on(
    storage: Arc<dyn scim_server::Storage>,
    db: Db,
    dir: tempfile::TempDir,
) -> Harness {
    let tenant = TenantId::new("contoso").unwrap();
    db.execute(
        "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, 'Contoso', $2)",
        &["contoso".into(), gateway_reference::db::now().into()],
    )
    .await
    .unwrap();
    let embedded = EmbeddedCrm::new(db.clone());
    embedded.seed_demo(&tenant).await.unwrap();
    let crm = Arc::new(FlakyCrm {
        inner: embedded,
        down: AtomicBool::new(false),
    });
    let catalog = crm.catalog(&tenant).await.unwrap();
    let tokens = BearerTokens::new();
    tokens.add(tenant.clone(), TOKEN).unwrap();
    let server = ScimServer::builder()
        .storage(storage.clone())
        .authenticator(tokens)
        .tenant_resolver(PathPrefixTenants)
        .base_path("/scim")
        .build()
        .unwrap();
    let engine = SyncEngine::new(db.clone(), storage, server.registry().clone(), crm.clone());
    Harness {
        server,
        db,
        crm,
        engine,
        tenant,
        catalog,
        _dir: dir,
    }
}

impl Harness {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/contoso{path}"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/scim+json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .unwrap();
        let resp = self.server.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    /// Saves the test rules and turns User Sync Active on.
    async fn start_syncing(&self) {
        versions::save(&self.db, &self.tenant, &rules(&self.catalog), "test", None)
            .await
            .unwrap();
        self.sync_active(true).await;
    }

    async fn sync_active(&self, on: bool) {
        settings::save(
            &self.db,
            &self.tenant,
            &TenantSettings {
                user_sync_active: on,
                ..TenantSettings::default()
            },
            "test",
        )
        .await
        .unwrap();
    }

    /// Runs the sync until a pass neither ingests nor writes anything.
    async fn settle(&self) {
        for _ in 0..100 {
            let pass = self.engine.run_tenant(&self.tenant).await.unwrap();
            if pass.changes == 0 && pass.written == 0 {
                return;
            }
        }
        panic!("the sync did not settle");
    }

    async fn crm_user(&self, user_name: &str) -> Option<CrmUser> {
        self.crm
            .inner
            .find_user(&self.tenant, user_name)
            .await
            .unwrap()
    }

    async fn crm_users(&self) -> Vec<CrmUser> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .crm
                .inner
                .list_users(&self.tenant, after, 500)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.associate_id;
            out.extend(page);
        }
        out
    }

    async fn log_count(&self, action: &str) -> i64 {
        self.db
            .query_opt(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM gw_log WHERE tenant = 'contoso' AND action = $1",
                &[action.into()],
            )
            .await
            .unwrap()
            .unwrap()
            .int(0)
            .unwrap()
    }

    async fn preview_counts(&self) -> (usize, usize) {
        let dir = gateway_reference::directory::users(&self.db, &self.tenant, true)
            .await
            .unwrap();
        let rules = self.engine.rules(&self.tenant).await.unwrap();
        let p = preview(&dir, &rules);
        (p.users_received, p.users_synced)
    }
}

fn user_body(i: usize) -> Value {
    let dept = if i % 4 == 0 { "Sales" } else { "Engineering" };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("00000000-0000-0000-0000-{i:012}"),
        "userName": format!("user{i}@contoso.com"),
        "active": true,
        "displayName": format!("User {i}"),
        "name": {"givenName": "User", "familyName": format!("Number{i}")},
        "emails": [{"primary": true, "type": "work", "value": format!("user{i}@contoso.com")}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": dept}
    })
}

/// Rule set: group 0 ("Sales team") gets Sales Premium always and the Sales Manager role;
/// everyone except group 19 ("Contractors") gets Sales Essentials if no earlier rule set a
/// plan, and the User role if not set.
fn rules(c: &Catalog) -> RuleSet {
    RuleSet {
        rules: vec![
            Rule {
                id: "sales".into(),
                name: "Sales team".into(),
                enabled: true,
                scope: RuleScope::InGroup {
                    group: "group-ext-0".into(),
                },
                condition: None,
                settings: RuleSettings {
                    user_plan: Some(Setting {
                        value: PlanChoice::Plan {
                            id: plan(c, "Sales Premium"),
                        },
                        apply: Apply::Always,
                    }),
                    role: Some(Setting {
                        value: role(c, "Sales Manager"),
                        apply: Apply::Always,
                    }),
                    ..RuleSettings::default()
                },
            },
            Rule {
                id: "everyone".into(),
                name: "Everyone but contractors".into(),
                enabled: true,
                scope: RuleScope::NotInGroup {
                    group: "group-ext-19".into(),
                },
                condition: None,
                settings: RuleSettings {
                    user_plan: Some(Setting {
                        value: PlanChoice::Plan {
                            id: plan(c, "Sales Essentials"),
                        },
                        apply: Apply::IfNotSet,
                    }),
                    role: Some(Setting {
                        value: role(c, "User"),
                        apply: Apply::IfNotSet,
                    }),
                    ..RuleSettings::default()
                },
            },
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_initial_cycle_then_incremental_changes() {
    let h = harness().await;
    // Seats for everyone in the test.
    for p in &h.catalog.user_plans {
        h.crm
            .inner
            .set_plan_seats(&h.tenant, p.id, 2000)
            .await
            .unwrap();
    }
    h.start_syncing().await;

    // Entra's Test Connection.
    let (s, v) = h
        .call("GET", "/Users?filter=userName+eq+%22f9c1e2d4%22", None)
        .await;
    assert_eq!((s, v["totalResults"].clone()), (200, json!(0)));

    // Initial cycle: users, then groups, then members in batches.
    let mut ids = Vec::new();
    for i in 0..1000 {
        let (s, v) = h.call("POST", "/Users", Some(user_body(i))).await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let mut groups = Vec::new();
    for g in 0..20 {
        let (s, v) = h
            .call(
                "POST",
                "/Groups",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", MS_GROUP],
                    "externalId": format!("group-ext-{g}"),
                    "displayName": if g == 0 { "Sales team".to_string() }
                                   else if g == 19 { "Contractors".to_string() }
                                   else { format!("Group {g}") },
                    "members": []
                })),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        groups.push(v["id"].as_str().unwrap().to_string());
    }
    // User i is in group i % 20.
    for (g, gid) in groups.iter().enumerate() {
        let members: Vec<&String> = ids.iter().skip(g).step_by(20).collect();
        for chunk in members.chunks(25) {
            let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
            let (s, v) = h
                .call(
                    "PATCH",
                    &format!("/Groups/{gid}"),
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Add", "path": "members", "value": value}]
                    })),
                )
                .await;
            assert!(s == 204 || s == 200, "{s} {v}");
        }
    }
    h.settle().await;

    // 50 users in group 0 (Premium), 50 contractors (not synced), 900 others (Essentials).
    let crm = h.crm_users().await;
    assert_eq!(crm.len(), 950);
    let premium = plan(&h.catalog, "Sales Premium");
    let essentials = plan(&h.catalog, "Sales Essentials");
    assert_eq!(
        crm.iter().filter(|u| u.user_plan == Some(premium)).count(),
        50
    );
    assert_eq!(
        crm.iter()
            .filter(|u| u.user_plan == Some(essentials))
            .count(),
        900
    );
    let u0 = h.crm_user("user0@contoso.com").await.unwrap();
    assert_eq!(u0.role, Some(role(&h.catalog, "Sales Manager")));
    assert_eq!(
        (u0.first_name.as_str(), u0.last_name.as_str()),
        ("User", "Number0")
    );
    assert!(h.crm_user("user19@contoso.com").await.is_none());
    assert_eq!(h.preview_counts().await, (1000, 950));
    assert_eq!(h.log_count("create").await, 950);
    assert_eq!(h.log_count("scim-user-created").await, 1000);

    // Attribute update (Entra: path-less Replace with a dotted key).
    let (s, v) = h
        .call(
            "PATCH",
            &format!("/Users/{}", ids[1]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "value": {"name.familyName": "Renamed"}}]
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    h.settle().await;
    assert_eq!(
        h.crm_user("user1@contoso.com").await.unwrap().last_name,
        "Renamed"
    );

    // The consumed change feed is pruned (every create and the rename), and a second prune
    // has nothing left; the steps below show that the sync goes on after it.
    let pruned = h.engine.prune_consumed_changes(&h.tenant).await.unwrap();
    assert!(pruned >= 1_001, "{pruned}");
    assert_eq!(h.engine.prune_consumed_changes(&h.tenant).await.unwrap(), 0);

    // Group move: user 1 leaves group 1 and joins group 0 (Sales team) -> Premium.
    let (s, _) = h
        .call(
            "PATCH",
            &format!("/Groups/{}", groups[1]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": format!("members[value eq \"{}\"]", ids[1])}]
            })),
        )
        .await;
    assert!(s == 204 || s == 200);
    let (s, _) = h
        .call(
            "PATCH",
            &format!("/Groups/{}", groups[0]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members", "value": [{"value": ids[1]}]}]
            })),
        )
        .await;
    assert!(s == 204 || s == 200);
    let before_updates = h.log_count("update").await;
    h.settle().await;
    let u1 = h.crm_user("user1@contoso.com").await.unwrap();
    assert_eq!(u1.user_plan, Some(premium));
    // Only the moved user was re-evaluated and written, not the groups' other members.
    assert_eq!(h.log_count("update").await - before_updates, 1);

    // Disable (Entra: Replace active with the string "False") -> retired, seat freed.
    let (s, v) = h
        .call(
            "PATCH",
            &format!("/Users/{}", ids[2]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    h.settle().await;
    let u2 = h.crm_user("user2@contoso.com").await.unwrap();
    assert!(u2.retired);
    assert_eq!(u2.user_plan, None);
    assert_eq!(h.preview_counts().await, (1000, 949));

    // Re-enable -> reactivated with the rules' settings again, not a second user.
    let (s, _) = h
        .call(
            "PATCH",
            &format!("/Users/{}", ids[2]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "True"}]
            })),
        )
        .await;
    assert_eq!(s, 200);
    h.settle().await;
    let u2b = h.crm_user("user2@contoso.com").await.unwrap();
    assert!(!u2b.retired);
    assert_eq!(u2b.associate_id, u2.associate_id);
    assert_eq!(u2b.user_plan, Some(essentials));
    assert_eq!(h.log_count("reactivate").await, 1);

    // Delete -> retired, history kept.
    let (s, _) = h.call("DELETE", &format!("/Users/{}", ids[3]), None).await;
    assert_eq!(s, 204);
    h.settle().await;
    assert!(h.crm_user("user3@contoso.com").await.unwrap().retired);
    assert_eq!(h.crm_users().await.len(), 950);
    assert_eq!(h.preview_counts().await, (999, 949));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_outage_is_retried_and_nothing_is_lost_or_duplicated() {
    let h = harness().await;
    h.start_syncing().await;
    h.crm.down.store(true, Ordering::SeqCst);
    for i in 0..30 {
        let (s, _) = h.call("POST", "/Users", Some(user_body(i))).await;
        assert_eq!(s, 201);
    }
    let pass = h.engine.run_tenant(&h.tenant).await.unwrap();
    assert!(pass.crm_unavailable);
    assert_eq!(h.crm_users().await.len(), 0);
    // The CRM comes back; the backoff is due again at once after a manual "sync all".
    h.crm.down.store(false, Ordering::SeqCst);
    h.engine.sync_all(&h.tenant).await.unwrap();
    h.settle().await;
    assert_eq!(h.crm_users().await.len(), 30);
    // Sync all again writes nothing new and duplicates nobody.
    h.engine.sync_all(&h.tenant).await.unwrap();
    h.settle().await;
    assert_eq!(h.crm_users().await.len(), 30);
    // Reset forgets the sync state; the next sync finds the users by name, no duplicates.
    h.engine.reset(&h.tenant).await.unwrap();
    h.engine.sync_all(&h.tenant).await.unwrap();
    h.settle().await;
    assert_eq!(h.crm_users().await.len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_off_stores_and_previews_but_writes_nothing() {
    let h = harness().await;
    versions::save(&h.db, &h.tenant, &rules(&h.catalog), "test", None)
        .await
        .unwrap();
    for i in 0..10 {
        let (s, _) = h.call("POST", "/Users", Some(user_body(i))).await;
        assert_eq!(s, 201);
    }
    h.settle().await;
    assert_eq!(h.crm_users().await.len(), 0);
    assert_eq!(h.preview_counts().await, (10, 10));
    h.sync_active(true).await;
    h.settle().await;
    assert_eq!(h.crm_users().await.len(), 10);
}

/// PostgreSQL, two sync engines (as two gateway processes sharing the database) working the
/// same tenant at once: every change is applied once, nobody is duplicated, nothing is lost.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_postgres_apply_each_change_once() {
    let Some((storage, db)) = gateway_reference::testing::postgres("gw_sync").await else {
        return;
    };
    let h = harness_on(storage.clone(), db.clone(), tempfile::tempdir().unwrap()).await;
    for p in &h.catalog.user_plans {
        h.crm
            .inner
            .set_plan_seats(&h.tenant, p.id, 2000)
            .await
            .unwrap();
    }
    h.start_syncing().await;
    let second = SyncEngine::new(
        db.clone(),
        storage,
        h.server.registry().clone(),
        h.crm.clone(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for engine in [h.engine.clone(), second] {
        let (stop, tenant) = (stop.clone(), h.tenant.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                engine.run_tenant(&tenant).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }));
    }
    let mut ids = Vec::new();
    for i in 0..200 {
        let (s, v) = h.call("POST", "/Users", Some(user_body(i))).await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for id in ids.iter().take(20) {
        let (s, _) = h
            .call(
                "PATCH",
                &format!("/Users/{id}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
                })),
            )
            .await;
        assert_eq!(s, 200);
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    h.settle().await;
    let crm = h.crm_users().await;
    assert_eq!(crm.len(), 200, "one CRM user per SCIM user");
    let names: HashSet<&str> = crm.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names.len(), 200);
    assert_eq!(crm.iter().filter(|u| u.retired).count(), 20);
    // Each SCIM change was ingested once (one log entry per created user).
    assert_eq!(h.log_count("scim-user-created").await, 200);
    assert_eq!(h.log_count("create").await, 200);
}
