//! Checks and fixtures the SQL backend tests (`sqlite_backend.rs`, `postgres_backend.rs`)
//! share: exact filter pushdown and refusing what is not pushed down.

use scim_core::builtin::user_resource_schema;
use scim_core::{Filter, Resource};
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{
    Load, NewResource, Scope, Storage, StorageErrorKind, StoragePage, StorageQuery,
};
use serde_json::{Value, json};

/// The ids `filter` finds (one page of up to 10,000), checking that `totalResults` counts
/// exactly them.
pub async fn ids<S: Storage>(s: &S, scope: Scope<'_>, filter: Option<&Filter>) -> Vec<String> {
    let page = StoragePage::Offset {
        offset: 0,
        limit: 10_000,
    };
    let q = StorageQuery {
        filter,
        sort: None,
        page: &page,
        load: Load::WITHOUT_MEMBERS,
    };
    let out = s.query(scope, q).await.unwrap();
    assert_eq!(out.total_results as usize, out.resources.len());
    out.resources.into_iter().map(|r| r.id).collect()
}

/// Stores `users` (tenant `t1`), then checks that `s` claims every filter of `filters` and
/// finds exactly what scim-core's evaluator finds.
pub async fn assert_pushdown_matches_the_evaluator<S: Storage>(
    s: &S,
    users: Vec<NewResource>,
    filters: &[&str],
) {
    let (t, schema) = (
        scim_server::TenantId::new("t1").unwrap(),
        user_resource_schema(),
    );
    let scope = Scope::new(&t, &schema);
    for u in users.clone() {
        s.create(scope, u).await.unwrap();
    }
    for text in filters {
        let filter: Filter = text.parse().unwrap();
        assert!(s.can_filter(&schema, &filter), "can_filter({text})");
        let expected: Vec<String> = users
            .iter()
            .filter(|u| filter.matches(&u.resource, &schema))
            .map(|u| u.id.clone())
            .collect();
        assert_eq!(ids(s, scope, Some(&filter)).await, expected, "{text}");
    }
}

/// Filters a SQL backend does not push down (`ne`, `not`, unindexed attributes, `co`/`ew`
/// with an empty operand, value paths over unindexed sub-attributes, `null` operands):
/// `can_filter` says no and `query` refuses them with `UnsupportedFilter` (never a guessed
/// answer).
pub async fn assert_unsupported_filters_are_refused<S: Storage>(s: &S) {
    let (t, schema) = (
        scim_server::TenantId::new("t1").unwrap(),
        user_resource_schema(),
    );
    let scope = Scope::new(&t, &schema);
    for text in [
        r#"userName co """#,
        r#"userName ew """#,
        r#"userName ne "x""#,
        r#"not (userName eq "x")"#,
        r#"title eq "x""#,
        r#"title co "x""#,
        r#"emails[not (type eq "work")]"#,
        r#"emails[type ne "work"]"#,
        r#"emails[display eq "x"]"#,
        r#"emails[primary eq true]"#,
        r#"emails[type eq "work" and display co "x"]"#,
        r#"emails[value eq null]"#,
        r#"emails[value co ""]"#,
        r#"phoneNumbers[type eq "work"]"#,
        r#"emails eq "x""#,
        r#"userName eq null"#,
        r#"userName eq "a" and title eq "b""#,
        r#"nosuchattribute eq "x""#,
        r#"meta.created gt "2020-01-01T00:00:00Z""#,
    ] {
        let filter: Filter = text.parse().unwrap();
        assert!(!s.can_filter(&schema, &filter), "{text}");
        let page = StoragePage::Offset {
            offset: 0,
            limit: 10,
        };
        let q = StorageQuery {
            filter: Some(&filter),
            sort: None,
            page: &page,
            load: Load::ALL,
        };
        let e = s.query(scope, q).await.unwrap_err();
        assert_eq!(e.kind(), &StorageErrorKind::UnsupportedFilter, "{text}");
    }
}

/// A user `NewResource` with `id` and the uniqueness keys of its body.
pub fn user(id: &str, body: Value) -> NewResource {
    let schema = user_resource_schema();
    let mut v = body;
    v["id"] = json!(id);
    let resource = Resource::from_value(v).unwrap();
    let unique = UniquenessPolicy::for_schema(&schema).keys(&schema, &resource);
    NewResource {
        id: id.to_string(),
        resource,
        members: vec![],
        unique,
    }
}

