//! Projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 `returned`), sorting (RFC 7644
//! §3.4.2.3) and paging (RFC 7644 §3.4.2.4, RFC 9865) against the built-in User and Group
//! schemas and the RFC 7643 §8.2 / §8.3 example users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::messages::{
    CursorDirection, CursorPage, IndexPage, ListResponse, OpaqueCursor, PageRequest, Query,
};
use scim_core::projection::{Projection, RequestedAttrs, project, project_with};
use scim_core::sort::{SortOrder, SortSpec, compare, sort_key, sort_resources};
use scim_core::{AttrPath, Resource, ScimType, builtin};
use serde_json::{Value, json};

mod common;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// RFC 7643 §8.3, "Enterprise User Extension Representation".
fn enterprise_user() -> Resource {
    common::resource(common::rfc7643_8_3_user())
}

/// RFC 7643 §8.2 "Full User Representation" as the §8.3 user without the extension, so that
/// the two users of these tests differ only by the extension (the printed §8.2 also differs
/// in `groups.$ref`, `meta.version` and address member order).
fn full_user() -> Resource {
    let mut v = common::rfc7643_8_3_user();
    let obj = v.as_object_mut().unwrap();
    obj.shift_remove(ENTERPRISE);
    obj.insert("schemas".into(), json!([USER]));
    common::resource(v)
}

fn params(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
    Projection::from_params(attributes, excluded).unwrap()
}

fn projected(r: &Resource, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    project(
        r,
        &builtin::user_resource_schema(),
        &params(attributes, excluded),
    )
    .into_value()
}

// ---------------------------------------------------------------------------------------
// Projection
// ---------------------------------------------------------------------------------------

#[test]
fn default_projection_drops_only_the_password() {
    // RFC 7643 §4.1 password: returned "never"; everything else in §8.3 is default/always.
    for user in [full_user(), enterprise_user()] {
        let mut expected = user.clone().into_value();
        expected.as_object_mut().unwrap().shift_remove("password");
        assert_eq!(projected(&user, None, None), expected);
    }
}

#[test]
fn password_is_never_returned_even_when_requested() {
    let out = projected(&full_user(), Some("password,userName"), None);
    assert!(out.get("password").is_none());
    assert_eq!(out["userName"], "bjensen@example.com");
}

#[test]
fn attributes_username_returns_schemas_id_and_username() {
    // RFC 7644 §3.9: "GET /Users/2819c223-...?attributes=userName" answers
    // {"schemas":[...User], "id":"2819c223-...", "userName":"bjensen"}.
    // meta is returned "default" (RFC 7643 §3.1), so it is not returned here.
    let out = projected(&full_user(), Some("userName"), None);
    assert_eq!(
        out,
        json!({
            "schemas": [USER],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen@example.com"
        })
    );
    // The extension object is dropped when nothing in it is selected; schemas stays.
    let out = projected(&enterprise_user(), Some("userName"), None);
    assert_eq!(out.as_object().unwrap().len(), 3);
    assert_eq!(out["schemas"], json!([USER, ENTERPRISE]));
}

#[test]
fn attribute_names_are_case_insensitive() {
    let out = projected(&full_user(), Some("USERNAME, Name.FamilyName"), None);
    assert_eq!(out["userName"], "bjensen@example.com");
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
}

#[test]
fn id_is_always_returned() {
    let out = projected(&full_user(), None, Some("id,userName"));
    assert_eq!(out["id"], "2819c223-7f76-453a-919d-413861904646");
    assert!(out.get("userName").is_none());
    let out = projected(&full_user(), Some("displayName"), None);
    assert_eq!(out["id"], "2819c223-7f76-453a-919d-413861904646");
}

#[test]
fn excluded_emails() {
    let user = full_user();
    let out = projected(&user, None, Some("emails"));
    let mut expected = user.into_value();
    let obj = expected.as_object_mut().unwrap();
    obj.shift_remove("emails");
    obj.shift_remove("password");
    assert_eq!(out, expected);
    // meta is default: returned unless excluded.
    assert_eq!(out["meta"]["resourceType"], "User");
    assert!(
        projected(&full_user(), None, Some("meta"))
            .get("meta")
            .is_none()
    );
}

