//! Group membership: members, `groups`, and what membership changes do to versions.

use super::*;

pub(super) async fn users_and_group<S: Storage>(
    s: &S,
    t: &TenantId,
    members: &[&str],
) -> StoredResource {
    let us = users();
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        s.create(Scope::new(t, &us), new_user(id, name, json!({})))
            .await
            .unwrap();
    }
    let gs = groups();
    s.create(Scope::new(t, &gs), new_group("g1", "Group One", members))
        .await
        .unwrap()
}

/// A group created with members returns them with `Load::ALL` as `{"value", "type"}`
/// objects (RFC 7643 §4.2).
pub async fn members_create_with_members<S: Storage>(s: S) {
    let t = tenant("t1");
    let created = users_and_group(&s, &t, &["u1", "u2"]).await;
    assert_eq!(created.version, 1);
    let gs = groups();
    let g = s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u2"]);
    let members = g.resource.get("members").and_then(Value::as_array).unwrap();
    assert!(
        members
            .iter()
            .all(|m| m.get("type") == Some(&json!("User"))),
        "{members:?}"
    );
    assert_eq!(g.resource.get("displayName"), Some(&json!("Group One")));
}

/// Adding members bumps the version; adding a present member again adds no duplicate.
pub async fn members_add_is_idempotent<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2")]),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    assert!(
        r.resource.get("members").is_none(),
        "modify_members returns the group without members"
    );
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2"), Member::new("u1")]),
            None,
        )
        .await
        .unwrap();
    assert!(r.version >= 2);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u2"]);
}

/// Removing one member leaves the others (a defect some SCIM servers have had: removing one
/// member dropped all); absent ids are ignored.
pub async fn members_remove<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2", "u3"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let r = s
        .modify_members(
            sc,
            "g1",
            MembersChange::Remove(vec!["u2".into(), "nobody".into()]),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1", "u3"]);
    assert!(s.groups_of(&t, "u2").await.unwrap().is_empty());
}

/// Replace swaps the whole membership, via `modify_members` and via `replace`.
pub async fn members_replace<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    s.modify_members(
        sc,
        "g1",
        MembersChange::Replace(vec![Member::new("u3"), Member::new("u2")]),
        None,
    )
    .await
    .unwrap();
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u2", "u3"]);
    assert_eq!(g.version, 2);
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
    let mut r = replacement(&gs, group_json("g1", "Renamed"));
    r.members = Some(vec![Member::new("u1")]);
    let replaced = s.replace(sc, "g1", r, Some(2)).await.unwrap();
    assert_eq!(replaced.version, 3);
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1"]);
    assert_eq!(g.resource.get("displayName"), Some(&json!("Renamed")));
    // A replace with `members: None` keeps the membership.
    s.replace(sc, "g1", replacement(&gs, group_json("g1", "Again")), None)
        .await
        .unwrap();
    assert_eq!(
        member_values(&s.get(sc, "g1", Load::ALL).await.unwrap()),
        ["u1"]
    );
    s.modify_members(sc, "g1", MembersChange::Replace(vec![]), None)
        .await
        .unwrap();
    assert!(member_values(&s.get(sc, "g1", Load::ALL).await.unwrap()).is_empty());
}

/// `Load::WITHOUT_MEMBERS` (excludedAttributes=members) returns no `members`, in get and
/// query.
pub async fn get_without_members_has_no_members<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    let g = s.get(sc, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
    assert!(g.resource.get("members").is_none());
    assert_eq!(g.version, 1);
    let f = filter(r#"displayName eq "group one""#);
    assert!(s.can_filter(&gs, &f));
    let page = s
        .query(
            sc,
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &offset(0, 10),
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&page), ["g1"]);
    assert!(page.resources[0].resource.get("members").is_none());
    let page = s
        .query(
            sc,
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &offset(0, 10),
                load: Load::ALL,
            },
        )
        .await
        .unwrap();
    assert_eq!(member_values(&page.resources[0]), ["u1", "u2"]);
}

