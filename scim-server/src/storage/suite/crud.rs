//! CRUD and versions (RFC 7644 §3.3, §3.5.1, §3.6, §3.14).

use super::*;

/// Create then get: same JSON, version 1 (RFC 7644 §3.3, §3.14 versions for ETags).
pub async fn create_get_round_trip<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let new = new_user(
        "u1",
        "bjensen",
        json!({"title": "Tour Guide", "emails": [{"value": "bjensen@example.com", "type": "work"}]}),
    );
    let created = s
        .create(Scope::new(&t, &schema), new.clone())
        .await
        .unwrap();
    assert_eq!(created.id, "u1");
    assert_eq!(created.version, 1);
    assert_eq!(created.resource, new.resource);
    let got = s
        .get(Scope::new(&t, &schema), "u1", Load::ALL)
        .await
        .unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.id, "u1");
    assert_eq!(got.resource, new.resource);
}

/// An unknown id is `NotFound` (404), in an empty and in a populated store.
pub async fn get_unknown_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    expect_kind(
        s.get(Scope::new(&t, &schema), "nope", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get in an empty store",
    );
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    expect_kind(
        s.get(Scope::new(&t, &schema), "nope", Load::WITHOUT_MEMBERS)
            .await,
        &StorageErrorKind::NotFound,
        "get of an unknown id",
    );
}

/// A second create with the same id is `IdTaken` and leaves the first untouched.
pub async fn create_with_taken_id_is_id_taken<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    s.create(Scope::new(&t, &schema), new_user("u1", "a", json!({})))
        .await
        .unwrap();
    expect_kind(
        s.create(Scope::new(&t, &schema), new_user("u1", "b", json!({})))
            .await,
        &StorageErrorKind::IdTaken,
        "create with a taken id",
    );
    let got = s
        .get(Scope::new(&t, &schema), "u1", Load::ALL)
        .await
        .unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("a")));
    // The rejected create claimed nothing: "b" is still free.
    s.create(Scope::new(&t, &schema), new_user("u2", "b", json!({})))
        .await
        .unwrap();
}

/// Replace bumps the version by one each time and stores the new JSON.
pub async fn replace_bumps_version<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    let r1 = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "a", json!({"title": "x"}))),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r1.version, 2);
    let r2 = s
        .replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "a", json!({"title": "y"}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r2.version, 3);
    let got = s.get(sc, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 3);
    assert_eq!(got.resource.get("title"), Some(&json!("y")));
}

/// Replace with a stale `expected_version` is `VersionMismatch { current }` and writes
/// nothing (RFC 7644 §3.14: 412 Precondition Failed).
pub async fn replace_with_wrong_version_changes_nothing<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    s.replace(
        sc,
        "u1",
        replacement(&schema, user_json("u1", "a", json!({"title": "v2"}))),
        Some(1),
    )
    .await
    .unwrap();
    expect_kind(
        s.replace(
            sc,
            "u1",
            replacement(&schema, user_json("u1", "renamed", json!({"title": "v3"}))),
            Some(1),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 2 },
        "replace with a stale version",
    );
    let got = s.get(sc, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.resource.get("title"), Some(&json!("v2")));
    assert_eq!(got.resource.get("userName"), Some(&json!("a")));
    // The failed replace did not claim "renamed", nor release "a".
    s.create(sc, new_user("u2", "renamed", json!({})))
        .await
        .unwrap();
    assert!(is_uniqueness_on(
        &s.create(sc, new_user("u3", "A", json!({}))).await,
        "userName"
    ));
}

/// Replace of an unknown id is `NotFound`.
pub async fn replace_unknown_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    expect_kind(
        s.replace(
            Scope::new(&t, &schema),
            "nope",
            replacement(&schema, user_json("nope", "a", json!({}))),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "replace of an unknown id",
    );
}

/// Delete, then get is `NotFound`; a second delete is `NotFound` too.
pub async fn delete_then_get_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    s.create(sc, new_user("u2", "b", json!({}))).await.unwrap();
    s.delete(sc, "u1", Some(1)).await.unwrap();
    expect_kind(
        s.get(sc, "u1", Load::ALL).await,
        &StorageErrorKind::NotFound,
        "get after delete",
    );
    expect_kind(
        s.delete(sc, "u1", None).await,
        &StorageErrorKind::NotFound,
        "second delete",
    );
    assert_eq!(s.get(sc, "u2", Load::ALL).await.unwrap().version, 1);
}

/// Delete with a stale version is `VersionMismatch` and the resource stays.
pub async fn delete_with_wrong_version_keeps_resource<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    s.create(sc, new_user("u1", "a", json!({}))).await.unwrap();
    expect_kind(
        s.delete(sc, "u1", Some(7)).await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "delete with a wrong version",
    );
    assert_eq!(s.get(sc, "u1", Load::ALL).await.unwrap().version, 1);
}
