//! Schema-aware filter evaluation (RFC 7644 §3.4.2.2) against the built-in User and Group
//! schemas (RFC 7643 §8.7.1).
//!
//! Every filter example printed in RFC 7644 §3.4.2.2 is run over a fixture set made of the
//! RFC 7643 §8.1, §8.2 and §8.3 users (Barbara Jensen, given distinct ids here) plus made-up
//! users designed so that each example selects a known, non-trivial subset. The expected ids
//! are written out for every example.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::schema::ResourceSchema;
use scim_core::{Filter, Resource, builtin};
use serde_json::{Value, json};

mod common;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An RFC 7643 §8 user with a distinct `id` (the three examples share one id).
fn rfc_user(mut v: Value, id: &str) -> Resource {
    v["id"] = json!(id);
    common::resource(v)
}

fn made_up(id: &str, mut attrs: Value, last_modified: &str) -> Resource {
    let obj = attrs.as_object_mut().unwrap();
    obj.insert("id".into(), json!(id));
    obj.entry("schemas").or_insert(json!([CORE]));
    obj.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": last_modified,
            "location": format!("https://example.com/v2/Users/{id}")
        }),
    );
    Resource::from_value(attrs).unwrap()
}

/// The fixture set, in this order:
///
/// | id | userName | userType | title | emails (type: value) | meta.lastModified |
/// |----|----------|----------|-------|----------------------|-------------------|
/// | rfc-8.1 | bjensen@example.com | - | - | - | 2011-05-13T04:42:34Z |
/// | rfc-8.2 | bjensen@example.com | Employee | Tour Guide | work: bjensen@example.com, home: babs@jensen.org (ims aim) | same |
/// | rfc-8.3 | as rfc-8.2, with the enterprise extension | | | | same |
/// | jsmith | JSmith (familyName O'Malley) | Intern | - | work: jsmith@example.org | 04:42:35Z |
/// | mjones | mjones (enterprise, employeeNumber 42) | Employee | Manager | home: mj@example.com, work: mj@corp.example.net | 06:42:34+02:00 (same instant) |
/// | jdoe | jdoe | Contractor | - | work: jdoe@example.com (ims xmpp jdoe@foo.com) | 00:42:34-05:00 (= 05:42:34Z) |
/// | kwilson | kwilson | intern | "" | [] | 2010-12-31T23:59:59Z |
/// | jbrown | jbrown (familyName o'malley) | - | Dev | work: jb@example.org | 04:42:33.999Z |
/// | bjensen | BJensen | Employee | - | work: bjensen@example.org | 2011-05-14T00:00:00Z |
/// | tlee | tlee | Employee | - | other: tlee@example.net | 2011-01-01T00:00:00Z |
fn users() -> Vec<Resource> {
    vec![
        rfc_user(common::rfc7643_8_1_user(), "rfc-8.1"),
        rfc_user(common::rfc7643_8_2_user(), "rfc-8.2"),
        rfc_user(common::rfc7643_8_3_user(), "rfc-8.3"),
        made_up(
            "jsmith",
            json!({
                "userName": "JSmith",
                "name": {"familyName": "O'Malley", "givenName": "John"},
                "userType": "Intern",
                "active": false,
                "emails": [{"type": "work", "value": "jsmith@example.org"}]
            }),
            "2011-05-13T04:42:35Z",
        ),
        made_up(
            "mjones",
            json!({
                "schemas": [CORE, ENT],
                "userName": "mjones",
                "title": "Manager",
                "userType": "Employee",
                "emails": [
                    {"type": "home", "value": "mj@example.com"},
                    {"type": "work", "value": "mj@corp.example.net"}
                ],
                ENT: {"employeeNumber": "42"}
            }),
            // The same instant as 2011-05-13T04:42:34Z, but a greater string.
            "2011-05-13T06:42:34+02:00",
        ),
        made_up(
            "jdoe",
            json!({
                "userName": "jdoe",
                "userType": "Contractor",
                "emails": [{"type": "work", "value": "jdoe@example.com"}],
                "ims": [{"type": "xmpp", "value": "jdoe@foo.com"}]
            }),
            // 05:42:34Z: later than 04:42:34Z, but a smaller string.
            "2011-05-13T00:42:34-05:00",
        ),
        made_up(
            "kwilson",
            json!({"userName": "kwilson", "userType": "intern", "title": "", "emails": []}),
            "2010-12-31T23:59:59Z",
        ),
        made_up(
            "jbrown",
            json!({
                "userName": "jbrown",
                "name": {"familyName": "o'malley"},
                "title": "Dev",
                "emails": [{"type": "work", "value": "jb@example.org"}]
            }),
            "2011-05-13T04:42:33.999Z",
        ),
        made_up(
            "bjensen",
            json!({
                "userName": "BJensen",
                "userType": "Employee",
                "emails": [{"type": "work", "value": "bjensen@example.org"}]
            }),
            "2011-05-14T00:00:00Z",
        ),
        made_up(
            "tlee",
            json!({
                "userName": "tlee",
                "userType": "Employee",
                "emails": [{"type": "other", "value": "tlee@example.net"}]
            }),
            "2011-01-01T00:00:00Z",
        ),
    ]
}

