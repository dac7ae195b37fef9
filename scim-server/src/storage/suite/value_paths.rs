//! Value paths, `co` and `ew` (RFC 7644 §3.4.2.2).

use super::*;

/// The ids (and totalResults) a backend finds for `text` in one page of `page`, asserting
/// that it claims the filter (`can_filter`).
pub(super) async fn claimed<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    text: &str,
    page: &StoragePage,
) -> (Vec<String>, u64) {
    let schema = users();
    let f = filter(text);
    assert!(
        s.can_filter(&schema, &f),
        "the backend must push down `{text}` (value paths, co, ew on indexed paths)"
    );
    let out = s
        .query(
            Scope::new(t, &schema),
            StorageQuery {
                filter: Some(&f),
                sort: None,
                page,
                load: Load::WITHOUT_MEMBERS,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("`{text}`: {e:?}"));
    (ids(&out), out.total_results)
}

/// The ids `text` finds (all in one page), checking totalResults.
pub(super) async fn claimed_ids<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    text: &str,
) -> Vec<String> {
    let (found, total) = claimed(s, t, text, &offset(0, 1000)).await;
    assert_eq!(total, found.len() as u64, "totalResults of `{text}`");
    found
}

/// Creates users `(id, emails)` (userName = id) in tenant `t`.
pub(super) async fn users_with_emails<S: Storage + ?Sized>(
    s: &S,
    t: &TenantId,
    people: &[(&str, Value)],
) {
    let schema = users();
    for (id, emails) in people {
        s.create(
            Scope::new(t, &schema),
            new_user(id, id, json!({"emails": emails})),
        )
        .await
        .unwrap();
    }
}

/// A value path (RFC 7644 §3.4.2.2 "valuePath") requires its whole filter of ONE element:
/// a work email a@x.example and a home email home@y.example do not make a work email
/// containing "home", although `emails.type eq "work" and emails.value co "home"` (any
/// element for each comparison) matches.
pub async fn value_path_and_or_on_the_same_element<S: Storage>(s: S) {
    let t = tenant("t1");
    users_with_emails(
        &s,
        &t,
        &[
            (
                "a",
                json!([{"value": "a@x.example", "type": "work"},
                       {"value": "home@y.example", "type": "home"}]),
            ),
            ("b", json!([{"value": "b@x.example", "type": "home"}])),
            ("c", json!([{"value": "c@y.example", "type": "work"}])),
            ("d", json!([])),
        ],
    )
    .await;
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "@x"]"#).await,
        ["a"]
    );
    // "x" is in every ".example".
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "x"]"#).await,
        ["a", "c"]
    );
    assert!(
        claimed_ids(&s, &t, r#"emails[type eq "work" and value co "home"]"#)
            .await
            .is_empty(),
        "the work and the home email are different elements"
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails.type eq "work" and emails.value co "home""#
        )
        .await,
        ["a"],
        "outside brackets each comparison matches ANY element"
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "home" or value ew "y.example"]"#).await,
        ["a", "b", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[type eq "home" and value sw "b"] or emails[type eq "work" and value ew "y.example"]"#
        )
        .await,
        ["b", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[(type eq "home" or type eq "work") and value co "@y."]"#
        )
        .await,
        ["a", "c"]
    );
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[value eq "b@x.example"] and userName eq "b""#
        )
        .await,
        ["b"]
    );
}

