//! The change feed cases of the backend suite (see [`Storage::changes_since`]).
//!
//! The feed is optional in the [`Storage`] contract (its methods default to
//! `Unsupported`), so each case first asks [`Storage::last_change`]: a backend that answers
//! `Unsupported` skips these cases with a notice; any other answer runs them. The built-in
//! backends are checked to support it (`storage::changes` unit tests).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::{
    expect_kind, group_json, groups, new_group, new_user, replacement, rfc3339, tenant, user_json,
    users, users_and_group,
};
use crate::storage::{
    ChangeKind, ChangeRecord, Load, Member, MembersChange, Scope, Storage, StorageErrorKind,
    last_modified_now,
};
use crate::tenancy::TenantId;

/// Does the backend offer a change feed? `false` (with a notice) only for `Unsupported`.
pub(crate) async fn has_feed<S: Storage + ?Sized>(s: &S) -> bool {
    match s.last_change(&tenant("t1")).await {
        Ok(_) => true,
        Err(e) if *e.kind() == StorageErrorKind::Unsupported => {
            eprintln!("skipped: this backend has no change feed ({})", e.message());
            false
        }
        Err(e) => panic!("last_change failed: {e:?}"),
    }
}

/// Every change of a tenant from the start, in pages of 7 (so several pages are read).
async fn all_changes<S: Storage + ?Sized>(s: &S, t: &TenantId) -> Vec<ChangeRecord> {
    let mut out: Vec<ChangeRecord> = Vec::new();
    loop {
        let since = out.last().map_or(0, |c| c.seq);
        let page = s.changes_since(t, since, 7).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// `(resource type, id, kind, version)` of each change, for compact assertions.
fn summary(changes: &[ChangeRecord]) -> Vec<(String, String, ChangeKind, u64)> {
    changes
        .iter()
        .map(|c| (c.resource_type.clone(), c.id.clone(), c.kind, c.version))
        .collect()
}

fn row(rt: &str, id: &str, kind: ChangeKind, version: u64) -> (String, String, ChangeKind, u64) {
    (rt.to_string(), id.to_string(), kind, version)
}

/// Every kind of write appends one change per resource it changed, in the order of the
/// writes, with `seq` 1, 2, 3, ..., the tenant, the resource type and id, the kind, the
/// version after the change and the time; a delete also records each group that lost the
/// deleted member.
pub async fn feed_records_every_kind_of_write<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    let t = tenant("t1");
    let (us, gs) = (users(), groups());
    let (u, g) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    assert_eq!(s.last_change(&t).await.unwrap(), 0);
    assert!(s.changes_since(&t, 0, 10).await.unwrap().is_empty());
    let before = rfc3339(&last_modified_now());

    s.create(u, new_user("u1", "alice", json!({})))
        .await
        .unwrap();
    s.create(u, new_user("u2", "bob", json!({}))).await.unwrap();
    s.create(g, new_group("g1", "One", &["u1"])).await.unwrap();
    s.create(g, new_group("g2", "Two", &["u1"])).await.unwrap();
    s.replace(
        u,
        "u1",
        replacement(&us, user_json("u1", "alice2", json!({}))),
        Some(1),
    )
    .await
    .unwrap();
    s.replace_after_patch(
        u,
        "u2",
        replacement(&us, user_json("u2", "bob2", json!({}))),
        None,
    )
    .await
    .unwrap();
    s.modify_members(g, "g1", MembersChange::Add(vec![Member::new("u2")]), None)
        .await
        .unwrap();
    s.delete(u, "u1", None).await.unwrap();

    let changes = all_changes(&s, &t).await;
    assert_eq!(
        summary(&changes),
        [
            row("User", "u1", ChangeKind::Created, 1),
            row("User", "u2", ChangeKind::Created, 1),
            row("Group", "g1", ChangeKind::Created, 1),
            row("Group", "g2", ChangeKind::Created, 1),
            row("User", "u1", ChangeKind::Replaced, 2),
            row("User", "u2", ChangeKind::Modified, 2),
            row("Group", "g1", ChangeKind::Members, 2),
            row("User", "u1", ChangeKind::Deleted, 2),
            // The groups u1 left, by the delete, in the same transaction.
            row("Group", "g1", ChangeKind::Members, 3),
            row("Group", "g2", ChangeKind::Members, 2),
        ]
    );
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    for c in &changes {
        assert_eq!(c.tenant, t);
        assert!(
            rfc3339(&c.at) >= before,
            "{c:?}: `at` is the time of the write"
        );
    }
    assert_eq!(s.last_change(&t).await.unwrap(), 10);
    // The versions recorded are the ones stored.
    let g1 = s.get(g, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
    assert_eq!(g1.version, 3);
}

/// Pages: `limit` changes with `seq > since`, in order; an empty page at the end; the
/// consumer resumes from the last `seq` it recorded and sees each change once.
pub async fn feed_pages_resume_from_a_position<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    let t = tenant("t1");
    let us = users();
    for i in 0..25 {
        s.create(
            Scope::new(&t, &us),
            new_user(&format!("u{i:02}"), &format!("user{i:02}"), json!({})),
        )
        .await
        .unwrap();
    }
    let page = s.changes_since(&t, 0, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(page[0].id, "u00");
    let page = s.changes_since(&t, 10, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (11..=20).collect::<Vec<_>>()
    );
    assert_eq!(page[0].id, "u10");
    let page = s.changes_since(&t, 20, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (21..=25).collect::<Vec<_>>()
    );
    assert!(s.changes_since(&t, 25, 10).await.unwrap().is_empty());
    assert!(s.changes_since(&t, 1000, 10).await.unwrap().is_empty());
    assert!(s.changes_since(&t, 0, 0).await.unwrap().is_empty());
    // A position in the middle of a page: the rest, from the next change.
    let page = s.changes_since(&t, 13, 3).await.unwrap();
    assert_eq!(page.iter().map(|c| c.seq).collect::<Vec<_>>(), [14, 15, 16]);
    // A change after the consumer caught up comes next.
    s.delete(Scope::new(&t, &us), "u03", None).await.unwrap();
    let page = s.changes_since(&t, 25, 10).await.unwrap();
    assert_eq!(summary(&page), [row("User", "u03", ChangeKind::Deleted, 1)]);
    assert_eq!(page[0].seq, 26);
}

/// Each tenant has its own feed, numbered from 1, and never sees another tenant's changes.
pub async fn feed_is_per_tenant<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    let (t1, t2, t3) = (tenant("t1"), tenant("t2"), tenant("t3"));
    let us = users();
    for i in 0..3 {
        for t in [&t1, &t2] {
            s.create(
                Scope::new(t, &us),
                new_user(&format!("{}-u{i}", t.as_str()), &format!("n{i}"), json!({})),
            )
            .await
            .unwrap();
        }
    }
    s.delete(Scope::new(&t2, &us), "t2-u0", None).await.unwrap();
    let c1 = all_changes(&s, &t1).await;
    let c2 = all_changes(&s, &t2).await;
    assert_eq!(c1.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(c2.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(c1.iter().all(|c| c.tenant == t1 && c.id.starts_with("t1-")));
    assert!(c2.iter().all(|c| c.tenant == t2 && c.id.starts_with("t2-")));
    assert_eq!(s.last_change(&t1).await.unwrap(), 3);
    assert_eq!(s.last_change(&t2).await.unwrap(), 4);
    // A tenant without writes has an empty feed.
    assert_eq!(s.last_change(&t3).await.unwrap(), 0);
    assert!(s.changes_since(&t3, 0, 10).await.unwrap().is_empty());
    // Pruning one tenant's feed leaves the other's.
    assert_eq!(s.prune_changes(&t1, 3).await.unwrap(), 3);
    assert_eq!(all_changes(&s, &t2).await.len(), 4);
}

/// A write that fails (409 `uniqueness`, 409 id taken, 412 version mismatch, 404) appends
/// nothing, and neither does a membership change that changes nothing (RFC 7644 §3.5.2.1):
/// re-adding a member, removing an absent one, replacing the membership with itself. Those
/// also keep the version and `meta.lastModified`.
pub async fn feed_skips_failed_and_unchanged_writes<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    let t = tenant("t1");
    users_and_group(&s, &t, &["u1", "u2"]).await; // seq 1..=4
    let (us, gs) = (users(), groups());
    let (u, g) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    let head = s.last_change(&t).await.unwrap();
    assert_eq!(head, 4);

    expect_kind(
        s.create(u, new_user("u1", "other", json!({}))).await,
        &StorageErrorKind::IdTaken,
        "create with a taken id",
    );
    let taken = s.create(u, new_user("u9", "ALICE", json!({}))).await;
    assert!(matches!(&taken, Err(e) if e.is_uniqueness()), "{taken:?}");
    let taken = s
        .replace(
            u,
            "u2",
            replacement(&us, user_json("u2", "alice", json!({}))),
            None,
        )
        .await;
    assert!(matches!(&taken, Err(e) if e.is_uniqueness()), "{taken:?}");
    expect_kind(
        s.replace(
            u,
            "u1",
            replacement(&us, user_json("u1", "x", json!({}))),
            Some(7),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "replace with a stale version",
    );
    expect_kind(
        s.replace_after_patch(
            u,
            "u1",
            replacement(&us, user_json("u1", "x", json!({}))),
            Some(7),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "replace_after_patch with a stale version",
    );
    expect_kind(
        s.delete(u, "u1", Some(7)).await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "delete with a stale version",
    );
    expect_kind(
        s.delete(u, "nobody", None).await,
        &StorageErrorKind::NotFound,
        "delete of an unknown id",
    );
    expect_kind(
        s.replace(
            u,
            "nobody",
            replacement(&us, user_json("nobody", "n", json!({}))),
            None,
        )
        .await,
        &StorageErrorKind::NotFound,
        "replace of an unknown id",
    );
    expect_kind(
        s.modify_members(
            g,
            "g1",
            MembersChange::Add(vec![Member::new("u3")]),
            Some(7),
        )
        .await,
        &StorageErrorKind::VersionMismatch { current: 1 },
        "modify_members with a stale version",
    );
    expect_kind(
        s.modify_members(g, "nope", MembersChange::Add(vec![Member::new("u3")]), None)
            .await,
        &StorageErrorKind::NotFound,
        "modify_members of an unknown group",
    );
    assert_eq!(
        s.last_change(&t).await.unwrap(),
        head,
        "failed writes append nothing"
    );

    // Membership changes that change nothing: same version, same lastModified, no change.
    let stored = s.get(g, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
    for (n, change) in [
        MembersChange::Add(vec![Member::new("u1")]),
        MembersChange::Add(vec![Member::new("u2"), Member::new("u1")]),
        MembersChange::Remove(vec!["u3".into()]),
        MembersChange::Remove(vec![]),
        // Member ids compare exactly: `U1` is not `u1`.
        MembersChange::Remove(vec!["U1".into()]),
        MembersChange::Replace(vec![
            Member {
                value: "u1".into(),
                kind: Some("User".into()),
                display: None,
            },
            Member {
                value: "u2".into(),
                kind: Some("User".into()),
                display: None,
            },
        ]),
    ]
    .into_iter()
    .enumerate()
    {
        let r = s.modify_members(g, "g1", change, Some(1)).await.unwrap();
        assert_eq!(r.version, 1, "no-op {n}: the version stays");
        assert_eq!(
            r.resource, stored.resource,
            "no-op {n}: the resource (and lastModified) stays"
        );
        let now = s.get(g, "g1", Load::WITHOUT_MEMBERS).await.unwrap();
        assert_eq!(now, stored, "no-op {n}: nothing stored changed");
    }
    let g1 = s.get(g, "g1", Load::ALL).await.unwrap();
    assert_eq!(super::member_values(&g1), ["u1", "u2"]);
    assert_eq!(
        s.last_change(&t).await.unwrap(),
        head,
        "no-ops append nothing"
    );
    assert!(s.changes_since(&t, head, 10).await.unwrap().is_empty());

    // A real change still appends exactly one.
    s.modify_members(
        g,
        "g1",
        MembersChange::Remove(vec!["u1".into(), "u3".into()]),
        Some(1),
    )
    .await
    .unwrap();
    let page = s.changes_since(&t, head, 10).await.unwrap();
    assert_eq!(summary(&page), [row("Group", "g1", ChangeKind::Members, 2)]);
    // A group that is replaced with the same JSON still changes (PUT always writes).
    s.replace(
        g,
        "g1",
        replacement(&gs, group_json("g1", "Group One")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.last_change(&t).await.unwrap(), head + 2);
}

/// Retention: pruning removes the changes up to a position (clamped to the latest);
/// numbering continues; a read from before the pruned position fails with `ChangesPruned`
/// instead of silently skipping changes.
pub async fn feed_prune_keeps_numbering_and_refuses_gaps<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    let t = tenant("t1");
    let us = users();
    let u = Scope::new(&t, &us);
    for i in 0..5 {
        s.create(u, new_user(&format!("u{i}"), &format!("n{i}"), json!({})))
            .await
            .unwrap();
    }
    assert_eq!(s.prune_changes(&t, 3).await.unwrap(), 3);
    let page = s.changes_since(&t, 3, 10).await.unwrap();
    assert_eq!(page.iter().map(|c| c.seq).collect::<Vec<_>>(), [4, 5]);
    for since in [0, 2] {
        expect_kind(
            s.changes_since(&t, since, 10).await,
            &StorageErrorKind::ChangesPruned { pruned_through: 3 },
            "a read from before the pruned position",
        );
    }
    // Pruning again below the mark removes nothing and keeps the mark.
    assert_eq!(s.prune_changes(&t, 2).await.unwrap(), 0);
    // Beyond the latest: clamped, so later changes are kept and readable.
    assert_eq!(s.prune_changes(&t, 1000).await.unwrap(), 2);
    assert_eq!(s.last_change(&t).await.unwrap(), 5);
    assert!(s.changes_since(&t, 5, 10).await.unwrap().is_empty());
    s.delete(u, "u0", None).await.unwrap();
    let page = s.changes_since(&t, 5, 10).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, 6, "numbering continues after pruning");
    // A tenant without a feed: nothing to prune.
    assert_eq!(s.prune_changes(&tenant("t9"), 10).await.unwrap(), 0);
}

/// Concurrent writers of one tenant get distinct, gap-free `seq`s, and a consumer polling
/// while they write never sees a change before an earlier one: each page it reads starts
/// right after its position and is contiguous. (A `seq` taken from a counter that is not
/// commit-ordered, such as a PostgreSQL SEQUENCE, fails this: the reader sees `n + 1`
/// committed before `n`.)
pub async fn feed_concurrent_writers_never_skip<S: Storage>(s: S) {
    if !has_feed(&s).await {
        return;
    }
    const WRITERS: usize = 8;
    const EACH: usize = 12;
    let s = Arc::new(s);
    let t = tenant("t1");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (s, t, done) = (Arc::clone(&s), t.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut seen: Vec<ChangeRecord> = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let pos = seen.last().map_or(0, |c| c.seq);
                let page = s.changes_since(&t, pos, 5).await.unwrap();
                for (i, c) in page.iter().enumerate() {
                    assert_eq!(
                        c.seq,
                        pos + 1 + i as u64,
                        "the reader at {pos} skipped a change: {page:?}"
                    );
                }
                let empty = page.is_empty();
                seen.extend(page);
                if finished && empty {
                    return seen;
                }
                if empty {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        let t = t.clone();
        writers.push(tokio::spawn(async move {
            let us = users();
            for i in 0..EACH {
                let id = format!("w{w}-{i}");
                s.create(Scope::new(&t, &us), new_user(&id, &id, json!({})))
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let n = (WRITERS * EACH) as u64;
    assert_eq!(
        seen.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    let ids: BTreeSet<&str> = seen.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), WRITERS * EACH, "every write recorded once");
}
