//! Filter and PATCH path parsing against the RFC 7644 text.
//!
//! Every filter example of RFC 7644 §3.4.2.2 ("Filtering") and every PATCH path of §3.5.2
//! (Figure 8 and the add/remove/replace examples) parses to the AST written out by hand here;
//! malformed inputs fail with the position of the fault.

use scim_core::filter::{MAX_FILTER_ATTR_EXPRESSIONS, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use scim_core::{AttrPath, CompValue, CompareOp, Filter, PatchPath, ScimType};

// ----------------------------------------------------------------------------------------------
// Helpers that spell the expected AST
// ----------------------------------------------------------------------------------------------

fn p(name: &str) -> AttrPath {
    AttrPath::new(name)
}

fn ps(name: &str, sub: &str) -> AttrPath {
    AttrPath::with_sub(name, sub)
}

fn s(v: &str) -> CompValue {
    CompValue::String(v.to_owned())
}

fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn vp(path: AttrPath, filter: Filter) -> Filter {
    Filter::ValuePath {
        path,
        filter: Box::new(filter),
    }
}

fn parse(input: &str) -> Filter {
    match Filter::parse(input) {
        Ok(f) => f,
        Err(e) => panic!("{input:?} should parse: {e}"),
    }
}

/// The error detail of a filter that must not parse (and must be 400 invalidFilter).
fn filter_err(input: &str) -> String {
    let e = match Filter::parse(input) {
        Ok(f) => panic!("{input:?} should not parse, got {f:?}"),
        Err(e) => e,
    };
    assert_eq!(e.status(), 400, "{input:?}");
    assert_eq!(e.scim_type(), Some(ScimType::InvalidFilter), "{input:?}");
    e.detail().to_owned()
}

/// The error detail of a PATCH path that must not parse (and must be 400 invalidPath).
fn path_err(input: &str) -> String {
    let e = match PatchPath::parse(input) {
        Ok(p) => panic!("{input:?} should not parse, got {p:?}"),
        Err(e) => e,
    };
    assert_eq!(e.status(), 400, "{input:?}");
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input:?}");
    e.detail().to_owned()
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

// ----------------------------------------------------------------------------------------------
// RFC 7644 §3.4.2.2, the example filters, in the RFC's order and layout
// ----------------------------------------------------------------------------------------------

#[test]
fn rfc7644_filter_examples() {
    let lm = || ps("meta", "lastModified");
    let date = || s("2011-05-13T04:42:34Z");
    let examples: Vec<(&str, Filter)> = vec![
        (
            r#"userName eq "bjensen""#,
            cmp(p("userName"), CompareOp::Eq, s("bjensen")),
        ),
        (
            r#"name.familyName co "O'Malley""#,
            cmp(ps("name", "familyName"), CompareOp::Co, s("O'Malley")),
        ),
        (
            r#"userName sw "J""#,
            cmp(p("userName"), CompareOp::Sw, s("J")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(p("userName").with_uri(CORE_USER), CompareOp::Sw, s("J")),
        ),
        ("title pr", Filter::Present(p("title"))),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(lm(), CompareOp::Gt, date()),
        ),
        (
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            cmp(lm(), CompareOp::Ge, date()),
        ),
        (
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            cmp(lm(), CompareOp::Lt, date()),
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp(lm(), CompareOp::Le, date()),
        ),
        (
            r#"title pr and userType eq "Employee""#,
            and(
                Filter::Present(p("title")),
                cmp(p("userType"), CompareOp::Eq, s("Employee")),
            ),
        ),
        (
            r#"title pr or userType eq "Intern""#,
            or(
                Filter::Present(p("title")),
                cmp(p("userType"), CompareOp::Eq, s("Intern")),
            ),
        ),
        // The RFC breaks the line after "filter=".
        (
            "\n schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
            cmp(p("schemas"), CompareOp::Eq, s(ENTERPRISE)),
        ),
        (
            "userType eq \"Employee\" and (emails co \"example.com\" or\n  emails.value co \"example.org\")",
            and(
                cmp(p("userType"), CompareOp::Eq, s("Employee")),
                or(
                    cmp(p("emails"), CompareOp::Co, s("example.com")),
                    cmp(ps("emails", "value"), CompareOp::Co, s("example.org")),
                ),
            ),
        ),
        (
            "userType ne \"Employee\" and not (emails co \"example.com\" or\n  emails.value co \"example.org\")",
            and(
                cmp(p("userType"), CompareOp::Ne, s("Employee")),
                not(or(
                    cmp(p("emails"), CompareOp::Co, s("example.com")),
                    cmp(ps("emails", "value"), CompareOp::Co, s("example.org")),
                )),
            ),
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            and(
                cmp(p("userType"), CompareOp::Eq, s("Employee")),
                cmp(ps("emails", "type"), CompareOp::Eq, s("work")),
            ),
        ),
        (
            "userType eq \"Employee\" and emails[type eq \"work\" and\n  value co \"@example.com\"]",
            and(
                cmp(p("userType"), CompareOp::Eq, s("Employee")),
                vp(
                    p("emails"),
                    and(
                        cmp(p("type"), CompareOp::Eq, s("work")),
                        cmp(p("value"), CompareOp::Co, s("@example.com")),
                    ),
                ),
            ),
        ),
        (
            "emails[type eq \"work\" and value co \"@example.com\"] or\n  ims[type eq \"xmpp\" and value co \"@foo.com\"]",
            or(
                vp(
                    p("emails"),
                    and(
                        cmp(p("type"), CompareOp::Eq, s("work")),
                        cmp(p("value"), CompareOp::Co, s("@example.com")),
                    ),
                ),
                vp(
                    p("ims"),
                    and(
                        cmp(p("type"), CompareOp::Eq, s("xmpp")),
                        cmp(p("value"), CompareOp::Co, s("@foo.com")),
                    ),
                ),
            ),
        ),
    ];
    assert_eq!(
        examples.len(),
        17,
        "RFC 7644 §3.4.2.2 lists 17 example filters"
    );
    for (input, expected) in examples {
        let parsed = parse(input);
        assert_eq!(parsed, expected, "{input:?}");
        // And the printed form parses back to the same tree.
        assert_eq!(parse(&parsed.to_string()), expected, "{input:?}");
        // The same filter on one line, as a client sends it URL-decoded.
        let one_line = input.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(parse(&one_line), expected, "{one_line:?}");
    }
}

/// §3.4.2.2: "the following two expressions will evaluate to the same logical value:
/// filter=userName Eq "john" / filter=Username eq "john"". Operators are case-insensitive;
/// names keep their spelling (the evaluator compares them case-insensitively).
#[test]
fn rfc7644_case_insensitivity_example() {
    assert_eq!(
        parse(r#"userName Eq "john""#),
        cmp(p("userName"), CompareOp::Eq, s("john"))
    );
    assert_eq!(
        parse(r#"Username eq "john""#),
        cmp(p("Username"), CompareOp::Eq, s("john"))
    );
}

/// §3.4.3 (POST /.search) uses `displayName sw "smith"`.
#[test]
fn rfc7644_search_request_filter() {
    assert_eq!(
        parse(r#"displayName sw "smith""#),
        cmp(p("displayName"), CompareOp::Sw, s("smith"))
    );
}

// ----------------------------------------------------------------------------------------------
// Precedence, grouping, not, keywords, whitespace
// ----------------------------------------------------------------------------------------------

#[test]
fn and_binds_tighter_than_or_and_both_associate_left() {
    let a = || Filter::Present(p("a"));
    let b = || Filter::Present(p("b"));
    let c = || Filter::Present(p("c"));
    let d = || Filter::Present(p("d"));
    assert_eq!(parse("a pr or b pr and c pr"), or(a(), and(b(), c())));
    assert_eq!(parse("a pr and b pr or c pr"), or(and(a(), b()), c()));
    assert_eq!(parse("a pr or b pr or c pr"), or(or(a(), b()), c()));
    assert_eq!(parse("a pr and b pr and c pr"), and(and(a(), b()), c()));
    assert_eq!(
        parse("a pr and b pr or c pr and d pr"),
        or(and(a(), b()), and(c(), d()))
    );
    assert_eq!(parse("(a pr or b pr) and c pr"), and(or(a(), b()), c()));
    assert_eq!(parse("a pr and (b pr and c pr)"), and(a(), and(b(), c())));
    assert_eq!(parse("((a pr))"), a());
}

#[test]
fn not_with_and_without_space_and_nested() {
    let a = || cmp(p("a"), CompareOp::Eq, s("x"));
    assert_eq!(parse(r#"not(a eq "x")"#), not(a()));
    assert_eq!(parse(r#"not (a eq "x")"#), not(a()));
    assert_eq!(parse(r#"NOT  (a eq "x")"#), not(a()));
    assert_eq!(parse(r#"not(not(a eq "x"))"#), not(not(a())));
    // `not` applies to the group only; `and` then combines.
    assert_eq!(
        parse(r#"not (a eq "x") and b pr"#),
        and(not(a()), Filter::Present(p("b")))
    );
    // An attribute may itself be called "not" (ATTRNAME = ALPHA *(nameChar)).
    assert_eq!(parse("not pr"), Filter::Present(p("not")));
    assert_eq!(parse("notes pr"), Filter::Present(p("notes")));
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(
        parse("a PR AnD b Pr oR NoT (c eQ TRUE)"),
        or(
            and(Filter::Present(p("a")), Filter::Present(p("b"))),
            not(cmp(p("c"), CompareOp::Eq, CompValue::Bool(true)))
        )
    );
    assert_eq!(
        parse("active Eq False"),
        cmp(p("active"), CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(
        parse("manager EQ NULL"),
        cmp(p("manager"), CompareOp::Eq, CompValue::Null)
    );
}

#[test]
fn attribute_names_keep_their_spelling() {
    assert_eq!(parse("USERNAME pr"), Filter::Present(p("USERNAME")));
    assert_eq!(
        parse("Name.FamilyName pr"),
        Filter::Present(ps("Name", "FamilyName"))
    );
}

#[test]
fn whitespace_is_flexible() {
    let expected = and(
        cmp(p("userName"), CompareOp::Eq, s("bjensen")),
        Filter::Present(p("title")),
    );
    for input in [
        "userName eq \"bjensen\" and title pr",
        "  userName eq \"bjensen\" and title pr  ",
        "userName   eq\t\"bjensen\"\tand   title pr",
        "userName\teq \"bjensen\"\r\nand\ntitle\tpr",
        // No space is needed next to a quote, a parenthesis or a bracket.
        "userName eq\"bjensen\"and title pr",
        "(userName eq \"bjensen\")and(title pr)",
        "( userName eq \"bjensen\" ) and ( title pr )",
    ] {
        assert_eq!(parse(input), expected, "{input:?}");
    }
    assert_eq!(
        parse("emails[ type eq \"work\" ]"),
        vp(p("emails"), cmp(p("type"), CompareOp::Eq, s("work")))
    );
}

// ----------------------------------------------------------------------------------------------
// Value paths
// ----------------------------------------------------------------------------------------------

#[test]
fn value_paths() {
    let work = || cmp(p("type"), CompareOp::Eq, s("work"));
    assert_eq!(parse(r#"emails[type eq "work"]"#), vp(p("emails"), work()));
    assert_eq!(
        parse(r#"emails[not (type eq "work")]"#),
        vp(p("emails"), not(work()))
    );
    assert_eq!(
        parse(r#"emails[type eq "work" or (primary eq true and value pr)]"#),
        vp(
            p("emails"),
            or(
                work(),
                and(
                    cmp(p("primary"), CompareOp::Eq, CompValue::Bool(true)),
                    Filter::Present(p("value"))
                )
            )
        )
    );
    assert_eq!(
        parse(r#"userName sw "b" and emails[type eq "work"] or title pr"#),
        or(
            and(
                cmp(p("userName"), CompareOp::Sw, s("b")),
                vp(p("emails"), work())
            ),
            Filter::Present(p("title"))
        )
    );
    assert_eq!(
        parse(r#"not (emails[type eq "work"])"#),
        not(vp(p("emails"), work()))
    );
    // URN-qualified value path.
    assert_eq!(
        parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#),
        vp(p("emails").with_uri(CORE_USER), work())
    );
    // `$ref` sub-attributes (RFC 7643 §4.2 Group "members" has "$ref").
    assert_eq!(
        parse(r#"members[$ref eq "https://example.com/v2/Users/2819c223"]"#),
        vp(
            p("members"),
            cmp(
                p("$ref"),
                CompareOp::Eq,
                s("https://example.com/v2/Users/2819c223")
            )
        )
    );
    assert_eq!(
        parse("members.$ref pr"),
        Filter::Present(ps("members", "$ref"))
    );
}

#[test]
fn nested_value_paths_are_rejected() {
    // RFC 7643 §2.3.8: sub-attributes are never complex, so a value filter has no value path.
    let d = filter_err(r#"emails[type[value pr]]"#);
    assert!(d.contains("position 11"), "{d}");
    assert!(d.contains("value path"), "{d}");
    // A value path's attribute has no sub-attribute.
    let d = filter_err(r#"name.givenName[value pr]"#);
    assert!(d.contains("position 14"), "{d}");
}

// ----------------------------------------------------------------------------------------------
// Attribute paths and URNs
// ----------------------------------------------------------------------------------------------

#[test]
fn urn_paths_split_at_the_last_colon() {
    assert_eq!(
        parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ),
        cmp(
            p("employeeNumber").with_uri(ENTERPRISE),
            CompareOp::Eq,
            s("701984")
        )
    );
    assert_eq!(
        parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
        ),
        cmp(
            ps("manager", "value").with_uri(ENTERPRISE),
            CompareOp::Eq,
            s("26118915-6090-4610-87e4-49d8ca9f808d")
        )
    );
    let path =
        AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
    assert_eq!(path, ps("name", "givenName").with_uri(CORE_USER));
    assert_eq!(
        path.to_string(),
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"
    );
    // A bare extension URN parses as URI "...:enterprise:2.0" + name "User"; resolution
    // recognises it (ResourceSchema::extension_for_path).
    assert_eq!(
        AttrPath::parse(ENTERPRISE).unwrap(),
        p("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
    );
}

#[test]
fn attr_path_parse() {
    assert_eq!(AttrPath::parse("userName").unwrap(), p("userName"));
    assert_eq!(
        AttrPath::parse(" name.familyName ").unwrap(),
        ps("name", "familyName")
    );
    assert_eq!(AttrPath::parse("x-custom_1").unwrap(), p("x-custom_1"));
    assert_eq!(
        "emails.value".parse::<AttrPath>().unwrap(),
        ps("emails", "value")
    );
    let cases = [
        (
            "",
            "expected an attribute path at position 0, found end of input",
        ),
        (
            "1abc",
            "expected an attribute name starting with a letter at position 0, found \"1abc\"",
        ),
        (
            "name.",
            "expected an attribute name at position 5, found end of input",
        ),
        (
            "a.b.c",
            "an attribute path has at most one sub-attribute: unexpected \".\" at position 3",
        ),
        (
            "user name",
            "expected end of attribute path at position 5, found \"name\"",
        ),
        (
            "emails[type eq \"work\"]",
            "expected end of attribute path at position 6, found \"[\"",
        ),
        (
            "na*me",
            "expected a letter, digit, \"-\" or \"_\" in the attribute name at position 2, found \"*me\"",
        ),
        (
            "urn:x:",
            "expected an attribute name at position 6, found end of input",
        ),
    ];
    for (input, detail) in cases {
        let e = AttrPath::parse(input).expect_err(input);
        assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input:?}");
        assert_eq!(e.detail(), detail, "{input:?}");
    }
    // "foo:" is not a URI (RFC 3986 needs `scheme ":" ...`).
    let e = AttrPath::parse("foo:bar").unwrap_err();
    assert!(e.detail().contains("schema URI"), "{}", e.detail());
    assert!(e.detail().contains("position 0"), "{}", e.detail());
}

// ----------------------------------------------------------------------------------------------
// compValue: strings, numbers, booleans, null, dateTime, Entra's unquoted values
// ----------------------------------------------------------------------------------------------

fn value_of(input: &str) -> CompValue {
    match parse(input) {
        Filter::Compare { value, .. } => value,
        other => panic!("{input:?} gave {other:?}"),
    }
}

#[test]
fn json_string_escapes() {
    assert_eq!(value_of(r#"a eq "say \"hi\"""#), s("say \"hi\""));
    assert_eq!(value_of(r#"a eq "back\\slash""#), s("back\\slash"));
    assert_eq!(value_of(r#"a eq "a\/b""#), s("a/b"));
    assert_eq!(value_of(r#"a eq "\b\f\n\r\t""#), s("\u{8}\u{c}\n\r\t"));
    assert_eq!(value_of(r#"a eq "caf\u00e9""#), s("café"));
    assert_eq!(value_of(r#"a eq "\u00E9""#), s("é"));
    assert_eq!(value_of(r#"a eq "\ud83d\ude00 smile""#), s("😀 smile"));
    assert_eq!(value_of(r#"a eq "raw ünïcödé 😀""#), s("raw ünïcödé 😀"));
    assert_eq!(value_of(r#"a eq """#), s(""));
    assert_eq!(
        value_of(r#"a eq "(not) [a] and or""#),
        s("(not) [a] and or")
    );
}

#[test]
fn json_string_errors() {
    assert_eq!(
        filter_err(r#"a eq "open"#),
        "unterminated string at position 5"
    );
    assert_eq!(
        filter_err(r#"a eq "x\"#),
        r#"expected an escape sequence (\" \\ \/ \b \f \n \r \t or \uXXXX) at position 7, found "\\""#
    );
    assert_eq!(
        filter_err(r#"a eq "bad \q escape""#),
        r#"expected an escape sequence (\" \\ \/ \b \f \n \r \t or \uXXXX) at position 10, found "\\q""#
    );
    assert_eq!(
        filter_err(r#"a eq "\u12G4""#),
        r#"expected four hexadecimal digits after \u at position 6, found "\\u12G4""#
    );
    assert_eq!(
        filter_err(r#"a eq "\ud83d alone""#),
        r#"expected a \uDC00-\uDFFF low surrogate after a high surrogate at position 12, found " ""#
    );
    assert_eq!(
        filter_err(r#"a eq "\ude00""#),
        "unpaired low surrogate in a \\u escape at position 6"
    );
    assert_eq!(
        filter_err("a eq \"tab\there\""),
        "control character in a string (RFC 7159 requires it to be escaped) at position 9"
    );
}

#[test]
fn json_numbers() {
    let n = |v: serde_json::Number| CompValue::Number(v);
    assert_eq!(value_of("a eq 0"), n(0.into()));
    assert_eq!(value_of("a gt 42"), n(42.into()));
    assert_eq!(value_of("a lt -42"), n((-42).into()));
    assert_eq!(value_of("a eq 9223372036854775807"), n(i64::MAX.into()));
    assert_eq!(value_of("a eq -9223372036854775808"), n(i64::MIN.into()));
    assert_eq!(value_of("a eq 18446744073709551615"), n(u64::MAX.into()));
    let f = |x: f64| n(serde_json::Number::from_f64(x).unwrap());
    assert_eq!(value_of("a eq 1.5"), f(1.5));
    assert_eq!(value_of("a eq -0.25"), f(-0.25));
    assert_eq!(value_of("a eq 1e3"), f(1000.0));
    assert_eq!(value_of("a eq 2.5E-3"), f(0.0025));
    assert_eq!(value_of("a eq 1e+2"), f(100.0));
    assert_eq!(value_of("a eq 1.0"), f(1.0));
    // Beyond u64: read as f64, as serde_json reads it.
    assert_eq!(
        value_of("a eq 18446744073709551616"),
        f(18446744073709551616.0)
    );
    assert_eq!(value_of("(a eq 7)"), n(7.into()));
    assert_eq!(
        filter_err("a eq 1e999"),
        "number out of range at position 5"
    );
}

#[test]
fn booleans_null_and_datetimes() {
    assert_eq!(value_of("active eq true"), CompValue::Bool(true));
    assert_eq!(value_of("active eq false"), CompValue::Bool(false));
    assert_eq!(value_of("manager eq null"), CompValue::Null);
    // A dateTime is a string; the evaluator compares it as a dateTime by attribute type.
    assert_eq!(
        value_of(r#"meta.created ge "2011-05-13T04:42:34Z""#),
        s("2011-05-13T04:42:34Z")
    );
}

/// Client compatibility: old Microsoft Entra ID payloads send unquoted values.
#[test]
fn entra_unquoted_values_are_strings() {
    assert_eq!(
        parse("userName eq bjensen"),
        cmp(p("userName"), CompareOp::Eq, s("bjensen"))
    );
    assert_eq!(
        value_of("externalId eq 7bd1c1b5-1b3f-4c3f-9d8e-2b0a5c1d7e9f"),
        s("7bd1c1b5-1b3f-4c3f-9d8e-2b0a5c1d7e9f")
    );
    assert_eq!(
        value_of("userName eq bjensen@example.com"),
        s("bjensen@example.com")
    );
    assert_eq!(value_of("a eq truex"), s("truex"));
    assert_eq!(value_of("a eq 12abc"), s("12abc"));
    // Unquoted, the literal keywords and numbers keep their JSON meaning.
    assert_eq!(value_of("a eq true"), CompValue::Bool(true));
    assert_eq!(value_of("a eq 12"), CompValue::Number(12.into()));
    // Bare words end at whitespace, parentheses and brackets.
    assert_eq!(
        parse("(userName eq bjensen) and emails[type eq work]"),
        and(
            cmp(p("userName"), CompareOp::Eq, s("bjensen")),
            vp(p("emails"), cmp(p("type"), CompareOp::Eq, s("work")))
        )
    );
    // Printing always quotes, so the strict form comes back out.
    assert_eq!(
        parse("userName eq bjensen").to_string(),
        r#"userName eq "bjensen""#
    );
}

// ----------------------------------------------------------------------------------------------
// Malformed filters and their positions
// ----------------------------------------------------------------------------------------------

#[test]
fn malformed_filters_report_position() {
    let cases: &[(&str, &str)] = &[
        ("", "expected a filter at position 0, found end of input"),
        ("   ", "expected a filter at position 3, found end of input"),
        (
            r#"userName xx "bjensen""#,
            r#"expected a comparison operator at position 9, found "xx""#,
        ),
        (
            "userName",
            "expected a comparison operator at position 8, found end of input",
        ),
        (
            "userName eq",
            "expected a comparison value (a JSON string, number, true, false or null) at position 11, found end of input",
        ),
        (
            r#"userName eq "bjensen" xx"#,
            r#"expected "and", "or" or end of filter at position 22, found "xx""#,
        ),
        (
            r#"userName eq "bjensen" and"#,
            "expected an attribute path, \"(\" or \"not\" at position 25, found end of input",
        ),
        (
            r#"(userName eq "bjensen""#,
            "expected \"and\", \"or\" or \")\" at position 22, found end of input",
        ),
        (
            r#"userName eq "bjensen")"#,
            "expected \"and\", \"or\" or end of filter at position 21, found \")\"",
        ),
        (
            r#"emails[type eq "work""#,
            "expected \"and\", \"or\" or \"]\" at position 21, found end of input",
        ),
        (
            r#"not userName eq "x""#,
            "expected \"(\" after \"not\" at position 4, found \"userName\"",
        ),
        (
            "()",
            "expected an attribute path, \"(\" or \"not\" at position 1, found \")\"",
        ),
        (
            "title pr pr",
            "expected \"and\", \"or\" or end of filter at position 9, found \"pr\"",
        ),
        (
            "titlepr",
            "expected a comparison operator at position 7, found end of input",
        ),
        (
            r#"userName eqx "a""#,
            r#"expected a comparison operator at position 9, found "eqx""#,
        ),
        (
            r#"title pr andy pr"#,
            r#"expected "and", "or" or end of filter at position 9, found "andy""#,
        ),
        (
            r#"a eq "x" and or b pr"#,
            r#"expected a comparison operator at position 16, found "b""#,
        ),
        (
            "a eq (x)",
            "expected a comparison value (a JSON string, number, true, false or null) at position 5, found \"(\"",
        ),
        (
            "1abc pr",
            "expected an attribute name starting with a letter at position 0, found \"1abc\"",
        ),
        (
            "a.b.c pr",
            "an attribute path has at most one sub-attribute: unexpected \".\" at position 3",
        ),
        (
            "emails[] pr",
            "expected an attribute path, \"(\" or \"not\" at position 7, found \"]\"",
        ),
    ];
    for (input, detail) in cases {
        assert_eq!(&filter_err(input), detail, "{input:?}");
    }
}

#[test]
fn found_token_is_truncated() {
    let long = "x".repeat(100);
    let d = filter_err(&format!("a pr {long}"));
    assert_eq!(
        d,
        format!(
            "expected \"and\", \"or\" or end of filter at position 5, found \"{}\"...",
            "x".repeat(24)
        )
    );
}

#[test]
fn from_str_is_parse() {
    let f: Filter = r#"userName eq "bjensen""#.parse().unwrap();
    assert_eq!(f, parse(r#"userName eq "bjensen""#));
    let e = "userName".parse::<Filter>().unwrap_err();
    assert!(e.is_invalid_filter());
}

// ----------------------------------------------------------------------------------------------
// Limits
// ----------------------------------------------------------------------------------------------

const TOO_DEEP: &str = "filter nesting (parentheses, \"not\" and value-path brackets) is deeper than the maximum of 20 levels";
const TOO_MANY: &str =
    "filter has more than the maximum of 100 attribute expressions (comparisons and \"pr\")";

#[test]
fn limits_are_the_documented_numbers() {
    assert_eq!(MAX_FILTER_DEPTH, 20);
    assert_eq!(MAX_FILTER_ATTR_EXPRESSIONS, 100);
    assert_eq!(MAX_FILTER_LEN, 64 * 1024);
}

#[test]
fn hundred_thousand_open_parens_fail_fast() {
    // 100,000 bytes: over the length limit, rejected before parsing.
    let input = "(".repeat(100_000);
    assert_eq!(
        filter_err(&input),
        "the filter is 100000 bytes long; the maximum is 65536"
    );
    // Within the length limit, the depth limit stops the descent at the 21st level.
    let input = "(".repeat(60_000);
    assert_eq!(filter_err(&input), format!("{TOO_DEEP} at position 20"));
    let nots = "not (".repeat(10_000);
    assert_eq!(
        filter_err(&nots),
        format!("{TOO_DEEP} at position {}", 20 * "not (".len() + 4)
    );
    // Value-path brackets count as a level.
    let brackets = format!("{}emails[{}a pr", "(".repeat(19), "(".repeat(10));
    assert_eq!(filter_err(&brackets), format!("{TOO_DEEP} at position 26"));
    let deepest_ok = format!("{}emails[type pr]{}", "(".repeat(19), ")".repeat(19));
    assert_eq!(
        parse(&deepest_ok),
        vp(p("emails"), Filter::Present(p("type")))
    );
}

#[test]
fn depth_at_the_limit_is_accepted_one_more_is_not() {
    let at = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&at(MAX_FILTER_DEPTH)), Filter::Present(p("a")));
    assert_eq!(
        filter_err(&at(MAX_FILTER_DEPTH + 1)),
        format!("{TOO_DEEP} at position {MAX_FILTER_DEPTH}")
    );
    let nots = |n: usize| format!("{}a pr{}", "not(".repeat(n), ")".repeat(n));
    let mut expected = Filter::Present(p("a"));
    for _ in 0..MAX_FILTER_DEPTH {
        expected = not(expected);
    }
    assert_eq!(parse(&nots(MAX_FILTER_DEPTH)), expected);
    assert!(filter_err(&nots(MAX_FILTER_DEPTH + 1)).starts_with(TOO_DEEP));
}

#[test]
fn overlong_input_is_rejected() {
    let input = format!("a eq \"{}\"", "x".repeat(64 * 1024));
    assert_eq!(
        filter_err(&input),
        format!(
            "the filter is {} bytes long; the maximum is 65536",
            input.len()
        )
    );
    assert!(
        PatchPath::parse(&"a".repeat(70_000))
            .unwrap_err()
            .is_invalid_path()
    );
    assert!(
        AttrPath::parse(&"a".repeat(70_000))
            .unwrap_err()
            .is_invalid_path()
    );
}

/// `n` clauses `id eq "0" or id eq "1" ...` (a client listing ids).
fn id_chain(n: usize, op: &str) -> String {
    (0..n)
        .map(|k| format!("id eq \"{k}\""))
        .collect::<Vec<_>>()
        .join(op)
}

#[test]
fn attribute_expressions_at_the_limit_parse() {
    let f = parse(&id_chain(MAX_FILTER_ATTR_EXPRESSIONS, " or "));
    let mut count = 1;
    let mut node = &f;
    while let Filter::Or(left, _) = node {
        count += 1;
        node = left;
    }
    assert_eq!(count, MAX_FILTER_ATTR_EXPRESSIONS);
    // Expressions inside value-path brackets count too: 50 value paths of 2 = 100.
    let vps = vec![r#"emails[type eq "work" and value co "@x"]"#; 50].join(" or ");
    assert!(Filter::parse(&vps).is_ok());
}

#[test]
fn one_expression_over_the_limit_is_refused_where_it_starts() {
    // The 101st expression is refused at its first character, "and" or "or".
    let over = id_chain(MAX_FILTER_ATTR_EXPRESSIONS + 1, " and ");
    let position = over.rfind("id eq").unwrap();
    assert_eq!(
        filter_err(&over),
        format!("{TOO_MANY} at position {position}")
    );
    // The `co` chain that once ended as a 500 on SQLite (about 1,000 clauses).
    let co = (0..1000)
        .map(|k| format!("userName co \"{k}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(filter_err(&co).starts_with(TOO_MANY));
    let grouped = format!(
        "({}) or ({})",
        vec!["a pr"; 60].join(" or "),
        vec!["b pr"; 60].join(" and ")
    );
    assert!(filter_err(&grouped).starts_with(TOO_MANY));
    let in_brackets = format!("emails[{}]", vec!["type pr"; 101].join(" or "));
    assert!(filter_err(&in_brackets).starts_with(TOO_MANY));
    // A tiny-clause 64 KiB filter (over 8,000 expressions) stops at the 101st.
    let huge = vec!["a pr"; 8000].join(" or ");
    assert!(huge.len() < MAX_FILTER_LEN);
    assert_eq!(
        filter_err(&huge),
        format!("{TOO_MANY} at position {}", 100 * "a pr or ".len())
    );
    // The same limits hold inside a PATCH path's brackets.
    let patch = format!("emails[{}]", vec!["type pr"; 101].join(" or "));
    assert!(path_err(&patch).starts_with(TOO_MANY));
}

// ----------------------------------------------------------------------------------------------
// Client compatibility, not RFC 7644: a value path followed by a sub-attribute and a comparison
// ----------------------------------------------------------------------------------------------

/// `emails[type eq "work"]` and a trailing comparison on `sub`.
fn work_email_and(sub: Filter) -> Filter {
    vp(
        p("emails"),
        and(cmp(p("type"), CompareOp::Eq, s("work")), sub),
    )
}

/// Parses `input`, checks it equals `expected`, and that the printed form parses back to it.
fn parses_to_and_prints_back(input: &str, expected: &Filter) {
    let parsed = parse(input);
    assert_eq!(&parsed, expected, "{input:?}");
    let printed = parsed.to_string();
    assert_eq!(
        &parse(&printed),
        expected,
        "{input:?} printed as {printed:?}"
    );
}

/// Microsoft Entra ID matches users by email with
/// `emails[type eq "work"].value eq "..."` (a value path, then a sub-attribute, then a
/// comparison; not in the RFC 7644 §3.4.2.2 grammar): it means one work email has that value,
/// exactly the RFC form `emails[type eq "work" and value eq "..."]`, which the parser produces.
#[test]
fn entra_value_path_then_sub_attribute_comparison() {
    let rfc = parse(r#"emails[type eq "work" and value eq "x@example.com"]"#);
    let expected = work_email_and(cmp(p("value"), CompareOp::Eq, s("x@example.com")));
    assert_eq!(rfc, expected);
    parses_to_and_prints_back(
        r#"emails[type eq "work"].value eq "x@example.com""#,
        &expected,
    );
    assert_eq!(
        expected.to_string(),
        r#"emails[type eq "work" and value eq "x@example.com"]"#
    );
    // Any operator, `pr`, keyword case, whitespace, other sub-attributes.
    parses_to_and_prints_back(
        r#"emails[type eq "work"].value pr"#,
        &work_email_and(Filter::Present(p("value"))),
    );
    parses_to_and_prints_back(
        "emails[ type eq \"work\" ].value\tCO  \"@example.com\"",
        &work_email_and(cmp(p("value"), CompareOp::Co, s("@example.com"))),
    );
    parses_to_and_prints_back(
        r#"emails[type eq "work"].display sw "Babs""#,
        &work_email_and(cmp(p("display"), CompareOp::Sw, s("Babs"))),
    );
    parses_to_and_prints_back(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].primary eq true"#,
        &vp(
            p("emails").with_uri(CORE_USER),
            and(
                cmp(p("type"), CompareOp::Eq, s("work")),
                cmp(p("primary"), CompareOp::Eq, CompValue::Bool(true)),
            ),
        ),
    );
}

/// Microsoft's SCIM documentation also shows `emails[type eq "work"] eq "..."`: a comparison
/// straight after the value path, on the element's `value`.
#[test]
fn microsoft_value_path_then_comparison_means_value() {
    let expected = work_email_and(cmp(p("value"), CompareOp::Eq, s("x@example.com")));
    parses_to_and_prints_back(r#"emails[type eq "work"] eq "x@example.com""#, &expected);
    parses_to_and_prints_back(r#"emails[type eq "work"]eq"x@example.com""#, &expected);
    parses_to_and_prints_back(
        r#"emails[type eq "work"] pr"#,
        &work_email_and(Filter::Present(p("value"))),
    );
}

#[test]
fn entra_form_inside_larger_filters() {
    let entra = work_email_and(cmp(p("value"), CompareOp::Eq, s("x@example.com")));
    // `and` binds tighter than `or` around it, as around any value path.
    parses_to_and_prints_back(
        r#"userName eq "a" or emails[type eq "work"].value eq "x@example.com" and active eq true"#,
        &or(
            cmp(p("userName"), CompareOp::Eq, s("a")),
            and(
                entra.clone(),
                cmp(p("active"), CompareOp::Eq, CompValue::Bool(true)),
            ),
        ),
    );
    parses_to_and_prints_back(
        r#"not (emails[type eq "work"].value eq "x@example.com")"#,
        &not(entra.clone()),
    );
    // An `or` inside the brackets stays grouped: one element must be work-or-home AND have
    // the value. The printer adds the parentheses the grammar needs.
    let either = vp(
        p("emails"),
        and(
            or(
                cmp(p("type"), CompareOp::Eq, s("work")),
                cmp(p("type"), CompareOp::Eq, s("home")),
            ),
            cmp(p("value"), CompareOp::Ew, s("@example.com")),
        ),
    );
    parses_to_and_prints_back(
        r#"emails[type eq "work" or type eq "home"].value ew "@example.com""#,
        &either,
    );
    assert_eq!(
        either.to_string(),
        r#"emails[(type eq "work" or type eq "home") and value ew "@example.com"]"#
    );
}

#[test]
fn entra_form_errors() {
    let cases: &[(&str, &str)] = &[
        (
            r#"emails[type eq "work"].value"#,
            "expected a comparison operator or \"pr\" after the sub-attribute at position 28, found end of input",
        ),
        (
            r#"emails[type eq "work"].value and a pr"#,
            "expected a comparison operator or \"pr\" after the sub-attribute at position 29, found \"and\"",
        ),
        (
            r#"emails[type eq "work"].value eq"#,
            "expected a comparison value (a JSON string, number, true, false or null) at position 31, found end of input",
        ),
        (
            r#"emails[type eq "work"].value.x eq "y""#,
            "an attribute path has at most one sub-attribute: unexpected \".\" at position 28",
        ),
        (
            r#"emails[type eq "work"] .value eq "y""#,
            "expected \"and\", \"or\" or end of filter at position 23, found \".value\"",
        ),
        (
            r#"emails[type eq "work"]. value eq "y""#,
            "expected an attribute name at position 23, found \" \"",
        ),
    ];
    for (input, detail) in cases {
        assert_eq!(&filter_err(input), detail, "{input:?}");
    }
}

#[test]
fn entra_form_counts_against_the_limits() {
    // The trailing comparison is an attribute expression: 99 + 2 is one too many.
    let chain = id_chain(MAX_FILTER_ATTR_EXPRESSIONS - 2, " or ");
    assert!(Filter::parse(&format!(r#"{chain} or emails[type eq "work"].value pr"#)).is_ok());
    let chain = id_chain(MAX_FILTER_ATTR_EXPRESSIONS - 1, " or ");
    let input = format!(r#"{chain} or emails[type eq "work"].value pr"#);
    assert_eq!(
        filter_err(&input),
        format!("{TOO_MANY} at position {}", input.len() - ".value pr".len())
    );
    // An `or` in the brackets prints inside parentheses, one level deeper than it was read:
    // at the depth limit that form is refused rather than printed into one that cannot be
    // parsed back.
    let nested = |n: usize, inner: &str| {
        format!("{}emails[{inner}].value pr{}", "(".repeat(n), ")".repeat(n))
    };
    let either = "type pr or display pr";
    assert_eq!(
        filter_err(&nested(MAX_FILTER_DEPTH - 1, either)),
        format!(
            "{TOO_DEEP} at position {}",
            MAX_FILTER_DEPTH - 1 + "emails".len()
        )
    );
    let f = parse(&nested(MAX_FILTER_DEPTH - 2, either));
    assert_eq!(parse(&f.to_string()), f);
    // Without an `or` nothing is added, so the limit itself is fine.
    let f = parse(&nested(MAX_FILTER_DEPTH - 1, "type pr and display pr"));
    assert_eq!(parse(&f.to_string()), f);
    // A deeper sibling before the value path does not count against it.
    let f = parse(&format!(
        "{}a pr{} or emails[{either}].value pr",
        "(".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    ));
    assert_eq!(parse(&f.to_string()), f);
}

// ----------------------------------------------------------------------------------------------
// RFC 7644 §3.5.2 PATCH paths
// ----------------------------------------------------------------------------------------------

fn patch(input: &str) -> PatchPath {
    match PatchPath::parse(input) {
        Ok(path) => path,
        Err(e) => panic!("{input:?} should parse: {e}"),
    }
}

fn pp(attr: AttrPath, filter: Option<Filter>, sub_attr: Option<&str>) -> PatchPath {
    PatchPath {
        attr,
        filter,
        sub_attr: sub_attr.map(str::to_owned),
    }
}

/// RFC 7644 §3.5.2, Figure 8 ("Example Path Values") and the paths of the §3.5.2.1-3 examples.
#[test]
fn rfc7644_patch_paths() {
    let member = || {
        cmp(
            p("value"),
            CompareOp::Eq,
            s("2819c223-7f76-453a-919d-413861904646"),
        )
    };
    let work = || cmp(p("type"), CompareOp::Eq, s("work"));
    let examples: Vec<(&str, PatchPath)> = vec![
        // Figure 8.
        ("members", pp(p("members"), None, None)),
        ("name.familyName", pp(ps("name", "familyName"), None, None)),
        (
            r#"addresses[type eq "work"]"#,
            pp(p("addresses"), Some(work()), None),
        ),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            pp(p("members"), Some(member()), None),
        ),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
            pp(p("members"), Some(member()), Some("displayName")),
        ),
        // §3.5.2.2 remove: "Removal of a value from a complex multi-valued attribute".
        (
            r#"emails[type eq "work" and value ew "example.com"]"#,
            pp(
                p("emails"),
                Some(and(
                    work(),
                    cmp(p("value"), CompareOp::Ew, s("example.com")),
                )),
                None,
            ),
        ),
        // §3.5.2.3 replace.
        (
            r#"addresses[type eq "work"].streetAddress"#,
            pp(p("addresses"), Some(work()), Some("streetAddress")),
        ),
        // §3.5.2.1 add.
        ("emails", pp(p("emails"), None, None)),
        // Extension attributes by URN (RFC 7643 §4.3 Enterprise User).
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            pp(p("manager").with_uri(ENTERPRISE), None, None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            pp(p("employeeNumber").with_uri(ENTERPRISE), None, None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            pp(ps("manager", "value").with_uri(ENTERPRISE), None, None),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            pp(
                p("User").with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                None,
                None,
            ),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#,
            pp(p("emails").with_uri(CORE_USER), Some(work()), Some("value")),
        ),
    ];
    for (input, expected) in examples {
        let parsed = patch(input);
        assert_eq!(parsed, expected, "{input:?}");
        assert_eq!(parsed.to_string(), input, "prints back unchanged");
        assert_eq!(input.parse::<PatchPath>().unwrap(), expected);
    }
}

/// The PATCH paths Microsoft Entra ID sends (Microsoft's "Known issues and resolutions with
/// SCIM 2.0 protocol compliance" and SCIM reference documentation).
#[test]
fn entra_patch_paths() {
    assert_eq!(
        patch(r#"emails[type eq "work"].value"#),
        pp(
            p("emails"),
            Some(cmp(p("type"), CompareOp::Eq, s("work"))),
            Some("value")
        )
    );
    assert_eq!(
        patch(r#"members[value eq "e9e30dba-f08f-4109-8486-d5c6a331660a"]"#),
        pp(
            p("members"),
            Some(cmp(
                p("value"),
                CompareOp::Eq,
                s("e9e30dba-f08f-4109-8486-d5c6a331660a")
            )),
            None
        )
    );
    // Some payloads leave out the space between the operator and the quoted value.
    assert_eq!(
        patch(r#"members[value eq"2819c223-7f76-453a-919d-413861904646"]"#),
        patch(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
    );
    assert_eq!(
        patch(r#"addresses[type eq "work"].$ref"#)
            .sub_attr
            .as_deref(),
        Some("$ref")
    );
    assert_eq!(
        patch("  name.givenName  "),
        pp(ps("name", "givenName"), None, None)
    );
}

#[test]
fn malformed_patch_paths() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "expected an attribute path at position 0, found end of input",
        ),
        (
            r#"emails[type xx "work"]"#,
            r#"expected a comparison operator at position 12, found "xx""#,
        ),
        (
            r#"emails[type eq "work"]value"#,
            r#"expected "." and a sub-attribute, or end of path at position 22, found "value""#,
        ),
        (
            r#"emails[type eq "work"]."#,
            "expected an attribute name at position 23, found end of input",
        ),
        (
            r#"emails[type eq "work"].value.x"#,
            r#"an attribute path has at most one sub-attribute: unexpected "." at position 28"#,
        ),
        (
            r#"emails[type eq "work"].value[x pr]"#,
            r#"expected end of path at position 28, found "[""#,
        ),
        (
            r#"emails[type eq "work""#,
            "expected \"and\", \"or\" or \"]\" at position 21, found end of input",
        ),
        (
            "emails x",
            "expected \"[\" or end of path at position 7, found \"x\"",
        ),
        (
            r#"name.givenName[value pr]"#,
            "a value filter must follow an attribute without a sub-attribute (sub-attributes are never multi-valued complex attributes) at position 14",
        ),
        (
            r#"emails[value[x pr]]"#,
            "a value filter cannot contain another value path (sub-attributes are never complex, RFC 7643 §2.3.8) at position 12",
        ),
        (
            "1emails",
            "expected an attribute name starting with a letter at position 0, found \"1emails\"",
        ),
    ];
    for (input, detail) in cases {
        assert_eq!(&path_err(input), detail, "{input:?}");
    }
    // An invalid filter inside the brackets is invalidPath, not invalidFilter (§3.5.2: "If
    // the target location path specifies ... is invalid").
    let e = PatchPath::parse(r#"members[value eq]"#).unwrap_err();
    assert_eq!(e.scim_type(), Some(ScimType::InvalidPath));
    let deep = format!("members[{}", "(".repeat(60_000));
    assert!(path_err(&deep).starts_with(TOO_DEEP));
}