#[test]
fn sub_attribute_selection() {
    let out = projected(&full_user(), Some("name.givenName,emails.value"), None);
    assert_eq!(
        out,
        json!({
            "schemas": [USER],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]
        })
    );
    // A parent and one of its sub-attributes: the whole parent.
    let out = projected(&full_user(), Some("name,name.givenName"), None);
    assert_eq!(out["name"]["middleName"], "Jane");
    // Excluding one sub-attribute keeps the others.
    let out = projected(&full_user(), None, Some("emails.type,meta.location"));
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com", "primary": true}, {"value": "babs@jensen.org"}])
    );
    assert!(out["meta"].get("location").is_none());
    assert_eq!(out["meta"]["version"], "W/\"3694e05e9dff591\"");
}

#[test]
fn enterprise_extension_by_urn() {
    let u = enterprise_user();
    let out = projected(
        &u,
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        None,
    );
    assert_eq!(
        out[ENTERPRISE],
        json!({"manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
            "displayName": "John Smith"
        }})
    );
    assert!(out.get("userName").is_none());

    let out = projected(
        &u,
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName"),
        None,
    );
    assert_eq!(
        out[ENTERPRISE],
        json!({"manager": {"displayName": "John Smith"}})
    );

    // Without the URN the name still resolves (only the extension defines it).
    let out = projected(&u, Some("employeeNumber"), None);
    assert_eq!(out[ENTERPRISE], json!({"employeeNumber": "701984"}));

    // The whole extension by its URN, in either parameter.
    let out = projected(&u, Some(ENTERPRISE), None);
    assert_eq!(out[ENTERPRISE]["department"], "Tour Operations");
    assert!(out.get("name").is_none());
    let out = projected(&u, None, Some(ENTERPRISE));
    assert!(out.get(ENTERPRISE).is_none());
    assert_eq!(out["userName"], "bjensen@example.com");

    // Excluding every attribute of the extension drops the object.
    let out = projected(
        &u,
        None,
        Some(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,\
             employeeNumber,costCenter,organization,division,department",
        ),
    );
    assert!(out.get(ENTERPRISE).is_none());

    // The core schema URN selects every core attribute.
    let out = projected(&u, Some(USER), None);
    assert_eq!(out["userName"], "bjensen@example.com");
    assert!(out.get(ENTERPRISE).is_none());
    assert!(out.get("password").is_none());
}

#[test]
fn both_parameters_together() {
    // attributes picks the set, excludedAttributes removes from it (never `always`).
    let out = projected(
        &full_user(),
        Some("userName,name,emails"),
        Some("name.middleName,id"),
    );
    assert_eq!(out["id"], "2819c223-7f76-453a-919d-413861904646");
    assert!(out["name"].get("middleName").is_none());
    assert_eq!(out["name"]["givenName"], "Barbara");
    assert!(out.get("displayName").is_none());
}

#[test]
fn malformed_names_are_invalid_value() {
    for bad in ["user name", "emails[type eq \"work\"]", "name..givenName"] {
        let err = Projection::from_params(Some(bad), None).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue), "{bad}");
        assert_eq!(err.status(), 400);
        assert!(err.detail().contains("attributes"), "{}", err.detail());
        let err = Projection::from_params(None, Some(bad)).unwrap_err();
        assert!(
            err.detail().contains("excludedAttributes"),
            "{}",
            err.detail()
        );
    }
    let schema = builtin::user_resource_schema();
    assert!(
        params(Some("userName,name.givenName"), None)
            .validate(&schema)
            .is_ok()
    );
    assert!(params(Some(ENTERPRISE), None).validate(&schema).is_ok());
    let err = params(Some("shoeSize"), None)
        .validate(&schema)
        .unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

