use super::*;
use crate::storage::sql::index::{index_rows, indexed_paths};
use scim_core::builtin::user_resource_schema;
use scim_core::resource::datetime_from_str;
use scim_core::sort::{SortOrder, SortSpec, sort_resources};
use scim_core::{AttrPath, Resource};
use serde_json::json;

const STR: ValueOrder = ValueOrder {
    kind: Kind::Str { case_exact: false },
};

#[test]
fn column_values_and_keys_convert_both_ways() {
    let cases = [
        (STR, ColumnValue::Text("bjensen".into())),
        (STR, ColumnValue::Text(String::new())),
        (
            ValueOrder { kind: Kind::Bool },
            ColumnValue::Text("false".into()),
        ),
        (
            ValueOrder {
                kind: Kind::DateTime,
            },
            ColumnValue::Text("2011-05-13T04:42:34.000000000Z".into()),
        ),
        (ValueOrder { kind: Kind::Num }, ColumnValue::Num(-2.5)),
    ];
    for (order, v) in cases {
        let key = order.key_of(&v).unwrap();
        assert_eq!(order.column_value(&key), Some(v));
    }
    // A key of another kind than the path's, or one the column cannot hold, has no value.
    let number = encode_key(&SortKey::Number(1.0));
    assert_eq!(STR.column_value(&number), None);
    let negative_zero = encode_key(&SortKey::Number(-0.0));
    assert_eq!(
        ValueOrder { kind: Kind::Num }.column_value(&negative_zero),
        None
    );
    assert_eq!(
        ValueOrder { kind: Kind::Bool }.implied(Some(""), None),
        None
    );
}

/// The rows of the path `by` of `resources` (seq = position + 1), as a backend reads them.
fn rows_of(resources: &[Resource], by: &str) -> (ValueOrder, Vec<ValueRow>) {
    let schema = user_resource_schema();
    let paths = indexed_paths(&schema);
    let ip = paths.iter().find(|p| p.key == by).unwrap();
    let mut rows = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        for row in index_rows(&paths, &schema, r) {
            if row.key == by {
                rows.push(ValueRow {
                    seq: i as i64 + 1,
                    norm: row.norm,
                    num: row.num.map(|n| n.0),
                    skey: row.skey,
                });
            }
        }
    }
    (ValueOrder { kind: ip.kind }, rows)
}

#[test]
fn order_in_memory_is_scim_cores_order() {
    let schema = user_resource_schema();
    let users: Vec<Resource> = [
        json!({"id": "1", "userName": "b", "title": "Boss"}),
        json!({"id": "2", "userName": 7, "title": 3}),
        json!({"id": "3", "userName": "A", "title": ["z", "a"]}),
        json!({"id": "4", "userName": "", "title": ""}),
        json!({"id": "5", "userName": "c"}),
        json!({"id": "6", "userName": true, "title": {"x": "y"}}),
        json!({"id": "7", "userName": "a", "title": "boss"}),
    ]
    .into_iter()
    .map(|v| Resource::from_value(v).unwrap())
    .collect();
    let matches: Vec<i64> = (1..=users.len() as i64).collect();
    for by in ["username", "title"] {
        let (order, rows) = rows_of(&users, by);
        for sort_order in [SortOrder::Ascending, SortOrder::Descending] {
            let desc = sort_order == SortOrder::Descending;
            let segments = if desc {
                [Segment::Missing, Segment::Keyed]
            } else {
                [Segment::Keyed, Segment::Missing]
            };
            let got: Vec<i64> = order_in_memory(order, segments, desc, &matches, &rows)
                .iter()
                .map(|p| p.seq)
                .collect();
            let mut expected = users.clone();
            let spec = SortSpec::new(AttrPath::parse(by).unwrap(), sort_order);
            sort_resources(&mut expected, &schema, &spec);
            let expected: Vec<i64> = expected
                .iter()
                .map(|r| r.get("id").unwrap().as_str().unwrap().parse().unwrap())
                .collect();
            assert_eq!(got, expected, "{by} {sort_order:?}");
        }
    }
}

#[test]
fn pages_in_memory_continue_after_the_cursor() {
    let users: Vec<Resource> = ["d", "b", "c", "a", "b"]
        .iter()
        .map(|n| Resource::from_value(json!({"userName": n})).unwrap())
        .chain([Resource::from_value(json!({"title": "x"})).unwrap()])
        .collect();
    let (order, rows) = rows_of(&users, "username");
    let matches: Vec<i64> = (1..=6).collect();
    for desc in [false, true] {
        let segments = if desc {
            [Segment::Missing, Segment::Keyed]
        } else {
            [Segment::Keyed, Segment::Missing]
        };
        let all = order_in_memory(order, segments, desc, &matches, &rows);
        let mut walked = Vec::new();
        let mut after: Option<Position> = None;
        for _ in 0..10 {
            let page = StoragePage::Cursor {
                after: None,
                limit: 2,
            };
            let (got, next) = page_in_memory(all.clone(), &page, after.as_ref(), desc);
            assert!(got.len() <= 2);
            walked.extend(got);
            after = next;
            if after.is_none() {
                break;
            }
        }
        assert_eq!(walked, all, "desc {desc}");
        let (offset, next) = page_in_memory(
            all.clone(),
            &StoragePage::Offset {
                offset: 4,
                limit: 10,
            },
            None,
            desc,
        );
        assert_eq!(offset, all[4..].to_vec());
        assert_eq!(next, None, "offset pages have no cursor");
    }
}

#[test]
fn stands_for_is_the_implied_key() {
    let d = |s: &str| SortKey::DateTime(datetime_from_str(s).unwrap().to_utc());
    let keys = [
        SortKey::String("a".into()),
        SortKey::String(String::new()),
        SortKey::Bool(true),
        SortKey::Bool(false),
        SortKey::Number(2.5),
        SortKey::Number(0.0),
        SortKey::Number(-0.0),
        d("2011-05-13T04:42:34Z"),
        d("2011-05-13T06:42:34.5+02:00"),
    ];
    let rows: [(Option<&str>, Option<f64>); 9] = [
        (Some("a"), None),
        (Some(""), None),
        (Some("true"), None),
        (Some("false"), None),
        (Some("2011-05-13T04:42:34.000000000Z"), None),
        (Some("2011-05-13T04:42:34.500000000Z"), None),
        (None, Some(2.5)),
        (None, Some(0.0)),
        (None, Some(-0.0)),
    ];
    for kind in [
        Kind::Str { case_exact: false },
        Kind::Bool,
        Kind::DateTime,
        Kind::Num,
    ] {
        let order = ValueOrder { kind };
        for (norm, num) in rows {
            for key in &keys {
                let implied = order.implied(norm, num).map(|k| encode_key(&k));
                assert_eq!(
                    order.stands_for(norm, num, key),
                    implied == Some(encode_key(key)),
                    "{kind:?} {norm:?} {num:?} {key:?}"
                );
            }
        }
    }
}
