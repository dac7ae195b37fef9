//! The PostgreSQL backend: the shared storage contract suite (`storage/suite.rs`), exact
//! filter pushdown (compared with scim-core's evaluator), and what only a shared database
//! has: several instances (like several server processes) racing on uniqueness and versions,
//! and concurrent migrations.
//!
//! Needs a PostgreSQL server: set `SCIM_TEST_POSTGRES_URL` (e.g.
//! `postgres://scim@127.0.0.1:55432/scim_test`). Without it the tests print a skip notice and
//! pass, unless `SCIM_REQUIRE_POSTGRES=1`, in which case they fail. Every test (and every case
//! of the suite) works in its own fresh PostgreSQL schema, dropped when it ends.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_core::{Filter, Resource};
use scim_server::TenantId;
use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use scim_server::storage::testing::Delegating;
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{
    Load, Member, MembersChange, NewResource, Replacement, Scope, Storage, StorageErrorKind,
    StoragePage, StorageQuery,
};
use serde_json::{Value, json};

use sql_support::{PUSHED_FILTERS, fixture_users, ids, user};

mod sql_support;

mod pg_support;

use pg_support::SchemaGuard;

const WHAT: &str = "the PostgreSQL backend tests (tests/postgres_backend.rs)";
const PREFIX: &str = "scim_test";

/// A `PostgresStorage` on a fresh schema, dropped (by its [`SchemaGuard`]) when this is
/// dropped. It delegates every call.
type TestDb = Delegating<PostgresStorage, SchemaGuard>;

async fn test_db() -> Option<TestDb> {
    let url = pg_support::postgres_url(WHAT)?;
    let schema = pg_support::fresh_schema(PREFIX);
    let storage = connect(&url, &schema).await;
    Some(Delegating::with_hooks(storage, SchemaGuard { url, schema }))
}

/// Another instance (its own pool) on the same database and schema as `db`: like a second
/// server process.
async fn second_instance(db: &TestDb) -> PostgresStorage {
    connect(&db.hooks.url, &db.hooks.schema).await
}

async fn connect(url: &str, schema: &str) -> PostgresStorage {
    PostgresStorage::connect_with(PostgresConfig::new(url).schema(schema).max_connections(8))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url} (schema {schema}): {e}"))
}

/// The shared backend and pushdown suites, one fresh schema per case.
mod suite {
    use super::test_db;
    scim_server::backend_suite!(match test_db().await {
        Some(db) => db,
        None => return,
    });
    scim_server::pushdown_suite!(match test_db().await {
        Some(db) => db,
        None => return,
    });
}

/// Opens a fresh test database or returns from the test (after the skip notice).
macro_rules! db_or_skip {
    () => {
        match test_db().await {
            Some(db) => db,
            None => return,
        }
    };
}

fn tenant(t: &str) -> TenantId {
    TenantId::new(t).unwrap()
}

fn replacement(id: &str, body: Value) -> Replacement {
    let r = user(id, body);
    Replacement {
        resource: r.resource,
        members: None,
        unique: r.unique,
    }
}

fn group(id: &str, name: &str, members: &[&str]) -> NewResource {
    let schema = group_resource_schema();
    let resource = Resource::from_value(json!({"id": id, "displayName": name})).unwrap();
    let unique = UniquenessPolicy::for_schema(&schema).keys(&schema, &resource);
    NewResource {
        id: id.to_string(),
        resource,
        members: members.iter().map(|m| Member::new(*m)).collect(),
        unique,
    }
}

fn member_ids(r: &Resource) -> Vec<String> {
    r.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Two instances (separate pools, same database and schema, like two server processes): 20
/// concurrent creates of one userName (different ids, different cases) across both give
/// exactly one success and 19 `Uniqueness` errors; the winner is visible from both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_race_on_one_user_name() {
    let db = db_or_skip!();
    let (h1, h2) = (db.inner.clone(), second_instance(&db).await);
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let (t, schema) = (t.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            let name = if i % 3 == 0 { "RACE" } else { "race" };
            h.create(
                Scope::new(&t, &schema),
                user(&format!("r{i}"), json!({"userName": name})),
            )
            .await
        }));
    }
    let (mut wins, mut uniqueness) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    &StorageErrorKind::Uniqueness {
                        attribute: "userName".into()
                    },
                    "unexpected error: {e:?}"
                );
                uniqueness += 1;
            }
        }
    }
    assert_eq!((wins, uniqueness), (1, 19));
    let scope = Scope::new(&t, &schema);
    let f: Filter = r#"userName eq "race""#.parse().unwrap();
    assert_eq!(ids(&h1, scope, Some(&f)).await.len(), 1);
    assert_eq!(ids(&h2, scope, Some(&f)).await.len(), 1);
    assert_eq!(ids(&h2, scope, None).await.len(), 1);
}

