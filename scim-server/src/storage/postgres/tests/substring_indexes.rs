//! The substring indexes (`substrings.rs`): answers equal to scim-core's evaluator, the
//! change feed read from other processes, the snapshots an index serves, concurrency.

use super::*;
use std::collections::BTreeMap;

/// A user whose emails are `(value, type)` pairs.
fn emailed(id: &str, emails: &[(&str, &str)]) -> NewResource {
    let emails: Vec<Value> = emails
        .iter()
        .map(|(value, kind)| serde_json::json!({"value": value, "type": kind}))
        .collect();
    new_user(
        id,
        &format!("name-{id}"),
        serde_json::json!({ "emails": emails }),
    )
}

/// The ids `storage` finds for `text` (by `seq`, or sorted by `userName`), and how many
/// probes the substring indexes answered for it.
async fn found(
    storage: &PostgresStorage,
    scope: Scope<'_>,
    text: &str,
    sorted: bool,
) -> (Vec<String>, usize) {
    let f: Filter = text.parse().unwrap();
    let sort = sorted.then(|| {
        SortSpec::new(
            "userName".parse().unwrap(),
            scim_core::sort::SortOrder::Ascending,
        )
    });
    let page = StoragePage::Offset {
        offset: 0,
        limit: 1000,
    };
    let q = StorageQuery {
        filter: Some(&f),
        sort: sort.as_ref(),
        page: &page,
        load: Load::WITHOUT_MEMBERS,
    };
    let before = storage.substrings.served();
    let page = storage.query(scope, q).await.unwrap();
    assert_eq!(page.total_results as usize, page.resources.len(), "{text}");
    let mut ids: Vec<String> = page.resources.into_iter().map(|r| r.id).collect();
    if !sorted {
        ids.sort();
    }
    (ids, storage.substrings.served() - before)
}

/// The tenant `t`, the User schema and the users by id, after `n` users `u<i>` with the
/// work email `u<i>@example.com` were created through `storage`.
async fn with_users(
    storage: &PostgresStorage,
    n: usize,
) -> (TenantId, ResourceSchema, BTreeMap<String, Resource>) {
    let tenant = TenantId::new("t").unwrap();
    let schema = scim_core::builtin::user_resource_schema();
    let new: Vec<NewResource> = (0..n)
        .map(|i| emailed(&format!("u{i}"), &[(&format!("u{i}@example.com"), "work")]))
        .collect();
    let users = new
        .iter()
        .map(|u| (u.id.clone(), u.resource.clone()))
        .collect();
    storage
        .create_many(Scope::new(&tenant, &schema), new)
        .await
        .unwrap();
    (tenant, schema, users)
}

/// Another storage on the schema `name` (another server process, as far as the first
/// one's memory goes).
async fn second_storage(name: &str) -> PostgresStorage {
    let url = postgres_test_url().unwrap();
    PostgresStorage::connect_with_schema(&url, name)
        .await
        .unwrap()
}

/// The ids of `users` that scim-core's evaluator matches with `text`, sorted (by id, or by
/// `userName`, which is `name-<id>`).
fn evaluated(users: &BTreeMap<String, Resource>, text: &str) -> Vec<String> {
    let schema = scim_core::builtin::user_resource_schema();
    let f: Filter = text.parse().unwrap();
    let compiled = f.compile(&schema).unwrap();
    users
        .iter()
        .filter(|(_, r)| compiled.matches(r))
        .map(|(id, _)| id.clone())
        .collect()
}