/// `co` and `ew` (RFC 7644 §3.4.2.2) are exact substring / suffix tests on the folded
/// value: no wildcards (`%`, `_`), no partial characters.
pub async fn co_and_ew_are_exact_substrings<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    for (id, name) in [
        ("u1", "a_b%c"),
        ("u2", "axbyc"),
        ("u3", "BJensen"),
        ("u4", "ab\\c"),
    ] {
        s.create(sc, new_user(id, name, json!({}))).await.unwrap();
    }
    assert_eq!(claimed_ids(&s, &t, r#"userName co "_b%""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "%""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName ew "%C""#).await, ["u1"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "b\\c""#).await, ["u4"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName co "JEN""#).await, ["u3"]);
    assert_eq!(claimed_ids(&s, &t, r#"userName ew "SEN""#).await, ["u3"]);
    assert_eq!(
        claimed_ids(&s, &t, r#"userName ew "BJENSEN""#).await,
        ["u3"]
    );
    assert!(
        claimed_ids(&s, &t, r#"userName ew "xBJENSEN""#)
            .await
            .is_empty()
    );
    assert!(
        claimed_ids(&s, &t, r#"userName co "jensenx""#)
            .await
            .is_empty()
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"userName co "b" and userName ew "c""#).await,
        ["u1", "u2", "u4"]
    );
    // caseExact=true (externalId, id): no folding.
    s.create(sc, new_user("u5", "e1", json!({"externalId": "Ext-ABC"})))
        .await
        .unwrap();
    assert_eq!(claimed_ids(&s, &t, r#"externalId co "t-A""#).await, ["u5"]);
    assert!(
        claimed_ids(&s, &t, r#"externalId co "t-a""#)
            .await
            .is_empty()
    );
    assert_eq!(claimed_ids(&s, &t, r#"externalId ew "ABC""#).await, ["u5"]);
    assert!(
        claimed_ids(&s, &t, r#"externalId ew "abc""#)
            .await
            .is_empty()
    );
}

/// RFC 7643 §4.1.2: `emails.value` and `emails.type` are caseExact=false, so their
/// comparisons fold case (char by char, as scim-core's evaluator does), also for non-ASCII
/// letters.
pub async fn value_path_case_insensitivity<S: Storage>(s: S) {
    let t = tenant("t1");
    users_with_emails(
        &s,
        &t,
        &[
            ("u1", json!([{"value": "A@X.Example", "type": "WORK"}])),
            (
                "u2",
                json!([{"value": "ÄNNE@Örebro.example", "type": "Privat"}]),
            ),
            (
                "u3",
                json!([{"value": "anne@orebro.example", "type": "work"}]),
            ),
        ],
    )
    .await;
    assert_eq!(
        claimed_ids(
            &s,
            &t,
            r#"emails[type eq "work" and value eq "a@x.example"]"#
        )
        .await,
        ["u1"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type eq "Work"]"#).await,
        ["u1", "u3"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.type eq "PRIVAT""#).await,
        ["u2"]
    );
    assert_eq!(claimed_ids(&s, &t, r#"emails[value co "Ä"]"#).await, ["u2"]);
    assert_eq!(claimed_ids(&s, &t, r#"emails[value co "ä"]"#).await, ["u2"]);
    assert_eq!(claimed_ids(&s, &t, r#"emails.value sw "äN""#).await, ["u2"]);
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.value ew "öREBRO.EXAMPLE""#).await,
        ["u2"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails.value co "NNE@""#).await,
        ["u2", "u3"]
    );
    assert_eq!(
        claimed_ids(&s, &t, r#"emails[type co "RIV" and value co "@Ö"]"#).await,
        ["u2"]
    );
}

/// totalResults counts every match of a value path, offset paging pages through the
/// matches in creation order, and a cursor walk sees each exactly once (RFC 7644 §3.4.2.4).
pub async fn value_path_paging_and_total<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let mut expected = Vec::new();
    for i in 0..25 {
        let id = format!("u{i:02}");
        // Odd users: a work email at x; even ones: x only in the home email.
        let emails = if i % 2 == 1 {
            expected.push(id.clone());
            json!([{"value": format!("{id}@x.example"), "type": "work"}])
        } else {
            json!([{"value": format!("{id}@y.example"), "type": "work"},
                   {"value": format!("{id}@x.example"), "type": "home"}])
        };
        s.create(sc, new_user(&id, &id, json!({"emails": emails})))
            .await
            .unwrap();
    }
    let text = r#"emails[type eq "work" and value co "@x."]"#;
    assert_eq!(expected.len(), 12);
    let (page, total) = claimed(&s, &t, text, &offset(5, 5)).await;
    assert_eq!(total, 12);
    assert_eq!(page, expected[5..10]);
    let (page, total) = claimed(&s, &t, text, &offset(10, 5)).await;
    assert_eq!(total, 12);
    assert_eq!(page, expected[10..]);
    let (page, total) = claimed(&s, &t, text, &offset(20, 5)).await;
    assert_eq!((page.len(), total), (0, 12));
    let f = filter(text);
    let walked = walk_cursor(
        |after, limit| {
            let (s, t, schema, f) = (&s, &t, &schema, &f);
            async move {
                let page = StoragePage::Cursor { after, limit };
                let out = s
                    .query(
                        Scope::new(t, schema),
                        StorageQuery {
                            filter: Some(f),
                            sort: None,
                            page: &page,
                            load: Load::WITHOUT_MEMBERS,
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(out.total_results, 12);
                out
            }
        },
        5,
        async |_| {},
    )
    .await;
    assert_eq!(walked, expected);
}

/// Value paths, co and ew see only the tenant (and resource type) of the query.
pub async fn value_path_tenant_isolation<S: Storage>(s: S) {
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    users_with_emails(
        &s,
        &t1,
        &[("a", json!([{"value": "a@x.example", "type": "work"}]))],
    )
    .await;
    users_with_emails(
        &s,
        &t2,
        &[
            ("a", json!([{"value": "a@y.example", "type": "work"}])),
            ("b", json!([{"value": "b@x.example", "type": "work"}])),
        ],
    )
    .await;
    // A group in t1 named like the emails: another resource type.
    s.create(
        Scope::new(&t1, &groups()),
        new_group("g", "x.example work", &[]),
    )
    .await
    .unwrap();
    let text = r#"emails[type eq "work" and value co "x.example"]"#;
    assert_eq!(claimed_ids(&s, &t1, text).await, ["a"]);
    assert_eq!(claimed_ids(&s, &t2, text).await, ["b"]);
    assert_eq!(
        claimed_ids(&s, &t2, r#"emails.value ew "y.example""#).await,
        ["a"]
    );
    assert!(
        claimed_ids(&s, &t1, r#"emails.value ew "y.example""#)
            .await
            .is_empty()
    );
    assert!(
        claimed_ids(&s, &tenant("t3"), text).await.is_empty(),
        "a tenant without data finds nothing"
    );
}

/// The users of [`value_path_pushdown_equals_the_evaluator`]: case and Unicode, emails
/// without type, without value, null elements and values, primitive elements, a single
/// email object instead of an array, several values in one element, numbers.
pub(super) fn varied_users() -> Vec<(&'static str, Value)> {
    vec![
        (
            "v01",
            json!({"userName": "bjensen", "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}]}),
        ),
        (
            "v02",
            json!({"userName": "jsmith", "emails": [{"value": "JSmith@Example.COM", "type": "Work"}]}),
        ),
        ("v03", json!({"userName": "alice", "emails": []})),
        (
            "v04",
            json!({"userName": "bob", "emails": [{"value": "bob@example.org"}]}),
        ),
        (
            "v05",
            json!({"userName": "carol", "emails": [{"type": "work"}]}),
        ),
        (
            "v06",
            json!({"userName": "dave", "emails": [null, {"value": null, "type": "home"}]}),
        ),
        (
            "v07",
            json!({"userName": "erin", "emails": ["erin@plain.example", {"value": "erin@x.example", "type": "other"}]}),
        ),
        (
            "v08",
            json!({"userName": "frank", "emails": {"value": "Frank@Single.example", "type": "work"}}),
        ),
        (
            "v09",
            json!({"userName": "grace", "emails": [{"value": ["g1@x.example", "G2@Y.example"], "type": "work"}]}),
        ),
        (
            "v10",
            json!({"userName": "ÄNNE", "emails": [{"value": "Änne@Örebro.example", "type": "Privat"}]}),
        ),
        (
            "v11",
            json!({"userName": "ΟΔΟΣ", "emails": [{"value": "ΟΔΟΣ@greek.example", "type": "WORK"}]}),
        ),
        (
            "v12",
            json!({"userName": "kelvin", "emails": [{"value": "\u{212A}@k.example", "type": "work"}]}),
        ),
        (
            "v13",
            json!({"userName": "heidi", "emails": [{"value": 42, "type": "work"}, {"value": "", "type": ""}]}),
        ),
        (
            "v14",
            json!({"userName": "ivan", "emails": [{"value": "ivan@x.example", "type": "home"}, {"value": "ivan@work.example", "type": "work"}]}),
        ),
        (
            "v15",
            json!({"userName": "judy", "emails": [{"value": "judy@x.example", "type": ["work", "home"]}]}),
        ),
        (
            "v16",
            json!({"userName": "mallory", "emails": [[{"value": "nested@x.example", "type": "work"}]]}),
        ),
        (
            "v17",
            json!({"userName": "nina", "Emails": [{"VALUE": "Nina@X.example", "TYPE": "work"}]}),
        ),
        ("v18", json!({"userName": "oscar"})),
        (
            "v19",
            json!({"userName": "peggy", "emails": ["PEGGY@x.example", 7, true]}),
        ),
        (
            "v20",
            json!({"userName": "quinn", "emails": [{"value": "a%b_c@x.example", "type": "work"}]}),
        ),
        (
            "v21",
            json!({"userName": "rupert", "emails": [{"value": "r@x.example", "type": "work"}, {"value": "r@x.example", "type": "home"}]}),
        ),
    ]
}

/// Value paths, `co` and `ew` on indexed paths are ALL pushed down (`can_filter`) and each
/// answer (ids and totalResults) equals scim-core's evaluator (`Filter::compile` +
/// `CompiledFilter::matches`) over the stored resources.
pub async fn value_path_pushdown_equals_the_evaluator<S: Storage>(s: S) {
    let t = tenant("t1");
    let schema = users();
    let sc = Scope::new(&t, &schema);
    let mut all = Vec::new();
    for (id, body) in varied_users() {
        let body = match body {
            Value::Object(mut o) => o.remove("userName").map(|u| (u, o)),
            _ => None,
        };
        let (name, extra) = body.unwrap();
        let stored = s
            .create(
                sc,
                new_user(id, name.as_str().unwrap(), Value::Object(extra)),
            )
            .await
            .unwrap();
        all.push(stored);
    }
    let filters = [
        r#"emails[type eq "work" and value co "x"]"#,
        r#"emails[type eq "work" and value co "home"]"#,
        r#"emails[type eq "WORK"]"#,
        r#"emails[type eq "home" or type eq "other"]"#,
        r#"emails[value eq "erin@plain.example"]"#,
        r#"emails[value sw "PEGGY"]"#,
        r#"emails[value pr]"#,
        r#"emails[type pr]"#,
        r#"emails[type pr and value pr]"#,
        r#"emails[value co "@x."]"#,
        r#"emails[value ew ".example" and type eq "work"]"#,
        r#"emails[value co "ä"]"#,
        r#"emails[value co "Ö"]"#,
        r#"emails[value eq "οδοσ@greek.example"]"#,
        r#"emails[value sw "k@"]"#,
        r#"emails[value co "%b_"]"#,
        r#"emails[type eq ""]"#,
        r#"emails[value eq ""]"#,
        r#"emails[type eq "home" and value co "x"]"#,
        r#"emails[type eq "work" and value ew "y.example"]"#,
        r#"emails[type gt "p" and value lt "m"]"#,
        r#"emails[(type eq "work" or type eq "home") and value co "r@x"]"#,
        r#"emails[type eq "work" and (value co "ivan" or value co "judy")]"#,
        r#"emails.type eq "work" and emails.value co "home""#,
        r#"emails.value co "x.example""#,
        r#"emails.value ew "EXAMPLE""#,
        r#"emails.type co "OR""#,
        r#"emails.type ew "k""#,
        r#"userName co "n" or emails[type eq "privat"]"#,
        r#"userName ew "Σ""#,
        r#"userName co "ä""#,
        r#"emails[type eq "work"] and emails[type eq "home"]"#,
        r#"emails[value ew "example.com"] or emails[value ew "example.org"]"#,
        // Cheap (range-scanned) conjuncts AND-ed with scanning ones (`co` / `ew`): the SQL
        // backends check the scanning side per candidate, value paths on the SAME element.
        r#"userName sw "i" and emails[type eq "home" and value co "work"]"#,
        r#"userName sw "i" and emails[type eq "work" and value co "work"]"#,
        r#"userName eq "rupert" and emails[type eq "home" and value co "r@x"]"#,
        r#"userName eq "grace" and emails[type eq "work" and value co "g2@"]"#,
        r#"userName eq "peggy" and emails[value co "peggy" or value eq "x"]"#,
        r#"userName eq "nina" and emails[type eq "work" and value ew "x.example"]"#,
        r#"userName eq "judy" and emails[type eq "home" and value co "judy"]"#,
        r#"userName eq "heidi" and emails[value pr and type co "r"]"#,
        r#"userName ge "a" and emails[value co "x"] and userName co "e""#,
        r#"emails.value co "x" and userName lt "k" and emails[type pr]"#,
        r#"(userName eq "bjensen" or userName eq "jsmith") and emails[type eq "work" and value co "example.com"]"#,
        r#"userName pr and (emails.value co "@x" or emails[type eq "home" and value ew "org"])"#,
        r#"(userName sw "j" and emails.value co "x") or (userName sw "p" and emails[value co "peggy"])"#,
        r#"emails[type eq "work" or value co "plain"] and userName gt "d""#,
        r#"emails[type eq "work"] and emails[value co "y.example"]"#,
        r#"emails.type eq "work" and emails[value co "home"]"#,
        r#"emails[value pr and value co "@x"] and userName co "i" and emails.type eq "home""#,
        r#"userName sw "r" and (emails[type eq "home" and value co "r@"] and emails[type eq "work" and value ew "example"])"#,
        r#"emails[(type eq "work" or type eq "home") and (value co "ivan" or value ew ".org")] and userName pr"#,
        r#"emails[type eq "work" and value pr and value co "x"] or (userName eq "bob" and emails.value co "bob")"#,
        r#"userName ew "n" and (userName sw "b" or emails[type eq "work" and value co "x"])"#,
        // Narrowing conjuncts inside brackets: (seq, elem) candidates checked per element.
        r#"emails[value sw "r@" and value co "x."]"#,
        r#"emails[value eq "r@x.example" and type co "om"]"#,
        r#"emails[value sw "ivan@x" and type ew "rk"]"#,
        r#"emails[value sw "ivan@w" and type ew "rk"]"#,
        r#"emails[(value sw "g" or value eq "judy@x.example") and type co "o"]"#,
    ];
    let mut nonempty = 0;
    for text in filters {
        let f = filter(text);
        let compiled = f
            .compile(&schema)
            .unwrap_or_else(|e| panic!("`{text}` must compile: {e:?}"));
        let expected: Vec<String> = all
            .iter()
            .filter(|r| compiled.matches(&r.resource))
            .map(|r| r.id.clone())
            .collect();
        nonempty += usize::from(!expected.is_empty());
        let found: BTreeSet<String> = claimed_ids(&s, &t, text).await.into_iter().collect();
        let expected: BTreeSet<String> = expected.into_iter().collect();
        assert_eq!(found, expected, "pushdown of `{text}` vs the evaluator");
    }
    assert!(
        nonempty >= 40,
        "the fixture must make most filters match something"
    );
}