/// Creates arriving together are written together (group commit), yet each gets its own
/// answer: of ten creates claiming one `userName` and five claiming one id, exactly one of
/// each is written and the others fail with `Uniqueness` / `IdTaken`; every other create is
/// written; the change feed holds one `Created` per written create, numbered 1 to n without
/// a gap, and nothing for the refused ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_written_together_are_answered_each() {
    let db = db_or_skip!();
    let storage = db.inner.clone();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (h, t, schema) = (storage.clone(), t.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            let (id, name) = match i {
                0..10 => (format!("d{i}"), "dup".to_string()),
                10..15 => ("same".to_string(), format!("same{i}")),
                _ => (format!("u{i}"), format!("user{i}")),
            };
            let out = h
                .create(
                    Scope::new(&t, &schema),
                    user(&id, json!({"userName": name})),
                )
                .await;
            (i, out)
        }));
    }
    let (mut written, mut taken_names, mut taken_ids) = (Vec::new(), 0, 0);
    for task in tasks {
        let (i, out) = task.await.unwrap();
        match out {
            Ok(stored) => written.push(stored.id),
            Err(e) => match e.kind() {
                StorageErrorKind::Uniqueness { attribute } if i < 10 => {
                    assert_eq!(attribute, "userName");
                    taken_names += 1;
                }
                StorageErrorKind::IdTaken if (10..15).contains(&i) => taken_ids += 1,
                _ => panic!("create {i}: unexpected error {e:?}"),
            },
        }
    }
    assert_eq!((taken_names, taken_ids), (9, 4));
    assert_eq!(written.len(), 47);
    let feed = storage.changes_since(&t, 0, 1000).await.unwrap();
    let seqs: Vec<u64> = feed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=47).collect::<Vec<u64>>());
    let mut fed: Vec<String> = feed.into_iter().map(|c| c.id).collect();
    fed.sort();
    written.sort();
    assert_eq!(fed, written);
    let scope = Scope::new(&t, &schema);
    assert_eq!(ids(&storage, scope, None).await.len(), 47);
    for id in &written {
        let stored = storage.get(scope, id, Load::ALL).await.unwrap();
        assert_eq!(stored.version, 1);
        // Its index rows and unique claim are its own (written by the batch's statement).
        let name = stored.resource.get("userName").unwrap().as_str().unwrap();
        let f: Filter = format!("userName eq {:?}", name.to_uppercase())
            .parse()
            .unwrap();
        assert_eq!(ids(&storage, scope, Some(&f)).await, vec![id.clone()]);
        let taken = storage
            .create(
                scope,
                user(&format!("{id}-again"), json!({"userName": name})),
            )
            .await
            .unwrap_err();
        assert!(taken.is_uniqueness(), "{taken:?}");
    }
}

/// Creates the users `u0`, `u1`, ... (`userName` `user0`, `user1`, ...) one by one.
async fn create_users(storage: &PostgresStorage, scope: Scope<'_>, n: usize) {
    for i in 0..n {
        let name = format!("user{i}");
        storage
            .create(scope, user(&format!("u{i}"), json!({"userName": name})))
            .await
            .unwrap();
    }
}