#[test]
fn group_members_excluded_for_entra() {
    // Entra reads groups with `excludedAttributes=members`; the store should not load them.
    let schema = builtin::group_resource_schema();
    let p = params(None, Some("members"));
    assert!(p.excludes(&schema, &AttrPath::new("members")));
    assert!(p.excludes(&schema, &AttrPath::parse("members.value").unwrap()));
    assert!(p.includes(&schema, &AttrPath::new("displayName")));
    assert!(p.includes(&schema, &AttrPath::new("id")));
    let group = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"}]
    }))
    .unwrap();
    let out = project(&group, &schema, &p).into_value();
    assert!(out.get("members").is_none());
    assert_eq!(out["displayName"], "Tour Guides");
    // Default projection: members are loaded and returned.
    assert!(Projection::all().includes(&schema, &AttrPath::new("members")));
}

#[test]
fn includes_matches_project() {
    let schema = builtin::user_resource_schema();
    let user = enterprise_user();
    let cases = [
        (None, None),
        (Some("userName"), None),
        (None, Some("emails,meta")),
        (Some("name.givenName"), Some("name.familyName")),
        (Some(ENTERPRISE), None),
    ];
    for (a, e) in cases {
        let p = params(a, e);
        let out = project(&user, &schema, &p);
        for name in [
            "userName", "emails", "meta", "name", "password", "id", "groups",
        ] {
            let path = AttrPath::new(name);
            assert_eq!(
                p.includes(&schema, &path),
                out.get(name).is_some(),
                "{name} under {a:?}/{e:?}"
            );
        }
        let manager = AttrPath::parse(&format!("{ENTERPRISE}:manager")).unwrap();
        assert_eq!(
            p.includes(&schema, &manager),
            out.get(ENTERPRISE).and_then(|x| x.get("manager")).is_some(),
            "manager under {a:?}/{e:?}"
        );
    }
}

#[test]
fn write_responses_include_supplied_request_attributes() {
    // A custom attribute with returned=request (none of the RFC's User attributes has it).
    let mut schema = builtin::user_resource_schema();
    let mut extra =
        scim_core::schema::Attribute::new("secret", scim_core::schema::AttributeType::String);
    extra.returned = scim_core::schema::Returned::Request;
    std::sync::Arc::make_mut(&mut schema.core)
        .attributes
        .push(extra);
    let mut user = full_user();
    user.as_map_mut().insert("secret".into(), json!("s"));
    assert!(
        project(&user, &schema, &Projection::all())
            .get("secret")
            .is_none()
    );
    let body =
        Resource::from_value(json!({"schemas": [USER], "userName": "x", "secret": "s"})).unwrap();
    let supplied = RequestedAttrs::from_body(&body, &schema);
    let out = project_with(&user, &schema, &Projection::all(), &supplied);
    assert_eq!(out.get("secret"), Some(&json!("s")));
    assert!(out.get("password").is_none());
    let out = project(&user, &schema, &params(Some("secret"), None));
    assert_eq!(out.get("secret"), Some(&json!("s")));
}

// ---------------------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------------------

fn users(values: &[Value]) -> Vec<Resource> {
    values
        .iter()
        .map(|v| Resource::from_value(v.clone()).unwrap())
        .collect()
}

fn ids(rs: &[Resource]) -> Vec<&str> {
    rs.iter().map(|r| r.id().unwrap()).collect()
}

fn sort_by(rs: &mut [Resource], by: &str, order: Option<&str>) {
    let spec = SortSpec::from_params(Some(by), order).unwrap().unwrap();
    sort_resources(rs, &builtin::user_resource_schema(), &spec);
}

#[test]
fn sort_username_case_insensitive_missing_last_then_first() {
    let mut rs = users(&[
        json!({"id": "1", "userName": "carol"}),
        json!({"id": "2"}),
        json!({"id": "3", "userName": "Alice"}),
        json!({"id": "4", "userName": "bob"}),
        json!({"id": "5", "userName": "ALICE"}),
    ]);
    sort_by(&mut rs, "userName", None);
    // "ordered last if ascending"; Alice/ALICE tie and keep their order (stable).
    assert_eq!(ids(&rs), ["3", "5", "4", "1", "2"]);
    sort_by(&mut rs, "username", Some("descending"));
    // "... and first if descending".
    assert_eq!(ids(&rs), ["2", "1", "4", "3", "5"]);
}

