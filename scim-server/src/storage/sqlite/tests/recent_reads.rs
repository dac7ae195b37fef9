//! The answers `recent_reads.rs` remembers are the answers of a fresh read.

use super::*;
use crate::storage::suite::{group_json, new_group, replacement};
use scim_core::builtin::group_resource_schema;

/// What a storage answers the reads `recent_reads.rs` remembers: the version and groups of
/// users `u0`..`u2` ([`Load::VERSION`]) and the lookups of their `userName`s and of a new
/// one, each as text.
async fn version_reads(storage: &SqliteStorage, users: Scope<'_>) -> Vec<String> {
    let mut answers = Vec::new();
    for i in 0..3 {
        let id = format!("u{i}");
        answers.push(
            match storage.get_with_groups(users, &id, Load::VERSION).await {
                Ok((stored, groups)) => format!("{id} v{} {groups:?}", stored.version),
                Err(e) => format!("{id} {:?}", e.kind()),
            },
        );
    }
    let page = StoragePage::Offset {
        offset: 0,
        limit: 10,
    };
    for name in ["user0", "user1", "user2", "renamed"] {
        let f: Filter = format!(r#"userName eq "{name}@example.com""#)
            .parse()
            .unwrap();
        let q = StorageQuery {
            filter: Some(&f),
            sort: None,
            page: &page,
            load: Load::VERSION,
        };
        let (found, groups) = storage.query_with_groups(users, q).await.unwrap();
        let found: Vec<String> = found
            .resources
            .iter()
            .map(|r| format!("{} v{} {:?}", r.id, r.version, groups.get(&r.id)))
            .collect();
        answers.push(format!("{name}: {} {found:?}", found.len()));
    }
    answers
}

/// Versions, groups and lookups answered from memory (`recent_reads.rs`) are what a storage
/// without that memory reads, after writes made by ANOTHER storage on the same file
/// (another process, as far as the first one's memory goes): to a user, to its groups (a
/// membership, a group's `displayName`), a deletion; they are answered from memory only
/// while the tenant wrote nothing, whatever other tenants write.
#[tokio::test]
async fn remembered_reads_answer_as_a_fresh_read_does() {
    let dir = temp_dir("recent");
    let file = dir.join("scim.db");
    let reader = SqliteStorage::open(&file).unwrap();
    let writer = SqliteStorage::open(&file).unwrap();
    let (tenant, other) = (TenantId::new("t").unwrap(), TenantId::new("o").unwrap());
    let (user_schema, group_schema) = (user_resource_schema(), group_resource_schema());
    let users = Scope::new(&tenant, &user_schema);
    let groups = Scope::new(&tenant, &group_schema);
    let user = |i: usize| {
        new_user(
            &format!("u{i}"),
            &format!("user{i}@example.com"),
            serde_json::json!({}),
        )
    };
    for i in 0..3 {
        writer.create(users, user(i)).await.unwrap();
    }
    writer
        .create(groups, new_group("g1", "Sales", &["u1"]))
        .await
        .unwrap();
    let reads = version_reads(&writer, users).await.len();
    // `answered`: how many of the reads came from memory, of a check made right after a
    // write of the tenant (none may) and of the same check again (all that were found).
    let check = |stage: &'static str, answered: usize| {
        let (reader, file) = (&reader, &file);
        async move {
            let fresh = SqliteStorage::open(file).unwrap();
            let before = reader.inner.recent.answered();
            assert_eq!(
                version_reads(reader, users).await,
                version_reads(&fresh, users).await,
                "{stage}"
            );
            assert_eq!(reader.inner.recent.answered() - before, answered, "{stage}");
            let before = reader.inner.recent.answered();
            let again = version_reads(reader, users).await;
            assert_eq!(again, version_reads(&fresh, users).await, "{stage}, again");
            // A not-found answer is not remembered.
            let kept = again.iter().filter(|a| !a.ends_with("NotFound")).count();
            assert_eq!(reader.inner.recent.answered() - before, kept, "{stage}");
        }
    };
    check("seeded", 0).await;

    let renamed = new_user("u0", "renamed@example.com", serde_json::json!({})).resource;
    writer
        .replace(users, "u0", replacement(&user_schema, renamed), None)
        .await
        .unwrap();
    check("a user renamed", 0).await;

    let member = Member {
        value: "u2".into(),
        kind: Some("User".into()),
        display: None,
    };
    writer
        .modify_members(groups, "g1", MembersChange::Add(vec![member]), None)
        .await
        .unwrap();
    check("a member added", 0).await;

    let renamed = group_json("g1", "Sales EMEA");
    writer
        .replace(groups, "g1", replacement(&group_schema, renamed), None)
        .await
        .unwrap();
    check("a group renamed", 0).await;

    writer.delete(users, "u1", None).await.unwrap();
    check("a user deleted", 0).await;

    let elsewhere = Scope::new(&other, &user_schema);
    writer.create(elsewhere, user(0)).await.unwrap();
    check("another tenant's write", reads - 1).await;

    // Another process's schema recorded another index layout (a rebuild appends no change):
    // while it is recorded, lookups are read again; versions do not depend on the layout.
    let expected = version_reads(&reader, users).await;
    lock(&writer.inner.writer)
        .execute(
            "UPDATE index_layouts SET layout = 'another' WHERE rtype = 'User'",
            [],
        )
        .unwrap();
    readers::note_commit();
    let before = reader.inner.recent.answered();
    assert_eq!(version_reads(&reader, users).await, expected);
    let found_by_id = expected[..3].iter().filter(|a| !a.ends_with("NotFound"));
    assert_eq!(
        reader.inner.recent.answered() - before,
        found_by_id.count(),
        "no lookup answered from memory"
    );
    drop((reader, writer));
    let _ = std::fs::remove_dir_all(&dir);
}