/// `co` / `ew` filters (in value paths, under `not`, checked per candidate of another
/// conjunct, sorted) answer as scim-core's evaluator does over every user, before and after
/// replaces that move, drop and add values, deletes, creates (an id created again), and
/// after the changes the index had not read were pruned; the probes that can be served are
/// answered from the indexes (a probe per candidate, by `attr_index_seq`, never a scan of
/// the path), the others (operands of two bytes, candidates that are not few) by the plain
/// SQL. Another tenant's values are never candidates.
#[tokio::test]
async fn substring_filters_answer_from_the_index_as_the_evaluator_does() {
    in_fresh_schema("scim_substrings", |storage, client, name| async move {
        let (tenant, other) = (TenantId::new("t").unwrap(), TenantId::new("o").unwrap());
        let schema = scim_core::builtin::user_resource_schema();
        let scope = Scope::new(&tenant, &schema);
        // (filter, served by the indexes)
        let filters = [
            (r#"emails[type eq "work" and value co "u50"]"#, true),
            (r#"emails[type eq "work" and value co "u5"]"#, false),
            (r#"emails.value co "@MAIL.org""#, false),
            (r#"emails co "home1""#, true),
            (r#"emails[value ew "7@example.com"]"#, true),
            (
                r#"emails.value co "u15" and (userName co "e-u15" or title eq "x")"#,
                true,
            ),
            (r#"userName co "ame-u1" or emails.value co "ürg""#, false),
            (r#"not (emails.value co "u12@")"#, true),
            (r#"emails[type eq "home" and value ew "9@mail.org"]"#, true),
            (r#"emails.value co "elsewhere""#, true),
        ];
        let mut users = BTreeMap::new();
        let mut all = Vec::new();
        for i in 0..300 {
            let (id, work, home) = (
                format!("u{i}"),
                format!("u{i}@example.com"),
                format!("home{i}@Mail.org"),
            );
            let new = emailed(&id, &[(&work, "work"), (&home, "home")]);
            users.insert(id, new.resource.clone());
            all.push(new);
        }
        storage.create_many(scope, all).await.unwrap();
        let others =
            (0..40).map(|i| emailed(&format!("o{i}"), &[(&format!("u{i}@example.com"), "work")]));
        storage
            .create_many(Scope::new(&other, &schema), others)
            .await
            .unwrap();
        let check = async |stage: &str, users: &BTreeMap<String, Resource>| {
            for (text, served) in filters {
                let (ids, probes) = found(&storage, scope, text, false).await;
                assert_eq!(ids, evaluated(users, text), "{stage}: {text}");
                assert_eq!(
                    probes > 0,
                    served,
                    "{stage}: {text} served by {probes} probes"
                );
            }
            let text = r#"emails.value co "u15""#;
            let (ids, probes) = found(&storage, scope, text, true).await;
            let mut want = evaluated(users, text);
            want.sort_by_key(|id| format!("name-{id}"));
            assert_eq!((ids, probes > 0), (want, true), "{stage}: sorted {text}");
        };
        check("built", &users).await;

        // A probe's candidates are searched by `seq` (`attr_index_seq`): no scan of the path.
        client
            .batch_execute(&format!("ANALYZE {name}.attr_index"))
            .await
            .unwrap();
        let ctx = storage.layouts.ctx(scope);
        let f: Filter = r#"emails[type eq "work" and value co "u50"]"#.parse().unwrap();
        let (mut set, probes) = substrings::translate(&ctx, &f).unwrap();
        for p in &probes {
            set.params[p.param] = filter_sql::Param::Seqs(vec![1, 2, 3]);
        }
        let mut args: Vec<Param<'_>> = vec![&ctx.tenant, &ctx.rtype];
        args.extend(set.params.iter().map(|p| p.as_sql()));
        let sql = format!(
            "EXPLAIN SELECT count(*) FROM {name}.attr_index WHERE seq IN ({})",
            set.sql
        );
        let setup = format!("SET search_path TO {name}");
        client.batch_execute(&setup).await.unwrap();
        let explain = async || -> Vec<String> {
            let rows = client.query(&sql, &args).await.unwrap();
            rows.iter().map(|r| r.get(0)).collect()
        };
        let plan = explain().await;
        // The candidates of `emails.value` (the path with rows) are searched by `seq`. The
        // other probed key, `emails` (primitive elements), has no rows here: the planner
        // may read its empty range of `attr_index_lookup` instead, which costs less than
        // three searches.
        let value_key = ctx.keys().of("emails.value");
        let value_scans: Vec<&String> = plan
            .iter()
            .filter(|l| l.contains(&format!("path_key = '{value_key}'")))
            .collect();
        assert!(
            !value_scans.is_empty()
                && value_scans
                    .iter()
                    .all(|l| l.contains("(seq = g") && l.contains("AND (path_key")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|l| l.contains("Function Scan on unnest"))
                && !plan.iter().any(|l| l.contains("Seq Scan on attr_index")),
            "{plan:#?}"
        );
        // A prepared statement's generic plan, which knows no parameter, checks the type
        // per candidate too (`Dialect::PER_CANDIDATE`), not by a join with every index
        // entry of `emails.type = "work"`.
        client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await
            .unwrap();
        let generic = explain().await;
        client.batch_execute("RESET plan_cache_mode").await.unwrap();
        assert!(
            generic.iter().any(|l| l.contains("SubPlan"))
                && !generic.iter().any(|l| l.contains("Semi Join")),
            "{generic:#?}"
        );

        let write = async |id: &str,
                           emails: Option<&[(&str, &str)]>,
                           users: &mut BTreeMap<String, Resource>| {
            match emails {
                Some(emails) => {
                    let new = emailed(id, emails);
                    users.insert(id.to_string(), new.resource.clone());
                    let (resource, unique) = (new.resource, new.unique);
                    let replacement = Replacement {
                        resource,
                        members: None,
                        unique,
                    };
                    storage.replace(scope, id, replacement, None).await.unwrap();
                }
                None => {
                    users.remove(id);
                    storage.delete(scope, id, None).await.unwrap();
                }
            }
        };
        let moved = [("moved@Mail.org", "home")];
        write(
            "u5",
            Some(&[("jürgen@example.com", "work"), moved[0]]),
            &mut users,
        )
        .await;
        write("u50", Some(&[("x@y.org", "work")]), &mut users).await;
        write("u7", Some(&[("z7@example.com", "work")]), &mut users).await;
        write("u8", Some(&[]), &mut users).await;
        write(
            "u9",
            Some(&[
                ("u9@example.com", "work"),
                ("u150-extra@other.net", "other"),
            ]),
            &mut users,
        )
        .await;
        write("u52", Some(&[("zz@elsewhere.net", "work")]), &mut users).await;
        write("u51", None, &mut users).await;
        write("u17", None, &mut users).await;
        write("u12", None, &mut users).await;
        for (id, work) in [
            ("u12", "u12@example.com"),
            ("u300", "u50-new@example.com"),
            ("u301", "a1519@mail.org"),
        ] {
            let new = emailed(id, &[(work, "work")]);
            users.insert(id.to_string(), new.resource.clone());
            storage.create(scope, new).await.unwrap();
        }
        check("after writes", &users).await;

        // A write the index has not read, every change pruned, another write: the index
        // cannot read what it missed and is rebuilt.
        write("u53", Some(&[("elsewhere2@x.org", "work")]), &mut users).await;
        let head = storage.changes_since(&tenant, 0, 10_000).await.unwrap();
        storage
            .prune_changes(&tenant, head.last().unwrap().seq)
            .await
            .unwrap();
        write("u54", None, &mut users).await;
        check("after pruning", &users).await;
    })
    .await;
}

/// A write made by ANOTHER storage on the same database (another server process, as far
/// as the first one's memory goes) is seen by the first one's next `co` query, answered
/// from its index (caught up from the change feed).
#[tokio::test]
async fn a_write_of_another_process_is_seen_by_the_next_substring_query() {
    in_fresh_schema(
        "scim_substrings_other",
        |storage, _client, name| async move {
            let other = second_storage(&name).await;
            let (tenant, schema, _) = with_users(&storage, 100).await;
            let scope = Scope::new(&tenant, &schema);
            let text = r#"emails[type eq "work" and value co "u42@"]"#;
            assert_eq!(
                found(&storage, scope, text, false).await,
                (vec!["u42".to_string()], 2)
            );
            let moved = emailed("u42", &[("gone@example.com", "work")]);
            let replacement = Replacement {
                resource: moved.resource,
                members: None,
                unique: moved.unique,
            };
            other
                .replace(scope, "u42", replacement, None)
                .await
                .unwrap();
            other
                .create(scope, emailed("n1", &[("xu42@example.com", "work")]))
                .await
                .unwrap();
            assert_eq!(
                found(&storage, scope, text, false).await,
                (vec!["n1".to_string()], 2)
            );
            let (ids, _) = found(&storage, scope, r#"emails.value co "gone@""#, false).await;
            assert_eq!(ids, ["u42"]);
        },
    )
    .await;
}

/// An index that read changes past a query's snapshot does not serve that (older)
/// snapshot, which may show a value the index never read; a newer snapshot is served.
#[tokio::test]
async fn a_substring_index_serves_no_snapshot_older_than_what_it_read() {
    in_fresh_schema(
        "scim_substrings_old",
        |storage, _client, _name| async move {
            let (tenant, schema, _) = with_users(&storage, 40).await;
            let scope = Scope::new(&tenant, &schema);
            let text = r#"emails.value co "u3@""#;
            assert_eq!(found(&storage, scope, text, false).await.0, ["u3"]);
            let ctx = storage.layouts.ctx(scope);
            let (_, probes) = substrings::translate(&ctx, &text.parse().unwrap()).unwrap();
            let mut old_client = storage.client().await.unwrap();
            let old = read_snapshot(&mut old_client).await.unwrap();
            let old_head = head_planning_generically(&old, &ctx).await.unwrap();
            storage
                .create(scope, emailed("n1", &[("nu3@example.com", "work")]))
                .await
                .unwrap();
            assert_eq!(
                found(&storage, scope, text, false).await,
                (vec!["n1".to_string(), "u3".to_string()], 1)
            );
            let mut locked = storage.substrings.lock(&ctx, &probes).await;
            assert!(locked.ahead_of(&old_head));
            assert_eq!(
                locked
                    .candidates(&old, &ctx, &old_head, &probes)
                    .await
                    .unwrap(),
                None
            );
            let mut new_client = storage.client().await.unwrap();
            let new = read_snapshot(&mut new_client).await.unwrap();
            let new_head = head_planning_generically(&new, &ctx).await.unwrap();
            assert!(!locked.ahead_of(&new_head));
            let lists = locked
                .candidates(&new, &ctx, &new_head, &probes)
                .await
                .unwrap();
            assert_eq!(
                lists.map(|l| l.iter().map(Vec::len).sum::<usize>()),
                Some(2)
            );
        },
    )
    .await;
}

/// Queries of several tasks and two storages run at once with writes: every answer holds
/// the users every snapshot shows (each holds one address with `flip-` in every version),
/// and nothing waits forever.
#[tokio::test]
async fn concurrent_substring_queries_and_writes_agree() {
    in_fresh_schema(
        "scim_substrings_busy",
        |storage, _client, name| async move {
            let other = second_storage(&name).await;
            let tenant = TenantId::new("t").unwrap();
            let schema = scim_core::builtin::user_resource_schema();
            let users = (0..60).map(|i| {
                let value = if i < 8 {
                    format!("flip-{i}-v0@x.org")
                } else {
                    format!("u{i}@example.com")
                };
                emailed(&format!("u{i}"), &[(&value, "work")])
            });
            storage
                .create_many(Scope::new(&tenant, &schema), users)
                .await
                .unwrap();
            let want: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();
            let mut tasks = Vec::new();
            for t in 0..6 {
                let (s, tenant, schema, want) = (
                    if t % 2 == 0 {
                        storage.clone()
                    } else {
                        other.clone()
                    },
                    tenant.clone(),
                    schema.clone(),
                    want.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let scope = Scope::new(&tenant, &schema);
                    for n in 0..12 {
                        if t == 0 {
                            let i = n % 8;
                            let new = emailed(
                                &format!("u{i}"),
                                &[(&format!("flip-{i}-v{n}@x.org"), "work")],
                            );
                            let replacement = Replacement {
                                resource: new.resource,
                                members: None,
                                unique: new.unique,
                            };
                            s.replace(scope, &format!("u{i}"), replacement, None)
                                .await
                                .unwrap();
                        }
                        let (ids, _) = found(&s, scope, r#"emails.value co "flip-""#, false).await;
                        assert_eq!(ids, want);
                    }
                }));
            }
            for task in tasks {
                tokio::time::timeout(Duration::from_secs(60), task)
                    .await
                    .unwrap()
                    .unwrap();
            }
            assert!(storage.substrings.served() > 0 && other.substrings.served() > 0);
        },
    )
    .await;
}

/// A query that took its snapshot, then waited for the lock of an index while another
/// query caught it up past that snapshot, takes a new snapshot under the lock and is
/// answered from the index (it would otherwise read every row of the path).
#[tokio::test]
async fn a_substring_query_behind_its_index_takes_a_newer_snapshot() {
    in_fresh_schema(
        "scim_substrings_retry",
        |storage, _client, _name| async move {
            let (tenant, schema, _) = with_users(&storage, 40).await;
            let scope = Scope::new(&tenant, &schema);
            let text = r#"emails.value co "u3@""#;
            assert_eq!(
                found(&storage, scope, text, false).await,
                (vec!["u3".to_string()], 1)
            );
            let ctx = storage.layouts.ctx(scope);
            let (_, probes) = substrings::translate(&ctx, &text.parse().unwrap()).unwrap();
            let mut locked = storage.substrings.lock(&ctx, &probes).await;
            let waiting = {
                let (storage, tenant, schema) = (storage.clone(), tenant.clone(), schema.clone());
                tokio::spawn(async move {
                    found(&storage, Scope::new(&tenant, &schema), text, false).await
                })
            };
            // The query holds its snapshot and waits for the lock.
            while storage.substrings.holders(&ctx, "emails.value") < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            storage
                .create(scope, emailed("n1", &[("nu3@example.com", "work")]))
                .await
                .unwrap();
            let mut client = storage.client().await.unwrap();
            let tx = read_snapshot(&mut client).await.unwrap();
            let head = head_planning_generically(&tx, &ctx).await.unwrap();
            assert!(
                locked
                    .candidates(&tx, &ctx, &head, &probes)
                    .await
                    .unwrap()
                    .is_some()
            );
            drop(locked);
            // Served twice while it ran: the catch-up above, and its own probe.
            let (ids, served) = waiting.await.unwrap();
            assert_eq!((ids, served), (vec!["n1".to_string(), "u3".to_string()], 2));
        },
    )
    .await;
}

/// With the indexes off (`PostgresStorage::substring_indexes(false)`), `co` / `ew` filters
/// are answered by the plain SQL, as exactly, and no probe is answered from an index.
#[tokio::test]
async fn substring_indexes_can_be_turned_off() {
    in_fresh_schema(
        "scim_substrings_off",
        |storage, _client, _name| async move {
            let (tenant, schema, users) = with_users(&storage, 40).await;
            let scope = Scope::new(&tenant, &schema);
            let off = storage.clone().substring_indexes(false);
            for text in [
                r#"emails[type eq "work" and value co "u1@"]"#,
                r#"emails.value ew "7@example.com""#,
            ] {
                let (ids, served) = found(&off, scope, text, false).await;
                assert_eq!(ids, evaluated(&users, text), "{text}");
                assert_eq!(served, 0, "{text}");
                let (ids, served) = found(&storage, scope, text, false).await;
                assert_eq!(ids, evaluated(&users, text), "{text}");
                assert!(served > 0, "{text}");
            }
        },
    )
    .await;
}

/// A query reading substring candidates has PostgreSQL plan generically in its own
/// transaction (see `head_planning_generically`), and the connection plans as configured after it.
#[tokio::test]
async fn generic_plans_last_as_long_as_the_substring_query() {
    in_fresh_schema("scim_generic", |storage, _client, _name| async move {
        let (tenant, schema, _) = with_users(&storage, 4).await;
        let ctx = storage.layouts.ctx(Scope::new(&tenant, &schema));
        let mode = "SELECT current_setting('plan_cache_mode')";
        let mut client = storage.client().await.unwrap();
        let tx = read_snapshot(&mut client).await.unwrap();
        let before: String = tx.query_one(mode, &[]).await.unwrap().get(0);
        assert_eq!(before, "auto");
        head_planning_generically(&tx, &ctx).await.unwrap();
        let during: String = tx.query_one(mode, &[]).await.unwrap().get(0);
        assert_eq!(during, "force_generic_plan");
        tx.commit().await.unwrap();
        let after: String = client.query_one(mode, &[]).await.unwrap().get(0);
        assert_eq!(after, "auto");
    })
    .await;
}
