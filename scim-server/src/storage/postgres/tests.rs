use super::*;
use std::time::Duration;

use crate::storage::sql::index::layout;
use crate::storage::sql::upgrade_check;
use crate::storage::suite::{new_user, unfiltered_total};
use crate::storage::testing::{fresh_schema, postgres_test_url};

mod substring_indexes;

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
    // A SQLite cursor is not a PostgreSQL one.
    let sqlite_like =
        scim_core::messages::base64url_encode(format!("sq1.42.{:x}", 7u64).as_bytes());
    assert!(decode_cursor(CURSOR_TAG, &sqlite_like, 7).is_err());
}

#[test]
fn config_builder() {
    let c = PostgresConfig::new("postgres://x@localhost/db")
        .schema("s1")
        .max_connections(0);
    assert_eq!(c.schema, "s1");
    assert_eq!(c.max_connections, 1);
}

#[tokio::test]
async fn bad_settings_are_errors_not_panics() {
    let e = PostgresStorage::connect_with_schema("postgres://x@127.0.0.1:1/db", "Bad-Name")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
    let e = PostgresStorage::connect("not a url at all ===")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
    // Nothing listens on port 1: a connection error, not a panic.
    let e = PostgresStorage::connect_with(
        PostgresConfig::new("postgres://x@127.0.0.1:1/db").connect_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::Backend);
}

/// A schema written at version 1 (its DDL and rows: no `elem`, no `emails.type`) is
/// migrated to version 2 on connect and, once its rows are rebuilt from the stored JSON,
/// answers value paths. Needs `SCIM_TEST_POSTGRES_URL` (skipped without it, unless
/// `SCIM_REQUIRE_POSTGRES=1`).
#[tokio::test]
async fn a_version_1_schema_is_migrated_and_answers_value_paths() {
    let Some(url) = postgres_test_url() else {
        return;
    };
    let name = fresh_schema("scim_v1");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {name}; SET search_path TO {name}; {}; \
             CREATE TABLE scim_schema_migrations (version INTEGER PRIMARY KEY, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); \
             INSERT INTO scim_schema_migrations (version) VALUES (1);",
            schema::VERSION_1
        ))
        .await
        .unwrap();
    for (id, json) in upgrade_check::V1_USERS {
        let data: Value = serde_json::from_str(json).unwrap();
        let seq: i64 = client
            .query_one(
                "INSERT INTO resources (tenant, rtype, id, version, data) \
                 VALUES ($1, 'User', $2, 1, $3) RETURNING seq",
                &[&upgrade_check::TENANT, &id, &Json(&data)],
            )
            .await
            .unwrap()
            .get(0);
        for (path, value) in upgrade_check::v1_rows(id, json) {
            client
                .execute(
                    "INSERT INTO attr_index (tenant, rtype, path, value_norm, seq) \
                     VALUES ($1, 'User', $2, $3, $4)",
                    &[&upgrade_check::TENANT, &path, &value.into_bytes(), &seq],
                )
                .await
                .unwrap();
        }
    }
    let storage = PostgresStorage::connect_with_schema(&url, &name)
        .await
        .unwrap();
    let (schema_name, test_url) = (name.clone(), url.clone());
    let result = std::panic::AssertUnwindSafe(async move {
        let (name, url) = (schema_name, test_url);
        assert_eq!(
            storage.schema_version().await.unwrap(),
            schema::SCHEMA_VERSION
        );
        upgrade_check::assert_answers_value_paths(&storage).await;
        let tenant = TenantId::new(upgrade_check::TENANT).unwrap();
        let schema = scim_core::builtin::user_resource_schema();
        let scope = Scope::new(&tenant, &schema);
        // Another handle (another process) finds the layout current: no rebuild.
        let other = PostgresStorage::connect_with_schema(&url, &name)
            .await
            .unwrap();
        let ctx = Ctx::new(scope);
        assert!(
            !ensure_layout(&other.pool, &name, &ctx, &layout(&ctx.paths))
                .await
                .unwrap()
        );
    })
    .catch_unwind_fut()
    .await;
    drop_schema_then_resume(&url, &name, result).await;
}