/// Groups created together (one batch) keep their own members, in the order given, and
/// each member finds its groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn groups_written_together_keep_their_members() {
    let db = db_or_skip!();
    let storage = db.inner.clone();
    let (t, us, gs) = (
        tenant("t1"),
        user_resource_schema(),
        group_resource_schema(),
    );
    create_users(&storage, Scope::new(&t, &us), 6).await;
    let mut tasks = Vec::new();
    for g in 0..30 {
        let (h, t, gs) = (storage.clone(), t.clone(), gs.clone());
        tasks.push(tokio::spawn(async move {
            // Group g has the members u(g%6), u((g+1)%6), u((g+2)%6), given in reverse.
            let members: Vec<String> = (0..3).rev().map(|k| format!("u{}", (g + k) % 6)).collect();
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            h.create(
                Scope::new(&t, &gs),
                group(&format!("g{g}"), &format!("G{g}"), &refs),
            )
            .await
            .unwrap();
            (g, members)
        }));
    }
    for task in tasks {
        let (g, members) = task.await.unwrap();
        let stored = storage
            .get(Scope::new(&t, &gs), &format!("g{g}"), Load::ALL)
            .await
            .unwrap();
        assert_eq!(member_ids(&stored.resource), members, "group g{g}");
    }
    for i in 0..6 {
        let groups = storage.groups_of(&t, &format!("u{i}")).await.unwrap();
        assert_eq!(groups.len(), 15, "u{i} is in half of the groups");
    }
}

/// GETs asked at once are read together (`group_read.rs`) and each gets its own answer: the
/// resource asked for, at its version, with its groups; not found for an unknown id; the
/// same answer for an id asked twice; attributes only when asked for. Every answer equals
/// the one the same GET gets alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_read_together_are_answered_each() {
    let db = db_or_skip!();
    let storage = db.inner.clone();
    let (t, us, gs) = (
        tenant("t1"),
        user_resource_schema(),
        group_resource_schema(),
    );
    create_users(&storage, Scope::new(&t, &us), 20).await;
    storage
        .replace(
            Scope::new(&t, &us),
            "u3",
            replacement("u3", json!({"userName": "renamed3"})),
            Some(1),
        )
        .await
        .unwrap();
    let gscope = Scope::new(&t, &gs);
    storage
        .create(gscope, group("g1", "Sales", &["u1", "u2", "u3"]))
        .await
        .unwrap();
    storage
        .create(gscope, group("g2", "Support", &["u2"]))
        .await
        .unwrap();
    let asked: Vec<(String, Load)> = (0..300)
        .map(|i| {
            let id = match i % 25 {
                20..=22 => format!("missing{i}"),
                k => format!("u{}", k % 20),
            };
            let load = if i % 3 == 0 { Load::VERSION } else { Load::ALL };
            (id, load)
        })
        .collect();
    let mut tasks = Vec::new();
    for (id, load) in asked.clone() {
        let (h, t, us) = (storage.clone(), t.clone(), us.clone());
        tasks.push(tokio::spawn(async move {
            h.get_with_groups(Scope::new(&t, &us), &id, load).await
        }));
    }
    let scope = Scope::new(&t, &us);
    for ((id, load), task) in asked.into_iter().zip(tasks) {
        let together = task.await.unwrap();
        let alone = storage.get_with_groups(scope, &id, load).await;
        match (together, alone) {
            (Ok((a, ag)), Ok((b, bg))) => {
                assert_eq!(
                    (&a.id, a.version, &a.resource),
                    (&b.id, b.version, &b.resource)
                );
                assert_eq!(a.id, id);
                assert_eq!(ag, bg, "groups of {id}");
                if load.attributes {
                    assert!(a.resource.get("userName").is_some(), "{id}: attributes");
                } else {
                    assert!(a.resource.get("userName").is_none(), "{id}: version only");
                }
            }
            (Err(a), Err(b)) => {
                assert!(id.starts_with("missing"), "{id}: {a:?}");
                assert_eq!(a.kind(), &StorageErrorKind::NotFound);
                assert_eq!(b.kind(), &StorageErrorKind::NotFound);
            }
            (a, b) => panic!("{id}: together {a:?}, alone {b:?}"),
        }
    }
    let (u3, groups) = storage
        .get_with_groups(scope, "u3", Load::ALL)
        .await
        .unwrap();
    assert_eq!(u3.version, 2);
    assert_eq!(u3.resource.get("userName"), Some(&json!("renamed3")));
    assert_eq!(groups.len(), 1);
    let (_, groups) = storage
        .get_with_groups(scope, "u2", Load::VERSION)
        .await
        .unwrap();
    let names: Vec<_> = groups.iter().map(|g| g.display.as_deref()).collect();
    assert_eq!(names, [Some("Sales"), Some("Support")]);
}

