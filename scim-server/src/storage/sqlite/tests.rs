use super::*;
use crate::storage::sql::filter::translate;
use crate::storage::sql::index::indexed_paths;
use crate::storage::sql::upgrade_check;

/// The scope of the translations below.
const KEYS: PathKeys<'static> = PathKeys::new("t", "User");
use crate::storage::suite::{new_group, new_user, unfiltered_total};
use scim_core::builtin::{group_resource_schema, user_resource_schema};

mod recent_reads;

/// Only an `eq` on a single-valued attribute with `uniqueness` server/global (RFC 7643
/// §2.1; `userName` §4.1.1, `id` §3.1) is a point query; anything that can match many
/// rows stays on the blocking pool.
#[test]
fn unique_lookups_are_point_queries() {
    let schema = user_resource_schema();
    let page = StoragePage::Offset {
        offset: 0,
        limit: 100,
    };
    let point = |text: &str| {
        let f: Filter = text.parse().unwrap();
        let q = StorageQuery {
            filter: Some(&f),
            sort: None,
            page: &page,
            load: Load::WITHOUT_MEMBERS,
        };
        is_unique_lookup(&schema, &q)
    };
    assert!(point(r#"userName eq "bjensen""#));
    assert!(point(r#"USERNAME eq "bjensen""#));
    assert!(point(r#"id eq "2819c223""#));
    for no in [
        r#"displayName eq "Babs""#,
        r#"emails.value eq "a@b""#,
        r#"externalId eq "e-1""#,
        r#"userName sw "b""#,
        r#"userName eq "a" or userName eq "b""#,
        r#"userName eq "a" and displayName eq "b""#,
        r#"userName pr"#,
    ] {
        assert!(!point(no), "{no}");
    }
    let q = StorageQuery {
        filter: None,
        sort: None,
        page: &page,
        load: Load::WITHOUT_MEMBERS,
    };
    assert!(!is_unique_lookup(&schema, &q), "no filter: a full list");
}

/// The query plan of a filtered query: every resource lookup goes through an index and
/// the `resources` table is never scanned (the 1M-users target depends on it).
fn plan(conn: &Connection, set: &SetSql) -> String {
    let sql = format!(
        "EXPLAIN QUERY PLAN SELECT r.seq, r.id, r.version, r.json FROM resources r \
         WHERE {} ORDER BY r.seq LIMIT 100 OFFSET 0",
        condition(Some(set))
    );
    let mut args: Vec<Param> = vec!["t".to_string().into(), "User".to_string().into()];
    args.extend(set.params.iter().cloned());
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            r.get::<_, String>(3)
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn filtered_queries_use_the_index_not_a_scan() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let conn = lock(&storage.inner.writer);
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    for text in [
        r#"userName eq "bjensen""#,
        r#"userName sw "bj""#,
        r#"userName eq "a" and externalId eq "b""#,
        r#"userName eq "a" or emails.value eq "b""#,
        r#"externalId pr"#,
        r#"emails[value eq "a@x.example"]"#,
        r#"emails[type eq "work" and value eq "a@x.example"]"#,
        r#"emails[type eq "work" or value sw "a"] and userName eq "a""#,
        r#"emails[type eq "work" and value co "x"]"#,
        r#"userName ew "x""#,
        r#"userName eq "a" and emails[type eq "work" and value co "x"]"#,
        r#"emails[type eq "work" and value co "x"] and (userName sw "a" or userName co "b")"#,
    ] {
        let set =
            translate::<Sqlite>(&schema, &paths, KEYS, &text.parse::<Filter>().unwrap()).unwrap();
        let plan = plan(&conn, &set);
        // Every attr_index access is a search of a covering index or of the table's key
        // (the rows of one resource), never a scan.
        assert!(
            plan.contains("COVERING INDEX attr_index_lookup"),
            "{text}:\n{plan}"
        );
        assert!(
            !plan.lines().any(|l| l.contains("SCAN attr_index")
                || (l.contains("attr_index")
                    && !l.contains("COVERING INDEX")
                    && !l.contains("USING PRIMARY KEY (seq=?"))),
            "{text}:\n{plan}"
        );
        assert!(
            !plan
                .lines()
                .any(|l| l.starts_with("SCAN r") || l.starts_with("SCAN resources")),
            "{text}:\n{plan}"
        );
    }
}

/// An indexed lookup AND-ed with a substring test inside a value path: attr_index is
/// searched by the userName key, then by `seq` for the candidate's rows (the value path
/// and its `co` checked per candidate); no pass over the rows of every email.
#[test]
fn a_cheap_conjunct_drives_the_scanning_one() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let conn = lock(&storage.inner.writer);
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    let f: Filter = r#"userName eq "x" and emails[type eq "work" and value co "y"]"#
        .parse()
        .unwrap();
    let set = translate::<Sqlite>(&schema, &paths, KEYS, &f).unwrap();
    let plan = plan(&conn, &set);
    let lines: Vec<&str> = plan.lines().collect();
    // The candidates: one search of the lookup index by the userName key and value (the
    // only search without a `seq`).
    let lookups: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("attr_index_lookup") && !l.contains("seq=?"))
        .collect();
    assert_eq!(
        lookups,
        [
            &"SEARCH attr_index USING COVERING INDEX attr_index_lookup (path_key=? AND \
           value_norm=?)"
        ],
        "{plan}"
    );
    // Then the candidate's own rows, by the table's key (`Dialect::checked_rows`): its
    // elements, and each leaf on an element.
    let by_seq = lines
        .iter()
        .filter(|l| l.contains("USING PRIMARY KEY (seq=? AND path_key=?"))
        .count();
    assert_eq!(by_seq, 3, "{plan}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("PRIMARY KEY (seq=? AND path_key=? AND elem=?)")),
        "{plan}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("SCAN")), "{plan}");
    // The statement that lists the matches (their number is totalResults, the page a
    // slice of them) uses the same form.
    let listed = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", matches_sql(&set)))
        .unwrap()
        .query_map(
            rusqlite::params_from_iter(
                ["t", "User"]
                    .into_iter()
                    .map(|s| Param::from(s.to_string()))
                    .chain(set.params.iter().cloned()),
            ),
            |r| r.get::<_, String>(3),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    assert_eq!(
        listed
            .iter()
            .filter(|l| l.contains("attr_index_lookup") && !l.contains("seq=?"))
            .collect::<Vec<_>>(),
        lookups,
        "{listed:?}"
    );
    assert_eq!(
        listed
            .iter()
            .filter(|l| l.contains("USING PRIMARY KEY (seq=? AND path_key=?"))
            .count(),
        3,
        "{listed:?}"
    );
    assert!(!listed.iter().any(|l| l.starts_with("SCAN")), "{listed:?}");
}

/// A database written at schema version 1 (its DDL and rows, no `elem`, no
/// `emails.type`) opened by this code is migrated to version 2 and answers value paths
/// after its rows are rebuilt from the stored JSON.
#[tokio::test]
async fn a_version_1_database_is_migrated_and_answers_value_paths() {
    let dir = temp_dir("v1");
    let file = dir.join("v1.db");
    {
        let conn = Connection::open(&file).unwrap();
        conn.execute_batch(schema::VERSION_1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for (seq, (id, json)) in upgrade_check::V1_USERS.iter().enumerate() {
            conn.execute(
                "INSERT INTO resources (seq, tenant, rtype, id, version, json) \
                 VALUES (?1, ?2, 'User', ?3, 1, ?4)",
                params![seq as i64 + 1, upgrade_check::TENANT, id, json],
            )
            .unwrap();
            for (path, value) in upgrade_check::v1_rows(id, json) {
                conn.execute(
                    "INSERT INTO attr_index (tenant, rtype, path, value_norm, seq) \
                     VALUES (?1, 'User', ?2, ?3, ?4)",
                    params![upgrade_check::TENANT, path, value, seq as i64 + 1],
                )
                .unwrap();
            }
        }
    }
    let storage = SqliteStorage::open(&file).unwrap();
    assert_eq!(
        storage.schema_version().await.unwrap(),
        schema::SCHEMA_VERSION
    );
    // Version 5 counted the resources already there.
    let counted: i64 = lock(&storage.inner.writer)
        .query_row(
            "SELECT n FROM resource_counts WHERE tenant = ?1 AND rtype = 'User'",
            [upgrade_check::TENANT],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(counted, upgrade_check::V1_USERS.len() as i64);
    upgrade_check::assert_answers_value_paths(&storage).await;
    drop(storage);
    // Reopening neither migrates nor rebuilds again.
    let again = SqliteStorage::open(&file).unwrap();
    let conn = again.inner.writer.lock().unwrap();
    let layouts: i64 = conn
        .query_row("SELECT count(*) FROM index_layouts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(layouts, 1);
    drop(conn);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory for one test's database file.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scim-sqlite-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Creates the user `u{i}` (`userName` `user{i}`).
async fn create_user(storage: &SqliteStorage, tenant: &TenantId, i: usize) {
    let schema = user_resource_schema();
    let new = new_user(&format!("u{i}"), &format!("user{i}"), serde_json::json!({}));
    storage
        .create(Scope::new(tenant, &schema), new)
        .await
        .unwrap();
}

/// A path key that `path_keys` records for another path is refused, and the write with
/// it fails without writing (two paths' rows never share a key; see `sql::path_key`). The
/// collision is made by hand: the key of `username` in the scope recorded for another
/// tenant's path, as another process would have recorded it.
#[tokio::test]
async fn a_key_recorded_for_another_path_refuses_the_write() {
    let dir = temp_dir("keys");
    let file = dir.join("scim.db");
    let tenant = TenantId::new("t").unwrap();
    let schema = user_resource_schema();
    let storage = SqliteStorage::open(&file).unwrap();
    let taken = PathKeys::new("t", "User").of("username");
    Connection::open(&file)
        .unwrap()
        .execute(
            "INSERT INTO path_keys (path_key, tenant, rtype, path) VALUES (?1, 'o', 'User', 'x')",
            [taken],
        )
        .unwrap();
    let new = new_user("u1", "user1", serde_json::json!({}));
    let err = storage
        .create(Scope::new(&tenant, &schema), new)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("already the key of 'x' of 'o'"),
        "{err}"
    );
    assert_eq!(
        unfiltered_total(&storage, Scope::new(&tenant, &schema), None).await,
        0
    );
    // Another tenant's paths have other keys: its writes go on, and record their keys.
    let other = TenantId::new("o2").unwrap();
    create_user(&storage, &other, 2).await;
    let recorded: i64 = Connection::open(&file)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM path_keys WHERE tenant = 'o2' AND rtype = 'User' \
             AND path = 'username' AND path_key = ?1",
            [PathKeys::new("o2", "User").of("username")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, 1);
    drop(storage);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `totalResults` of an unfiltered list is the count kept by the writes
/// (`counters.rs`): it follows creates and deletes, a failed create leaves it as it
/// was, and the list (offset or sorted) reads it rather than counting the rows.
#[tokio::test]
async fn unfiltered_totals_come_from_the_kept_count() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let (tenant, other) = (TenantId::new("t").unwrap(), TenantId::new("o").unwrap());
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let total = |sort: Option<SortSpec>| {
        let storage = &storage;
        async move { unfiltered_total(storage, scope, sort.as_ref()).await }
    };
    for i in 0..5 {
        create_user(&storage, &tenant, i).await;
    }
    create_user(&storage, &other, 9).await;
    // `user0` again: refused, and not counted.
    let taken = new_user("u99", "user0", serde_json::json!({}));
    assert!(storage.create(scope, taken).await.is_err());
    storage.delete(scope, "u1", None).await.unwrap();
    let by_name: SortSpec = SortSpec::new(
        "userName".parse().unwrap(),
        scim_core::sort::SortOrder::Ascending,
    );
    assert_eq!(total(None).await, 4);
    assert_eq!(total(Some(by_name.clone())).await, 4);
    // The lists read the kept count: set it apart from the rows, and they report it.
    lock(&storage.inner.writer)
        .execute("UPDATE resource_counts SET n = 40 WHERE tenant = 't'", [])
        .unwrap();
    assert_eq!(total(None).await, 40);
    assert_eq!(total(Some(by_name)).await, 40);
}

/// The child rows of a resource (its uniqueness claims, index rows and, for a group, its
/// members) go with it, in the transaction of its delete: the connections do not enforce
/// the schema's `ON DELETE CASCADE`, so the delete does it. The rows of the others stay.
#[tokio::test]
async fn a_delete_takes_its_child_rows_with_it() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let tenant = TenantId::new("t").unwrap();
    let (users, groups) = (user_resource_schema(), group_resource_schema());
    let (uscope, gscope) = (Scope::new(&tenant, &users), Scope::new(&tenant, &groups));
    for i in 0..3 {
        create_user(&storage, &tenant, i).await;
    }
    for (id, name, members) in [
        ("g1", "Staff", &["u0", "u1"][..]),
        ("g2", "Admins", &["u1"]),
    ] {
        storage
            .create(gscope, new_group(id, name, members))
            .await
            .unwrap();
    }
    let count = |sql: &str, seq: i64| -> i64 {
        lock(&storage.inner.writer)
            .query_row(sql, [seq], |r| r.get(0))
            .unwrap()
    };
    // [claims, index rows, members] of the resource at `seq`.
    let children = |seq: i64| {
        [
            count("SELECT count(*) FROM unique_values WHERE seq = ?1", seq),
            count("SELECT count(*) FROM attr_index WHERE seq = ?1", seq),
            count("SELECT count(*) FROM members WHERE group_seq = ?1", seq),
        ]
    };
    let seq_of = |id: &str| -> i64 {
        lock(&storage.inner.writer)
            .query_row("SELECT seq FROM resources WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let (u0, u1, g1, g2) = (seq_of("u0"), seq_of("u1"), seq_of("g1"), seq_of("g2"));
    let [claims, rows, _] = children(u1);
    assert!(claims >= 1 && rows >= 1, "u1 has claims and index rows");
    let [_, group_rows, members] = children(g1);
    assert!(
        group_rows >= 1 && members == 2,
        "g1 has index rows and two members"
    );
    let kept = children(u0);

    storage.delete(uscope, "u1", None).await.unwrap();
    storage.delete(gscope, "g1", None).await.unwrap();

    assert_eq!(children(u1), [0, 0, 0]);
    assert_eq!(children(g1), [0, 0, 0]);
    assert_eq!(children(u0), kept);
    assert_eq!(children(g2)[2], 0, "u1 left g2 with its delete");
    assert!(
        found(&storage, uscope, "userName eq \"user1\"")
            .await
            .is_empty()
    );
    assert_eq!(
        found(&storage, uscope, "userName eq \"user0\"").await,
        ["u0"]
    );
}

/// A resource with more index rows than one statement writes (`ROWS_PER_INSERT`) has them
/// all, numbered in order, and a filter finds it by a value of the last statement.
#[tokio::test]
async fn index_rows_past_one_statement_are_all_written() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let tenant = TenantId::new("t").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let emails: Vec<serde_json::Value> = (0..40)
        .map(|i| serde_json::json!({"value": format!("m{i}@example.com"), "type": "work"}))
        .collect();
    let user = new_user("many", "many", serde_json::json!({ "emails": emails }));
    let ctx = storage.inner.layouts.ctx(scope);
    let expected = index_rows(&ctx.paths, &schema, &user.resource).len();
    assert!(
        expected > 2 * ROWS_PER_INSERT,
        "{expected} rows: more than two statements"
    );
    storage.create(scope, user).await.unwrap();
    let ns: Vec<i64> = {
        let conn = lock(&storage.inner.writer);
        let mut stmt = conn
            .prepare("SELECT n FROM attr_index WHERE tenant = 't' ORDER BY n")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(ns, (0..expected as i64).collect::<Vec<_>>());
    for text in [
        "emails.value eq \"m39@example.com\"",
        "emails[value co \"m0@\"]",
    ] {
        assert_eq!(found(&storage, scope, text).await, ["many"], "{text}");
    }
}

/// On a file, commits do not checkpoint (`wal_autocheckpoint=0`); the background thread
/// does, and what was written is all there after reopening.
#[tokio::test]
async fn checkpoints_run_in_the_background() {
    let dir = temp_dir("ckpt");
    let file = dir.join("c.db");
    let tenant = TenantId::new("t").unwrap();
    let storage = SqliteStorage::open(&file).unwrap();
    let auto: i64 = lock(&storage.inner.writer)
        .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
        .unwrap();
    assert_eq!(auto, 0);
    for i in 0..40 {
        create_user(&storage, &tenant, i).await;
    }
    let checkpointer = storage.inner.checkpointer.as_ref().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while checkpointer.runs() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(checkpointer.runs() > 0);
    drop(storage);
    let again = SqliteStorage::open(&file).unwrap();
    let n: i64 = lock(&again.inner.writer)
        .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 40);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Readers keep their snapshots between reads (`readers.rs`), yet they do not keep the WAL
/// from restarting (<https://sqlite.org/wal.html>, "Avoiding Excessively Large WAL Files"):
/// with a snapshot kept by an idle reader, even a current one, once a checkpoint copied the
/// whole WAL the next write starts it again from its beginning. Were the snapshot kept, the
/// WAL would only grow (and the writer would checkpoint on every commit).
#[tokio::test]
async fn kept_snapshots_do_not_keep_the_wal_from_restarting() {
    let dir = temp_dir("restart");
    let file = dir.join("r.db");
    let tenant = TenantId::new("t").unwrap();
    // Snapshots end only on a commit of this process or a write, not by age.
    let storage = SqliteStorage::open(&file)
        .unwrap()
        .read_snapshot_age(std::time::Duration::from_secs(3600));
    let schema = user_resource_schema();
    for i in 0..10 {
        create_user(&storage, &tenant, i).await;
        storage
            .get(Scope::new(&tenant, &schema), "u0", Load::WITHOUT_MEMBERS)
            .await
            .unwrap();
    }
    let readers = storage.inner.readers.as_ref().unwrap();
    assert_eq!(readers.open_snapshots(), 1, "the reader keeps its snapshot");
    let other = Connection::open(&file).unwrap();
    let wal = |conn: &Connection| -> (i64, i64) {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })
        .unwrap()
    };
    let (frames, copied) = wal(&other);
    assert!(
        frames > 0 && copied == frames,
        "{copied} of {frames} frames copied"
    );
    assert_eq!(readers.open_snapshots(), 1);
    create_user(&storage, &tenant, 100).await;
    let (after, _) = wal(&other);
    assert!(
        after < frames,
        "the WAL restarted: {after} frames after one write, {frames} before"
    );
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn group_reads_probe_the_members_index_without_a_sorter() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let conn = lock(&storage.inner.writer);
    let plan_of = |sql: &str, args: &[&str]| {
        conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let many = plan_of(GROUPS_OF_MANY, &["t", r#"["u1","u2"]"#]);
    let one = plan_of(RESOURCE_WITH_GROUPS, &["t", "User", "u1"]);
    for plan in [&many, &one] {
        assert!(plan.contains("members_member"), "{plan}");
        assert!(
            !plan
                .lines()
                .any(|l| l.contains("SCAN") && !l.contains("VIRTUAL TABLE")),
            "no table or index scan: {plan}"
        );
        // The groups are put in order in Rust: no sorter per read.
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

#[test]
fn cursors_round_trip_and_bind_to_their_query() {
    let c = encode_cursor(CURSOR_TAG, 42, 7);
    assert!(scim_core::messages::is_unreserved(&c));
    assert_eq!(decode_cursor(CURSOR_TAG, &c, 7).unwrap(), 42);
    assert_eq!(
        decode_cursor(CURSOR_TAG, &c, 8).unwrap_err().kind(),
        &StorageErrorKind::InvalidCursor
    );
    assert!(decode_cursor(CURSOR_TAG, "", 7).is_err());
    assert!(decode_cursor(CURSOR_TAG, "%%%", 7).is_err());
}

/// The bundled SQLite is built with the workspace's flags (`.cargo/config.toml`,
/// `LIBSQLITE3_FLAGS`): no memory statistics and no process-wide page cache, so that readers
/// on different threads share no mutex in `sqlite3_malloc` or the page cache
/// (<https://sqlite.org/compile.html#rcmd>). A build without them still works, slower: this
/// test names the missing flag.
#[test]
fn the_bundled_sqlite_is_built_with_the_workspace_flags() {
    let conn = Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for wanted in ["DEFAULT_MEMSTATUS=0", "OMIT_SHARED_CACHE", "USE_ALLOCA"] {
        assert!(
            options.iter().any(|o| o == wanted),
            "{wanted} missing from {options:?}"
        );
    }
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "ENABLE_MEMORY_MANAGEMENT still set: {options:?}"
    );
}

/// A user whose emails are `work` and `home` (RFC 7643 §4.1.2 `emails`, caseExact=false).
fn emailed(id: &str, work: &str, home: &str) -> NewResource {
    new_user(
        id,
        &format!("name-{id}"),
        serde_json::json!({"emails": [
            {"value": work, "type": "work"},
            {"value": home, "type": "home"}
        ]}),
    )
}

/// The ids `storage` finds for `text` in `scope`, sorted.
async fn found(storage: &dyn Storage, scope: Scope<'_>, text: &str) -> Vec<String> {
    let f: Filter = text.parse().unwrap();
    let page = StoragePage::Offset {
        offset: 0,
        limit: 1000,
    };
    let q = StorageQuery {
        filter: Some(&f),
        sort: None,
        page: &page,
        load: Load::WITHOUT_MEMBERS,
    };
    let page = storage.query(scope, q).await.unwrap();
    assert_eq!(page.total_results as usize, page.resources.len(), "{text}");
    let mut ids: Vec<String> = page.resources.into_iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

/// `co` / `ew` filters read candidates from the substring indexes (`substrings.rs`), kept
/// in step through the change feed: the answers equal the memory backend's (which
/// evaluates every resource) after creates, replaces and deletes made by ANOTHER storage
/// on the same file (another process, as far as the first one's memory goes), and after
/// the changes the index had not read yet were pruned.
#[tokio::test]
async fn substring_filters_answer_from_the_index_as_the_evaluator_does() {
    let dir = temp_dir("substrings");
    let file = dir.join("scim.db");
    let reader = SqliteStorage::open(&file).unwrap();
    let writer = SqliteStorage::open(&file).unwrap();
    let expected = crate::storage::memory::MemoryStorage::new();
    let tenant = TenantId::new("t").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    let filters = [
        r#"emails[type eq "work" and value co "u5"]"#,
        r#"emails[type eq "work" and value co "u50@"]"#,
        r#"emails.value co "@MAIL.org""#,
        r#"emails co "home1""#,
        r#"emails[value ew "7@example.com"]"#,
        r#"userName co "ame-u1" and emails.value co "xamp""#,
        r#"userName co "ame-u1" or emails.value co "ürg""#,
        r#"not (emails.value co "u1")"#,
        r#"emails.value co "nowhere""#,
        r#"emails.value co "elsewhere""#,
        r#"emails.value co "u""#,
    ];
    let check = |stage: &'static str| {
        let (reader, expected) = (&reader, &expected);
        async move {
            for text in filters {
                assert_eq!(
                    found(reader, scope, text).await,
                    found(expected, scope, text).await,
                    "{stage}: {text}"
                );
            }
        }
    };
    for i in 0..80 {
        let (work, home) = (format!("u{i}@example.com"), format!("home{i}@Mail.org"));
        let new = || emailed(&format!("u{i}"), &work, &home);
        reader.create(scope, new()).await.unwrap();
        expected.create(scope, new()).await.unwrap();
    }
    check("built").await;
    let served = reader.inner.substrings.served();
    assert!(served >= 6, "{served} probes answered from the indexes");

    let replace = |id: &str, work: &str| {
        let user = emailed(id, work, "moved@Mail.org");
        Replacement {
            resource: user.resource,
            members: None,
            unique: user.unique,
        }
    };
    for (id, work) in [
        ("u5", "jürgen@example.com"),
        ("u50", "x@y.org"),
        ("u7", "z7@example.com"),
    ] {
        let new = || replace(id, work);
        writer.replace(scope, id, new(), None).await.unwrap();
        expected.replace(scope, id, new(), None).await.unwrap();
    }
    for id in ["u51", "u17"] {
        writer.delete(scope, id, None).await.unwrap();
        expected.delete(scope, id, None).await.unwrap();
    }
    for i in 80..90 {
        let (work, home) = (format!("u5{i}@example.com"), format!("home{i}@mail.org"));
        let new = || emailed(&format!("u{i}"), &work, &home);
        writer.create(scope, new()).await.unwrap();
        expected.create(scope, new()).await.unwrap();
    }
    check("written by another storage").await;
    assert!(reader.inner.substrings.served() >= 2 * served);

    // A write the index has not read, then every change pruned, then more writes: the
    // index cannot read what it missed and is rebuilt.
    writer
        .replace(scope, "u52", replace("u52", "zz@elsewhere.net"), None)
        .await
        .unwrap();
    expected
        .replace(scope, "u52", replace("u52", "zz@elsewhere.net"), None)
        .await
        .unwrap();
    let last = writer.changes_since(&tenant, 0, 10_000).await.unwrap();
    let head = last.last().map(|c| c.seq).unwrap();
    writer.prune_changes(&tenant, head).await.unwrap();
    writer.delete(scope, "u53", None).await.unwrap();
    expected.delete(scope, "u53", None).await.unwrap();
    check("after pruning").await;
    drop((reader, writer));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An index never serves a snapshot older than what it has read: catching up reads each
/// changed resource as the newer snapshot shows it, so a value that an older snapshot still
/// shows (written after one catch-up and overwritten before the next) was never added.
/// Such a query runs the plain SQL instead (`None`).
#[tokio::test]
async fn an_index_does_not_serve_a_snapshot_older_than_its_reads() {
    let dir = temp_dir("older-snapshot");
    let file = dir.join("scim.db");
    let storage = SqliteStorage::open(&file).unwrap();
    let tenant = TenantId::new("t").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    for i in 0..8 {
        let work = format!("first{i}@example.com");
        storage
            .create(scope, emailed(&format!("u{i}"), &work, "h@x.org"))
            .await
            .unwrap();
    }
    let ctx = storage.inner.layouts.ctx(scope);
    let probe = |operand: &str| {
        let f: Filter = format!(r#"emails.value co "{operand}""#).parse().unwrap();
        let (_, probes) = translate_probing::<Sqlite>(&schema, &ctx.paths, ctx.keys(), &f).unwrap();
        probes
    };
    let replace = |work: &str| {
        let user = emailed("u3", work, "h@x.org");
        Replacement {
            resource: user.resource,
            members: None,
            unique: user.unique,
        }
    };
    let candidates = |conn: &Connection, operand: &str| {
        storage
            .inner
            .substrings
            .candidates(
                conn,
                &mut SnapshotValues::default(),
                &ctx,
                &probe(operand),
                Effort::Full,
            )
            .unwrap()
    };
    // Built while u3's work email is `first3@...`.
    let fresh = Connection::open(&file).unwrap();
    assert!(candidates(&fresh, "first3").is_some());
    storage
        .replace(scope, "u3", replace("second@example.com"), None)
        .await
        .unwrap();
    // A snapshot that shows `second@...`, held open.
    let old = Connection::open(&file).unwrap();
    old.execute_batch("BEGIN").unwrap();
    let n: i64 = old
        .query_row("SELECT count(*) FROM resources", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 8);
    storage
        .replace(scope, "u3", replace("third@example.com"), None)
        .await
        .unwrap();
    // A newer snapshot catches the index up: u3 is read as `third@...`.
    let lists = candidates(&fresh, "third").unwrap();
    assert_eq!(lists.len(), 1, "one key: emails.value");
    assert_eq!(lists[0].len(), 1, "u3");
    // The old snapshot still shows `second@...`, which the index never read.
    assert_eq!(candidates(&old, "second"), None);
    old.execute_batch("COMMIT").unwrap();
    // A snapshot from the index's head on is served.
    assert!(candidates(&fresh, "third").is_some());
    drop((fresh, old, storage));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A leaf read from the index's candidates is a search of `attr_index` by its key
/// `(seq, path, ...)` for each candidate (never a scan of the path's rows), and drives the
/// `and` of a value path.
#[test]
fn probed_leaves_search_the_rows_of_their_candidates() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let conn = lock(&storage.inner.writer);
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    let f: Filter = r#"emails[type eq "work" and value co "u50"]"#.parse().unwrap();
    let (mut set, probes) = translate_probing::<Sqlite>(&schema, &paths, KEYS, &f).unwrap();
    // One probe per key the leaf reads: the sub-attribute, and the elements given as
    // primitive values (see `sql::index`).
    let keys: Vec<&str> = probes.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["emails.value", "emails"]);
    for p in &probes {
        assert_eq!(p.operand, "u50");
        set.params[p.param] = Param::Array((1..4).map(rusqlite::types::Value::Integer).collect());
    }
    let plan = plan(&conn, &set);
    assert!(
        plan.contains("SCAN g VIRTUAL TABLE")
            && plan.contains("SEARCH a USING PRIMARY KEY (seq=? AND path_key=?)"),
        "{plan}"
    );
    assert!(
        !plan
            .lines()
            .any(|l| l.contains("SCAN") && !l.contains("VIRTUAL TABLE")),
        "{plan}"
    );
    // Without a `co` / `ew` leaf there is nothing to probe, and the SQL is the plain
    // translation (which the query then runs as it is).
    let eq: Filter = r#"userName eq "x" or displayName sw "b""#.parse().unwrap();
    let (plain, probes) = translate_probing::<Sqlite>(&schema, &paths, KEYS, &eq).unwrap();
    assert!(probes.is_empty());
    assert_eq!(Some(plain), translate::<Sqlite>(&schema, &paths, KEYS, &eq));
}

/// With the substring indexes off, `co` is answered by the scan, as exactly, and no index
/// is built.
#[tokio::test]
async fn substring_indexes_can_be_turned_off() {
    let storage = SqliteStorage::open_in_memory()
        .unwrap()
        .substring_indexes(false);
    let tenant = TenantId::new("t").unwrap();
    let schema = user_resource_schema();
    let scope = Scope::new(&tenant, &schema);
    for i in 0..40 {
        let new = emailed(&format!("u{i}"), &format!("u{i}@example.com"), "h@x.org");
        storage.create(scope, new).await.unwrap();
    }
    assert_eq!(
        found(
            &storage,
            scope,
            r#"emails[type eq "work" and value co "u3"]"#
        )
        .await,
        [
            "u3", "u30", "u31", "u32", "u33", "u34", "u35", "u36", "u37", "u38", "u39"
        ]
    );
    assert_eq!(
        found(&storage, scope, r#"emails.value co "u12@""#).await,
        ["u12"]
    );
    assert_eq!(storage.inner.substrings.served(), 0);
}