/// Once a handle created [`statistics::FIRST_ANALYZE`] resources, it vacuums and analyzes
/// the tables itself (autovacuum would only after its next check, up to a minute later: it sets
/// `last_autoanalyze`, this test waits for `last_analyze`), and the lookup by id then goes
/// through the primary key. Without statistics the planner chose `resources_scope` and read
/// every resource of the type.
#[tokio::test]
async fn the_tables_are_analyzed_after_growth_and_lookups_use_the_primary_key() {
    in_fresh_schema("scim_stats", |storage, client, name| async move {
        let tenant = TenantId::new("t1").unwrap();
        let schema = scim_core::builtin::user_resource_schema();
        let users = (0..statistics::FIRST_ANALYZE).map(|i| {
            new_user(
                &format!("id-{i}"),
                &format!("user{i}@example.com"),
                serde_json::json!({}),
            )
        });
        storage
            .create_many(Scope::new(&tenant, &schema), users)
            .await
            .unwrap();
        let analyzed = "SELECT last_analyze IS NOT NULL AND last_vacuum IS NOT NULL \
                        FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'resources'";
        let mut waited = 0;
        while !client.query_one(analyzed, &[&name]).await.unwrap().get::<_, bool>(0) {
            assert!(waited < 300, "the tables were not vacuumed and analyzed within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        let plan = explain(
            &client,
            &format!("SET search_path TO {name}; PREPARE get_resource(text, text, text) AS {GET_RESOURCE}"),
            "EXPLAIN EXECUTE get_resource('t1', 'User', 'id-7')",
        )
        .await;
        assert!(
            plan.iter().any(|l| l.contains("resources_pkey")),
            "{plan:#?}"
        );
    })
    .await;
}

/// The indexes whose keys end in `seq` (so that no two entries are equal) do not try
/// B-tree deduplication (schema version 8, on PostgreSQL 13 and later).
#[tokio::test]
async fn the_indexes_of_unique_keys_do_not_deduplicate() {
    in_fresh_schema("scim_dedup", |_storage, client, name| async move {
        let version: i32 = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .unwrap()
            .get(0);
        let options = |index: &'static str| {
            let (client, name) = (&client, &name);
            async move {
                client
                    .query_one(
                        "SELECT coalesce(array_to_string(c.reloptions, ','), '') FROM pg_class c \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = $1 AND c.relname = $2",
                        &[name, &index],
                    )
                    .await
                    .unwrap()
                    .get::<_, String>(0)
            }
        };
        for index in [
            "attr_index_lookup",
            "attr_index_num",
            "attr_index_sort",
            "attr_index_seq",
            "resources_scope",
        ] {
            let set = options(index).await;
            if version >= 130000 {
                assert!(set.contains("deduplicate_items=off"), "{index}: {set:?}");
            } else {
                assert!(set.is_empty(), "{index}: {set:?}");
            }
        }
        // An index whose entries may be equal keeps PostgreSQL's default.
        assert_eq!(options("unique_values_seq").await, "");
    })
    .await;
}

