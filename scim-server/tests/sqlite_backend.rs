//! The SQLite backend: the storage contract (`storage/mod.rs`), exact filter pushdown
//! (compared with scim-core's evaluator), paging, membership, tenancy, and what only a
//! database file has (persistence, several handles, WAL).
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_core::{Filter, Resource};
use scim_server::TenantId;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::testing::{Delegating, Hooks};
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{
    Load, Member, MembersChange, NewResource, Replacement, Scope, Storage, StorageErrorKind,
    StoragePage, StorageQuery,
};
use serde_json::{Value, json};

use sql_support::{PUSHED_FILTERS, fixture_users, ids, user};

mod sql_support;

/// A database file in the temp dir, removed (with its -wal and -shm) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> TempDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "scim-sqlite-test-{}-{}-{}.db",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        TempDb(std::env::temp_dir().join(name))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Hooks for TempDb {}

/// A SQLite backend on a fresh database FILE (the real configuration: WAL, a writer and a
/// reader pool) whose files are removed when it is dropped. It delegates every call.
type FileBacked = Delegating<SqliteStorage, TempDb>;

fn file_backed() -> FileBacked {
    let db = TempDb::new();
    Delegating::with_hooks(SqliteStorage::open(&db.0).unwrap(), db)
}

/// The shared backend and pushdown suites on a database file per case (the configuration a
/// server runs).
mod suite_on_file {
    use super::file_backed;
    scim_server::backend_suite!(file_backed());
    scim_server::pushdown_suite!(file_backed());
}

/// The shared backend suite on an in-memory database per case.
mod suite_in_memory {
    use scim_server::storage::sqlite::SqliteStorage;
    scim_server::backend_suite!(SqliteStorage::open_in_memory().unwrap());
    scim_server::pushdown_suite!(SqliteStorage::open_in_memory().unwrap());
}

