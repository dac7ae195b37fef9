//! Pushdown cases: every valid filter and every `sortBy` is answered exactly, equal to
//! scim-core's evaluator and sort (RFC 7644 §3.4.2.2, §3.4.2.3), on varied data.

use std::collections::BTreeSet;

use scim_core::schema::{ResourceSchema, ResourceType, Schema};
use scim_core::sort::{SortOrder, SortSpec, sort_resources};
use scim_core::{AttrPath, Resource};
use serde_json::{Value, json};

use super::{
    expect_kind, filter, groups, ids, new_group, new_resource, new_user, offset, tenant, users,
};
use crate::storage::planner::{PlannerLimits, execute};
use crate::storage::{
    Load, Scope, Storage, StorageErrorKind, StoragePage, StorageQuery, StoredResource,
};
use crate::tenancy::TenantId;

/// Users whose attributes vary in presence, type and case, created in id order (`f01`,
/// `f02`, ...) so that creation order and id order agree (the planner breaks ties by id,
/// the SQL backends by creation order).
fn filter_users() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "f01",
            "bjensen",
            json!({"active": true, "title": "Tour Guide", "userType": "Employee",
                   "name": {"familyName": "Jensen", "givenName": "Barbara"},
                   "displayName": "Babs Jensen",
                   "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
                   "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                              {"value": "babs@jensen.org", "type": "home"}],
                   "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1", "department": "Tour Operations",
                                "manager": {"value": "f02"}}}),
        ),
        (
            "f02",
            "jsmith",
            json!({"active": false, "title": "", "userType": "Contractor",
                   "name": {"familyName": "smith", "givenName": "John"},
                   "meta": {"created": "2011-05-13T04:42:34Z", "lastModified": "2011-05-13T06:42:35+02:00"},
                   "emails": [{"value": "JSMITH@example.com", "type": "Work"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "10"}}),
        ),
        (
            "f03",
            "ada",
            json!({"active": "True", "name": {"familyName": "Lovelace"},
                   "meta": {"created": "2012-01-01T00:00:00Z", "lastModified": "2024-02-29T12:00:00.5Z"},
                   "emails": ["ada@plain.example"],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "2", "manager": {"value": "f01"}}}),
        ),
        (
            "f04",
            "grace",
            json!({"title": "Rear Admiral", "userType": "employee", "nickName": "Amazing Grace",
                   "name": {"familyName": "Hopper", "givenName": "Grace"},
                   "meta": {"created": "2013-01-01T00:00:00Z", "lastModified": "2011-05-13T04:42:33Z"},
                   "emails": [{"value": "grace@navy.example", "type": "other"},
                              {"value": "gh@x.example", "type": "work", "primary": true}]}),
        ),
        (
            "f05",
            "linus",
            json!({"active": true, "displayName": "Linus",
                   "meta": {"created": "2014-01-01T00:00:00Z"},
                   "phoneNumbers": [{"value": "555 1234"}, {"value": "+47 555"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1"}}),
        ),
        (
            "f06",
            "Zoë",
            json!({"active": false, "title": "Boss", "userType": "Intern",
                   "name": {"familyName": "Ødegård", "givenName": "zoë"},
                   "meta": {"created": "2015-01-01T00:00:00Z", "lastModified": "not a date"},
                   "emails": [{"value": "zoe@ødegård.example", "type": "home", "primary": "true"}]}),
        ),
        (
            "f07",
            "empty",
            json!({"name": {}, "emails": [], "title": null, "meta": {}}),
        ),
    ]
}

async fn create_filter_users<S: Storage>(s: &S, t: &TenantId) -> Vec<StoredResource> {
    let schema = users();
    let mut all = Vec::new();
    for (id, name, extra) in filter_users() {
        // The fixture sets `meta` itself (dateTimes compared as instants).
        let mut user = super::user_json(id, name, json!({}));
        if let (Value::Object(e), map) = (extra, user.as_map_mut()) {
            for (k, v) in e {
                map.insert(k, v);
            }
        }
        let new = new_resource(&schema, id, user, vec![]);
        all.push(s.create(Scope::new(t, &schema), new).await.unwrap());
    }
    all
}

/// The ids `text` finds with the backend's own query, asserting it claims the filter
/// (`can_filter`) and that totalResults counts them.
async fn found<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    schema: &ResourceSchema,
    text: &str,
) -> BTreeSet<String> {
    let f = filter(text);
    assert!(
        s.can_filter(schema, &f),
        "the backend must answer `{text}` itself (every valid filter)"
    );
    let page = s
        .query(
            Scope::new(t, schema),
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page: &offset(0, 1000),
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("`{text}`: {e:?}"));
    assert_eq!(
        page.total_results,
        page.resources.len() as u64,
        "totalResults of `{text}`"
    );
    ids(&page).into_iter().collect()
}

fn evaluated(all: &[StoredResource], schema: &ResourceSchema, text: &str) -> BTreeSet<String> {
    let compiled = filter(text)
        .compile(schema)
        .unwrap_or_else(|e| panic!("`{text}` must compile: {e:?}"));
    all.iter()
        .filter(|r| compiled.matches(&r.resource))
        .map(|r| r.id.clone())
        .collect()
}

/// Every comparison operator, `pr`, `ne`, `not`, `or`, `and` and value paths on any
/// attribute (core, sub-attributes, the enterprise extension, `meta`) are answered by the
/// backend itself, and each answer equals scim-core's evaluator over the stored resources,
/// `ne` and `not` on missing attributes and multi-valued attributes included.
pub async fn every_filter_equals_the_evaluator<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let all = create_filter_users(&s, &t).await;
    let filters = [
        "active eq true",
        "active eq false",
        r#"active eq "TRUE""#,
        "active ne true",
        "not (active eq true)",
        "active pr",
        "title pr",
        "not (title pr)",
        "title eq null",
        "title ne null",
        r#"title eq """#,
        r#"title ne "Boss""#,
        r#"name.familyName eq "jensen""#,
        r#"name.familyName eq "x""#,
        r#"name.familyName sw "J""#,
        r#"name.familyName gt "k""#,
        r#"name.givenName le "john""#,
        r#"name.familyName co "Ø""#,
        r#"name[givenName eq "GRACE"]"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#,
        r#"meta.lastModified lt "2011-05-13T04:42:35Z""#,
        r#"meta.lastModified le "2030-01-01T00:00:00""#,
        r#"meta.lastModified ne "2011-05-13T04:42:34Z""#,
        "meta.lastModified pr",
        r#"meta.created gt "2012-01-01T00:00:00Z" and meta.created lt "2015-01-01T00:00:00Z""#,
        r#"userType ne "Employee""#,
        r#"userType eq "employee""#,
        r#"not (userName eq "bjensen")"#,
        r#"not (userName eq "BJENSEN") and not (userName sw "j")"#,
        r#"userName eq null"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ne "1""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "1""#,
        r#"employeeNumber eq "10""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "f02""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "tour""#,
        r#"title eq "Boss" or active eq false"#,
        r#"(title pr or userType eq "Intern") and not (active eq true)"#,
        r#"userName sw "b" or name.familyName ew "er" or meta.created ge "2015-01-01T00:00:00Z""#,
        r#"active eq true and (emails.type eq "work" or phoneNumbers pr)"#,
        r#"emails eq "bjensen@example.com""#,
        r#"emails co "example""#,
        r#"emails ne "ada@plain.example""#,
        r#"emails.value ne "jsmith@example.com""#,
        r#"emails.type ne "work""#,
        r#"emails[primary eq true]"#,
        r#"emails[primary eq true and type eq "work"]"#,
        r#"emails[type eq "home" or value ew "x.example"]"#,
        r#"emails[value eq "ADA@plain.example"]"#,
        r#"not (emails[type eq "work"])"#,
        r#"emails.primary eq true"#,
        r#"phoneNumbers.value co "555""#,
        r#"phoneNumbers[value sw "+47"]"#,
        r#"not (not (active eq true))"#,
        r#"userType ne "Employee" and title pr"#,
        r#"nickName ew "GRACE""#,
        r#"displayName le "b""#,
        r#"id eq "f03" or externalId pr"#,
        r#"not (id eq "f03") and emails pr"#,
        "name pr",
        "not (name pr)",
        "phoneNumbers pr or emails pr",
    ];
    let mut nonempty = 0;
    for text in filters {
        let expected = evaluated(&all, &schema, text);
        nonempty += usize::from(!expected.is_empty());
        assert_eq!(
            found(&s, &t, &schema, text).await,
            expected,
            "`{text}` vs the evaluator"
        );
    }
    assert!(nonempty >= 50, "the fixture must make most filters match");
}