#[test]
fn sort_case_exact_attribute() {
    // externalId is caseExact (RFC 7643 §3.1): code point order, upper case first.
    let mut rs = users(&[
        json!({"id": "1", "externalId": "b"}),
        json!({"id": "2", "externalId": "B"}),
        json!({"id": "3", "externalId": "a"}),
    ]);
    sort_by(&mut rs, "externalId", None);
    assert_eq!(ids(&rs), ["2", "3", "1"]);
}

#[test]
fn sort_multi_valued_by_primary_then_first() {
    let mut rs = users(&[
        json!({"id": "1", "emails": [{"value": "a@x.org"}, {"value": "z@x.org", "primary": true}]}),
        json!({"id": "2", "emails": [{"value": "m@x.org"}, {"value": "b@x.org"}]}),
        json!({"id": "3", "emails": [{"value": "C@x.org", "primary": true}]}),
    ]);
    sort_by(&mut rs, "emails.value", None);
    assert_eq!(ids(&rs), ["3", "2", "1"]);
    sort_by(&mut rs, "emails", Some("descending"));
    assert_eq!(ids(&rs), ["1", "2", "3"]);
}

#[test]
fn sort_datetime_boolean_and_extension() {
    let mut rs = users(&[
        json!({"id": "1", "active": true, "meta": {"lastModified": "2011-05-13T04:42:34Z"},
               ENTERPRISE: {"employeeNumber": "10"}}),
        json!({"id": "2", "active": false, "meta": {"lastModified": "2011-05-13T06:00:00+02:00"},
               ENTERPRISE: {"employeeNumber": "9"}}),
        json!({"id": "3", "meta": {"lastModified": "2010-01-23T04:56:22Z"}}),
    ]);
    sort_by(&mut rs, "meta.lastModified", None);
    assert_eq!(ids(&rs), ["3", "2", "1"]);
    sort_by(&mut rs, "active", None);
    assert_eq!(ids(&rs), ["2", "1", "3"]);
    // employeeNumber is a string: "10" < "9".
    sort_by(&mut rs, &format!("{ENTERPRISE}:employeeNumber"), None);
    assert_eq!(ids(&rs), ["1", "2", "3"]);
}

#[test]
fn compare_and_keys() {
    let schema = builtin::user_resource_schema();
    let a = enterprise_user();
    let b = full_user();
    let spec = SortSpec::new(AttrPath::new("userName"), SortOrder::Ascending);
    assert_eq!(compare(&a, &b, &schema, &spec), std::cmp::Ordering::Equal);
    let key = sort_key(&a, &schema, &AttrPath::parse("emails.value").unwrap()).unwrap();
    assert_eq!(key.to_json(), json!("bjensen@example.com"));
    let spec = SortSpec::from_params(Some("name"), None).unwrap().unwrap();
    assert_eq!(
        spec.validate(&schema).unwrap_err().scim_type(),
        Some(ScimType::InvalidValue)
    );
    let err = SortSpec::from_params(Some("userName"), Some("sideways")).unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
}

/// RFC 7644 §3.4.2.3: case-insensitive attributes sort "using case-insensitive Unicode
/// alphabetic sort order"; case folding (Unicode §3.13), not lower-casing, decides what is
/// equal: a word-final `ς` and `Σ` fold alike, `ß` folds to `ss`.
#[test]
fn sort_folds_case_like_filters_and_uniqueness() {
    let schema = builtin::user_resource_schema();
    let by = AttrPath::new("userName");
    let spec = SortSpec::new(by.clone(), SortOrder::Ascending);
    let odos = Resource::from_value(json!({"id": "1", "userName": "οδος"})).unwrap();
    let upper = Resource::from_value(json!({"id": "2", "userName": "ΟΔΟΣ"})).unwrap();
    assert_eq!(
        compare(&odos, &upper, &schema, &spec),
        std::cmp::Ordering::Equal
    );
    assert_eq!(
        sort_key(&odos, &schema, &by),
        sort_key(&upper, &schema, &by)
    );
    let strasse = Resource::from_value(json!({"id": "3", "userName": "Straße"})).unwrap();
    let upper = Resource::from_value(json!({"id": "4", "userName": "STRASSE"})).unwrap();
    assert_eq!(
        compare(&strasse, &upper, &schema, &spec),
        std::cmp::Ordering::Equal
    );
    // Ties keep their order (stable), in both directions of input.
    let mut rs = users(&[
        json!({"id": "a", "userName": "ΟΔΟΣ"}),
        json!({"id": "b", "userName": "alpha"}),
        json!({"id": "c", "userName": "οδος"}),
    ]);
    sort_by(&mut rs, "userName", None);
    assert_eq!(ids(&rs), ["b", "a", "c"]);
}