/// `groups_of` lists the direct groups of a member with their displayName (the computed
/// `User.groups`, RFC 7643 §4.1.2).
pub async fn groups_of_lists_direct_groups<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u1"]))
        .await
        .unwrap();
    let mut of_u1 = s.groups_of(&t, "u1").await.unwrap();
    of_u1.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        of_u1,
        [
            GroupRef {
                id: "g1".into(),
                resource_type: "Group".into(),
                display: Some("Group One".into())
            },
            GroupRef {
                id: "g2".into(),
                resource_type: "Group".into(),
                display: Some("Group Two".into())
            },
        ]
    );
    assert_eq!(s.groups_of(&t, "u2").await.unwrap().len(), 1);
    assert!(s.groups_of(&t, "u3").await.unwrap().is_empty());
}

/// `query_with_groups` answers what `query` and `groups_of_many` of the page's ids answer:
/// the same page (filtered or not, offset or cursor), and the groups of each resource on it.
pub async fn query_with_groups_equals_query_and_groups_of_many<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u1"]))
        .await
        .unwrap();
    let other = tenant("t2");
    s.create(
        Scope::new(&other, &gs),
        new_group("g9", "Elsewhere", &["u1"]),
    )
    .await
    .unwrap();
    let sc = Scope::new(&t, &us);
    let by_name: Filter = r#"userName eq "ALICE""#.parse().unwrap();
    let by_id: Filter = r#"id eq "u2""#.parse().unwrap();
    let cursor = StoragePage::Cursor {
        after: None,
        limit: 2,
    };
    let one = StoragePage::Cursor {
        after: None,
        limit: 1,
    };
    let pages = [
        (None, offset(0, 10)),
        (Some(&by_name), offset(0, 10)),
        (Some(&by_name), offset(0, 0)),
        (Some(&by_name), offset(1, 10)),
        (Some(&by_name), one),
        (None, offset(1, 1)),
        (None, cursor),
        (Some(&by_id), offset(0, 10)),
    ];
    // A lookup by a unique value (the first five) may take a path of its own in a backend:
    // with and without the attributes, it answers what the general path answers.
    for load in [Load::WITHOUT_MEMBERS, Load::VERSION] {
        for (filter, page) in &pages {
            let query = || StorageQuery {
                filter: *filter,
                sort: None,
                page,
                load,
            };
            let (found, groups) = s.query_with_groups(sc, query()).await.unwrap();
            let plain = s.query(sc, query()).await.unwrap();
            assert_eq!(found, plain, "the page of {filter:?} {page:?} {load:?}");
            let ids: Vec<&str> = found.resources.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(groups, s.groups_of_many(&t, &ids).await.unwrap());
        }
    }
    let (found, groups) = s
        .query_with_groups(
            sc,
            StorageQuery {
                filter: Some(&by_name),
                sort: None,
                page: &offset(0, 10),
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&found), ["u1"]);
    let mut of_u1: Vec<&str> = groups["u1"].iter().map(|g| g.id.as_str()).collect();
    of_u1.sort_unstable();
    assert_eq!(of_u1, ["g1", "g2"], "u1 is in g1 and g2 of t1 only");
    let nobody: Filter = r#"userName eq "nobody""#.parse().unwrap();
    let (empty, none) = s
        .query_with_groups(
            sc,
            StorageQuery {
                filter: Some(&nobody),
                sort: None,
                page: &offset(0, 10),
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap();
    assert!(empty.resources.is_empty() && none.is_empty());
}

/// `get_with_groups` answers what `get` and `groups_of` answer for the same resource, in
/// every tenant, with or without members, and `NotFound` for an unknown id or another
/// tenant's resource.
pub async fn get_with_groups_equals_get_and_groups_of<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let us = users();
    let gs = groups();
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u1"]))
        .await
        .unwrap();
    let other = tenant("t2");
    s.create(Scope::new(&other, &us), new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.create(
        Scope::new(&other, &gs),
        new_group("g9", "Elsewhere", &["u1"]),
    )
    .await
    .unwrap();
    for (tn, id) in [(&t, "u1"), (&t, "u2"), (&t, "u3"), (&other, "u1")] {
        let sc = Scope::new(tn, &us);
        let (stored, of) = s
            .get_with_groups(sc, id, Load::WITHOUT_MEMBERS)
            .await
            .unwrap();
        assert_eq!(
            stored,
            s.get(sc, id, Load::WITHOUT_MEMBERS).await.unwrap(),
            "get_with_groups must read what get reads for {id}"
        );
        assert_eq!(of, s.groups_of(tn, id).await.unwrap(), "groups of {id}");
    }
    let (_, of_u1) = s
        .get_with_groups(Scope::new(&t, &us), "u1", Load::ALL)
        .await
        .unwrap();
    let mut ids: Vec<&str> = of_u1.iter().map(|g| g.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["g1", "g2"], "u1 is in g1 and g2 of t1 only");
    // A group (a type with members) with Load::ALL carries its members, as get does.
    let sc = Scope::new(&t, &gs);
    let (g1, of_g1) = s.get_with_groups(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(g1, s.get(sc, "g1", Load::ALL).await.unwrap());
    assert!(of_g1.is_empty());
    expect_kind(
        s.get_with_groups(Scope::new(&t, &us), "nobody", Load::WITHOUT_MEMBERS)
            .await,
        &StorageErrorKind::NotFound,
        "get_with_groups of an unknown id",
    );
    expect_kind(
        s.get_with_groups(Scope::new(&tenant("t3"), &us), "u1", Load::ALL)
            .await,
        &StorageErrorKind::NotFound,
        "get_with_groups in a tenant without that resource",
    );
}

/// `groups_of_many` answers exactly what `groups_of` answers for each member, with one entry
/// per distinct requested id (empty for a member of no group), scoped to the tenant.
pub async fn groups_of_many_equals_groups_of_each<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    s.create(sc, new_group("g2", "Group Two", &["u1", "u3"]))
        .await
        .unwrap();
    // A nested group (a Group member) and a group without displayName.
    let mut nested = new_group("g3", "Group Three", &[]);
    nested.members = vec![Member {
        value: "g1".into(),
        kind: Some("Group".into()),
        display: None,
    }];
    s.create(sc, nested).await.unwrap();
    // Another tenant: the same member ids in a group there must not leak into t1.
    let other = tenant("t2");
    s.create(
        Scope::new(&other, &gs),
        new_group("g9", "Elsewhere", &["u1", "u4"]),
    )
    .await
    .unwrap();
    let asked = ["u1", "u2", "u3", "u4", "g1", "nobody", "u1"];
    let many = s.groups_of_many(&t, &asked).await.unwrap();
    let distinct: BTreeSet<&str> = asked.iter().copied().collect();
    assert_eq!(
        many.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        distinct,
        "one entry per distinct requested id"
    );
    for id in distinct {
        assert_eq!(
            many[id],
            s.groups_of(&t, id).await.unwrap(),
            "groups_of_many must equal groups_of for {id}"
        );
    }
    let mut of_u1: Vec<&str> = many["u1"].iter().map(|g| g.id.as_str()).collect();
    of_u1.sort_unstable();
    assert_eq!(of_u1, ["g1", "g2"]);
    assert!(
        many["u4"].is_empty(),
        "u4 is in a group of another tenant only"
    );
    assert_eq!(
        many["g1"],
        [GroupRef {
            id: "g3".into(),
            resource_type: "Group".into(),
            display: Some("Group Three".into())
        }]
    );
    // In t2, only g9.
    let there = s.groups_of_many(&other, &["u1", "u2"]).await.unwrap();
    assert_eq!(there["u1"].len(), 1);
    assert_eq!(there["u1"][0].id, "g9");
    assert!(there["u2"].is_empty());
    // Nothing asked, nothing answered; an unknown tenant knows no groups.
    assert!(s.groups_of_many(&t, &[]).await.unwrap().is_empty());
    let unknown = s.groups_of_many(&tenant("t3"), &["u1"]).await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert!(unknown["u1"].is_empty());
}

pub(super) fn last_modified(r: &StoredResource) -> String {
    r.resource
        .get("meta")
        .and_then(|m| m.get("lastModified"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{} has no meta.lastModified: {:?}", r.id, r.resource))
        .to_string()
}

pub(super) fn rfc3339(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("meta.lastModified {s:?} is not RFC 3339: {e}"))
}

/// A membership change is a change of the group (RFC 7643 §3.1 `lastModified`: "The most
/// recent DateTime that the details of this resource were updated at the service provider"):
/// `modify_members`, and a delete that drops a member out of its groups, set the stored
/// `meta.lastModified` to the time of the change; `meta.created` stays.
pub async fn membership_changes_set_last_modified<S: Storage>(s: S) {
    const FIXTURE: &str = "2024-01-01T00:00:00Z";
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let (us, gs) = (users(), groups());
    let sc = Scope::new(&t, &gs);
    s.create(sc, new_group("g2", "Group Two", &["u2"]))
        .await
        .unwrap();
    s.create(sc, new_group("g3", "Group Three", &["u1"]))
        .await
        .unwrap();
    let before = rfc3339(&crate::storage::last_modified_now());

    for (n, change) in [
        MembersChange::Add(vec![Member::new("u3")]),
        MembersChange::Remove(vec!["u3".into()]),
        MembersChange::Replace(vec![Member::new("u1"), Member::new("u4")]),
    ]
    .into_iter()
    .enumerate()
    {
        // Back to the fixture's timestamp, so every change must move it.
        s.replace(
            sc,
            "g1",
            replacement(&gs, group_json("g1", "Group One")),
            None,
        )
        .await
        .unwrap();
        let returned = s.modify_members(sc, "g1", change, None).await.unwrap();
        let stamp = last_modified(&returned);
        assert_ne!(
            stamp, FIXTURE,
            "change {n}: modify_members must set lastModified"
        );
        assert!(
            rfc3339(&stamp) >= before,
            "change {n}: {stamp} is in the past"
        );
        let got = s.get(sc, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
        assert_eq!(last_modified(&got), stamp, "change {n}: stored as returned");
        assert_eq!(got.version, returned.version);
        assert_eq!(
            got.resource.get("meta").and_then(|m| m.get("created")),
            Some(&json!(FIXTURE)),
            "change {n}: meta.created stays"
        );
        assert_eq!(got.resource.get("displayName"), Some(&json!("Group One")));
    }

    // Deleting u2 drops it out of g2: g2 changed; g3 (without u2) did not.
    s.delete(Scope::new(&t, &us), "u2", None).await.unwrap();
    let g2 = s.get(sc, "g2", Load::WITHOUT_MEMBERS).await.unwrap();
    let stamp = last_modified(&g2);
    assert_ne!(stamp, FIXTURE, "a group losing a deleted member changed");
    assert!(rfc3339(&stamp) >= before);
    assert_eq!(g2.version, 2);
    let g3 = s.get(sc, "g3", Load::WITHOUT_MEMBERS).await.unwrap();
    assert_eq!(
        last_modified(&g3),
        FIXTURE,
        "an untouched group keeps its timestamp"
    );
    assert_eq!(g3.version, 1);
}

/// Deleting a user removes it from every group and bumps those groups' versions.
pub async fn delete_user_removes_it_from_groups<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&t, &gs), new_group("g2", "Group Two", &["u2"]))
        .await
        .unwrap();
    s.delete(Scope::new(&t, &us), "u1", None).await.unwrap();
    let g1 = s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g1), ["u2"]);
    assert_eq!(
        g1.version, 2,
        "the group changed, so its version (ETag) must too"
    );
    let g2 = s.get(Scope::new(&t, &gs), "g2", Load::ALL).await.unwrap();
    assert_eq!(g2.version, 1, "a group without the user is untouched");
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
}