/// Lookups by `userName` asked at once are read together (`group_read.rs`) and each gets
/// what the general query path gives the same filter with a clause that keeps it off the
/// lookup path: the same page, `totalResults` and groups, whatever the case of the value,
/// the offset and the count; nothing for a value no user has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_name_lookups_read_together_are_answered_each() {
    let db = db_or_skip!();
    let storage = db.inner.clone();
    let (t, us, gs) = (
        tenant("t1"),
        user_resource_schema(),
        group_resource_schema(),
    );
    let scope = Scope::new(&t, &us);
    for i in 0..12 {
        let name = format!("User{i}@Example.com");
        storage
            .create(scope, user(&format!("u{i}"), json!({"userName": name})))
            .await
            .unwrap();
    }
    storage
        .create(Scope::new(&t, &gs), group("g1", "Sales", &["u1", "u2"]))
        .await
        .unwrap();
    let asked: Vec<(String, u64, u64, Load)> = (0..200)
        .map(|i: u64| {
            let name = match i % 7 {
                0 => format!("USER{}@EXAMPLE.COM", i % 12),
                1 => format!("nobody{i}@example.com"),
                _ => format!("user{}@example.com", i % 12),
            };
            let (offset, limit) = match i % 5 {
                0 => (1, 10),
                1 => (0, 0),
                _ => (0, 10),
            };
            let load = if i % 2 == 0 { Load::VERSION } else { Load::ALL };
            (name, offset, limit, load)
        })
        .collect();
    let run = |filter: String, offset: u64, limit: u64, load: Load| {
        let (h, t, us) = (storage.clone(), t.clone(), us.clone());
        async move {
            let f: Filter = filter.parse().unwrap();
            let page = StoragePage::Offset { offset, limit };
            let query = StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &page,
                load,
            };
            let (page, groups) = h
                .query_with_groups(Scope::new(&t, &us), query)
                .await
                .unwrap();
            let found: Vec<(String, u64, Option<Value>)> = page
                .resources
                .iter()
                .map(|r| (r.id.clone(), r.version, r.resource.get("userName").cloned()))
                .collect();
            let mut groups: Vec<(String, Vec<String>)> = groups
                .into_iter()
                .map(|(id, g)| (id, g.into_iter().map(|g| g.id).collect()))
                .collect();
            groups.sort();
            (page.total_results, found, groups)
        }
    };
    let mut tasks = Vec::new();
    for (name, offset, limit, load) in asked.clone() {
        let filter = format!(r#"userName eq "{name}""#);
        tasks.push(tokio::spawn(run(filter, offset, limit, load)));
    }
    for ((name, offset, limit, load), task) in asked.into_iter().zip(tasks) {
        let together = task.await.unwrap();
        let general = format!(r#"userName eq "{name}" and userName pr"#);
        let alone = run(general, offset, limit, load).await;
        assert_eq!(together, alone, "{name} {offset} {limit} {load:?}");
        let exists = !name.starts_with("nobody");
        assert_eq!(together.0, u64::from(exists), "{name}");
    }
    let (total, found, groups) = run(
        r#"userName eq "user1@example.com""#.into(),
        0,
        10,
        Load::ALL,
    )
    .await;
    assert_eq!((total, found.len()), (1, 1));
    assert_eq!(found[0].2, Some(json!("User1@Example.com")));
    assert_eq!(groups, [("u1".to_string(), vec!["g1".to_string()])]);
}

/// Writes through one instance are read through the other, versions included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_is_shared_across_instances() {
    let db = db_or_skip!();
    let (h1, h2) = (db.inner.clone(), second_instance(&db).await);
    let (t, schema, gs) = (
        tenant("t1"),
        user_resource_schema(),
        group_resource_schema(),
    );
    let scope = Scope::new(&t, &schema);
    h1.create(scope, user("a", json!({"userName": "alice"})))
        .await
        .unwrap();
    let got = h2.get(scope, "a", Load::ALL).await.unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("alice")));
    h2.replace(
        scope,
        "a",
        replacement("a", json!({"userName": "alice2"})),
        Some(1),
    )
    .await
    .unwrap();
    let got = h1.get(scope, "a", Load::ALL).await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.resource.get("userName"), Some(&json!("alice2")));
    // The old name is free for either instance; the new one is taken for both.
    h1.create(scope, user("b", json!({"userName": "ALICE"})))
        .await
        .unwrap();
    assert!(
        h1.create(scope, user("c", json!({"userName": "Alice2"})))
            .await
            .unwrap_err()
            .is_uniqueness()
    );
    // Membership written by one is seen by the other.
    let groups = Scope::new(&t, &gs);
    h1.create(groups, group("g", "G", &["a"])).await.unwrap();
    h2.modify_members(
        groups,
        "g",
        MembersChange::Add(vec![Member::new("b")]),
        Some(1),
    )
    .await
    .unwrap();
    let g = h1.get(groups, "g", Load::ALL).await.unwrap();
    assert_eq!(
        (g.version, member_ids(&g.resource)),
        (2, vec!["a".into(), "b".into()])
    );
    h2.delete(scope, "a", None).await.unwrap();
    assert!(
        h1.get(scope, "a", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(h1.get(groups, "g", Load::ALL).await.unwrap().version, 3);
}

/// The version check is atomic across instances: of concurrent replaces (and deletes) with
/// the same `expected_version`, exactly one wins and the others get `VersionMismatch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_check_is_atomic_across_instances() {
    let db = db_or_skip!();
    let (h1, h2) = (db.inner.clone(), second_instance(&db).await);
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    h1.create(scope, user("u", json!({"userName": "v0"})))
        .await
        .unwrap();
    for round in 1..=5u64 {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
            let (t, schema) = (t.clone(), schema.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"userName": format!("r{round}-w{i}")});
                h.replace(
                    Scope::new(&t, &schema),
                    "u",
                    replacement("u", body),
                    Some(round),
                )
                .await
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(r) => winners.push(r),
                Err(e) => assert_eq!(
                    e.kind(),
                    &StorageErrorKind::VersionMismatch { current: round + 1 },
                    "round {round}: {e:?}"
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(winners[0].version, round + 1);
        // The stored resource is the winner's, and only the winner's name is claimed.
        let stored = h2.get(scope, "u", Load::ALL).await.unwrap();
        assert_eq!(stored.version, round + 1);
        assert_eq!(
            stored.resource.get("userName"),
            winners[0].resource.get("userName")
        );
        let f: Filter = format!("userName sw \"r{round}-\"").parse().unwrap();
        assert_eq!(ids(&h1, scope, Some(&f)).await, ["u"]);
    }
    // Concurrent deletes with the right version: one succeeds, the rest are mismatches or
    // not-found (the resource is gone by the time they look).
    let mut tasks = Vec::new();
    for i in 0..6 {
        let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let (t, schema) = (t.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            h.delete(Scope::new(&t, &schema), "u", Some(6)).await
        }));
    }
    let mut deleted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => deleted += 1,
            Err(e) => assert!(e.is_not_found() || e.is_version_mismatch(), "{e:?}"),
        }
    }
    assert_eq!(deleted, 1);
}