/// A resource type with integer, decimal, dateTime, boolean and multi-valued attributes
/// (RFC 7643 §2.3): numbers compare numerically (`3` equals `3.0`, RFC 7644 §3.4.2.2
/// "For integer attributes, it is a comparison by numeric value"), dateTimes
/// chronologically.
fn device_schema() -> ResourceSchema {
    let core: Schema = serde_json::from_value(json!({
        "id": "urn:example:params:scim:schemas:Device",
        "attributes": [
            {"name": "label", "type": "string"},
            {"name": "size", "type": "integer"},
            {"name": "weight", "type": "decimal"},
            {"name": "seen", "type": "dateTime"},
            {"name": "on", "type": "boolean"},
            {"name": "tags", "type": "string", "multiValued": true, "caseExact": true},
            {"name": "parts", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "n", "type": "integer"}, {"name": "kind", "type": "string"}]}
        ]
    }))
    .unwrap();
    let rt: ResourceType = serde_json::from_value(json!({
        "name": "Device", "endpoint": "/Devices",
        "schema": "urn:example:params:scim:schemas:Device"
    }))
    .unwrap();
    ResourceSchema::new(rt, core, vec![])
}

fn devices() -> Vec<(&'static str, Value)> {
    vec![
        (
            "d1",
            json!({"label": "a", "size": 3, "weight": 2.5, "seen": "2020-01-01T00:00:00Z",
                   "on": true, "tags": ["A", "b"], "parts": [{"n": 1, "kind": "x"}, {"n": 5}]}),
        ),
        (
            "d2",
            json!({"label": "b", "size": -7, "weight": 3, "seen": "2020-01-01T01:00:00+02:00",
                   "on": false, "tags": ["a"], "parts": [{"n": 2, "kind": "y"}]}),
        ),
        (
            "d3",
            json!({"label": "c", "size": 12, "weight": 2, "seen": "2019-12-31T23:00:00.25Z"}),
        ),
        (
            "d4",
            json!({"label": "d", "size": "big", "weight": null, "seen": ""}),
        ),
        (
            "d5",
            json!({"label": "e", "size": 3.0, "parts": [{"kind": "x"}]}),
        ),
        // Values the index cannot order by their column: several at a single-valued path,
        // a negative zero (SQL compares it equal to zero), and a dateTime without a zone
        // offset (read as UTC, which the column orders).
        (
            "d6",
            json!({"label": ["z", "A"], "size": -0.0, "seen": "2020-01-01T00:30:00"}),
        ),
    ]
}