/// A path key that `path_keys` records for another path is refused, and the create with
/// it fails without writing (two paths' rows never share a key; see `sql::path_key`). The
/// collision is made by hand: the key of `username` in the scope recorded for another
/// tenant's path, as another server would have recorded it.
#[tokio::test]
async fn a_key_recorded_for_another_path_refuses_the_write() {
    in_fresh_schema("scim_keys", |storage, client, name| async move {
        let tenant = TenantId::new("t").unwrap();
        let schema = scim_core::builtin::user_resource_schema();
        let scope = Scope::new(&tenant, &schema);
        let taken = PathKeys::new("t", "User").of("username");
        client
            .execute(
                &format!(
                    "INSERT INTO {name}.path_keys (path_key, tenant, rtype, path) \
                     VALUES ($1, 'o', 'User', 'x')"
                ),
                &[&taken],
            )
            .await
            .unwrap();
        let new = new_user("u1", "user1", serde_json::json!({}));
        let err = storage.create(scope, new).await.unwrap_err();
        assert!(
            err.to_string().contains("already the key of 'x' of 'o'"),
            "{err}"
        );
        let count =
            async |sql: String| -> i64 { client.query_one(&sql, &[]).await.unwrap().get(0) };
        assert_eq!(
            count(format!("SELECT count(*) FROM {name}.resources")).await,
            0
        );
        // Another tenant's paths have other keys: its writes go on, and record their keys.
        let other = TenantId::new("o2").unwrap();
        let new = new_user("u2", "user2", serde_json::json!({}));
        storage
            .create(Scope::new(&other, &schema), new)
            .await
            .unwrap();
        let recorded = count(format!(
            "SELECT count(*) FROM {name}.path_keys WHERE tenant = 'o2' AND rtype = 'User' \
             AND path = 'username' AND path_key = {}",
            PathKeys::new("o2", "User").of("username")
        ))
        .await;
        assert_eq!(recorded, 1);
    })
    .await;
}

/// A resource's `attr_index` and `unique_values` rows go with it, whoever deletes it (the
/// storage, or a statement run by hand): the trigger of schema version 6 does what the
/// foreign keys' `ON DELETE CASCADE` did; and a user name is free again after its user went.
#[tokio::test]
async fn a_deleted_resource_leaves_no_index_or_unique_rows() {
    in_fresh_schema("scim_cascade", |storage, client, name| async move {
        let tenant = TenantId::new("t1").unwrap();
        let schema = scim_core::builtin::user_resource_schema();
        let scope = Scope::new(&tenant, &schema);
        let user = |id: &str, user_name: &str| {
            let email = format!("{user_name}@example.com");
            new_user(
                id,
                user_name,
                serde_json::json!({"emails": [{"value": email, "type": "work"}]}),
            )
        };
        storage.create(scope, user("u1", "alice")).await.unwrap();
        storage.create(scope, user("u2", "bob")).await.unwrap();
        let count =
            async |sql: String| -> i64 { client.query_one(&sql, &[]).await.unwrap().get(0) };
        let of_u1 = count(format!(
            "SELECT count(*) FROM {name}.attr_index a JOIN {name}.resources r \
             ON r.seq = a.seq WHERE r.id = 'u1'"
        ))
        .await;
        assert!(of_u1 >= 3, "u1 has index rows: {of_u1}");
        storage.delete(scope, "u1", None).await.unwrap();
        client
            .execute(
                &format!("DELETE FROM {name}.resources WHERE id = 'u2'"),
                &[],
            )
            .await
            .unwrap();
        for table in ["attr_index", "unique_values"] {
            let orphans = count(format!(
                "SELECT count(*) FROM {name}.{table} t WHERE NOT EXISTS \
                 (SELECT 1 FROM {name}.resources r WHERE r.seq = t.seq)"
            ))
            .await;
            assert_eq!(orphans, 0, "orphan rows in {table}");
        }
        let total = count(format!("SELECT count(*) FROM {name}.attr_index")).await;
        assert_eq!(total, 0);
        storage.create(scope, user("u3", "alice")).await.unwrap();
        storage.create(scope, user("u4", "bob")).await.unwrap();
    })
    .await;
}

/// Runs `test` with a storage in a fresh schema (named from `prefix`), a client of the same
/// database and the schema's name; drops the schema whatever the outcome, then re-raises
/// the test's panic, if any. Skipped without `SCIM_TEST_POSTGRES_URL`.
async fn in_fresh_schema<F, Fut>(prefix: &str, test: F)
where
    F: FnOnce(PostgresStorage, tokio_postgres::Client, String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_test_url() else {
        return;
    };
    let name = fresh_schema(prefix);
    let storage = PostgresStorage::connect_with_schema(&url, &name)
        .await
        .unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let result = std::panic::AssertUnwindSafe(test(storage, client, name.clone()))
        .catch_unwind_fut()
        .await;
    drop_schema_then_resume(&url, &name, result).await;
}

