use super::*;
use scim_core::builtin;
use scim_core::sort::SortOrder;
use serde_json::json;

fn f(s: &str) -> Filter {
    s.parse().unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn user(id: &str, v: Value) -> NewResource {
    NewResource {
        id: id.into(),
        resource: Resource::from_value(v).unwrap(),
        members: vec![],
        unique: vec![],
    }
}

#[test]
fn can_filter_every_valid_filter_and_the_indexes_answer_some() {
    let s = MemoryStorage::new();
    let users = builtin::user_resource_schema();
    let groups = builtin::group_resource_schema();
    for yes in [
        r#"userName eq "a""#,
        r#"USERNAME eq "a""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
        r#"externalId eq "a""#,
        r#"id eq "a""#,
        r#"emails.value eq "a@b""#,
        r#"userName eq "a" and (externalId eq "b" or id eq "c")"#,
        r#"userName sw "a""#,
        r#"userName SW "Ä""#,
        r#"userName gt "a""#,
        r#"userName ge "a""#,
        r#"userName lt "a""#,
        r#"userName le "a""#,
        r#"userName pr"#,
        r#"externalId sw "A""#,
        r#"externalId pr"#,
        r#"id sw "u""#,
        r#"id gt "u""#,
        r#"id pr"#,
        r#"emails.value sw "a@""#,
        r#"emails.value le "a@""#,
        r#"emails.value pr"#,
        r#"userName sw "a" and externalId pr"#,
        r#"userName sw "a" or (emails.value gt "m" and id lt "x")"#,
        r#"userName co "a""#,
        r#"userName ew "a""#,
        r#"emails.value co "@x""#,
        r#"emails.type eq "work""#,
        r#"emails.type ew "K""#,
        r#"emails[value eq "a@b"]"#,
        r#"emails[type eq "work" and value co "x"]"#,
        r#"emails[type eq "work" or (value ew "x" and value pr)] and userName sw "a""#,
    ] {
        assert!(s.can_filter(&users, &f(yes)), "{yes}");
        assert!(supported(&users, &f(yes)), "from the indexes: {yes}");
    }
    for no in [
        r#"userName ne "a""#,
        r#"userName co """#,
        r#"userName ew """#,
        r#"emails[value co ""]"#,
        r#"emails[not (value eq "a")]"#,
        r#"emails[display eq "a"]"#,
        r#"emails[primary eq true]"#,
        r#"emails[type eq "work" and display eq "a"]"#,
        r#"emails[type ne "work"]"#,
        r#"emails[value eq null]"#,
        r#"name[givenName eq "a"]"#,
        r#"phoneNumbers[value eq "1"]"#,
        r#"userName eq null"#,
        r#"userName gt 5"#,
        r#"userName sw true"#,
        r#"not (userName sw "a")"#,
        r#"userName sw "a" and not (externalId pr)"#,
        r#"title eq "a""#,
        r#"title pr"#,
        r#"title sw "a""#,
        r#"emails pr"#,
        r#"emails sw "a""#,
        r#"meta.created gt "2011-05-13T04:42:34Z""#,
        r#"displayName eq "a""#, // not unique for Users
        r#"not (userName eq "a")"#,
        r#"userName eq "a" or title eq "b""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
    ] {
        // Answered by evaluating the compiled filter, not from the indexes; refused only
        // when it does not compile (RFC 7644 §3.12 invalidFilter).
        assert!(!supported(&users, &f(no)), "{no}");
        let valid = f(no).compile(&users).is_ok();
        assert_eq!(s.can_filter(&users, &f(no)), valid, "{no}");
    }
    assert!(!s.can_filter(&users, &f("userName gt 5")));
    assert!(s.can_filter(&groups, &f(r#"displayName eq "Admins""#)));
    assert!(s.can_filter(&groups, &f(r#"displayName sw "Ad""#)));
    assert!(s.can_filter(&groups, &f(r#"displayName pr"#)));
    assert!(s.can_filter(&groups, &f(r#"displayName co "dm""#)));
    assert!(s.can_filter(&groups, &f(r#"members.value eq "u1""#)));
    // Sorted in the store, but for the membership it keeps apart from the resources.
    let by = |name: &str| SortSpec::new(AttrPath::new(name), Default::default());
    assert!(s.can_sort(&users, &by("userName")));
    assert!(s.can_sort(&users, &by("emails")));
    assert!(!s.can_sort(&users, &by("groups")));
    assert!(!s.can_sort(&groups, &by("members")));
}

#[test]
fn index_case_folds() {
    // Greek capital sigma: `str::to_lowercase` would give a final sigma (ς) at the end
    // of a word; Unicode case folding maps Σ, σ and ς alike, for uniqueness, filters
    // and indexes (scim_core::casefold).
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let schema = builtin::user_resource_schema();
    let stored = json!({"id": "u1", "userName": "ΟΔΟΣ", "externalId": "Ext",
                        "emails": [{"value": "A@Example.COM"}]});
    rt().block_on(async {
        s.create(Scope::new(&t, &schema), user("u1", stored.clone()))
            .await
            .unwrap();
        let resource = Resource::from_value(stored).unwrap();
        for q in [
            r#"userName eq "οδοσ""#,
            r#"userName eq "οδος""#,
            r#"userName eq "ΟΔΟΣ""#,
            r#"externalId eq "Ext""#,
            r#"externalId eq "ext""#,
            r#"emails.value eq "a@example.com""#,
        ] {
            let filter = f(q);
            let page = StoragePage::Offset {
                offset: 0,
                limit: 10,
            };
            let r = s
                .query(
                    Scope::new(&t, &schema),
                    StorageQuery {
                        filter: Some(&filter),
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                )
                .await
                .unwrap();
            let expected = fold_filter(&filter).matches(&fold_view(&resource), &schema);
            assert_eq!(r.total_results, u64::from(expected), "{q}");
        }
    });
}

/// The resource with the values of its caseExact=false indexed attributes (`userName`,
/// `emails.value`) case-folded, for the evaluator as an oracle of folded comparisons.
fn fold_view(r: &Resource) -> Resource {
    fn fold_all(v: &mut Value) {
        match v {
            Value::String(s) => *s = scim_core::casefold::fold(s).into_owned(),
            Value::Array(items) => items.iter_mut().for_each(fold_all),
            Value::Object(o) => {
                if let Some(x) = o.get_mut("value") {
                    fold_all(x);
                }
            }
            _ => {}
        }
    }
    let mut out = r.clone();
    for key in ["userName", "emails"] {
        if let Some(v) = out.as_map_mut().get_mut(key) {
            fold_all(v);
        }
    }
    out
}

/// The filter with the string operands on `userName` and `emails` case-folded.
fn fold_filter(filter: &Filter) -> Filter {
    match filter {
        Filter::Compare {
            path,
            op,
            value: CompValue::String(s),
        } if ["userName", "emails"]
            .iter()
            .any(|n| path.name.eq_ignore_ascii_case(n)) =>
        {
            Filter::Compare {
                path: path.clone(),
                op: *op,
                value: CompValue::String(scim_core::casefold::fold(s).into_owned()),
            }
        }
        Filter::And(a, b) => fold_filter(a).and(fold_filter(b)),
        Filter::Or(a, b) => fold_filter(a).or(fold_filter(b)),
        Filter::Not(a) => fold_filter(a).not(),
        Filter::ValuePath {
            path,
            filter: inner,
        } if path.name.eq_ignore_ascii_case("emails") => {
            Filter::value_path(path.clone(), fold_value_filter(inner))
        }
        other => other.clone(),
    }
}

/// Inside `emails[...]`: the `value` operands folded.
fn fold_value_filter(filter: &Filter) -> Filter {
    match filter {
        Filter::Compare {
            path,
            op,
            value: CompValue::String(s),
        } if path.name.eq_ignore_ascii_case("value") => Filter::Compare {
            path: path.clone(),
            op: *op,
            value: CompValue::String(scim_core::casefold::fold(s).into_owned()),
        },
        Filter::And(a, b) => fold_value_filter(a).and(fold_value_filter(b)),
        Filter::Or(a, b) => fold_value_filter(a).or(fold_value_filter(b)),
        Filter::Not(a) => fold_value_filter(a).not(),
        other => other.clone(),
    }
}

/// Users with mixed case, non-ASCII text (Ä/ä, ß, Greek sigma, the Kelvin sign, dotted
/// capital I, a character beyond the BMP, U+10FFFF), empty strings, nulls, a non-string
/// value and missing attributes.
fn tricky_users() -> Vec<(&'static str, Value)> {
    vec![
        (
            "u1",
            json!({"userName": "Ärger", "externalId": "Ä1",
                      "emails": [{"value": "ÄRGER@Example.com"}, {"value": "second@x.org"}]}),
        ),
        (
            "u2",
            json!({"userName": "ärgerlich", "externalId": "ä1",
                      "emails": [{"value": "aerger@example.com"}]}),
        ),
        ("u3", json!({"userName": "straße", "externalId": "STRASSE"})),
        (
            "u4",
            json!({"userName": "STRASSE", "emails": [{"value": ""}]}),
        ),
        ("u5", json!({"userName": "ΟΔΟΣ", "externalId": ""})),
        ("u6", json!({"userName": "οδος", "externalId": "οδος"})),
        (
            "u7",
            json!({"userName": "", "emails": [{"value": null}, {"value": 42}]}),
        ),
        ("u8", json!({"emails": []})),
        (
            "u9",
            json!({"userName": "bjensen", "emails": {"value": "Obj@X.org"}}),
        ),
        ("u10", json!({"userName": "BJensen2", "externalId": "b"})),
        (
            "u11",
            json!({"userName": "\u{212A}elvin", "externalId": "\u{212A}"}),
        ),
        (
            "u12",
            json!({"userName": "kelvin2", "emails": [{"value": "k@x"}, {"value": "K@X"}]}),
        ),
        ("u13", json!({"userName": "İstanbul"})),
        (
            "u14",
            json!({"userName": "a\u{10FFFF}x", "externalId": "a\u{10FFFF}"}),
        ),
        ("u15", json!({"userName": "𝔸bc", "externalId": "𝔸"})),
        ("u16", json!({"userName": null, "externalId": null})),
    ]
}

const OPERANDS: &[&str] = &[
    "",
    "a",
    "A",
    "ä",
    "Ä",
    "ÄR",
    "är",
    "ärger",
    "b",
    "BJ",
    "bjensen",
    "k",
    "K",
    "\u{212A}",
    "kelvin",
    "str",
    "STRA",
    "straß",
    "STRASS",
    "strasse",
    "ο",
    "οδοσ",
    "ΟΔΟΣ",
    "οδος",
    "i",
    "i\u{307}",
    "İ",
    "z",
    "a\u{10FFFF}",
    "\u{10FFFF}",
    "𝔸",
    "u1",
    "U1",
    "u10",
    "second@",
    "k@x",
    "obj@x.org",
    "@",
];

/// Every filter the test claims is pushed down and compares with the evaluator.
fn pushed_filters() -> Vec<Filter> {
    let mut out = Vec::new();
    for path in ["userName", "externalId", "emails.value", "id"] {
        let ap: AttrPath = match path.split_once('.') {
            Some((a, b)) => AttrPath::with_sub(a, b),
            None => AttrPath::new(path),
        };
        out.push(Filter::Present(ap.clone()));
        for op in [
            CompareOp::Eq,
            CompareOp::Sw,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
            CompareOp::Co,
            CompareOp::Ew,
        ] {
            for operand in OPERANDS {
                if operand.is_empty() && matches!(op, CompareOp::Co | CompareOp::Ew) {
                    continue;
                }
                out.push(Filter::Compare {
                    path: ap.clone(),
                    op,
                    value: CompValue::String((*operand).to_string()),
                });
            }
        }
    }
    for text in [
        r#"userName sw "str" and externalId pr"#,
        r#"userName sw "ä" or emails.value sw "aer""#,
        r#"(userName ge "b" and userName lt "o") or id eq "u7""#,
        r#"emails.value pr and not_a_leaf eq "x""#,
        r#"emails[value co "ä"]"#,
        r#"emails[value ew "x.org" or value eq "k@x"]"#,
        r#"emails[value pr]"#,
        r#"emails[value co "@" and value sw "second"]"#,
        r#"userName co "Σ" or emails[value ew "COM"]"#,
    ] {
        out.push(f(text));
    }
    out
}

/// Queries every filter of [`pushed_filters`] and compares the ids with what
/// `Filter::matches` says over `all`.
async fn assert_pushdown_matches_evaluator(
    s: &MemoryStorage,
    t: &TenantId,
    schema: &ResourceSchema,
    all: &[StoredResource],
) {
    let mut claimed = 0;
    for filter in pushed_filters() {
        let must = !filter.to_string().contains("not_a_leaf");
        assert_eq!(s.can_filter(schema, &filter), must, "can_filter `{filter}`");
        if !must {
            continue;
        }
        claimed += 1;
        // The evaluator over the case-folded values (scim_core::casefold): the
        // indexes compare folded forms.
        let folded = fold_filter(&filter);
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|r| folded.matches(&fold_view(&r.resource), schema))
            .map(|r| r.id.clone())
            .collect();
        let page = StoragePage::Offset {
            offset: 0,
            limit: 1000,
        };
        let got = s
            .query(
                Scope::new(t, schema),
                StorageQuery {
                    filter: Some(&filter),
                    sort: None,
                    page: &page,
                    load: Load::ALL,
                },
            )
            .await
            .unwrap();
        let ids: BTreeSet<String> = got.resources.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, expected, "`{filter}`");
        assert_eq!(got.total_results, expected.len() as u64, "`{filter}`");
    }
    assert!(claimed > 900, "{claimed}");
}

#[test]
fn ordered_pushdown_matches_the_evaluator() {
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let schema = builtin::user_resource_schema();
    rt().block_on(async {
        let mut all = Vec::new();
        for (id, mut v) in tricky_users() {
            v["id"] = json!(id);
            all.push(
                s.create(Scope::new(&t, &schema), user(id, v))
                    .await
                    .unwrap(),
            );
        }
        // Spot checks of the folding, independent of the evaluator.
        let ids = |q: &str| {
            let filter = f(q);
            let page = StoragePage::Offset {
                offset: 0,
                limit: 100,
            };
            let s = s.clone();
            let (t, schema) = (t.clone(), schema.clone());
            async move {
                s.query(
                    Scope::new(&t, &schema),
                    StorageQuery {
                        filter: Some(&filter),
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                )
                .await
                .unwrap()
                .resources
                .into_iter()
                .map(|r| r.id)
                .collect::<BTreeSet<_>>()
            }
        };
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(ids(r#"userName sw "ÄR""#).await, set(&["u1", "u2"]));
        // Unicode case folding (scim_core::casefold): ß folds to "ss", and Σ, σ and ς
        // all fold to σ.
        assert_eq!(ids(r#"userName sw "STRAß""#).await, set(&["u3", "u4"]));
        assert_eq!(ids(r#"userName sw "STRASS""#).await, set(&["u3", "u4"]));
        assert_eq!(ids(r#"userName eq "οδοσ""#).await, set(&["u5", "u6"]));
        assert_eq!(ids(r#"userName sw "ΟΔΟς""#).await, set(&["u5", "u6"]));
        assert_eq!(ids(r#"userName sw "a""#).await, set(&["u14"]));
        assert_eq!(ids(r#"externalId sw "ä""#).await, set(&["u2"])); // caseExact
        assert_eq!(ids(r#"userName pr"#).await.len(), 13); // not "", null or missing
        assert!(ids(r#"emails.value pr"#).await.contains("u7")); // 42 is present
        assert!(!ids(r#"emails.value pr"#).await.contains("u4")); // "" is not
        assert_pushdown_matches_evaluator(&s, &t, &schema, &all).await;

        // The indexes follow replacements and deletions.
        let replaced = s
            .replace(
                Scope::new(&t, &schema),
                "u3",
                Replacement {
                    resource: Resource::from_value(
                        json!({"id": "u3", "userName": "Zürich", "emails": [{"value": 7}]}),
                    )
                    .unwrap(),
                    members: None,
                    unique: vec![],
                },
                None,
            )
            .await
            .unwrap();
        s.delete(Scope::new(&t, &schema), "u1", None).await.unwrap();
        all.retain(|r| r.id != "u1" && r.id != "u3");
        all.push(replaced);
        assert_eq!(ids(r#"userName sw "ÄR""#).await, set(&["u2"]));
        assert_eq!(ids(r#"userName sw "zü""#).await, set(&["u3"]));
        assert_pushdown_matches_evaluator(&s, &t, &schema, &all).await;
    });
}

#[test]
fn members_keep_insertion_order_and_shape() {
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let schema = builtin::group_resource_schema();
    rt().block_on(async {
        let members = vec![
            Member {
                value: "z".into(),
                kind: Some("User".into()),
                display: Some("Zed".into()),
            },
            Member::new("a"),
            Member::new("z"), // duplicate: ignored
        ];
        let created = s
            .create(
                Scope::new(&t, &schema),
                NewResource {
                    id: "g".into(),
                    resource: Resource::from_value(
                        json!({"id": "g", "members": [{"value": "stale"}]}),
                    )
                    .unwrap(),
                    members,
                    unique: vec![],
                },
            )
            .await
            .unwrap();
        let expected = json!([{"value": "z", "type": "User", "display": "Zed"}, {"value": "a"}]);
        assert_eq!(created.resource.get("members"), Some(&expected));
        let got = s
            .get(Scope::new(&t, &schema), "g", Load::ALL)
            .await
            .unwrap();
        assert_eq!(got.resource.get("members"), Some(&expected));
    });
}

#[test]
fn cursor_tokens_are_checked() {
    assert_eq!(decode_cursor(&encode_cursor(17)).unwrap(), 17);
    for bad in ["", "!!", "bTE6", "bTE6eA", "p1.abc"] {
        assert_eq!(
            decode_cursor(bad).unwrap_err().kind(),
            &StorageErrorKind::InvalidCursor,
            "{bad}"
        );
    }
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let schema = builtin::user_resource_schema();
    let page = StoragePage::Cursor {
        after: Some("garbage!".into()),
        limit: 1,
    };
    let e = rt()
        .block_on(s.query(
            Scope::new(&t, &schema),
            StorageQuery {
                filter: None,
                sort: None,
                page: &page,
                load: Load::ALL,
            },
        ))
        .unwrap_err();
    assert_eq!(e.kind(), &StorageErrorKind::InvalidCursor);
}

#[test]
fn clones_share_data() {
    let a = MemoryStorage::new();
    let b = a.clone();
    let t = TenantId::default_tenant();
    let schema = builtin::user_resource_schema();
    rt().block_on(async {
        a.create(Scope::new(&t, &schema), user("u1", json!({"id": "u1"})))
            .await
            .unwrap();
        assert_eq!(
            b.get(Scope::new(&t, &schema), "u1", Load::ALL)
                .await
                .unwrap()
                .version,
            1
        );
    });
}

/// The ids of every stored user in the planner's order of `spec` (scim-core's sort keys,
/// then ids), the reference a sorted page is held to.
fn reference_order(users: &[(&str, Value)], spec: &SortSpec) -> Vec<String> {
    let schema = builtin::user_resource_schema();
    let mut keyed: Vec<(Option<scim_core::sort::SortKey>, &str)> = users
        .iter()
        .map(|(id, v)| {
            let r = Resource::from_value(v.clone()).unwrap();
            (scim_core::sort::sort_key(&r, &schema, &spec.by), *id)
        })
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        crate::storage::planner::position_cmp(ka.as_ref(), a, kb.as_ref(), b, spec.order)
    });
    keyed.into_iter().map(|(_, id)| id.to_string()).collect()
}

/// A sort by an indexed single-valued attribute that every user holds once, as a string,
/// is read from the index in its order (no sort key per user), and gives the planner's
/// order at every offset: case-folded keys (`Ärger` / `ärgerlich`, `straße` / `STRASSE`,
/// the Kelvin sign), ties by id, descending with ties still ascending. When a user has
/// no such value (or one that is not a string) the index is not used, and the page is
/// the same.
#[test]
fn a_sort_by_an_indexed_attribute_reads_the_index_in_its_order() {
    let schema = builtin::user_resource_schema();
    let all = tricky_users();
    let holding: Vec<(&str, Value)> = all
        .iter()
        .filter(|(_, v)| v["userName"].is_string())
        .cloned()
        .chain([
            ("u20", json!({"userName": "bjensen"})),
            ("u03", json!({"userName": "STRASSE"})),
        ])
        .collect();
    for (users, index_order) in [(&holding, true), (&all, false)] {
        let s = MemoryStorage::new();
        let t = TenantId::default_tenant();
        rt().block_on(async {
            for (id, v) in users.iter() {
                s.create(Scope::new(&t, &schema), user(id, v.clone()))
                    .await
                    .unwrap();
            }
        });
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            let spec = SortSpec::new(AttrPath::new("USERNAME"), order);
            let expected = reference_order(users, &spec);
            for (offset, limit) in [(0, 100), (0, 3), (2, 4), (users.len() - 1, 5), (50, 5)] {
                let data = s.tenant(&t).unwrap().unwrap();
                let data = data.read().unwrap();
                let shard = &data.types["User"];
                let walked = shard.in_index_order(&schema, &spec, offset, limit);
                assert_eq!(walked.is_some(), index_order, "{order:?}");
                let want: Vec<&String> = expected.iter().skip(offset).take(limit).collect();
                if let Some(walked) = walked {
                    let ids: Vec<&str> = walked.iter().map(|(id, _)| *id).collect();
                    assert_eq!(ids, want, "{order:?} {offset} {limit}");
                }
                drop(data);
                let page = StoragePage::Offset {
                    offset: offset as u64,
                    limit: limit as u64,
                };
                let r = rt()
                    .block_on(s.query(
                        Scope::new(&t, &schema),
                        StorageQuery {
                            filter: None,
                            sort: Some(&spec),
                            page: &page,
                            load: Load::ALL,
                        },
                    ))
                    .unwrap();
                let ids: Vec<&String> = r.resources.iter().map(|r| &r.id).collect();
                assert_eq!(ids, want, "{order:?} {offset} {limit}");
                assert_eq!(r.total_results, users.len() as u64);
            }
        }
    }
}

/// A user updated to a value, or to none, or removed, moves in (or out of) the index's
/// order: the counts that decide whether the index gives the order follow every change.
#[test]
fn the_index_order_follows_updates_and_deletes() {
    let schema = builtin::user_resource_schema();
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let spec = SortSpec::new(AttrPath::new("userName"), SortOrder::Ascending);
    let walk = |s: &MemoryStorage| -> Option<Vec<String>> {
        let data = s.tenant(&t).unwrap().unwrap();
        let data = data.read().unwrap();
        data.types["User"]
            .in_index_order(&schema, &spec, 0, 10)
            .map(|page| page.into_iter().map(|(id, _)| id.to_string()).collect())
    };
    rt().block_on(async {
        let scope = Scope::new(&t, &schema);
        for (id, name) in [("a", "zed"), ("b", "amy"), ("c", "Kim")] {
            s.create(scope, user(id, json!({"userName": name})))
                .await
                .unwrap();
        }
        assert_eq!(walk(&s).unwrap(), ["b", "c", "a"]);
        let replacement = |v: Value| Replacement {
            resource: Resource::from_value(v).unwrap(),
            members: None,
            unique: vec![],
        };
        s.replace(scope, "a", replacement(json!({"userName": "Al"})), None)
            .await
            .unwrap();
        assert_eq!(walk(&s).unwrap(), ["a", "b", "c"]);
        s.replace(scope, "b", replacement(json!({"displayName": "Amy"})), None)
            .await
            .unwrap();
        assert_eq!(walk(&s), None, "b has no userName");
        s.delete(scope, "b", None).await.unwrap();
        assert_eq!(walk(&s).unwrap(), ["a", "c"]);
    });
}

/// `co` and `ew` on an indexed attribute are answered from its 4-gram lists once built
/// (and by a walk over the values when the lists do not answer), the same as scim-core's
/// evaluator, through creates, updates that change or drop a value, and deletes, which
/// the lists (they only grow) keep until their candidates are checked.
#[test]
fn substring_probes_answer_from_the_grams_through_every_change() {
    let schema = builtin::user_resource_schema();
    let s = MemoryStorage::new();
    let t = TenantId::default_tenant();
    let scope = Scope::new(&t, &schema);
    let email = |i: usize| {
        json!({"userName": format!("user{i}"), "emails": [
        {"type": "work", "value": format!("U{i}@Example.com")},
        {"type": "home", "value": format!("jürgen{i}@home.example.org")}]})
    };
    let queries = [
        r#"emails.value co "u12""#,
        r#"emails.value co "U12@""#,
        r#"emails.value ew "2@example.com""#,
        r#"emails[type eq "work" and value co "u1"]"#,
        r#"emails[value co "ürgen4"]"#,
        r#"emails.value co "example""#,
        r#"emails.value co "zzz""#,
        r#"userName ew "er7""#,
    ];
    let check = |s: &MemoryStorage, stage: &str| {
        for q in queries {
            let filter = f(q);
            let page = StoragePage::Offset {
                offset: 0,
                limit: 1000,
            };
            let got = rt()
                .block_on(s.query(
                    scope,
                    StorageQuery {
                        filter: Some(&filter),
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                ))
                .unwrap();
            let all = rt()
                .block_on(s.query(
                    scope,
                    StorageQuery {
                        filter: None,
                        sort: None,
                        page: &page,
                        load: Load::ALL,
                    },
                ))
                .unwrap();
            let compiled = filter.compile(&schema).unwrap();
            let want: Vec<&String> = all
                .resources
                .iter()
                .filter(|r| compiled.matches(&r.resource))
                .map(|r| &r.id)
                .collect();
            let ids: Vec<&String> = got.resources.iter().map(|r| &r.id).collect();
            assert_eq!(ids, want, "{stage}: {q}");
        }
    };
    rt().block_on(async {
        for i in 0..200 {
            s.create(scope, user(&format!("id{i:03}"), email(i)))
                .await
                .unwrap();
        }
    });
    check(&s, "created");
    {
        let data = s.tenant(&t).unwrap().unwrap();
        let data = data.read().unwrap();
        let column = &data.types["User"].index["emails.value"];
        assert!(
            column.grams.lock().unwrap().is_some(),
            "the lists were built"
        );
    }
    rt().block_on(async {
        let replacement = |v: Value| Replacement {
            resource: Resource::from_value(v).unwrap(),
            members: None,
            unique: vec![],
        };
        s.replace(
            scope,
            "id012",
            replacement(json!({"userName": "user12",
            "emails": [{"value": "moved@else.where"}]})),
            None,
        )
        .await
        .unwrap();
        s.replace(
            scope,
            "id122",
            replacement(json!({"userName": "user122"})),
            None,
        )
        .await
        .unwrap();
        s.replace(
            scope,
            "id077",
            replacement(json!({"userName": "user77",
            "emails": [{"value": "now-u12@example.com"}]})),
            None,
        )
        .await
        .unwrap();
        s.delete(scope, "id120", None).await.unwrap();
        s.create(scope, user("id900", email(12))).await.unwrap();
    });
    check(&s, "changed");
}