fn tenant(t: &str) -> TenantId {
    TenantId::new(t).unwrap()
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

/// A replacement of the user `id` with the `userName` `name`.
fn renamed(id: &str, name: &str) -> Replacement {
    let r = user(id, json!({"userName": name}));
    Replacement {
        resource: r.resource,
        members: None,
        unique: r.unique,
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

#[tokio::test]
async fn crud_versions_and_uniqueness() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    let created = s
        .create(scope, user("u1", json!({"userName": "BJensen"})))
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    let got = s.get(scope, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.resource.get("userName"), Some(&json!("BJensen")));

    // userName is caseExact=false (RFC 7643 §4.1.1): "bjensen" collides with "BJensen".
    let dup = s
        .create(scope, user("u2", json!({"userName": "bjensen"})))
        .await
        .unwrap_err();
    assert_eq!(
        dup.kind(),
        &StorageErrorKind::Uniqueness {
            attribute: "userName".into()
        }
    );
    // Nothing of the failed create was written.
    assert!(
        s.get(scope, "u2", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let taken = s
        .create(scope, user("u1", json!({"userName": "other"})))
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), &StorageErrorKind::IdTaken);

    // Replace with a stale version fails, with the current one succeeds.
    let rep = |name: &str| renamed("u1", name);
    let stale = s.replace(scope, "u1", rep("x"), Some(7)).await.unwrap_err();
    assert_eq!(
        stale.kind(),
        &StorageErrorKind::VersionMismatch { current: 1 }
    );
    let replaced = s.replace(scope, "u1", rep("Babs"), Some(1)).await.unwrap();
    assert_eq!(replaced.version, 2);
    // The old userName is released, the new one claimed.
    s.create(scope, user("u2", json!({"userName": "bjensen"})))
        .await
        .unwrap();
    let clash = s.replace(scope, "u2", rep("BABS"), None).await.unwrap_err();
    assert!(clash.is_uniqueness());
    // The failed replace changed nothing.
    assert_eq!(s.get(scope, "u2", Load::ALL).await.unwrap().version, 1);
    assert!(
        s.replace(scope, "nope", rep("q"), None)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Delete with a stale version fails; then succeeds and releases the unique value.
    let e = s.delete(scope, "u1", Some(1)).await.unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::VersionMismatch { current: 2 });
    s.delete(scope, "u1", Some(2)).await.unwrap();
    assert!(
        s.get(scope, "u1", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        s.delete(scope, "u1", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    s.create(scope, user("u3", json!({"userName": "babs"})))
        .await
        .unwrap();
}

/// Every pushed-down filter gives exactly the answer of scim-core's evaluator.
#[tokio::test]
async fn pushdown_matches_the_evaluator() {
    let s = SqliteStorage::open_in_memory().unwrap();
    sql_support::assert_pushdown_matches_the_evaluator(&s, fixture_users(), PUSHED_FILTERS).await;
}

#[tokio::test]
async fn unsupported_filters_are_refused_not_guessed() {
    let s = SqliteStorage::open_in_memory().unwrap();
    sql_support::assert_unsupported_filters_are_refused(&s).await;
}

#[tokio::test]
async fn offset_paging_counts_after_filtering() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    for i in 0..25 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        s.create(
            scope,
            user(
                &format!("u{i:02}"),
                json!({"userName": format!("{name}{i}")}),
            ),
        )
        .await
        .unwrap();
    }
    let filter: Filter = r#"userName sw "even""#.parse().unwrap();
    let page = StoragePage::Offset {
        offset: 5,
        limit: 4,
    };
    let q = StorageQuery {
        filter: Some(&filter),
        sort: None,
        page: &page,
        load: Load::ALL,
    };
    let out = s.query(scope, q).await.unwrap();
    assert_eq!(out.total_results, 13);
    let got: Vec<&str> = out.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, ["u10", "u12", "u14", "u16"]);
    assert_eq!(out.next_cursor, None);
    // Without a filter: every resource, creation order.
    let page = StoragePage::Offset {
        offset: 23,
        limit: 10,
    };
    let q = StorageQuery {
        filter: None,
        sort: None,
        page: &page,
        load: Load::ALL,
    };
    let out = s.query(scope, q).await.unwrap();
    assert_eq!(out.total_results, 25);
    assert_eq!(out.resources.len(), 2);
    assert_eq!(out.resources[1].id, "u24");
}

/// RFC 9865 cursors: a walk over every page returns every survivor exactly once, even when
/// resources are deleted and created between pages.
#[tokio::test]
async fn cursor_paging_survives_deletes() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    for i in 0..30 {
        s.create(
            scope,
            user(&format!("u{i:02}"), json!({"userName": format!("n{i}")})),
        )
        .await
        .unwrap();
    }
    let filter: Filter = r#"userName sw "n""#.parse().unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = StoragePage::Cursor { after, limit: 7 };
        let q = StorageQuery {
            filter: Some(&filter),
            sort: None,
            page: &page,
            load: Load::WITHOUT_MEMBERS,
        };
        let out = s.query(scope, q).await.unwrap();
        seen.extend(out.resources.iter().map(|r| r.id.clone()));
        pages += 1;
        if pages == 1 {
            assert_eq!(out.total_results, 30);
            // Delete the last returned one, and some not yet seen.
            for id in ["u06", "u07", "u12", "u29"] {
                s.delete(scope, id, None).await.unwrap();
            }
            s.create(scope, user("late", json!({"userName": "nlate"})))
                .await
                .unwrap();
        }
        match out.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..30)
        .filter(|i| ![7, 12, 29].contains(i))
        .map(|i| format!("u{i:02}"))
        .collect();
    expected.push("late".into());
    assert_eq!(seen, expected);

    // A cursor from another query, or garbage, is invalidCursor.
    let first = s
        .query(
            scope,
            StorageQuery {
                filter: Some(&filter),
                sort: None,
                page: &StoragePage::Cursor {
                    after: None,
                    limit: 2,
                },
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    for (f, c) in [(None, cursor.clone()), (Some(&filter), "bogus".to_string())] {
        let e = s
            .query(
                scope,
                StorageQuery {
                    filter: f,
                    sort: None,
                    page: &StoragePage::Cursor {
                        after: Some(c),
                        limit: 2,
                    },
                    load: Load::ALL,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::InvalidCursor);
    }
}

#[tokio::test]
async fn membership_is_rows_not_a_list() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let t = tenant("t1");
    let (us, gs) = (user_resource_schema(), group_resource_schema());
    let (users, groups) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    for i in 0..3 {
        s.create(
            users,
            user(&format!("u{i}"), json!({"userName": format!("user{i}")})),
        )
        .await
        .unwrap();
    }
    let g = s
        .create(groups, group("g1", "Admins", &["u0", "u0"]))
        .await
        .unwrap();
    assert_eq!(member_ids(&g.resource), ["u0"]);
    s.create(groups, group("g2", "Staff", &["u0", "u1"]))
        .await
        .unwrap();

    let g = s
        .modify_members(
            groups,
            "g1",
            MembersChange::Add(vec![Member::new("u1"), Member::new("u0")]),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(g.version, 2);
    assert!(g.resource.get("members").is_none());
    let stale = s
        .modify_members(groups, "g1", MembersChange::Add(vec![]), Some(1))
        .await
        .unwrap_err();
    assert_eq!(
        stale.kind(),
        &StorageErrorKind::VersionMismatch { current: 2 }
    );
    let full = s.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_ids(&full.resource), ["u0", "u1"]);
    let bare = s.get(groups, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
    assert!(bare.resource.get("members").is_none());
    assert_eq!(bare.resource.get("displayName"), Some(&json!("Admins")));

    s.modify_members(
        groups,
        "g1",
        MembersChange::Remove(vec!["u0".into(), "absent".into()]),
        None,
    )
    .await
    .unwrap();
    let full = s.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_ids(&full.resource), ["u1"]);
    assert_eq!(full.version, 3);

    // groups_of computes User.groups with display names.
    let of_u1: Vec<(String, Option<String>)> = s
        .groups_of(&t, "u1")
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.id, g.display))
        .collect();
    assert_eq!(
        of_u1,
        [
            ("g1".to_string(), Some("Admins".to_string())),
            ("g2".to_string(), Some("Staff".to_string()))
        ]
    );

    // Deleting a user removes it from every group and bumps those groups' versions.
    s.delete(users, "u1", None).await.unwrap();
    let g1 = s.get(groups, "g1", Load::ALL).await.unwrap();
    assert_eq!((g1.version, member_ids(&g1.resource)), (4, vec![]));
    let g2 = s.get(groups, "g2", Load::ALL).await.unwrap();
    assert_eq!(
        (g2.version, member_ids(&g2.resource)),
        (2, vec!["u0".to_string()])
    );
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());

    // Replace membership; a query loads members only when asked.
    s.modify_members(
        groups,
        "g2",
        MembersChange::Replace(vec![Member {
            value: "u2".into(),
            kind: Some("User".into()),
            display: Some("User Two".into()),
        }]),
        None,
    )
    .await
    .unwrap();
    let f: Filter = r#"displayName eq "staff""#.parse().unwrap();
    for (load, expect) in [(Load::ALL, true), (Load::WITHOUT_MEMBERS, false)] {
        let out = s
            .query(
                groups,
                StorageQuery {
                    filter: Some(&f),
                    sort: None,
                    page: &StoragePage::Offset {
                        offset: 0,
                        limit: 5,
                    },
                    load,
                },
            )
            .await
            .unwrap();
        assert_eq!(out.total_results, 1);
        let members = out.resources[0].resource.get("members").cloned();
        if expect {
            assert_eq!(
                members,
                Some(json!([{"value": "u2", "display": "User Two", "type": "User"}]))
            );
        } else {
            assert_eq!(members, None);
        }
    }

    // Deleting a group removes its member rows: u2 is in no group any more.
    s.delete(groups, "g2", None).await.unwrap();
    assert!(s.groups_of(&t, "u2").await.unwrap().is_empty());
    // Group displayName is unique per resource type.
    let e = s
        .create(groups, group("g3", "ADMINS", &[]))
        .await
        .unwrap_err();
    assert!(e.is_uniqueness());
}