/// Deleting a group drops its membership: its former members belong to no group.
pub async fn delete_group_releases_its_members<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let gs = groups();
    s.delete(Scope::new(&t, &gs), "g1", Some(1)).await.unwrap();
    assert!(s.groups_of(&t, "u1").await.unwrap().is_empty());
    // Recreating it starts empty, at version 1.
    let again = s
        .create(Scope::new(&t, &gs), new_group("g1", "Group One", &[]))
        .await
        .unwrap();
    assert_eq!(again.version, 1);
    assert!(member_values(&s.get(Scope::new(&t, &gs), "g1", Load::ALL).await.unwrap()).is_empty());
}

/// `modify_members` on an unknown group is `NotFound`.
pub async fn modify_members_unknown_group_is_not_found<S: Storage>(s: S) {
    let t = tenant("t1");
    let gs = groups();
    expect_kind(
        s.modify_members(
            Scope::new(&t, &gs),
            "nope",
            MembersChange::Add(vec![Member::new("u1")]),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "modify_members on an unknown group",
    );
}

/// `modify_members` with a stale version is `VersionMismatch` and changes nothing.
pub async fn modify_members_wrong_version<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let gs = groups();
    let sc = Scope::new(&t, &gs);
    expect_kind(
        s.modify_members(
            sc,
            "g1",
            MembersChange::Add(vec![Member::new("u2")]),
            Some(5),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "modify_members with a stale version",
    );
    let g = s.get(sc, "g1", Load::ALL).await.unwrap();
    assert_eq!(member_values(&g), ["u1"]);
    assert_eq!(g.version, 1);
}

/// `Load::VERSION` reads the current version of a resource, through `get` and
/// `get_with_groups` (which still return the groups), and follows every change, membership
/// changes included; an unknown id is `NotFound`. (A backend may return the attributes too:
/// only the id and the version are checked.)
pub async fn version_only_reads_follow_every_change<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1"]).await;
    let (us, gs) = (users(), groups());
    let (su, sg) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    let version = async |sc: Scope<'_>, id: &str| {
        let got = s.get(sc, id, Load::VERSION).await.unwrap();
        assert_eq!(got.id, id);
        got.version
    };
    assert_eq!(version(su, "u1").await, 1);
    assert_eq!(version(sg, "g1").await, 1);
    s.replace(
        su,
        "u1",
        replacement(&us, user_json("u1", "alice", json!({"title": "x"}))),
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(version(su, "u1").await, 2);
    let (stored, of) = s.get_with_groups(su, "u1", Load::VERSION).await.unwrap();
    assert_eq!((stored.id.as_str(), stored.version), ("u1", 2));
    assert_eq!(of, s.groups_of(&t, "u1").await.unwrap());
    assert_eq!(of.len(), 1, "u1 is in g1");
    s.modify_members(sg, "g1", MembersChange::Add(vec![Member::new("u2")]), None)
        .await
        .unwrap();
    assert_eq!(
        version(sg, "g1").await,
        2,
        "a membership change is a change"
    );
    let (stored, of) = s.get_with_groups(sg, "g1", Load::VERSION).await.unwrap();
    assert_eq!(stored.version, 2);
    assert!(of.is_empty());
    expect_kind(
        s.get(su, "nobody", Load::VERSION).await,
        &StorageErrorKind::NotFound,
        "a version-only get of an unknown id",
    );
    expect_kind(
        s.get_with_groups(su, "nobody", Load::VERSION).await,
        &StorageErrorKind::NotFound,
        "a version-only get_with_groups of an unknown id",
    );
}

