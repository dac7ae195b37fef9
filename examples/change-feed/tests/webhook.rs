//! The webhook sink: a refused delivery (5xx) leaves the position where it was, so the same
//! changes are delivered again once the receiver accepts them; pages arrive in order.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use example_change_feed::{Consumer, ConsumerError, PositionFile, Webhook};
use scim_core::Resource;
use scim_server::TenantId;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::{NewResource, Scope, Storage};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_refused_delivery_is_retried_with_the_same_changes() {
    let storage = Arc::new(MemoryStorage::new());
    let t = TenantId::default_tenant();
    let us = scim_core::builtin::user_resource_schema();
    for i in 0..5 {
        let id = format!("u{i}");
        storage
            .create(
                Scope::new(&t, &us),
                NewResource {
                    id: id.clone(),
                    resource: Resource::from_value(json!({"id": id, "userName": id})).unwrap(),
                    members: vec![],
                    unique: vec![],
                },
            )
            .await
            .unwrap();
    }
    let receiver = MockServer::start().await;
    let dir = std::env::temp_dir().join(format!("feed-hook-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let position = PositionFile::new(dir.join("position"));
    let mut consumer = Consumer::new(
        Arc::clone(&storage) as Arc<dyn Storage>,
        t.clone(),
        position.clone(),
        Box::new(Webhook::new(format!("{}/changes", receiver.uri())).bearer("hook-secret")),
    )
    .page_size(2);

    // The receiver is down (503): nothing is recorded as delivered.
    let down = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&receiver)
        .await;
    let e = consumer.catch_up().await.unwrap_err();
    assert!(matches!(e, ConsumerError::Sink(_)), "{e}");
    assert_eq!(position.load().unwrap(), 0);
    drop(down);

    // Back up: everything from the start, in pages of 2, in order.
    Mock::given(method("POST"))
        .and(path("/changes"))
        .and(header("authorization", "Bearer hook-secret"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    assert_eq!(consumer.catch_up().await.unwrap(), 5);
    assert_eq!(position.load().unwrap(), 5);
    let bodies: Vec<Value> = receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/changes")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // The refused request, then three accepted pages.
    let seqs: Vec<Vec<u64>> = bodies
        .iter()
        .map(|b| {
            b["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["seq"].as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(seqs, [vec![1, 2], vec![1, 2], vec![3, 4], vec![5]]);
    assert_eq!(bodies[1]["changes"][0]["resource"]["userName"], "u0");
    let _ = std::fs::remove_dir_all(&dir);
}
