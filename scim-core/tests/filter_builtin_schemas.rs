//! Every valid filter a client sends to the built-in resource types parses, prints back to a
//! string that parses to the same AST, and compiles against the RFC 7643 §8.7.1 schemas (the
//! User with the Enterprise User extension, and the Group). A filter on any attribute is
//! valid (RFC 7644 §3.4.2.2); the lists below are the ones incremental-sync, identity
//! governance and provisioning clients (Microsoft Entra ID, Okta) send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scim_core::filter::{MAX_FILTER_ATTR_EXPRESSIONS, MAX_FILTER_DEPTH};
use scim_core::schema::ResourceSchema;
use scim_core::{Filter, ScimType, builtin};

const MEMBER: &str = "2819c223-7f76-453a-919d-413861904646";
const GROUP: &str = "e9e30dba-f08f-4109-8486-d5c6a331660a";

fn user_filters() -> Vec<String> {
    let mut v: Vec<String> = [
        "active eq true",
        "title pr",
        r#"name.familyName eq "x""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"userType ne "Employee""#,
        r#"not (userName eq "x")"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
        r#"userName eq "bjensen""#,
        r#"externalId eq "7bd1c1b5-1b3f-4a30-8c4f-5a1f3a9c0001""#,
        r#"userName eq bjensen"#,
        r#"emails[type eq "work"].value eq "x@example.com""#,
        r#"emails[type eq "work"] eq "x@example.com""#,
        r#"emails[type eq "work" and value eq "x@example.com"]"#,
        r#"emails co "example.com""#,
        "addresses[primary eq true]",
        r#"phoneNumbers[type eq "work"].value sw "+1""#,
        r#"groups.display eq "Tour Guides""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
        r#"meta.created ge "2011-05-13T04:42:34Z" and meta.lastModified le "2011-05-14T00:00:00Z""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    v.push(format!(r#"groups.value eq "{GROUP}""#));
    v.push(format!(r#"groups[value eq "{GROUP}"]"#));
    v.push(format!(
        r#"groups[value eq "{GROUP}" and type eq "direct"]"#
    ));
    v
}

fn group_filters() -> Vec<String> {
    vec![
        format!(r#"members[value eq "{MEMBER}"]"#),
        format!(r#"members.value eq "{MEMBER}""#),
        // Entra's membership check.
        format!(r#"id eq "{GROUP}" and members[value eq "{MEMBER}"]"#),
        r#"displayName eq "Tour Guides""#.to_owned(),
        r#"members.display co "Jensen""#.to_owned(),
        r#"members[display eq "Babs Jensen"]"#.to_owned(),
        format!(r#"members[type eq "User" and value eq "{MEMBER}"].$ref pr"#),
        "members.primary eq false".to_owned(),
        r#"externalId eq "g-1""#.to_owned(),
    ]
}

fn round_trip_and_compile(filter: &str, schema: &ResourceSchema) {
    let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let printed = parsed.to_string();
    assert_eq!(
        Filter::parse(&printed).as_ref(),
        Ok(&parsed),
        "{filter} printed as {printed}"
    );
    if let Err(e) = parsed.compile(schema) {
        panic!("{filter} does not compile against {}: {e}", schema.name());
    }
}

#[test]
fn user_filters_parse_print_back_and_compile() {
    let users = builtin::user_resource_schema();
    for f in user_filters() {
        round_trip_and_compile(&f, &users);
    }
}

#[test]
fn group_filters_parse_print_back_and_compile() {
    let groups = builtin::group_resource_schema();
    for f in group_filters() {
        round_trip_and_compile(&f, &groups);
    }
}

/// RFC 7643 §2.4 default sub-attributes are accepted on every multi-valued complex
/// attribute, whether or not the schema lists them, in both the dotted and the value-path
/// forms.
#[test]
fn default_sub_attributes_compile_on_every_multi_valued_attribute() {
    let cases = [
        (builtin::user_resource_schema(), "emails"),
        (builtin::user_resource_schema(), "addresses"),
        (builtin::user_resource_schema(), "groups"),
        (builtin::user_resource_schema(), "x509Certificates"),
        (builtin::group_resource_schema(), "members"),
    ];
    for (schema, attr) in cases {
        for (sub, value) in [
            ("type", r#""work""#),
            ("primary", "true"),
            ("display", r#""x""#),
            ("value", r#""x""#),
            ("$ref", r#""https://example.com/v2/Users/1""#),
        ] {
            for f in [
                format!("{attr}.{sub} eq {value}"),
                format!("{attr}[{sub} eq {value}]"),
                format!("{attr}.{sub} pr"),
            ] {
                round_trip_and_compile(&f, &schema);
            }
        }
    }
}

#[test]
fn filters_exactly_at_the_limits_compile() {
    let users = builtin::user_resource_schema();
    let widest = (0..MAX_FILTER_ATTR_EXPRESSIONS)
        .map(|k| format!(r#"userName co "{k}""#))
        .collect::<Vec<_>>()
        .join(" or ");
    round_trip_and_compile(&widest, &users);
    let deepest = format!(
        r#"{}emails[type eq "work" and value co "@example.com"]{}"#,
        "not (".repeat(MAX_FILTER_DEPTH - 1),
        ")".repeat(MAX_FILTER_DEPTH - 1)
    );
    round_trip_and_compile(&deepest, &users);
}

#[test]
fn never_returned_password_is_invalid_value() {
    let users = builtin::user_resource_schema();
    for f in [r#"password eq "t1meMa$heen""#, "password pr"] {
        let e = Filter::parse(f).unwrap().compile(&users).unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(e.scim_type(), Some(ScimType::InvalidValue), "{f}");
    }
}
