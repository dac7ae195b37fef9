//! Test support shared by the SQL backends' migration tests: a database written at schema
//! version 1 (no `elem`, no `emails.type` rows), and what it must answer once migrated and
//! its rows rebuilt.

use scim_core::builtin::user_resource_schema;
use scim_core::{Filter, Resource};
use serde_json::Value;

use crate::storage::{Load, NewResource, Scope, Storage, StoragePage, StorageQuery};
use crate::tenancy::TenantId;

/// The tenant of the fixture.
pub(crate) const TENANT: &str = "t";

/// The users stored at version 1 (tenant [`TENANT`]), as `(id, JSON)`: alice's work email
/// holds no "home" and her home email is not a work email.
pub(crate) const V1_USERS: [(&str, &str); 3] = [
    (
        "u1",
        r#"{"id":"u1","userName":"alice","emails":[{"value":"a@x.example","type":"work"},{"value":"home@y.example","type":"home"}]}"#,
    ),
    (
        "u2",
        r#"{"id":"u2","userName":"bob","emails":[{"value":"home@x.example","type":"Work"}]}"#,
    ),
    (
        "u3",
        r#"{"id":"u3","userName":"carol","emails":[{"value":"c@z.example","type":"work"}]}"#,
    ),
];

/// The `attr_index` rows version 1 wrote for a user of [`V1_USERS`]: `(path, value_norm)`,
/// no element, no `emails.type`.
pub(crate) fn v1_rows(id: &str, json: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut rows = vec![
        ("id".to_string(), id.to_string()),
        (
            "username".to_string(),
            v["userName"].as_str().unwrap().to_string(),
        ),
    ];
    for e in v["emails"].as_array().unwrap() {
        rows.push(("emails.value".into(), e["value"].as_str().unwrap().into()));
    }
    rows
}

/// The ids `text` finds in the fixture tenant, checking that the backend claims the filter
/// and that `totalResults` counts them.
async fn find<S: Storage>(storage: &S, text: &str) -> Vec<String> {
    let tenant = TenantId::new(TENANT).unwrap();
    let schema = user_resource_schema();
    let f: Filter = text.parse().unwrap();
    assert!(storage.can_filter(&schema, &f), "{text}");
    let page = StoragePage::Offset {
        offset: 0,
        limit: 10,
    };
    let q = StorageQuery {
        filter: Some(&f),
        sort: None,
        page: &page,
        load: Load::ALL,
    };
    let out = storage
        .query(Scope::new(&tenant, &schema), q)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e:?}"));
    assert_eq!(out.total_results as usize, out.resources.len(), "{text}");
    out.resources.into_iter().map(|r| r.id).collect()
}

/// A migrated fixture answers value paths (both conditions on the same element), the new
/// `emails.type` path and the old paths, and a write after the rebuild keeps the rows
/// current.
pub(crate) async fn assert_answers_value_paths<S: Storage>(storage: &S) {
    assert_eq!(
        find(storage, r#"emails[type eq "work" and value co "@x"]"#).await,
        ["u1", "u2"]
    );
    assert_eq!(
        find(storage, r#"emails[type eq "work" and value co "home"]"#).await,
        ["u2"]
    );
    assert_eq!(
        find(storage, r#"emails[type eq "work" and value co "x"]"#).await,
        ["u1", "u2", "u3"]
    );
    assert_eq!(find(storage, r#"emails.type eq "HOME""#).await, ["u1"]);
    assert_eq!(find(storage, r#"userName eq "Carol""#).await, ["u3"]);
    let tenant = TenantId::new(TENANT).unwrap();
    let schema = user_resource_schema();
    let new = NewResource {
        id: "u4".into(),
        resource: Resource::from_value(serde_json::json!({
            "id": "u4", "userName": "dave",
            "emails": [{"value": "d@x.example", "type": "work"}]
        }))
        .unwrap(),
        members: vec![],
        unique: vec![],
    };
    storage
        .create(Scope::new(&tenant, &schema), new)
        .await
        .unwrap();
    assert_eq!(
        find(
            storage,
            r#"emails[type eq "work" and value ew "x.example"]"#
        )
        .await,
        ["u1", "u2", "u4"]
    );
}