/// Numbers, dateTimes and booleans of a custom resource type compare by type, in the
/// backend, as the evaluator compares them; sorting follows scim-core's sort.
pub async fn typed_values_compare_by_type<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = device_schema();
    let sc = Scope::new(&t, &schema);
    let mut all = Vec::new();
    for (id, body) in devices() {
        let mut v = body;
        v["id"] = json!(id);
        let r = Resource::from_value(v).unwrap();
        all.push(
            s.create(sc, new_resource(&schema, id, r, vec![]))
                .await
                .unwrap(),
        );
    }
    for text in [
        "size eq 3",
        "size eq 3.0",
        "size gt 2",
        "size ge 3",
        "size lt 0",
        "size le 12",
        "size ne 3",
        "not (size lt 10)",
        "size pr",
        "weight gt 2.25",
        "weight eq 2",
        "weight ne 2.5",
        r#"seen eq "2019-12-31T23:00:00Z""#,
        r#"seen lt "2020-01-01T00:00:00Z""#,
        r#"seen ge "2019-12-31T23:00:00.25Z""#,
        r#"seen ne "2020-01-01T00:00:00Z""#,
        "on eq true",
        "on ne true",
        r#"tags eq "a""#,
        r#"tags eq "A" and tags eq "b""#,
        "parts[n ge 2]",
        r#"parts[n eq 1 and kind eq "x"]"#,
        r#"parts[kind eq "x" and n pr]"#,
        "parts.n lt 3",
        r#"size gt 0 or seen pr"#,
    ] {
        assert_eq!(
            found(&s, &t, &schema, text).await,
            evaluated(&all, &schema, text),
            "`{text}` vs the evaluator"
        );
    }
    for by in ["size", "weight", "seen", "on", "tags", "parts.n", "label"] {
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let spec = SortSpec::new(AttrPath::parse(by).unwrap(), order);
            assert_sorted_like_scim_core(&s, &t, &schema, &all, None, &spec).await;
        }
    }
}