/// Concurrent membership changes from two instances are all kept, and each bumps the
/// version once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_member_adds_across_instances() {
    let db = db_or_skip!();
    let (h1, h2) = (db.inner.clone(), second_instance(&db).await);
    let (t, gs) = (tenant("t1"), group_resource_schema());
    h1.create(Scope::new(&t, &gs), group("g", "Big", &[]))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let (t, gs) = (t.clone(), gs.clone());
        tasks.push(tokio::spawn(async move {
            h.modify_members(
                Scope::new(&t, &gs),
                "g",
                MembersChange::Add(vec![Member::new(format!("m{i:02}"))]),
                None,
            )
            .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let g = h2.get(Scope::new(&t, &gs), "g", Load::ALL).await.unwrap();
    assert_eq!(g.version, 21);
    let mut got = member_ids(&g.resource);
    got.sort();
    let want: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    assert_eq!(got, want);
}

/// Several instances connecting at once to a NEW schema: the advisory lock serialises the
/// migrations, all connect, and the schema is at the current version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_migrate_once() {
    let Some(url) = pg_support::postgres_url(WHAT) else {
        return;
    };
    let schema = pg_support::fresh_schema(PREFIX);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (url, schema) = (url.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            PostgresStorage::connect_with(
                PostgresConfig::new(url).schema(schema).max_connections(2),
            )
            .await
        }));
    }
    let mut storages = Vec::new();
    for task in tasks {
        storages.push(task.await.unwrap().unwrap());
    }
    for s in &storages {
        assert_eq!(s.schema_version().await.unwrap(), 9);
        assert_eq!(s.schema_name(), schema);
    }
    // Reconnecting to a migrated schema applies nothing and keeps the data.
    let (t, us) = (tenant("t1"), user_resource_schema());
    storages[0]
        .create(Scope::new(&t, &us), user("x", json!({"userName": "kept"})))
        .await
        .unwrap();
    let again = PostgresStorage::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 9);
    assert_eq!(
        again
            .get(Scope::new(&t, &us), "x", Load::ALL)
            .await
            .unwrap()
            .version,
        1
    );
    again.drop_schema().await.unwrap();
}