/// RFC 7643 §7 "returned": "never" (User `password`, §4.1.1): sorting by it would disclose
/// the stored values' order, so `sortBy=password` is 400 invalidValue, and the sort itself
/// gives a never-returned attribute no key.
#[test]
fn sort_by_never_returned_attribute_is_invalid_value() {
    let schema = builtin::user_resource_schema();
    for by in ["password", "PASSWORD", &format!("{USER}:password")] {
        let spec = SortSpec::from_params(Some(by), None).unwrap().unwrap();
        let e = spec.validate(&schema).unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{by}");
        assert!(e.detail().contains("never returned"), "{}", e.detail());
    }
    let a = Resource::from_value(json!({"id": "1", "password": "b"})).unwrap();
    assert_eq!(sort_key(&a, &schema, &AttrPath::new("password")), None);
    let mut rs = users(&[
        json!({"id": "1", "password": "b"}),
        json!({"id": "2", "password": "a"}),
    ]);
    sort_by(&mut rs, "password", None);
    assert_eq!(ids(&rs), ["1", "2"], "no order by the stored passwords");
}

/// RFC 7643 §2.4 default sub-attributes can be sorted by where the schema omits them
/// (§8.7.1 User `addresses` has no `primary`; §8.2 uses it).
#[test]
fn sort_by_default_sub_attribute() {
    let schema = builtin::user_resource_schema();
    let spec = SortSpec::from_params(Some("addresses.primary"), None)
        .unwrap()
        .unwrap();
    spec.validate(&schema).unwrap();
    let mut rs = users(&[
        json!({"id": "1", "addresses": [{"type": "home"}]}),
        json!({"id": "2", "addresses": [{"type": "work", "primary": true}]}),
    ]);
    sort_resources(&mut rs, &schema, &spec);
    assert_eq!(ids(&rs), ["2", "1"], "no data sorts last when ascending");
    let spec = SortSpec::from_params(Some("addresses.label"), None)
        .unwrap()
        .unwrap();
    assert!(spec.validate(&schema).is_err());
}

// ---------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------

fn numbered(n: usize) -> Vec<Resource> {
    (1..=n)
        .map(|i| {
            Resource::from_value(json!({
                "schemas": [USER], "id": format!("{i:03}"), "userName": format!("user{i:03}"),
                "password": "x"
            }))
            .unwrap()
        })
        .collect()
}

#[test]
fn index_paging_edges() {
    let all = numbered(25);
    let page = |s: Option<&str>, c: Option<&str>| IndexPage::from_params(s, c).unwrap();
    // startIndex < 1 is 1; negative count is 0.
    assert_eq!(page(Some("-10"), Some("3")).apply(&all).len(), 3);
    assert_eq!(page(Some("0"), None).apply(&all).len(), 25);
    assert_eq!(page(None, Some("-1")).apply(&all).len(), 0);
    assert_eq!(page(Some("24"), Some("10")).apply(&all).len(), 2);
    assert_eq!(page(Some("26"), Some("10")).apply(&all).len(), 0);
    // count=0: only totalResults.
    let list = ListResponse::from_index_page(&all, page(None, Some("0")));
    let v = serde_json::to_value(&list).unwrap();
    assert_eq!(v["totalResults"], 25);
    assert_eq!(v["itemsPerPage"], 0);
    assert_eq!(v["Resources"], json!([]));
    for bad in ["x", "1.0", "--1"] {
        let err = IndexPage::from_params(Some(bad), None).unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
    }
}