/// What `execute` (the planner, which hands the sort to a backend that can sort) returns
/// for `filter` sorted by `spec`, in one page and walked with cursors of 2, equals
/// scim-core's stable sort of the evaluator's matches in creation order.
async fn assert_sorted_like_scim_core<S: Storage>(
    s: &S,
    t: &TenantId,
    schema: &ResourceSchema,
    all: &[StoredResource],
    text: Option<&str>,
    spec: &SortSpec,
) {
    let compiled = text.map(|f| filter(f).compile(schema).unwrap());
    let mut expected: Vec<Resource> = all
        .iter()
        .filter(|r| compiled.as_ref().is_none_or(|c| c.matches(&r.resource)))
        .map(|r| r.resource.clone())
        .collect();
    sort_resources(&mut expected, schema, spec);
    let expected: Vec<String> = expected
        .iter()
        .map(|r| r.get("id").and_then(Value::as_str).unwrap().to_string())
        .collect();
    let f = text.map(filter);
    let limits = PlannerLimits::default();
    let run = |page: StoragePage| {
        let f = f.clone();
        async move {
            execute(
                s,
                Scope::new(t, schema),
                f.as_ref(),
                Some(spec),
                &page,
                Load::WITHOUT_MEMBERS,
                &limits,
            )
            .await
            .unwrap_or_else(|e| panic!("sortBy {} {:?} {text:?}: {e:?}", spec.by, spec.order))
        }
    };
    let one = run(offset(0, 1000)).await;
    assert_eq!(
        ids(&one),
        expected,
        "sortBy {} {:?} {text:?}",
        spec.by,
        spec.order
    );
    assert_eq!(one.total_results, expected.len() as u64);
    // Offset pages of 2 and a cursor walk give the same order.
    let mut paged = Vec::new();
    for start in (0..expected.len()).step_by(2) {
        paged.extend(ids(&run(offset(start as u64, 2)).await));
    }
    assert_eq!(paged, expected, "offset pages, sortBy {}", spec.by);
    let mut walked = Vec::new();
    let mut after = None;
    for _ in 0..=expected.len() {
        let page = run(StoragePage::Cursor { after, limit: 2 }).await;
        walked.extend(ids(&page));
        after = page.next_cursor;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(walked, expected, "cursor walk, sortBy {}", spec.by);
}

/// `sortBy` on several attributes, ascending and descending, with and without a filter:
/// scim-core's order (RFC 7644 §3.4.2.3: missing values last ascending, first descending;
/// a multi-valued attribute by its primary or else first value), ties in creation order.
pub async fn sort_equals_scim_core_sort<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let all = create_filter_users(&s, &t).await;
    for by in [
        "userName",
        "name.familyName",
        "title",
        "meta.lastModified",
        "meta.created",
        "meta.resourceType",
        "id",
        "active",
        "emails",
        "emails.type",
        "displayName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ] {
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let spec = SortSpec::new(AttrPath::parse(by).unwrap(), order);
            assert_sorted_like_scim_core(&s, &t, &schema, &all, None, &spec).await;
            assert_sorted_like_scim_core(
                &s,
                &t,
                &schema,
                &all,
                Some(r#"not (userType eq "Employee")"#),
                &spec,
            )
            .await;
        }
    }
}