/// Every pushed-down filter gives exactly the answer of scim-core's evaluator.
#[tokio::test]
async fn pushdown_matches_the_evaluator() {
    let db = db_or_skip!();
    sql_support::assert_pushdown_matches_the_evaluator(&db, fixture_users(), PUSHED_FILTERS).await;
}

#[tokio::test]
async fn unsupported_filters_are_refused_not_guessed() {
    let db = db_or_skip!();
    sql_support::assert_unsupported_filters_are_refused(&db).await;
}

/// The JSON comes back as it went in: attribute order (the column is JSON, not JSONB),
/// nested values, numbers and a U+0000 inside a string.
#[tokio::test]
async fn json_round_trips_exactly() {
    let db = db_or_skip!();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "order\u{0}test",
        "name": {"givenName": "B", "familyName": "J"},
        "active": true,
        "x-number": 12.5,
        "emails": [{"value": "a@b.c", "primary": true}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"}
    });
    let new = user("u1", body);
    let sent: Vec<String> = new.resource.as_map().keys().cloned().collect();
    db.create(scope, new.clone()).await.unwrap();
    let got = db.get(scope, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.resource, new.resource);
    let keys: Vec<String> = got.resource.as_map().keys().cloned().collect();
    assert_eq!(keys, sent);
    let f: Filter = r#"userName eq "ORDER\u0000TEST""#.parse().unwrap();
    assert_eq!(ids(&db, scope, Some(&f)).await, ["u1"]);
}

/// Members keep the order they were added in, across add, remove and re-add, and cursor
/// pages over groups load members only when asked.
#[tokio::test]
async fn member_order_and_cursor_pages() {
    let db = db_or_skip!();
    let (t, gs) = (tenant("t1"), group_resource_schema());
    let groups = Scope::new(&t, &gs);
    db.create(groups, group("g1", "One", &["c", "a", "b", "a"]))
        .await
        .unwrap();
    let g = db.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_ids(&g.resource), ["c", "a", "b"]);
    db.modify_members(
        groups,
        "g1",
        MembersChange::Add(vec![Member::new("z"), Member::new("a"), Member::new("y")]),
        Some(1),
    )
    .await
    .unwrap();
    db.modify_members(
        groups,
        "g1",
        MembersChange::Remove(vec!["c".into()]),
        Some(2),
    )
    .await
    .unwrap();
    let g = db.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_ids(&g.resource), ["a", "b", "z", "y"]);
    assert_eq!(g.version, 3);
    for i in 2..=5 {
        db.create(groups, group(&format!("g{i}"), &format!("G{i}"), &["a"]))
            .await
            .unwrap();
    }
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = StoragePage::Cursor {
            after: after.clone(),
            limit: 2,
        };
        let out = db
            .query(
                groups,
                StorageQuery {
                    filter: None,
                    sort: None,
                    page: &page,
                    load: Load::ALL,
                },
            )
            .await
            .unwrap();
        assert_eq!(out.total_results, 5);
        for r in &out.resources {
            assert!(!member_ids(&r.resource).is_empty());
            seen.push(r.id.clone());
        }
        match out.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["g1", "g2", "g3", "g4", "g5"]);
    let of_a: Vec<String> = db
        .groups_of(&t, "a")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(of_a, ["g1", "g2", "g3", "g4", "g5"]);
}

