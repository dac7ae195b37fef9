//! Property tests for the filter and path parsers.
//!
//! - Any AST (URN paths, sub-attributes, every operator and value kind, strings with quotes,
//!   backslashes, control characters and any Unicode, nested `and` / `or` / `not` and value
//!   paths) within the parser's limits prints to a string that parses back to the same AST.
//! - Microsoft Entra ID's `attr[valFilter].sub op value` (not RFC 7644 syntax) parses to
//!   `attr[(valFilter) and sub op value]` and prints back to that.
//! - Arbitrary strings, and strings assembled from the grammar's own tokens, never make
//!   `Filter::parse`, `AttrPath::parse` or `PatchPath::parse` panic; every error is a 400 with
//!   the right `scimType` and a position; anything accepted round-trips through the printer.

use proptest::prelude::*;
use scim_core::filter::MAX_FILTER_ATTR_EXPRESSIONS;
use scim_core::{AttrPath, CompValue, CompareOp, Filter, PatchPath, ScimType};

// ----------------------------------------------------------------------------------------------
// AST strategies
// ----------------------------------------------------------------------------------------------

/// `ATTRNAME = ALPHA *(nameChar)`, plus `$ref`; includes names spelt like keywords.
fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,12}",
        1 => Just("$ref".to_owned()),
        1 => prop::sample::select(vec![
            "not", "and", "or", "pr", "eq", "true", "null", "NOT", "Or", "value", "type",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Schema URIs, including the dotted `2.0` of the standard URNs.
fn schema_uri() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:core:2.0:Group".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group".to_owned()),
        "urn(:[a-zA-Z0-9.-]{1,8}){1,5}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.25, schema_uri()),
        attr_name(),
        prop::option::weighted(0.3, attr_name()),
    )
        .prop_map(|(uri, name, sub_attr)| AttrPath {
            uri,
            name,
            sub_attr,
        })
}

/// The attribute of a value path: no sub-attribute.
fn multi_valued_path() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.25, schema_uri()), attr_name()).prop_map(|(uri, name)| AttrPath {
        uri,
        name,
        sub_attr: None,
    })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\/ a-z\\t\\n\\r\\u{0}-\\u{1f}\\u{7f}é😀\\]\\[()]{0,16}",
        prop::sample::select(vec![
            "",
            "\"",
            "\\",
            "\\\"",
            "and",
            "or",
            "not (",
            ")",
            "]",
            "[",
            "2011-05-13T04:42:34Z",
            "O'Malley",
            "\u{2028}\u{2029}",
            "\u{feff}",
            "\u{10ffff}",
        ])
        .prop_map(str::to_owned),
    ]
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        1 => Just(CompValue::Null),
        1 => any::<bool>().prop_map(CompValue::Bool),
        2 => any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        1 => any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        2 => any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        1 => (-1000i32..1000, -20i32..20).prop_filter_map("finite", |(m, e)| {
            serde_json::Number::from_f64(f64::from(m) * 10f64.powi(e))
        })
        .prop_map(CompValue::Number),
        4 => tricky_string().prop_map(CompValue::String),
    ]
}

fn attr_exp() -> impl Strategy<Value = Filter> {
    prop_oneof![
        1 => attr_path().prop_map(Filter::Present),
        4 => (attr_path(), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
}

/// `valFilter`: `and`, `or`, `not` and grouping over attribute expressions, no value path.
fn val_filter() -> impl Strategy<Value = Filter> {
    attr_exp().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::not),
        ]
    })
}

/// The attribute expressions (`pr` and comparisons) of `f`, the quantity
/// `MAX_FILTER_ATTR_EXPRESSIONS` bounds.
fn attr_expressions(f: &Filter) -> usize {
    match f {
        Filter::Present(_) | Filter::Compare { .. } => 1,
        Filter::ValuePath { filter, .. } | Filter::Not(filter) => attr_expressions(filter),
        Filter::And(a, b) | Filter::Or(a, b) => attr_expressions(a) + attr_expressions(b),
    }
}

/// `FILTER`: everything, with value paths whose filters are `valFilter`s, within the
/// parser's limits (the recursion depths keep the printed nesting under
/// `MAX_FILTER_DEPTH`: at most 6 outer levels, 1 bracket and 4 inner levels).
fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => attr_exp(),
        1 => (multi_valued_path(), val_filter()).prop_map(|(p, f)| Filter::value_path(p, f)),
    ];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::not),
        ]
    })
    .prop_filter("within the expression limit", |f| {
        attr_expressions(f) <= MAX_FILTER_ATTR_EXPRESSIONS
    })
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path().prop_map(|attr| PatchPath {
            attr,
            filter: None,
            sub_attr: None,
        }),
        (
            multi_valued_path(),
            val_filter(),
            prop::option::of(attr_name())
        )
            .prop_map(|(attr, filter, sub_attr)| PatchPath {
                attr,
                filter: Some(filter),
                sub_attr,
            }),
    ]
}