#[tokio::test]
async fn tenants_are_isolated() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (a, b, schema, gs) = (
        tenant("a"),
        tenant("b"),
        user_resource_schema(),
        group_resource_schema(),
    );
    let (sa, sb) = (Scope::new(&a, &schema), Scope::new(&b, &schema));
    s.create(sa, user("u1", json!({"userName": "same"})))
        .await
        .unwrap();
    // The same id and userName in another tenant are fine.
    s.create(
        sb,
        user("u1", json!({"userName": "same", "displayName": "B"})),
    )
    .await
    .unwrap();
    s.create(Scope::new(&a, &gs), group("g", "G", &["u1"]))
        .await
        .unwrap();
    let f: Filter = r#"userName eq "same""#.parse().unwrap();
    assert_eq!(ids(&s, sa, Some(&f)).await, ["u1"]);
    assert!(s.groups_of(&b, "u1").await.unwrap().is_empty());
    assert_eq!(s.groups_of(&a, "u1").await.unwrap().len(), 1);
    s.delete(sb, "u1", None).await.unwrap();
    assert!(s.get(sb, "u1", Load::ALL).await.unwrap_err().is_not_found());
    let still = s.get(sa, "u1", Load::ALL).await.unwrap();
    assert_eq!(still.version, 1);
    // Deleting b's u1 did not touch a's group.
    let g = s.get(Scope::new(&a, &gs), "g", Load::ALL).await.unwrap();
    assert_eq!(
        (g.version, member_ids(&g.resource)),
        (1, vec!["u1".to_string()])
    );
    // Resource types are scopes too.
    assert!(
        s.get(Scope::new(&a, &gs), "u1", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let db = TempDb::new();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    {
        let s = SqliteStorage::open(&db.0).unwrap();
        assert_eq!(s.journal_mode().await.unwrap(), "wal");
        s.create(scope, user("u1", json!({"userName": "persisted"})))
            .await
            .unwrap();
        s.modify_members(
            Scope::new(&t, &schema),
            "u1",
            // A real change (an empty one changes nothing and keeps the version).
            MembersChange::Add(vec![Member::new("m1")]),
            None,
        )
        .await
        .unwrap();
    }
    let s = SqliteStorage::open(&db.0).unwrap();
    // Version 8: typed indexes (3), the change feed (4), the kept resource counts (5), the
    // index rows keyed by resource (6), the counts kept by the writes, not triggers (7),
    // the index rows keyed by path key (8).
    assert_eq!(s.schema_version().await.unwrap(), 8);
    let got = s.get(scope, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.resource.get("userName"), Some(&json!("persisted")));
    let f: Filter = r#"userName eq "PERSISTED""#.parse().unwrap();
    assert_eq!(ids(&s, scope, Some(&f)).await, ["u1"]);
    // Uniqueness survives too.
    assert!(
        s.create(scope, user("u2", json!({"userName": "Persisted"})))
            .await
            .unwrap_err()
            .is_uniqueness()
    );
}

#[tokio::test]
async fn wal_mode_is_on() {
    let db = TempDb::new();
    let s = SqliteStorage::open(&db.0).unwrap();
    assert_eq!(s.journal_mode().await.unwrap(), "wal");
    let mut wal = db.0.clone().into_os_string();
    wal.push("-wal");
    assert!(PathBuf::from(wal).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_share_writes_and_uniqueness() {
    let db = TempDb::new();
    let h1 = SqliteStorage::open(&db.0).unwrap();
    let h2 = SqliteStorage::open(&db.0).unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    h1.create(scope, user("a", json!({"userName": "alice"})))
        .await
        .unwrap();
    assert_eq!(
        h2.get(scope, "a", Load::ALL)
            .await
            .unwrap()
            .resource
            .get("userName"),
        Some(&json!("alice"))
    );
    h2.replace(
        scope,
        "a",
        Replacement {
            resource: user("a", json!({"userName": "alice2"})).resource,
            members: None,
            unique: user("a", json!({"userName": "alice2"})).unique,
        },
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(h1.get(scope, "a", Load::ALL).await.unwrap().version, 2);

    // 20 concurrent creates of one userName (different ids, different cases) across the two
    // handles: exactly one wins, the others get uniqueness.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let (t, schema) = (t.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            let name = if i % 3 == 0 { "RACE" } else { "race" };
            let scope = Scope::new(&t, &schema);
            h.create(scope, user(&format!("r{i}"), json!({"userName": name})))
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert!(e.is_uniqueness(), "unexpected error: {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    let f: Filter = r#"userName eq "race""#.parse().unwrap();
    assert_eq!(ids(&h2, scope, Some(&f)).await.len(), 1);
    assert_eq!(ids(&h1, scope, Some(&f)).await.len(), 1);
}

#[tokio::test]
async fn create_many_is_all_or_nothing() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    let batch: Vec<NewResource> = (0..50)
        .map(|i| user(&format!("b{i}"), json!({"userName": format!("bulk{i}")})))
        .collect();
    assert_eq!(s.create_many(scope, batch).await.unwrap(), 50);
    let bad = vec![
        user("c1", json!({"userName": "fresh"})),
        user("c2", json!({"userName": "BULK7"})),
    ];
    assert!(s.create_many(scope, bad).await.unwrap_err().is_uniqueness());
    assert!(
        s.get(scope, "c1", Load::ALL)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(ids(&s, scope, None).await.len(), 50);
}

#[tokio::test]
async fn errors_are_errors_not_panics() {
    // A directory is not a database file.
    let e = SqliteStorage::open(std::env::temp_dir()).unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
    // A file that is not a database.
    let db = TempDb::new();
    std::fs::write(&db.0, b"definitely not a sqlite database, just some text").unwrap();
    let e = SqliteStorage::open(&db.0).unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
}

/// A small deterministic generator (xorshift64*), so the randomised test needs no extra
/// dependency and every failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn text(&mut self) -> String {
        // Letters whose case mapping is tricky: final sigma, Kelvin sign, dotted capital I
        // (lower-cases to two chars), sharp s, the last code point, and plain ASCII.
        const ALPHABET: &[&str] = &[
            "a",
            "A",
            "b",
            "B",
            "z",
            "Z",
            "@",
            ".",
            "-",
            "0",
            "9",
            "Σ",
            "σ",
            "ς",
            "\u{212A}",
            "k",
            "K",
            "İ",
            "i",
            "I",
            "ß",
            "\u{10FFFF}",
            "é",
            "É",
            "\u{E000}",
            "\u{D7FF}",
        ];
        let len = self.below(5);
        (0..len).map(|_| *self.pick(ALPHABET)).collect()
    }
    /// Some other spelling of `s`: upper-cased, lower-cased, or as is.
    fn respell(&mut self, s: &str) -> String {
        match self.below(3) {
            0 => s.to_uppercase(),
            1 => s.to_lowercase(),
            _ => s.to_string(),
        }
    }
}

fn random_user(rng: &mut Rng, i: usize) -> Value {
    let mut u = serde_json::Map::new();
    let key = if rng.below(8) == 0 {
        "USERNAME"
    } else {
        "userName"
    };
    u.insert(key.into(), json!(format!("{}{}", rng.text(), i)));
    match rng.below(5) {
        0 => {}
        1 => {
            u.insert("externalId".into(), json!(rng.below(1000)));
        }
        _ => {
            u.insert("externalId".into(), json!(format!("{}x{i}", rng.text())));
        }
    }
    if rng.below(2) == 0 {
        u.insert("displayName".into(), json!(rng.text()));
    }
    let emails: Vec<Value> = (0..rng.below(4))
        .map(|_| match rng.below(6) {
            0 => json!(rng.text()),
            1 => Value::Null,
            2 => json!({"Value": rng.text(), "type": *rng.pick(&["work", "Work", "home"])}),
            3 => json!({"value": [rng.text(), rng.text()]}),
            4 => json!({"type": "home"}),
            _ => json!({"value": rng.text()}),
        })
        .collect();
    if !emails.is_empty() || rng.below(2) == 0 {
        u.insert("emails".into(), Value::Array(emails));
    }
    Value::Object(u)
}

/// Every string the fixture holds at the indexed paths, to draw operands from.
fn operands(users: &[NewResource]) -> Vec<String> {
    let mut out = vec![String::new()];
    for u in users {
        let m = u.resource.as_map();
        for (k, v) in m {
            match v {
                Value::String(s) if k != "id" => out.push(s.clone()),
                Value::Array(items) => {
                    for e in items {
                        match e {
                            Value::String(s) => out.push(s.clone()),
                            Value::Object(o) => {
                                for v in o.values() {
                                    if let Some(s) = v.as_str() {
                                        out.push(s.to_string());
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn random_filter(rng: &mut Rng, operands: &[String], depth: usize) -> Filter {
    use scim_core::AttrPath;
    if depth > 0 && rng.below(3) == 0 {
        let a = random_filter(rng, operands, depth - 1);
        let b = random_filter(rng, operands, depth - 1);
        return if rng.below(2) == 0 { a.and(b) } else { a.or(b) };
    }
    if depth > 0 && rng.below(5) == 0 {
        // A value path over emails: a filter on one element's `value` / `type`.
        return Filter::ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(random_element_filter(rng, operands, 1)),
        };
    }
    let path = match rng.below(6) {
        0 => AttrPath::new("userName"),
        1 => AttrPath::new("externalId"),
        2 => AttrPath::new("displayName"),
        3 => AttrPath::with_sub("emails", "value"),
        4 => AttrPath::with_sub("emails", "type"),
        _ => AttrPath::new("id"),
    };
    random_leaf(rng, operands, path)
}

/// A random comparison (or `pr`) on `path`.
fn random_leaf(rng: &mut Rng, operands: &[String], path: scim_core::AttrPath) -> Filter {
    use scim_core::{CompValue, CompareOp};
    let op = *rng.pick(&[
        CompareOp::Eq,
        CompareOp::Eq,
        CompareOp::Sw,
        CompareOp::Sw,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Co,
        CompareOp::Co,
        CompareOp::Ew,
        CompareOp::Ew,
    ]);
    if rng.below(8) == 0 {
        return Filter::present(path);
    }
    let base = rng.pick(operands).clone();
    let mut operand = rng.respell(&base);
    let n = operand.chars().count();
    match op {
        CompareOp::Sw => {
            let keep = rng.below(n + 1);
            operand = operand.chars().take(keep).collect();
        }
        CompareOp::Co if n > 0 => {
            let from = rng.below(n);
            let len = 1 + rng.below(n - from);
            operand = operand.chars().skip(from).take(len).collect();
        }
        CompareOp::Ew if n > 0 => {
            let from = rng.below(n);
            operand = operand.chars().skip(from).collect();
        }
        _ => {}
    }
    if operand.is_empty() && matches!(op, CompareOp::Co | CompareOp::Ew) {
        // An empty co / ew operand is not pushed down (the planner's).
        return Filter::compare(path, CompareOp::Eq, CompValue::String(operand));
    }
    Filter::compare(path, op, CompValue::String(operand))
}

/// A random value filter (inside `emails[...]`) on `value` and `type`.
fn random_element_filter(rng: &mut Rng, operands: &[String], depth: usize) -> Filter {
    use scim_core::AttrPath;
    if depth > 0 && rng.below(2) == 0 {
        let a = random_element_filter(rng, operands, depth - 1);
        let b = random_element_filter(rng, operands, depth - 1);
        return if rng.below(2) == 0 { a.and(b) } else { a.or(b) };
    }
    if rng.below(3) == 0 {
        let t = *rng.pick(&["work", "WORK", "home", "Home", "other"]);
        return Filter::eq_str(AttrPath::new("type"), t);
    }
    random_leaf(rng, operands, AttrPath::new("value"))
}

/// Randomised: hundreds of users with tricky Unicode and odd JSON shapes, thousands of
/// filters; every pushed-down answer (offset page and cursor walk) equals the evaluator's.
#[tokio::test]
async fn randomised_pushdown_matches_the_evaluator() {
    let s = SqliteStorage::open_in_memory().unwrap();
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut users = Vec::new();
    for i in 0..300 {
        let new = user(&format!("id{}", rng.text()), random_user(&mut rng, i));
        match s.create(scope, new.clone()).await {
            Ok(_) => users.push(new),
            Err(e) => assert!(
                e.is_uniqueness() || e.kind() == &StorageErrorKind::IdTaken,
                "{e:?}"
            ),
        }
    }
    assert!(users.len() > 200);
    let ops = operands(&users);
    let mut nonempty = 0;
    for _ in 0..2000 {
        let filter = random_filter(&mut rng, &ops, 2);
        assert!(s.can_filter(&schema, &filter), "{filter}");
        let expected: Vec<String> = users
            .iter()
            .filter(|u| sql_support::folded_matches(&schema, &filter, &u.resource))
            .map(|u| u.id.clone())
            .collect();
        nonempty += usize::from(!expected.is_empty());
        assert_eq!(ids(&s, scope, Some(&filter)).await, expected, "{filter}");
    }
    // The generator must produce interesting filters, not only empty answers.
    assert!(nonempty > 500, "{nonempty}");
    // A cursor walk gives the same answer as one big page.
    let filter: Filter = r#"userName ge "b" or emails.value pr"#.parse().unwrap();
    let all = ids(&s, scope, Some(&filter)).await;
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = StoragePage::Cursor { after, limit: 17 };
        let q = StorageQuery {
            filter: Some(&filter),
            sort: None,
            page: &page,
            load: Load::WITHOUT_MEMBERS,
        };
        let out = s.query(scope, q).await.unwrap();
        assert_eq!(out.total_results as usize, all.len());
        walked.extend(out.resources.into_iter().map(|r| r.id));
        match out.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(walked, all);
}

/// Concurrent writes share transactions (group commit); the ones a client's data makes fail
/// (a taken userName, an unknown id) fail alone, and the others in their transaction are
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_that_conflict_fail_alone() {
    let s = std::sync::Arc::new(file_backed());
    let (t, schema) = (tenant("t1"), user_resource_schema());
    let scope = Scope::new(&t, &schema);
    s.create(scope, user("held", json!({"userName": "taken"})))
        .await
        .unwrap();
    s.create(scope, user("other", json!({"userName": "other"})))
        .await
        .unwrap();
    let rep = |name: &str| renamed("other", name);
    for round in 0..5 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let s = std::sync::Arc::clone(&s);
            let (t, schema) = (t.clone(), schema.clone());
            let rep = rep(if i % 4 == 1 { "TAKEN" } else { "other" });
            tasks.spawn(async move {
                let scope = Scope::new(&t, &schema);
                let out = match i % 4 {
                    0 => s
                        .create(
                            scope,
                            user(
                                &format!("r{round}u{i}"),
                                json!({"userName": format!("r{round}u{i}")}),
                            ),
                        )
                        .await
                        .map(drop),
                    1 => s.replace(scope, "other", rep, None).await.map(drop),
                    2 => s
                        .create(
                            scope,
                            user(&format!("r{round}x{i}"), json!({"userName": "Taken"})),
                        )
                        .await
                        .map(drop),
                    _ => s.replace(scope, "missing", rep, None).await.map(drop),
                };
                (i, out)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, out) = done.unwrap();
            match i % 4 {
                0 => out.unwrap(),
                1 | 2 => assert!(out.unwrap_err().is_uniqueness(), "{i}"),
                _ => assert!(out.unwrap_err().is_not_found(), "{i}"),
            }
        }
    }
    let all = ids(&*s, scope, None).await;
    assert_eq!(all.len(), 2 + 5 * 10, "{all:?}");
    assert_eq!(
        s.get(scope, "other", Load::ALL).await.unwrap().version,
        1,
        "the failed replaces changed nothing"
    );
}