fn schema() -> ResourceSchema {
    builtin::user_resource_schema()
}

/// The ids (in fixture order) of the users `filter` selects.
fn select(filter: &str) -> Vec<String> {
    let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let compiled = parsed
        .compile(&schema())
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    users()
        .iter()
        .filter(|u| compiled.matches(u))
        .map(|u| u.id().unwrap().to_owned())
        .collect()
}

fn check(filter: &str, expected: &[&str]) {
    assert_eq!(select(filter), expected, "filter: {filter}");
    // The convenience form agrees with the compiled one.
    let parsed = Filter::parse(filter).unwrap();
    let via_matches: Vec<String> = users()
        .iter()
        .filter(|u| parsed.matches(u, &schema()))
        .map(|u| u.id().unwrap().to_owned())
        .collect();
    assert_eq!(via_matches, expected, "Filter::matches: {filter}");
}

fn compile_error(filter: &str) -> scim_core::ScimError {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .compile(&schema())
        .expect_err(filter)
}

// ---- RFC 7644 §3.4.2.2, the examples after Table 5, in order ----

#[test]
fn rfc_example_01_username_eq() {
    // userName is caseExact=false (RFC 7643 §4.1), so "BJensen" matches.
    check(r#"userName eq "bjensen""#, &["bjensen"]);
}

#[test]
fn rfc_example_02_family_name_co() {
    check(r#"name.familyName co "O'Malley""#, &["jsmith", "jbrown"]);
}

#[test]
fn rfc_example_03_username_sw() {
    check(r#"userName sw "J""#, &["jsmith", "jdoe", "jbrown"]);
}

#[test]
fn rfc_example_04_urn_qualified_username_sw() {
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        &["jsmith", "jdoe", "jbrown"],
    );
}

#[test]
fn rfc_example_05_title_pr() {
    // kwilson's title is "": not present.
    check("title pr", &["rfc-8.2", "rfc-8.3", "mjones", "jbrown"]);
}

#[test]
fn rfc_example_06_last_modified_gt() {
    // Chronological, not string order: jdoe (00:42:34-05:00) is later, mjones
    // (06:42:34+02:00) is the same instant.
    check(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        &["jsmith", "jdoe", "bjensen"],
    );
}

#[test]
fn rfc_example_07_last_modified_ge() {
    check(
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        &[
            "rfc-8.1", "rfc-8.2", "rfc-8.3", "jsmith", "mjones", "jdoe", "bjensen",
        ],
    );
}

#[test]
fn rfc_example_08_last_modified_lt() {
    check(
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        &["kwilson", "jbrown", "tlee"],
    );
}

#[test]
fn rfc_example_09_last_modified_le() {
    check(
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        &[
            "rfc-8.1", "rfc-8.2", "rfc-8.3", "mjones", "kwilson", "jbrown", "tlee",
        ],
    );
}

#[test]
fn rfc_example_10_title_pr_and_employee() {
    check(
        r#"title pr and userType eq "Employee""#,
        &["rfc-8.2", "rfc-8.3", "mjones"],
    );
}

#[test]
fn rfc_example_11_title_pr_or_intern() {
    // kwilson's userType "intern" matches "Intern" (caseExact=false).
    check(
        r#"title pr or userType eq "Intern""#,
        &[
            "rfc-8.2", "rfc-8.3", "jsmith", "mjones", "kwilson", "jbrown",
        ],
    );
}

#[test]
fn rfc_example_12_schemas_eq_enterprise() {
    check(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        &["rfc-8.3", "mjones"],
    );
}

#[test]
fn rfc_example_13_employee_and_grouped_or() {
    // `emails co "example.com"` compares each email's `value`.
    check(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        &["rfc-8.2", "rfc-8.3", "mjones", "bjensen"],
    );
}

#[test]
fn rfc_example_14_ne_and_not() {
    // rfc-8.1 has no userType: an absent value is "not identical" to "Employee" (our reading;
    // the RFC is silent), and it has no emails, so not(...) holds.
    check(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        &["rfc-8.1", "kwilson"],
    );
}

#[test]
fn rfc_example_15_employee_and_work_email_type() {
    check(
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        &["rfc-8.2", "rfc-8.3", "mjones", "bjensen"],
    );
}

#[test]
fn rfc_example_16_employee_and_value_path() {
    // mjones has a work email and an @example.com email, but not ONE work email at
    // example.com: Table 5, "expressions MUST be applied to the same value of a parent
    // attribute".
    check(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        &["rfc-8.2", "rfc-8.3"],
    );
    // The flattened form looks at every email independently and does select mjones.
    check(
        r#"userType eq "Employee" and emails.type eq "work" and emails.value co "@example.com""#,
        &["rfc-8.2", "rfc-8.3", "mjones"],
    );
}

#[test]
fn rfc_example_17_two_value_paths() {
    check(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        &["rfc-8.2", "rfc-8.3", "jdoe"],
    );
}

#[test]
fn rfc_case_insensitive_names_and_operators() {
    // §3.4.2.2: "filter=userName Eq "john"" and "filter=Username eq "john"" evaluate to the
    // same logical value.
    check(r#"userName Eq "jsmith""#, &["jsmith"]);
    check(r#"Username eq "jsmith""#, &["jsmith"]);
}

// ---- extension attributes ----

#[test]
fn enterprise_extension_by_urn() {
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        &["rfc-8.3"],
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        &["rfc-8.3"],
    );
    // Without the URN the name resolves in the one extension that defines it.
    check(r#"employeeNumber eq "42""#, &["mjones"]);
    check(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr",
        &["rfc-8.3", "mjones"],
    );
    check(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
        &["rfc-8.3", "mjones"],
    );
}

// ---- caseExact ----

#[test]
fn case_exact_attributes() {
    // id and externalId are caseExact (RFC 7643 §3.1).
    check(r#"id eq "JSMITH""#, &[]);
    check(r#"id eq "jsmith""#, &["jsmith"]);
    check(r#"externalId eq "701984""#, &["rfc-8.2", "rfc-8.3"]);
    check(r#"id sw "RFC""#, &[]);
    // meta.version is caseExact.
    check(r#"meta.version eq "W/\"a330bc54f0671c9\"""#, &["rfc-8.2"]);
    check(r#"meta.version eq "w/\"A330BC54F0671C9\"""#, &[]);
    // meta.location is caseExact.
    check(r#"meta.location ew "/Users/JSMITH""#, &[]);
    check(r#"meta.location ew "/Users/jsmith""#, &["jsmith"]);
    // userName and emails.value are not.
    check(r#"userName eq "JSMITH""#, &["jsmith"]);
    check(r#"emails.value eq "JDOE@EXAMPLE.COM""#, &["jdoe"]);
}

// ---- operators and types ----

#[test]
fn string_ordering_is_lexicographic_and_case_insensitive() {
    // userName values lower-cased: bjensen@example.com (x3), jsmith, mjones, jdoe, kwilson,
    // jbrown, bjensen, tlee.
    check(r#"userName gt "k""#, &["mjones", "kwilson", "tlee"]);
    check(r#"userName le "BJENSEN""#, &["bjensen"]);
    check(r#"userName lt "bjensen@""#, &["bjensen"]);
}

#[test]
fn ends_with_and_contains() {
    check(r#"userName ew "SMITH""#, &["jsmith"]);
    check(r#"emails.value co "@JENSEN.org""#, &["rfc-8.2", "rfc-8.3"]);
    check(r#"emails ew ".net""#, &["mjones", "tlee"]);
}

#[test]
fn booleans_eq_ne_only() {
    // active: true for rfc-8.2/8.3, false for jsmith, absent elsewhere.
    check("active eq true", &["rfc-8.2", "rfc-8.3"]);
    check("active eq false", &["jsmith"]);
    check(
        "active ne true",
        &[
            "rfc-8.1", "jsmith", "mjones", "jdoe", "kwilson", "jbrown", "bjensen", "tlee",
        ],
    );
    // Quoted booleans are accepted leniently, in any case.
    check(r#"active eq "True""#, &["rfc-8.2", "rfc-8.3"]);
    check(r#"active eq "FALSE""#, &["jsmith"]);
    check("emails.primary eq true", &["rfc-8.2", "rfc-8.3"]);
    for f in [
        "active gt true",
        "active ge false",
        "active lt true",
        "active le true",
    ] {
        let e = compile_error(f);
        assert!(e.is_invalid_filter(), "{f}");
        assert_eq!(e.status(), 400);
    }
    assert!(compile_error(r#"active co "t""#).is_invalid_filter());
    assert!(compile_error("active eq 1").is_invalid_filter());
    assert!(compile_error(r#"active eq "yes""#).is_invalid_filter());
}

#[test]
fn binary_rejects_ordering() {
    for f in [
        r#"x509Certificates.value gt "MII""#,
        r#"x509Certificates.value ge "MII""#,
        r#"x509Certificates.value lt "MII""#,
        r#"x509Certificates.value le "MII""#,
    ] {
        assert!(compile_error(f).is_invalid_filter(), "{f}");
    }
    check(
        r#"x509Certificates.value sw "MIIDQzCC""#,
        &["rfc-8.2", "rfc-8.3"],
    );
}

#[test]
fn wrong_comparison_value_types() {
    assert!(compile_error("meta.lastModified gt 5").is_invalid_filter());
    assert!(compile_error(r#"meta.lastModified gt "last tuesday""#).is_invalid_filter());
    assert!(compile_error(r#"meta.lastModified sw "2011""#).is_invalid_filter());
    assert!(compile_error("userName eq 5").is_invalid_filter());
    assert!(compile_error("userName eq true").is_invalid_filter());
    assert!(compile_error(r#"name eq "Jensen""#).is_invalid_filter());
    assert!(compile_error(r#"addresses co "Hollywood""#).is_invalid_filter());
    assert!(compile_error(r#"userName[value eq "x"]"#).is_invalid_filter());
    assert!(compile_error(r#"emails[display eq "x" and nope eq "y"]"#).is_invalid_filter());
    assert!(compile_error("title gt null").is_invalid_filter());
}

#[test]
fn unknown_attributes_are_400_invalid_filter() {
    for f in [
        r#"favoriteColor eq "blue""#,
        r#"name.nickName eq "Babs""#,
        "emails.label pr",
        r#"urn:example:params:scim:schemas:other:1.0:User:userName eq "x""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "x""#,
    ] {
        let e = compile_error(f);
        assert!(e.is_invalid_filter(), "{f}");
        assert_eq!(e.status(), 400);
        let parsed = Filter::parse(f).unwrap();
        assert!(!users().iter().any(|u| parsed.matches(u, &schema())), "{f}");
    }
    // Group has no userName.
    let f = Filter::parse(r#"userName eq "x""#).unwrap();
    assert!(f.compile(&builtin::group_resource_schema()).is_err());
}

#[test]
fn presence_of_empty_values() {
    let r = |v: Value| Resource::from_value(v).unwrap();
    let pr = |f: &str, res: &Resource| Filter::parse(f).unwrap().matches(res, &schema());
    for empty in [
        json!(null),
        json!(""),
        json!([]),
        json!({}),
        json!([{}]),
        json!([null]),
    ] {
        let u = r(json!({"title": empty, "emails": empty, "name": empty, "addresses": empty}));
        assert!(!pr("title pr", &u));
        assert!(!pr("emails pr", &u));
        assert!(!pr("name pr", &u));
        assert!(!pr("addresses pr", &u));
    }
    let u = r(json!({"name": {"givenName": "", "familyName": null}, "emails": [{"value": ""}]}));
    assert!(!pr("name pr", &u));
    assert!(!pr("emails pr", &u));
    assert!(!pr("emails.value pr", &u));
    let u = r(json!({"name": {"givenName": "B"}, "emails": [{"type": "work"}]}));
    assert!(pr("name pr", &u));
    assert!(pr("emails pr", &u));
    assert!(!pr("emails.value pr", &u));
    assert!(pr("emails.type pr", &u));
    assert!(pr("active pr", &r(json!({"active": false}))));
}

#[test]
fn null_comparisons() {
    check(
        "title eq null",
        &["rfc-8.1", "jsmith", "jdoe", "kwilson", "bjensen", "tlee"],
    );
    check("title ne null", &["rfc-8.2", "rfc-8.3", "mjones", "jbrown"]);
}

#[test]
fn ne_on_multi_valued_is_any_value() {
    // Any email whose type is not "work" (or no email at all).
    check(
        r#"emails.type ne "work""#,
        &["rfc-8.1", "rfc-8.2", "rfc-8.3", "mjones", "kwilson", "tlee"],
    );
    // Compare: no email is of type work.
    check(
        r#"not (emails.type eq "work")"#,
        &["rfc-8.1", "kwilson", "tlee"],
    );
}

#[test]
fn not_and_or_precedence() {
    check(
        r#"userName sw "j" and not (userType eq "Intern") or userName eq "tlee""#,
        &["jdoe", "jbrown", "tlee"],
    );
    check(
        r#"userName sw "j" and (not (userType eq "Intern") or userName eq "tlee")"#,
        &["jdoe", "jbrown"],
    );
}

#[test]
fn value_path_with_not_and_or_inside() {
    // Non-work emails ending in ".com": only mjones' home email (Barbara's home email is
    // babs@jensen.org).
    check(
        r#"emails[not (type eq "work") and value ew ".com"]"#,
        &["mjones"],
    );
    check(
        r#"emails[not (type eq "work") and value ew ".org"]"#,
        &["rfc-8.2", "rfc-8.3"],
    );
    check(
        r#"emails[type eq "other" or value sw "JB"]"#,
        &["jbrown", "tlee"],
    );
}

#[test]
fn group_members_value_path() {
    let group = common::resource(common::rfc7643_8_4_group());
    let g = builtin::group_resource_schema();
    let t = |f: &str| {
        Filter::parse(f)
            .unwrap()
            .compile(&g)
            .unwrap()
            .matches(&group)
    };
    assert!(t(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#
    ));
    // RFC 7643 §8.7.1 declares members.value "caseExact": false.
    assert!(t(
        r#"members[value eq "2819C223-7F76-453A-919D-413861904646"]"#
    ));
    assert!(t(
        r#"members.$ref ew "/Users/902c246b-6245-4190-8e05-00816be7344a""#
    ));
    assert!(t(r#"members[type pr] or members.value sw "902c""#));
    // §8.7.1 gives Group.members no `display` sub-attribute, but RFC 7643 §2.4 makes it one
    // of the defaults of every multi-valued attribute (the §8.4 example carries it), so it
    // filters like a listed one.
    assert!(t(r#"members.display co "pepperidge""#));
    assert!(t(r#"members[display eq "Babs Jensen"]"#));
    assert!(!t(
        r#"members[display eq "Babs Jensen" and value sw "2819"] and members.display eq "x""#
    ));
    assert!(t(r#"members[value sw "902c" and display sw "mandy"]"#));
    assert!(!t(r#"members.primary eq true"#));
    assert!(t(r#"displayName eq "tour guides""#));
    assert!(t(r#"members eq "902c246b-6245-4190-8e05-00816be7344a""#));
    assert!(!t(r#"members eq "00000000-0000-0000-0000-000000000000""#));
}

#[test]
fn matches_value_selects_single_elements() {
    let s = schema();
    let emails = s
        .resolve(&"emails".parse().unwrap())
        .unwrap()
        .attribute
        .clone();
    let f = Filter::parse(r#"type eq "work" and value co "@example.com""#).unwrap();
    let mj: Value = json!([
        {"type": "home", "value": "mj@example.com"},
        {"type": "work", "value": "mj@corp.example.net"},
        {"type": "WORK", "value": "MJ@EXAMPLE.COM"}
    ]);
    let selected: Vec<usize> = mj
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, e)| f.matches_value(e, &emails))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(selected, vec![2]);
    // Emails given as plain strings: `value` designates the element.
    let v = Filter::parse(r#"value ew "example.com""#).unwrap();
    assert!(v.matches_value(&json!("a@example.com"), &emails));
    assert!(!v.matches_value(&json!("a@example.org"), &emails));
    // An unknown sub-attribute is an error from compile_value_filter, and no match.
    let bad = Filter::parse(r#"label eq "x""#).unwrap();
    assert!(
        bad.compile_value_filter(&emails)
            .unwrap_err()
            .is_invalid_filter()
    );
    assert!(!bad.matches_value(&json!({"label": "x"}), &emails));
}

#[test]
fn attribute_names_in_resources_are_case_insensitive() {
    let u = Resource::from_value(json!({
        "USERNAME": "Alice",
        "Emails": [{"TYPE": "work", "Value": "alice@example.com"}],
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"EMPLOYEENUMBER": "7"}
    }))
    .unwrap();
    let t = |f: &str| Filter::parse(f).unwrap().matches(&u, &schema());
    assert!(t(r#"userName eq "alice""#));
    assert!(t(r#"emails[type eq "work" and value sw "alice@"]"#));
    assert!(t(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#
    ));
}

#[test]
fn compiled_filter_is_reusable_across_differently_shaped_resources() {
    // Resources with members in different orders and cases: the compiled filter's position
    // hints must never change the answer.
    let f = Filter::parse(r#"userName eq "x" and emails[type eq "work"]"#)
        .unwrap()
        .compile(&schema())
        .unwrap();
    let shapes = [
        json!({"userName": "x", "emails": [{"type": "work"}]}),
        json!({"emails": [{"value": "v", "type": "work"}], "id": "1", "userName": "X"}),
        json!({"a": 1, "b": 2, "c": 3, "username": "x", "EMAILS": [{"Type": "Work"}]}),
        json!({"userName": "y", "emails": [{"type": "work"}]}),
        json!({"userName": "x", "emails": [{"type": "home"}]}),
        json!({"userName": "x", "username": "y", "emails": [{"type": "work"}]}),
    ];
    let expect = [true, true, true, false, false, true];
    for _ in 0..3 {
        for (shape, want) in shapes.iter().zip(expect) {
            let r = Resource::from_value(shape.clone()).unwrap();
            assert_eq!(f.matches(&r), want, "{shape}");
        }
    }
}

#[test]
fn password_cannot_be_filtered_on() {
    // RFC 7643 §4.1.1: password is "returned" "never" and the server keeps only a hash, so
    // no filter can be answered honestly: 400 invalidValue, whatever the operator.
    for f in [
        r#"password eq "t1meMa$heen""#,
        r#"password ne "t1meMa$heen""#,
        r#"password sw "t""#,
        r#"password co "Ma""#,
        r#"password gt "m""#,
        "password pr",
        "password eq null",
        r#"userName eq "bjensen@example.com" and password eq "t1meMa$heen""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:password eq "x""#,
    ] {
        let e = compile_error(f);
        assert_eq!(e.status(), 400, "{f}");
        assert_eq!(
            e.scim_type(),
            Some(scim_core::ScimType::InvalidValue),
            "{f}"
        );
    }
}

/// RFC 7643 §2.4's default sub-attributes where §8.7.1 leaves them out: User `addresses` has
/// no `primary` in the schema, but the §8.2 example marks its work address primary.
#[test]
fn default_sub_attributes_of_user_attributes() {
    check("addresses[primary eq true]", &["rfc-8.2", "rfc-8.3"]);
    check(
        r#"addresses[type eq "work" and primary eq true and locality eq "Hollywood"]"#,
        &["rfc-8.2", "rfc-8.3"],
    );
    check(r#"addresses.primary eq false"#, &[]);
    // A name that is neither in the schema nor a §2.4 default is still 400 invalidFilter.
    assert!(compile_error(r#"addresses.label eq "x""#).is_invalid_filter());
    // ...and single-valued complex attributes get no defaults.
    assert!(compile_error(r#"name.display eq "x""#).is_invalid_filter());
}

/// Case folding, not lower-casing (RFC 7643 §2.1 caseExact=false; Unicode §3.13): a
/// word-final sigma lower-cases to `ς` with `str::to_lowercase` but folds like `Σ` and `σ`.
#[test]
fn case_insensitive_comparison_folds_final_sigma() {
    let odos = made_up("odos", json!({"userName": "οδος"}), "2011-05-13T04:42:34Z");
    let strasse = made_up(
        "strasse",
        json!({"userName": "Straße"}),
        "2011-05-13T04:42:34Z",
    );
    let t = |f: &str, u: &Resource| Filter::parse(f).unwrap().matches(u, &schema());
    assert!(t(r#"userName eq "ΟΔΟΣ""#, &odos));
    assert!(t(r#"userName eq "οδοσ""#, &odos));
    assert!(t(r#"userName ew "ΟΣ""#, &odos));
    assert!(!t(r#"userName ne "ΟΔΟΣ""#, &odos));
    assert!(t(r#"userName eq "STRASSE""#, &strasse));
    assert!(t(r#"userName sw "strass""#, &strasse));
    // externalId is caseExact: no folding.
    let ext = made_up("ext", json!({"externalId": "οδος"}), "2011-05-13T04:42:34Z");
    assert!(!t(r#"externalId eq "ΟΔΟΣ""#, &ext));
    assert!(t(r#"externalId eq "οδος""#, &ext));
}

/// Microsoft Entra ID's `emails[type eq "work"].value eq "..."` (not RFC 7644 syntax) means
/// ONE work email with that value, like the RFC form it is parsed into.
#[test]
fn entra_email_lookup_needs_one_element_to_match_both() {
    check(
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
        &["rfc-8.2", "rfc-8.3"],
    );
    // mjones has a home email at example.com and a work email elsewhere: the flattened
    // form matches, the value path does not.
    check(
        r#"emails.type eq "work" and emails.value eq "mj@example.com""#,
        &["mjones"],
    );
    check(r#"emails[type eq "work"].value eq "mj@example.com""#, &[]);
    check(r#"emails[type eq "home"] eq "MJ@example.com""#, &["mjones"]);
}

#[test]
fn value_path_on_single_valued_complex_attribute() {
    check(
        r#"name[givenName eq "barbara" and familyName eq "JENSEN"]"#,
        &["rfc-8.2", "rfc-8.3"],
    );
    check(
        r#"name[givenName eq "barbara" and familyName eq "Smith"]"#,
        &[],
    );
    check(
        r#"meta[resourceType eq "User" and lastModified lt "2011-01-01T00:00:00Z"]"#,
        &["kwilson"],
    );
}