// ----------------------------------------------------------------------------------------------
// Input strategies for the no-panic properties
// ----------------------------------------------------------------------------------------------

/// Strings assembled from the grammar's tokens (and near misses), joined with or without
/// whitespace, so that the parser is driven deep into every rule.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        "not",
        "NOT",
        "and",
        "or",
        "pr",
        "eq",
        "ne",
        "co",
        "sw",
        "ew",
        "gt",
        "lt",
        "ge",
        "le",
        "eqx",
        "true",
        "false",
        "null",
        "\"work\"",
        "\"",
        "\"\\",
        "\"\\u",
        "\"\\ud83d\"",
        "\"\\ud83d\\ude00\"",
        "\\",
        ".",
        ":",
        "$ref",
        "userName",
        "emails",
        "type",
        "value",
        "name.familyName",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:",
        "2.0",
        "0",
        "-1",
        "1.5e3",
        "1e999",
        "-",
        "1.",
        "7bd1c1b5-1b3f",
        "é",
        "😀",
        "\t",
        "\n",
        " ",
        "",
        "[[",
        "]]",
        "((",
        "))",
        "not(",
        "].value",
        "a.b.c",
        "1abc",
    ]);
    prop::collection::vec(
        (token, prop::sample::select(vec!["", " ", "  ", "\t"])),
        0..24,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(t, sep)| [t, sep])
            .collect::<String>()
    })
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        token_soup(),
        filter().prop_map(|f| f.to_string()),
    ]
}

/// Every rejection is a 400 with `scim_type` and a detail that says where (or says the input
/// is too long).
fn check_error(e: &scim_core::ScimError, scim_type: ScimType) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.status(), 400);
    prop_assert_eq!(e.scim_type(), Some(scim_type));
    prop_assert!(
        e.detail().contains(" at position ") || e.detail().contains("bytes long"),
        "detail without a position: {}",
        e.detail()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn filter_prints_and_parses_back(f in filter()) {
        let printed = f.to_string();
        let parsed = Filter::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    #[test]
    fn entra_value_path_sub_attribute_form_normalises(
        path in multi_valued_path(),
        inner in val_filter(),
        sub in attr_name(),
        tail in prop_oneof![
            Just(None),
            (compare_op(), comp_value()).prop_map(Some),
        ],
    ) {
        let (leaf, text) = match tail {
            None => (Filter::Present(AttrPath::new(sub.clone())), format!("{path}[{inner}].{sub} pr")),
            Some((op, value)) => (
                Filter::Compare { path: AttrPath::new(sub.clone()), op, value: value.clone() },
                format!("{path}[{inner}].{sub} {} {value}", op.as_str()),
            ),
        };
        let expected = Filter::value_path(path, inner.and(leaf));
        let parsed = Filter::parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&expected), "input: {}", text);
        let printed = expected.to_string();
        prop_assert_eq!(Filter::parse(&printed), Ok(expected), "printed: {}", printed);
    }

    #[test]
    fn attr_path_prints_and_parses_back(p in attr_path()) {
        let printed = p.to_string();
        prop_assert_eq!(AttrPath::parse(&printed), Ok(p), "printed: {}", printed);
    }

    #[test]
    fn patch_path_prints_and_parses_back(p in patch_path()) {
        let printed = p.to_string();
        prop_assert_eq!(PatchPath::parse(&printed), Ok(p), "printed: {}", printed);
    }

    #[test]
    fn filter_parse_never_panics(input in any_input()) {
        match Filter::parse(&input) {
            // Whatever is accepted prints to a form that parses to the same tree.
            Ok(f) => prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f)),
            Err(e) => check_error(&e, ScimType::InvalidFilter)?,
        }
    }

    #[test]
    fn attr_path_parse_never_panics(input in any_input()) {
        match AttrPath::parse(&input) {
            Ok(p) => prop_assert_eq!(AttrPath::parse(&p.to_string()), Ok(p)),
            Err(e) => check_error(&e, ScimType::InvalidPath)?,
        }
    }

    #[test]
    fn patch_path_parse_never_panics(input in any_input()) {
        match PatchPath::parse(&input) {
            Ok(p) => prop_assert_eq!(PatchPath::parse(&p.to_string()), Ok(p)),
            Err(e) => check_error(&e, ScimType::InvalidPath)?,
        }
    }

    #[test]
    fn value_paths_from_soup_never_panic(soup in token_soup()) {
        // Inside brackets, as a PATCH path receives it.
        let input = format!("emails[{soup}]");
        if let Err(e) = PatchPath::parse(&input) {
            check_error(&e, ScimType::InvalidPath)?;
        }
        let input = format!("emails[{soup}].value");
        if let Err(e) = PatchPath::parse(&input) {
            check_error(&e, ScimType::InvalidPath)?;
        }
    }
}
