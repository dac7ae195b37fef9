//! The consumer mirrors a SQLite storage's change feed to a JSON-lines file, records its
//! position after each page, and a new consumer (a restart) resumes from it: nothing is
//! delivered twice after a recorded position, nothing is lost. The binary does the same.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use example_change_feed::{Consumer, JsonLinesFile, PositionFile};
use scim_core::Resource;
use scim_server::TenantId;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::{Member, MembersChange, NewResource, Scope, Storage};
use serde_json::{Value, json};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("feed-mirror-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn user(id: &str, name: &str) -> NewResource {
    NewResource {
        id: id.into(),
        resource: Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id, "userName": name,
            "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z",
                     "lastModified": "2026-01-01T00:00:00Z"}
        }))
        .unwrap(),
        members: vec![],
        unique: vec![],
    }
}

fn group(id: &str, members: &[&str]) -> NewResource {
    NewResource {
        id: id.into(),
        resource: Resource::from_value(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": id, "displayName": id,
            "meta": {"resourceType": "Group", "created": "2026-01-01T00:00:00Z",
                     "lastModified": "2026-01-01T00:00:00Z"}
        }))
        .unwrap(),
        members: members.iter().map(|m| Member::new(*m)).collect(),
        unique: vec![],
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn consumer(storage: &Arc<SqliteStorage>, dir: &Path) -> Consumer {
    Consumer::new(
        Arc::clone(storage) as Arc<dyn Storage>,
        TenantId::default_tenant(),
        PositionFile::new(dir.join("position")),
        Box::new(JsonLinesFile::new(dir.join("mirror.jsonl"))),
    )
    .page_size(2)
}

#[tokio::test]
async fn mirrors_every_change_and_resumes_from_its_position() {
    let dir = temp_dir();
    let storage = Arc::new(SqliteStorage::open(dir.join("scim.db")).unwrap());
    let t = TenantId::default_tenant();
    let (us, gs) = (
        scim_core::builtin::user_resource_schema(),
        scim_core::builtin::group_resource_schema(),
    );
    let (u, g) = (Scope::new(&t, &us), Scope::new(&t, &gs));
    storage.create(u, user("u1", "alice")).await.unwrap();
    storage.create(u, user("u2", "bob")).await.unwrap();
    storage.create(g, group("g1", &["u1"])).await.unwrap();

    let mut first = consumer(&storage, &dir);
    assert_eq!(first.catch_up().await.unwrap(), 3);
    let mirrored = lines(&dir.join("mirror.jsonl"));
    assert_eq!(
        mirrored
            .iter()
            .map(|l| l["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(mirrored[0]["kind"], "created");
    assert_eq!(mirrored[0]["resourceType"], "User");
    assert_eq!(mirrored[0]["resource"]["userName"], "alice");
    assert_eq!(mirrored[2]["resource"]["members"][0]["value"], "u1");
    assert_eq!(PositionFile::new(dir.join("position")).load().unwrap(), 3);
    // Caught up: nothing more.
    assert_eq!(first.catch_up().await.unwrap(), 0);
    drop(first);

    // More writes while no consumer runs (an outage), then a new consumer: it delivers only
    // what came after its recorded position.
    storage
        .modify_members(g, "g1", MembersChange::Add(vec![Member::new("u2")]), None)
        .await
        .unwrap();
    storage.delete(u, "u1", None).await.unwrap();
    let mut second = consumer(&storage, &dir);
    assert_eq!(second.catch_up().await.unwrap(), 3);
    let mirrored = lines(&dir.join("mirror.jsonl"));
    let summary: Vec<(u64, String, String)> = mirrored
        .iter()
        .map(|l| {
            (
                l["seq"].as_u64().unwrap(),
                l["id"].as_str().unwrap().to_string(),
                l["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "u1".into(), "created".into()),
            (2, "u2".into(), "created".into()),
            (3, "g1".into(), "created".into()),
            (4, "g1".into(), "members".into()),
            (5, "u1".into(), "deleted".into()),
            (6, "g1".into(), "members".into()),
        ]
    );
    // The deleted user has no resource; the group's current state lists only u2.
    assert_eq!(mirrored[4]["resource"], Value::Null);
    assert_eq!(mirrored[5]["resource"]["members"][0]["value"], "u2");
    assert_eq!(PositionFile::new(dir.join("position")).load().unwrap(), 6);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The binary, once: delivers the feed of a SQLite file to a JSON-lines file and records
/// the position; run again, it delivers nothing new.
#[tokio::test]
async fn the_binary_mirrors_a_sqlite_feed() {
    let dir = temp_dir();
    let db = dir.join("scim.db");
    {
        let storage = SqliteStorage::open(&db).unwrap();
        let t = TenantId::default_tenant();
        let us = scim_core::builtin::user_resource_schema();
        for i in 0..5 {
            storage
                .create(
                    Scope::new(&t, &us),
                    user(&format!("u{i}"), &format!("n{i}")),
                )
                .await
                .unwrap();
        }
    }
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_example-change-feed"))
            .arg("--storage")
            .arg(format!("sqlite:{}", db.display()))
            .arg("--position")
            .arg(dir.join("position"))
            .arg("--out")
            .arg(dir.join("mirror.jsonl"))
            .args(["--page-size", "2", "--once"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("delivered 5 changes"));
    assert_eq!(lines(&dir.join("mirror.jsonl")).len(), 5);
    assert_eq!(
        std::fs::read_to_string(dir.join("position"))
            .unwrap()
            .trim(),
        "5"
    );
    let out = run();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("delivered 0 changes"));
    assert_eq!(lines(&dir.join("mirror.jsonl")).len(), 5);
    let _ = std::fs::remove_dir_all(&dir);
}