/// `create_many` inserts in multi-row batches; a conflict in any batch (with stored rows, or
/// inside the batch) fails the whole load with the right error and writes nothing.
#[tokio::test]
async fn create_many_is_all_or_nothing() {
    let db = db_or_skip!();
    let (t, schema, gs) = (
        tenant("t1"),
        user_resource_schema(),
        group_resource_schema(),
    );
    let scope = Scope::new(&t, &schema);
    let n = PostgresStorage::BATCH * 2 + 50;
    let batch: Vec<NewResource> = (0..n)
        .map(|i| {
            user(
                &format!("b{i}"),
                json!({"userName": format!("bulk{i}"),
            "emails": [{"value": format!("b{i}@x.org")}]}),
            )
        })
        .collect();
    assert_eq!(db.inner.create_many(scope, batch).await.unwrap(), n as u64);
    assert_eq!(ids(&db, scope, None).await.len(), n);
    let f: Filter = r#"emails.value eq "B1999@X.ORG""#.parse().unwrap();
    assert_eq!(ids(&db, scope, Some(&f)).await, ["b1999"]);
    let fresh = |i: usize| user(&format!("c{i}"), json!({"userName": format!("fresh{i}")}));
    // A taken userName in the second batch.
    let mut bad: Vec<NewResource> = (0..PostgresStorage::BATCH + 10).map(fresh).collect();
    bad.push(user("c-x", json!({"userName": "BULK7"})));
    let e = db.inner.create_many(scope, bad).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &StorageErrorKind::Uniqueness {
            attribute: "userName".into()
        }
    );
    // A taken id; and a duplicate externalId inside one batch.
    let bad = vec![fresh(1), user("b3", json!({"userName": "other"}))];
    let e = db.inner.create_many(scope, bad).await.unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::IdTaken);
    let bad = vec![
        user("d1", json!({"userName": "d1", "externalId": "X"})),
        user("d2", json!({"userName": "d2", "externalId": "X"})),
    ];
    let e = db.inner.create_many(scope, bad).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &StorageErrorKind::Uniqueness {
            attribute: "externalId".into()
        }
    );
    // Nothing of the failed loads was written.
    assert!(
        db.get(scope, "c1", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        db.get(scope, "d1", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(ids(&db, scope, None).await.len(), n);
    // Groups with members (duplicates dropped, order kept).
    let groups = Scope::new(&t, &gs);
    let loaded = db
        .inner
        .create_many(
            groups,
            vec![
                group("g1", "G1", &["b2", "b1", "b2"]),
                group("g2", "G2", &[]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(loaded, 2);
    let g = db.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_ids(&g.resource), ["b2", "b1"]);
    assert_eq!(db.groups_of(&t, "b1").await.unwrap().len(), 1);
}

/// Failures are errors with a message for logs, never panics.
#[tokio::test]
async fn errors_are_errors_not_panics() {
    let db = db_or_skip!();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    // PostgreSQL TEXT cannot hold U+0000: an id with one is a backend error, not a panic,
    // and nothing is written.
    let e = db
        .create(scope, user("bad\u{0}id", json!({"userName": "x"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
    db.create(scope, user("ok", json!({"userName": "x"})))
        .await
        .unwrap();
    // An invalid schema name is refused before anything is sent.
    let bad = PostgresStorage::connect_with_schema(&db.hooks.url, "bad name").await;
    assert_eq!(bad.unwrap_err().kind(), &StorageErrorKind::Backend);
}

/// Offset pages of every size at every offset, and cursor walks, equal the one-page
/// answer: sorted (ascending and descending, across the boundary between the users with a
/// sort key and those without, which the backend counts only when a page needs it) and in
/// creation order; with a one-scan filter (`active eq true`, counted and paged without
/// materialising the matches), a compound one, and none. After `analyze` (a `VACUUM`).
#[tokio::test]
async fn pages_at_every_offset_equal_the_whole_answer() {
    use scim_core::AttrPath;
    use scim_core::sort::{SortOrder, SortSpec};
    let db = db_or_skip!();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    let family = ["m", "c", "", "x", "a", "", "", "c", "k"];
    for (i, f) in family.iter().enumerate() {
        let mut body = json!({"userName": format!("u{i}"), "active": i % 3 != 1});
        if !f.is_empty() {
            body["name"] = json!({"familyName": f});
        }
        db.create(scope, user(&format!("u{i}"), body))
            .await
            .unwrap();
    }
    db.inner.analyze().await.unwrap();
    let query = |f: Option<Filter>, sort: Option<SortSpec>, page: StoragePage| {
        let db = &db;
        async move {
            let q = StorageQuery {
                filter: f.as_ref(),
                sort: sort.as_ref(),
                page: &page,
                load: Load::WITHOUT_MEMBERS,
            };
            db.query(scope, q).await.unwrap()
        }
    };
    let page_ids = |p: &scim_server::storage::QueryPage| -> Vec<String> {
        p.resources.iter().map(|r| r.id.clone()).collect()
    };
    let filters = [
        None,
        Some("active eq true"),
        Some(r#"active eq true and userName sw "u""#),
    ];
    let sorts = [
        None,
        Some(SortSpec::new(
            AttrPath::with_sub("name", "familyName"),
            SortOrder::Ascending,
        )),
        Some(SortSpec::new(
            AttrPath::with_sub("name", "familyName"),
            SortOrder::Descending,
        )),
    ];
    for text in filters {
        let f = text.map(|s| s.parse::<Filter>().unwrap());
        for sort in &sorts {
            let what = format!("{text:?} {sort:?}");
            let all = query(
                f.clone(),
                sort.clone(),
                StoragePage::Offset {
                    offset: 0,
                    limit: 100,
                },
            )
            .await;
            let whole = page_ids(&all);
            assert_eq!(all.total_results, whole.len() as u64, "{what}");
            let expected = if text.is_some() { 6 } else { 9 };
            assert_eq!(whole.len(), expected, "{what}");
            for limit in 1..=4u64 {
                for offset in 0..=whole.len() as u64 + 1 {
                    let page = StoragePage::Offset { offset, limit };
                    let got = query(f.clone(), sort.clone(), page).await;
                    let from = (offset as usize).min(whole.len());
                    let to = (from + limit as usize).min(whole.len());
                    assert_eq!(
                        page_ids(&got),
                        whole[from..to],
                        "{what} offset {offset} limit {limit}"
                    );
                    assert_eq!(got.total_results, whole.len() as u64, "{what}");
                }
                let mut walked = Vec::new();
                let mut after = None;
                for _ in 0..=whole.len() {
                    let page = StoragePage::Cursor { after, limit };
                    let got = query(f.clone(), sort.clone(), page).await;
                    assert_eq!(got.total_results, whole.len() as u64, "{what}");
                    walked.extend(page_ids(&got));
                    after = got.next_cursor;
                    if after.is_none() {
                        break;
                    }
                }
                assert_eq!(walked, whole, "{what} cursor limit {limit}");
            }
        }
    }
}

/// Schema version 5 tunes autovacuum of the tables the counts read (index-only scans need
/// the visibility map a vacuum sets).
#[tokio::test]
async fn counted_tables_are_vacuumed_sooner() {
    let db = db_or_skip!();
    let client = db.inner.pool().get().await.unwrap();
    for table in ["resources", "attr_index"] {
        let row = client
            .query_one(
                "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = \
                 c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                &[&db.hooks.schema, &table],
            )
            .await
            .unwrap();
        let options: Vec<String> = row.get(0);
        for setting in [
            "autovacuum_vacuum_scale_factor=0.02",
            "autovacuum_analyze_scale_factor=0.02",
            "autovacuum_vacuum_insert_scale_factor=0.02",
        ] {
            assert!(options.iter().any(|o| o == setting), "{table}: {options:?}");
        }
    }
}