/// The users of the pushdown test: case, Unicode, multi-valued emails, odd JSON shapes, and
/// U+0000 (which a PostgreSQL TEXT cannot hold; values are BYTEA and the JSON is escaped).
pub fn fixture_users() -> Vec<NewResource> {
    let bodies = [
        json!({"userName": "BJensen", "externalId": "E-1", "displayName": "Babs Jensen",
               "emails": [{"value": "bjensen@Example.com", "type": "work"},
                          {"value": "babs@jensen.org", "type": "home"}]}),
        json!({"userName": "bjensen2", "externalId": "e-1",
               "emails": [{"value": "BJENSEN@example.com"}]}),
        json!({"userName": "jsmith", "displayName": "",
               "emails": ["jsmith@example.com", {"VALUE": "J@x.org"}]}),
        json!({"userName": "ΟΔΟΣ", "displayName": "Ödön"}),
        json!({"userName": "\u{212A}elvin", "emails": [null, {"type": "work"}]}),
        json!({"userName": "abc\u{10FFFF}x", "externalId": 42}),
        json!({"userName": "abd"}),
        json!({"userName": "ab"}),
        json!({"USERNAME": "Zed", "displayname": "Zed Z", "emails": {"value": "z@z.z"}}),
        json!({"userName": "", "emails": []}),
        json!({"userName": "percent", "emails": [{"value": "a%b_c\u{0}@x.org", "type": "Work"}]}),
        json!({"userName": "nul\u{0}byte", "displayName": "a\u{0}"}),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| user(&format!("id-{i:02}"), b))
        .collect()
}

/// Filters every SQL backend pushes down, checked against the evaluator on [`fixture_users`].
pub const PUSHED_FILTERS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"USERNAME eq "BJENSEN""#,
    r#"userName sw "bj""#,
    r#"userName sw "B""#,
    r#"userName sw """#,
    r#"userName eq """#,
    r#"userName sw "ab""#,
    r#"userName sw "abc""#,
    r#"userName gt "ab""#,
    r#"userName ge "ab""#,
    r#"userName lt "b""#,
    r#"userName le "abd""#,
    r#"userName eq "οδοσ""#,
    r#"userName eq "ΟΔΟΣ""#,
    r#"userName eq "kelvin""#,
    r#"userName sw "K""#,
    r#"userName sw "NUL""#,
    r#"userName gt "nul""#,
    r#"userName pr"#,
    r#"externalId eq "E-1""#,
    r#"externalId eq "e-1""#,
    r#"externalId pr"#,
    r#"externalId eq "42""#,
    r#"displayName pr"#,
    r#"displayName eq "ödön""#,
    r#"displayName eq """#,
    r#"displayName sw "a""#,
    r#"emails.value eq "bjensen@example.com""#,
    r#"emails.value sw "J""#,
    r#"emails.value pr"#,
    r#"emails.value eq "z@z.z""#,
    r#"id eq "id-03""#,
    r#"id eq "ID-03""#,
    r#"id sw "id-0""#,
    r#"id pr"#,
    r#"userName sw "bj" and emails.value eq "bjensen@example.com""#,
    r#"userName eq "jsmith" or externalId eq "E-1""#,
    r#"(userName sw "a" or userName sw "z") and id gt "id-05""#,
    r#"userName eq "nobody""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "zed""#,
    r#"userName co "EN""#,
    r#"userName co "Σ""#,
    r#"userName ew "X""#,
    r#"userName ew "ELVIN""#,
    r#"displayName co "ö""#,
    r#"displayName ew "z""#,
    r#"emails.value co "@""#,
    r#"emails.value co "%""#,
    r#"emails.value ew ".ORG""#,
    r#"emails.type eq "WORK""#,
    r#"emails.type co "o""#,
    r#"emails[type eq "work"]"#,
    r#"emails[type eq "work" and value co "example"]"#,
    r#"emails[type eq "home" and value co "bjensen"]"#,
    r#"emails[value eq "jsmith@example.com"]"#,
    r#"emails[value pr]"#,
    r#"emails[type pr or value ew "z.z"]"#,
    r#"emails[value co "\u0000"]"#,
    r#"userName co "\u0000""#,
    r#"userName ew "\u0000byte""#,
    r#"emails[type eq "work"] and userName co "j""#,
];
