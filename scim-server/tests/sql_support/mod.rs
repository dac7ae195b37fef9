//! Checks and fixtures the SQL backend tests (`sqlite_backend.rs`, `postgres_backend.rs`)
//! share: exact filter pushdown and refusing what is not pushed down.

use scim_core::builtin::user_resource_schema;
use scim_core::schema::{Attribute, AttributeType, ResourceSchema};
use scim_core::{AttrPath, CompValue, Filter, Resource};
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
            .filter(|u| folded_matches(&schema, &filter, &u.resource))
            .map(|u| u.id.clone())
            .collect();
        assert_eq!(ids(s, scope, Some(&filter)).await, expected, "{text}");
    }
}

/// scim-core's evaluator as the oracle of the SQL backends, whose indexes compare
/// caseExact=false strings by their Unicode case folding (`scim_core::casefold::fold`, the
/// folding uniqueness uses too): the evaluator over the resource with those values folded
/// and the filter with those operands folded.
pub fn folded_matches(schema: &ResourceSchema, filter: &Filter, resource: &Resource) -> bool {
    fold_filter(schema, filter, None).matches(&fold_resource(schema, resource), schema)
}

fn insensitive(a: Option<&Attribute>) -> bool {
    a.is_some_and(|a| {
        matches!(
            a.attr_type,
            AttributeType::String | AttributeType::Reference
        ) && !a.case_exact
    })
}

fn fold(s: &str) -> String {
    scim_core::casefold::fold(s).into_owned()
}

fn fold_values(v: &mut Value) {
    match v {
        Value::String(s) => *s = fold(s),
        Value::Array(items) => items.iter_mut().for_each(fold_values),
        _ => {}
    }
}