/// Membership lookups (RFC 7643 §4.1.2 `groups`, §4.2 `members`) as Entra ID sends them:
/// `id eq "<gid>" and members[value eq "<uid>"]`, `members.value eq`, `groups.value eq`,
/// `groups[value eq]`, answered from the membership on every backend.
pub async fn membership_filters<S: Storage>(s: S) {
    let t = tenant("t1");
    let (us, gs) = (users(), groups());
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        s.create(Scope::new(&t, &us), new_user(id, name, json!({})))
            .await
            .unwrap();
    }
    s.create(Scope::new(&t, &gs), new_group("g1", "One", &["u1", "u2"]))
        .await
        .unwrap();
    s.create(Scope::new(&t, &gs), new_group("g2", "Two", &["u2"]))
        .await
        .unwrap();
    s.create(Scope::new(&t, &gs), new_group("g3", "Three", &[]))
        .await
        .unwrap();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    for (text, expected) in [
        (r#"id eq "g1" and members[value eq "u1"]"#, set(&["g1"])),
        (r#"id eq "g2" and members[value eq "u1"]"#, set(&[])),
        (r#"members[value eq "u2"]"#, set(&["g1", "g2"])),
        (r#"members.value eq "u1""#, set(&["g1"])),
        (r#"members.value eq "nobody""#, set(&[])),
        (
            r#"displayName eq "three" or members[value eq "u1"]"#,
            set(&["g1", "g3"]),
        ),
    ] {
        assert_eq!(found(&s, &t, &gs, text).await, expected, "{text}");
    }
    for (text, expected) in [
        (r#"groups.value eq "g2""#, set(&["u2"])),
        (r#"groups[value eq "g1"]"#, set(&["u1", "u2"])),
        (r#"groups.value eq "g3""#, set(&[])),
        (
            r#"userName eq "alice" and groups.value eq "g1""#,
            set(&["u1"]),
        ),
        (r#"not (groups.value eq "g1")"#, set(&["u3"])),
    ] {
        assert_eq!(found(&s, &t, &us, text).await, expected, "{text}");
    }
    // A membership change is seen by the next lookup.
    s.modify_members(
        Scope::new(&t, &gs),
        "g3",
        crate::storage::MembersChange::Add(vec![crate::storage::Member::new("u3")]),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        found(&s, &t, &gs, r#"members[value eq "u3"]"#).await,
        set(&["g3"])
    );
    assert_eq!(
        found(&s, &t, &us, r#"groups.value eq "g3""#).await,
        set(&["u3"])
    );
}

/// One case folding (Unicode default case folding) for uniqueness and filters: after
/// creating `οδος`, `userName eq "ΟΔΟΣ"` finds it and creating `ΟΔΟΣ` is a uniqueness
/// conflict (`str::to_lowercase` would map the final `Σ` to `ς` and let both in).
pub async fn case_folding_finds_what_uniqueness_protects<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    s.create(Scope::new(&t, &schema), new_user("g1", "οδος", json!({})))
        .await
        .unwrap();
    assert_eq!(
        found(&s, &t, &schema, r#"userName eq "ΟΔΟΣ""#).await,
        BTreeSet::from(["g1".to_string()])
    );
    assert_eq!(
        found(&s, &t, &schema, r#"userName sw "ΟΔΟ""#).await,
        BTreeSet::from(["g1".to_string()])
    );
    let again = s
        .create(Scope::new(&t, &schema), new_user("g2", "ΟΔΟΣ", json!({})))
        .await;
    assert!(
        super::is_uniqueness_on(&again, "userName"),
        "creating ΟΔΟΣ after οδος: {again:?}"
    );
}

/// A filter at the size a client may send (100 `co` clauses or-ed; nesting 20 deep) is
/// answered, without a database limit on expression depth, compound terms or parameters.
pub async fn filters_at_the_size_limit<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let all = create_filter_users(&s, &t).await;
    let wide: Vec<String> = (0..100)
        .map(|i| match i {
            7 => r#"emails.value co "jensen""#.to_string(),
            42 => r#"name.familyName co "hop""#.to_string(),
            _ => format!(r#"userName co "zz{i}""#),
        })
        .collect();
    let wide = wide.join(" or ");
    let mut deep = r#"userName co "a""#.to_string();
    for i in 0..19 {
        deep = match i % 3 {
            0 => format!("not ({deep})"),
            1 => format!(r#"({deep} or title eq "t{i}")"#),
            _ => format!("({deep} and id pr)"),
        };
    }
    for text in [wide.as_str(), deep.as_str()] {
        let expected = evaluated(&all, &schema, text);
        assert_eq!(found(&s, &t, &schema, text).await, expected, "{text}");
    }
    // And through the planner, with a sort.
    let spec = SortSpec::new(AttrPath::new("userName"), SortOrder::Descending);
    assert_sorted_like_scim_core(&s, &t, &schema, &all, Some(&wide), &spec).await;
    let limits = PlannerLimits {
        max_scanned: 1,
        max_page_size: 10,
    };
    // A backend that answers the filter itself needs no scan: no tooMany.
    let f = filter(&wide);
    let r = execute(
        &s,
        Scope::new(&t, &schema),
        Some(&f),
        None,
        &offset(0, 10),
        Load::ALL,
        &limits,
    )
    .await;
    if s.can_filter(&schema, &f) {
        assert!(r.is_ok(), "{r:?}");
    } else {
        expect_kind(r, &StorageErrorKind::TooMany, "scan beyond the bound");
    }
}