#[test]
fn okta_style_query_end_to_end() {
    // Filter → totalResults over all matches → sort → page → project.
    let schema = builtin::user_resource_schema();
    let q = Query::from_params([
        ("filter", "userName sw \"USER00\""),
        ("sortBy", "userName"),
        ("sortOrder", "descending"),
        ("startIndex", "2"),
        ("count", "3"),
        ("attributes", "userName"),
    ])
    .unwrap();
    let mut matching: Vec<Resource> = numbered(12)
        .into_iter()
        .filter(|r| q.filter.as_ref().unwrap().matches(r, &schema))
        .collect();
    assert_eq!(matching.len(), 9);
    sort_resources(&mut matching, &schema, q.sort.as_ref().unwrap());
    let PageRequest::Index(page) = q.page else {
        panic!("index paging expected")
    };
    let list = ListResponse::from_index_page(&matching, page)
        .map(|r| project(&r, &schema, &q.projection).into_value());
    assert_eq!(
        serde_json::to_value(&list).unwrap(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 9,
            "itemsPerPage": 3,
            "startIndex": 2,
            "Resources": [
                {"schemas": [USER], "id": "008", "userName": "user008"},
                {"schemas": [USER], "id": "007", "userName": "user007"},
                {"schemas": [USER], "id": "006", "userName": "user006"}
            ]
        })
    );
}

#[test]
fn cursor_paging_walk_survives_deletes() {
    // Keyset paging with OpaqueCursor: a delete between pages skips nobody (an offset walk
    // would skip the resource that moved into the deleted one's place).
    let schema = builtin::user_resource_schema();
    let spec = SortSpec::new(AttrPath::new("userName"), SortOrder::Ascending);
    let mut store = numbered(10);
    sort_resources(&mut store, &schema, &spec);

    let fetch = |store: &[Resource], page: &CursorPage| -> (Vec<String>, Option<String>) {
        let after = page
            .cursor
            .as_deref()
            .map(|c| OpaqueCursor::decode(c).unwrap());
        let start = match &after {
            None => 0,
            Some(c) => store
                .iter()
                .position(|r| {
                    let key = sort_key(r, &schema, &spec.by).map(|k| k.to_json());
                    let key = key.as_ref().and_then(Value::as_str);
                    key > c.sort_value.as_ref().and_then(Value::as_str)
                })
                .unwrap_or(store.len()),
        };
        let count = page.count.unwrap_or(usize::MAX);
        let items: Vec<&Resource> = store[start..].iter().take(count).collect();
        let next = (start + items.len() < store.len()).then(|| {
            let last = items.last().unwrap();
            OpaqueCursor {
                direction: CursorDirection::Next,
                sort_value: sort_key(last, &schema, &spec.by).map(|k| k.to_json()),
                id: last.id().unwrap().to_owned(),
            }
            .encode()
        });
        (
            items.iter().map(|r| r.id().unwrap().to_owned()).collect(),
            next,
        )
    };

    let q = Query::from_params([("cursor", ""), ("count", "4")]).unwrap();
    let PageRequest::Cursor(first) = q.page else {
        panic!("cursor paging expected")
    };
    let (page1, next) = fetch(&store, &first);
    assert_eq!(page1, ["001", "002", "003", "004"]);
    // Two users of page 1 are deleted before page 2 is requested.
    store.retain(|r| r.id() != Some("001") && r.id() != Some("002"));
    let next = next.unwrap();
    let q = Query::from_params([("cursor", next.as_str()), ("count", "4")]).unwrap();
    let PageRequest::Cursor(second) = q.page else {
        panic!("cursor paging expected")
    };
    let (page2, next) = fetch(&store, &second);
    assert_eq!(page2, ["005", "006", "007", "008"]);
    let q = Query::from_params([("cursor", next.unwrap().as_str()), ("count", "4")]).unwrap();
    let PageRequest::Cursor(third) = q.page else {
        panic!("cursor paging expected")
    };
    let (page3, next) = fetch(&store, &third);
    assert_eq!(page3, ["009", "010"]);
    assert_eq!(next, None);

    let err = OpaqueCursor::decode("VZUTiyhEQJ94IR").unwrap_err();
    assert_eq!(err.scim_type(), Some(ScimType::InvalidCursor));
}
