//! Uniqueness (RFC 7643 §2.1 `uniqueness`; RFC 7644 §3.3 409 `uniqueness`).

use super::*;

/// RFC 7643 §4.1.1: userName is caseExact=false with uniqueness server, so `BJensen` and
/// `bjensen` collide: 409 `uniqueness` on `userName`.
pub async fn uniqueness_on_create_is_case_insensitive<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "BJensen", json!({})))
        .await
        .unwrap();
    let r = s.create(sc, new_user("u2", "bjensen", json!({}))).await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
    expect_kind(
        s.get(sc, "u2", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "rejected create wrote nothing",
    );
}

/// A replace taking another resource's value is `Uniqueness` and changes nothing.
pub async fn uniqueness_on_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.create(sc, new_user("u2", "bob", json!({})))
        .await
        .unwrap();
    let r = s
        .replace(
            sc,
            "u2",
            replacement(&schema, user_json("u2", "ALICE", json!({}))),
            None,
        )
        .await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
    let got = s.get(sc, "u2", Load::ALL).await.unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.resource.get("userName"), Some(&json!("bob")));
    // Replacing a resource with its own (differently cased) value is not a conflict.
    let same = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "Alice", json!({}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(same.version, 2);
}

/// A deleted resource's unique values are free again.
pub async fn uniqueness_released_after_delete<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({"externalId": "E1"})))
        .await
        .unwrap();
    s.delete(sc, "u1", None).await.unwrap();
    let again = s
        .create(sc, new_user("u2", "Alice", json!({"externalId": "E1"})))
        .await
        .unwrap();
    assert_eq!(again.version, 1);
}

/// A replace that changes a unique value releases the old one.
pub async fn uniqueness_released_after_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.replace(
        sc,
        "u1",
        replacement(&schema, user_json("u1", "alicia", json!({}))),
        None,
    )
    .await
    .unwrap();
    s.create(sc, new_user("u2", "alice", json!({})))
        .await
        .unwrap();
    let r = s.create(sc, new_user("u3", "ALICIA", json!({}))).await;
    assert!(is_uniqueness_on(&r, "userName"), "{r:?}");
}

/// Uniqueness holds within one tenant and resource type only (RFC 7643 §2.2 "unique
/// within the context of the current SCIM endpoint (or tenancy)").
pub async fn uniqueness_is_per_tenant_and_resource_type<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    let (us, gs) = (users(), groups());
    s.create(
        Scope::new(&t1, &us),
        new_user("u1", "x", json!({"externalId": "E"})),
    )
    .await
    .unwrap();
    s.create(
        Scope::new(&t2, &us),
        new_user("u1", "x", json!({"externalId": "E"})),
    )
    .await
    .unwrap();
    // Same externalId on a Group of the same tenant: another resource type.
    let mut g = new_group("g1", "x", &[]);
    g.resource
        .as_map_mut()
        .insert("externalId".into(), json!("E"));
    g.unique = UniquenessPolicy::for_schema(&gs).keys(&gs, &g.resource);
    s.create(Scope::new(&t1, &gs), g).await.unwrap();
}

/// 20 concurrent creates of one userName: exactly one succeeds, the others are `Uniqueness`.
pub async fn concurrent_creates_of_one_user_name<S: Storage>(s: S) {
    let s = Arc::new(s);
    let t = tenant("t1");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = Arc::clone(&s);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let schema = users();
            s.create(
                Scope::new(&t, &schema),
                new_user(
                    &format!("u{i}"),
                    if i % 2 == 0 { "Race" } else { "RACE" },
                    json!({}),
                ),
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e.kind(), StorageErrorKind::Uniqueness { attribute } if attribute == "userName"),
                "{e:?}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent create must win");
    let schema = users();
    let page = query_filter(&*s, &t, &schema, &filter(r#"userName eq "race""#)).await;
    assert_eq!(page.total_results, 1);
    assert_eq!(page.resources.len(), 1);
}

/// externalId is unique per resource type (case-exact: `E1` and `e1` differ).
pub async fn external_id_unique_per_type<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({"externalId": "E1"})))
        .await
        .unwrap();
    let r = s
        .create(sc, new_user("u2", "b", json!({"externalId": "E1"})))
        .await;
    assert!(is_uniqueness_on(&r, "externalId"), "{r:?}");
    s.create(sc, new_user("u3", "c", json!({"externalId": "e1"})))
        .await
        .unwrap();
}

/// Group displayName is unique per tenant, case-insensitively (Entra and Okta match groups on
/// it).
pub async fn group_display_name_unique<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = groups();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_group("g1", "Admins", &[])).await.unwrap();
    let r = s.create(sc, new_group("g2", "admins", &[])).await;
    assert!(is_uniqueness_on(&r, "displayName"), "{r:?}");
}

/// Tenants never see each other: get, query, replace, delete, members and groups_of.
pub async fn tenant_isolation<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&t1, &us), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    s.create(Scope::new(&t1, &gs), new_group("g1", "G", &["u1"]))
        .await
        .unwrap();
    let s2 = Scope::new(&t2, &us);
    expect_kind(
        s.get(s2, "u1", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get across tenants",
    );
    expect_kind(
        s.delete(s2, "u1", None).await,
        &StorageErrorKind::NotFound,
        "delete across tenants",
    );
    expect_kind(
        s.replace(
            s2,
            "u1",
            replacement(&us, user_json("u1", "z", json!({}))),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "replace across tenants",
    );
    expect_kind(
        s.modify_members(
            Scope::new(&t2, &gs),
            "g1",
            MembersChange::Add(vec![Member::new("u9")]),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "modify_members across tenants",
    );
    let page = query_filter(&s, &t2, &us, &filter(r#"userName eq "a""#)).await;
    assert_eq!(page.total_results, 0);
    let all = s
        .query(
            s2,
            StorageQuery {
                filter: None,
                sort: None,
                page: &offset(0, 10),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total_results, 0);
    assert!(all.resources.is_empty());
    assert!(s.groups_of(&t2, "u1").await.unwrap().is_empty());
    // t1 is intact.
    assert_eq!(
        s.get(Scope::new(&t1, &us), "u1", Load::ALL)
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(s.groups_of(&t1, "u1").await.unwrap().len(), 1);
    // And the same userName is free in t2.
    s.create(s2, new_user("u1", "A", json!({}))).await.unwrap();
}