fn fold_resource(schema: &ResourceSchema, resource: &Resource) -> Resource {
    let mut out = resource.clone();
    for (key, v) in out.as_map_mut().iter_mut() {
        let Some(r) = schema.resolve(&AttrPath::new(key.clone())) else {
            continue;
        };
        let a = r.attribute;
        if !a.is_complex() {
            if insensitive(Some(a)) {
                fold_values(v);
            }
            continue;
        }
        let elements: Vec<&mut Value> = match v {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for e in elements {
            match e {
                Value::Object(o) => {
                    for (sub, x) in o.iter_mut() {
                        if insensitive(a.sub_attribute(sub)) {
                            fold_values(x);
                        }
                    }
                }
                Value::String(_) if insensitive(a.sub_attribute("value")) => fold_values(e),
                _ => {}
            }
        }
    }
    out
}

/// The filter with the string operands of caseExact=false attributes folded (`parent`: the
/// attribute of the enclosing value path).
fn fold_filter(schema: &ResourceSchema, filter: &Filter, parent: Option<&Attribute>) -> Filter {
    match filter {
        Filter::And(a, b) => fold_filter(schema, a, parent).and(fold_filter(schema, b, parent)),
        Filter::Or(a, b) => fold_filter(schema, a, parent).or(fold_filter(schema, b, parent)),
        Filter::Not(a) => fold_filter(schema, a, parent).not(),
        Filter::ValuePath {
            path,
            filter: inner,
        } => {
            let attr = schema.resolve(path).map(|r| r.attribute);
            Filter::value_path(path.clone(), fold_filter(schema, inner, attr))
        }
        Filter::Compare {
            path,
            op,
            value: CompValue::String(s),
        } => {
            let target = match parent {
                Some(p) => p.sub_attribute(&path.name),
                None => schema.resolve(path).map(|r| match r.sub_attribute {
                    Some(sub) => sub,
                    None if r.attribute.is_complex() => {
                        r.attribute.sub_attribute("value").unwrap_or(r.attribute)
                    }
                    None => r.attribute,
                }),
            };
            let value = if insensitive(target) {
                fold(s)
            } else {
                s.clone()
            };
            Filter::Compare {
                path: path.clone(),
                op: *op,
                value: CompValue::String(value),
            }
        }
        other => other.clone(),
    }
}

/// The few valid filters a SQL backend leaves to the planner (which scans them, bounded):
/// `co` / `ew` with an empty operand, `not` / `ne` / `null` inside brackets, never-returned
/// attributes, a whole extension, and `pr` on `groups`; its own `query` refuses them
/// (`UnsupportedFilter`) rather than guess, and so does an invalid filter.
pub async fn assert_unsupported_filters_are_refused<S: Storage>(s: &S) {
    let (t, schema) = (
        scim_server::TenantId::new("t1").unwrap(),
        user_resource_schema(),
    );
    let scope = Scope::new(&t, &schema);
    for text in [
        r#"userName co """#,
        r#"userName ew """#,
        r#"emails[not (type eq "work")]"#,
        r#"emails[type ne "work"]"#,
        r#"emails[value eq null]"#,
        r#"emails[value co ""]"#,
        r#"password eq "x""#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
        "groups pr",
        r#"nosuchattribute eq "x""#,
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
    // As the server stores every resource (RFC 7643 §3.1 `meta.resourceType`).
    if v.get("meta").is_none() {
        v["meta"] = json!({"resourceType": "User"});
    }
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
    r#"id ne "id-03""#,
    r#"id le "id-02""#,
    r#"id co "-1""#,
    r#"id ew "3""#,
    r#"id ew "D-03""#,
    r#"id eq null"#,
    r#"not (id sw "id-0")"#,
    r#"id sw "" and userName sw "b""#,
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
    // Longer substrings: case folding (and `externalId`, case-exact), U+0000 in the value
    // or the operand, characters outside the BMP, a quote, SQL wildcards.
    r#"userName co "ENSE""#,
    r#"userName co "byte""#,
    r#"userName co "ul byte""#,
    r#"externalId co "E-1""#,
    r#"userName co "ΟΔΟ""#,
    r#"displayName co "ödö""#,
    r#"userName co "\u212Aelv""#,
    r#"userName co "bc\udbff\udfff""#,
    r#"userName co "a\"b""#,
    r#"emails.value co "c\u0000@""#,
    r#"emails.value co "%b_""#,
    r#"emails.value co "bjensen@example.co""#,
    r#"emails[value co "jensen" and type eq "home"]"#,
    r#"userName ew "nsen2""#,
    r#"displayName ew "jensen" or userName co "smi""#,
    // A substring leaf checked per candidate of another (its candidates still bound).
    r#"userName co "ens" and emails[type eq "work" or value co "example"]"#,
    r#"id co "0" and emails[type eq "home" or value co "jensen"]"#,
    // `meta.resourceType`, the resource type's name (caseExact, RFC 7643 §3.1), answered
    // without rows: alone, under `not`, and folded into `and` / `or`.
    r#"meta.resourceType eq "User""#,
    r#"meta.resourceType eq "user""#,
    r#"meta.resourceType eq "Group""#,
    r#"meta.resourceType ne "User""#,
    r#"meta.resourceType pr"#,
    r#"meta.resourceType eq null"#,
    r#"meta.resourceType co "se""#,
    r#"meta.resourceType gt "Group""#,
    r#"not (meta.resourceType eq "User")"#,
    r#"meta.resourceType eq "User" and userName sw "b""#,
    r#"(meta.resourceType eq "User" and meta.resourceType pr) or userName sw "b""#,
    r#"not (meta.resourceType eq "User" or userName sw "b")"#,
    r#"meta.resourceType eq "Group" and userName sw "b""#,
    r#"meta.resourceType eq "Group" or userName sw "b""#,
    r#"meta.resourceType eq "User" or userName sw "b""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:meta.resourceType eq "User""#,
    r#"not (meta.resourceType eq "Group") and emails[type eq "work" and value co "example"]"#,
];