/// `get_many` returns what `get` returns for each id that exists, each once, whatever the
/// order and repetition of the ids: absent ids and other tenants' and types' resources are
/// left out; members come with `Load::ALL` only; `Load::VERSION` gives the same versions.
pub async fn get_many_equals_get_of_each<S: Storage>(s: S) {
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await;
    let other = tenant("t2");
    let (us, gs) = (users(), groups());
    s.create(Scope::new(&other, &us), new_user("u4", "dave", json!({})))
        .await
        .unwrap();
    let (su, sg) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    s.replace(
        su,
        "u2",
        replacement(&us, user_json("u2", "bob", json!({"title": "x"}))),
        Some(1),
    )
    .await
    .unwrap();
    let by_id = |mut found: Vec<StoredResource>| {
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    };
    let ids = ["u3", "nobody", "u1", "u2", "u1", "g1", "u4"];
    for load in [Load::WITHOUT_MEMBERS, Load::ALL] {
        let found = by_id(s.get_many(su, &ids, load).await.unwrap());
        let mut each = Vec::new();
        for id in ["u1", "u2", "u3"] {
            each.push(s.get(su, id, load).await.unwrap());
        }
        assert_eq!(found, each, "{load:?}");
        let group = s.get_many(sg, &["g1", "u1"], load).await.unwrap();
        assert_eq!(group, [s.get(sg, "g1", load).await.unwrap()], "{load:?}");
    }
    assert_eq!(
        member_values(&s.get_many(sg, &["g1"], Load::ALL).await.unwrap()[0]),
        ["u1", "u2"]
    );
    let versions: Vec<(String, u64)> = by_id(s.get_many(su, &ids, Load::VERSION).await.unwrap())
        .into_iter()
        .map(|r| (r.id, r.version))
        .collect();
    assert_eq!(
        versions,
        [("u1".into(), 1), ("u2".into(), 2), ("u3".into(), 1)]
    );
    assert!(s.get_many(su, &[], Load::ALL).await.unwrap().is_empty());
    assert!(
        s.get_many(su, &["nobody"], Load::ALL)
            .await
            .unwrap()
            .is_empty()
    );
}