/// The lines of the plan `explain` (an `EXPLAIN` statement) prints after `setup` ran.
async fn explain(client: &tokio_postgres::Client, setup: &str, explain: &str) -> Vec<String> {
    client.batch_execute(setup).await.unwrap();
    client
        .query(explain, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Drops a test's schema whatever the test's outcome, then re-raises its panic, if any.
async fn drop_schema_then_resume(url: &str, name: &str, result: std::thread::Result<()>) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
        .await
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// `catch_unwind` for a future, without the `futures` crate.
trait CatchUnwindFut: std::future::Future + Sized {
    async fn catch_unwind_fut(self) -> std::thread::Result<Self::Output>
    where
        Self: std::panic::UnwindSafe + Send + 'static,
        Self::Output: Send + 'static,
    {
        tokio::spawn(self).await.map_err(|e| {
            e.try_into_panic()
                .unwrap_or_else(|_| Box::new("the test task was cancelled"))
        })
    }
}

impl<F: std::future::Future> CatchUnwindFut for F {}

/// A lookup by one value of a unique attribute, by offset and without members, is read as a
/// lookup (its key and operand from `eq_lookup`); every other query keeps the general path.
#[test]
fn unique_lookups_are_recognised_and_nothing_else() {
    let (tenant, users, groups) = (
        TenantId::new("t").unwrap(),
        scim_core::builtin::user_resource_schema(),
        scim_core::builtin::group_resource_schema(),
    );
    let offset = StoragePage::Offset {
        offset: 0,
        limit: 10,
    };
    let cursor = StoragePage::Cursor {
        after: None,
        limit: 10,
    };
    let by_name = SortSpec::new(
        "userName".parse().unwrap(),
        scim_core::sort::SortOrder::Ascending,
    );
    let lookup = |schema: &ResourceSchema, text: &str, sort, page, load| {
        let scope = Scope::new(&tenant, schema);
        let f: Filter = text.parse().unwrap();
        let query = StorageQuery {
            filter: Some(&f),
            sort,
            page,
            load,
        };
        group_read::unique_lookup(&Ctx::new(scope), &query).map(|l| l.value)
    };
    assert_eq!(
        lookup(&users, r#"userName eq "BJensen""#, None, &offset, Load::ALL),
        Some(b"bjensen".to_vec()),
        "folded, as the index holds it"
    );
    // `id` has no index rows: the general path reads it by the key of `resources`.
    assert_eq!(
        lookup(&users, r#"id eq "Ab-1""#, None, &offset, Load::VERSION),
        None
    );
    for text in [
        r#"userName sw "b""#,
        r#"userName eq "a" or userName eq "b""#,
        r#"active eq true"#,
        r#"externalId eq "x""#,
        r#"emails.value eq "a@x.org""#,
    ] {
        assert_eq!(
            lookup(&users, text, None, &offset, Load::ALL),
            None,
            "{text}"
        );
    }
    let name = r#"userName eq "b""#;
    assert_eq!(
        lookup(&users, name, Some(&by_name), &offset, Load::ALL),
        None
    );
    assert_eq!(lookup(&users, name, None, &cursor, Load::ALL), None);
    // Groups whose displayName is unique (the built-in Group schema has no unique attribute
    // but `id`, which has no index rows).
    let mut core = (*groups.core).clone();
    if let Some(a) = core.attributes.iter_mut().find(|a| a.name == "displayName") {
        a.uniqueness = scim_core::schema::Uniqueness::Server;
    }
    let groups = ResourceSchema::new((*groups.resource_type).clone(), core, vec![]);
    let members = lookup(&groups, r#"displayName eq "g""#, None, &offset, Load::ALL);
    assert_eq!(members, None, "a group's members need their snapshot");
    assert!(
        lookup(
            &groups,
            r#"displayName eq "g""#,
            None,
            &offset,
            Load::VERSION
        )
        .is_some()
    );
}

/// The `totalResults` of an unfiltered list is the count kept by the triggers on
/// `resources`: it follows creates (one by one, together in a batch, and `create_many`),
/// deletes (through the storage and by hand), ignores a refused create and other tenants,
/// and the lists (offset, sorted) read it rather than counting the rows.
#[tokio::test]
async fn unfiltered_totals_come_from_the_kept_count() {
    in_fresh_schema("scim_counts", |storage, client, name| async move {
        let (tenant, other) = (TenantId::new("t").unwrap(), TenantId::new("o").unwrap());
        let schema = scim_core::builtin::user_resource_schema();
        let scope = Scope::new(&tenant, &schema);
        let total = |sort: Option<SortSpec>| {
            let storage = &storage;
            async move { unfiltered_total(storage, scope, sort.as_ref()).await }
        };
        let user =
            |i: usize| new_user(&format!("u{i}"), &format!("user{i}"), serde_json::json!({}));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (storage, tenant, schema) = (storage.clone(), tenant.clone(), schema.clone());
            tasks.push(tokio::spawn(async move {
                storage
                    .create(Scope::new(&tenant, &schema), user(i))
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        storage
            .create_many(scope, (20..25).map(user))
            .await
            .unwrap();
        let oscope = Scope::new(&other, &schema);
        storage.create(oscope, user(99)).await.unwrap();
        let taken = new_user("u98", "user0", serde_json::json!({}));
        assert!(storage.create(scope, taken).await.is_err());
        storage.delete(scope, "u1", None).await.unwrap();
        client
            .execute(
                &format!("DELETE FROM {name}.resources WHERE id IN ('u2', 'u3')"),
                &[],
            )
            .await
            .unwrap();
        let by_name = SortSpec::new(
            "userName".parse().unwrap(),
            scim_core::sort::SortOrder::Ascending,
        );
        assert_eq!(total(None).await, 22);
        assert_eq!(total(Some(by_name.clone())).await, 22);
        // The lists read the kept count: set it apart from the rows, and they report it.
        client
            .execute(
                &format!("UPDATE {name}.resource_counts SET n = 40 WHERE tenant = 't'"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(total(None).await, 40);
        assert_eq!(total(Some(by_name)).await, 40);
    })
    .await;
}

/// The page of an unfiltered list is read through the scope index, also in the generic
/// plan PostgreSQL keeps for a prepared statement: a tenant created after a larger one does
/// not read the larger one's rows (it did when the page was ordered by `seq` alone, and
/// `EXPLAIN` showed `resources_seq_key` with the other tenant's rows filtered out).
#[tokio::test]
async fn unfiltered_pages_read_the_scope_index_in_the_generic_plan() {
    in_fresh_schema("scim_scope", |storage, client, name| async move {
        let schema = scim_core::builtin::user_resource_schema();
        let user =
            |i: usize| new_user(&format!("u{i}"), &format!("user{i}"), serde_json::json!({}));
        let (big, small) = (
            TenantId::new("big").unwrap(),
            TenantId::new("small").unwrap(),
        );
        storage
            .create_many(Scope::new(&big, &schema), (0..2000).map(user))
            .await
            .unwrap();
        storage
            .create_many(Scope::new(&small, &schema), (0..200).map(user))
            .await
            .unwrap();
        client
            .batch_execute(&format!("ANALYZE {name}.resources"))
            .await
            .unwrap();
        for cursor in [false, true] {
            let sql = unfiltered_page_sql(3, 4, cursor, "NULL::json");
            let setup = format!(
                "SET search_path TO {name}; SET plan_cache_mode = force_generic_plan; \
                 DEALLOCATE ALL; PREPARE page(text, text, bigint, bigint) AS {sql}"
            );
            let run = "EXPLAIN ANALYZE EXECUTE page('small', 'User', 101, 0)";
            let plan = explain(&client, &setup, run).await;
            assert!(
                plan.iter().any(|l| l.contains("resources_scope")),
                "{plan:#?}"
            );
            assert!(
                !plan
                    .iter()
                    .any(|l| l.contains("Rows Removed by Filter: 2000")),
                "{plan:#?}"
            );
        }
    })
    .await;
}
