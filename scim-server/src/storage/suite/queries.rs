//! Queries answered by the backend: lookups, paging, cursors, pushdown exactness.

use super::*;

/// `userName eq "..."` is pushed down and finds exactly the one user, case-insensitively.
pub async fn query_user_name_eq_pushdown<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for (id, name) in [("u1", "alice"), ("u2", "BJensen"), ("u3", "carol")] {
        s.create(
            sc,
            new_user(id, name, json!({"externalId": format!("X-{id}")})),
        )
        .await
        .unwrap();
    }
    let page = query_filter(&s, &t, &schema, &filter(r#"userName eq "bjensen""#)).await;
    assert_eq!(ids(&page), ["u2"]);
    assert_eq!(page.total_results, 1);
    let page = query_filter(&s, &t, &schema, &filter(r#"externalId eq "X-u3""#)).await;
    assert_eq!(ids(&page), ["u3"]);
    let page = query_filter(&s, &t, &schema, &filter(r#"id eq "u1""#)).await;
    assert_eq!(ids(&page), ["u1"]);
    let g = groups();
    s.create(Scope::new(&t, &g), new_group("g1", "Admins", &[]))
        .await
        .unwrap();
    let page = query_filter(&s, &t, &g, &filter(r#"displayName eq "ADMINS""#)).await;
    assert_eq!(ids(&page), ["g1"]);
}

/// Entra's Test Connection: `userName eq "<random guid>"` is an empty page with
/// totalResults 0, never an error (RFC 7644 §3.4.2: a query that matches nothing is an
/// empty ListResponse).
pub async fn query_no_match_is_empty_page<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let f = filter(r#"userName eq "5a0c6d2e-6f0b-4a43-9a7b-4b2b5c3c0e11""#);
    let page = query_filter(&s, &t, &schema, &f).await;
    assert_eq!(
        page,
        QueryPage {
            resources: vec![],
            total_results: 0,
            next_cursor: None
        }
    );
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    let page = query_filter(&s, &t, &schema, &f).await;
    assert_eq!(page.total_results, 0);
    assert!(page.resources.is_empty());
}

/// No filter: every resource of the scope, offset-paged in a stable order; totalResults
/// is the number of all resources.
pub async fn query_all_offset_paging<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for i in 0..7 {
        s.create(sc, new_user(&format!("u{i}"), &format!("n{i}"), json!({})))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for start in [0, 3, 6] {
        let page = s
            .query(
                sc,
                StorageQuery {
                    filter: None,
                    sort: None,
                    page: &offset(start, 3),
                    load: Load::ALL,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total_results, 7);
        seen.extend(ids(&page));
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    let beyond = s
        .query(
            sc,
            StorageQuery {
                filter: None,
                sort: None,
                page: &offset(50, 3),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert!(beyond.resources.is_empty());
    assert_eq!(beyond.total_results, 7);
}

pub(super) async fn walk_cursor<F, Fut>(
    mut next: F,
    limit: u64,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String>
where
    F: FnMut(Option<String>, u64) -> Fut,
    Fut: Future<Output = QueryPage>,
{
    let mut seen = Vec::new();
    let mut cursor = None;
    for round in 0..100 {
        let page = next(cursor.take(), limit).await;
        assert!(page.resources.len() as u64 <= limit);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(c) => {
                assert!(
                    scim_core::messages::is_unreserved(&c),
                    "cursor {c:?} must be URL-safe (RFC 9865)"
                );
                cursor = Some(c);
                between(round).await;
            }
            None => return seen,
        }
    }
    panic!("cursor walk did not end");
}

/// RFC 9865 cursor paging by the backend itself (no filter): resources deleted between pages
/// do not make the walk skip or repeat survivors (RFC 9865 §1: a `startIndex` walk during
/// deletes skips resources, which cursors exist to prevent).
pub async fn query_all_cursor_paging_survives_deletes<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for i in 0..10 {
        s.create(
            sc,
            new_user(&format!("u{i:02}"), &format!("n{i}"), json!({})),
        )
        .await
        .unwrap();
    }
    let deleted: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let seen = walk_cursor(
        |after, limit| {
            let s = &s;
            async move {
                let page = StoragePage::Cursor { after, limit };
                s.query(
                    sc,
                    StorageQuery {
                        filter: None,
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                )
                .await
                .unwrap()
            }
        },
        3,
        async |round| {
            // After the first page: delete one returned and one not yet returned resource.
            if round == 0 {
                let page = s
                    .query(
                        sc,
                        StorageQuery {
                            filter: None,
                            sort: None,
                            page: &offset(0, 100),
                            load: Load::ALL,
                        },
                    )
                    .await
                    .unwrap();
                let all = ids(&page);
                let victims = [all[0].clone(), all[6].clone()];
                for v in &victims {
                    s.delete(sc, v, None).await.unwrap();
                }
                deleted.lock().unwrap().extend(victims);
            }
        },
    )
    .await;
    let deleted = deleted.into_inner().unwrap();
    assert_eq!(deleted.len(), 2);
    let mut expected: Vec<String> = (0..10).map(|i| format!("u{i:02}")).collect();
    expected.retain(|id| id != &deleted[1]);
    let mut got = seen.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "every survivor exactly once (and the deleted-before-seen one never)"
    );
}

/// Whatever the backend claims with `can_filter`, it answers exactly: the same resources
/// and totalResults as scim-core's evaluator over every resource.
pub async fn pushdown_is_exact<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let people = [
        (
            "u1",
            "bjensen",
            json!({"externalId": "E1", "title": "Tour Guide", "active": true,
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]}),
        ),
        (
            "u2",
            "JSmith",
            json!({"externalId": "e1", "title": "Boss", "active": false,
            "emails": [{"value": "JSMITH@example.com", "type": "work"}]}),
        ),
        (
            "u3",
            "alice",
            json!({"title": "Boss", "name": {"familyName": "Liddell"}}),
        ),
        (
            "u4",
            "Bob",
            json!({"externalId": "E4", "emails": [{"value": "bob@example.org"}]}),
        ),
        ("u5", "zed", json!({"active": true})),
    ];
    let mut all = Vec::new();
    for (id, name, extra) in people {
        let r = s.create(sc, new_user(id, name, extra)).await.unwrap();
        all.push(r);
    }
    let filters = [
        r#"userName eq "BJENSEN""#,
        r#"userName eq "nobody""#,
        r#"externalId eq "E1""#,
        r#"externalId eq "e4""#,
        r#"id eq "u3""#,
        r#"id eq "U3""#,
        r#"emails.value eq "jsmith@example.com""#,
        r#"emails.value eq "BABS@JENSEN.ORG""#,
        r#"emails eq "bob@example.org""#,
        r#"title eq "Boss""#,
        r#"title eq "boss""#,
        r#"name.familyName eq "jensen""#,
        r#"active eq true"#,
        r#"userName sw "b""#,
        r#"userName co "SMI""#,
        r#"userName ew "ED""#,
        r#"userName gt "c""#,
        r#"title pr"#,
        r#"not (title eq "Boss")"#,
        r#"title ne "Boss""#,
        r#"userName eq "alice" or userName eq "bob""#,
        r#"userName eq "alice" or externalId eq "E1""#,
        r#"(userName eq "alice" or userName eq "bob") and externalId eq "E4""#,
        r#"userName eq "alice" and title eq "Boss""#,
        r#"userName eq "bjensen" and externalId eq "e1""#,
        r#"emails[type eq "work" and value co "example.com"]"#,
        r#"emails.type eq "work""#,
        r#"meta.resourceType eq "User""#,
        r#"externalId pr"#,
    ];
    let mut pushed = 0;
    for text in filters {
        let f = filter(text);
        if !s.can_filter(&schema, &f) {
            continue;
        }
        pushed += 1;
        let compiled = f.compile(&schema).unwrap();
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|r| compiled.matches(&r.resource))
            .map(|r| r.id.clone())
            .collect();
        let page = s
            .query(
                sc,
                StorageQuery {
                    filter: Some(&f),
                    sort: None,
                    page: &offset(0, 100),
                    load: Load::ALL,
                },
            )
            .await
            .unwrap_or_else(|e| {
                panic!("`{text}` is claimed by can_filter but query failed: {e:?}")
            });
        assert_eq!(id_set(&page), expected, "pushdown of `{text}`");
        assert_eq!(
            page.total_results,
            expected.len() as u64,
            "totalResults of `{text}`"
        );
    }
    assert!(
        pushed >= 6,
        "the eq lookups on userName, externalId and id must be pushed down"
    );
}
