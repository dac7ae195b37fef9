//! Checks the SQL backend tests (`sqlite_backend.rs`, `postgres_backend.rs`) share: exact
//! filter pushdown and refusing what is not pushed down.

use scim_core::Filter;
use scim_core::builtin::user_resource_schema;
use scim_server::storage::{
    Load, NewResource, Scope, Storage, StorageErrorKind, StoragePage, StorageQuery,
};

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
        scim_server::tenant::TenantId::new("t1").unwrap(),
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
        scim_server::tenant::TenantId::new("t1").unwrap(),
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
